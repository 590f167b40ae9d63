//! The app's one error type, and how every error becomes a page.
//!
//! A handler returns `Result<_, AppError>`. The responder records the
//! message in the request and hands the status to the catchers
//! ([`crate::catchers`]), so every error page, whether from a handler or
//! from Rocket itself (a 404, a 413 for an oversized body), is rendered in
//! one place with the same layout and headers.

use std::borrow::Cow;

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::Request;

use crate::auth::store::{AccountError, MAX_ORDERS};
use crate::session::SessionError;

/// Everything a handler can fail with. Each variant's doc names its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// 404: no such page or product.
    NotFound(Cow<'static, str>),
    /// 403: a missing or wrong CSRF token, or a cross-site POST.
    Forbidden(Cow<'static, str>),
    /// 403: a change to a demo account, which is read-only.
    ReadOnlyAccount,
    /// 409: the session ended (logged out elsewhere) while the request ran.
    SessionEnded,
    /// 409: another request changed the session while this one ran.
    SessionChanged,
    /// 409: the request conflicts with what is stored (a taken name).
    Conflict(Cow<'static, str>),
    /// 413: a body over Rocket's limits.
    TooLarge,
    /// 422: input that parsed but makes no sense (a quantity of 500).
    Invalid(Cow<'static, str>),
    /// 429: too many attempts; retry after this many seconds.
    TooManyAttempts(u64),
    /// 503: the session store or another service is down.
    Unavailable(Cow<'static, str>),
    /// 500: a bug or a broken invariant. The detail goes to the log, never
    /// to the page.
    Internal(String),
}

impl AppError {
    /// The HTTP status of this error.
    pub fn status(&self) -> Status {
        match self {
            AppError::NotFound(_) => Status::NotFound,
            AppError::Forbidden(_) | AppError::ReadOnlyAccount => Status::Forbidden,
            AppError::SessionEnded | AppError::SessionChanged | AppError::Conflict(_) => {
                Status::Conflict
            }
            AppError::TooLarge => Status::PayloadTooLarge,
            AppError::Invalid(_) => Status::UnprocessableEntity,
            AppError::TooManyAttempts(_) => Status::TooManyRequests,
            AppError::Unavailable(_) => Status::ServiceUnavailable,
            AppError::Internal(_) => Status::InternalServerError,
        }
    }

    /// The message shown on the page, if the error has its own.
    pub fn message(&self) -> Option<Cow<'static, str>> {
        match self {
            AppError::NotFound(m)
            | AppError::Forbidden(m)
            | AppError::Invalid(m)
            | AppError::Conflict(m)
            | AppError::Unavailable(m) => Some(m.clone()),
            AppError::SessionChanged => Some(
                "Another request changed your session while this one ran, so nothing was saved. \
                 Reload the page and try again."
                    .into(),
            ),
            AppError::TooManyAttempts(secs) => {
                Some(format!("Too many attempts. Try again in {}.", wait_time(*secs)).into())
            }
            AppError::ReadOnlyAccount => {
                Some("The demo accounts are read-only, so nothing was changed.".into())
            }
            AppError::SessionEnded | AppError::TooLarge | AppError::Internal(_) => None,
        }
    }

    /// The page's title, where it differs from the usual one for the
    /// status: a 409 is most often a session that ended while the request
    /// ran, but not always.
    pub fn title(&self) -> Option<&'static str> {
        match self {
            AppError::SessionChanged => Some("Changed meanwhile"),
            AppError::Conflict(_) => Some("Not done"),
            _ => None,
        }
    }

    /// What to do next, where it differs from the usual hint for the
    /// status.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            AppError::ReadOnlyAccount => {
                Some("Sign up for an account of your own to change its password or delete it.")
            }
            AppError::SessionChanged | AppError::Conflict(_) => {
                Some("Reload the page to see where things stand.")
            }
            _ => None,
        }
    }

    /// A 422 with this message.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        AppError::Invalid(message.into())
    }
}

/// A wait in words, rounded up so that waiting that long is enough:
/// "1 second", "40 seconds", "1 minute", "15 minutes", "3 hours", "2 days".
/// A unit is kept until the wait reaches two of the next one ("90
/// minutes", not "2 hours"), so rounding up adds at most about half.
fn wait_time(secs: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let (n, unit) = if secs < MINUTE {
        (secs.max(1), "second")
    } else if secs <= 2 * HOUR {
        (secs.div_ceil(MINUTE), "minute")
    } else if secs <= 2 * DAY {
        (secs.div_ceil(HOUR), "hour")
    } else {
        (secs.div_ceil(DAY), "day")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

impl From<SessionError> for AppError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Gone => AppError::SessionEnded,
            SessionError::Conflict => AppError::SessionChanged,
            SessionError::Busy => AppError::Unavailable(
                "Your session is busy with another request. Please try again.".into(),
            ),
            SessionError::Unavailable(why) => {
                rocket::error!("session store: {why}");
                AppError::Unavailable(
                    "The session store is not reachable right now. Please try again shortly."
                        .into(),
                )
            }
            SessionError::Serialize(why) => AppError::Internal(format!("session value: {why}")),
        }
    }
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Taken => AppError::Conflict("That username is taken.".into()),
            AccountError::NoAccount => {
                AppError::NotFound("That account does not exist (any more).".into())
            }
            AccountError::PasswordChanged => AppError::Conflict(
                "The password was changed at the same moment, on another device, so nothing \
                 was changed here. Sign in with the new password."
                    .into(),
            ),
            AccountError::DemoAccount => AppError::ReadOnlyAccount,
            AccountError::TooManyOrders => AppError::Conflict(
                format!(
                    "This account has {MAX_ORDERS} orders, as many as one account keeps here, \
                     so this one was not placed. Your cart is as it was."
                )
                .into(),
            ),
            AccountError::Unavailable(why) => {
                rocket::error!("account store: {why}");
                AppError::Unavailable(
                    "Accounts are not reachable right now. Please try again shortly.".into(),
                )
            }
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

/// An error's page details, left in the request for the catcher.
#[derive(Default)]
pub struct ErrorDetail(pub Option<AppError>);

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        if let AppError::Internal(detail) = &self {
            rocket::error!("internal error on {}: {detail}", req.uri());
        }
        let status = self.status();
        req.local_cache(|| ErrorDetail(Some(self)));
        Err(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockout_message(secs: u64) -> String {
        AppError::TooManyAttempts(secs)
            .message()
            .unwrap()
            .into_owned()
    }

    #[test]
    fn the_lockout_message_is_one_sentence_with_the_time_in_words() {
        for (secs, message) in [
            (0, "Too many attempts. Try again in 1 second."),
            (1, "Too many attempts. Try again in 1 second."),
            (40, "Too many attempts. Try again in 40 seconds."),
            (60, "Too many attempts. Try again in 1 minute."),
            (61, "Too many attempts. Try again in 2 minutes."),
            (900, "Too many attempts. Try again in 15 minutes."),
            (899, "Too many attempts. Try again in 15 minutes."),
            (7_200, "Too many attempts. Try again in 120 minutes."),
            (7_201, "Too many attempts. Try again in 3 hours."),
            (86_400, "Too many attempts. Try again in 24 hours."),
            (2 * 86_400 + 1, "Too many attempts. Try again in 3 days."),
            (30 * 86_400, "Too many attempts. Try again in 30 days."),
        ] {
            assert_eq!(lockout_message(secs), message, "{secs} s");
        }
    }
}
