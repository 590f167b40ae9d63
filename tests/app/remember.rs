//! "Keep me signed in", and the account page telling sessions apart.

use std::thread::sleep;
use std::time::{Duration, Instant};

use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::Client;

use crate::helpers::{client, csrf_token, form, logged_in_as, max_age};
use crate::server::Server;
use crate::web::WebBrowser;

const ALICE: (&str, &str) = ("alice", "wonderland-42");
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// Logs in through the form, with "Keep me signed in" or without; returns
/// the session cookie's `Max-Age`, if it has one.
fn log_in(client: &Client, remember: bool) -> Option<u64> {
    let token = csrf_token(client);
    let mut fields = vec![
        ("csrf_token", token.as_str()),
        ("username", ALICE.0),
        ("password", ALICE.1),
    ];
    if remember {
        fields.push(("remember", "on"));
    }
    let response = client
        .post("/login")
        .header(ContentType::Form)
        .body(form(&fields))
        .dispatch();
    assert_eq!(response.status(), Status::SeeOther);
    let cookie = response
        .headers()
        .get("Set-Cookie")
        .find(|c| c.starts_with("gsid="))
        .expect("login sets the session cookie");
    max_age(cookie)
}

#[test]
fn keep_me_signed_in_outlives_the_idle_timeout_but_not_its_own_deadline() {
    let client = client(&[
        ("session.idle_timeout", 1),
        ("session.remember_idle_timeout", 60),
        ("session.remember_absolute_timeout", 5),
    ]);
    let started = Instant::now();
    // The cookie outlives the browser exactly as long as the session lives.
    let max_age = log_in(&client, true).expect("a remembered cookie carries Max-Age");
    assert!((4..=5).contains(&max_age), "Max-Age={max_age}");
    let account = client.get("/account").dispatch().into_string().unwrap();
    assert!(account.contains("data-current-session data-client"));
    assert_eq!(
        account.matches("data-remembered").count(),
        1,
        "marked on /account"
    );

    sleep(Duration::from_millis(1600));
    assert_eq!(
        logged_in_as(&client).as_deref(),
        Some("alice"),
        "idle past the ordinary timeout, still signed in"
    );
    sleep(Duration::from_millis(5300).saturating_sub(started.elapsed()));
    assert_eq!(logged_in_as(&client), None, "past its own absolute timeout");
}

#[test]
fn without_it_the_cookie_ends_with_the_browser_and_the_idle_timeout_holds() {
    let client = client(&[("session.idle_timeout", 1)]);
    assert_eq!(log_in(&client, false), None, "no Max-Age");
    let account = client.get("/account").dispatch().into_string().unwrap();
    assert!(!account.contains("data-remembered"));
    sleep(Duration::from_millis(1600));
    assert_eq!(logged_in_as(&client), None);
}

#[test]
fn the_login_form_offers_keep_me_signed_in() {
    let client = client(&[]);
    let page = client.get("/login").dispatch().into_string().unwrap();
    assert!(
        page.contains(r#"name="remember" type="checkbox""#),
        "{page}"
    );
}

#[test]
fn the_account_page_names_each_browser_and_marks_the_remembered_one() {
    let server = Server::start(&[]);
    let firefox = WebBrowser::with_header("User-Agent", FIREFOX);
    let safari = WebBrowser::with_header("User-Agent", SAFARI);
    assert_eq!(firefox.login(&server, ALICE.0, ALICE.1).status, 303);
    let remembered = safari.post(
        &server,
        "/login",
        &[
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("remember", "on"),
        ],
    );
    assert_eq!(remembered.status, 303);

    let page = firefox.get(&server, "/account").body;
    let rows: Vec<&str> = page
        .split("<tr")
        .filter(|r| r.contains("data-client="))
        .collect();
    assert_eq!(rows.len(), 2, "{page}");
    let row = |label: &str| {
        *rows
            .iter()
            .find(|r| r.contains(&format!("data-client=\"{label}\"")))
            .unwrap_or_else(|| panic!("no row for {label}: {rows:?}"))
    };
    let (mine, theirs) = (row("Firefox on Linux"), row("Safari on iPhone"));
    assert!(mine.contains("data-current-session") && !mine.contains("data-remembered"));
    assert!(theirs.contains("data-other-session") && theirs.contains("data-remembered"));
    assert!(theirs.contains("kept signed in"));
    // When each began and was last used, readable.
    assert!(
        mine.contains(" UTC<") && mine.contains("just now"),
        "{mine}"
    );
}

#[test]
fn a_user_agent_of_any_shape_gives_a_short_label_and_never_an_error() {
    let client = client(&[]);
    let token = csrf_token(&client);
    let odd = format!("{}<script>\u{2028}", "Mozilla/5.0 ".repeat(300));
    let response = client
        .post("/login")
        .header(ContentType::Form)
        .header(Header::new("User-Agent", odd))
        .body(form(&[
            ("csrf_token", &token),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ]))
        .dispatch();
    assert_eq!(response.status(), Status::SeeOther);
    let account = client.get("/account").dispatch().into_string().unwrap();
    assert!(!account.contains("<script>"));
    let label = crate::web::attr(&account, "data-client").unwrap();
    assert!(label.chars().count() <= 48, "{label}");
}

#[test]
fn a_login_starts_a_new_absolute_clock() {
    let client = client(&[
        ("session.idle_timeout", 60),
        ("session.absolute_timeout", 3),
        ("session.remember_absolute_timeout", 60),
    ]);
    // An anonymous session near its deadline logs in: not cut short.
    let started = Instant::now();
    csrf_token(&client);
    sleep(Duration::from_millis(2000));
    log_in(&client, false);
    sleep(Duration::from_millis(3300).saturating_sub(started.elapsed()));
    assert_eq!(logged_in_as(&client).as_deref(), Some("alice"));

    // A remembered session past the ordinary deadline logs in again
    // without "Keep me signed in": still signed in after.
    log_in(&client, true);
    sleep(Duration::from_millis(3300));
    log_in(&client, false);
    assert_eq!(logged_in_as(&client).as_deref(), Some("alice"));
}
