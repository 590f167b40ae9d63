//! Sessions that outlive a restart of the real binary (the memory store's
//! snapshot and journal), and the ones that must not.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::server::{empty_dir, Server};
use crate::web::WebBrowser;

const ALICE: (&str, &str) = ("alice", "wonderland-42");

fn snapshot_file(dir: &Path) -> PathBuf {
    dir.join("data").join("sessions.snapshot")
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Waits (at most 15 s) for a snapshot written after `since`.
fn wait_for_snapshot(dir: &Path, since: SystemTime) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while modified(&snapshot_file(dir)).is_none_or(|m| m <= since) {
        assert!(Instant::now() < deadline, "no snapshot was written");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Signs in, fills a cart, counts to 1: the state a restart must keep.
fn shop(server: &Server) -> WebBrowser {
    let visitor = WebBrowser::new();
    assert_eq!(visitor.login(server, ALICE.0, ALICE.1).status, 303);
    let added = visitor.post(
        server,
        "/cart/add",
        &[("product_id", "padlock"), ("quantity", "2")],
    );
    assert_eq!(added.status, 303);
    visitor.counter(server); // the counter starts in this session
    assert_eq!(visitor.counter(server), "Session counter is 1.");
    visitor
}

/// A visitor who only counts: a new session, then 1.
fn count_to_one(server: &Server) -> WebBrowser {
    let visitor = WebBrowser::new();
    assert_eq!(
        visitor.counter(server),
        "New session - setting counter to 0."
    );
    assert_eq!(visitor.counter(server), "Session counter is 1.");
    visitor
}

fn assert_kept(visitor: &WebBrowser, server: &Server) {
    assert_eq!(
        visitor.user(server).as_deref(),
        Some("alice"),
        "still signed in"
    );
    assert_eq!(visitor.cart_count(server), 2, "the cart is kept");
    assert_eq!(
        visitor.counter(server),
        "Session counter is 2.",
        "the counter is kept"
    );
}

#[test]
fn a_graceful_restart_keeps_the_login_the_cart_and_the_counter() {
    let server = Server::start(&[]);
    let visitor = shop(&server);
    let dir = server.stop("TERM");
    let restarted = Server::start_in(dir, &[]);
    assert_kept(&visitor, &restarted);
}

#[test]
fn a_crash_after_the_snapshot_interval_keeps_them_too() {
    let env = [("ROCKET_SESSION", "{snapshot_interval=1}")];
    let server = Server::start(&env);
    let visitor = shop(&server);
    wait_for_snapshot(&server.dir, SystemTime::now());
    let dir = server.stop("KILL");
    let restarted = Server::start_in(dir, &env);
    assert_kept(&visitor, &restarted);
}

#[test]
fn a_crash_right_after_a_logout_or_signing_out_elsewhere_brings_nothing_back() {
    // A long interval: no snapshot is written between the ends and the crash.
    let env = [("ROCKET_SESSION", "{snapshot_interval=4}")];
    let server = Server::start(&env);
    let (a, b, c) = (shop(&server), shop(&server), shop(&server));
    let old_a = a.cookie("gsid");
    wait_for_snapshot(&server.dir, SystemTime::now());

    // A logs out; B signs out everywhere else, which ends C; then a crash.
    assert_eq!(a.post(&server, "/logout", &[]).status, 303);
    assert_eq!(b.post(&server, "/account/logout-others", &[]).status, 303);
    let dir = server.stop("KILL");

    let restarted = Server::start_in(dir, &env);
    a.set_cookie("gsid", old_a.as_deref());
    assert_eq!(a.user(&restarted), None, "the logged-out session came back");
    assert_eq!(
        c.user(&restarted),
        None,
        "the session ended elsewhere came back"
    );
    assert_eq!(b.user(&restarted).as_deref(), Some("alice"), "B lives on");
}

/// A login rotates the session's id. A crash before the next snapshot
/// brings the session back as the last snapshot had it (the cart, not yet
/// the login) under the new id, which the browser now holds; the old id
/// never comes back, and a session whose new id ended too (a login, then
/// a logout) brings back nothing under either.
#[test]
fn a_crash_right_after_a_login_keeps_the_cart_under_the_new_id_only() {
    let env = [("ROCKET_SESSION", "{snapshot_interval=4}")];
    let server = Server::start(&env);
    let fill = |visitor: &WebBrowser| {
        let added = visitor.post(
            &server,
            "/cart/add",
            &[("product_id", "padlock"), ("quantity", "2")],
        );
        assert_eq!(added.status, 303);
        visitor.cookie("gsid")
    };
    let (stays, leaves) = (WebBrowser::new(), WebBrowser::new());
    let (stays_before, leaves_before) = (fill(&stays), fill(&leaves));
    wait_for_snapshot(&server.dir, SystemTime::now());

    assert_eq!(stays.login(&server, ALICE.0, ALICE.1).status, 303);
    assert_eq!(leaves.login(&server, ALICE.0, ALICE.1).status, 303);
    let leaves_after = leaves.cookie("gsid");
    assert_eq!(leaves.post(&server, "/logout", &[]).status, 303);
    let dir = server.stop("KILL");

    let restarted = Server::start_in(dir, &env);
    assert_eq!(
        stays.cart_count(&restarted),
        2,
        "the cart came back under the new id"
    );
    for (visitor, id) in [
        (&stays, stays_before),
        (&leaves, leaves_before),
        (&leaves, leaves_after),
    ] {
        visitor.set_cookie("gsid", id.as_deref());
        assert_eq!(visitor.cart_count(&restarted), 0, "an ended id came back");
    }
}

/// A user switch on a shared browser (Bob signs in over Alice's session)
/// rotates her session away; she then signs out everywhere else, which
/// finds nothing of hers left to end. A crash must not bring her session
/// back into Bob's browser: the rotation's move names its new owner, and
/// a session the snapshot had signed in as someone else stays ended.
#[test]
fn a_crash_after_a_user_switch_never_signs_the_browser_in_as_the_first_user() {
    let env = [("ROCKET_SESSION", "{snapshot_interval=8}")];
    let server = Server::start(&env);
    let own = WebBrowser::new();
    assert_eq!(own.login(&server, ALICE.0, ALICE.1).status, 303);
    let shared = WebBrowser::new();
    assert_eq!(shared.login(&server, ALICE.0, ALICE.1).status, 303);
    wait_for_snapshot(&server.dir, SystemTime::now());
    let started = Instant::now();
    assert_eq!(shared.login(&server, "bob", "builder-2024").status, 303);
    assert_eq!(shared.user(&server).as_deref(), Some("bob"));
    assert_eq!(own.post(&server, "/account/logout-others", &[]).status, 303);
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "too slow for the window"
    );
    let dir = server.stop("KILL");

    let restarted = Server::start_in(dir, &env);
    assert_eq!(own.user(&restarted).as_deref(), Some("alice"));
    assert_ne!(
        shared.user(&restarted).as_deref(),
        Some("alice"),
        "alice's session came back in bob's browser after she signed out everywhere else"
    );
}

/// A visitor's cart (in a snapshot), then Alice's login and a second one
/// as `second` on that browser within one snapshot interval, then a
/// crash: the browser, and the server started again.
fn crash_after_two_logins(second: (&str, &str)) -> (WebBrowser, Server) {
    let env = [("ROCKET_SESSION", "{snapshot_interval=8}")];
    let server = Server::start(&env);
    let browser = WebBrowser::new();
    let added = browser.post(
        &server,
        "/cart/add",
        &[("product_id", "padlock"), ("quantity", "2")],
    );
    assert_eq!(added.status, 303);
    wait_for_snapshot(&server.dir, SystemTime::now());
    let started = Instant::now();
    assert_eq!(browser.login(&server, ALICE.0, ALICE.1).status, 303);
    assert_eq!(browser.login(&server, second.0, second.1).status, 303);
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "too slow for the window"
    );
    let dir = server.stop("KILL");
    (browser, Server::start_in(dir, &env))
}

