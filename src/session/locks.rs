//! One async mutex per session key, alive only while someone uses it.
//!
//! The in-memory store's leases, and the Redis store's turns among the
//! requests of one process (`redis_lease.rs`). A lock exists in the table
//! only while a request holds it or waits for it, so idle sessions cost no
//! memory here, and the table's own mutex is held just long enough to find
//! or drop an entry, never across an `.await`.
//!
//! A lock that leaves the table is kept for the next key, up to
//! [`SPARE`] of them: every request takes a lock, and making a new one
//! each time cost an allocation and a free per request. A lock can only
//! leave the table when nobody holds it or waits for it, so a kept one
//! is as good as new.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::id::{KeyHashBuilder, StoreKey};

type Lock = Arc<AsyncMutex<()>>;
type Map = HashMap<StoreKey, Lock, KeyHashBuilder>;

/// The most unused locks kept for reuse: more than the requests a server
/// usually runs at once, and a few KiB at most.
const SPARE: usize = 64;

/// The locks in use by key, and unused ones kept for reuse.
#[derive(Default)]
struct Locks {
    map: Map,
    spare: Vec<Lock>,
}

type Table = Mutex<Locks>;

/// A table of per-key async mutexes.
#[derive(Default)]
pub struct KeyedLocks {
    table: Arc<Table>,
}

/// A held per-key lock; dropping it unlocks and tidies the table.
pub struct KeyGuard {
    key: StoreKey,
    table: Arc<Table>,
    // Option so Drop can release the mutex before looking at the table.
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    /// Locks `key`, waiting at most `wait`; `None` if that was not enough.
    pub async fn lock(&self, key: StoreKey, wait: Duration) -> Option<KeyGuard> {
        let mutex = {
            let mut table = lock_table(&self.table);
            let Locks { map, spare } = &mut *table;
            map.entry(key)
                .or_insert_with(|| spare.pop().unwrap_or_default())
                .clone()
        };
        let mut guard = KeyGuard {
            key,
            table: self.table.clone(),
            guard: None,
        };
        // On timeout `guard` drops with nothing held and tidies the table.
        guard.guard = Some(tokio::time::timeout(wait, mutex.lock_owned()).await.ok()?);
        Some(guard)
    }

    /// How many keys are locked or waited on.
    pub fn len(&self) -> usize {
        lock_table(&self.table).map.len()
    }

    /// Whether no key is locked or waited on.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock_table(table: &Table) -> std::sync::MutexGuard<'_, Locks> {
    // The table is consistent after every statement, so a panic elsewhere
    // while it was locked leaves nothing half-done.
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        self.guard = None;
        let mut table = lock_table(&self.table);
        // Only the table holds the mutex now: nobody else holds or waits for
        // it, and nobody can start to while we hold the table's lock.
        if table
            .map
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            let Locks { map, spare } = &mut *table;
            let unused = map.remove(&self.key);
            if spare.len() < SPARE {
                spare.extend(unused);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_second_locker_waits_until_the_first_is_done() {
        let locks = KeyedLocks::default();
        let key = StoreKey([7; 16]);
        let first = locks.lock(key, WAIT).await.unwrap();
        assert!(locks.lock(key, Duration::from_millis(20)).await.is_none());
        drop(first);
        assert!(locks.lock(key, Duration::from_millis(20)).await.is_some());
    }

    #[tokio::test]
    async fn the_table_empties_when_no_one_holds_a_lock() {
        let locks = KeyedLocks::default();
        let a = locks.lock(StoreKey([1; 16]), WAIT).await.unwrap();
        let b = locks.lock(StoreKey([2; 16]), WAIT).await.unwrap();
        assert_eq!(locks.len(), 2);
        drop(a);
        drop(b);
        assert!(locks.is_empty());
    }

    #[tokio::test]
    async fn a_reused_lock_still_makes_the_next_locker_wait() {
        let locks = KeyedLocks::default();
        drop(locks.lock(StoreKey([1; 16]), WAIT).await.unwrap());
        assert_eq!(lock_table(&locks.table).spare.len(), 1);
        // Key 2 gets the lock key 1 left behind.
        let held = locks.lock(StoreKey([2; 16]), WAIT).await.unwrap();
        assert!(lock_table(&locks.table).spare.is_empty());
        assert!(locks
            .lock(StoreKey([2; 16]), Duration::from_millis(20))
            .await
            .is_none());
        assert!(locks
            .lock(StoreKey([1; 16]), Duration::from_millis(20))
            .await
            .is_some());
        drop(held);
        assert!(locks
            .lock(StoreKey([2; 16]), Duration::from_millis(20))
            .await
            .is_some());
    }

    #[tokio::test]
    async fn no_more_than_a_few_unused_locks_are_kept() {
        let locks = KeyedLocks::default();
        let mut held = Vec::new();
        for n in 0..100u8 {
            held.push(locks.lock(StoreKey([n; 16]), WAIT).await.unwrap());
        }
        drop(held);
        assert!(locks.is_empty());
        assert_eq!(lock_table(&locks.table).spare.len(), SPARE);
    }
}
