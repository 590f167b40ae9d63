//! The in-memory store's owner index: user → their sessions' entries.
//!
//! Listing a user's sessions needs no scan of the store. It holds the
//! same `Arc`s as the store's index, so it sees each slot's `last_seen`
//! without a lookup there (which would count as a use).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::id::StoreKey;

/// Owner → (store key → entry).
type Map<E> = HashMap<Box<str>, HashMap<StoreKey, Arc<E>>>;

/// A map from owner to the entries of their sessions.
pub(crate) struct OwnerIndex<E> {
    map: Mutex<Map<E>>,
}

impl<E> Default for OwnerIndex<E> {
    fn default() -> Self {
        OwnerIndex {
            map: Mutex::default(),
        }
    }
}

impl<E> OwnerIndex<E> {
    fn lock(&self) -> MutexGuard<'_, Map<E>> {
        // Each update is one insert or remove, so a poisoned lock still
        // guards a consistent map.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that `owner`'s session under `key` is now `entry`.
    pub(crate) fn insert(&self, owner: &str, key: StoreKey, entry: Arc<E>) {
        self.lock()
            .entry(owner.into())
            .or_default()
            .insert(key, entry);
    }

    /// Forgets `owner`'s session under `key`.
    pub(crate) fn remove(&self, owner: &str, key: &StoreKey) {
        let mut map = self.lock();
        if let Some(keys) = map.get_mut(owner) {
            keys.remove(key);
            if keys.is_empty() {
                map.remove(owner);
            }
        }
    }

    /// `owner`'s sessions, as (key, entry) pairs.
    pub(crate) fn of(&self, owner: &str) -> Vec<(StoreKey, Arc<E>)> {
        self.lock()
            .get(owner)
            .map(|keys| keys.iter().map(|(k, e)| (*k, e.clone())).collect())
            .unwrap_or_default()
    }
}
