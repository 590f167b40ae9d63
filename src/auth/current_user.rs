//! [`CurrentUser`]: the request guard for pages that need a login.
//!
//! A session's owner is set at login, but the account can change after:
//! its password changed, or it was deleted (and the name perhaps taken
//! again) on another instance, even while a login was completing. So
//! login also stamps the session with a fingerprint of the account's
//! password hash ([`stamp`]), and the guard checks it against the account
//! as stored now: a session whose account is gone or whose password has
//! changed since is ended, whatever raced with what. Pages that only show
//! the header's name do not check; every page that acts for the user does.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use sha2::{Digest as _, Sha256};

use super::Auth;
use crate::error::{AppError, ErrorDetail};
use crate::session::Session;

/// Session key of the account stamp.
pub const STAMP_KEY: &str = "account";

/// The stamp of an account with this password hash: 8 bytes of its
/// SHA-256, in hex. Every new hash has a new salt, so every password
/// change (and every new account) has a new stamp.
///
/// # Examples
/// ```
/// use memsess::auth::stamp;
/// assert_eq!(stamp("$argon2id$a"), stamp("$argon2id$a"));
/// assert_ne!(stamp("$argon2id$a"), stamp("$argon2id$b"));
/// assert_eq!(stamp("x").len(), 16);
/// ```
pub fn stamp(password_hash: &str) -> String {
    Sha256::digest(password_hash.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The signed-in user: the owner of the request's session, whose account
/// still exists with the password it logged in with.
///
/// Without one it forwards (with 401), so a `rank = 2` route for the same
/// path can send the visitor to log in; see [`login_redirect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The username.
    pub name: String,
}

fn fail(req: &Request<'_>, error: AppError) -> Outcome<CurrentUser, AppError> {
    let status = error.status();
    req.local_cache(|| ErrorDetail(Some(error.clone())));
    Outcome::Error((status, error))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let session = match req.guard::<Session>().await {
            Outcome::Success(session) => session,
            Outcome::Error((_, e)) => return fail(req, e.into()),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };
        let Some(name) = session.owner() else {
            return Outcome::Forward(Status::Unauthorized);
        };
        let Some(auth) = req.rocket().state::<Auth>() else {
            return fail(req, AppError::Internal("accounts are not set up".into()));
        };
        let account = match auth.store.account(&name).await {
            Ok(account) => account,
            Err(e) => return fail(req, e.into()),
        };
        let stamped = session.get::<String>(STAMP_KEY);
        if account.is_some_and(|a| stamped == Some(stamp(&a.password_hash))) {
            return Outcome::Success(CurrentUser { name });
        }
        // The account is gone or its password changed since this login.
        if let Err(e) = session.invalidate().await {
            return fail(req, e.into());
        }
        Outcome::Forward(Status::Unauthorized)
    }
}

/// 303 to the login page, which comes back to `next` after login:
/// `/login?next=/cart`. Only what a query cannot hold as it is gets
/// percent-encoded; `/` stays readable.
pub fn login_redirect(next: &str) -> Redirect {
    let mut target = String::from("/login?next=");
    for c in next.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '/' | '-' | '_' | '.' | '~' => target.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    target.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    Redirect::to(target)
}
