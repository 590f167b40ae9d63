//! The fairing: sets the store up at ignition and, after each request,
//! gives the session's lease back and writes the cookie.
//!
//! Rocket applies the `CookieJar` to the response *before* response
//! fairings run, and catchers reset it, so a cookie added to the jar here
//! would be lost. The fairing writes `Set-Cookie` itself (the lines:
//! `cookie_line.rs`).
//!
//! | the request's session ...                            | `Set-Cookie`           |
//! |------------------------------------------------------|------------------------|
//! | was saved under an id the client doesn't have        | the id                 |
//! | (a new session, a rotated one)                       |                        |
//! | was saved after it became remembered, or stopped     | the id, with or without|
//! | being so                                             | `Max-Age`              |
//! | was loaded, then ended and not saved again           | removal (`Max-Age=0`)  |
//! | anything else (unchanged, saved in place, unsaved)   | none                   |
//!
//! A remembered session's cookie carries `Max-Age` equal to the time left
//! until the session's absolute deadline, so the browser keeps it exactly
//! as long as the server does; every other cookie ends with the browser.
//!
//! Every response of a request that loaded a session also gets
//! `Cache-Control: no-store`: it was rendered from session data, and no
//! cache may hand it to someone else.

use std::borrow::Cow;
use std::sync::Arc;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Build, Orbit, Request, Response, Rocket};

use super::config::SessionConfig;
use super::cookie_line::CookieLines;
use super::guard::{Loaded, Sessions};
use super::handle::CookieAction;
use super::memory::MemoryStore;
use super::store::{now_ms, SessionStore};

/// Attach this to use [`Session`](super::Session) guards.
///
/// # Examples
/// ```no_run
/// use memsess::session::SessionFairing;
///
/// let rocket = rocket::build().attach(SessionFairing::new());
/// ```
#[derive(Default)]
pub struct SessionFairing {
    store: Option<Arc<dyn SessionStore>>,
}

impl SessionFairing {
    /// A fairing that builds the store `session.store` names.
    ///
    /// # Examples
    /// ```
    /// use memsess::session::{Session, SessionError, SessionFairing};
    /// use rocket::local::blocking::Client;
    /// # use rocket::config::{Config, LogLevel};
    /// # let config = Config { log_level: LogLevel::Off, ..Config::debug_default() };
    ///
    /// #[rocket::get("/")]
    /// async fn visit(session: Session) -> Result<(), SessionError> {
    ///     session.save().await
    /// }
    ///
    /// let rocket = rocket::custom(config).attach(SessionFairing::new());
    /// let client = Client::tracked(rocket.mount("/", rocket::routes![visit])).unwrap();
    /// // The saved new session comes back as the `gsid` cookie.
    /// assert!(client.get("/").dispatch().cookies().get("gsid").is_some());
    /// ```
    pub fn new() -> Self {
        SessionFairing::default()
    }

    /// A fairing over a store you made (a test double, your own backend).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use memsess::session::{MemoryStore, Session, SessionError, SessionFairing, SessionStore};
    /// use rocket::local::asynchronous::Client;
    /// # use std::time::Duration;
    /// # use rocket::config::{Config, LogLevel};
    /// # #[rocket::get("/")]
    /// # async fn visit(session: Session) -> Result<(), SessionError> { session.save().await }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let config = Config { log_level: LogLevel::Off, ..Config::debug_default() };
    ///
    /// # let (idle, absolute) = (Duration::from_secs(60), Duration::from_secs(600));
    /// let store = Arc::new(MemoryStore::new(10, idle, absolute));
    /// let rocket = rocket::custom(config).attach(SessionFairing::with_store(store.clone()));
    /// let client = Client::tracked(rocket.mount("/", rocket::routes![visit])).await.unwrap();
    ///
    /// client.get("/").dispatch().await; // `visit` saves a new session
    /// assert_eq!(store.len().await, Ok(1));
    /// # });
    /// ```
    pub fn with_store(store: Arc<dyn SessionStore>) -> Self {
        SessionFairing { store: Some(store) }
    }
}

