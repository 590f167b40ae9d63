//! The browser test: Debian's headless Chromium, driven through
//! chromedriver, against the real server on a free loopback port, doing
//! what a person does: hitting refresh on the counter, signing up, logging
//! out and in with "Keep me signed in", filling a cart, checking out,
//! opening the order from the account page, changing the password (which
//! signs a second browser out) and signing out. On every page it reads the
//! browser's console and fails on any Content-Security-Policy violation or
//! failed resource load. Screenshots land in `target/screenshots/`.
//!
//! Run with `cargo test --features browser-tests --test browser`.

mod cookies;
#[path = "../app/server.rs"]
#[allow(dead_code)]
mod server;
mod webdriver;

use std::path::PathBuf;

use server::{empty_dir, Server};
use webdriver::{Browser, Driver};

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// Fails on console errors: CSP violations, failed loads, script errors.
fn assert_clean_console(browser: &Browser<'_>, page: &str) {
    let problems: Vec<String> = browser
        .console()
        .into_iter()
        .filter(|line| {
            line.starts_with("SEVERE")
                || line.contains("Content Security Policy")
                || line.contains("Failed to load resource")
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{page}: the browser reported {problems:#?}"
    );
}

/// Signs up through the form, which lands on the account page.
fn sign_up(browser: &Browser<'_>, base: &str, username: &str, password: &str) {
    browser.goto(&format!("{base}/signup"));
    browser.find("#username").fill(username);
    browser.find("#password").fill(password);
    browser
        .find("form[action='/signup'] button[type=submit]")
        .click();
    browser.wait_for_path("/account");
}

/// Logs in through the form, ticking "Keep me signed in" if asked.
fn log_in(browser: &Browser<'_>, base: &str, username: &str, password: &str, remember: bool) {
    browser.goto(&format!("{base}/login"));
    browser.find("#username").fill(username);
    browser.find("#password").fill(password);
    if remember {
        browser.find("#remember").click();
    }
    browser
        .find("form[action='/login'] button[type=submit]")
        .click();
    browser.wait_for_path("/account");
}

#[test]
fn a_person_refreshes_the_counter_signs_up_shops_and_checks_out() {
    let driver = Driver::start();
    let app = Server::start(&[]);
    let base = format!("http://127.0.0.1:{}", app.port);
    let profile = empty_dir();
    let browser = driver.session(&profile);

    // The counter, reloaded five times: the gmemsess sequence.
    browser.goto(&format!("{base}/counter"));
    let mut seen = vec![browser.find("[data-counter-message]").text()];
    for _ in 0..5 {
        browser.refresh();
        seen.push(browser.find("[data-counter-message]").text());
        assert_clean_console(&browser, "/counter");
    }
    assert_eq!(
        seen,
        [
            "New session - setting counter to 0.",
            "Session counter is 1.",
            "Session counter is 2.",
            "Session counter is 3. Invalidating cookie.",
            "New session - setting counter to 0.",
            "Session counter is 1.",
        ]
    );
    browser.screenshot(&screenshots().join("counter.png"));

    // Sign up through the form, log out, log back in.
    let username = format!("shopper{}", std::process::id());
    let password = "a good long password";
    sign_up(&browser, &base, &username, password);
    assert_eq!(
        browser.find("[data-user]").attr("data-user").as_deref(),
        Some(username.as_str())
    );
    assert_clean_console(&browser, "/account after signup");

    browser.find("form[action='/logout'] button").click();
    browser.wait_for_path("/");
    assert!(!browser.source().contains("data-user="), "logged out");
    assert_eq!(browser.find(".flash").text(), "You have been signed out.");

    // Back in, with "Keep me signed in".
    log_in(&browser, &base, &username, password, true);
    assert!(browser
        .find(".flash")
        .text()
        .contains(&format!("Welcome back, {username}.")));
    assert_clean_console(&browser, "/account after login");
    // The same user on a second browser, for the account page's list.
    let second_profile = empty_dir();
    let second = driver.session(&second_profile);
    log_in(&second, &base, &username, password, false);

    // Two products from the catalog, then a quantity changed on the cart.
    for product in ["ferris-plush", "rocket-mug"] {
        browser.goto(&format!("{base}/"));
        assert_clean_console(&browser, "/");
        browser
            .find(&format!(
                "[data-product-id='{product}'] button[type=submit]"
            ))
            .click();
        browser.wait_for_path("/cart");
    }
    browser.find("#qty-rocket-mug").fill("3");
    browser
        .find("[data-product-id='rocket-mug'] form[action='/cart/update'] button")
        .click();
    // The page reloads with the new count (waits up to 10 s for it).
    let cart = browser.find("[data-cart-count='4']");
    assert_eq!(
        cart.attr("data-cart-total-cents").as_deref(),
        Some(&*(2400 + 3 * 1400).to_string())
    );
    browser.screenshot(&screenshots().join("cart.png"));
    assert_clean_console(&browser, "/cart");

    // Check out: the order's page, then an empty cart.
    browser.find("form[action='/checkout'] button").click();
    let order_id = browser
        .find("[data-order-id]")
        .attr("data-order-id")
        .unwrap();
    browser.wait_for_path(&format!("/orders/{order_id}"));
    assert!(browser
        .source()
        .contains("data-product-id=\"rocket-mug\" data-quantity=\"3\""));
    assert_clean_console(&browser, "order confirmation");
    browser.goto(&format!("{base}/cart"));
    assert_eq!(
        browser
            .find("[data-cart-count]")
            .attr("data-cart-count")
            .as_deref(),
        Some("0")
    );
    assert_clean_console(&browser, "/cart after checkout");

    // The account page lists the order and both sessions, this one kept
    // signed in; the order opens from there.
    browser.goto(&format!("{base}/account"));
    browser.find(&format!("[data-order-id='{order_id}']"));
    assert!(browser
        .find("[data-current-session]")
        .attr("data-remembered")
        .is_some());
    assert!(browser
        .find("[data-other-session]")
        .attr("data-remembered")
        .is_none());
    browser.resize(1280, 1900);
    browser.screenshot(&screenshots().join("account.png"));
    browser.resize(1280, 1000);
    browser
        .find(&format!("a[href='/orders/{order_id}']"))
        .click();
    browser.wait_for_path(&format!("/orders/{order_id}"));
    assert_clean_console(&browser, "the order from /account");

    // A new password signs the other browser out.
    browser.goto(&format!("{base}/account"));
    browser.find("#current_password").fill(password);
    browser
        .find("#new_password")
        .fill("an even better password");
    browser
        .find("form[action='/account/password'] button[type=submit]")
        .click();
    assert_eq!(browser.find(".flash").text(), "Your password is changed.");
    second.goto(&format!("{base}/account"));
    second.wait_for_path("/login?next=/account");
    assert_clean_console(&browser, "/account after the password change");

    // Signing out says so.
    browser.find("form[action='/logout'] button").click();
    browser.wait_for_path("/");
    assert_eq!(browser.find(".flash").text(), "You have been signed out.");

    // The console check can fail: a missing page is reported as a failed load.
    browser.goto(&format!("{base}/no-such-page"));
    browser.find("[data-status='404']");
    let console = browser.console();
    assert!(
        console
            .iter()
            .any(|l| l.contains("Failed to load resource")),
        "the console reader sees failures: {console:?}"
    );
}
