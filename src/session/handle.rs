//! [`Session`]: one request's view of its session, with gmemsess's API.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::error::SessionError;
use super::id::SessionId;
use super::store::{now_ms, Lease, SessionStore};
use super::values::Values;

/// What the response should do with the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieAction {
    /// Send the cookie: the store holds this session under an id the
    /// client does not have yet (a saved new session, or a rotated one), or
    /// the session became remembered or stopped being so.
    Set {
        /// The id to send.
        id: SessionId,
        /// For a remembered session, when it began (its cookie expires at
        /// its absolute deadline); `None` for a cookie that ends with the
        /// browser.
        remembered_since: Option<u64>,
    },
    /// Remove the cookie: the client's session is gone and nothing replaced it.
    Remove,
    /// The client's cookie is still right, or there is nothing to say.
    Keep,
}

/// The session of the current request: a request guard and a small
/// dict-like API over serde values.
///
/// Values change only in this request's copy until [`save`](Self::save)
/// writes them, as in gmemsess. Clones share one state, so a handler and
/// other guards see the same session.
///
/// The guard holds the session's lease from the moment it loads the
/// session until the response is ready, so requests on one session never
/// interleave their reads and writes (see the [module docs](super)).
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use memsess::session::{MemoryStore, Session};
/// # use std::time::Duration;
/// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
///
/// let session = Session::new(Arc::new(store));
/// let shared = session.clone();
/// shared.insert("theme", "dark").unwrap();
/// assert_eq!(session.get::<String>("theme").as_deref(), Some("dark"));
/// assert_eq!(session.id(), shared.id());
/// ```
#[derive(Clone)]
pub struct Session {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) store: Arc<dyn SessionStore>,
    state: Mutex<State>,
    // Store writes (save, invalidate) of this request, one at a time and in
    // call order; a tokio mutex because it is held across the store's await.
    pub(super) writes: tokio::sync::Mutex<()>,
    // Given back by the response fairing once the handler is done.
    pub(super) lease: Mutex<Option<Lease>>,
}

pub(super) struct State {
    /// The id this session has now (changed by `cycle_id` and
    /// `invalidate`); drawn when first needed ([`State::id`]), so a
    /// request that never saves a new session draws none.
    id: Option<SessionId>,
    /// The id the request's cookie named, if the store had it.
    pub(super) loaded: Option<SessionId>,
    /// Whether this request began the session (gmemsess's `is_new`).
    pub(super) is_new: bool,
    /// Which id and version the store holds for this session now.
    pub(super) stored: Option<(SessionId, u64)>,
    pub(super) data: Values,
    pub(super) created_ms: u64,
    pub(super) owner: Option<String>,
    pub(super) remembered: bool,
    pub(super) label: Option<Box<str>>,
    /// Whether the client's cookie is a remembered one (with an expiry).
    pub(super) cookie_remembered: bool,
    /// The client's address, whose [`Origin`](super::Origin) a new session is stored as
    /// coming from.
    pub(super) client: Option<IpAddr>,
}

impl State {
    fn blank() -> Self {
        State {
            id: None,
            loaded: None,
            is_new: true,
            stored: None,
            data: Values::new(),
            created_ms: now_ms(),
            owner: None,
            remembered: false,
            label: None,
            cookie_remembered: false,
            client: None,
        }
    }

    /// The session's id, drawn now if it has none yet.
    pub(super) fn id(&mut self) -> SessionId {
        *self.id.get_or_insert_with(SessionId::generate)
    }

    /// Gives the session a new id, drawn when it is next needed.
    pub(super) fn new_id(&mut self) {
        self.id = None;
    }

    /// Drops everything but what the store and cookie need to know: the id
    /// the client had, so that the response can remove its cookie.
    pub(super) fn reset(&mut self) {
        *self = State {
            loaded: self.loaded,
            cookie_remembered: self.cookie_remembered,
            client: self.client,
            ..State::blank()
        };
    }
}

