//! The parts of the [`Session`] API for signed-in users: who owns a
//! session, listing and ending the owner's other sessions ("sign out
//! everywhere else"), per-session expiry ("keep me signed in") and a label
//! that tells the owner's sessions apart.

use super::error::SessionError;
use super::handle::Session;

/// One live session of the current owner, for an "active sessions" list.
///
/// [`Session::owner_sessions`] makes these.
///
/// # Examples
/// ```
/// # use std::sync::Arc;
/// # use memsess::session::{MemoryStore, Session, SessionSummary};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let store = Arc::new(MemoryStore::new(10,
/// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
/// let session = Session::new(store);
/// session.set_owner(Some("alice"));
/// session.save().await.unwrap();
///
/// let list: Vec<SessionSummary> = session.owner_sessions().await.unwrap();
/// assert_eq!(list.len(), 1);
/// assert!(list[0].current);
/// assert!(list[0].created_ms <= list[0].last_seen_ms);
/// assert!(!list[0].remembered);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// When it began, in ms since the Unix epoch.
    pub created_ms: u64,
    /// When a request last used it, in ms since the Unix epoch.
    pub last_seen_ms: u64,
    /// Whether it is the session of the request that asked.
    pub current: bool,
    /// Whether it is remembered ("keep me signed in").
    pub remembered: bool,
    /// The client's description given at login, such as "Firefox on Linux".
    pub label: Option<Box<str>>,
}

impl Session {
    /// The user this session belongs to, if [`set_owner`](Self::set_owner)
    /// named one.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// assert_eq!(session.owner(), None);
    /// session.set_owner(Some("alice"));
    /// assert_eq!(session.owner().as_deref(), Some("alice"));
    /// ```
    pub fn owner(&self) -> Option<String> {
        self.state().owner.clone()
    }

    /// Records which user the session belongs to (`None`: nobody), so that
    /// [`owner_sessions`](Self::owner_sessions) and
    /// [`end_other_sessions`](Self::end_other_sessions) find it. Stored by
    /// the next [`save`](Self::save).
    ///
    /// Change the owner together with a new id: at login, with
    /// [`cycle_id`](Self::cycle_id) (which also stops session fixation);
    /// at logout, end the session with [`invalidate`](Self::invalidate)
    /// rather than setting `None`. The memory store's journal records
    /// rotations and ends, so they hold across a crash; an owner changed
    /// in place is only as durable as the next snapshot, and a crash
    /// before it brings back the owner the last snapshot held.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let session = Session::new(store.clone());
    /// session.set_owner(Some("alice"));
    /// assert!(store.sessions_of("alice").await.unwrap().is_empty());
    /// session.save().await.unwrap();
    /// assert_eq!(store.sessions_of("alice").await.unwrap().len(), 1);
    ///
    /// session.invalidate().await.unwrap(); // at logout
    /// assert!(store.sessions_of("alice").await.unwrap().is_empty());
    /// # });
    /// ```
    pub fn set_owner(&self, owner: Option<&str>) {
        self.state().owner = owner.map(String::from);
    }

    /// Makes the session *remembered* ("keep me signed in"), or ordinary
    /// again. A remembered session lives by `session.remember_idle_timeout`
    /// and `session.remember_absolute_timeout` instead of the ordinary
    /// pair, and its cookie carries a `Max-Age` up to its absolute
    /// deadline, so it outlives the browser. Stored by the next
    /// [`save`](Self::save), which also sends the new cookie.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let session = Session::new(store.clone());
    /// session.set_owner(Some("alice"));
    /// session.set_remembered(true);
    /// assert!(session.is_remembered());
    /// session.save().await.unwrap();
    ///
    /// let listed = store.sessions_of("alice").await.unwrap();
    /// assert!(listed[0].remembered);
    /// # });
    /// ```
    pub fn set_remembered(&self, remembered: bool) {
        self.state().remembered = remembered;
    }

