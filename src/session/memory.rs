//! The embedded store: sessions in moka caches inside the process.
//!
//! * **Expiry** is per entry (moka's [`Expiry`]): an entry lives for the idle
//!   timeout after its last load or write, but never past its absolute
//!   deadline (`created + absolute timeout`), so both timeouts hold at once.
//! * **Bound, and floods**: sessions live in two tiers, together at most
//!   `max_sessions`. Every new session starts in the *fresh* tier (a
//!   quarter of the bound); it moves to the *settled* tier when its client
//!   comes back with the cookie, or when it gets an owner (at login). A
//!   flood of cookie-less requests makes only one-request sessions, which
//!   never come back, so it churns the fresh tier and cannot evict the
//!   sessions of people who are using the site. Each tier evicts its least
//!   recently used entry first.
//! * **Leases** are `KeyedLocks` (one async mutex per key in use); **version checks** run inside moka's
//!   per-key atomic `and_compute_with`, which every write and delete goes
//!   through. Operations visit the fresh tier before the settled one, and a
//!   move between tiers happens inside the fresh tier's per-key section,
//!   so a delete can never miss an entry that is moving.
//! * **The owner index** (`OwnerIndex`) maps a user to their sessions.
//!   Owned sessions live only in the settled tier, whose eviction listener
//!   drops an entry from the index when the session dies for any reason.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::Expiry;

use super::id::StoreKey;
use super::locks::KeyedLocks;
use super::owners::OwnerIndex;
use super::store::{now_ms, Lease, Record, SessionInfo, SessionStore, StoreError, StoreResult};

/// How long a request waits for a session another request is using.
const LEASE_WAIT: Duration = Duration::from_secs(10);

/// A record as the caches hold it.
struct Entry {
    record: Record,
    // Written on every load by whichever request holds the lease; atomic
    // because the owner index reads it without the lease.
    last_seen_ms: AtomicU64,
}

impl Entry {
    fn new(record: Record) -> Arc<Entry> {
        Arc::new(Entry {
            record,
            last_seen_ms: AtomicU64::new(now_ms()),
        })
    }
}

type Tier = Cache<StoreKey, Arc<Entry>>;

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
    owners: Arc<OwnerIndex<Entry>>,
    timeouts: Timeouts,
}

/// The two timeouts, in ms.
#[derive(Clone, Copy)]
struct Timeouts {
    idle_ms: u64,
    absolute_ms: u64,
}

impl Timeouts {
    /// How long `entry` may still live if it is used now.
    fn remaining(&self, entry: &Entry) -> Duration {
        let deadline = entry.record.created_ms.saturating_add(self.absolute_ms);
        let left = deadline.saturating_sub(now_ms());
        Duration::from_millis(left.min(self.idle_ms))
    }

    fn is_live(&self, entry: &Entry, now: u64) -> bool {
        now < entry.record.created_ms.saturating_add(self.absolute_ms)
            && now
                < entry
                    .last_seen_ms
                    .load(Ordering::Relaxed)
                    .saturating_add(self.idle_ms)
    }
}

impl Expiry<StoreKey, Arc<Entry>> for Timeouts {
    fn expire_after_create(
        &self,
        _: &StoreKey,
        entry: &Arc<Entry>,
        _: Instant,
    ) -> Option<Duration> {
        Some(self.remaining(entry))
    }

    fn expire_after_read(
        &self,
        _: &StoreKey,
        entry: &Arc<Entry>,
        _: Instant,
        _: Option<Duration>,
        _: Instant,
    ) -> Option<Duration> {
        Some(self.remaining(entry))
    }

    fn expire_after_update(
        &self,
        _: &StoreKey,
        entry: &Arc<Entry>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.remaining(entry))
    }
}

