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
    // Each app gets its own users file, never the repository's data/, in
    // a folder removed when the test ends.
    let users_file = crate::server::empty_dir().join("users.json");
    overrides
        .iter()
        .fold(memsess::figment(), |f, (key, value)| {
            f.merge((*key, *value))
        })
        .merge(("auth.users_file", users_file))
        // Sessions in memory only, unless a test asks for a snapshot.
        .merge(("session.snapshot_file", ""))
        .merge(("log_level", "off"))
}

/// The app plus the test routes below.
pub fn app(overrides: &[(&str, i64)]) -> rocket::Rocket<rocket::Build> {
    memsess::rocket_with(figment(overrides))
        .mount("/test", routes![incr, slow_incr, invalidate, remember])
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

/// Signs the session in as `tester`, remembered ("keep me signed in").
#[get("/remember")]
async fn remember(session: Session) -> Result<&'static str, AppError> {
    session.set_owner(Some("tester"));
    session.set_remembered(true);
    session.cycle_id();
    session.save().await?;
    Ok("remembered")
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

/// A tracking client over the app with this configuration.
pub fn client_with(figment: Figment) -> Client {
    Client::tracked(memsess::rocket_with(figment)).expect("valid rocket")
}

pub use crate::web::encode as form;

/// The `Max-Age` of a `Set-Cookie` value, if it has one.
pub fn max_age(set_cookie: &str) -> Option<u64> {
    set_cookie.split(';').find_map(|a| {
        a.trim()
            .to_ascii_lowercase()
            .strip_prefix("max-age=")?
            .parse()
            .ok()
    })
}

/// The CSRF token in a page's form.
pub fn csrf_in(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("a form with a CSRF token") + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// The CSRF token of `client`'s session, from a page with a form.
pub fn csrf_token(client: &Client) -> String {
    csrf_in(&client.get("/login").dispatch().into_string().unwrap())
}

/// POSTs a form (with the session's CSRF token added) and returns the response.
pub fn post_form<'c>(
    client: &'c Client,
    path: &str,
    pairs: &[(&str, &str)],
) -> rocket::local::blocking::LocalResponse<'c> {
    let token = csrf_token(client);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(pairs);
    client
        .post(path.to_owned())
        .header(rocket::http::ContentType::Form)
        .body(form(&all))
        .dispatch()
}

/// Logs in through the form; returns the response status.
pub fn login(client: &Client, username: &str, password: &str) -> Status {
    post_form(
        client,
        "/login",
        &[("username", username), ("password", password)],
    )
    .status()
}

/// Signs up through the form; returns the response status.
pub fn signup(client: &Client, username: &str, password: &str) -> Status {
    post_form(
        client,
        "/signup",
        &[("username", username), ("password", password)],
    )
    .status()
}

/// Who the page header says is logged in.
pub fn logged_in_as(client: &Client) -> Option<String> {
    let body = client.get("/").dispatch().into_string().unwrap();
    let start = body.find("data-user=\"")? + "data-user=\"".len();
    Some(body[start..].split('"').next().unwrap().to_owned())
}

/// A response's `Location` header.
pub fn location(response: &rocket::local::blocking::LocalResponse<'_>) -> String {
    response
        .headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_owned()
}

/// One browser on a shared untracked client: its own cookie, sent by hand,
/// so several browsers can use one app (and one store) at once.
pub struct Browser<'c> {
    client: &'c Client,
    cookie: std::cell::RefCell<Option<String>>,
}

impl<'c> Browser<'c> {
    pub fn new(client: &'c Client) -> Self {
        Browser {
            client,
            cookie: Default::default(),
        }
    }

    /// The session id this browser holds.
    pub fn id(&self) -> Option<String> {
        self.cookie
            .borrow()
            .as_ref()
            .map(|c| c.trim_start_matches("gsid=").to_owned())
    }

    fn send(
        &self,
        request: rocket::local::blocking::LocalRequest<'c>,
    ) -> rocket::local::blocking::LocalResponse<'c> {
        let request = match &*self.cookie.borrow() {
            Some(cookie) => request.header(cookie_header(cookie)),
            None => request,
        };
        let response = request.dispatch();
        for set in response.headers().get("Set-Cookie") {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some(value) = pair.strip_prefix("gsid=") {
                *self.cookie.borrow_mut() = (!value.is_empty()).then(|| pair.to_owned());
            }
        }
        response
    }

    pub fn get(&self, path: &str) -> rocket::local::blocking::LocalResponse<'c> {
        self.send(self.client.get(path.to_owned()))
    }

    /// POSTs a form with this browser's CSRF token.
    pub fn post_form(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> rocket::local::blocking::LocalResponse<'c> {
        let token = csrf_in(&self.get("/login").into_string().unwrap());
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(pairs);
        self.send(
            self.client
                .post(path.to_owned())
                .header(rocket::http::ContentType::Form)
                .body(form(&all)),
        )
    }

    pub fn login(&self, username: &str, password: &str) -> Status {
        self.post_form("/login", &[("username", username), ("password", password)])
            .status()
    }

    pub fn logged_in_as(&self) -> Option<String> {
        let body = self.get("/").into_string().unwrap();
        let start = body.find("data-user=\"")? + "data-user=\"".len();
        Some(body[start..].split('"').next().unwrap().to_owned())
    }
}
