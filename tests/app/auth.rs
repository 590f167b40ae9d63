//! The login system: signup, login, logout, lockout, CSRF, the account page.

use std::time::Duration;

use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::Client;

use crate::helpers::{
    client, client_with, cookie_header, csrf_token, current_id, figment, form, location,
    logged_in_as, login, post_form, signup, Browser,
};

const ALICE: (&str, &str) = ("alice", "wonderland-42");

#[test]
fn signup_logs_the_new_user_in_under_a_rotated_id() {
    let client = client(&[]);
    client.get("/signup").dispatch();
    let before = current_id(&client).expect("the signup form starts a session");

    let response = post_form(
        &client,
        "/signup",
        &[("username", "Carol_1"), ("password", "correct horse")],
    );
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(location(&response), "/account");
    let after = current_id(&client).unwrap();
    assert_ne!(after, before);
    assert_eq!(logged_in_as(&client).as_deref(), Some("carol_1"));
}

#[test]
fn login_rotates_the_id_and_the_csrf_token_and_the_old_id_is_not_logged_in() {
    let client = client(&[]);
    let token_before = csrf_token(&client);
    let id_before = current_id(&client).unwrap();

    assert_eq!(login(&client, ALICE.0, ALICE.1), Status::SeeOther);
    let id_after = current_id(&client).unwrap();
    assert_ne!(id_after, id_before);
    assert_ne!(csrf_token(&client), token_before);
    assert_eq!(logged_in_as(&client).as_deref(), Some("alice"));

    // Someone holding the pre-login id (a planted or sniffed cookie) gets nothing.
    let replay = client
        .get("/account")
        .header(cookie_header(&format!("gsid={id_before}")))
        .dispatch();
    assert_eq!(replay.status(), Status::SeeOther);
    assert_eq!(location(&replay), "/login?next=/account");
}

#[test]
fn a_wrong_password_and_an_unknown_user_get_the_same_401_page() {
    let client = client(&[]);
    let wrong = post_form(
        &client,
        "/login",
        &[("username", "alice"), ("password", "not-her-password")],
    );
    assert_eq!(wrong.status(), Status::Unauthorized);
    let wrong = wrong.into_string().unwrap();
    let unknown = post_form(
        &client,
        "/login",
        &[
            ("username", "nobody-here"),
            ("password", "not-her-password"),
        ],
    );
    assert_eq!(unknown.status(), Status::Unauthorized);
    let unknown = unknown.into_string().unwrap();
    let message = "That username and password do not match an account.";
    assert!(wrong.contains(message) && unknown.contains(message));
    // The form keeps the username, never the password.
    assert!(unknown.contains("value=\"nobody-here\"") && !unknown.contains("not-her-password"));
    assert_eq!(logged_in_as(&client), None);
}

