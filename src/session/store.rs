//! The storage contract every session store keeps, in memory or shared.
//!
//! A store holds [`Record`]s under [`StoreKey`]s (hashes of session ids,
//! never the ids) and gives the [`Session`](super::Session) two tools that
//! together keep concurrent requests from losing updates:
//!
//! * **A per-session lease** ([`SessionStore::acquire`]): the guard takes it
//!   before loading and the response fairing gives it back, so requests on
//!   one session run their read-modify-write one after another — the model of
//!   PHP's session files. This is what makes 50 parallel "add to cart"
//!   requests all count.
//! * **A version check on every write** ([`SessionStore::save`],
//!   [`SessionStore::rotate`]): a write names the version it loaded and fails
//!   with [`StoreError::Gone`] if the record is no longer that one. The lease
//!   alone cannot give this: another user action may delete a session
//!   without holding its lease ("sign out everywhere else"), and a shared
//!   store's lease can time out under a stalled request. The version check
//!   is the fence that keeps a late save from bringing a deleted or rotated
//!   session back.
//!
//! Both work across processes as well as inside one: a shared store takes
//! the lease with an atomic "set if absent, with expiry" and checks the
//! version inside the same atomic step that writes.

use std::any::Any;
use std::time::{SystemTime, UNIX_EPOCH};

use super::id::StoreKey;

/// What a store holds for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The session's values, as one serialized JSON object.
    pub data: Box<str>,
    /// When the session began, in ms since the Unix epoch; the absolute
    /// timeout counts from here, and rotation keeps it.
    pub created_ms: u64,
    /// The user the session belongs to, for listing and ending a user's
    /// sessions; `None` for anonymous visitors.
    pub owner: Option<Box<str>>,
    /// Bumped by every write; a write names the version it replaces.
    pub version: u64,
}

/// One live session of a user, as listed by [`SessionStore::sessions_of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session's store key (not its id, which the store never knows).
    pub key: StoreKey,
    /// When the session began, in ms since the Unix epoch.
    pub created_ms: u64,
    /// When a request last loaded it, in ms since the Unix epoch.
    pub last_seen_ms: u64,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record is not the one the write expected: it was deleted
    /// (invalidated, rotated, expired, ended from another session) or
    /// replaced since it was loaded. The write did nothing.
    #[error("the session ended while this request was running")]
    Gone,
    /// Another request held the session's lease for too long.
    #[error("the session is busy with another request")]
    Busy,
    /// The store cannot be reached or answered with an error.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
}

/// The result type of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Proof that a request holds a session's lease.
///
/// Each store puts its own handle inside. Dropping a `Lease` must give the
/// lease back (or let it expire soon, for a shared store), so that a request
/// that is cancelled midway never locks its session out.
pub struct Lease(Box<dyn Any + Send + Sync>);

impl Lease {
    /// Wraps a store's own lease handle.
    pub fn new<T: Any + Send + Sync>(handle: T) -> Self {
        Lease(Box::new(handle))
    }

    /// The store's handle back, if it is of type `T`.
    pub fn into_inner<T: Any>(self) -> Option<T> {
        self.0.downcast::<T>().ok().map(|b| *b)
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lease(..)")
    }
}

/// A place to keep sessions. See the module docs for the concurrency
/// contract every implementation keeps.
#[rocket::async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Takes `key`'s lease and loads its record, restarting its idle clock.
    ///
    /// Returns `None`, holding nothing, when no live session has this key.
    /// Waits while another request holds the lease.
    ///
    /// # Errors
    /// [`StoreError::Busy`] if the lease stays taken too long;
    /// [`StoreError::Unavailable`] if the store cannot be reached.
    async fn acquire(&self, key: &StoreKey) -> StoreResult<Option<(Record, Lease)>>;

    /// Gives a lease back. Dropping it does the same, later for some stores.
    async fn release(&self, lease: Lease) {
        drop(lease);
    }

    /// Writes `record` under `key` if the stored version is `expected`
    /// (`None`: only if there is no record yet).
    ///
    /// # Errors
    /// [`StoreError::Gone`] if the stored record is not the expected one;
    /// [`StoreError::Unavailable`] if the store cannot be reached.
    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()>;

    /// Moves a session to a new key in one step: deletes `old` if it is at
    /// version `expected`, and writes `record` under `new`.
    ///
    /// # Errors
    /// As [`save`](Self::save); on error neither key changes.
    async fn rotate(
        &self,
        old: &StoreKey,
        expected: u64,
        new: &StoreKey,
        record: Record,
    ) -> StoreResult<()>;

    /// Deletes the session under `key`, whatever its version. A later save
    /// that expected the deleted record fails with [`StoreError::Gone`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the store cannot be reached.
    async fn remove(&self, key: &StoreKey) -> StoreResult<()>;

    /// The live sessions whose record names `owner`, oldest first. Listing
    /// does not restart anyone's idle clock.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the store cannot be reached.
    async fn sessions_of(&self, owner: &str) -> StoreResult<Vec<SessionInfo>>;

    /// How many sessions the store holds, for tests and monitoring; a store
    /// may count expired sessions it has not cleared yet.
    async fn len(&self) -> StoreResult<u64>;

    /// Whether the store answered its last operation, as far as this
    /// process knows, without asking it again (for health reports).
    fn is_reachable(&self) -> bool {
        true
    }

    /// Whether the store holds no session at all.
    async fn is_empty(&self) -> StoreResult<bool> {
        Ok(self.len().await? == 0)
    }
}

/// Milliseconds since the Unix epoch, the clock all records use.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
