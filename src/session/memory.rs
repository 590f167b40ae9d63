//! The embedded store: sessions in an index inside the process.
//!
//! Each session is a *slot* (`slot.rs`): its record behind a small
//! mutex, with a `removed` flag. The index (`memory/index.rs`) only finds
//! slots and keeps their tiers' order; the flag is the truth.
//!
//! * **Writes in place, fenced by version**: a save finds the slot, locks
//!   it, and replaces the record only if the version is the one the request
//!   loaded and the slot is not removed. Ending a session sets the flag
//!   under the same lock before it leaves the index, so a late save from a
//!   request that was still running fails with [`StoreError::Gone`]: a
//!   removed slot never comes back, and there is no check-then-write race.
//!   Eviction and expiry end a slot the same way.
//! * **Leases** are `KeyedLocks`: one async mutex per key in use, held by
//!   the request from load to response; idle sessions cost nothing there.
//! * **Expiry**: a slot ends its idle timeout after its last read, or at
//!   its absolute deadline if that comes first, by the ordinary or the
//!   remembered pair (see [`Limits`]). Loads check the clock, so a slot is
//!   never served past its end; expired slots leave the index from the
//!   least recently used end of their tier as new slots arrive, with no
//!   timer per entry (`memory/index.rs`).
//! * **Tiers** (see [`Limits`]): new sessions start in the *fresh* tier,
//!   move to the *anonymous* tier when their client comes back, and to the
//!   *owned* tier when they get an owner (at login). Slots only ever move
//!   forward, fresh → anonymous → owned (an owned session that loses its
//!   owner stays owned); a slot's tier is a field of its entry, so a move
//!   is one step and a lookup finds a slot wherever it is. Each tier
//!   evicts its least recently used slot when full, so anonymous traffic
//!   never evicts an owned
//!   session; a login past `max_sessions_per_user` ends that user's least
//!   recently used session. The sessions one client address began hold
//!   at most its share of the fresh and of the anonymous tier (the slot
//!   keeps its origin until its client comes back; `shares.rs`).
//! * **The owner index** (`OwnerIndex`) maps a user to their slots, so
//!   listing them needs no scan and touches no idle clock. A slot leaves
//!   it when it ends, however it ends.
//!
//! Finding, placing and moving slots between the tiers is in
//! `memory/tiers.rs`, and the index itself in `memory/index.rs`; this file
//! holds the store and its contract.

use std::sync::Arc;
use std::time::Duration;

use super::id::StoreKey;
use super::journal::{owner_mark, Change};
use super::limits::Limits;
use super::locks::KeyedLocks;
use super::origin::Origin;
use super::owners::OwnerIndex;
use super::persist::Persistence;
use super::record::now_ms;
use super::shares::Shares;
use super::slot::{end, fence, Slot};
use super::store::{Lease, Record, SessionInfo, SessionStore, StoreError, StoreResult};

mod index;
#[cfg(test)]
mod snapshot_tests;
mod tiers;
pub(crate) use index::Index;
use tiers::take_share;
pub(crate) use tiers::Place;

/// How long a request waits for a session another request is using.
const LEASE_WAIT: Duration = Duration::from_secs(10);
/// How long a final snapshot waits for running requests to finish.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// The in-process [`SessionStore`].
///
/// The fairing builds one when `session.store` is `"memory"` (the
/// default). Sessions live as long as the process: for several instances
/// behind a load balancer, use a shared store.
///
/// # Examples
/// ```
/// use std::{sync::Arc, time::Duration};
/// use memsess::session::{MemoryStore, Session, SessionStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
///
/// let (idle, absolute) = (Duration::from_secs(1800), Duration::from_secs(43200));
/// let store = Arc::new(MemoryStore::new(1000, idle, absolute));
/// let session = Session::new(store.clone());
/// session.insert("counter", 1).unwrap();
/// session.save().await.unwrap();
///
/// let again = Session::load(store, session.id()).await.unwrap();
/// assert_eq!(again.get::<u32>("counter"), Some(1));
/// # });
/// ```
pub struct MemoryStore {
    index: Arc<Index>,
    locks: KeyedLocks,
    // Which sessions each client address began, in the fresh tier and in
    // the anonymous tier (see `shares.rs`).
    fresh_shares: Shares,
    returning_shares: Shares,
    owners: Arc<OwnerIndex<Slot>>,
    limits: Limits,
    // Set by `persistent`: where the sessions outlive a restart.
    pub(crate) persistence: Option<Arc<Persistence>>,
}

impl MemoryStore {
    /// A store of at most `max_sessions` sessions (at least 4) with the
    /// given timeouts, and the defaults of [`Limits::new`] for the rest.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{MemoryStore, SessionStore};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new(1000, Duration::from_secs(1800), Duration::from_secs(43200));
    /// assert_eq!(store.len().await, Ok(0));
    /// # });
    /// ```
    pub fn new(max_sessions: u64, idle: Duration, absolute: Duration) -> Self {
        Self::with_limits(Limits::new(max_sessions, idle, absolute))
    }

