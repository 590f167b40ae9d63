//! Behind a reverse proxy: `csrf.trusted_origins`.
//!
//! nginx's `proxy_pass http://127.0.0.1:8000;` sends `Host: 127.0.0.1:8000`
//! (the upstream), while the browser's `Origin` is the public site. The
//! README's Production section shows the nginx server block whose
//! requests [`proxied`] reproduces.

use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::Client;

use crate::helpers::{client_with, csrf_in, csrf_token, figment, form};
use crate::server::{empty_dir, launch_output, HttpResponse, Server};

const SHOP: &str = "https://shop.example";
const ELSEWHERE: &str = "https://evil.example";

/// What the README's nginx example adds or rewrites, as it reaches the
/// app: `Host` is the upstream's (`Server::request` sends
/// `127.0.0.1:<port>`), the client's address and scheme are added.
const PROXY_HEADERS: [(&str, &str); 3] = [
    ("X-Real-IP", "203.0.113.7"),
    ("X-Forwarded-For", "203.0.113.7"),
    ("X-Forwarded-Proto", "https"),
];

/// A browser's request on `https://shop.example`, as the proxy passes it
/// on: its cookie, `Origin` and `Sec-Fetch-Site`, plus the proxy's headers.
fn proxied<'a>(cookie: &'a str, origin: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("Cookie", cookie),
        ("Origin", origin),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    headers.extend(PROXY_HEADERS);
    headers
}

fn trusting(origins: &[&str]) -> Client {
    client_with(figment(&[]).merge(("csrf.trusted_origins", origins)))
}

/// POSTs an add-to-cart form as it arrives through the proxy.
fn add_from(client: &Client, origin: &str, site: &str, with_token: bool) -> Status {
    let token = csrf_token(client);
    let mut pairs = vec![("product_id", "padlock")];
    if with_token {
        pairs.push(("csrf_token", token.as_str()));
    }
    client
        .post("/cart/add")
        .header(ContentType::Form)
        .header(Header::new("Host", "127.0.0.1:8000"))
        .header(Header::new("Origin", origin.to_owned()))
        .header(Header::new("Sec-Fetch-Site", site.to_owned()))
        .body(form(&pairs))
        .dispatch()
        .status()
}

fn cart_count(body: &str) -> &str {
    let marker = "data-cart-count=\"";
    let start = body.find(marker).expect("a cart count") + marker.len();
    body[start..].split('"').next().unwrap()
}

#[test]
fn a_post_from_a_trusted_origin_passes_when_the_proxy_rewrote_host() {
    let client = trusting(&[SHOP]);
    assert_eq!(
        add_from(&client, SHOP, "same-origin", true),
        Status::SeeOther
    );
    let cart = client.get("/cart").dispatch().into_string().unwrap();
    assert_eq!(cart_count(&cart), "1");
}

#[test]
fn without_the_setting_the_same_post_is_refused() {
    let client = trusting(&[]);
    assert_eq!(
        add_from(&client, SHOP, "same-origin", true),
        Status::Forbidden
    );
    let cart = client.get("/cart").dispatch().into_string().unwrap();
    assert_eq!(cart_count(&cart), "0", "nothing changed");
}

#[test]
fn another_origin_is_refused_whether_or_not_one_is_trusted() {
    for trusted in [&[][..], &[SHOP][..]] {
        let client = trusting(trusted);
        assert_eq!(
            add_from(&client, ELSEWHERE, "same-origin", true),
            Status::Forbidden,
            "trusting {trusted:?}"
        );
        let cart = client.get("/cart").dispatch().into_string().unwrap();
        assert_eq!(cart_count(&cart), "0");
    }
}

#[test]
fn a_trusted_origin_still_needs_the_token_and_a_same_site_request() {
    let client = trusting(&[SHOP]);
    assert_eq!(
        add_from(&client, SHOP, "same-origin", false),
        Status::Forbidden,
        "no token"
    );
    assert_eq!(
        add_from(&client, SHOP, "cross-site", true),
        Status::Forbidden,
        "Sec-Fetch-Site: cross-site"
    );
    let cart = client.get("/cart").dispatch().into_string().unwrap();
    assert_eq!(cart_count(&cart), "0");
}

/// Arrives through the proxy: the session cookie and the form's token.
fn arrive(server: &Server) -> (String, String) {
    let login = server.request("GET", "/login", &PROXY_HEADERS, "");
    assert_eq!(login.status, 200);
    let cookie = login.session_cookie().expect("a session cookie");
    (cookie, csrf_in(&login.body))
}

fn add_through_proxy(server: &Server, cookie: &str, token: &str, origin: &str) -> HttpResponse {
    let body = form(&[("csrf_token", token), ("product_id", "padlock")]);
    server.request("POST", "/cart/add", &proxied(cookie, origin), &body)
}

#[test]
fn the_binary_behind_the_readme_proxy_takes_forms_from_the_trusted_origin_only() {
    let server = Server::start(&[(
        "ROCKET_CSRF",
        "{trusted_origins=[\"https://shop.example\"]}",
    )]);
    let (cookie, token) = arrive(&server);

    let added = add_through_proxy(&server, &cookie, &token, SHOP);
    assert_eq!(added.status, 303, "{}", added.body);
    let refused = add_through_proxy(&server, &cookie, &token, ELSEWHERE);
    assert_eq!(refused.status, 403);

    let cart = server.request("GET", "/cart", &proxied(&cookie, SHOP)[..1], "");
    assert_eq!(cart_count(&cart.body), "1");
}

#[test]
fn the_binary_behind_a_proxy_without_the_setting_refuses_the_forms() {
    let server = Server::start(&[]);
    let (cookie, token) = arrive(&server);
    assert_eq!(
        add_through_proxy(&server, &cookie, &token, SHOP).status,
        403
    );
    assert_eq!(
        add_through_proxy(&server, &cookie, &token, ELSEWHERE).status,
        403
    );
}

#[test]
fn a_bad_trusted_origin_stops_the_launch_naming_the_key() {
    for value in [
        "{trusted_origins=[\"shop.example\"]}",
        "{trusted_origins=[\"https://shop.example/path\"]}",
        "{trusted_origins=\"https://shop.example\"}",
    ] {
        let (launched, said) = launch_output(&empty_dir(), &[("ROCKET_CSRF", value)]);
        assert!(!launched, "{value} launched");
        assert!(
            said.contains("csrf.trusted_origins"),
            "{value}: the output does not name csrf.trusted_origins:\n{said}"
        );
    }
}
