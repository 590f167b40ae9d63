//! Shared test helpers: clients over the real app, cookie readers, and a
//! few routes that use the session module directly.

use std::sync::Arc;

use rocket::figment::Figment;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client as AsyncClient;
use rocket::local::blocking::Client;
use rocket::{get, routes, State};
use tokio::sync::Notify;

use memsess::error::AppError;
use memsess::session::{Session, SessionId, SessionStore, Sessions};

/// The app's configuration with `overrides` on top, e.g.
/// `&[("session.idle_timeout", 1)]`.
pub fn figment(overrides: &[(&str, i64)]) -> Figment {
    overrides
        .iter()
        .fold(rocket::Config::figment(), |f, (key, value)| {
            f.merge((*key, *value))
        })
        .merge(("log_level", "off"))
}

/// The app plus the test routes below.
pub fn app(overrides: &[(&str, i64)]) -> rocket::Rocket<rocket::Build> {
    memsess::rocket_with(figment(overrides))
        .mount("/test", routes![incr, slow_incr, invalidate])
        .manage(Gate::default())
}

/// A cookie-tracking client, like one browser.
pub fn client(overrides: &[(&str, i64)]) -> Client {
    Client::tracked(app(overrides)).expect("valid rocket")
}

/// A cookie-tracking async client, for concurrent requests.
pub async fn async_client(overrides: &[(&str, i64)]) -> AsyncClient {
    AsyncClient::tracked(app(overrides))
        .await
        .expect("valid rocket")
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies<'a>(headers: &'a rocket::http::HeaderMap<'_>) -> Vec<&'a str> {
    headers.get("Set-Cookie").collect()
}

/// The session id a `Set-Cookie: gsid=...` header hands out, if any.
pub fn issued_id(headers: &rocket::http::HeaderMap<'_>) -> Option<String> {
    set_cookies(headers).into_iter().find_map(|c| {
        let value = c.strip_prefix("gsid=")?.split(';').next()?;
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// The id the tracking client holds now.
pub fn current_id(client: &Client) -> Option<String> {
    client.cookies().get("gsid").map(|c| c.value().to_owned())
}

/// A raw `Cookie` header.
pub fn cookie_header(value: &str) -> Header<'static> {
    Header::new("Cookie", value.to_owned())
}

/// The store of a running app.
pub fn store_of(rocket: &rocket::Rocket<rocket::Orbit>) -> Arc<dyn SessionStore> {
    rocket
        .state::<Sessions>()
        .expect("session fairing attached")
        .store
        .clone()
}

/// Whether the store has a session under this id.
pub async fn store_has(store: &Arc<dyn SessionStore>, id: &str) -> bool {
    let id: SessionId = id.parse().expect("well-formed id");
    store.acquire(&id.key()).await.expect("store up").is_some()
}

/// Lets a test hold `/test/slow-incr` between its load and its save.
#[derive(Default)]
pub struct Gate {
    pub loaded: Notify,
    pub proceed: Notify,
}

/// Adds one to `n`, saves, and shows the new value.
#[get("/incr")]
async fn incr(session: Session) -> Result<String, AppError> {
    let n = session.get::<u64>("n").unwrap_or(0) + 1;
    // Yield between read and write, so unserialized requests would interleave.
    tokio::task::yield_now().await;
    session.insert("n", n)?;
    session.save().await?;
    Ok(n.to_string())
}

/// Like `incr`, but waits for the test between loading and saving.
#[get("/slow-incr")]
async fn slow_incr(session: Session, gate: &State<Gate>) -> Result<String, AppError> {
    let n = session.get::<u64>("n").unwrap_or(0) + 1;
    gate.loaded.notify_one();
    gate.proceed.notified().await;
    session.insert("n", n)?;
    session.save().await?;
    Ok(n.to_string())
}

#[get("/invalidate")]
async fn invalidate(session: Session) -> Result<&'static str, AppError> {
    session.invalidate().await?;
    Ok("gone")
}

/// Asserts a response is a page and not a server error.
pub fn assert_no_server_error(status: Status, what: &str) {
    assert!(status.code < 500, "{what} gave {status}");
}
