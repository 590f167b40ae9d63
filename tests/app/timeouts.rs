//! Idle timeout (sliding) and absolute timeout, with short configured times.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::helpers::{client, max_age, set_cookies};

fn incr(client: &rocket::local::blocking::Client) -> u64 {
    client
        .get("/test/incr")
        .dispatch()
        .into_string()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_session_left_idle_past_the_idle_timeout_is_gone() {
    let client = client(&[("session.idle_timeout", 1)]);
    assert_eq!(incr(&client), 1);
    assert_eq!(incr(&client), 2);
    sleep(Duration::from_millis(1300));
    assert_eq!(incr(&client), 1, "the idle session should have expired");
}

#[test]
fn each_request_restarts_the_idle_clock() {
    let client = client(&[("session.idle_timeout", 3)]);
    assert_eq!(incr(&client), 1);
    // Four requests 1.2 s apart: 4.8 s in all, well past the timeout, but
    // never 3 s idle (1.8 s of slack for a busy CI machine).
    for n in 2..=5 {
        sleep(Duration::from_millis(1200));
        assert_eq!(incr(&client), n, "the session should have stayed alive");
    }
}

#[test]
fn the_absolute_timeout_ends_even_a_busy_session() {
    let client = client(&[
        ("session.idle_timeout", 60),
        ("session.absolute_timeout", 3),
    ]);
    let started = Instant::now();
    assert_eq!(incr(&client), 1);
    // Busy for about 1.5 s, well inside the 3 s.
    for n in 2..=4 {
        sleep(Duration::from_millis(500));
        assert_eq!(incr(&client), n);
    }
    // Then past the deadline, however long the requests above took.
    sleep(Duration::from_millis(3300).saturating_sub(started.elapsed()));
    assert_eq!(
        incr(&client),
        1,
        "the session should have hit its absolute timeout"
    );
}

#[test]
fn a_remembered_session_outlives_the_idle_timeout_and_its_cookie_ends_with_it() {
    let client = client(&[
        ("session.idle_timeout", 1),
        ("session.remember_idle_timeout", 60),
        ("session.remember_absolute_timeout", 4),
    ]);
    let started = Instant::now();
    assert_eq!(incr(&client), 1);
    let response = client.get("/test/remember").dispatch();
    let cookie = set_cookies(response.headers())
        .into_iter()
        .find(|c| c.starts_with("gsid="))
        .expect("the remembered cookie");
    // The browser keeps it as long as the server does: until the deadline.
    let max_age = max_age(cookie).expect("a remembered cookie has a Max-Age");
    assert!((3..=4).contains(&max_age), "Max-Age={max_age}");
    drop(response);

    // Idle for longer than the ordinary timeout: still there.
    sleep(Duration::from_millis(1500));
    assert_eq!(
        incr(&client),
        2,
        "a remembered session uses the longer idle timeout"
    );
    // Past its own absolute deadline: gone.
    sleep(Duration::from_millis(4300).saturating_sub(started.elapsed()));
    assert_eq!(incr(&client), 1, "past the remembered absolute timeout");
}