#[test]
fn repeated_failures_lock_the_username_with_retry_after_until_the_window_passes() {
    let client = client(&[("auth.max_failed_logins", 3), ("auth.lockout_seconds", 2)]);
    for _ in 0..3 {
        assert_eq!(
            login(&client, "alice", "wrong-password"),
            Status::Unauthorized
        );
    }
    // Locked: even the right password gets 429, with Retry-After.
    let locked = post_form(
        &client,
        "/login",
        &[("username", "Alice"), ("password", ALICE.1)],
    );
    assert_eq!(locked.status(), Status::TooManyRequests);
    let retry: u64 = locked
        .headers()
        .get_one("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert!(locked.into_string().unwrap().contains("Too many attempts"));

    // Unknown usernames lock the same way, so lockout reveals nothing.
    for _ in 0..3 {
        login(&client, "ghost", "wrong-password");
    }
    assert_eq!(
        login(&client, "ghost", "wrong-password"),
        Status::TooManyRequests
    );

    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(login(&client, ALICE.0, ALICE.1), Status::SeeOther);
}

#[test]
fn posts_without_the_sessions_token_or_from_another_site_are_refused_and_change_nothing() {
    let client = client(&[]);
    assert_eq!(login(&client, ALICE.0, ALICE.1), Status::SeeOther);
    let token = csrf_token(&client);
    let other = client_with(figment(&[]));
    let others_token = csrf_token(&other);

    let attempts: Vec<(String, Vec<Header<'static>>)> = vec![
        ("missing".into(), vec![]),
        ("forged".into(), vec![]),
        ("another session's".into(), vec![]),
        (
            "cross-site fetch".into(),
            vec![Header::new("Sec-Fetch-Site", "cross-site")],
        ),
        (
            "foreign origin".into(),
            vec![
                Header::new("Origin", "https://evil.example"),
                Header::new("Host", "127.0.0.1:8000"),
            ],
        ),
        ("null origin".into(), vec![Header::new("Origin", "null")]),
    ];
    for (what, headers) in attempts {
        let body = match what.as_str() {
            "missing" => String::new(),
            "forged" => form(&[("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]),
            "another session's" => form(&[("csrf_token", &others_token)]),
            _ => form(&[("csrf_token", &token)]),
        };
        let mut request = client.post("/logout").header(ContentType::Form).body(body);
        for header in headers {
            request = request.header(header);
        }
        let response = request.dispatch();
        assert_eq!(response.status(), Status::Forbidden, "{what} token");
        assert!(response
            .into_string()
            .unwrap()
            .contains("data-status=\"403\""));
        assert_eq!(
            logged_in_as(&client).as_deref(),
            Some("alice"),
            "{what}: still logged in"
        );
    }

    // The same origin with the right token works.
    let ok = client
        .post("/logout")
        .header(ContentType::Form)
        .header(Header::new("Origin", "http://127.0.0.1:8000"))
        .header(Header::new("Host", "127.0.0.1:8000"))
        .header(Header::new("Sec-Fetch-Site", "same-origin"))
        .body(form(&[("csrf_token", &token)]))
        .dispatch();
    assert_eq!(ok.status(), Status::SeeOther);
}

#[test]
fn login_without_a_token_is_refused_too() {
    let client = client(&[]);
    let response = client
        .post("/login")
        .header(ContentType::Form)
        .body(form(&[("username", ALICE.0), ("password", ALICE.1)]))
        .dispatch();
    assert_eq!(response.status(), Status::Forbidden);
    assert_eq!(logged_in_as(&client), None);
}

#[test]
fn next_is_followed_only_to_local_paths() {
    for (next, landing) in [
        ("/cart", "/cart"),
        ("/products/rocket-mug", "/products/rocket-mug"),
        ("//evil.example/", "/account"),
        ("/\\evil.example", "/account"),
        ("https://evil.example/", "/account"),
        ("javascript:alert(1)", "/account"),
        ("evil.example", "/account"),
    ] {
        let client = client(&[]);
        let response = post_form(
            &client,
            "/login",
            &[("username", ALICE.0), ("password", ALICE.1), ("next", next)],
        );
        assert_eq!(response.status(), Status::SeeOther);
        assert_eq!(location(&response), landing, "next={next}");
    }
}

#[test]
fn the_login_page_carries_a_local_next_into_its_form() {
    let client = client(&[]);
    let page = client
        .get("/login?next=/cart")
        .dispatch()
        .into_string()
        .unwrap();
    assert!(page.contains("name=\"next\" value=\"/cart\""));
    let evil = client
        .get("/login?next=//evil.example")
        .dispatch()
        .into_string()
        .unwrap();
    assert!(!evil.contains("evil.example"));
}

#[test]
fn logout_kills_the_id_and_the_next_page_says_signed_out_once() {
    let client = client(&[]);
    login(&client, ALICE.0, ALICE.1);
    let id = current_id(&client).unwrap();
    let response = post_form(&client, "/logout", &[]);
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(location(&response), "/");
    drop(response);
    // The response hands out a fresh session holding only the message.
    let fresh = current_id(&client).expect("a session for the message");
    assert_ne!(fresh, id);
    let home = client.get("/").dispatch().into_string().unwrap();
    assert!(
        home.contains("class=\"flash flash-info\"") && home.contains("You have been signed out."),
        "{home}"
    );
    assert!(!home.contains("data-user="));
    let again = client.get("/").dispatch().into_string().unwrap();
    assert!(!again.contains("signed out"), "the message shows once");

    let replay = client
        .get("/account")
        .header(cookie_header(&format!("gsid={id}")))
        .dispatch();
    assert_eq!(location(&replay), "/login?next=/account");
}

#[test]
fn the_account_page_lists_the_users_sessions_and_ends_the_others() {
    // Two browsers on one app, each with its own cookie.
    let app = Client::untracked(memsess::rocket_with(figment(&[]))).unwrap();
    let (a, b) = (Browser::new(&app), Browser::new(&app));
    assert_eq!(a.login(ALICE.0, ALICE.1), Status::SeeOther);
    assert_eq!(b.login(ALICE.0, ALICE.1), Status::SeeOther);
    assert_ne!(a.id(), b.id());

    // A lists both sessions, itself marked.
    let account = a.get("/account").into_string().unwrap();
    assert_eq!(account.matches("data-current-session").count(), 1);
    assert_eq!(account.matches("data-other-session").count(), 1);

    // A ends the others: B is signed out, A is not.
    let ended = a.post_form("/account/logout-others", &[]);
    assert_eq!(location(&ended), "/account");
    drop(ended);
    let a_page = a.get("/account").into_string().unwrap();
    assert!(a_page.contains("Signed out 1 other session."));
    assert_eq!(a_page.matches("data-other-session").count(), 0);
    assert_eq!(location(&b.get("/account")), "/login?next=/account");
    assert_eq!(b.logged_in_as(), None);
}

#[test]
fn pages_that_need_a_login_send_visitors_to_log_in_and_back() {
    let client = client(&[]);
    let account = client.get("/account").dispatch();
    assert_eq!(account.status(), Status::SeeOther);
    assert_eq!(location(&account), "/login?next=/account");
    let others = post_form(&client, "/account/logout-others", &[]);
    assert_eq!(location(&others), "/login?next=/account");

    let back = post_form(
        &client,
        "/login",
        &[
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("next", "/account"),
        ],
    );
    assert_eq!(location(&back), "/account");
    let page = client.get("/account").dispatch().into_string().unwrap();
    assert!(page.contains("data-user=\"alice\""));
    // The welcome flash shows once.
    assert!(
        page.contains("class=\"flash flash-success\"") && page.contains("Welcome back, alice.")
    );
    let again = client.get("/account").dispatch().into_string().unwrap();
    assert!(!again.contains("Welcome back"));

    // An account action that does not exist is not found, signed in or
    // not; a signed-in user is not sent to log in again.
    let unknown = post_form(&client, "/account/no-such-action", &[]);
    assert_eq!(unknown.status(), Status::NotFound);
    post_form(&client, "/logout", &[]);
    let unknown = post_form(&client, "/account/no-such-action", &[]);
    assert_eq!(unknown.status(), Status::NotFound);
}

#[test]
fn the_header_shows_who_is_logged_in_on_every_page() {
    let client = client(&[]);
    login(&client, ALICE.0, ALICE.1);
    for path in ["/", "/account", "/login", "/signup", "/no-such-page"] {
        let body = client.get(path).dispatch().into_string().unwrap();
        assert!(body.contains("data-user=\"alice\""), "{path}");
    }
}

#[test]
fn accounts_survive_a_restart_and_the_file_holds_only_argon2id_hashes() {
    let dir = crate::server::empty_dir();
    let users_file = dir.join("accounts").join("users.json");
    let config = || {
        figment(&[])
            .merge(("auth.users_file", &users_file))
            .merge(("auth.demo_users", false))
    };
    {
        let client = client_with(config());
        assert_eq!(signup(&client, "dave", "pässwörd-ü-123"), Status::SeeOther);
    }
    let file = std::fs::read_to_string(&users_file).unwrap();
    assert!(
        file.contains("\"dave\"") && file.contains("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{file}"
    );
    assert!(!file.contains("pässwörd"));
    assert!(!file.contains("alice"), "demo users never reach the file");

    // One app at a time on a users file: the first is gone by now.
    let restarted = client_with(config());
    assert_eq!(
        login(&restarted, "DAVE", "pässwörd-ü-123"),
        Status::SeeOther
    );
    assert_eq!(logged_in_as(&restarted).as_deref(), Some("dave"));
    assert_eq!(login(&restarted, "alice", ALICE.1), Status::Unauthorized);
}

#[test]
fn signup_validates_username_and_password_with_clear_messages() {
    let client = client(&[]);
    let cases = [
        (
            "ab",
            "long-enough-pw",
            "Usernames are 3 to 32 characters long.",
        ),
        ("has space", "long-enough-pw", "Usernames use only letters"),
        (
            "erin",
            "1234567",
            "Passwords are at least 8 characters long.",
        ),
        (
            "erin",
            &"p".repeat(129),
            "Passwords are at most 128 characters long.",
        ),
        (
            "erin",
            "nul\0in-the-middle",
            "Passwords cannot hold control characters",
        ),
    ];
    for (username, password, message) in cases {
        let response = post_form(
            &client,
            "/signup",
            &[("username", username), ("password", password)],
        );
        assert_eq!(
            response.status(),
            Status::UnprocessableEntity,
            "{username}/{}",
            password.len()
        );
        let body = response.into_string().unwrap();
        assert!(body.contains(message), "{message}");
        assert!(
            !body.contains(&format!("value=\"{password}\"")),
            "the password is not echoed"
        );
    }
    assert_eq!(logged_in_as(&client), None);

    // 128 characters of any script are fine, and the name is taken after.
    assert_eq!(signup(&client, "erin", &"密".repeat(128)), Status::SeeOther);
    post_form(&client, "/logout", &[]);
    let taken = post_form(
        &client,
        "/signup",
        &[("username", "ERIN"), ("password", "whatever-123")],
    );
    assert_eq!(taken.status(), Status::Conflict);
    assert!(taken
        .into_string()
        .unwrap()
        .contains("That username is taken."));
    let taken_demo = post_form(
        &client,
        "/signup",
        &[("username", "alice"), ("password", "whatever-123")],
    );
    assert_eq!(taken_demo.status(), Status::Conflict);
    assert_eq!(login(&client, "erin", &"密".repeat(128)), Status::SeeOther);
}
