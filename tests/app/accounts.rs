//! The account pages: orders, password change, deletion, and where login
//! sends people.

use rocket::http::Status;
use rocket::local::blocking::Client;

use crate::helpers::{client, figment, location, post_form, Browser};
use crate::server::{HttpResponse, Server};
use crate::web::{attr, WebBrowser};

const ALICE: (&str, &str) = ("alice", "wonderland-42");

/// One app, several browsers.
fn app(overrides: &[(&str, i64)]) -> Client {
    Client::untracked(memsess::rocket_with(figment(overrides))).unwrap()
}

/// Checks out one `product`; returns the redirect's target.
fn buy(browser: &Browser<'_>, product: &str) -> String {
    let added = browser.post_form("/cart/add", &[("product_id", product)]);
    assert_eq!(added.status(), Status::SeeOther);
    drop(added);
    let placed = browser.post_form("/checkout", &[]);
    assert_eq!(placed.status(), Status::SeeOther);
    location(&placed)
}

fn signup(browser: &Browser<'_>, name: &str, password: &str) {
    let response = browser.post_form("/signup", &[("username", name), ("password", password)]);
    assert_eq!(response.status(), Status::SeeOther);
}

#[test]
fn checkout_redirects_to_the_order_and_a_reload_does_not_order_again() {
    let app = app(&[]);
    let buyer = Browser::new(&app);
    assert_eq!(buyer.login(ALICE.0, ALICE.1), Status::SeeOther);
    let target = buy(&buyer, "padlock");
    let id = target.strip_prefix("/orders/").unwrap().to_owned();

    for _ in 0..3 {
        let page = buyer.get(&target);
        assert_eq!(page.status(), Status::Ok);
        let body = page.into_string().unwrap();
        assert_eq!(attr(&body, "data-order-id"), Some(id.as_str()));
        assert!(body.contains("data-product-id=\"padlock\" data-quantity=\"1\""));
    }
    // The account lists exactly that one order, linking to it.
    let account = buyer.get("/account").into_string().unwrap();
    assert_eq!(account.matches("data-order-id=").count(), 1);
    assert!(account.contains(&format!("href=\"/orders/{id}\"")));
    assert!(account.contains(&format!(
        "data-order-id=\"{id}\" data-order-total-cents=\"1200\""
    )));
}

#[test]
fn orders_are_listed_newest_first_and_only_their_owner_sees_them() {
    let app = app(&[]);
    let (owner, other, visitor) = (Browser::new(&app), Browser::new(&app), Browser::new(&app));
    owner.login(ALICE.0, ALICE.1);
    let first = buy(&owner, "padlock");
    let second = buy(&owner, "hoodie");
    let account = owner.get("/account").into_string().unwrap();
    let (at_first, at_second) = (
        account.find(&first[8..]).unwrap(),
        account.find(&second[8..]).unwrap(),
    );
    assert!(at_second < at_first, "newest first");

    other.login("bob", "builder-2024");
    assert_eq!(
        other.get(&first).status(),
        Status::NotFound,
        "another user's order"
    );
    assert_eq!(
        owner
            .get("/orders/MS-22222-33333-44444-55555-66666")
            .status(),
        Status::NotFound
    );
    for malformed in ["/orders/x", "/orders/%00", "/orders/MS-0"] {
        assert_eq!(
            owner.get(malformed).status(),
            Status::NotFound,
            "{malformed}"
        );
    }
    let anonymous = visitor.get(&first);
    assert_eq!(anonymous.status(), Status::SeeOther);
    assert_eq!(location(&anonymous), format!("/login?next={first}"));
}

#[test]
fn orders_survive_a_restart_of_the_app() {
    let config = figment(&[]);
    let target = {
        let app = Client::untracked(memsess::rocket_with(config.clone())).unwrap();
        let buyer = Browser::new(&app);
        signup(&buyer, "olga", "olgas-password");
        buy(&buyer, "tote-bag")
    };
    let app = Client::untracked(memsess::rocket_with(config)).unwrap();
    let buyer = Browser::new(&app);
    assert_eq!(buyer.login("olga", "olgas-password"), Status::SeeOther);
    assert_eq!(buyer.get(&target).status(), Status::Ok);
}

