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
//!   with [`StoreError::Gone`] (deleted) or [`StoreError::Conflict`] (written
//!   by another request) if the record is no longer that one. The lease
//!   alone cannot give this: another user action may delete a session
//!   without holding its lease ("sign out everywhere else"), and a shared
//!   store's lease can time out under a stalled request. The version check
//!   is the fence that keeps a late save from bringing a deleted or rotated
//!   session back.
//!
//! Both work across processes as well as inside one: a shared store takes
//! the lease with an atomic "set if absent or lapsed, with a lapse time",
//! and checks the version inside the same atomic step that writes.

use std::any::Any;

use super::id::StoreKey;
pub use super::record::{now_ms, Record, SessionInfo};

/// Why a store operation failed.
///
/// # Examples
/// ```
/// use memsess::session::{MemoryStore, Record, SessionId, SessionStore, StoreError};
/// # use std::time::Duration;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
/// # let record = |version| Record::new("{}", version);
/// let key = SessionId::generate().key();
/// store.save(&key, None, record(1)).await.unwrap();
/// store.remove(&key).await.unwrap();
///
/// // A late write that expected version 1 finds the record gone.
/// assert_eq!(store.save(&key, Some(1), record(2)).await, Err(StoreError::Gone));
/// assert_eq!(StoreError::Gone.to_string(), "the session ended while this request was running");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record the write expected is gone: it was invalidated, rotated
    /// away, expired, evicted or ended from another session. The write did
    /// nothing, and the session must not be written again under this key.
    #[error("the session ended while this request was running")]
    Gone,
    /// The record is there but at another version: another request wrote
    /// it meanwhile (a shared store's lease expired under a stalled
    /// request), or a new session's key was taken. The write did nothing;
    /// the session itself lives on.
    #[error("the session was changed by another request while this one was running")]
    Conflict,
    /// Another request held the session's lease for too long.
    #[error("the session is busy with another request")]
    Busy,
    /// The store cannot be reached or answered with an error.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
}

/// The result type of store operations.
///
/// # Examples
/// ```
/// use memsess::session::store::StoreResult;
/// use memsess::session::StoreError;
///
/// fn reachable(up: bool) -> StoreResult<()> {
///     if up { Ok(()) } else { Err(StoreError::Unavailable("connection refused".into())) }
/// }
/// assert!(reachable(true).is_ok());
/// assert!(matches!(reachable(false), Err(StoreError::Unavailable(_))));
/// ```
pub type StoreResult<T> = Result<T, StoreError>;

/// Proof that a request holds a session's lease.
///
/// Each store puts its own handle inside. Dropping a `Lease` must give the
/// lease back (or let it expire soon, for a shared store), so that a request
/// that is cancelled midway never locks its session out.
///
/// # Examples
/// ```
/// use memsess::session::Lease;
///
/// // A store wraps whatever proves it holds the lease ...
/// let lease = Lease::new(String::from("token-42"));
/// assert_eq!(format!("{lease:?}"), "Lease(..)");
/// // ... and gets it back when the lease is released.
/// assert_eq!(lease.into_inner::<String>().as_deref(), Some("token-42"));
/// ```
pub struct Lease(Box<dyn Any + Send + Sync>);

impl Lease {
    /// Wraps a store's own lease handle.
    ///
    /// # Examples
    /// ```
    /// use memsess::session::Lease;
    ///
    /// let lease = Lease::new(7_u64);
    /// assert_eq!(lease.into_inner::<u64>(), Some(7));
    /// ```
    pub fn new<T: Any + Send + Sync>(handle: T) -> Self {
        Lease(Box::new(handle))
    }

