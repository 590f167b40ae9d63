//! gmemsess's counter example on nothing but `memsess::session`: the whole
//! of what a Rocket app needs to use server-side sessions.
//!
//! ```sh
//! cargo run --example counter   # then open http://127.0.0.1:8000 and refresh
//! ```
//!
//! In your own app, copy `src/session/` to your crate and write
//! `use crate::session::...` instead of `use memsess::session::...`.

use memsess::session::{Session, SessionError, SessionFairing};
use rocket::{get, launch, routes};

/// 0, 1, 2, then the session ends at 3 and the next visit starts over.
#[get("/")]
async fn counter(session: Session) -> Result<String, SessionError> {
    if session.is_new() {
        session.insert("counter", 0)?;
        session.save().await?; // stores it and sets the cookie
        return Ok("New session - setting counter to 0.".into());
    }
    let count = session.get::<u32>("counter").unwrap_or(0) + 1;
    if count < 3 {
        session.insert("counter", count)?;
        session.save().await?;
        Ok(format!("Session counter is {count}."))
    } else {
        session.invalidate().await?; // deletes it and removes the cookie
        Ok(format!("Session counter is {count}. Invalidating cookie."))
    }
}

#[launch]
fn rocket() -> _ {
    // The fairing reads `session.*` from Rocket.toml (all keys optional),
    // makes the store, and writes the cookie after each request. The store
    // counts new sessions per client address, and Rocket believes any
    // client's `X-Real-IP` unless told not to (behind a proxy that sets a
    // header, name that header here instead). Its own snapshot file, so as
    // not to share the shop's sessions when run from the same folder.
    let config = rocket::Config::figment()
        .merge(("ip_header", false))
        .merge(("session.snapshot_file", "data/counter.snapshot"));
    rocket::custom(config)
        .attach(SessionFairing::new())
        .mount("/", routes![counter])
}
