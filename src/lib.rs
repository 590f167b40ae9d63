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

use rocket::figment::providers::{Env, Format as _, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Rocket};
use session::config::env_keys;

/// The built-in defaults that differ from Rocket's own.
///
/// - `ip_header = false`: Rocket would otherwise take the client's address
///   from `X-Real-IP`, which any client can send, and per-address login
///   limits would be one header away from reset. Behind a proxy that sets
///   it, turn it back on in `Rocket.toml` or `ROCKET_IP_HEADER`.
/// - `limits`: no form field of the app needs more than a few hundred
///   bytes, so bodies stop at 16 KiB (Rocket allows 2 MiB per multipart
///   field), and a 2 MB username is refused with 413 before it is read.
fn app_defaults() -> Serialized<serde_json::Value> {
    Serialized::defaults(serde_json::json!({
        "ip_header": false,
        "limits": { "form": 16 * 1024, "data-form": 16 * 1024 },
    }))
}

/// The app's own tables of settings.
const TABLES: [&str; 3] = ["session", "auth", "csrf"];

/// The app's configuration: Rocket's defaults, then the app's own
/// (`ip_header = false`, so `X-Real-IP` is not trusted unless set; form
/// limits of 16 KiB), then `Rocket.toml` (or `ROCKET_CONFIG`), then
/// `ROCKET_*` variables (whole tables, such as `ROCKET_SESSION='{..}'`,
/// then single keys of the app's tables, such as
/// `ROCKET_SESSION_IDLE_TIMEOUT`), for the profile `ROCKET_PROFILE` names;
/// the layering of `rocket::Config::figment()` with the app's additions.
///
/// # Examples
/// ```
/// let config: rocket::Config = memsess::figment().extract().unwrap();
/// assert!(config.ip_header.is_none(), "X-Real-IP is not trusted by default");
/// assert_eq!(config.limits.get("data-form").unwrap().as_u64(), 16 * 1024);
/// ```
pub fn figment() -> Figment {
    let figment = Figment::from(rocket::Config::default())
        .merge(app_defaults())
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global());
    TABLES
        .into_iter()
        .fold(figment, |figment, table| figment.merge(env_keys(table)))
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

/// The app, configured by [`figment`].
pub fn rocket() -> Rocket<Build> {
    rocket_with(figment())
}

/// The app with a configuration of your choice (tests use this).
pub fn rocket_with(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(session::SessionFairing::new())
        .attach(headers::stage())
        .attach(csrf::stage())
        .attach(auth::stage())
        .attach(cart::stage())
        .mount("/", home::routes())
        .mount("/", counter::routes())
        .mount("/", auth::routes())
        .mount("/", cart::routes())
        .mount("/", assets::routes())
        .register("/", catchers::catchers())
}