/// What a conditional operation found in one tier.
enum Found {
    /// No entry under the key.
    Absent,
    /// An entry, but not at the expected version.
    Mismatch,
    /// The expected entry; the operation was applied.
    Applied,
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
        let timeouts = Timeouts {
            idle_ms: idle.as_millis() as u64,
            absolute_ms: absolute.as_millis() as u64,
        };
        let fresh_capacity = (max_sessions / 4).max(1);
        let owners: Arc<OwnerIndex<Entry>> = Arc::default();
        let index = owners.clone();
        let fresh = Cache::builder()
            .max_capacity(fresh_capacity)
            .eviction_policy(EvictionPolicy::lru())
            .expire_after(timeouts)
            .build();
        let settled = Cache::builder()
            .max_capacity(max_sessions.saturating_sub(fresh_capacity).max(1))
            .eviction_policy(EvictionPolicy::lru())
            .expire_after(timeouts)
            .eviction_listener(move |key: Arc<StoreKey>, entry: Arc<Entry>, cause| {
                // A replaced entry lives on under the same key, and its
                // successor has already updated the index.
                if cause != RemovalCause::Replaced {
                    if let Some(owner) = &entry.record.owner {
                        index.remove(owner, &key);
                    }
                }
            })
            .build();
        MemoryStore {
            fresh,
            settled,
            locks: KeyedLocks::default(),
            owners,
            timeouts,
        }
    }

    /// Runs `apply` on `tier`'s entry under `key` if it is at `expected`
    /// (`None`: any version), inside the key's atomic section.
    async fn if_version<F, Fut>(
        tier: &Tier,
        key: StoreKey,
        expected: Option<u64>,
        apply: F,
    ) -> Found
    where
        F: FnOnce(Arc<Entry>) -> Fut,
        Fut: Future<Output = Op<Arc<Entry>>>,
    {
        let mut found = Found::Absent;
        let found_ref = &mut found;
        tier.entry(key)
            .and_compute_with(|current| async move {
                let Some(current) = current.map(|e| e.into_value()) else {
                    return Op::Nop;
                };
                if expected.is_some_and(|v| v != current.record.version) {
                    *found_ref = Found::Mismatch;
                    return Op::Nop;
                }
                *found_ref = Found::Applied;
                apply(current).await
            })
            .await;
        found
    }

    /// Writes `entry` under `key` in the settled tier if that holds version
    /// `expected` (`None`: nothing), keeping the owner index in step.
    async fn put_settled(&self, key: StoreKey, expected: Option<u64>, entry: Arc<Entry>) -> bool {
        let result = self
            .settled
            .entry(key)
            .and_compute_with(|current| {
                let current = current.map(|e| e.into_value());
                let op = if current.as_ref().map(|e| e.record.version) == expected {
                    // Inside the key's section, so a delete (whose listener
                    // unindexes) can only come after.
                    self.reindex(key, current.as_deref(), &entry);
                    Op::Put(entry.clone())
                } else {
                    Op::Nop
                };
                std::future::ready(op)
            })
            .await;
        matches!(
            result,
            CompResult::Inserted(_) | CompResult::ReplacedWith(_)
        )
    }

    /// Points the owner index at `new`, which replaces `old` under `key`.
    fn reindex(&self, key: StoreKey, old: Option<&Entry>, new: &Arc<Entry>) {
        let old_owner = old.and_then(|e| e.record.owner.as_deref());
        if let Some(old_owner) = old_owner.filter(|o| Some(*o) != new.record.owner.as_deref()) {
            self.owners.remove(old_owner, &key);
        }
        if let Some(owner) = &new.record.owner {
            self.owners.insert(owner, key, new.clone());
        }
    }

    /// Writes `record` under `key` if the stored version is `expected`.
    async fn put_if(
        &self,
        key: StoreKey,
        expected: Option<u64>,
        record: Record,
    ) -> StoreResult<()> {
        let owned = record.owner.is_some();
        let entry = Entry::new(record);
        let written = match expected {
            // A new session starts fresh, unless it already has an owner.
            None if owned => self.put_settled(key, None, entry).await,
            None => matches!(
                self.fresh
                    .entry(key)
                    .and_compute_with(|current| {
                        std::future::ready(if current.is_none() {
                            Op::Put(entry)
                        } else {
                            Op::Nop
                        })
                    })
                    .await,
                CompResult::Inserted(_)
            ),
            Some(version) => {
                let moved = entry.clone();
                let found = Self::if_version(&self.fresh, key, expected, |_| async {
                    if !owned {
                        return Op::Put(moved);
                    }
                    // Owned sessions are settled: move it, inside this
                    // key's section of the fresh tier.
                    if self.put_settled(key, None, moved).await {
                        Op::Remove
                    } else {
                        Op::Nop
                    }
                })
                .await;
                match found {
                    Found::Applied => true,
                    Found::Mismatch => false,
                    Found::Absent => self.put_settled(key, Some(version), entry).await,
                }
            }
        };
        if written {
            Ok(())
        } else {
            Err(StoreError::Gone)
        }
    }

    /// Deletes `key` if the stored version is `expected` (`None`: any).
    async fn remove_if(&self, key: StoreKey, expected: Option<u64>) -> StoreResult<()> {
        let remove = |_| std::future::ready(Op::Remove);
        let found = match Self::if_version(&self.fresh, key, expected, remove).await {
            Found::Absent => Self::if_version(&self.settled, key, expected, remove).await,
            found => found,
        };
        match (found, expected) {
            (Found::Applied, _) | (_, None) => Ok(()),
            _ => Err(StoreError::Gone),
        }
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
        // `get` runs `expire_after_read`, which restarts the idle clock.
        let mut entry = self.settled.get(key).await;
        if entry.is_none() {
            // The client came back with the cookie: the session settles.
            let mut moved = None;
            Self::if_version(&self.fresh, *key, None, |current| {
                moved = Some(current.clone());
                async {
                    if self.put_settled(*key, None, current).await {
                        Op::Remove
                    } else {
                        Op::Nop
                    }
                }
            })
            .await;
            entry = moved;
        }
        Ok(entry.map(|entry| {
            entry.last_seen_ms.store(now_ms(), Ordering::Relaxed);
            (entry.record.clone(), Lease::new(guard))
        }))
    }

    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()> {
        self.put_if(*key, expected, record).await
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        expected: u64,
        new: &StoreKey,
        record: Record,
    ) -> StoreResult<()> {
        // Delete first: if the old record is gone, nothing is written. The
        // new key is fresh and unknown to anyone, so writing it cannot fail.
        self.remove_if(*old, Some(expected)).await?;
        self.put_if(*new, None, record).await
    }

    async fn remove(&self, key: &StoreKey) -> StoreResult<()> {
        self.remove_if(*key, None).await
    }

    async fn sessions_of(&self, owner: &str) -> StoreResult<Vec<SessionInfo>> {
        let now = now_ms();
        let mut sessions: Vec<SessionInfo> = self
            .owners
            .of(owner)
            .into_iter()
            .filter(|(_, entry)| self.timeouts.is_live(entry, now))
            .map(|(key, entry)| SessionInfo {
                key,
                created_ms: entry.record.created_ms,
                last_seen_ms: entry.last_seen_ms.load(Ordering::Relaxed),
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
