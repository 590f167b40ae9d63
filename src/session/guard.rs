//! The [`Session`] request guard: finds the cookie, loads the session once
//! per request, and leaves it where the response fairing will find it.

use std::sync::Arc;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use super::config::SessionConfig;
use super::cookie_line::CookieLines;
use super::error::SessionError;
use super::handle::Session;
use super::id::SessionId;
use super::store::SessionStore;

/// The session layer's managed state: the store and its settings. The
/// fairing creates it at ignition; apps may read it (to list or count
/// sessions) with `&State<Sessions>`.
///
/// # Examples
/// ```
/// use memsess::session::{SessionFairing, Sessions};
/// use rocket::local::blocking::Client;
/// # use rocket::config::{Config, LogLevel};
/// # let config = Config { log_level: LogLevel::Off, ..Config::debug_default() };
///
/// let client = Client::tracked(rocket::custom(config).attach(SessionFairing::new())).unwrap();
/// let sessions = client.rocket().state::<Sessions>().unwrap();
/// assert_eq!(sessions.config.cookie_name, "gsid");
/// assert_eq!(sessions.config.store, "memory");
/// assert!(sessions.store.is_reachable());
/// ```
pub struct Sessions {
    /// Where sessions are kept.
    pub store: Arc<dyn SessionStore>,
    /// The resolved `session.*` settings.
    pub config: SessionConfig,
    /// The cookie's `Set-Cookie` lines, made from `config` at launch.
    pub(crate) cookies: CookieLines,
}

/// What this request's guard loaded, cached per request. A private type, so
/// no other code can collide with this cache slot.
pub(crate) struct Loaded(pub(crate) Option<Result<Session, SessionError>>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Session {
    type Error = SessionError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(sessions) = req.rocket().state::<Sessions>() else {
            // Unreachable: the Sentinel below refuses to launch without it.
            return Outcome::Error((
                Status::InternalServerError,
                SessionError::Unavailable("no session fairing".into()),
            ));
        };
        let loaded = req
            .local_cache_async(async {
                let result = match cookie_id(req, &sessions.config.cookie_name) {
                    Some(id) => Session::load(sessions.store.clone(), id).await,
                    None => Ok(Session::new(sessions.store.clone())),
                };
                if let Ok(session) = &result {
                    session.set_client(req.client_ip());
                }
                Loaded(Some(result))
            })
            .await;
        match &loaded.0 {
            Some(Ok(session)) => Outcome::Success(session.clone()),
            Some(Err(e)) => Outcome::Error((Status::ServiceUnavailable, e.clone())),
            // Unreachable: the cache was filled just above.
            None => Outcome::Error((Status::InternalServerError, SessionError::Busy)),
        }
    }
}

/// A route that asks for a [`Session`] cannot work without the fairing, so
/// Rocket refuses to launch when it is not attached.
impl Sentinel for Session {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        let missing = rocket.state::<Sessions>().is_none();
        if missing {
            // Rocket's own message names only the guard's type.
            rocket::error!(
                "a route takes a Session, but the session fairing is not attached: add `.attach(SessionFairing::new())`"
            );
        }
        missing
    }
}

/// The session id in the request's cookies, if there is exactly one
/// well-formed one. Several cookies of our name mean someone (a subdomain,
/// a script) planted one beside ours, and we cannot tell which is ours, so
/// none is trusted and the request gets a new session.
fn cookie_id(req: &Request<'_>, name: &str) -> Option<SessionId> {
    let mut raw = req
        .headers()
        .get("Cookie")
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, value)| value);
    match (raw.next(), raw.next()) {
        (Some(value), None) => value.parse().ok(),
        (Some(_), Some(_)) => None,
        // Rocket's local test client hands its cookies over in the jar with
        // no Cookie header. A real request with a Cookie header never falls
        // back to the jar: the jar percent-decodes names, so a planted
        // `__Host%2Dgsid` (which browsers let a subdomain set) would pass
        // for ours.
        (None, _) if req.headers().contains("Cookie") => None,
        (None, _) => req.cookies().get(name)?.value().parse().ok(),
    }
}
