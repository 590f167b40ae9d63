//! What every page shares: the header's view of the visitor, flash
//! messages, times as text, and rendering a template into a response.

use askama::Template;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawHtml;
use rocket::time::OffsetDateTime;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::session::{Session, SessionError};

/// Session key of the one-time message shown on the next page.
const FLASH_KEY: &str = "flash";

/// How a flash message looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    /// Something worked.
    Success,
    /// Neutral news.
    Info,
    /// Something did not work.
    Error,
}

impl FlashKind {
    /// The CSS class suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Error => "error",
        }
    }
}

/// A message shown once, on the next page the visitor sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// Its look.
    pub kind: FlashKind,
    /// Its text.
    pub message: String,
}

impl Flash {
    /// Puts a flash in the session for the next page; the caller saves.
    ///
    /// # Errors
    /// Only if the session cannot hold it.
    pub fn set(
        session: &Session,
        kind: FlashKind,
        message: impl Into<String>,
    ) -> Result<(), SessionError> {
        session.insert(
            FLASH_KEY,
            Flash {
                kind,
                message: message.into(),
            },
        )
    }
}

/// The page header's view of the visitor, a request guard.
///
/// Taking it shows the flash message, if any, and removes it from the
/// session (saved at once, so it shows exactly once).
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The logged-in user's name.
    pub user: Option<String>,
    /// The session's CSRF token, for the header's logout form.
    pub csrf_token: Option<String>,
    /// Items in the cart, for the header.
    pub cart_count: u32,
    /// The message to show once.
    pub flash: Option<Flash>,
}

/// How the header counts the items in a session's cart, managed by Rocket.
///
/// The cart module registers it at launch (`cart::stage`), so this module
/// knows nothing of carts: the cart builds on the page, never the other
/// way round. Without it the header shows 0.
pub struct CartCount(pub fn(&Session) -> u32);

impl Chrome {
    /// Reads the header's view from `session`, consuming its flash;
    /// `count` gives the cart's item count.
    ///
    /// # Errors
    /// If the flash was there but the session could not be saved.
    pub async fn of(session: &Session, count: Option<&CartCount>) -> Result<Chrome, SessionError> {
        let cart_count = count.map_or(0, |count| (count.0)(session));
        Chrome::with_cart_count(session, cart_count).await
    }

    /// As [`of`](Self::of), for a page that has read the cart itself and
    /// knows its item count.
    ///
    /// # Errors
    /// If the flash was there but the session could not be saved.
    pub async fn with_cart_count(
        session: &Session,
        cart_count: u32,
    ) -> Result<Chrome, SessionError> {
        let flash = session.take::<Flash>(FLASH_KEY);
        if flash.is_some() {
            session.save().await?;
        }
        Ok(Chrome {
            user: session.owner(),
            csrf_token: crate::csrf::existing(session),
            cart_count,
            flash,
        })
    }

    /// Reads the header's view from `session` and changes nothing: the
    /// flash, if any, stays in the session for the next page. For a page
    /// that must not change the session, such as the counter reached by a
    /// link from another site.
    pub fn without_flash(session: &Session, count: Option<&CartCount>) -> Chrome {
        Chrome {
            user: session.owner(),
            csrf_token: crate::csrf::existing(session),
            cart_count: count.map_or(0, |count| (count.0)(session)),
            flash: None,
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Chrome {
    type Error = SessionError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let session = rocket::outcome::try_outcome!(req.guard::<Session>().await);
        match Chrome::of(&session, req.rocket().state::<CartCount>()).await {
            Ok(chrome) => Outcome::Success(chrome),
            Err(e) => Outcome::Error((rocket::http::Status::ServiceUnavailable, e)),
        }
    }
}

/// A time as people read it: "2026-11-26 05:12 UTC".
///
/// # Examples
/// ```
/// use memsess::page::utc;
/// assert_eq!(utc(0), "1970-01-01 00:00 UTC");
/// ```
pub fn utc(ms: u64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp((ms / 1000) as i64) else {
        return "—".into();
    };
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Renders a template as an HTML response.
///
/// # Errors
/// [`AppError::Internal`] if the template fails, which is a bug.
pub fn render(template: &impl Template) -> Result<RawHtml<String>, AppError> {
    Ok(RawHtml(template.render()?))
}
