//! What the browser does with the session cookie's hand-written lines:
//! it keeps the cookie the server sets and drops it when the server
//! removes it, for every cookie name and `secure` setting that launches.

use serde_json::Value;

use crate::server::{empty_dir, Server};
use crate::webdriver::{Browser, Driver};
use crate::{log_in, sign_up};

fn session_cookie<'a>(cookies: &'a [Value], name: &str) -> Option<&'a Value> {
    cookies.iter().find(|c| c["name"] == name)
}

fn counter_message(browser: &Browser<'_>) -> String {
    browser.find("[data-counter-message]").text()
}

/// Refreshes /counter through the gmemsess sequence and checks the
/// browser's cookie jar at each step: kept while the session lives,
/// gone once the fourth visit invalidates it.
fn kept_then_removed(driver: &Driver, session_env: &str, name: &str) {
    let app = Server::start(&[("ROCKET_SESSION", session_env)]);
    let base = format!("http://127.0.0.1:{}", app.port);
    let profile = empty_dir();
    let browser = driver.session(&profile);

    browser.goto(&format!("{base}/counter"));
    assert_eq!(
        counter_message(&browser),
        "New session - setting counter to 0.",
        "{session_env}"
    );
    let first = session_cookie(&browser.cookies(), name)
        .unwrap_or_else(|| {
            panic!(
                "{session_env}: the browser kept no {name} cookie: {:?}",
                browser.cookies()
            )
        })
        .clone();
    assert_eq!(first["value"].as_str().unwrap().len(), 32);
    assert_eq!(first["httpOnly"], true);
    assert_eq!(first["sameSite"], "Lax");
    assert_eq!(first["path"], "/");
    assert!(
        first.get("expiry").is_none_or(Value::is_null),
        "a browser-session cookie"
    );

    for expected in ["Session counter is 1.", "Session counter is 2."] {
        browser.refresh();
        assert_eq!(counter_message(&browser), expected, "{session_env}");
        assert_eq!(session_cookie(&browser.cookies(), name), Some(&first));
    }
    browser.refresh();
    assert_eq!(
        counter_message(&browser),
        "Session counter is 3. Invalidating cookie.",
        "{session_env}"
    );
    assert_eq!(
        session_cookie(&browser.cookies(), name),
        None,
        "{session_env}: the removal line removed the cookie"
    );
}

#[test]
fn the_browser_keeps_and_removes_the_session_cookie() {
    let driver = Driver::start();
    kept_then_removed(&driver, "{secure=false}", "gsid");
    kept_then_removed(
        &driver,
        r#"{secure=false,cookie_name="a!#$%&'*+-.^_`|~z"}"#,
        "a!#$%&'*+-.^_`|~z",
    );
    // Chromium treats http://127.0.0.1 as a secure context, so it keeps
    // (and removes) `Secure` and prefixed cookies there.
    kept_then_removed(
        &driver,
        r#"{secure=true,cookie_name="__Host-gsid"}"#,
        "__Host-gsid",
    );
    kept_then_removed(
        &driver,
        r#"{secure=true,cookie_name="__Secure-gsid"}"#,
        "__Secure-gsid",
    );
}

/// A remembered session's cookie outlives the browser until the
/// session's absolute deadline; signing out ends that.
#[test]
fn a_remembered_cookie_expires_at_the_sessions_deadline_and_sign_out_ends_it() {
    let driver = Driver::start();
    let app = Server::start(&[(
        "ROCKET_SESSION",
        r#"{secure=true,cookie_name="__Host-gsid",remember_absolute_timeout=86400}"#,
    )]);
    let base = format!("http://127.0.0.1:{}", app.port);
    let profile = empty_dir();
    let browser = driver.session(&profile);
    let name = "__Host-gsid";

    let username = format!("keeper{}", std::process::id());
    let password = "a good long password";
    sign_up(&browser, &base, &username, password);
    browser.find("form[action='/logout'] button").click();
    browser.wait_for_path("/");

    let before = now_secs();
    log_in(&browser, &base, &username, password, true);
    let cookies = browser.cookies();
    let remembered = session_cookie(&cookies, name).expect("a remembered cookie");
    let expiry = remembered["expiry"].as_u64().expect("an expiry");
    assert!(
        (before + 86_400 - 5..=now_secs() + 86_400 + 1).contains(&expiry),
        "expires at the deadline: {expiry} vs {before}"
    );

    browser.find("form[action='/logout'] button").click();
    browser.wait_for_path("/");
    let cookies = browser.cookies();
    if let Some(after) = session_cookie(&cookies, name) {
        assert_ne!(after["value"], remembered["value"]);
        assert!(after.get("expiry").is_none_or(Value::is_null), "{after}");
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
