//! The gmemsess counter sequence, as a person hitting refresh sees it.

use rocket::http::Status;

use crate::helpers::{client, current_id, issued_id, set_cookies};

fn message(body: &str) -> String {
    let start = body.find("data-counter-message>").expect("counter message")
        + "data-counter-message>".len();
    body[start..].split('<').next().unwrap().to_owned()
}

#[test]
fn refreshing_the_counter_shows_the_gmemsess_sequence_then_starts_over() {
    let client = client(&[]);

    // First visit: a new session, saved with counter 0, and its cookie.
    let first = client.get("/counter").dispatch();
    assert_eq!(first.status(), Status::Ok);
    let first_id = issued_id(first.headers()).expect("a new session sets its cookie");
    assert_eq!(
        message(&first.into_string().unwrap()),
        "New session - setting counter to 0."
    );

    // Refreshes count up, with no new cookie while the session lives.
    for n in 1..=2 {
        let page = client.get("/counter").dispatch();
        assert!(
            set_cookies(page.headers()).is_empty(),
            "no Set-Cookie on refresh {n}"
        );
        assert_eq!(
            message(&page.into_string().unwrap()),
            format!("Session counter is {n}.")
        );
    }

    // At 3 the session is invalidated and the cookie removed.
    let third = client.get("/counter").dispatch();
    let removal = set_cookies(third.headers());
    assert_eq!(removal.len(), 1);
    assert!(removal[0].starts_with("gsid=;"), "{removal:?}");
    assert!(removal[0].contains("Max-Age=0"), "{removal:?}");
    assert_eq!(
        message(&third.into_string().unwrap()),
        "Session counter is 3. Invalidating cookie."
    );
    assert_eq!(current_id(&client), None);

    // Then a new session, with a new id.
    let again = client.get("/counter").dispatch();
    let new_id = issued_id(again.headers()).expect("a new cookie");
    assert_ne!(new_id, first_id);
    assert_eq!(
        message(&again.into_string().unwrap()),
        "New session - setting counter to 0."
    );
}

#[test]
fn the_old_id_is_dead_after_the_counter_invalidates_it() {
    let client = client(&[]);
    let id = issued_id(client.get("/counter").dispatch().headers()).unwrap();
    for _ in 0..3 {
        client.get("/counter").dispatch();
    }
    // Replaying the old cookie gets a new session, not the old counter.
    let replay = client
        .get("/counter")
        .header(crate::helpers::cookie_header(&format!("gsid={id}")))
        .dispatch();
    assert_eq!(
        message(&replay.into_string().unwrap()),
        "New session - setting counter to 0."
    );
}
