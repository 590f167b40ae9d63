//! The embedded store: sessions in a moka cache inside the process.
//!
//! * **Expiry** is per entry (moka's [`Expiry`]): an entry lives for the idle
//!   timeout after its last load or write, but never past its absolute
//!   deadline (`created + absolute timeout`), so both timeouts hold at once.
//! * **Bound**: moka keeps at most `max_sessions` entries. Its TinyLFU policy
//!   admits a newcomer only when it is used more than what it would evict, so
//!   a flood of one-request sessions cannot push out sessions people use.
//! * **Leases** are [`KeyedLocks`]; **version checks** run inside moka's
//!   per-key atomic `and_compute_with`, which every write (and every delete)
//!   goes through, so no check-then-write race is left between them.
//! * **The owner index** maps a user to their sessions' entries, so listing
//!   them needs no scan. moka's eviction listener drops an entry from the
//!   index when the session dies for any reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};
use moka::Expiry;

use super::id::StoreKey;
use super::locks::KeyedLocks;
use super::store::{now_ms, Lease, Record, SessionInfo, SessionStore, StoreError, StoreResult};

/// How long a request waits for a session another request is using.
const LEASE_WAIT: Duration = Duration::from_secs(10);

/// A record as the cache holds it.
struct Entry {
    record: Record,
    // Written on every load by whichever request holds the lease; atomic
    // because the owner index reads it without the lease.
    last_seen_ms: AtomicU64,
}

type Owners = HashMap<Box<str>, HashMap<StoreKey, Arc<Entry>>>;

/// The in-process [`SessionStore`].
pub struct MemoryStore {
    cache: Cache<StoreKey, Arc<Entry>>,
    locks: KeyedLocks,
    owners: Arc<Mutex<Owners>>,
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
            && now < entry.last_seen_ms.load(Ordering::Relaxed).saturating_add(self.idle_ms)
    }
}

impl Expiry<StoreKey, Arc<Entry>> for Timeouts {
    fn expire_after_create(&self, _: &StoreKey, entry: &Arc<Entry>, _: Instant) -> Option<Duration> {
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

impl MemoryStore {
    /// A store of at most `max_sessions` sessions with the given timeouts.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::MemoryStore;
    ///
    /// let store = MemoryStore::new(1000, Duration::from_secs(1800), Duration::from_secs(43200));
    /// # let _ = store;
    /// ```
    pub fn new(max_sessions: u64, idle: Duration, absolute: Duration) -> Self {
        let timeouts = Timeouts {
            idle_ms: idle.as_millis() as u64,
            absolute_ms: absolute.as_millis() as u64,
        };
        let owners: Arc<Mutex<Owners>> = Arc::default();
        let index = owners.clone();
        let cache = Cache::builder()
            .max_capacity(max_sessions)
            .expire_after(timeouts)
            .eviction_listener(move |key: Arc<StoreKey>, entry: Arc<Entry>, cause| {
                // A replaced entry lives on under the same key; its successor
                // updates the index itself.
                if cause != RemovalCause::Replaced {
                    if let Some(owner) = &entry.record.owner {
                        unindex(&index, owner, &key);
                    }
                }
            })
            .build();
        MemoryStore { cache, locks: KeyedLocks::default(), owners, timeouts }
    }

    /// Writes `record` under `key` if the stored version is `expected`.
    async fn put_if(&self, key: StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()> {
        let entry = Arc::new(Entry { record, last_seen_ms: AtomicU64::new(now_ms()) });
        let result = self
            .cache
            .entry(key)
            .and_compute_with(|current| {
                let current = current.map(|e| e.into_value());
                let op = if current.as_ref().map(|e| e.record.version) == expected {
                    // Index inside the per-key critical section, so that a
                    // delete (whose listener unindexes) can only come after.
                    self.reindex(key, current.as_deref(), &entry);
                    Op::Put(entry.clone())
                } else {
                    Op::Nop
                };
                std::future::ready(op)
            })
            .await;
        match result {
            CompResult::Inserted(_) | CompResult::ReplacedWith(_) => Ok(()),
            _ => Err(StoreError::Gone),
        }
    }

    /// Points the owner index at `new`, which replaces `old` under `key`.
    fn reindex(&self, key: StoreKey, old: Option<&Entry>, new: &Arc<Entry>) {
        let old_owner = old.and_then(|e| e.record.owner.as_deref());
        if let Some(old_owner) = old_owner.filter(|o| Some(*o) != new.record.owner.as_deref()) {
            unindex(&self.owners, old_owner, &key);
        }
        if let Some(owner) = &new.record.owner {
            lock(&self.owners).entry(owner.clone()).or_default().insert(key, new.clone());
        }
    }

    /// Deletes `key` if the stored version is `expected` (`None`: any).
    async fn remove_if(&self, key: StoreKey, expected: Option<u64>) -> StoreResult<()> {
        let result = self
            .cache
            .entry(key)
            .and_compute_with(|current| {
                let matches = current.is_some_and(|e| {
                    expected.is_none_or(|v| e.into_value().record.version == v)
                });
                std::future::ready(if matches { Op::Remove } else { Op::Nop })
            })
            .await;
        match result {
            CompResult::Removed(_) => Ok(()),
            _ if expected.is_none() => Ok(()),
            _ => Err(StoreError::Gone),
        }
    }
}

fn lock(owners: &Mutex<Owners>) -> std::sync::MutexGuard<'_, Owners> {
    // Every update leaves the index consistent, so a poisoned lock is safe.
    owners.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unindex(owners: &Mutex<Owners>, owner: &str, key: &StoreKey) {
    let mut owners = lock(owners);
    if let Some(keys) = owners.get_mut(owner) {
        keys.remove(key);
        if keys.is_empty() {
            owners.remove(owner);
        }
    }
}

#[rocket::async_trait]
impl SessionStore for MemoryStore {
    async fn acquire(&self, key: &StoreKey) -> StoreResult<Option<(Record, Lease)>> {
        let guard = self.locks.lock(*key, LEASE_WAIT).await.ok_or(StoreError::Busy)?;
        // `get` runs `expire_after_read`, which restarts the idle clock.
        Ok(self.cache.get(key).await.map(|entry| {
            entry.last_seen_ms.store(now_ms(), Ordering::Relaxed);
            (entry.record.clone(), Lease::new(guard))
        }))
    }

    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()> {
        self.put_if(*key, expected, record).await
    }

    async fn rotate(&self, old: &StoreKey, expected: u64, new: &StoreKey, record: Record) -> StoreResult<()> {
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
        let mut sessions: Vec<SessionInfo> = lock(&self.owners)
            .get(owner)
            .into_iter()
            .flatten()
            .filter(|(_, entry)| self.timeouts.is_live(entry, now))
            .map(|(key, entry)| SessionInfo {
                key: *key,
                created_ms: entry.record.created_ms,
                last_seen_ms: entry.last_seen_ms.load(Ordering::Relaxed),
            })
            .collect();
        sessions.sort_by_key(|s| (s.created_ms, s.key));
        Ok(sessions)
    }

    async fn len(&self) -> StoreResult<u64> {
        // moka counts lazily; settle pending evictions to count what is live.
        self.cache.run_pending_tasks().await;
        Ok(self.cache.entry_count())
    }
}
