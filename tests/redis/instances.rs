//! Two app instances behind one Redis behave as one site.

use crate::redis_server::RedisServer;
use crate::server::{empty_dir, HttpResponse, Server};

/// A browser that may talk to either instance.
struct Browser {
    cookie: String,
    token: String,
}

fn value_after<'a>(body: &'a str, marker: &str) -> Option<&'a str> {
    let start = body.find(marker)? + marker.len();
    body[start..].split('"').next()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser {
    fn arrive(server: &Server) -> Browser {
        let home = server.get("/", None);
        let cookie = home
            .session_cookie()
            .expect("a session for the catalog's forms");
        let token = value_after(&home.body, "name=\"csrf_token\" value=\"")
            .unwrap()
            .to_owned();
        Browser { cookie, token }
    }

    fn get(&self, server: &Server, path: &str) -> HttpResponse {
        server.get(path, Some(&self.cookie))
    }

    fn post(&mut self, server: &Server, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
        let mut all = vec![("csrf_token", self.token.as_str())];
        all.extend_from_slice(pairs);
        let response = server.request("POST", path, &[("Cookie", &self.cookie)], &encode(&all));
        if let Some(cookie) = response.session_cookie() {
            self.cookie = cookie;
        }
        response
    }

    fn login(&mut self, server: &Server) {
        let response = self.post(
            server,
            "/login",
            &[("username", "alice"), ("password", "wonderland-42")],
        );
        assert_eq!(response.status, 303);
        // Login renews the CSRF token; read the new one.
        let account = self.get(server, "/account");
        self.token = value_after(&account.body, "name=\"csrf_token\" value=\"")
            .unwrap()
            .to_owned();
    }

    fn user(&self, server: &Server) -> Option<String> {
        value_after(&self.get(server, "/").body, "data-user=\"").map(str::to_owned)
    }

    fn cart_count(&self, server: &Server) -> u32 {
        value_after(&self.get(server, "/cart").body, "data-cart-count=\"")
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// An instance with both stores on `redis`, as the README's recipe runs them.
pub fn instance(redis: &RedisServer, dir: &std::path::Path) -> Server {
    let store = format!("{{store=\"{}\"}}", redis.url());
    Server::start_in(
        dir.to_owned(),
        &[("ROCKET_SESSION", &store), ("ROCKET_AUTH", &store)],
    )
}

#[test]
fn a_login_and_a_cart_made_on_one_instance_are_seen_on_the_other() {
    let redis = RedisServer::start();
    let dir = empty_dir();
    let (a, b) = (instance(&redis, &dir), instance(&redis, &dir));

    let mut browser = Browser::arrive(&a);
    assert_eq!(
        browser
            .post(
                &a,
                "/cart/add",
                &[("product_id", "padlock"), ("quantity", "2")]
            )
            .status,
        303
    );
    assert_eq!(browser.cart_count(&b), 2, "B sees the cart made on A");

    browser.login(&b);
    assert_eq!(
        browser.user(&a).as_deref(),
        Some("alice"),
        "A sees the login made on B"
    );
    assert_eq!(browser.cart_count(&a), 2, "the login kept the cart");
}

#[test]
fn forty_parallel_adds_split_between_two_instances_all_count() {
    let redis = RedisServer::start();
    let dir = empty_dir();
    let (a, b) = (instance(&redis, &dir), instance(&redis, &dir));
    let browser = Browser::arrive(&a);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let (server, browser) = (if i % 2 == 0 { &a } else { &b }, &browser);
                s.spawn(move || {
                    let body =
                        encode(&[("csrf_token", &browser.token), ("product_id", "rocket-mug")]);
                    server
                        .request("POST", "/cart/add", &[("Cookie", &browser.cookie)], &body)
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(browser.cart_count(&a), 40);
    assert_eq!(browser.cart_count(&b), 40);
}

#[test]
fn signing_out_everywhere_else_reaches_every_instance() {
    let redis = RedisServer::start();
    let dir = empty_dir();
    let (a, b) = (instance(&redis, &dir), instance(&redis, &dir));
    let (mut here, mut there) = (Browser::arrive(&a), Browser::arrive(&b));
    here.login(&a);
    there.login(&b);
    let account = here.get(&a, "/account").body;
    assert_eq!(
        account.matches("data-other-session").count(),
        1,
        "A lists the session on B"
    );

    assert_eq!(here.post(&a, "/account/logout-others", &[]).status, 303);
    assert_eq!(there.user(&b), None, "the session on B is ended");
    assert_eq!(there.user(&a), None);
    assert_eq!(
        here.user(&b).as_deref(),
        Some("alice"),
        "the one that asked lives on"
    );
}

#[test]
fn sessions_survive_an_app_restart() {
    let redis = RedisServer::start();
    let dir = empty_dir();
    let a = instance(&redis, &dir);
    let mut browser = Browser::arrive(&a);
    browser.login(&a);
    browser.post(&a, "/cart/add", &[("product_id", "hoodie")]);
    drop(a);

    let restarted = instance(&redis, &empty_dir());
    assert_eq!(browser.user(&restarted).as_deref(), Some("alice"));
    assert_eq!(browser.cart_count(&restarted), 1);
}

#[test]
fn while_redis_is_down_pages_answer_503_quickly_and_recover_by_themselves() {
    let mut redis = RedisServer::start();
    let app = instance(&redis, &empty_dir());
    let browser = Browser::arrive(&app);

    redis.stop();
    let started = std::time::Instant::now();
    let down = browser.get(&app, "/cart");
    assert_eq!(down.status, 503);
    assert!(down.body.contains("Temporarily unavailable"));
    assert!(
        started.elapsed().as_secs() < 5,
        "answered in {:?}",
        started.elapsed()
    );
    let health = app.get("/healthz", None);
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    assert_eq!(health.header("x-session-store"), Some("down"));

    // Redis is back (empty: it kept nothing): the app serves again by itself.
    redis.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = app.get("/counter", None);
        if page.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not recovered: {}",
            page.status
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        app.get("/healthz", None).header("x-session-store"),
        Some("up")
    );
}

#[test]
fn visitors_who_come_back_once_never_evict_a_signed_in_user_on_redis() {
    let redis = RedisServer::start();
    let session = format!("{{store=\"{}\",max_sessions=100}}", redis.url());
    let app = Server::start(&[("ROCKET_SESSION", &session)]);
    let mut alice = Browser::arrive(&app);
    alice.post(
        &app,
        "/cart/add",
        &[("product_id", "hoodie"), ("quantity", "3")],
    );
    alice.login(&app);

    // Ten times the bound in visitors, each making two requests.
    for _ in 0..1000 {
        let first = app.get("/counter", None);
        let cookie = first.session_cookie().expect("a new session");
        assert_eq!(app.get("/counter", Some(&cookie)).status, 200);
    }
    assert_eq!(
        alice.user(&app).as_deref(),
        Some("alice"),
        "alice was signed out"
    );
    assert_eq!(alice.cart_count(&app), 3, "alice's cart was emptied");
}