    /// A store with all of its [`Limits`] given.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{Limits, MemoryStore};
    ///
    /// let limits = Limits {
    ///     max_sessions_per_user: 5,
    ///     ..Limits::new(1000, Duration::from_secs(1800), Duration::from_secs(43200))
    /// };
    /// let store = MemoryStore::with_limits(limits);
    /// # let _ = store;
    /// ```
    pub fn with_limits(limits: Limits) -> Self {
        let capacities = limits.tiers();
        let owners: Arc<OwnerIndex<Slot>> = Arc::default();
        MemoryStore {
            index: Arc::new(Index::new(limits, owners.clone())),
            locks: KeyedLocks::default(),
            fresh_shares: Shares::new(capacities.fresh, limits.fresh_per_origin()),
            returning_shares: Shares::new(capacities.anonymous, limits.returning_per_origin()),
            owners,
            limits,
            persistence: None,
        }
    }

    /// The index of all slots, for snapshots.
    pub(crate) fn index(&self) -> Arc<Index> {
        self.index.clone()
    }

    /// Puts a session read from a snapshot back in its tier (numbered as
    /// [`Place`] is).
    pub(crate) fn restore(&self, key: StoreKey, tier: u8, record: Record, last_seen: u64) {
        let owner = record.owner.clone();
        let remembered = record.remembered;
        let slot = Slot::new(record, last_seen, true, None);
        let place = match (Place::from_number(tier), &owner) {
            (_, Some(owner)) => {
                self.owners.insert(owner, key, slot.clone());
                Place::Owned
            }
            (Place::Fresh, None) if remembered => Place::Anonymous,
            (place, None) => place,
        };
        self.index.insert(key, slot, place);
    }

    /// Notes a change for the next snapshot. Called once the change has
    /// landed: a snapshot clears the mark as it begins, so a change marked
    /// before it lands could be missed by that snapshot and by the last
    /// one, written at a graceful stop, too.
    fn touch(&self) {
        if let Some(persistence) = &self.persistence {
            persistence.touch();
        }
    }

    /// Ends `slot` for good (fenced at `version`, if given); a rotation
    /// names the key its data moves to and that key's owner,
    /// `successor`. A session no snapshot holds ends at once; one a
    /// snapshot may hold is first journaled (a rotation as a move, so
    /// that a crash brings what the snapshot held back under the new
    /// key), and if its end cannot be made durable it is not ended at
    /// all: the caller gets
    /// [`StoreError::Unavailable`], and the session lives on rather than
    /// come back after a crash. Returns whether the end was journaled.
    async fn end_slot(
        &self,
        key: &StoreKey,
        slot: &Slot,
        version: Option<u64>,
        successor: Option<(StoreKey, Option<&str>)>,
    ) -> StoreResult<bool> {
        let persistence = {
            let mut state = slot.lock();
            if let Some(version) = version {
                fence(&state, version)?;
            }
            match &self.persistence {
                Some(persistence) if state.persisted && !state.removed => {
                    // Until the end is on disk and the slot removed, no
                    // snapshot copies the slot (see `SlotState::ending`).
                    state.ending += 1;
                    persistence.clone()
                }
                _ => {
                    end(&self.owners, key, &mut state);
                    self.touch();
                    return Ok(false);
                }
            }
        };
        // Rocket never cancels a handler, so this await always returns;
        // were it cancelled, the slot would only be left out of snapshots.
        let change = match successor {
            Some((to, owner)) => Change::Moved {
                from: *key,
                to,
                owner: owner_mark(owner),
            },
            None => Change::End(*key),
        };
        let journaled = persistence.ended(change).await;
        let mut state = slot.lock();
        state.ending -= 1;
        if let Err(e) = journaled {
            // A snapshot written meanwhile left the slot out: the next
            // one must hold it again.
            self.touch();
            return Err(e);
        }
        if let Some(version) = version {
            fence(&state, version)?;
        }
        end(&self.owners, key, &mut state);
        Ok(true)
    }
}

#[rocket::async_trait]
impl SessionStore for MemoryStore {
    async fn acquire(&self, key: &StoreKey) -> StoreResult<Option<(Record, Lease)>> {
        let guard = self
            .locks
            .lock(*key, LEASE_WAIT)
            .await
            .ok_or(StoreError::Busy)?;
        let Some((slot, place)) = self.find(key) else {
            return Ok(None);
        };
        let now = now_ms();
        let (record, origin) = {
            let mut state = slot.lock();
            if state.removed {
                (None, None)
            } else if now >= self.limits.ends_ms(&state.record, slot.last_seen_ms()) {
                end(&self.owners, key, &mut state);
                (None, None)
            } else {
                (Some(state.record.clone()), state.origin.take())
            }
        };
        let Some(record) = record else {
            self.index.remove(key, None);
            return Ok(None);
        };
        slot.touch(now);
        if place == Place::Fresh {
            // The client came back with the cookie: first its address's
            // share of returning visitors makes room (see `origin.rs`).
            let move_on = || {
                self.index.move_to(key, Place::Anonymous);
            };
            match origin {
                Some(origin) => {
                    let shares = &self.returning_shares;
                    take_share(shares, &self.index, Place::Anonymous, origin, *key, move_on);
                }
                None => move_on(),
            }
        }
        self.touch();
        Ok(Some((record, Lease::new(guard))))
    }

