//! memsess: server-side sessions done right, shown in a small Rocket shop.
//!
//! [`session`] is the reusable part, with no ties to the rest; the other
//! modules are the demo app around it: the gmemsess counter page, and the
//! login system, and the pages every app has (home, errors, static files,
//! security headers, CSRF).

pub mod assets;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod catchers;
pub mod counter;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod home;
pub mod page;
pub mod session;

use rocket::figment::Figment;
use rocket::{Build, Rocket};

/// The app, configured from `Rocket.toml` and `ROCKET_*` variables over
/// the built-in defaults.
pub fn rocket() -> Rocket<Build> {
    rocket_with(rocket::Config::figment())
}

/// The app with a configuration of your choice (tests use this).
pub fn rocket_with(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(session::SessionFairing::new())
        .attach(headers::stage())
        .attach(csrf::stage())
        .attach(auth::stage())
        .mount("/", home::routes())
        .mount("/", counter::routes())
        .mount("/", auth::routes())
        .mount("/", cart::routes())
        .mount("/", assets::routes())
        .register("/", catchers::catchers())
}
