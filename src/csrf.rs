//! CSRF protection for every POST form, checked in one place.
//!
//! A POST handler takes [`CsrfForm<T>`] instead of `Form<T>`. Before the
//! handler runs, it refuses (403, nothing changed):
//! - a request whose `Sec-Fetch-Site` is `cross-site` (with it, browsers
//!   say who caused a request to an HTTPS site or to localhost);
//! - a request whose `Origin` is another site: neither the host the
//!   request was sent to (its `Host`) nor one of `csrf.trusted_origins`
//!   (see [`CsrfConfig`]: for a reverse proxy that rewrites `Host`);
//! - a form whose `csrf_token` field is missing or is not the token of the
//!   request's session (compared in constant time).
//!
//! The token is 256 random bits kept in the session. Pages that
//! show a form call [`token`], which makes one (and saves the session) the
//! first time; login and signup call [`renew`], so a token seen before
//! login is worthless after it. Only then is `T` parsed; its errors give a
//! 422 page naming the field.
//!
//! [`stage`] reads `csrf.*` at launch, refusing a bad value with a message
//! naming the key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::TryRngCore as _;
use rocket::data::{self, Data, FromData};
use rocket::fairing::AdHoc;
use rocket::form::{self, DataField, Form, FromForm, Options, ValueField};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

use crate::error::{AppError, ErrorDetail};
use crate::session::{Session, SessionError};

mod config;
mod size;
pub use config::CsrfConfig;
use size::{too_large, Size};

/// Reads and checks the `csrf` table at launch and keeps it for the
/// origin check; a bad value stops the launch with a message naming the
/// key.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("CSRF", |rocket| async {
        match CsrfConfig::from_figment(rocket.figment()) {
            Ok(config) => {
                if !config.trusted_origins.is_empty() {
                    rocket::info!(
                        "CSRF: forms may also come from {}",
                        config.trusted_origins.join(", ")
                    );
                }
                Ok(rocket.manage(config))
            }
            Err(e) => {
                rocket::error!("{e}");
                Err(rocket)
            }
        }
    })
}

/// Session key of the CSRF token.
const CSRF_KEY: &str = "csrf";
/// The form field that carries it.
pub const FIELD: &str = "csrf_token";

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The session's CSRF token, made and saved the first time a page needs it.
///
/// # Errors
/// If the new token cannot be saved.
pub async fn token(session: &Session) -> Result<String, SessionError> {
    if let Some(token) = session.get::<String>(CSRF_KEY) {
        return Ok(token);
    }
    let token = new_token();
    session.insert(CSRF_KEY, &token)?;
    session.save().await?;
    Ok(token)
}

/// The session's token if it has one, for forms shown only to signed-in
/// users (whose sessions always have one).
pub fn existing(session: &Session) -> Option<String> {
    session.get::<String>(CSRF_KEY)
}

/// Replaces the token (at login and signup); the caller saves.
///
/// # Errors
/// Only if the session cannot hold it.
pub fn renew(session: &Session) -> Result<String, SessionError> {
    let token = new_token();
    session.insert(CSRF_KEY, &token)?;
    Ok(token)
}

/// Equal in time that depends only on the length, which is public.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the browser says another site started this request. Browsers
/// send `Sec-Fetch-Site` on every request to an HTTPS site or to
/// localhost; `cross-site` means a page of another site (a link, a form,
/// a script) caused it.
fn sent_by_another_site(req: &Request<'_>) -> bool {
    req.headers().get_one("Sec-Fetch-Site") == Some("cross-site")
}

/// A request guard that never fails: whether another site sent the
/// visitor here (`Sec-Fetch-Site: cross-site`).
///
/// For the one GET that changes the session, the counter: a link on
/// another site reaches it with the session cookie (`SameSite=Lax` sends
/// it on top-level navigations), so such a visit must change nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FromAnotherSite(pub bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for FromAnotherSite {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(FromAnotherSite(sent_by_another_site(req)))
    }
}

/// Why a request is cross-site, if it is.
fn cross_site(req: &Request<'_>) -> Option<&'static str> {
    if sent_by_another_site(req) {
        return Some("The form was sent from another site.");
    }
    let origin = req.headers().get_one("Origin")?;
    // An Origin is scheme://host[:port] and must name the host we were asked
    // as, or be trusted; "null" (a sandboxed or privacy-sensitive context)
    // is neither.
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    let host = req.headers().get_one("Host");
    let own_host = origin_host.is_some() && origin_host == host;
    // Without the stage's config nothing else is trusted.
    let trusted = || {
        req.rocket()
            .state::<CsrfConfig>()
            .is_some_and(|config| config.trusts(origin))
    };
    (!own_host && !trusted()).then_some("The form was sent from another site.")
}

/// A form and its CSRF token, as parsed.
pub struct Tokened<'r, T> {
    token: Option<String>,
    /// What a multipart body's size errors said: Rocket stops reading one
    /// at its limit, keeps the fields that came before, and says so only
    /// through `push_error`.
    size: Size,
    value: form::Result<'r, T>,
}

