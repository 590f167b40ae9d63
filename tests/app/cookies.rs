//! The session cookie's attributes, and what bad cookies get.

use rocket::local::blocking::Client;

use crate::helpers::{
    assert_no_server_error, client, cookie_header, figment, issued_id, set_cookies,
};

fn attributes(cookie: &str) -> Vec<String> {
    cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

#[test]
fn debug_profile_cookie_is_httponly_lax_host_wide_and_ends_with_the_browser() {
    let client = client(&[]);
    let response = client.get("/counter").dispatch();
    let cookies = set_cookies(response.headers());
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("gsid="));
    let attrs = attributes(cookies[0]);
    for wanted in ["httponly", "samesite=lax", "path=/"] {
        assert!(
            attrs.contains(&wanted.to_owned()),
            "{wanted} missing from {cookies:?}"
        );
    }
    for unwanted in ["secure", "domain", "max-age", "expires"] {
        assert!(
            !attrs.iter().any(|a| a.starts_with(unwanted)),
            "{unwanted} in {cookies:?}"
        );
    }
}

#[test]
fn release_profile_cookie_is_a_secure_host_cookie() {
    let client = Client::tracked(memsess::rocket_with(figment(&[]).select("release"))).unwrap();
    let response = client.get("/counter").dispatch();
    let cookies = set_cookies(response.headers());
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("__Host-gsid="), "{cookies:?}");
    let attrs = attributes(cookies[0]);
    for wanted in ["secure", "httponly", "samesite=lax", "path=/"] {
        assert!(
            attrs.contains(&wanted.to_owned()),
            "{wanted} missing from {cookies:?}"
        );
    }
    assert!(!attrs
        .iter()
        .any(|a| a.starts_with("domain") || a.starts_with("max-age")));
}

/// Sends one request with a raw Cookie header and returns the id it was
/// given, which must be a new session's.
fn new_session_for(cookie: &str) -> String {
    let client = client(&[]);
    let response = client
        .get("/counter")
        .header(cookie_header(cookie))
        .dispatch();
    assert_no_server_error(response.status(), cookie);
    let id =
        issued_id(response.headers()).unwrap_or_else(|| panic!("no new session for {cookie:?}"));
    let body = response.into_string().unwrap();
    assert!(
        body.contains("New session - setting counter to 0."),
        "{cookie:?} did not start a new session"
    );
    id
}

#[test]
fn a_client_chosen_id_is_never_adopted() {
    let chosen = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let id = new_session_for(&format!("gsid={chosen}"));
    assert_ne!(id, chosen);
}

#[test]
fn malformed_and_oversized_cookies_give_a_new_session() {
    let oversized = format!("gsid={}", "A".repeat(4000));
    for cookie in [
        "gsid=",
        "gsid=short",
        "gsid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "gsid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "gsid=%41%41%41",
        "gsid=\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
        "gsid=ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ",
        "gsid",
        ";;;=;",
        &oversized,
    ] {
        new_session_for(cookie);
    }
}

#[test]
fn a_duplicated_cookie_gives_a_new_session_even_if_one_copy_is_live() {
    let client = client(&[]);
    let live = issued_id(client.get("/counter").dispatch().headers()).unwrap();
    let planted = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    for header in [
        format!("gsid={live}; gsid={planted}"),
        format!("gsid={planted}; gsid={live}"),
        format!("gsid={live}; gsid={live}"),
    ] {
        let id = new_session_for(&header);
        assert_ne!(id, live);
    }
}

#[test]
fn other_cookies_beside_ours_do_not_disturb_the_session() {
    let client = client(&[]);
    let live = issued_id(client.get("/counter").dispatch().headers()).unwrap();
    let response = client
        .get("/counter")
        .header(cookie_header(&format!(
            "theme=dark; gsid={live}; other=gsid"
        )))
        .dispatch();
    assert!(response
        .into_string()
        .unwrap()
        .contains("Session counter is 1."));
}

#[test]
fn a_percent_encoded_twin_of_the_cookie_name_is_not_taken_for_ours() {
    // Browsers apply the __Host- rules to the literal name only, so a
    // subdomain can set `__Host%2Dgsid`; Rocket's cookie jar would decode
    // it into our name. Through the real server, it must not be adopted.
    let server = crate::server::Server::start(&[]);
    let first = server.get("/counter", None);
    let id = first
        .session_cookie()
        .unwrap()
        .trim_start_matches("gsid=")
        .to_owned();
    let twin = server.get("/counter", Some(&format!("g%73id={id}")));
    assert!(
        twin.body.contains("New session - setting counter to 0."),
        "the twin was adopted"
    );
    let real = server.get("/counter", Some(&format!("gsid={id}")));
    assert!(real.body.contains("Session counter is 1."));
}
