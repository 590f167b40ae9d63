//! A session store that is down: a clear 503 page, and recovery by itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rocket::http::{ContentType, Status};
use rocket::local::blocking::Client;

use memsess::session::store::StoreResult;
use memsess::session::{
    Lease, MemoryStore, Record, SessionFairing, SessionInfo, SessionStore, StoreError, StoreKey,
};

use crate::helpers::{figment, set_cookies};

/// A memory store with a switch that makes every call fail.
struct Flaky {
    inner: MemoryStore,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> StoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

#[rocket::async_trait]
impl SessionStore for Flaky {
    async fn acquire(&self, key: &StoreKey) -> StoreResult<Option<(Record, Lease)>> {
        self.check()?;
        self.inner.acquire(key).await
    }
    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()> {
        self.check()?;
        self.inner.save(key, expected, record).await
    }
    async fn rotate(
        &self,
        old: &StoreKey,
        expected: u64,
        new: &StoreKey,
        record: Record,
    ) -> StoreResult<()> {
        self.check()?;
        self.inner.rotate(old, expected, new, record).await
    }
    async fn remove(&self, key: &StoreKey) -> StoreResult<()> {
        self.check()?;
        self.inner.remove(key).await
    }
    async fn sessions_of(&self, owner: &str) -> StoreResult<Vec<SessionInfo>> {
        self.check()?;
        self.inner.sessions_of(owner).await
    }
    async fn len(&self) -> StoreResult<u64> {
        self.check()?;
        self.inner.len().await
    }
    fn is_reachable(&self) -> bool {
        !self.down.load(Ordering::SeqCst)
    }
}

#[test]
fn while_the_store_is_down_session_pages_answer_503_and_then_recover() {
    let store = Arc::new(Flaky {
        inner: MemoryStore::new(100, Duration::from_secs(60), Duration::from_secs(600)),
        down: AtomicBool::new(false),
    });
    // The fairing is a singleton: this one replaces the app's own.
    let app = memsess::rocket_with(figment(&[])).attach(SessionFairing::with_store(store.clone()));
    let client = Client::tracked(app).unwrap();
    assert!(client
        .get("/counter")
        .dispatch()
        .into_string()
        .unwrap()
        .contains("New session"));

    store.down.store(true, Ordering::SeqCst);
    for path in ["/counter", "/", "/cart"] {
        let response = client.get(path).dispatch();
        assert_eq!(response.status(), Status::ServiceUnavailable, "{path}");
        assert_eq!(response.content_type(), Some(ContentType::HTML));
        assert!(set_cookies(response.headers()).is_empty());
        assert!(response
            .headers()
            .get_one("Content-Security-Policy")
            .is_some());
        let body = response.into_string().unwrap();
        assert!(
            body.contains("data-status=\"503\"") && body.contains("Temporarily unavailable"),
            "{body}"
        );
    }
    // What does not need the session still works, and says the store is down.
    let health = client.get("/healthz").dispatch();
    assert_eq!(health.status(), Status::Ok);
    assert_eq!(health.headers().get_one("X-Session-Store"), Some("down"));
    assert_eq!(
        client.get("/static/style.css").dispatch().status(),
        Status::Ok
    );

    // Back up: the same session carries on, nothing was lost.
    store.down.store(false, Ordering::SeqCst);
    assert!(client
        .get("/counter")
        .dispatch()
        .into_string()
        .unwrap()
        .contains("Session counter is 1."));
}

#[test]
fn a_body_over_the_form_limit_gets_the_413_page() {
    let client = Client::tracked(memsess::rocket_with(
        figment(&[]).merge(("limits.form", 1024)),
    ))
    .unwrap();
    let token = crate::helpers::csrf_token(&client);
    let body = format!(
        "csrf_token={token}&product_id=padlock&padding={}",
        "x".repeat(4096)
    );
    let response = client
        .post("/cart/add")
        .header(ContentType::Form)
        .body(body)
        .dispatch();
    assert_eq!(response.status(), Status::PayloadTooLarge);
    assert!(response
        .into_string()
        .unwrap()
        .contains("data-status=\"413\""));
}

/// Posts a multipart body (boundary `XyZ`) to `/cart/add` on a real
/// server, as a browser or curl sends it: Rocket's local client reads a
/// body otherwise than hyper does, and its limit errors differ.
fn post_multipart(body: impl Fn(&str) -> String) -> crate::server::HttpResponse {
    let server = crate::server::Server::start(&[]);
    let browser = crate::web::WebBrowser::new();
    let token = browser.token(&server);
    multipart_to(&server, &browser, "/cart/add", &body(&token))
}

/// Posts `body` as a multipart form (boundary `XyZ`) to `path` with
/// `browser`'s session cookie.
fn multipart_to(
    server: &crate::server::Server,
    browser: &crate::web::WebBrowser,
    path: &str,
    body: &str,
) -> crate::server::HttpResponse {
    let cookie = format!("gsid={}", browser.cookie("gsid").unwrap());
    let headers = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "multipart/form-data; boundary=XyZ"),
    ];
    server.request("POST", path, &headers, body)
}

/// A form of no fields but the token (logout, checkout) ignores field
/// errors; cut off before its end, it still changes nothing: the user
/// stays signed in and no order is placed.
#[test]
fn a_cut_off_form_of_no_fields_runs_no_action() {
    let server = crate::server::Server::start(&[]);
    let browser = crate::web::WebBrowser::new();
    assert_eq!(browser.login(&server, "alice", "wonderland-42").status, 303);
    browser.post(
        &server,
        "/cart/add",
        &[("product_id", "padlock"), ("quantity", "1")],
    );
    let token = browser.token(&server);
    let cut_off = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny"
    );
    for path in ["/checkout", "/logout"] {
        let response = multipart_to(&server, &browser, path, &cut_off);
        assert_eq!(response.status, 422, "{path}: {}", response.body);
        assert!(response.body.contains("incomplete"), "{}", response.body);
    }
    assert_eq!(browser.user(&server).as_deref(), Some("alice"));
    assert_eq!(browser.cart_count(&server), 1, "no order was placed");
}

/// Rocket gives a multipart body cut off before its closing boundary the
/// status it gives a body over the limit; it is a malformed form, and its
/// page says so.
#[test]
fn a_cut_off_multipart_body_is_a_malformed_form_not_too_large() {
    let response = post_multipart(|token| {
        format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"product_id\"\r\n\r\npadlock"
        )
    });
    assert_eq!(response.status, 422, "{}", response.body);
    assert!(response.body.contains("incomplete"), "{}", response.body);
}

/// A part with a type of its own is read as data, and the limit cuts the
/// stream with the same "incomplete" error as a cut-off form: a body that
/// declared more than the limit is too large, whatever Rocket calls it.
#[test]
fn a_multipart_body_over_the_limit_is_too_large_even_when_rocket_says_incomplete() {
    let response = post_multipart(|token| {
        format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"product_id\"\r\n\
             Content-Type: text/plain\r\n\r\n{}\r\n--XyZ--\r\n",
            "a".repeat(30_000)
        )
    });
    assert_eq!(response.status, 413, "{}", response.body);
    assert!(response.body.contains("data-status=\"413\""));
}