/// Two rotations (a login, then another): the second move starts from
/// the first one's new key, and replaying them in order carries the
/// session along to the newest id.
#[test]
fn a_crash_after_two_rotations_keeps_the_cart_under_the_newest_id() {
    let (visitor, restarted) = crash_after_two_logins(ALICE);
    assert_eq!(
        visitor.cart_count(&restarted),
        2,
        "the cart was lost after two rotations"
    );
}

/// Alice, then Bob over her: the visitor's cart, which became Alice's, must
/// not reach Bob's id.
#[test]
fn a_crash_after_a_user_switch_brings_nothing_back_to_the_second_user() {
    let (shared, restarted) = crash_after_two_logins(("bob", "builder-2024"));
    assert_eq!(shared.cart_count(&restarted), 0, "Alice's cart reached Bob");
    assert_eq!(shared.user(&restarted), None);
}

#[test]
fn idle_and_absolute_timeouts_keep_running_while_the_server_is_down() {
    for (config, what) in [
        ("{idle_timeout=2}", "idle"),
        ("{absolute_timeout=3,idle_timeout=60}", "absolute"),
    ] {
        let env = [("ROCKET_SESSION", config)];
        let server = Server::start(&env);
        let visitor = count_to_one(&server);
        let started = Instant::now();
        let dir = server.stop("TERM");
        std::thread::sleep(Duration::from_millis(3500).saturating_sub(started.elapsed()));
        let restarted = Server::start_in(dir, &env);
        assert_eq!(
            visitor.counter(&restarted),
            "New session - setting counter to 0.",
            "{what}: the session outlived its timeout while the server was down"
        );
    }
}