#[test]
fn a_password_change_signs_out_other_browsers_and_the_old_password_stops_working() {
    let app = app(&[]);
    let (here, there) = (Browser::new(&app), Browser::new(&app));
    signup(&here, "pat", "old-password");
    assert_eq!(there.login("pat", "old-password"), Status::SeeOther);
    let id_before = here.id();

    let changed = here.post_form(
        "/account/password",
        &[
            ("current_password", "old-password"),
            ("new_password", "new-password"),
        ],
    );
    assert_eq!(changed.status(), Status::SeeOther);
    assert_eq!(location(&changed), "/account");
    drop(changed);
    assert_ne!(here.id(), id_before, "this session's id is rotated");
    let account = here.get("/account").into_string().unwrap();
    assert!(account.contains("Your password is changed."));
    assert_eq!(account.matches("data-other-session").count(), 0);

    assert_eq!(location(&there.get("/account")), "/login?next=/account");
    assert_eq!(there.logged_in_as(), None);
    let stranger = Browser::new(&app);
    assert_eq!(stranger.login("pat", "old-password"), Status::Unauthorized);
    assert_eq!(stranger.login("pat", "new-password"), Status::SeeOther);
}

#[test]
fn the_password_form_refuses_a_wrong_current_password_and_counts_it_toward_the_lockout() {
    let app = app(&[("auth.max_failed_logins", 2)]);
    let owner = Browser::new(&app);
    signup(&owner, "quinn", "quinns-password");
    let attempt = |current: &str, new: &str| {
        owner
            .post_form(
                "/account/password",
                &[("current_password", current), ("new_password", new)],
            )
            .status()
    };
    assert_eq!(
        attempt("quinns-password", "short"),
        Status::UnprocessableEntity
    );
    assert_eq!(
        attempt("wrong-guess-1", "new-password"),
        Status::Unauthorized
    );
    assert_eq!(
        attempt("wrong-guess-2", "new-password"),
        Status::Unauthorized
    );
    // Locked for the username: here, and at the login form.
    assert_eq!(
        attempt("quinns-password", "new-password"),
        Status::TooManyRequests
    );
    assert_eq!(
        Browser::new(&app).login("quinn", "quinns-password"),
        Status::TooManyRequests
    );
}

#[test]
fn deleting_the_account_signs_out_every_browser_and_removes_its_orders() {
    let app = app(&[]);
    let (here, there) = (Browser::new(&app), Browser::new(&app));
    signup(&here, "rita", "ritas-password");
    assert_eq!(there.login("rita", "ritas-password"), Status::SeeOther);
    let order = buy(&here, "padlock");

    let wrong = here.post_form("/account/delete", &[("password", "not-it-at-all")]);
    assert_eq!(wrong.status(), Status::Unauthorized);
    drop(wrong);
    let deleted = here.post_form("/account/delete", &[("password", "ritas-password")]);
    assert_eq!(deleted.status(), Status::SeeOther);
    assert_eq!(location(&deleted), "/");
    drop(deleted);
    let home = here.get("/").into_string().unwrap();
    assert!(
        home.contains("class=\"flash") && home.contains("deleted"),
        "{home}"
    );
    assert_eq!(here.logged_in_as(), None);
    assert_eq!(there.logged_in_as(), None);
    assert_eq!(location(&there.get("/account")), "/login?next=/account");
    assert_eq!(
        Browser::new(&app).login("rita", "ritas-password"),
        Status::Unauthorized
    );

    // A new holder of the name starts with nothing.
    let newcomer = Browser::new(&app);
    signup(&newcomer, "rita", "another-password");
    assert_eq!(newcomer.get(&order).status(), Status::NotFound);
    let account = newcomer.get("/account").into_string().unwrap();
    assert!(!account.contains("data-order-id="));
}

#[test]
fn the_demo_accounts_cannot_be_changed_or_deleted() {
    let app = app(&[]);
    let alice = Browser::new(&app);
    alice.login(ALICE.0, ALICE.1);
    // The page says so instead of offering forms that cannot work.
    let page = alice.get("/account").into_string().unwrap();
    assert!(page.contains("data-demo-account"));
    assert!(!page.contains("action=\"/account/password\""));
    let change = alice.post_form(
        "/account/password",
        &[
            ("current_password", ALICE.1),
            ("new_password", "new-password"),
        ],
    );
    // A form sent by hand is refused with a page that says why.
    assert_eq!(change.status(), Status::Forbidden);
    let refused = change.into_string().unwrap();
    assert!(refused.contains("read-only") && refused.contains("Sign up"));
    let delete = alice.post_form("/account/delete", &[("password", ALICE.1)]);
    assert_eq!(delete.status(), Status::Forbidden);
    drop(delete);
    // With a wrong password too: the page says why, not "wrong password"
    // beside a form it does not show.
    for (action, fields) in [
        (
            "/account/password",
            &[
                ("current_password", "wrong"),
                ("new_password", "new-password"),
            ][..],
        ),
        ("/account/delete", &[("password", "wrong")][..]),
    ] {
        let refused = alice.post_form(action, fields);
        assert_eq!(refused.status(), Status::Forbidden, "{action}");
        assert!(
            refused.into_string().unwrap().contains("read-only"),
            "{action}"
        );
    }
    assert_eq!(alice.logged_in_as().as_deref(), Some("alice"));
}

