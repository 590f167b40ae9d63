//! The embedded store: sessions in moka caches inside the process.
//!
//! Each session is a *slot*: its record behind a small mutex, with a
//! `removed` flag. The caches only index slots; the flag is the truth.
//!
//! * **Writes in place, fenced by version**: a save finds the slot, locks
//!   it, and replaces the record only if the version is the one the request
//!   loaded and the slot is not removed. Ending a session sets the flag
//!   under the same lock before it leaves the caches, so a late save from a
//!   request that was still running fails with [`StoreError::Gone`]: a
//!   removed slot never comes back, and there is no check-then-write race.
//! * **Leases** are `KeyedLocks`: one async mutex per key in use, held by
//!   the request from load to response; idle sessions cost nothing there.
//! * **Expiry**: moka's time-to-idle ends a session not loaded for
//!   `idle_timeout` (each load restarts it); the absolute deadline
//!   (`created + absolute_timeout`) is checked on every load, which ends
//!   the session once it is passed, however busy.
//! * **Bound, and floods**: sessions live in two tiers, together at most
//!   `max_sessions`. Every new session starts in the *fresh* tier (a
//!   quarter of the bound); it moves to the *settled* tier when its client
//!   comes back with the cookie, or when it gets an owner (at login). A
//!   flood of cookie-less requests makes only one-request sessions, which
//!   never come back, so it churns the fresh tier and cannot evict the
//!   sessions of people who are using the site. Each tier evicts its least
//!   recently used entry first. A settled slot that expires or is evicted
//!   is flagged removed (and leaves the owner index), so a request still
//!   holding it gets [`StoreError::Gone`] rather than saving into the void.
//! * **The owner index** (`OwnerIndex`) maps a user to their slots, so
//!   listing them needs no scan and touches no idle clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;

use super::id::{KeyHashBuilder, StoreKey};
use super::locks::KeyedLocks;
use super::owners::OwnerIndex;
use super::store::{now_ms, Lease, Record, SessionInfo, SessionStore, StoreError, StoreResult};

/// How long a request waits for a session another request is using.
const LEASE_WAIT: Duration = Duration::from_secs(10);

/// One session.
struct Slot {
    state: Mutex<SlotState>,
    // Written by each load; atomic so listings read it without the lock.
    last_seen_ms: AtomicU64,
}

struct SlotState {
    record: Record,
    /// Ended (invalidated, rotated away, expired or evicted): never again
    /// readable or writable.
    removed: bool,
}

impl Slot {
    fn new(record: Record) -> Arc<Slot> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                record,
                removed: false,
            }),
            last_seen_ms: AtomicU64::new(now_ms()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // Every change under this lock is a single assignment, so a
        // poisoned lock still guards a whole state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

type Tier = Cache<StoreKey, Arc<Slot>, KeyHashBuilder>;

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
    fresh: Tier,
    settled: Tier,
    locks: KeyedLocks,
    owners: Arc<OwnerIndex<Slot>>,
    idle_ms: u64,
    absolute_ms: u64,
}

impl MemoryStore {
    /// A store of at most `max_sessions` sessions (at least 2) with the
    /// given timeouts.
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
        let fresh_capacity = (max_sessions / 4).max(1);
        let owners: Arc<OwnerIndex<Slot>> = Arc::default();
        let tier = |capacity: u64| {
            Cache::builder()
                .max_capacity(capacity)
                .eviction_policy(EvictionPolicy::lru())
                .time_to_idle(idle)
        };
        // Owned sessions live in the settled tier only, so only it needs an
        // eviction listener (which also makes moka take per-key locks on
        // every write, a cost the flood-facing fresh tier is spared).
        let fresh = tier(fresh_capacity).build_with_hasher(KeyHashBuilder::default());
        let index = owners.clone();
        let settled = tier(max_sessions.saturating_sub(fresh_capacity).max(1))
            .eviction_listener(move |key: Arc<StoreKey>, slot: Arc<Slot>, cause| {
                // Our own removals flag the slot first; a move between tiers
                // is explicit too and must not end the session.
                if matches!(cause, RemovalCause::Expired | RemovalCause::Size) {
                    end(&index, &key, &mut slot.lock());
                }
            })
            .build_with_hasher(KeyHashBuilder::default());
        MemoryStore {
            fresh,
            settled,
            locks: KeyedLocks::default(),
            owners,
            idle_ms: idle.as_millis() as u64,
            absolute_ms: absolute.as_millis() as u64,
        }
    }

    fn past_deadline(&self, record: &Record, now: u64) -> bool {
        now >= record.created_ms.saturating_add(self.absolute_ms)
    }

    /// The slot under `key`, settled or fresh. Reading restarts its idle
    /// clock. For requests that hold the key's lease, which are the only
    /// ones that move a slot between tiers.
    async fn find(&self, key: &StoreKey) -> Option<(Arc<Slot>, bool)> {
        if let Some(slot) = self.settled.get(key).await {
            return Some((slot, true));
        }
        self.fresh.get(key).await.map(|slot| (slot, false))
    }

    /// Like [`find`](Self::find), for callers without the lease: a move
    /// inserts into the settled tier before it leaves the fresh one, so
    /// looking in the fresh tier first cannot miss a slot on the move.
    async fn find_unleased(&self, key: &StoreKey) -> Option<(Arc<Slot>, bool)> {
        if let Some(slot) = self.fresh.get(key).await {
            return Some((slot, false));
        }
        self.settled.get(key).await.map(|slot| (slot, true))
    }

    /// Moves a slot from the fresh tier to the settled one.
    async fn settle(&self, key: StoreKey, slot: Arc<Slot>) {
        self.settled.insert(key, slot).await;
        self.fresh.invalidate(&key).await;
    }

    /// Drops `key` from its tier (its slot is already flagged removed).
    async fn forget(&self, key: &StoreKey, settled: bool) {
        let tier = if settled { &self.settled } else { &self.fresh };
        tier.invalidate(key).await;
    }
}