    /// The store's handle back, if it is of type `T`.
    ///
    /// # Examples
    /// ```
    /// use memsess::session::Lease;
    ///
    /// assert_eq!(Lease::new(7_u64).into_inner::<u64>(), Some(7));
    /// // A handle of another type (another store's lease) gives `None`.
    /// assert_eq!(Lease::new(7_u64).into_inner::<u32>(), None);
    /// ```
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
///
/// [`Session`](super::Session) and the fairing use a store only through
/// `Arc<dyn SessionStore>`, so any implementation can stand in for
/// [`MemoryStore`](super::MemoryStore) or `RedisStore`.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use memsess::session::{MemoryStore, Session, SessionStore};
/// # use std::time::Duration;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store: Arc<dyn SessionStore> =
///     Arc::new(MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600)));
/// assert!(store.is_empty().await.unwrap());
///
/// let session = Session::new(store.clone());
/// session.save().await.unwrap();
/// assert_eq!(store.len().await, Ok(1));
/// assert!(store.acquire(&session.id().key()).await.unwrap().is_some());
/// # });
/// ```
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
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// # let record = |version| Record::new("{}", version);
    /// let key = SessionId::generate().key();
    /// assert!(store.acquire(&key).await.unwrap().is_none());
    ///
    /// store.save(&key, None, record(1)).await.unwrap();
    /// let (loaded, lease) = store.acquire(&key).await.unwrap().unwrap();
    /// assert_eq!(loaded.version, 1);
    /// store.release(lease);
    /// # });
    /// ```
    async fn acquire(&self, key: &StoreKey) -> StoreResult<Option<(Record, Lease)>>;

    /// Gives a lease back. Dropping it does the same, later for some stores.
    ///
    /// It never waits: the response is on its way once the handler is
    /// done, and the next request on the session should not queue behind
    /// a round trip. A store that must tell a server does so in the
    /// background (the Redis store batches what was given back), and a
    /// request that finds a lease not yet released waits as for any other.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// # let record = |version| Record::new("{}", version);
    /// # let key = SessionId::generate().key();
    /// # store.save(&key, None, record(1)).await.unwrap();
    /// let (_, lease) = store.acquire(&key).await.unwrap().unwrap();
    /// store.release(lease);
    /// // The next request on the session gets it without waiting.
    /// assert!(store.acquire(&key).await.unwrap().is_some());
    /// # });
    /// ```
    fn release(&self, lease: Lease) {
        drop(lease);
    }

    /// Writes `record` under `key` if the stored version is `expected`
    /// (`None`: only if there is no record yet).
    ///
    /// # Errors
    /// [`StoreError::Gone`] if the expected record was deleted,
    /// [`StoreError::Conflict`] if it is at another version;
    /// [`StoreError::Unavailable`] if the store cannot be reached.
    ///
    /// # Examples
    /// ```
    /// # use memsess::session::StoreError;
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// # let record = |version| Record::new("{}", version);
    /// let key = SessionId::generate().key();
    /// store.save(&key, None, record(1)).await.unwrap();
    /// store.save(&key, Some(1), record(2)).await.unwrap();
    ///
    /// // Two writes that loaded version 1: only the first one lands.
    /// assert_eq!(store.save(&key, Some(1), record(2)).await, Err(StoreError::Conflict));
    /// assert_eq!(store.save(&key, None, record(1)).await, Err(StoreError::Conflict));
    /// # });
    /// ```
    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()>;

    /// Stores a new session, begun by a client at `origin` (if known): as
    /// [`save`](Self::save) with no expected version, and a store may also
    /// keep any one address from holding more than its share of the new
    /// sessions, and of the returning visitors' once their client comes
    /// back (see [`Limits::fresh_per_origin`](super::Limits::fresh_per_origin)
    /// and [`Limits::returning_per_origin`](super::Limits::returning_per_origin)).
    /// The default is `save(key, None, record)`.
    ///
    /// # Errors
    /// As [`save`](Self::save).
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Origin, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// let key = SessionId::generate().key();
    /// let here = Origin::of("192.0.2.1".parse().unwrap());
    /// store.create(&key, Record::new("{}", 1), Some(here)).await.unwrap();
    /// assert!(store.acquire(&key).await.unwrap().is_some());
    /// # });
    /// ```
    async fn create(
        &self,
        key: &StoreKey,
        record: Record,
        origin: Option<super::Origin>,
    ) -> StoreResult<()> {
        let _ = origin;
        self.save(key, None, record).await
    }

