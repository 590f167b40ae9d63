//! The login system gmemsess was made for: signup, login, logout, the
//! account page (sessions, orders, password change, deletion), and the
//! protections around them.
//!
//! - Accounts, orders and attempt counters live in an
//!   [`store::AccountStore`] chosen by `auth.store`: a file
//!   for one instance, or Redis for many ([`store`]).
//! - Passwords: argon2id PHC strings ([`password`]), hashed on a few
//!   low-priority threads of their own, never on the async workers.
//! - Every password check is one counted attempt ([`attempt`]): counted
//!   before hashing, all or nothing, per username (or per device, see
//!   [`device`]) and per client address, so parallel guesses cannot beat
//!   the limits. A username that breaks the rules is refused before any
//!   lookup, counter or hash.
//! - Login rotates the session id and the CSRF token, keeps the rest of
//!   the session (the cart; unless another account had it: then that one
//!   is ended and a new one begins, see [`log_in`]), records the user as
//!   the session's owner (which lists and ends a user's sessions), and
//!   stamps the session with the account's password ([`current_user`]),
//!   so a password change or a deletion anywhere ends it.
//! - Failures: one message and about one duration for an unknown user and
//!   a wrong password (a dummy hash is verified for unknown users).

pub mod account;
pub mod attempt;
pub mod client_label;
pub mod config;
pub mod current_user;
pub mod device;
pub mod pages;
pub mod password;
pub mod store;
pub mod validate;

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::Route;

pub use config::AuthConfig;
pub use current_user::{login_redirect, stamp, CurrentUser};

use crate::page::{Flash, FlashKind};
use crate::session::{Session, SessionConfig, SessionError};
use config::StoreKind;
use store::{AccountStore, DemoAccounts};

/// Everything the login pages share, managed by Rocket.
pub struct Auth {
    /// The settings.
    pub config: AuthConfig,
    /// Accounts, orders and counters.
    pub store: Arc<dyn AccountStore>,
    /// The bounded password hasher.
    pub hasher: password::Hasher,
    /// Whether cookies are `Secure` (`session.secure`), for device cookies.
    pub secure: bool,
}

/// How a browser arrives at a login: from its request and the form.
#[derive(Debug, Clone, Default)]
pub struct Arrival {
    /// "Keep me signed in": the session is remembered (longer timeouts, a
    /// cookie that outlives the browser).
    pub remember: bool,
    /// The browser and OS, for the user's list of sessions.
    pub label: String,
}

/// Logs `username` in on `session`: the user becomes its owner, the
/// session is stamped with the account's password hash, labelled with the
/// browser and remembered if asked, the id and the CSRF token are renewed
/// (an id or token seen before login is worthless after it), everything
/// else (the cart) is kept, and it is saved. A session signed in to any
/// other account (a shared browser where someone did not sign out, or an
/// earlier account of the same name) is ended instead, as a logout ends
/// it, and the login gets a new one: their cart and the rest are not this
/// user's to see, and an end (unlike a rotation) is one that no crash
/// can undo. Signing in to the same account again (the same name and
/// password hash) keeps it all.
///
/// # Errors
/// If the session cannot be saved.
pub async fn log_in(
    session: &Session,
    username: &str,
    password_hash: &str,
    greeting: String,
    arrival: Arrival,
) -> Result<(), SessionError> {
    let stamp = stamp(password_hash);
    let owner = session.owner();
    let same_account = owner.as_deref() == Some(username)
        && session.get::<String>(current_user::STAMP_KEY).as_ref() == Some(&stamp);
    if owner.is_some() && !same_account {
        session.invalidate().await?;
    }
    session.set_owner(Some(username));
    session.set_remembered(arrival.remember);
    session.set_label(Some(&arrival.label));
    session.insert(current_user::STAMP_KEY, stamp)?;
    session.cycle_id();
    crate::csrf::renew(session)?;
    Flash::set(session, FlashKind::Success, greeting)?;
    session.save().await
}

/// Opens the store `auth.store` names. Blocking (the file store reads
/// files; demo users are hashed).
fn open_store(config: &AuthConfig) -> Result<Arc<dyn AccountStore>, String> {
    let demo = if config.demo_users {
        DemoAccounts::debug()
    } else {
        DemoAccounts::none()
    };
    match &config.store {
        StoreKind::File => Ok(Arc::new(store::FileStore::open(&config.users_file, demo)?)),
        #[cfg(feature = "redis")]
        StoreKind::Redis(url) => Ok(Arc::new(
            store::RedisStore::new(url, demo)
                .map_err(|e| format!("invalid configuration `auth.store`: {e}"))?,
        )),
        #[cfg(not(feature = "redis"))]
        StoreKind::Redis(_) => {
            Err("invalid configuration `auth.store`: this build has no Redis support".into())
        }
    }
}

/// Reads `auth.*`, opens the account store, and manages [`Auth`].
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Accounts", |rocket| async {
        let config = match AuthConfig::from_figment(rocket.figment()) {
            Ok(config) => config,
            Err(e) => {
                rocket::error!("{e}");
                return Err(rocket);
            }
        };
        // A bad `session.*` is reported by the session fairing.
        let secure = SessionConfig::from_figment(rocket.figment()).is_ok_and(|c| c.secure);
        let opening = config.clone();
        // The file store reads files and everything hashes (the demo
        // users, the dummy hash): off the async workers. The Redis store
        // needs the runtime, which `spawn_blocking` threads can reach.
        let handle = tokio::runtime::Handle::current();
        let opened = tokio::task::spawn_blocking(move || {
            let _runtime = handle.enter();
            open_store(&opening).map(|store| (store, password::Hasher::default()))
        })
        .await;
        let (store, hasher) = match opened {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => {
                rocket::error!("{e}");
                return Err(rocket);
            }
            Err(e) => {
                rocket::error!("opening the account store failed: {e}");
                return Err(rocket);
            }
        };
        rocket::info!("account store: {}", store.describe());
        if let Err(e) = store.ping().await {
            rocket::warn!("the account store does not answer yet ({e}); pages that need accounts answer 503 until it does");
        }
        Ok(rocket.manage(Auth {
            config,
            store,
            hasher,
            secure,
        }))
    })
}

/// The login pages and the account pages.
pub fn routes() -> Vec<Route> {
    let mut routes = pages::routes();
    routes.extend(account::routes());
    routes
}
