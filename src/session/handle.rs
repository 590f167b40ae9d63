//! [`Session`]: one request's view of its session, with gmemsess's API.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::SessionError;
use super::id::SessionId;
use super::store::{now_ms, Lease, Record, SessionStore, StoreError};

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
}

/// What the response should do with the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieAction {
    /// Send the cookie: the store holds this session under an id the
    /// client does not have yet (a saved new session, or a rotated one).
    Set(SessionId),
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
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn SessionStore>,
    state: Mutex<State>,
    // Store writes (save, invalidate) of this request, one at a time and in
    // call order; a tokio mutex because it is held across the store's await.
    writes: tokio::sync::Mutex<()>,
    // Given back by the response fairing once the handler is done.
    lease: Mutex<Option<Lease>>,
}

struct State {
    /// The id this session has now (changed by `cycle_id` and `invalidate`).
    id: SessionId,
    /// The id the request's cookie named, if the store had it.
    loaded: Option<SessionId>,
    /// Whether this request began the session (gmemsess's `is_new`).
    is_new: bool,
    /// Which id and version the store holds for this session now.
    stored: Option<(SessionId, u64)>,
    data: Map<String, Value>,
    created_ms: u64,
    owner: Option<String>,
}

impl State {
    fn blank() -> Self {
        State {
            id: SessionId::generate(),
            loaded: None,
            is_new: true,
            stored: None,
            data: Map::new(),
            created_ms: now_ms(),
            owner: None,
        }
    }

    /// Drops everything but what the store and cookie need to know: the id
    /// the client had, so that the response can remove its cookie.
    fn reset(&mut self) {
        *self = State {
            loaded: self.loaded,
            ..State::blank()
        };
    }
}

impl Session {
    /// A new, empty session with a fresh id; nothing is stored until
    /// [`save`](Self::save).
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
            id,
            loaded: Some(id),
            is_new: false,
            stored: Some((id, record.version)),
            data,
            created_ms: record.created_ms,
            owner: record.owner.map(String::from),
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

