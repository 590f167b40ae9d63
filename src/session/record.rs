//! What a store keeps for one session ([`Record`]), what it lists for a
//! user ([`SessionInfo`]), and the wall clock every store uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// What a store holds for one session.
///
/// # Examples
/// ```
/// use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
/// # use std::time::Duration;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
/// let record = Record::new(r#"{"counter":1}"#, 1);
/// assert_eq!((record.owner.as_deref(), record.remembered), (None, false));
///
/// let key = SessionId::generate().key();
/// store.save(&key, None, record.clone()).await.unwrap();
/// let (loaded, _lease) = store.acquire(&key).await.unwrap().unwrap();
/// assert_eq!(loaded, record);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The session's values, as one serialized JSON object.
    pub data: Box<str>,
    /// When the session began, in ms since the Unix epoch; the absolute
    /// timeout counts from here (a rotation to a new id starts it again).
    pub created_ms: u64,
    /// The user the session belongs to, for listing and ending a user's
    /// sessions; `None` for anonymous visitors. Owned sessions are never
    /// evicted to make room for anonymous ones.
    pub owner: Option<Box<str>>,
    /// Bumped by every write; a write names the version it replaces.
    pub version: u64,
    /// A *remembered* session ("keep me signed in") lives by the longer
    /// pair of timeouts, and its cookie outlives the browser.
    pub remembered: bool,
    /// A short description of the client, such as "Firefox on Linux", for
    /// a user's list of sessions. Keep it short: every store keeps it.
    pub label: Option<Box<str>>,
}

impl Record {
    /// A record of `data` at `version`, begun now, anonymous, not
    /// remembered, without a label.
    ///
    /// # Examples
    /// ```
    /// use memsess::session::{store::now_ms, Record};
    ///
    /// let record = Record::new("{}", 1);
    /// assert_eq!((record.data.as_ref(), record.version), ("{}", 1));
    /// assert!(record.created_ms <= now_ms());
    /// assert_eq!(record.label, None);
    /// ```
    pub fn new(data: impl Into<Box<str>>, version: u64) -> Self {
        Record {
            data: data.into(),
            created_ms: now_ms(),
            owner: None,
            version,
            remembered: false,
            label: None,
        }
    }
}

/// One live session of a user, as listed by
/// [`SessionStore::sessions_of`](super::SessionStore::sessions_of).
///
/// # Examples
/// ```
/// use memsess::session::{MemoryStore, Record, SessionId, SessionStore};
/// # use std::time::Duration;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
/// let key = SessionId::generate().key();
/// let record = Record {
///     owner: Some("alice".into()),
///     remembered: true,
///     label: Some("Firefox on Linux".into()),
///     ..Record::new("{}", 1)
/// };
/// store.save(&key, None, record.clone()).await.unwrap();
///
/// let sessions = store.sessions_of("alice").await.unwrap();
/// assert_eq!(sessions.len(), 1);
/// assert_eq!((sessions[0].key, sessions[0].created_ms), (key, record.created_ms));
/// assert!(sessions[0].remembered);
/// assert_eq!(sessions[0].label.as_deref(), Some("Firefox on Linux"));
/// assert!(sessions[0].last_seen_ms >= record.created_ms);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session's store key (not its id, which the store never knows).
    pub key: super::StoreKey,
    /// When the session began, in ms since the Unix epoch.
    pub created_ms: u64,
    /// When a request last loaded it, in ms since the Unix epoch.
    pub last_seen_ms: u64,
    /// Whether it is remembered ("keep me signed in").
    pub remembered: bool,
    /// The client's description, if the app gave one.
    pub label: Option<Box<str>>,
}

/// Milliseconds since the Unix epoch, the clock all records use.
///
/// # Examples
/// ```
/// use std::time::{SystemTime, UNIX_EPOCH};
/// use memsess::session::store::now_ms;
///
/// let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
/// let now = now_ms();
/// assert!(now >= before && now - before < 60_000);
/// ```
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