/// Whether a write that loaded `version` may replace this slot's record.
fn fence(state: &SlotState, version: u64) -> StoreResult<()> {
    if state.removed {
        Err(StoreError::Gone)
    } else if state.record.version != version {
        Err(StoreError::Conflict)
    } else {
        Ok(())
    }
}

/// Flags a slot removed and takes it out of the owner index.
fn end(owners: &OwnerIndex<Slot>, key: &StoreKey, state: &mut SlotState) {
    state.removed = true;
    if let Some(owner) = &state.record.owner {
        owners.remove(owner, key);
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
        let Some((slot, settled)) = self.find(key).await else {
            return Ok(None);
        };
        let now = now_ms();
        let record = {
            let mut state = slot.lock();
            if state.removed {
                None
            } else if self.past_deadline(&state.record, now) {
                end(&self.owners, key, &mut state);
                None
            } else {
                Some(state.record.clone())
            }
        };
        let Some(record) = record else {
            self.forget(key, settled).await;
            return Ok(None);
        };
        slot.last_seen_ms.store(now, Ordering::Relaxed);
        if !settled {
            // The client came back with the cookie: the session settles.
            self.settle(*key, slot).await;
        }
        Ok(Some((record, Lease::new(guard))))
    }

    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()> {
        let owned = record.owner.is_some();
        let Some(version) = expected else {
            // A new session: its key comes from a fresh random id, so only
            // this request can be creating it.
            if self.find(key).await.is_some() {
                return Err(StoreError::Conflict);
            }
            if let Some(owner) = record.owner.clone() {
                let slot = Slot::new(record);
                self.owners.insert(&owner, *key, slot.clone());
                self.settled.insert(*key, slot).await;
            } else {
                self.fresh.insert(*key, Slot::new(record)).await;
            }
            return Ok(());
        };
        let (slot, settled) = self.find(key).await.ok_or(StoreError::Gone)?;
        {
            let mut state = slot.lock();
            fence(&state, version)?;
            let old_owner = state.record.owner.take();
            if old_owner != record.owner {
                if let Some(old) = &old_owner {
                    self.owners.remove(old, key);
                }
                if let Some(new) = &record.owner {
                    self.owners.insert(new, *key, slot.clone());
                }
            }
            state.record = record;
        }
        if settled {
            return Ok(());
        }
        // The fresh tier has no eviction listener: if the slot was evicted
        // while this request held it, the write went nowhere.
        if !self.fresh.contains_key(key) {
            end(&self.owners, key, &mut slot.lock());
            return Err(StoreError::Gone);
        }
        if owned {
            self.settle(*key, slot).await;
        }
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
        let (slot, settled) = self.find(old).await.ok_or(StoreError::Gone)?;
        {
            let mut state = slot.lock();
            fence(&state, expected)?;
            end(&self.owners, old, &mut state);
        }
        self.forget(old, settled).await;
        // A rotated session has a client that came back: it is settled.
        let owner = record.owner.clone();
        let slot = Slot::new(record);
        if let Some(owner) = owner {
            self.owners.insert(&owner, *new, slot.clone());
        }
        self.settled.insert(*new, slot).await;
        Ok(())
    }

    async fn remove(&self, key: &StoreKey) -> StoreResult<()> {
        if let Some((slot, settled)) = self.find_unleased(key).await {
            end(&self.owners, key, &mut slot.lock());
            self.forget(key, settled).await;
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
                let last_seen_ms = slot.last_seen_ms.load(Ordering::Relaxed);
                let state = slot.lock();
                let live = !state.removed
                    && !self.past_deadline(&state.record, now)
                    && now < last_seen_ms.saturating_add(self.idle_ms);
                live.then(|| SessionInfo {
                    key,
                    created_ms: state.record.created_ms,
                    last_seen_ms,
                })
            })
            .collect();
        sessions.sort_by_key(|s| (s.created_ms, s.key));
        Ok(sessions)
    }

    async fn len(&self) -> StoreResult<u64> {
        // moka counts lazily; settle pending evictions to count what is live.
        self.fresh.run_pending_tasks().await;
        self.settled.run_pending_tasks().await;
        Ok(self.fresh.entry_count() + self.settled.entry_count())
    }
}