    fn state(&self) -> MutexGuard<'_, State> {
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
        self.state().id
    }

    /// The value under `key`, or `None` if there is none or it is not a `T`.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("name", "alice").unwrap();
    /// assert_eq!(session.get::<String>("name").as_deref(), Some("alice"));
    /// assert_eq!(session.get::<u32>("name"), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        // Deserialize from a borrow: cloning the value first would copy
        // every nested map and string of it.
        T::deserialize(self.state().data.get(key)?).ok()
    }

    /// Sets `key` to `value` in this request's copy; [`save`](Self::save)
    /// stores it.
    ///
    /// # Errors
    /// [`SessionError::Serialize`] if `value` has no JSON form.
    ///
    /// # Examples
    /// ```
    /// # use std::collections::BTreeMap;
    /// # use memsess::session::SessionError;
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("cart", vec![3, 1]).unwrap();
    /// assert_eq!(session.get::<Vec<u32>>("cart"), Some(vec![3, 1]));
    ///
    /// // JSON object keys are strings, so a map keyed by pairs is refused.
    /// let by_pair = BTreeMap::from([((1, 2), "x")]);
    /// assert!(matches!(session.insert("bad", by_pair), Err(SessionError::Serialize(_))));
    /// ```
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value =
            serde_json::to_value(value).map_err(|e| SessionError::Serialize(e.to_string()))?;
        self.state().data.insert(key.to_owned(), value);
        Ok(())
    }

    /// Deletes `key` from this request's copy; true if it was there.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("k", 1).unwrap();
    /// assert!(session.remove("k"));
    /// assert!(!session.remove("k"));
    /// ```
    pub fn remove(&self, key: &str) -> bool {
        self.state().data.remove(key).is_some()
    }

    /// Removes `key` and returns its value if it is a `T` (for values that
    /// are read once, such as flash messages).
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("flash", "Saved").unwrap();
    /// assert_eq!(session.take::<String>("flash").as_deref(), Some("Saved"));
    /// assert_eq!(session.take::<String>("flash"), None);
    /// ```
    pub fn take<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let value = self.state().data.remove(key)?;
        serde_json::from_value(value).ok()
    }

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
    /// session.set_owner(None); // at logout
    /// assert_eq!(session.owner(), None);
    /// # });
    /// ```
    pub fn set_owner(&self, owner: Option<&str>) {
        self.state().owner = owner.map(String::from);
    }

    /// Gives the session a new id, keeping its data: call it whenever the
    /// session gains privileges (at login), so an id an attacker planted or
    /// saw before is worth nothing after. The next [`save`](Self::save)
    /// moves the stored session to the new id and the response sends the
    /// new cookie; the old id is dead from then on.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("cart", [1, 2]).unwrap();
    /// let before = session.id();
    /// session.cycle_id();
    /// assert_ne!(session.id(), before);
    /// assert_eq!(session.get::<Vec<u8>>("cart"), Some(vec![1, 2]));
    /// ```
    pub fn cycle_id(&self) {
        self.state().id = SessionId::generate();
    }

    /// Writes the session to the store. gmemsess's `save()`.
    ///
    /// Let it finish: a `save()` dropped midway (inside a `select!` or a
    /// timeout of your own) may have written without this object knowing,
    /// and a later save would then take the wrong path. Rocket itself never
    /// cancels a handler.
    ///
    /// # Errors
    /// [`SessionError::Conflict`] if another request wrote it meanwhile
    /// (nothing is written; the session lives on);
    /// [`SessionError::Gone`] if the session was ended while this request
    /// ran (nothing is written, and this object becomes a blank new
    /// session, so a retry cannot bring the old one back);
    /// [`SessionError::Serialize`], [`SessionError::Unavailable`] otherwise.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let session = Session::new(store.clone());
    /// session.insert("counter", 0).unwrap();
    /// assert_eq!(store.len().await, Ok(0));
    /// session.save().await.unwrap();
    /// assert_eq!(store.len().await, Ok(1));
    /// # });
    /// ```
    pub async fn save(&self) -> Result<(), SessionError> {
        let _writing = self.inner.writes.lock().await;
        let (id, stored, record) = {
            let state = self.state();
            let data = serde_json::to_string(&state.data)
                .map_err(|e| SessionError::Serialize(e.to_string()))?;
            let record = Record {
                data: data.into(),
                created_ms: state.created_ms,
                owner: state.owner.as_deref().map(Box::from),
                version: state.stored.map_or(1, |(_, v)| v + 1),
            };
            (state.id, state.stored, record)
        };
        let version = record.version;
        let store = &self.inner.store;
        let written = match stored {
            None => store.save(&id.key(), None, record).await,
            Some((old, v)) if old == id => store.save(&id.key(), Some(v), record).await,
            Some((old, v)) => store.rotate(&old.key(), v, &id.key(), record).await,
        };
        let mut state = self.state();
        match written {
            Ok(()) => {
                state.stored = Some((id, version));
                Ok(())
            }
            Err(StoreError::Gone) => {
                state.reset();
                Err(SessionError::Gone)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Ends the session: deletes it from the store and empties this
    /// object, which becomes a new session with a fresh id. Unless that is
    /// saved, the response removes the cookie. gmemsess's `invalidate()`.
    ///
    /// # Errors
    /// [`SessionError::Unavailable`] if the store cannot be reached; the
    /// session is then still alive.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let session = Session::new(store.clone());
    /// session.insert("user", "alice").unwrap();
    /// session.save().await.unwrap();
    /// let old_id = session.id();
    ///
    /// session.invalidate().await.unwrap();
    /// assert_eq!(store.len().await, Ok(0));
    /// assert!(session.is_new());
    /// assert_ne!(session.id(), old_id);
    /// assert_eq!(session.get::<String>("user"), None);
    /// # });
    /// ```
    pub async fn invalidate(&self) -> Result<(), SessionError> {
        let _writing = self.inner.writes.lock().await;
        let stored = self.state().stored;
        if let Some((id, _)) = stored {
            self.inner.store.remove(&id.key()).await?;
        }
        self.state().reset();
        Ok(())
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
            })
            .collect())
    }

    /// Ends every other live session of this session's owner ("sign out
    /// everywhere else"); returns how many it ended. Requests still running
    /// on those sessions cannot bring them back: their saves fail with
    /// [`SessionError::Gone`].
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
    /// // A request still running on the phone cannot bring it back.
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

    /// Gives back the session's lease, so the next request on it may run,
    /// and says what the response must do with the cookie. The fairing
    /// calls this once the handler is done.
    pub(crate) async fn release(&self) -> CookieAction {
        let lease = self
            .inner
            .lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(lease) = lease {
            self.inner.store.release(lease).await;
        }
        let state = self.state();
        match (state.stored, state.loaded) {
            (Some((id, _)), loaded) if Some(id) != loaded => CookieAction::Set(id),
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

    fn store() -> Arc<dyn SessionStore> {
        Arc::new(MemoryStore::new(
            100,
            Duration::from_secs(60),
            Duration::from_secs(600),
        ))
    }

    #[tokio::test]
    async fn a_conflicting_save_keeps_the_session_and_its_cookie() {
        let store = store();
        let first = Session::new(store.clone());
        first.insert("n", 1).unwrap();
        first.save().await.unwrap();
        let id = first.id();

        let loaded = Session::load(store.clone(), id).await.unwrap();
        // Another writer (an instance whose lease outlived ours) moves the
        // version on behind this request's back.
        let (_, version) = loaded.state().stored.unwrap();
        let newer = Record {
            data: r#"{"n":5}"#.into(),
            created_ms: now_ms(),
            owner: None,
            version: version + 1,
        };
        store.save(&id.key(), Some(version), newer).await.unwrap();

        loaded.insert("n", 2).unwrap();
        assert_eq!(loaded.save().await, Err(SessionError::Conflict));
        assert!(!loaded.is_new(), "the session was not reset");
        assert_eq!(
            loaded.release().await,
            CookieAction::Keep,
            "the cookie stays"
        );
        let again = Session::load(store, id).await.unwrap();
        assert_eq!(again.get::<u32>("n"), Some(5), "the other write stands");
    }

    #[tokio::test]
    async fn a_save_after_the_session_ended_resets_it_and_removes_the_cookie() {
        let store = store();
        let first = Session::new(store.clone());
        first.save().await.unwrap();
        let loaded = Session::load(store.clone(), first.id()).await.unwrap();
        store.remove(&first.id().key()).await.unwrap();
        assert_eq!(loaded.save().await, Err(SessionError::Gone));
        assert!(loaded.is_new());
        assert_eq!(loaded.release().await, CookieAction::Remove);
    }
}
