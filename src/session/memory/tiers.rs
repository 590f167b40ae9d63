//! Where the memory store's slots live and how they move between tiers:
//! finding a slot, placing a new one, moving it forward (fresh →
//! anonymous → owned), the per-user bound, and each address's share of a
//! crowded tier (see the parent module's docs and `shares.rs`).

use std::sync::Arc;

// The parent's own imports, so that the module stays relative to itself.
use super::{
    now_ms, MemoryStore, Origin, Record, Shares, Slot, StoreError, StoreKey, StoreResult, Tier,
};

/// Which tier a slot is in, in the order slots move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Fresh,
    Anonymous,
    Owned,
}

impl MemoryStore {
    pub(super) fn tier(&self, place: Place) -> &Tier {
        match place {
            Place::Fresh => &self.fresh,
            Place::Anonymous => &self.anonymous,
            Place::Owned => &self.owned,
        }
    }

    /// The slot under `key` and its tier. Reading restarts its idle clock.
    /// For requests that hold the key's lease, which are the only ones
    /// that move a slot; probes the likeliest tiers first.
    pub(super) async fn find(&self, key: &StoreKey) -> Option<(Arc<Slot>, Place)> {
        for place in [Place::Owned, Place::Anonymous, Place::Fresh] {
            if let Some(slot) = self.tier(place).get(key).await {
                return Some((slot, place));
            }
        }
        None
    }

    /// Whether any tier holds `key`, without touching its idle clock.
    pub(super) fn holds(&self, key: &StoreKey) -> bool {
        [&self.fresh, &self.anonymous, &self.owned]
            .iter()
            .any(|tier| tier.contains_key(key))
    }

    /// Like [`find`](Self::find), for callers without the lease: probes
    /// the tiers in the order slots move, so a slot on the move is seen.
    pub(super) async fn find_unleased(&self, key: &StoreKey) -> Option<(Arc<Slot>, Place)> {
        for place in [Place::Fresh, Place::Anonymous, Place::Owned] {
            if let Some(slot) = self.tier(place).get(key).await {
                return Some((slot, place));
            }
        }
        None
    }

    /// Moves a slot forward, into `to` before out of `from`.
    pub(super) async fn promote(&self, key: StoreKey, slot: Arc<Slot>, from: Place, to: Place) {
        self.tier(to).insert(key, slot).await;
        self.tier(from).invalidate(&key).await;
    }

    /// Stores a new session. A new anonymous session of a known `origin`
    /// takes its place in that address's share of the fresh tier.
    pub(super) async fn insert_new(
        &self,
        key: StoreKey,
        record: Record,
        origin: Option<Origin>,
    ) -> StoreResult<()> {
        self.touch();
        // Its key comes from a fresh random id, so only this request can
        // be creating it.
        if self.holds(&key) {
            return Err(StoreError::Conflict);
        }
        // Only an anonymous session that lands in the fresh tier (a
        // remembered one starts in the anonymous tier) keeps its origin,
        // until its client comes back.
        let origin = origin.filter(|_| record.owner.is_none() && !record.remembered);
        if let Some(origin) = origin {
            // Room is made before the session goes in, so that the tier's
            // own eviction never has to.
            take_share(&self.fresh_shares, &self.fresh, origin, key).await;
        }
        self.place(key, record, Place::Fresh, origin).await;
        Ok(())
    }

    /// Puts a new slot for `record`, begun at `origin`, in its tier and
    /// indexes its owner.
    pub(super) async fn place(
        &self,
        key: StoreKey,
        record: Record,
        place: Place,
        origin: Option<Origin>,
    ) {
        // The fresh tier has no per-entry expiry, so no remembered slot.
        let place = match place {
            Place::Fresh if record.remembered => Place::Anonymous,
            place => place,
        };
        let owner = record.owner.clone();
        let slot = Slot::new(record, now_ms(), false, origin);
        match owner {
            Some(owner) => {
                self.owners.insert(&owner, key, slot.clone());
                self.owned.insert(key, slot).await;
                self.cap(&owner, key).await;
            }
            None => self.tier(place).insert(key, slot).await,
        }
    }

    /// Ends `owner`'s least recently used sessions past the per-user
    /// bound, sparing `keep` (the session that just logged in).
    pub(super) async fn cap(&self, owner: &str, keep: StoreKey) {
        let mut theirs = self.owners.of(owner);
        let Some(over) = (theirs.len() as u64).checked_sub(self.limits.max_sessions_per_user)
        else {
            return;
        };
        theirs.retain(|(key, _)| *key != keep);
        theirs.sort_by_key(|(_, slot)| slot.last_seen_ms());
        for (key, slot) in theirs.into_iter().take(over as usize) {
            // If its end cannot be made durable, it lives on, one over the
            // bound, rather than risk coming back after a crash.
            if self.end_slot(&key, &slot, None).await.is_ok() {
                self.owned.invalidate(&key).await;
            }
        }
    }
}

/// `key`, a session of `origin` about to join `tier`, takes its place in
/// that address's share of the tier (`shares`): while the tier is
/// crowded, the address's own oldest sessions past the share are evicted
/// first (see `shares.rs`).
pub(super) async fn take_share(shares: &Shares, tier: &Tier, origin: Origin, key: StoreKey) {
    let len = tier.entry_count() + 1;
    let evicted = shares
        .arrive(origin, key, len, |k| tier.contains_key(k))
        .await;
    for key in evicted {
        tier.invalidate(&key).await;
    }
}
