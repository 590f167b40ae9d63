//! The login system gmemsess was made for: signup, login, logout, the
//! account page with its list of sessions, and lockout.
//!
//! - Passwords: argon2id PHC strings ([`password`]), hashed on the blocking
//!   pool a few at a time, in an atomically written JSON file ([`users`]).
//! - Login rotates the session id and the CSRF token, keeps the rest of
//!   the session (the cart), and records the user as the session's owner,
//!   which is what lists and ends a user's sessions.
//! - Failures: one message and about one duration for an unknown user and
//!   a wrong password (a dummy hash is verified for unknown users); after
//!   `auth.max_failed_logins` failures a username is locked ([`lockout`]).

pub mod account;
pub mod config;
pub mod current_user;
pub mod lockout;
pub mod pages;
pub mod password;
pub mod users;
pub mod validate;

use rocket::fairing::AdHoc;
use rocket::Route;

pub use config::AuthConfig;
pub use current_user::{login_redirect, CurrentUser};

use crate::page::{Flash, FlashKind};
use crate::session::{Session, SessionError};

/// Everything the login pages share, managed by Rocket.
pub struct Auth {
    /// The settings.
    pub config: AuthConfig,
    /// The accounts.
    pub users: users::UserStore,
    /// The bounded password hasher.
    pub hasher: password::Hasher,
    /// The failure counts.
    pub lockout: lockout::Lockout,
}

/// Logs `username` in on `session`: the user becomes its owner, the id and
/// the CSRF token are renewed (an id or token seen before login is
/// worthless after it), everything else (the cart) is kept, and it is saved.
///
/// # Errors
/// If the session cannot be saved.
pub async fn log_in(
    session: &Session,
    username: &str,
    greeting: String,
) -> Result<(), SessionError> {
    session.set_owner(Some(username));
    session.cycle_id();
    crate::csrf::renew(session)?;
    Flash::set(session, FlashKind::Success, greeting)?;
    session.save().await
}

/// Reads `auth.*`, opens the users file, and manages [`Auth`].
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Accounts", |rocket| async {
        let config = match AuthConfig::from_figment(rocket.figment()) {
            Ok(config) => config,
            Err(e) => {
                rocket::error!("{e}");
                return Err(rocket);
            }
        };
        let (path, demo) = (config.users_file.clone(), config.demo_users);
        // Both hash (the demo users, the dummy hash): off the async workers.
        let opened = tokio::task::spawn_blocking(move || {
            users::UserStore::open(&path, demo).map(|users| (users, password::Hasher::default()))
        })
        .await;
        let (users, hasher) = match opened {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => {
                rocket::error!("invalid configuration `auth.users_file`: {e}");
                return Err(rocket);
            }
            Err(e) => {
                rocket::error!("opening the users file failed: {e}");
                return Err(rocket);
            }
        };
        let lockout = lockout::Lockout::new(config.max_failed_logins, config.lockout);
        Ok(rocket.manage(Auth {
            config,
            users,
            hasher,
            lockout,
        }))
    })
}

/// The login pages and the account pages.
pub fn routes() -> Vec<Route> {
    let mut routes = pages::routes();
    routes.extend(account::routes());
    routes
}
