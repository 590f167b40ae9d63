//! The store stays bounded, and people's sessions survive a flood.

use rocket::local::blocking::Client;

use crate::helpers::{app, cookie_header, issued_id, store_of};

#[test]
fn max_sessions_bounds_the_store_under_a_flood_of_new_visitors() {
    let client = Client::untracked(app(&[("session.max_sessions", 50)])).unwrap();
    for _ in 0..600 {
        client.get("/counter").dispatch();
    }
    let store = store_of(client.rocket());
    let live = rocket::execute(store.len()).unwrap();
    assert!(live <= 50, "{live} sessions kept, bound is 50");
    assert!(live > 0);
}

#[test]
fn a_session_in_use_survives_a_flood_of_one_request_sessions() {
    let client = Client::untracked(app(&[("session.max_sessions", 50)])).unwrap();
    let visit = |cookie: &str| {
        let response = client
            .get("/test/incr")
            .header(cookie_header(cookie))
            .dispatch();
        let id = issued_id(response.headers());
        (id, response.into_string().unwrap())
    };
    let (id, first) = visit("");
    let cookie = format!("gsid={}", id.unwrap());
    assert_eq!(first, "1");
    for n in 2..=5 {
        assert_eq!(visit(&cookie).1, n.to_string());
    }

    // A flood of cookie-less requests, twenty times the bound, each making a session.
    for _ in 0..1000 {
        client.get("/counter").dispatch();
    }
    assert_eq!(
        visit(&cookie).1,
        "6",
        "the visitor's session was evicted by the flood"
    );
}

#[test]
fn visitors_who_come_back_once_never_evict_a_signed_in_user() {
    let client = Client::untracked(app(&[("session.max_sessions", 200)])).unwrap();
    let alice = crate::helpers::Browser::new(&client);
    alice.post_form("/cart/add", &[("product_id", "hoodie"), ("quantity", "3")]);
    assert_eq!(
        alice.login("alice", "wonderland-42"),
        rocket::http::Status::SeeOther
    );

    // Ten times the bound in visitors, each making two requests: the
    // second one, with the cookie, is what settled a session before.
    for _ in 0..2000 {
        let first = client.get("/counter").dispatch();
        let id = issued_id(first.headers()).expect("a new session");
        drop(first);
        client
            .get("/counter")
            .header(cookie_header(&format!("gsid={id}")))
            .dispatch();
    }
    let live = rocket::execute(store_of(client.rocket()).len()).unwrap();
    assert!(live <= 200, "{live} sessions kept, bound is 200");
    assert_eq!(
        alice.logged_in_as().as_deref(),
        Some("alice"),
        "alice was signed out"
    );
    let cart = alice.get("/cart").into_string().unwrap();
    assert!(
        cart.contains("data-cart-count=\"3\""),
        "alice's cart was emptied"
    );
}

#[test]
fn a_flood_from_one_address_does_not_expire_the_login_form_of_another() {
    // Behind a proxy that names each client (so that addresses differ here).
    let server = crate::server::Server::start(&[
        ("ROCKET_SESSION_MAX_SESSIONS", "4000"),
        ("ROCKET_IP_HEADER", "X-Real-IP"),
    ]);
    let newcomer = crate::web::WebBrowser::with_header("X-Real-IP", "203.0.113.5");
    let token = newcomer.token(&server);
    // One and a half times the tier of new sessions, from one address.
    for _ in 0..1500 {
        server.request("GET", "/", &[("X-Real-IP", "198.51.100.1")], "");
    }
    let login = newcomer.post_raw(
        &server,
        "/login",
        &[
            ("csrf_token", &token),
            ("username", "alice"),
            ("password", "wonderland-42"),
        ],
    );
    assert_eq!(login.status, 303, "the login form expired under the flood");
}

#[test]
fn one_address_whose_sessions_each_come_back_once_does_not_empty_another_visitors_cart() {
    // Behind a proxy that names each client (so that addresses differ here).
    let server = crate::server::Server::start(&[
        ("ROCKET_SESSION_MAX_SESSIONS", "400"),
        ("ROCKET_IP_HEADER", "X-Real-IP"),
    ]);
    let shopper = crate::web::WebBrowser::with_header("X-Real-IP", "203.0.113.5");
    let added = shopper.post(
        &server,
        "/cart/add",
        &[("product_id", "rocket-mug"), ("quantity", "2")],
    );
    assert_eq!(added.status, 303);
    // One and a half times the tier of returning visitors (100 here), from
    // one address, each session sent back once: two requests each.
    let flooder = [("X-Real-IP", "198.51.100.1")];
    for _ in 0..150 {
        let first = server.request("GET", "/login", &flooder, "");
        let cookie = first.session_cookie().expect("a new session");
        let again = server.request("GET", "/login", &[flooder[0], ("Cookie", &cookie)], "");
        assert_eq!(again.status, 200);
    }
    assert_eq!(
        shopper.cart_count(&server),
        2,
        "the shopper's cart was emptied by another address"
    );
}
