//! Where the memory store's slots live and how they move between tiers:
//! finding a slot, placing a new one, moving it forward (fresh →
//! anonymous → owned), the per-user bound, and each address's share of a
//! crowded tier (see the parent module's docs, `index.rs` and
//! `shares.rs`).

use std::sync::Arc;

// The parent's own imports, so that the module stays relative to itself.
use super::index::Index;
use super::{now_ms, MemoryStore, Origin, Record, Shares, Slot, StoreError, StoreKey, StoreResult};

/// Which tier a slot is in, in the order slots move (and their numbers in
/// a snapshot: 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Fresh,
    Anonymous,
    Owned,
}

impl Place {
    /// The tier numbered `n` in a snapshot (owned for any unknown number,
    /// which only a newer version would write).
    pub(crate) fn from_number(n: u8) -> Place {
        match n {
            0 => Place::Fresh,
            1 => Place::Anonymous,
            _ => Place::Owned,
        }
    }
}

impl MemoryStore {
    /// The slot under `key` and its tier, which becomes its tier's most
    /// recently used.
    pub(super) fn find(&self, key: &StoreKey) -> Option<(Arc<Slot>, Place)> {
        self.index.get(key, true)
    }

    /// Whether any tier holds `key`, without counting it as a use.
    pub(super) fn holds(&self, key: &StoreKey) -> bool {
        self.index.contains(key, None)
    }

    /// Stores a new session. A new anonymous session of a known `origin`
    /// takes its place in that address's share of the fresh tier.
    pub(super) async fn insert_new(
        &self,
        key: StoreKey,
        record: Record,
        origin: Option<Origin>,
    ) -> StoreResult<()> {
        // Its key comes from a fresh random id, so only this request can
        // be creating it.
        if self.holds(&key) {
            return Err(StoreError::Conflict);
        }
        // Only an anonymous session that lands in the fresh tier (a
        // remembered one starts in the anonymous tier) keeps its origin,
        // until its client comes back.
        let origin = origin.filter(|_| record.owner.is_none() && !record.remembered);
        match origin {
            Some(origin) => {
                // Room is made before the session goes in, so that the
                // tier's own eviction never has to. (Anonymous and not
                // remembered: the fresh tier, and no owner to index.)
                let slot = Slot::new(record, now_ms(), false, Some(origin));
                let join = || self.index.insert(key, slot, Place::Fresh);
                take_share(
                    &self.fresh_shares,
                    &self.index,
                    Place::Fresh,
                    origin,
                    key,
                    join,
                );
            }
            None => self.place(key, record, Place::Fresh, false).await,
        }
        self.touch();
        Ok(())
    }

    /// Puts a new slot for `record` in its tier and indexes its owner;
    /// `persisted` if a snapshot holds it in effect (a rotation journaled
    /// as a move brings the old key's copy back under this one).
    pub(super) async fn place(&self, key: StoreKey, record: Record, place: Place, persisted: bool) {
        // A remembered session starts in the anonymous tier: a new one's
        // client has not come back, and the fresh tier is for those.
        let place = match place {
            Place::Fresh if record.remembered => Place::Anonymous,
            place => place,
        };
        let owner = record.owner.clone();
        let slot = Slot::new(record, now_ms(), persisted, None);
        match owner {
            Some(owner) => {
                self.owners.insert(&owner, key, slot.clone());
                self.index.insert(key, slot, Place::Owned);
                self.cap(&owner, key).await;
            }
            None => self.index.insert(key, slot, place),
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
            if self.end_slot(&key, &slot, None, None).await.is_ok() {
                self.index.remove(&key, None);
            }
        }
    }
}

/// `key`, a session of `origin`, joins tier `place` (`join` puts it
/// there) and takes its place in that address's share of the tier
/// (`shares`): while the tier is crowded, the address's own oldest
/// sessions past the share are evicted first. Both happen under the
/// share's lock (see `shares.rs`).
pub(super) fn take_share(
    shares: &Shares,
    index: &Index,
    place: Place,
    origin: Origin,
    key: StoreKey,
    join: impl FnOnce(),
) {
    let len = index.len(place) + 1;
    let still_in_tier = |k: &StoreKey| index.contains(k, Some(place));
    shares.arrive(origin, key, len, still_in_tier, |evicted| {
        for key in evicted {
            index.evict(key, place);
        }
        join();
    });
}