#[rocket::async_trait]
impl Fairing for SessionFairing {
    fn info(&self) -> Info {
        Info {
            name: "Sessions",
            kind: Kind::Ignite | Kind::Response | Kind::Shutdown | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let config = match SessionConfig::from_figment(rocket.figment()) {
            Ok(config) => config,
            Err(e) => {
                rocket::error!("{e}");
                return Err(rocket);
            }
        };
        let store = match self.store.clone() {
            Some(store) => store,
            None => match build_store(&config).await {
                Ok(store) => store,
                Err(message) => {
                    rocket::error!("invalid configuration {message}");
                    return Err(rocket);
                }
            },
        };
        announce(&config, &*store).await;
        let cookies = CookieLines::new(&config);
        Ok(rocket.manage(Sessions {
            store,
            config,
            cookies,
        }))
    }

    /// A graceful stop (SIGTERM, SIGINT): the store writes out what it
    /// keeps on disk, once the running requests are done with it.
    async fn on_shutdown(&self, rocket: &Rocket<Orbit>) {
        let Some(sessions) = rocket.state::<Sessions>() else {
            return;
        };
        if let Err(e) = sessions.store.flush().await {
            rocket::error!("session store at shutdown: {e}");
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Loaded(Some(Ok(session))) = req.local_cache(|| Loaded(None)) else {
            return;
        };
        let Some(sessions) = req.rocket().state::<Sessions>() else {
            return;
        };
        let action = session.release();
        let config = &sessions.config;
        let line = match action {
            CookieAction::Set {
                id,
                remembered_since,
            } => {
                // A remembered cookie outlives the browser, until the
                // session's absolute deadline and not a moment longer.
                let max_age = remembered_since.map(|created_ms| {
                    let deadline = created_ms
                        .saturating_add(config.remember_absolute_timeout.as_millis() as u64);
                    deadline.saturating_sub(now_ms()) / 1000
                });
                Some(Cow::Owned(sessions.cookies.set(id, max_age)))
            }
            CookieAction::Remove => Some(Cow::Borrowed(sessions.cookies.removal())),
            CookieAction::Keep => None,
        };
        if let Some(line) = line {
            res.adjoin_header(Header::new("Set-Cookie", line));
        }
        res.set_raw_header("Cache-Control", "no-store");
    }
}

/// The store `session.store` names, with its snapshot for the memory store;
/// or what is wrong, naming the key.
async fn build_store(config: &SessionConfig) -> Result<Arc<dyn SessionStore>, String> {
    let limits = config.limits();
    if config.store == "memory" {
        return Ok(Arc::new(match &config.snapshot_file {
            Some(file) => {
                // A damaged snapshot or journal is set aside and the app
                // serves on; a place where none can be written is a
                // mistake in the configuration, found now rather than at
                // the restart that loses every session.
                super::snapshot::check_writable(file).map_err(|e| {
                    format!(
                        "`session.snapshot_file`: no snapshot can be written at {}: {e}",
                        file.display()
                    )
                })?;
                MemoryStore::persistent(limits, file, config.snapshot_interval).await
            }
            None => MemoryStore::with_limits(limits),
        }));
    }
    #[cfg(feature = "redis")]
    return Ok(Arc::new(
        super::redis_store::RedisStore::with_limits(&config.store, limits)
            .map_err(|e| format!("`session.store`: {e}"))?,
    ));
    #[cfg(not(feature = "redis"))]
    Err("`session.store`: this build has no Redis support (the `redis` feature is off)".into())
}

/// Says at launch where sessions live, and warns if the store does not
/// answer (the app starts anyway, and recovers when the store is back).
async fn announce(config: &SessionConfig, store: &dyn SessionStore) {
    let place = match (config.store.as_str(), &config.snapshot_file) {
        ("memory", Some(file)) if store.keeps_across_restarts() => format!(
            "in memory, kept across restarts in {} (written every {} s)",
            file.display(),
            config.snapshot_interval.as_secs()
        ),
        ("memory", Some(_)) => {
            "in memory only (the snapshot is off for this run: see the error above)".to_owned()
        }
        ("memory", None) => "in memory only (session.snapshot_file is off)".to_owned(),
        (url, _) => format!("in Redis at {}", without_password(url)),
    };
    rocket::info!("sessions: {place}");
    for warning in config.warnings() {
        rocket::warn!("{warning}");
    }
    if let Err(e) = store.ping().await {
        rocket::warn!("sessions: the store does not answer ({e}); pages that need a session answer 503 until it does");
    }
}

/// A store URL fit for a log: any password replaced by `***`.
///
/// # Examples
/// ```
/// use memsess::session::fairing::without_password;
///
/// assert_eq!(without_password("redis://:s3cret@db:6379/0"), "redis://:***@db:6379/0");
/// assert_eq!(without_password("redis://app:s3cret@db/"), "redis://app:***@db/");
/// assert_eq!(without_password("redis://db:6379/"), "redis://db:6379/");
/// assert_eq!(without_password("redis://app:p@ss@db/"), "redis://app:***@db/");
/// assert_eq!(without_password("redis://app@db/"), "redis://app@db/");
/// ```
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}