    /// Moves a session to a new key in one step: deletes `old` if it is at
    /// version `expected`, and writes `record` under `new`.
    ///
    /// # Errors
    /// As [`save`](Self::save); on error neither key changes.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// # let record = |version| Record::new("{}", version);
    /// let (old, new) = (SessionId::generate().key(), SessionId::generate().key());
    /// store.save(&old, None, record(1)).await.unwrap();
    ///
    /// store.rotate(&old, 1, &new, record(2)).await.unwrap();
    /// assert!(store.acquire(&old).await.unwrap().is_none());
    /// assert_eq!(store.acquire(&new).await.unwrap().unwrap().0.version, 2);
    /// # });
    /// ```
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
    ///
    /// # Examples
    /// ```
    /// # use memsess::session::StoreError;
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// # let record = |version| Record::new("{}", version);
    /// let key = SessionId::generate().key();
    /// store.save(&key, None, record(1)).await.unwrap();
    ///
    /// store.remove(&key).await.unwrap();
    /// assert!(store.acquire(&key).await.unwrap().is_none());
    /// assert_eq!(store.save(&key, Some(1), record(2)).await, Err(StoreError::Gone));
    /// # });
    /// ```
    async fn remove(&self, key: &StoreKey) -> StoreResult<()>;

    /// The live sessions whose record names `owner`, oldest first. Listing
    /// does not restart anyone's idle clock.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the store cannot be reached.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// # let record = |version| Record::new("{}", version);
    /// let key = SessionId::generate().key();
    /// let owned = Record { owner: Some("alice".into()), ..record(1) };
    /// store.save(&key, None, owned).await.unwrap();
    /// store.save(&SessionId::generate().key(), None, record(1)).await.unwrap();
    ///
    /// let alices = store.sessions_of("alice").await.unwrap();
    /// assert_eq!(alices.iter().map(|s| s.key).collect::<Vec<_>>(), [key]);
    /// assert!(store.sessions_of("bob").await.unwrap().is_empty());
    /// # });
    /// ```
    async fn sessions_of(&self, owner: &str) -> StoreResult<Vec<SessionInfo>>;

    /// How many sessions the store holds, for tests and monitoring; a store
    /// may count expired sessions it has not cleared yet.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// # let record = |version| Record::new("{}", version);
    /// assert_eq!(store.len().await, Ok(0));
    /// store.save(&SessionId::generate().key(), None, record(1)).await.unwrap();
    /// assert_eq!(store.len().await, Ok(1));
    /// # });
    /// ```
    async fn len(&self) -> StoreResult<u64>;

    /// Whether sessions outlive a restart of this process: true for a
    /// shared store, and for the memory store with a working snapshot.
    /// For the launch log; the default is `true`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{MemoryStore, SessionStore};
    ///
    /// let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// assert!(!store.keeps_across_restarts()); // no snapshot file
    /// ```
    fn keeps_across_restarts(&self) -> bool {
        true
    }

    /// Asks the store whether it answers (for the launch log). The default
    /// is `Ok`, for stores that live in the process.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the store cannot be reached.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{MemoryStore, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// assert_eq!(store.ping().await, Ok(()));
    /// # });
    /// ```
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Writes out what the store keeps on disk, if anything: the memory
    /// store's snapshot. The session fairing calls it at a graceful stop.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if it could not be written.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{MemoryStore, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// // A store without a snapshot file has nothing to write.
    /// let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// assert_eq!(store.flush().await, Ok(()));
    /// # });
    /// ```
    async fn flush(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Whether the store answered its last operation, as far as this
    /// process knows, without asking it again (for health reports).
    ///
    /// The default is `true`, for stores that live in the process.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{MemoryStore, SessionStore};
    ///
    /// let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// assert!(store.is_reachable());
    /// ```
    fn is_reachable(&self) -> bool {
        true
    }

    /// Whether the store holds no session at all.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    /// # let record = |version| Record::new("{}", version);
    /// assert_eq!(store.is_empty().await, Ok(true));
    /// store.save(&SessionId::generate().key(), None, record(1)).await.unwrap();
    /// assert_eq!(store.is_empty().await, Ok(false));
    /// # });
    /// ```
    async fn is_empty(&self) -> StoreResult<bool> {
        Ok(self.len().await? == 0)
    }
}