impl Session {
    /// A new, empty session with a fresh id (drawn when first asked for or
    /// saved, so a request that never saves costs no randomness); nothing
    /// is stored until [`save`](Self::save).
    ///
    /// The guard makes these; call it yourself to use sessions outside a
    /// request (tests, jobs).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use memsess::session::{MemoryStore, Session};
    /// # use std::time::Duration;
    /// # let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
    ///
    /// let session = Session::new(Arc::new(store));
    /// assert!(session.is_new());
    /// assert_eq!(session.get::<u32>("counter"), None);
    /// ```
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        Self::with_state(store, State::blank(), None)
    }

    /// Loads the session stored under `id`, holding its lease until
    /// the response fairing gives it back (or the session is dropped); a new session if there is none.
    ///
    /// # Errors
    /// [`SessionError::Busy`] or [`SessionError::Unavailable`] from the store.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use memsess::session::{MemoryStore, Session, SessionId};
    /// # use std::time::Duration;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = Arc::new(MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600)));
    ///
    /// let session = Session::new(store.clone());
    /// session.insert("counter", 1).unwrap();
    /// session.save().await.unwrap();
    /// let id = session.id();
    /// drop(session);
    ///
    /// let again = Session::load(store.clone(), id).await.unwrap();
    /// assert!(!again.is_new());
    /// assert_eq!(again.get::<u32>("counter"), Some(1));
    ///
    /// // An id the store does not know gives a new session with another id.
    /// let unknown = Session::load(store, SessionId::generate()).await.unwrap();
    /// assert!(unknown.is_new());
    /// # });
    /// ```
    pub async fn load(store: Arc<dyn SessionStore>, id: SessionId) -> Result<Self, SessionError> {
        let Some((record, lease)) = store.acquire(&id.key()).await? else {
            return Ok(Self::new(store));
        };
        // Only this module writes records, so bad JSON means a damaged
        // store entry: start afresh rather than fail every request.
        let Ok(data) = serde_json::from_str(&record.data) else {
            return Ok(Self::new(store));
        };
        let state = State {
            id: Some(id),
            loaded: Some(id),
            is_new: false,
            stored: Some((id, record.version)),
            data,
            created_ms: record.created_ms,
            owner: record.owner.map(String::from),
            remembered: record.remembered,
            label: record.label,
            cookie_remembered: record.remembered,
            client: None,
        };
        Ok(Self::with_state(store, state, Some(lease)))
    }

    fn with_state(store: Arc<dyn SessionStore>, state: State, lease: Option<Lease>) -> Self {
        Session {
            inner: Arc::new(Inner {
                store,
                state: Mutex::new(state),
                writes: tokio::sync::Mutex::new(()),
                lease: Mutex::new(lease),
            }),
        }
    }

    /// Records where the request came from: a new session is stored as
    /// coming from there (see [`Origin`](super::Origin)). The guard calls this.
    pub(crate) fn set_client(&self, client: Option<IpAddr>) {
        self.state().client = client;
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // No method panics while it holds the lock, but if one ever did, the
        // state is still whole: every change is a single assignment.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this request began the session: there was no cookie, or its
    /// session was unknown, expired or ended. gmemsess's `is_new()`.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let session = Session::new(store.clone());
    /// assert!(session.is_new());
    /// session.save().await.unwrap();
    /// assert!(session.is_new()); // still the request that began it
    ///
    /// let next_request = Session::load(store, session.id()).await.unwrap();
    /// assert!(!next_request.is_new());
    /// # });
    /// ```
    pub fn is_new(&self) -> bool {
        self.state().is_new
    }

    /// The session id, as it will be in the cookie. gmemsess's `get_id()`.
    ///
    /// It is a secret: put it in a cookie, never in a page or a log.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// let id = session.id();
    /// assert_eq!(id.to_string().len(), 32);
    /// assert_eq!(session.id(), id); // stable until `cycle_id` or `invalidate`
    /// ```
    pub fn id(&self) -> SessionId {
        self.state().id()
    }

    /// Gives back the session's lease, so the next request on it may run,
    /// and says what the response must do with the cookie. The fairing
    /// calls this once the handler is done.
    pub(crate) fn release(&self) -> CookieAction {
        let lease = self
            .inner
            .lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(lease) = lease {
            self.inner.store.release(lease);
        }
        let state = self.state();
        match (state.stored, state.loaded) {
            (Some((id, _)), loaded)
                if Some(id) != loaded || state.remembered != state.cookie_remembered =>
            {
                CookieAction::Set {
                    id,
                    remembered_since: state.remembered.then_some(state.created_ms),
                }
            }
            (None, Some(_)) => CookieAction::Remove,
            _ => CookieAction::Keep,
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Session")
            .field("is_new", &state.is_new)
            .field("keys", &state.data.keys().collect::<Vec<_>>())
            .field("owner", &state.owner)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::MemoryStore;
    use std::time::Duration;

    fn session() -> Session {
        let store = MemoryStore::new(10, Duration::from_secs(60), Duration::from_secs(600));
        Session::new(Arc::new(store))
    }

    #[tokio::test]
    async fn an_id_is_drawn_once_when_needed_and_again_after_an_end() {
        let session = session();
        assert!(
            session.state().id.is_none(),
            "nothing drawn before it is needed"
        );
        let first = session.id();
        assert_eq!(session.id(), first, "stable once drawn");
        session.save().await.unwrap();
        assert_eq!(session.id(), first, "saved under the id it showed");

        session.invalidate().await.unwrap();
        assert!(
            session.state().id.is_none(),
            "an ended session draws no id it may never use"
        );
        assert_ne!(
            session.id(),
            first,
            "a new session after the end gets a new id"
        );
    }
}
