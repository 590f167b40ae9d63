//! Configuration through the real binary: overrides and refusals.

use std::time::Duration;

use crate::server::{empty_dir, launch_output, Server};

#[test]
fn the_binary_serves_from_an_empty_directory_with_built_in_templates_and_assets() {
    let server = Server::start(&[]);
    let page = server.get("/counter", None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("New session - setting counter to 0."));
    let cookie = page.session_cookie().expect("a session cookie");
    let again = server.get("/counter", Some(&cookie));
    assert!(again.body.contains("Session counter is 1."));
    let css = server.get("/static/style.css", None);
    assert_eq!(css.status, 200);
    assert!(css.body.contains(".counter"));
}

#[test]
fn rocket_session_environment_overrides_single_keys() {
    let server = Server::start(&[("ROCKET_SESSION", "{cookie_name=\"custom\",idle_timeout=1}")]);
    let first = server.get("/counter", None);
    let set = first.header("set-cookie").unwrap_or_default();
    assert!(set.starts_with("custom="), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    assert!(server
        .get("/counter", Some(&cookie))
        .body
        .contains("Session counter is 1."));
    // idle_timeout=1 took effect too.
    std::thread::sleep(Duration::from_millis(1300));
    assert!(server
        .get("/counter", Some(&cookie))
        .body
        .contains("New session"));
}

#[test]
fn a_bad_session_value_stops_the_launch_naming_the_key() {
    for (value, key) in [
        ("{idle_timeout=0}", "session.idle_timeout"),
        ("{max_sessions=\"lots\"}", "session.max_sessions"),
        ("{cookie_name=\"__Host-gsid\"}", "session.cookie_name"),
        ("{store=\"memcache://localhost\"}", "session.store"),
        ("{store=\"redis://no host:x/\"}", "session.store"),
    ] {
        let (launched, said) = launch_output(&empty_dir(), &[("ROCKET_SESSION", value)]);
        assert!(!launched, "{value} launched");
        assert!(
            said.contains(key),
            "{value}: the output does not name {key}:\n{said}"
        );
    }
}

/// A snapshot that could never be written would lose every session at the
/// next restart: a place where nothing can be written stops the launch
/// (here, a folder that would have to be made inside a file).
#[test]
fn a_snapshot_file_where_nothing_can_be_written_stops_the_launch() {
    let dir = empty_dir();
    std::fs::write(dir.join("a-file"), "not a folder").unwrap();
    let (launched, said) = launch_output(
        &dir,
        &[("ROCKET_SESSION_SNAPSHOT_FILE", "a-file/sessions.snapshot")],
    );
    assert!(
        !launched,
        "launched with an unwritable snapshot file:\n{said}"
    );
    assert!(said.contains("session.snapshot_file"), "{said}");
    // A folder that is only missing is made, as for the default.
    let server = Server::start_in(
        dir.clone(),
        &[(
            "ROCKET_SESSION_SNAPSHOT_FILE",
            "new/folder/sessions.snapshot",
        )],
    );
    assert_eq!(server.get("/healthz", None).status, 200);
    assert!(dir.join("new/folder").is_dir());
}

#[test]
fn a_session_route_without_the_fairing_refuses_to_launch() {
    // The Session guard is a Sentinel: forgetting the fairing is caught at
    // launch, not by the first visitor.
    let without = rocket::build()
        .mount("/", memsess::counter::routes())
        .configure(crate::helpers::figment(&[]));
    let Err(error) = rocket::local::blocking::Client::untracked(without) else {
        panic!("the launch was not refused")
    };
    assert!(
        matches!(error.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
        "{:?}",
        error.kind()
    );
}

#[test]
fn single_keys_can_be_set_from_the_environment_too() {
    let server = Server::start(&[
        ("ROCKET_SESSION_COOKIE_NAME", "custom"),
        ("ROCKET_SESSION_IDLE_TIMEOUT", "1"),
    ]);
    let first = server.get("/counter", None);
    let set = first.header("set-cookie").unwrap_or_default();
    assert!(set.starts_with("custom="), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(1300));
    assert!(server
        .get("/counter", Some(&cookie))
        .body
        .contains("New session"));

    // And a bad one stops the launch, naming its key.
    let (launched, said) = launch_output(&empty_dir(), &[("ROCKET_AUTH_MAX_FAILED_LOGINS", "0")]);
    assert!(!launched);
    assert!(said.contains("auth.max_failed_logins"), "{said}");
}

#[test]
fn an_idle_timeout_longer_than_its_absolute_timeout_is_warned_of_at_launch() {
    let server = Server::start(&[("ROCKET_SESSION_IDLE_TIMEOUT", "100000")]);
    let said = server.log_with("never applies");
    assert!(
        said.contains(
            "session.idle_timeout (100000 s) is longer than session.absolute_timeout (43200 s)"
        ),
        "{said}"
    );
    // A valid setting all the same: the app serves.
    assert_eq!(server.get("/counter", None).status, 200);
}
