//! The gmemsess counter sequence, as a person hitting refresh sees it,
//! and the two cases gmemsess never met: a session that already exists,
//! and a link from another site.

use rocket::http::{Header, Status};
use rocket::local::blocking::{Client, LocalResponse};

use crate::helpers::{
    async_client, client, current_id, issued_id, logged_in_as, login, post_form, set_cookies,
    store_of,
};

/// What a browser adds to a navigation that a link on another site began.
fn from_another_site() -> Header<'static> {
    Header::new("Sec-Fetch-Site", "cross-site")
}

/// The cart's item count, as `/cart` shows it.
fn cart_count(client: &Client) -> String {
    let body = client.get("/cart").dispatch().into_string().unwrap();
    let start = body.find("data-cart-count=\"").expect("a cart count") + "data-cart-count=\"".len();
    body[start..].split('"').next().unwrap().to_owned()
}

fn counter_from_another_site(client: &Client) -> LocalResponse<'_> {
    client
        .get("/counter")
        .header(from_another_site())
        .dispatch()
}

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

#[test]
fn the_first_visit_in_a_session_from_the_shop_starts_the_counter_at_0_then_counts() {
    let client = client(&[]);
    // The visitor shops first: the session exists and has no counter.
    assert_eq!(
        post_form(&client, "/cart/add", &[("product_id", "padlock")]).status(),
        Status::SeeOther
    );
    let id = current_id(&client).expect("a session");

    let first = client.get("/counter").dispatch();
    assert!(
        set_cookies(first.headers()).is_empty(),
        "the session is the same, so no new cookie"
    );
    let first = message(&first.into_string().unwrap());
    assert_eq!(first, "Existing session - setting counter to 0.");
    assert_ne!(first, "Session counter is 0.");

    for n in 1..=2 {
        let page = client.get("/counter").dispatch().into_string().unwrap();
        assert_eq!(message(&page), format!("Session counter is {n}."));
    }
    assert_eq!(current_id(&client), Some(id));
    assert_eq!(cart_count(&client), "1", "counting kept the cart");
    assert_eq!(
        message(&client.get("/counter").dispatch().into_string().unwrap()),
        "Session counter is 3. Invalidating cookie."
    );
    assert_eq!(cart_count(&client), "0", "at 3 the whole session ends");
}

#[test]
fn four_links_from_another_site_leave_a_signed_in_shopper_and_the_counter_alone() {
    let client = client(&[]);
    post_form(
        &client,
        "/cart/add",
        &[("product_id", "padlock"), ("quantity", "2")],
    );
    client.get("/counter").dispatch(); // 0
    client.get("/counter").dispatch(); // 1
    assert_eq!(login(&client, "alice", "wonderland-42"), Status::SeeOther);
    let id = current_id(&client);
    // The login left its welcome flash for the next page.

    // Counted, these would reach 3 and end the session.
    for visit in 1..=4 {
        let page = counter_from_another_site(&client);
        assert_eq!(page.status(), Status::Ok, "visit {visit}");
        assert!(
            set_cookies(page.headers()).is_empty(),
            "visit {visit} set a cookie"
        );
        let body = page.into_string().unwrap();
        assert_eq!(message(&body), "Session counter is 1.", "visit {visit}");
        assert!(body.contains("data-counter-not-counted"), "visit {visit}");
        assert!(body.contains("data-user=\"alice\""), "visit {visit}");
        assert!(
            !body.contains("class=\"flash"),
            "visit {visit} showed the flash, which is the next page's"
        );
    }

    assert_eq!(current_id(&client), id);
    let account = client.get("/account").dispatch().into_string().unwrap();
    assert!(
        account.contains("Welcome back, alice."),
        "the flash was kept for the next page"
    );
    assert_eq!(logged_in_as(&client).as_deref(), Some("alice"));
    assert_eq!(cart_count(&client), "2");
    // The stored count did not move: the next counted visit is 2.
    assert_eq!(
        message(&client.get("/counter").dispatch().into_string().unwrap()),
        "Session counter is 2."
    );
}

#[test]
fn a_link_from_another_site_to_a_shop_session_without_a_counter_changes_nothing() {
    let client = client(&[]);
    post_form(&client, "/cart/add", &[("product_id", "padlock")]);
    let body = counter_from_another_site(&client).into_string().unwrap();
    assert_eq!(message(&body), "This session has no counter yet.");
    // Had it been counted, this would be "Session counter is 1.".
    assert_eq!(
        message(&client.get("/counter").dispatch().into_string().unwrap()),
        "Existing session - setting counter to 0."
    );
}

#[rocket::async_test]
async fn a_link_from_another_site_stores_no_session_and_sets_no_cookie() {
    let client = async_client(&[]).await;
    let store = store_of(client.rocket());
    for _ in 0..4 {
        let page = client
            .get("/counter")
            .header(from_another_site())
            .dispatch()
            .await;
        assert_eq!(page.status(), Status::Ok);
        assert!(set_cookies(page.headers()).is_empty());
        let body = page.into_string().await.unwrap();
        assert_eq!(message(&body), "No session yet.");
        assert!(body.contains("data-counter-not-counted"));
    }
    assert_eq!(store.len().await, Ok(0));

    // The same page reached from this site starts gmemsess's sequence.
    let page = client.get("/counter").dispatch().await;
    assert!(issued_id(page.headers()).is_some());
    assert_eq!(store.len().await, Ok(1));
}

#[test]
fn links_from_this_site_or_typed_addresses_count() {
    let client = client(&[]);
    for (site, expected) in [
        ("same-origin", "New session - setting counter to 0."),
        ("none", "Session counter is 1."),
        ("same-site", "Session counter is 2."),
    ] {
        let page = client
            .get("/counter")
            .header(Header::new("Sec-Fetch-Site", site))
            .dispatch();
        assert_eq!(message(&page.into_string().unwrap()), expected, "{site}");
    }
}