#[test]
fn the_login_page_says_why_it_was_shown_without_changing_anything() {
    let client = client(&[]);
    for (next, reason) in [
        ("/cart", "Sign in to check out."),
        ("/account", "Sign in to see your account."),
        (
            "/orders/MS-22222-33333-44444-55555-66666",
            "Sign in to see your order.",
        ),
    ] {
        let page = client
            .get(format!("/login?next={next}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains(reason), "{next}");
    }
    let plain = client.get("/login").dispatch().into_string().unwrap();
    assert!(!plain.contains("data-login-reason"));
}

#[test]
fn a_next_that_makes_no_valid_redirect_goes_to_the_account_never_an_error() {
    for (next, landing) in [
        ("/caf%C3%A9", "/caf%C3%A9"),
        ("/café", "/account"),
        ("/a b", "/account"),
        ("/a\"b", "/account"),
        ("/<script>", "/account"),
        ("/{x}", "/account"),
        ("/a|b", "/account"),
        ("/a\u{2028}b", "/account"),
        ("/%zz", "/account"),
    ] {
        let client = client(&[]);
        let response = post_form(
            &client,
            "/login",
            &[("username", ALICE.0), ("password", ALICE.1), ("next", next)],
        );
        assert_eq!(response.status(), Status::SeeOther, "next={next:?}");
        assert_eq!(location(&response), landing, "next={next:?}");
    }
    // Through the login page's own link, decoded by the query parser.
    let client = client(&[]);
    let page = client.get("/login?next=/caf%C3%A9").dispatch();
    assert_eq!(page.status(), Status::Ok);
    assert!(!page.into_string().unwrap().contains("name=\"next\""));
}

/// The attributes of the `Set-Cookie` for `name` in a response, lower-cased.
fn device_cookie(response: &rocket::local::blocking::LocalResponse<'_>, name: &str) -> Vec<String> {
    let header = response
        .headers()
        .get("Set-Cookie")
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"));
    header
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

#[test]
fn the_device_cookie_is_long_lived_http_only_and_secure_in_release() {
    let debug = client(&[]);
    let login = post_form(
        &debug,
        "/login",
        &[("username", ALICE.0), ("password", ALICE.1)],
    );
    let attrs = device_cookie(&login, "gdev");
    for wanted in ["httponly", "samesite=lax", "path=/", "max-age=31536000"] {
        assert!(
            attrs.contains(&wanted.to_owned()),
            "{wanted} missing: {attrs:?}"
        );
    }
    assert!(!attrs
        .iter()
        .any(|a| a == "secure" || a.starts_with("domain")));
    drop(login);
    // Logout keeps it.
    let logout = post_form(&debug, "/logout", &[]);
    assert!(!logout
        .headers()
        .get("Set-Cookie")
        .any(|c| c.starts_with("gdev=")));
    drop(logout);

    let release = Client::tracked(memsess::rocket_with(figment(&[]).select("release"))).unwrap();
    let signup = post_form(
        &release,
        "/signup",
        &[("username", "vera"), ("password", "veras-password")],
    );
    assert_eq!(signup.status(), Status::SeeOther);
    let attrs = device_cookie(&signup, "__Host-gdev");
    assert!(
        attrs.contains(&"secure".to_owned()) && attrs.contains(&"path=/".to_owned()),
        "{attrs:?}"
    );
    assert!(!attrs.iter().any(|a| a.starts_with("domain")));
    drop(signup);

    // Deleting the account removes it, with the attributes a browser needs
    // to accept the removal of a __Host- cookie.
    let deleted = post_form(
        &release,
        "/account/delete",
        &[("password", "veras-password")],
    );
    assert_eq!(deleted.status(), Status::SeeOther);
    let attrs = device_cookie(&deleted, "__Host-gdev");
    for wanted in ["max-age=0", "secure", "path=/"] {
        assert!(
            attrs.contains(&wanted.to_owned()),
            "{wanted} missing: {attrs:?}"
        );
    }
}

/// Two browsers signed in as `name` on `server`, each with its form token.
fn two_browsers(server: &Server, name: &str, password: &str) -> [(WebBrowser, String); 2] {
    let (one, other) = (WebBrowser::new(), WebBrowser::new());
    assert_eq!(one.signup(server, name, password).status, 303);
    assert_eq!(other.login(server, name, password).status, 303);
    [one, other].map(|browser| {
        let token = browser.token(server);
        (browser, token)
    })
}

/// Each browser POSTs to `path` at the same moment, with its token and
/// the fields `fields` gives for its place (0 or 1).
fn post_at_once(
    server: &Server,
    browsers: &[(WebBrowser, String); 2],
    path: &str,
    fields: impl Fn(usize) -> Vec<(&'static str, &'static str)> + Sync,
) -> Vec<HttpResponse> {
    std::thread::scope(|s| {
        let handles: Vec<_> = browsers
            .iter()
            .enumerate()
            .map(|(i, (browser, token))| {
                let fields = &fields;
                s.spawn(move || {
                    let mut pairs = vec![("csrf_token", token.as_str())];
                    pairs.extend(fields(i));
                    browser.post_raw(server, path, &pairs)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn two_browsers_deleting_the_account_at_once_both_end_signed_out() {
    let server = Server::start(&[]);
    let browsers = two_browsers(&server, "tess", "tesss-password");
    // Both pass the login check before either deletes; one of them then
    // finds the account already gone, and must still end its sessions.
    let responses = post_at_once(&server, &browsers, "/account/delete", |_| {
        vec![("password", "tesss-password")]
    });
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [303, 303]);
    for (browser, _) in &browsers {
        assert_eq!(browser.user(&server), None);
    }
}

#[test]
fn of_two_password_changes_at_once_the_one_whose_page_says_so_is_in_force() {
    let server = Server::start(&[]);
    let browsers = two_browsers(&server, "ulla", "ullas-password");
    let new = ["ullas-first-pick", "ullas-other-pick"];
    // Both check the current password before either changes it: with a
    // plain overwrite the last would win while the first was told its
    // password was set.
    let responses = post_at_once(&server, &browsers, "/account/password", |i| {
        vec![
            ("current_password", "ullas-password"),
            ("new_password", new[i]),
        ]
    });
    let changed: Vec<usize> = (0..2).filter(|&i| responses[i].status == 303).collect();
    assert_eq!(
        changed.len(),
        1,
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let (won, lost) = (changed[0], 1 - changed[0]);
    // The other was refused one way or another (a 409 that says its change
    // was not made, or its session already gone), never told it succeeded.
    assert_ne!(responses[lost].status, 303);
    assert!(!responses[lost].body.contains("Your password is changed"));
    let third = WebBrowser::new();
    assert_eq!(third.login(&server, "ulla", new[lost]).status, 401);
    assert_eq!(third.login(&server, "ulla", new[won]).status, 303);
}

/// A login checked against the old password while a password change
/// lands must not leave a session signed in with it. The change ends the
/// user's other sessions; a login saved just after that would be missed,
/// so the login reads the account again once its session is saved. The
/// window is a few milliseconds wide, so the login starts at a spread of
/// moments into the change (each a fresh user); with the re-read, no
/// moment leaves the old password's session signed in.
#[test]
fn a_login_with_the_password_a_change_replaces_does_not_stay_signed_in() {
    // Every user and every refused login comes from one address.
    let limits = "{max_signups_per_ip=100,max_failed_logins_per_ip=100}";
    let server = Server::start(&[("ROCKET_AUTH", limits)]);
    for (i, delay_ms) in (0..40).step_by(3).enumerate() {
        let name = format!("vera{i}");
        let changer = WebBrowser::new();
        assert_eq!(changer.signup(&server, &name, "veras-password").status, 303);
        let (changer_token, late) = (changer.token(&server), WebBrowser::new());
        let late_token = late.token(&server);
        let (changed, logged_in) = std::thread::scope(|s| {
            let change = s.spawn(|| {
                let pairs = [
                    ("csrf_token", changer_token.as_str()),
                    ("current_password", "veras-password"),
                    ("new_password", "veras-new-password"),
                ];
                changer
                    .post_raw(&server, "/account/password", &pairs)
                    .status
            });
            let login = s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(delay_ms));
                let pairs = [
                    ("csrf_token", late_token.as_str()),
                    ("username", name.as_str()),
                    ("password", "veras-password"),
                ];
                late.post_raw(&server, "/login", &pairs).status
            });
            (change.join().unwrap(), login.join().unwrap())
        });
        assert_eq!(changed, 303, "at {delay_ms} ms");
        assert_eq!(
            late.user(&server),
            None,
            "at {delay_ms} ms the old password's login ({logged_in}) is still signed in"
        );
    }
}
