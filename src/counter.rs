//! The gmemsess counter page, ported faithfully: the smoke test.
//!
//! ```python
//! sess = gmemsess.Session(req)
//! if sess.is_new():
//!     sess['counter'] = 0
//!     sess.save()
//!     return "New session - setting counter to 0."
//! sess['counter'] += 1
//! out = "Session counter is %d." % sess['counter']
//! if sess['counter'] < 3:
//!     sess.save()
//! else:
//!     out += " Invalidating cookie."
//!     sess.invalidate()
//! return out
//! ```

use askama::Template;
use rocket::response::content::RawHtml;
use rocket::{get, routes, Route};

use crate::error::AppError;
use crate::page::{render, Chrome};
use crate::session::Session;

const COUNTER_KEY: &str = "counter";
/// gmemsess invalidates the session when the counter reaches this.
const LAST: u32 = 3;

#[derive(Template)]
#[template(path = "counter.html")]
struct CounterPage {
    chrome: Chrome,
    message: String,
    /// Steps 0..=LAST with their CSS class: done, now, or to come.
    dots: Vec<(u32, &'static str)>,
    new_session: bool,
    invalidated: bool,
    last: u32,
}

fn dots(count: u32) -> Vec<(u32, &'static str)> {
    (0..=LAST)
        .map(|step| {
            (
                step,
                if step < count {
                    "done"
                } else if step == count {
                    "now"
                } else {
                    ""
                },
            )
        })
        .collect()
}

#[get("/counter")]
async fn counter(session: Session, chrome: Chrome) -> Result<RawHtml<String>, AppError> {
    let mut page = CounterPage {
        chrome,
        message: String::new(),
        dots: dots(0),
        new_session: false,
        invalidated: false,
        last: LAST,
    };
    if session.is_new() {
        session.insert(COUNTER_KEY, 0)?;
        session.save().await?;
        page.message = "New session - setting counter to 0.".into();
        page.new_session = true;
    } else {
        // A shop session that never saw this page starts counting at 0.
        let count = session
            .get::<u32>(COUNTER_KEY)
            .map_or(0, |n| n.saturating_add(1));
        page.dots = dots(count);
        page.message = format!("Session counter is {count}.");
        if count < LAST {
            session.insert(COUNTER_KEY, count)?;
            session.save().await?;
        } else {
            page.message.push_str(" Invalidating cookie.");
            page.invalidated = true;
            page.chrome.user = None;
            session.invalidate().await?;
        }
    }
    render(&page)
}

/// The counter page.
pub fn routes() -> Vec<Route> {
    routes![counter]
}
