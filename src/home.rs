//! The front page and the health check.

use askama::Template;
use rocket::response::content::RawHtml;
use rocket::{get, routes, Route};

use crate::error::AppError;
use crate::page::{render, Chrome};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
}

#[get("/")]
fn home(chrome: Chrome) -> Result<RawHtml<String>, AppError> {
    render(&HomePage { chrome })
}

/// Liveness: answers without touching the session store.
#[get("/healthz")]
fn healthz() -> &'static str {
    "ok"
}

/// The front page and `/healthz`.
pub fn routes() -> Vec<Route> {
    routes![home, healthz]
}
