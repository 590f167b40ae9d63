//! Error pages: one catcher renders every error status with the layout.
//!
//! Handlers' [`AppError`]s arrive here too (see [`crate::error`]), with
//! their own message; Rocket's own errors (an unknown route, a body over
//! the limits) get the status's standard text.

use askama::Template;
use rocket::http::{Header, Status};
use rocket::response::{self, content::RawHtml, Responder};
use rocket::{catch, catchers, Catcher, Request, Response};

use crate::error::{AppError, ErrorDetail};
use crate::headers::SecurityHeaders;
use crate::page::{CartCount, Chrome};
use crate::session::Session;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    chrome: Chrome,
    code: u16,
    title: &'static str,
    message: String,
    hint: &'static str,
}

/// The title, the default message and a hint for each status.
fn texts(status: Status) -> (&'static str, &'static str, &'static str) {
    match status.code {
        400 => ("Bad request", "The request could not be understood.", "Check the address or the form and try again."),
        401 => ("Not signed in", "You need to sign in first.", "Sign in and try again."),
        403 => (
            "Forbidden",
            "This form has expired or was sent from another site, so nothing was changed.",
            "Go back, reload the page and try again.",
        ),
        404 => ("Not found", "There is nothing at this address.", "The shop's front page has everything there is."),
        409 => (
            "Session ended",
            "Your session ended while this request was running (perhaps you signed out on another device), so nothing was changed.",
            "Reload the page to start a new session.",
        ),
        413 => ("Too large", "That was more data than this site accepts.", "Send less and try again."),
        422 => ("Invalid input", "Some of what you sent is not valid, so nothing was changed.", "Go back, correct it and try again."),
        // The message says how long to wait; the hint says why.
        429 => (
            "Too many attempts",
            "Too many attempts in a short time. Wait a little and try again.",
            "The limit keeps accounts safe from automated guessing.",
        ),
        503 => (
            "Temporarily unavailable",
            "The service is not available right now; nothing was lost.",
            "Try again in a few seconds.",
        ),
        500..=599 => ("Something went wrong", "Something went wrong on our side.", "Try again; if it keeps happening, tell us."),
        _ => ("Error", "The request could not be completed.", "Go back and try again."),
    }
}

/// An error page: the rendered HTML, its status, and `Retry-After` for 429.
struct ErrorPage {
    status: Status,
    html: String,
    retry_after: Option<u64>,
}

impl<'r> Responder<'r, 'r> for ErrorPage {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'r> {
        let mut response = Response::build_from(RawHtml(self.html).respond_to(req)?);
        response.status(self.status);
        if let Some(secs) = self.retry_after {
            response.header(Header::new("Retry-After", secs.to_string()));
        }
        // Rendered from session data (who is signed in, the header's form
        // token): no cache may keep it.
        response.raw_header("Cache-Control", "no-store");
        let mut response = response.finalize();
        // Rocket sends the page for a request it cannot take (an unknown
        // method) without running response fairings (see `headers.rs`).
        if let Some(headers) = req.rocket().state::<SecurityHeaders>() {
            headers.set_on(&mut response);
        }
        Ok(response)
    }
}

#[catch(default)]
async fn error_page(status: Status, req: &Request<'_>) -> ErrorPage {
    let detail = req.local_cache(ErrorDetail::default).0.as_ref();
    let (title, default_message, hint) = texts(status);
    let title = detail.and_then(AppError::title).unwrap_or(title);
    let hint = detail.and_then(AppError::hint).unwrap_or(hint);
    let message = detail
        .and_then(AppError::message)
        .map_or_else(|| default_message.to_owned(), |m| m.into_owned());
    let retry_after = match detail {
        Some(AppError::TooManyAttempts(secs)) => Some(*secs),
        _ => None,
    };
    // The header shows who is signed in when the session can be had; an
    // error page must render even when it cannot (the store is down). It
    // leaves the flash for the next page: a 404 for a prefetch or an image
    // between a form and the page it leads to must not eat its message.
    let chrome = match req.guard::<Session>().await.succeeded() {
        Some(session) => Chrome::without_flash(&session, req.rocket().state::<CartCount>()),
        None => Chrome::default(),
    };
    let page = ErrorTemplate {
        chrome,
        code: status.code,
        title,
        message,
        hint,
    };
    let html = page.render().unwrap_or_else(|e| {
        rocket::error!("error page template: {e}");
        format!("<!doctype html><title>{0}</title><h1>{0}</h1>", status.code)
    });
    ErrorPage {
        status,
        html,
        retry_after,
    }
}

/// The app's catchers.
pub fn catchers() -> Vec<Catcher> {
    catchers![error_page]
}