    /// Whether the session is remembered (see
    /// [`set_remembered`](Self::set_remembered)).
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// assert!(!session.is_remembered());
    /// ```
    pub fn is_remembered(&self) -> bool {
        self.state().remembered
    }

    /// Describes the client for the owner's list of sessions, such as
    /// "Firefox on Linux" (set it at login, from the `User-Agent`). Keep it
    /// short: it is stored with the session, not in its data. Stored by
    /// the next [`save`](Self::save).
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let session = Session::new(store);
    /// session.set_owner(Some("alice"));
    /// session.set_label(Some("Firefox on Linux"));
    /// session.save().await.unwrap();
    /// let listed = session.owner_sessions().await.unwrap();
    /// assert_eq!(listed[0].label.as_deref(), Some("Firefox on Linux"));
    /// # });
    /// ```
    pub fn set_label(&self, label: Option<&str>) {
        self.state().label = label.map(Box::from);
    }

    /// The owner's live sessions, oldest first, marking this one; empty
    /// when the session has no owner.
    ///
    /// # Errors
    /// [`SessionError::Unavailable`] if the store cannot be reached.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let (laptop, phone) = (Session::new(store.clone()), Session::new(store));
    /// for session in [&laptop, &phone] {
    ///     session.set_owner(Some("alice"));
    ///     session.save().await.unwrap(); // the store knows only saved sessions
    /// }
    ///
    /// let list = phone.owner_sessions().await.unwrap();
    /// assert_eq!(list.len(), 2);
    /// assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    /// # });
    /// ```
    pub async fn owner_sessions(&self) -> Result<Vec<SessionSummary>, SessionError> {
        let (owner, current) = {
            let state = self.state();
            (state.owner.clone(), state.stored.map(|(id, _)| id.key()))
        };
        let Some(owner) = owner else {
            return Ok(Vec::new());
        };
        let sessions = self.inner.store.sessions_of(&owner).await?;
        Ok(sessions
            .into_iter()
            .map(|s| SessionSummary {
                created_ms: s.created_ms,
                last_seen_ms: s.last_seen_ms,
                current: Some(s.key) == current,
                remembered: s.remembered,
                label: s.label,
            })
            .collect())
    }

    /// Ends every other live session of this session's owner ("sign out
    /// everywhere else"); returns how many it ended. Requests still running
    /// on those sessions cannot bring them back: their saves fail with
    /// [`SessionError::Gone`]. It ends them even if this session has itself
    /// ended meanwhile: after a password change or an account's deletion,
    /// no other session may stay, whatever became of this one.
    ///
    /// # Errors
    /// [`SessionError::Unavailable`] if the store cannot be reached.
    ///
    /// # Examples
    /// ```
    /// # use memsess::session::SessionError;
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let (laptop, phone) = (Session::new(store.clone()), Session::new(store.clone()));
    /// for session in [&laptop, &phone] {
    ///     session.set_owner(Some("alice"));
    ///     session.save().await.unwrap();
    /// }
    ///
    /// assert_eq!(laptop.end_other_sessions().await, Ok(1));
    /// assert_eq!(store.len().await, Ok(1));
    /// // A request still running on the phone cannot bring it back, and
    /// // one that changes the password there still ends the laptop's.
    /// assert_eq!(phone.end_other_sessions().await, Ok(1));
    /// assert_eq!(store.len().await, Ok(0));
    /// assert_eq!(phone.save().await, Err(SessionError::Gone));
    /// # });
    /// ```
    pub async fn end_other_sessions(&self) -> Result<usize, SessionError> {
        let (owner, current) = {
            let state = self.state();
            (state.owner.clone(), state.stored.map(|(id, _)| id.key()))
        };
        let Some(owner) = owner else { return Ok(0) };
        let mut ended = 0;
        for other in self.inner.store.sessions_of(&owner).await? {
            if Some(other.key) != current {
                self.inner.store.remove(&other.key).await?;
                ended += 1;
            }
        }
        Ok(ended)
    }
}