/// [`Tokened`]'s parsing state: the token, the size errors so far, and
/// `T`'s own.
pub struct TokenedContext<'r, T: FromForm<'r>> {
    token: Option<String>,
    size: Size,
    inner: T::Context,
}

/// Parses the `csrf_token` field and hands every other field to `T`.
#[rocket::async_trait]
impl<'r, T: FromForm<'r>> FromForm<'r> for Tokened<'r, T> {
    type Context = TokenedContext<'r, T>;

    fn init(opts: Options) -> Self::Context {
        TokenedContext {
            token: None,
            size: Size::Fine,
            inner: T::init(opts),
        }
    }

    fn push_value(ctxt: &mut Self::Context, field: ValueField<'r>) {
        if field.name == FIELD {
            ctxt.token = Some(field.value.to_owned());
        } else {
            T::push_value(&mut ctxt.inner, field);
        }
    }

    async fn push_data(ctxt: &mut Self::Context, field: DataField<'r, '_>) {
        T::push_data(&mut ctxt.inner, field).await;
    }

    fn push_error(ctxt: &mut Self::Context, error: form::Error<'r>) {
        ctxt.size = ctxt.size.max(Size::of(&error));
        T::push_error(&mut ctxt.inner, error);
    }

    fn finalize(ctxt: Self::Context) -> form::Result<'r, Self> {
        // T's errors wait until the token is checked: a forged request
        // gets 403 whatever else is wrong with it.
        Ok(Tokened {
            token: ctxt.token,
            size: ctxt.size,
            value: T::finalize(ctxt.inner),
        })
    }
}

/// A form with no fields but the token (logout, "sign out elsewhere").
pub struct NoFields;

#[rocket::async_trait]
impl<'r> FromForm<'r> for NoFields {
    type Context = ();

    fn init(_: Options) {}

    fn push_value(_: &mut (), _: ValueField<'r>) {}

    async fn push_data(_: &mut (), _: DataField<'r, '_>) {}

    fn finalize(_: ()) -> form::Result<'r, Self> {
        Ok(NoFields)
    }
}

/// A POST form whose CSRF token and origin were checked. See the module docs.
pub struct CsrfForm<T>(pub T);

/// Caches the error for the catcher and fails the data guard.
fn refuse<'r, T>(req: &'r Request<'_>, error: AppError) -> data::Outcome<'r, T, AppError> {
    let status = error.status();
    req.local_cache(|| ErrorDetail(Some(error.clone())));
    Outcome::Error((status, error))
}

/// One line naming each field that did not parse.
fn describe(errors: &form::Errors<'_>) -> String {
    let problems: Vec<String> = errors
        .iter()
        .map(|e| match e.name.as_ref() {
            Some(name) => format!("{name}: {}", e.kind),
            None => e.kind.to_string(),
        })
        .collect();
    format!("Some of the form is not valid — {}.", problems.join("; "))
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r>> FromData<'r> for CsrfForm<T> {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self, AppError> {
        if let Some(why) = cross_site(req) {
            return refuse(req, AppError::Forbidden(why.into()));
        }
        let form = match Form::<Tokened<'r, T>>::from_data(req, data).await {
            Outcome::Success(form) if too_large(req, form.size) => {
                return refuse(req, AppError::TooLarge)
            }
            Outcome::Success(form) => form.into_inner(),
            Outcome::Error((_, errors))
                if too_large(req, errors.iter().map(Size::of).max().unwrap_or_default()) =>
            {
                return refuse(req, AppError::TooLarge);
            }
            Outcome::Error((_, errors)) => {
                return refuse(req, AppError::invalid(describe(&errors)))
            }
            Outcome::Forward(f) => return Outcome::Forward(f),
        };
        let session = match req.guard::<Session>().await {
            Outcome::Success(session) => session,
            Outcome::Error((_, e)) => return refuse(req, e.into()),
            Outcome::Forward(_) => {
                return refuse(req, AppError::Internal("session guard forwarded".into()))
            }
        };
        let expected = session.get::<String>(CSRF_KEY);
        let valid = match (expected, form.token) {
            (Some(expected), Some(sent)) => constant_time_eq(expected.as_bytes(), sent.as_bytes()),
            _ => false,
        };
        if !valid {
            return refuse(
                req,
                AppError::Forbidden(
                    "This form has expired or did not come from this site, so nothing was changed."
                        .into(),
                ),
            );
        }
        match form.value {
            // A form cut off before its end is refused whatever `T` made
            // of it: a form of no fields but the token (logout, checkout)
            // ignores errors, and its action must not run on half a form.
            Ok(_) if form.size == Size::Incomplete => refuse(
                req,
                AppError::invalid(
                    "The form arrived incomplete, cut off before its end, so nothing was changed.",
                ),
            ),
            Ok(value) => Outcome::Success(CsrfForm(value)),
            Err(errors) => refuse(req, AppError::invalid(describe(&errors))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
