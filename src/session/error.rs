//! [`SessionError`]: what the session API can fail with, and the response
//! each failure gets when a handler returns it as it is.

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::Request;

use super::store::StoreError;

/// Why a session operation failed.
///
/// # Examples
/// ```
/// # use std::sync::Arc;
/// # use memsess::session::{MemoryStore, Session, SessionError, SessionStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let store = Arc::new(MemoryStore::new(10,
/// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
/// let session = Session::new(store.clone());
/// session.save().await.unwrap();
///
/// // Another request ends the session ("sign out everywhere") ...
/// store.remove(&session.id().key()).await.unwrap();
/// // ... so this request's save writes nothing, and its session starts over.
/// assert_eq!(session.save().await, Err(SessionError::Gone));
/// assert!(session.is_new());
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The session was ended (logged out elsewhere, rotated, expired) while
    /// this request ran; nothing was written, and this request's session is
    /// now a blank new one.
    #[error("the session ended while this request was running")]
    Gone,
    /// Another request wrote the session while this one ran (possible only
    /// when a shared store's lease expired under a stalled request, or when
    /// a `Session` outlives its request). Nothing was written; the session
    /// and its cookie live on, with the other request's data.
    #[error("the session was changed by another request while this one was running")]
    Conflict,
    /// Another request on the same session held it for too long.
    #[error("the session is busy with another request")]
    Busy,
    /// The store cannot be reached.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    /// A value could not be turned into JSON (a map with non-string keys,
    /// for instance).
    #[error("cannot store the value: {0}")]
    Serialize(String),
}

/// Without an app error type of your own, a handler can return
/// `Result<_, SessionError>`: an ended or conflicting session answers 409, a busy or
/// unreachable store 503, a value with no JSON form 500, each through the
/// app's catchers.
impl<'r> Responder<'r, 'static> for SessionError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Err(match self {
            SessionError::Gone | SessionError::Conflict => Status::Conflict,
            SessionError::Busy | SessionError::Unavailable(_) => Status::ServiceUnavailable,
            SessionError::Serialize(_) => Status::InternalServerError,
        })
    }
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Gone => SessionError::Gone,
            StoreError::Conflict => SessionError::Conflict,
            StoreError::Busy => SessionError::Busy,
            StoreError::Unavailable(why) => SessionError::Unavailable(why),
        }
    }
}
