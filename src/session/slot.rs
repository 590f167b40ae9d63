//! The memory store's unit: a [`Slot`] holds one session's record behind a
//! small mutex, with a `removed` flag that is the truth about whether the
//! session still lives. The store's index only finds slots.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::id::StoreKey;
use super::origin::Origin;
use super::owners::OwnerIndex;
use super::record::Record;
use super::store::{StoreError, StoreResult};

/// One session.
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    // Written by each load; atomic so listings read it without the lock.
    last_seen_ms: AtomicU64,
}

pub(crate) struct SlotState {
    pub(crate) record: Record,
    /// Ended (invalidated, rotated away, expired, evicted or capped): never
    /// again readable or writable.
    pub(crate) removed: bool,
    /// Copied into a snapshot (which may be on disk): ending it must be
    /// journaled, or a crash could bring it back.
    pub(crate) persisted: bool,
    /// Ends of this slot being journaled right now. A snapshot leaves the
    /// slot out meanwhile: the end may land in a journal generation that
    /// the snapshot retires, so a copy would outlive the end on disk.
    pub(crate) ending: u32,
    /// The client address that began a new session, until its client
    /// comes back (see `origin.rs`).
    pub(crate) origin: Option<Origin>,
}

impl Slot {
    /// A slot for `record`, last used at `last_seen_ms`; `persisted` if it
    /// comes from a snapshot on disk; `origin` if it is new.
    pub(crate) fn new(
        record: Record,
        last_seen_ms: u64,
        persisted: bool,
        origin: Option<Origin>,
    ) -> Arc<Slot> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                record,
                removed: false,
                persisted,
                ending: 0,
                origin,
            }),
            last_seen_ms: AtomicU64::new(last_seen_ms),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotState> {
        // Every change under this lock is a single assignment, so a
        // poisoned lock still guards a whole state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn last_seen_ms(&self) -> u64 {
        self.last_seen_ms.load(Ordering::Relaxed)
    }

    pub(crate) fn touch(&self, now_ms: u64) {
        self.last_seen_ms.store(now_ms, Ordering::Relaxed);
    }
}

/// Whether a write that loaded `version` may replace this slot's record.
pub(crate) fn fence(state: &SlotState, version: u64) -> StoreResult<()> {
    if state.removed {
        Err(StoreError::Gone)
    } else if state.record.version != version {
        Err(StoreError::Conflict)
    } else {
        Ok(())
    }
}

/// Flags a slot removed and takes it out of the owner index.
pub(crate) fn end(owners: &OwnerIndex<Slot>, key: &StoreKey, state: &mut SlotState) {
    state.removed = true;
    if let Some(owner) = &state.record.owner {
        owners.remove(owner, key);
    }
}
