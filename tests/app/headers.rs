//! Security and caching headers on pages, error pages, static files.

use rocket::http::Status;
use rocket::local::blocking::LocalResponse;

use crate::helpers::{client, client_with, figment, set_cookies};
use crate::server::Server;

fn assert_security_headers(response: &LocalResponse<'_>, what: &str) {
    let h = response.headers();
    assert_eq!(
        h.get_one("X-Content-Type-Options"),
        Some("nosniff"),
        "{what}"
    );
    let csp = h
        .get_one("Content-Security-Policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP lacks {directive}: {csp}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    let referrer = h.get_one("Referrer-Policy").unwrap_or_default();
    assert!(
        [
            "strict-origin-when-cross-origin",
            "same-origin",
            "strict-origin",
            "no-referrer"
        ]
        .contains(&referrer),
        "{what}: Referrer-Policy {referrer:?}"
    );
}

fn assert_html_with_charset(response: &LocalResponse<'_>, what: &str) {
    let ct = response
        .headers()
        .get_one("Content-Type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        ct.starts_with("text/html") && ct.contains("charset=utf-8"),
        "{what}: {ct}"
    );
}

#[test]
fn pages_carry_the_security_headers_and_session_pages_are_not_stored() {
    let client = client(&[]);
    for path in ["/", "/counter"] {
        let response = client.get(path).dispatch();
        assert_eq!(response.status(), Status::Ok, "{path}");
        assert_security_headers(&response, path);
        assert_html_with_charset(&response, path);
        assert_eq!(
            response.headers().get_one("Cache-Control"),
            Some("no-store"),
            "{path}"
        );
    }
}

#[test]
fn error_pages_are_templated_and_carry_the_same_headers() {
    let client = client(&[]);
    let response = client.get("/no/such/page").dispatch();
    assert_eq!(response.status(), Status::NotFound);
    assert_security_headers(&response, "404");
    assert_html_with_charset(&response, "404");
    let body = response.into_string().unwrap();
    assert!(
        body.contains("data-status=\"404\"") && body.contains("/static/style.css"),
        "{body}"
    );
}

#[test]
fn static_files_and_healthz_never_set_a_cookie() {
    let client = client(&[]);
    // Even with a live session on the client.
    client.get("/counter").dispatch();
    for path in [
        "/static/style.css",
        "/static/favicon.svg",
        "/healthz",
        "/static/missing.css",
    ] {
        let response = client.get(path).dispatch();
        assert!(
            set_cookies(response.headers()).is_empty(),
            "{path} set a cookie"
        );
        assert_security_headers(&response, path);
    }
    let css = client.get("/static/style.css").dispatch();
    assert_eq!(
        css.headers().get_one("Content-Type"),
        Some("text/css; charset=utf-8")
    );
    let health = client.get("/healthz").dispatch();
    assert_eq!(health.status(), Status::Ok);
    assert_eq!(
        health.headers().get_one("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(health.into_string().as_deref(), Some("ok"));
}

#[test]
fn a_new_session_cookie_comes_with_no_store() {
    let client = client(&[]);
    let response = client.get("/counter").dispatch();
    assert_eq!(set_cookies(response.headers()).len(), 1);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
}

#[test]
fn with_secure_cookies_pages_and_error_pages_carry_hsts() {
    // The release profile turns `session.secure` on.
    let client = client_with(figment(&[]).select("release"));
    for (path, status) in [
        ("/", Status::Ok),
        ("/counter", Status::Ok),
        ("/no/such/page", Status::NotFound),
    ] {
        let response = client.get(path).dispatch();
        assert_eq!(response.status(), status, "{path}");
        assert_html_with_charset(&response, path);
        assert_eq!(
            response.headers().get_one("Strict-Transport-Security"),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }
    // A refused form is an error page too.
    let refused = client
        .post("/cart/add")
        .header(rocket::http::ContentType::Form)
        .body("product_id=padlock")
        .dispatch();
    assert_eq!(refused.status(), Status::Forbidden);
    assert!(refused
        .headers()
        .get_one("Strict-Transport-Security")
        .is_some());
}

#[test]
fn over_plain_http_in_debug_there_is_no_hsts() {
    let client = client(&[]);
    for path in ["/", "/counter", "/no/such/page"] {
        let response = client.get(path).dispatch();
        assert_eq!(
            response.headers().get_one("Strict-Transport-Security"),
            None,
            "{path}"
        );
    }
}

#[test]
fn hsts_follows_the_secure_setting_not_the_profile() {
    let client = client_with(figment(&[]).merge(("session.secure", true)));
    let response = client.get("/").dispatch();
    assert!(response
        .headers()
        .get_one("Strict-Transport-Security")
        .is_some());
}

/// Rocket answers a request it cannot take (an unknown method) with the
/// error page before any route or response fairing runs: the page must
/// carry the headers all the same. (Bytes that have no place in a request
/// line get hyper's own empty 400, before Rocket: no page at all.)
#[test]
fn an_unknown_method_gets_an_error_page_with_the_same_headers() {
    for secure in [false, true] {
        let session = format!("{{secure={secure},cookie_name=\"gsid\"}}");
        let server = Server::start(&[("ROCKET_SESSION", &session)]);
        for (method, path) in [("BREW", "/cart"), ("PROPFIND", "/")] {
            let what = format!("{method} {path:?} (secure: {secure})");
            let response = server.request(method, path, &[], "");
            assert_eq!(response.status, 400, "{what}");
            assert!(
                response.body.contains("data-status=\"400\""),
                "{what}: {}",
                response.body
            );
            assert_eq!(
                response.header("x-content-type-options"),
                Some("nosniff"),
                "{what}"
            );
            assert_eq!(response.header("x-frame-options"), Some("DENY"), "{what}");
            assert_eq!(
                response.header("referrer-policy"),
                Some("strict-origin-when-cross-origin"),
                "{what}"
            );
            assert_eq!(
                response.header("content-security-policy"),
                Some(memsess::headers::CONTENT_SECURITY_POLICY),
                "{what}"
            );
            assert!(response.header("permissions-policy").is_some(), "{what}");
            assert_eq!(
                response.header("strict-transport-security"),
                secure.then_some("max-age=31536000; includeSubDomains"),
                "{what}"
            );
            // It shows who is signed in: no cache may keep it.
            assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
        }
        // An ordinary error page goes through the response fairing as well,
        // which sets the same headers again without a word in the log.
        let missing = server.get("/no/such/page", None);
        assert_eq!(missing.status, 404);
        assert_eq!(missing.header("x-frame-options"), Some("DENY"));
        let log = server.log_with("/no/such/page");
        assert!(!log.contains("Refusing to overwrite"), "{log}");
    }
}