    async fn create(
        &self,
        key: &StoreKey,
        record: Record,
        origin: Option<Origin>,
    ) -> StoreResult<()> {
        self.insert_new(*key, record, origin).await
    }

    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()> {
        let Some(version) = expected else {
            return self.insert_new(*key, record, None).await;
        };
        let (slot, place) = self.find(key).ok_or(StoreError::Gone)?;
        let (gained, remembered) = {
            let mut state = slot.lock();
            fence(&state, version)?;
            let old_owner = state.record.owner.take();
            let gained = (old_owner != record.owner).then(|| record.owner.clone());
            if gained.is_some() {
                if let Some(old) = &old_owner {
                    self.owners.remove(old, key);
                }
                if let Some(new) = &record.owner {
                    self.owners.insert(new, *key, slot.clone());
                }
            }
            let remembered = record.remembered;
            state.record = record;
            (gained.flatten(), remembered)
        };
        // (A slot evicted meanwhile was ended under its lock: the fence
        // saw it.)
        if let Some(owner) = gained {
            if place != Place::Owned {
                self.index.move_to(key, Place::Owned);
            }
            self.cap(&owner, *key).await;
        } else if remembered && place == Place::Fresh {
            // The fresh tier is for new sessions whose client has not
            // come back; a remembered one starts among the anonymous.
            self.index.move_to(key, Place::Anonymous);
        }
        // Once the change has landed: a snapshot that began before it
        // missed it, and the next must not (see `touch`).
        self.touch();
        Ok(())
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        expected: u64,
        new: &StoreKey,
        record: Record,
    ) -> StoreResult<()> {
        // End the old one first: if it is gone already, nothing is written.
        // The new key comes from a fresh id, unknown to anyone yet, so it
        // needs no check.
        let (slot, place) = self.find(old).ok_or(StoreError::Gone)?;
        // A journaled move brings the old key's snapshot copy back under
        // the new key after a crash, so the new slot counts as one a
        // snapshot holds: its own end must be journaled too.
        let persisted = self
            .end_slot(
                old,
                &slot,
                Some(expected),
                Some((*new, record.owner.as_deref())),
            )
            .await?;
        self.index.remove(old, None);
        // A rotated session has a client that came back: at least anonymous.
        let to = if place == Place::Owned {
            Place::Owned
        } else {
            Place::Anonymous
        };
        match (to, record.owner.is_some()) {
            // Keeps an owned session owned even if it lost its owner.
            (Place::Owned, false) => {
                let slot = Slot::new(record, now_ms(), persisted, None);
                self.index.insert(*new, slot, Place::Owned);
            }
            _ => {
                self.place(*new, record, to, persisted).await;
            }
        }
        self.touch();
        Ok(())
    }

    async fn remove(&self, key: &StoreKey) -> StoreResult<()> {
        if let Some((slot, _)) = self.index.get(key, false) {
            self.end_slot(key, &slot, None, None).await?;
            self.index.remove(key, None);
        }
        Ok(())
    }

    async fn sessions_of(&self, owner: &str) -> StoreResult<Vec<SessionInfo>> {
        let now = now_ms();
        let mut sessions: Vec<SessionInfo> = self
            .owners
            .of(owner)
            .into_iter()
            .filter_map(|(key, slot)| {
                let last_seen_ms = slot.last_seen_ms();
                let state = slot.lock();
                let live = !state.removed && now < self.limits.ends_ms(&state.record, last_seen_ms);
                live.then(|| SessionInfo {
                    key,
                    created_ms: state.record.created_ms,
                    last_seen_ms,
                    remembered: state.record.remembered,
                    label: state.record.label.clone(),
                })
            })
            .collect();
        sessions.sort_by_key(|s| (s.created_ms, s.key));
        Ok(sessions)
    }

    fn keeps_across_restarts(&self) -> bool {
        self.persistence.is_some()
    }

    /// Writes the snapshot, if the store has one and something changed,
    /// once the requests still running have let go of their sessions
    /// (waiting at most a few seconds for them).
    async fn flush(&self) -> StoreResult<()> {
        let Some(persistence) = self.persistence.clone() else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + FLUSH_WAIT;
        while !self.locks.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || persistence.write_if_changed(&index))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .map_err(|e| StoreError::Unavailable(format!("writing the snapshot: {e}")))
    }

    async fn len(&self) -> StoreResult<u64> {
        // Expired slots may wait for traffic to leave; drop them to count
        // what is live.
        Ok(self.index.sweep())
    }
}
