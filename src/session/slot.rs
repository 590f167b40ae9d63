//! The memory store's unit: a [`Slot`] holds one session's record behind a
//! small mutex, with a `removed` flag that is the truth about whether the
//! session still lives. The tiers (moka caches) only index slots.
//!
//! [`SlotExpiry`] tells moka when each slot expires, per entry: an idle
//! clock restarted by every read, capped by the session's absolute
//! deadline, both by the ordinary or the remembered pair of timeouts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use moka::Expiry;

use super::id::StoreKey;
use super::limits::Limits;
use super::origin::Origin;
use super::owners::OwnerIndex;
use super::record::{now_ms, Record};
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

/// Per-entry expiry for the tiers, from each slot's own record.
pub(crate) struct SlotExpiry(pub(crate) Limits);

impl SlotExpiry {
    /// Time from now until `slot` ends if nobody uses it again.
    fn left(&self, slot: &Slot, last_seen_ms: u64) -> Duration {
        let ends = self.0.ends_ms(&slot.lock().record, last_seen_ms);
        Duration::from_millis(ends.saturating_sub(now_ms()))
    }
}

impl Expiry<StoreKey, Arc<Slot>> for SlotExpiry {
    /// A slot enters a tier when it is made, moved, or loaded from a
    /// snapshot: its idle clock runs from its last use, which for a
    /// snapshot may be before the server stopped.
    fn expire_after_create(&self, _: &StoreKey, slot: &Arc<Slot>, _: Instant) -> Option<Duration> {
        Some(self.left(slot, slot.last_seen_ms()))
    }

    /// Every read is a use: the idle clock starts again from now.
    fn expire_after_read(
        &self,
        _: &StoreKey,
        slot: &Arc<Slot>,
        _: Instant,
        _: Option<Duration>,
        _: Instant,
    ) -> Option<Duration> {
        Some(self.left(slot, now_ms()))
    }

    fn expire_after_update(
        &self,
        _: &StoreKey,
        slot: &Arc<Slot>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.left(slot, slot.last_seen_ms()))
    }
}
