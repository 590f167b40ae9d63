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
//!
//! Refreshing shows `New session - setting counter to 0.`, then
//! `Session counter is 1.`, `2.`, `3. Invalidating cookie.`, and a new
//! session again, exactly as gmemsess did. gmemsess's example had the
//! whole app to itself; here the page shares the shop's session, which
//! brings two cases gmemsess never met:
//!
//! - **A session that exists but has no counter** (the visitor browsed the
//!   shop first). gmemsess's `sess['counter'] += 1` would have failed on
//!   the missing key. This page sets the counter to 0, saves, and says
//!   `Existing session - setting counter to 0.`: the new-session line with
//!   the one word that would be false put right. It reads true (the
//!   session is not new; its counter now is 0) and the sequence goes on as
//!   gmemsess's does, with `Session counter is 1.` on the next visit.
//!   Saying `Session counter is 0.` would claim a count that was never
//!   there, and is not a line of gmemsess's sequence.
//! - **A link from another site.** This is a GET that ends the session at
//!   3, and `SameSite=Lax` sends the cookie on top-level navigations from
//!   other sites, so four links on someone else's page could sign a
//!   visitor out and empty their cart. A visit the browser marks
//!   `Sec-Fetch-Site: cross-site` shows the stored count and changes
//!   nothing: no save, no invalidate, no new session, no cookie; even the
//!   flash message stays for the next page.

use askama::Template;
use rocket::response::content::RawHtml;
use rocket::{get, routes, Route, State};

use crate::csrf::FromAnotherSite;
use crate::error::AppError;
use crate::page::{render, CartCount, Chrome};
use crate::session::Session;

const COUNTER_KEY: &str = "counter";
/// gmemsess invalidates the session when the counter reaches this.
const LAST: u32 = 3;

/// What this visit did, for the page's explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    /// A new session, saved with the counter at 0.
    New,
    /// A session that existed without a counter got one, at 0.
    Started,
    /// The counter went up by one and was saved.
    Counted,
    /// The counter reached [`LAST`]; the session was invalidated.
    Invalidated,
    /// A link from another site: the stored count, nothing changed.
    NotCounted,
}

#[derive(Template)]
#[template(path = "counter.html")]
struct CounterPage {
    chrome: Chrome,
    message: String,
    /// Steps 0..=LAST with their CSS class: done, now, or to come.
    dots: Vec<(u32, &'static str)>,
    visit: Visit,
    last: u32,
}

fn dots(count: Option<u32>) -> Vec<(u32, &'static str)> {
    (0..=LAST)
        .map(|step| {
            let class = match count {
                Some(count) if step < count => "done",
                Some(count) if step == count => "now",
                _ => "",
            };
            (step, class)
        })
        .collect()
}

/// gmemsess's step: count this visit, save or invalidate.
async fn count(session: &Session, carts: Option<&CartCount>) -> Result<CounterPage, AppError> {
    let mut chrome = Chrome::of(session, carts).await?;
    let stored = session.get::<u32>(COUNTER_KEY);
    let (count, visit) = match stored {
        _ if session.is_new() => (0, Visit::New),
        None => (0, Visit::Started),
        Some(n) if n.saturating_add(1) < LAST => (n + 1, Visit::Counted),
        Some(n) => (n.saturating_add(1), Visit::Invalidated),
    };
    if visit == Visit::Invalidated {
        session.invalidate().await?;
        // The header shows what is left: nobody signed in, an empty cart.
        // The flash, already taken, still shows on this page.
        chrome = Chrome {
            flash: chrome.flash,
            ..Chrome::default()
        };
    } else {
        session.insert(COUNTER_KEY, count)?;
        session.save().await?;
    }
    let message = match visit {
        Visit::New => "New session - setting counter to 0.".to_owned(),
        Visit::Started => "Existing session - setting counter to 0.".to_owned(),
        Visit::Invalidated => format!("Session counter is {count}. Invalidating cookie."),
        Visit::Counted | Visit::NotCounted => format!("Session counter is {count}."),
    };
    Ok(CounterPage {
        chrome,
        message,
        dots: dots(Some(count)),
        visit,
        last: LAST,
    })
}

/// A visit from another site: what is stored, and nothing changed.
fn show_only(session: &Session, carts: Option<&CartCount>) -> CounterPage {
    let stored = session.get::<u32>(COUNTER_KEY);
    let message = match stored {
        _ if session.is_new() => "No session yet.".to_owned(),
        None => "This session has no counter yet.".to_owned(),
        Some(n) => format!("Session counter is {n}."),
    };
    CounterPage {
        chrome: Chrome::without_flash(session, carts),
        message,
        dots: dots(stored.filter(|_| !session.is_new())),
        visit: Visit::NotCounted,
        last: LAST,
    }
}

#[get("/counter")]
async fn counter(
    session: Session,
    from_another_site: FromAnotherSite,
    carts: Option<&State<CartCount>>,
) -> Result<RawHtml<String>, AppError> {
    let carts = carts.map(|c| c.inner());
    let page = if from_another_site.0 {
        show_only(&session, carts)
    } else {
        count(&session, carts).await?
    };
    render(&page)
}

/// The counter page.
pub fn routes() -> Vec<Route> {
    routes![counter]
}