#[test]
fn an_unreadable_snapshot_is_set_aside_and_the_app_starts_empty() {
    let dir = empty_dir();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(snapshot_file(&dir), "not a snapshot at all, just some text").unwrap();
    let server = Server::start_in(dir, &[]);
    count_to_one(&server);
    let aside: Vec<String> = std::fs::read_dir(server.dir.join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("sessions.snapshot.unreadable-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let kept = std::fs::read_to_string(server.dir.join("data").join(&aside[0])).unwrap();
    assert_eq!(
        kept, "not a snapshot at all, just some text",
        "kept as it was"
    );
}

#[test]
fn with_the_snapshot_off_a_restart_keeps_nothing() {
    let env = [("ROCKET_SESSION", "{snapshot_file=\"\"}")];
    let server = Server::start(&env);
    let visitor = shop(&server);
    let dir = server.stop("TERM");
    assert!(!snapshot_file(&dir).exists(), "nothing was written");
    let restarted = Server::start_in(dir, &env);
    assert_eq!(visitor.user(&restarted), None);
}

#[test]
fn the_snapshot_and_journal_hold_no_session_id_and_only_their_owner_reads_them() {
    use base64::Engine as _;
    use std::os::unix::fs::PermissionsExt as _;

    let env = [("ROCKET_SESSION", "{snapshot_interval=1}")];
    let server = Server::start(&env);
    let (kept, ended) = (shop(&server), shop(&server));
    wait_for_snapshot(&server.dir, SystemTime::now());
    // An end after a snapshot goes to the journal, which a crash leaves.
    assert_eq!(ended.post(&server, "/logout", &[]).status, 303);
    let dir = server.stop("KILL");

    let data = dir.join("data");
    let files: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("users.json"))
        .collect();
    assert!(
        files.iter().any(|p| p.ends_with("sessions.snapshot")),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .any(|p| p.to_string_lossy().contains(".ended.")),
        "{files:?}"
    );
    let id = kept.cookie("gsid").unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&id)
        .unwrap();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
        assert!(
            !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
            "{} holds the id",
            file.display()
        );
        assert!(
            !bytes.windows(raw.len()).any(|w| w == raw.as_slice()),
            "{} holds the id's bytes",
            file.display()
        );
    }
}

/// The debug profile's demo users share the data folder with runs that
/// have none: a demo alice's sessions, kept across the restart, are not
/// the sessions of an account named alice that signs up later. The new
/// account's page lists only its own browser, and the old cookie is no
/// one's session.
#[test]
fn a_new_account_does_not_inherit_sessions_its_name_had_before() {
    let server = Server::start(&[]);
    let demo = WebBrowser::new();
    assert_eq!(demo.login(&server, ALICE.0, ALICE.1).status, 303);
    let dir = server.stop("TERM");
    let restarted = Server::start_in(dir, &[("ROCKET_AUTH_DEMO_USERS", "false")]);
    let owner = WebBrowser::new();
    assert_eq!(
        owner.signup(&restarted, "alice", "her-own-password").status,
        303
    );
    let page = owner.get(&restarted, "/account").body;
    assert_eq!(
        page.matches("data-current-session").count() + page.matches("data-other-session").count(),
        1,
        "{page}"
    );
    assert_eq!(demo.user(&restarted), None);
}

/// A session of an account that is gone but not ended (here: the demo
/// user `alice`, once the demo users are turned off) is someone else's to
/// a new account that takes the same name, and a crash (no snapshot
/// since the signup) must not bring it back either.
#[test]
fn a_new_account_of_a_reused_name_does_not_get_the_old_accounts_session() {
    let server = Server::start(&[]);
    let shared = WebBrowser::new();
    assert_eq!(shared.login(&server, ALICE.0, ALICE.1).status, 303);
    let added = shared.post(
        &server,
        "/cart/add",
        &[("product_id", "padlock"), ("quantity", "2")],
    );
    assert_eq!(added.status, 303);
    let dir = server.stop("TERM");

    let env = [
        ("ROCKET_AUTH_DEMO_USERS", "false"),
        ("ROCKET_SESSION", "{snapshot_interval=600}"),
    ];
    let restarted = Server::start_in(dir, &env);
    let signed_up = shared.signup(&restarted, ALICE.0, "her-own-password");
    assert_eq!(signed_up.status, 303, "{}", signed_up.body);
    assert_eq!(shared.user(&restarted).as_deref(), Some(ALICE.0));
    assert_eq!(
        shared.cart_count(&restarted),
        0,
        "the new account got the old one's cart"
    );
    let dir = restarted.stop("KILL");

    let after_crash = Server::start_in(dir, &env);
    assert_eq!(
        shared.cart_count(&after_crash),
        0,
        "a crash brought the old account's cart back"
    );
}
