//! The shop: catalog, cart, checkout, and the cart under concurrency.

use std::collections::HashMap;

use rocket::http::{ContentType, Status};
use rocket::local::blocking::Client;

use memsess::auth::store::MAX_ORDERS;

use crate::helpers::{
    client, figment, form, location, logged_in_as, login, post_form, signup, Browser,
};
use crate::server::{HttpResponse, Server};

const ALICE: (&str, &str) = ("alice", "wonderland-42");

/// The value of `attr="…"` on the first element that has it.
fn attr<'a>(body: &'a str, attr: &str) -> Option<&'a str> {
    let marker = format!("{attr}=\"");
    let start = body.find(&marker)? + marker.len();
    body[start..].split('"').next()
}

/// The cart as the page shows it: product → quantity, item count, total.
fn cart_of(body: &str) -> (HashMap<String, u32>, u32, u64) {
    let mut lines = HashMap::new();
    for chunk in body.split("class=\"cart-line\"").skip(1) {
        let id = attr(chunk, "data-product-id").unwrap().to_owned();
        lines.insert(id, attr(chunk, "data-quantity").unwrap().parse().unwrap());
    }
    let count = attr(body, "data-cart-count")
        .expect("data-cart-count")
        .parse()
        .unwrap();
    let total = attr(body, "data-cart-total-cents")
        .expect("data-cart-total-cents")
        .parse()
        .unwrap();
    (lines, count, total)
}

fn cart(client: &Client) -> (HashMap<String, u32>, u32, u64) {
    cart_of(&client.get("/cart").dispatch().into_string().unwrap())
}

fn add(client: &Client, product: &str, quantity: &str) -> Status {
    post_form(
        client,
        "/cart/add",
        &[("product_id", product), ("quantity", quantity)],
    )
    .status()
}

#[test]
fn the_catalog_and_product_pages_carry_their_markers_and_pictures() {
    let client = client(&[]);
    let home = client.get("/").dispatch().into_string().unwrap();
    let products: Vec<(String, u64)> = home
        .split("data-product-id=\"")
        .skip(1)
        .map(|chunk| {
            let id = chunk.split('"').next().unwrap().to_owned();
            // The price is on the same element, right after the id.
            let rest = &chunk[id.len() + 1..chunk.find('>').unwrap()];
            (
                id,
                attr(rest, "data-price-cents")
                    .expect("price on the same element")
                    .parse()
                    .unwrap(),
            )
        })
        .collect();
    assert!(products.len() >= 6, "{products:?}");
    for (id, price) in &products {
        let page = client.get(format!("/products/{id}")).dispatch();
        assert_eq!(page.status(), Status::Ok);
        let page = page.into_string().unwrap();
        assert!(
            page.contains(&format!(
                "data-product-id=\"{id}\" data-price-cents=\"{price}\""
            )),
            "{id}"
        );
        let image = client.get(format!("/static/products/{id}.svg")).dispatch();
        assert_eq!(image.status(), Status::Ok, "{id}'s picture");
        assert_eq!(image.content_type(), Some(ContentType::SVG));
    }
    let missing = client.get("/products/no-such-thing").dispatch();
    assert_eq!(missing.status(), Status::NotFound);
    assert!(missing
        .into_string()
        .unwrap()
        .contains("There is no such product"));
}

#[test]
fn adding_updating_and_removing_keep_counts_and_totals_right() {
    let client = client(&[]);
    assert_eq!(add(&client, "rocket-mug", "2"), Status::SeeOther);
    let response = post_form(&client, "/cart/add", &[("product_id", "padlock")]);
    assert_eq!(location(&response), "/cart");
    drop(response);

    let page = client.get("/cart").dispatch().into_string().unwrap();
    assert!(
        page.contains("Added 1 × Session padlock."),
        "the flash names what was added"
    );
    let (lines, count, total) = cart_of(&page);
    assert_eq!(
        lines,
        HashMap::from([("rocket-mug".into(), 2), ("padlock".into(), 1)])
    );
    assert_eq!((count, total), (3, 2 * 1400 + 1200));
    assert!(page.contains("$40.00"));

    post_form(
        &client,
        "/cart/update",
        &[("product_id", "rocket-mug"), ("quantity", "5")],
    );
    post_form(&client, "/cart/remove", &[("product_id", "padlock")]);
    let page = client.get("/cart").dispatch().into_string().unwrap();
    assert!(page.contains("Removed Session padlock from your cart."));
    let (lines, count, total) = cart_of(&page);
    assert_eq!(lines, HashMap::from([("rocket-mug".into(), 5)]));
    assert_eq!((count, total), (5, 7000));
    // The header counts items on every page.
    assert!(client
        .get("/")
        .dispatch()
        .into_string()
        .unwrap()
        .contains("data-header-cart-count=\"5\""));

    // Setting a line to 0 removes it; setting to 0 a line that is gone
    // already (removed in another tab) says so, as removing it does, and
    // changes nothing.
    for (product, flash) in [
        ("rocket-mug", "Removed Rocket mug from your cart."),
        ("padlock", "Session padlock was not in your cart."),
    ] {
        post_form(
            &client,
            "/cart/update",
            &[("product_id", product), ("quantity", "0")],
        );
        let page = client.get("/cart").dispatch().into_string().unwrap();
        assert!(page.contains(flash), "{page}");
        assert_eq!(cart_of(&page), (HashMap::new(), 0, 0));
    }
}

/// A path, its fields, and the status and message they must get.
type BadInput<'a> = (&'a str, &'a [(&'a str, &'a str)], Status, &'a str);

#[test]
fn bad_input_gets_a_clear_4xx_page_and_leaves_the_cart_as_it_was() {
    let client = client(&[]);
    add(&client, "rocket-mug", "2");
    let before = cart(&client);
    let cases: &[BadInput] = &[
        (
            "/cart/add",
            &[("product_id", "unicorn")],
            Status::NotFound,
            "There is no such product",
        ),
        (
            "/cart/add",
            &[("quantity", "1")],
            Status::UnprocessableEntity,
            "Choose a product.",
        ),
        (
            "/cart/add",
            &[("product_id", "padlock"), ("quantity", "abc")],
            Status::UnprocessableEntity,
            "whole number from 1 to 99",
        ),
        (
            "/cart/add",
            &[("product_id", "padlock"), ("quantity", "-1")],
            Status::UnprocessableEntity,
            "whole number",
        ),
        (
            "/cart/add",
            &[("product_id", "padlock"), ("quantity", "1.5")],
            Status::UnprocessableEntity,
            "whole number",
        ),
        (
            "/cart/add",
            &[("product_id", "padlock"), ("quantity", "0")],
            Status::UnprocessableEntity,
            "whole number",
        ),
        (
            "/cart/add",
            &[("product_id", "padlock"), ("quantity", "100")],
            Status::UnprocessableEntity,
            "whole number",
        ),
        (
            "/cart/add",
            &[
                ("product_id", "padlock"),
                ("quantity", "99999999999999999999999"),
            ],
            Status::UnprocessableEntity,
            "whole number",
        ),
        (
            "/cart/update",
            &[("product_id", "rocket-mug")],
            Status::UnprocessableEntity,
            "from 0 to 99",
        ),
        (
            "/cart/update",
            &[("product_id", "rocket-mug"), ("quantity", "-3")],
            Status::UnprocessableEntity,
            "from 0 to 99",
        ),
        (
            "/cart/update",
            &[("product_id", "unicorn"), ("quantity", "1")],
            Status::NotFound,
            "no such product",
        ),
        (
            "/cart/remove",
            &[("product_id", "unicorn")],
            Status::NotFound,
            "no such product",
        ),
        (
            "/cart/remove",
            &[],
            Status::UnprocessableEntity,
            "Choose a product.",
        ),
    ];
    for (path, fields, status, message) in cases {
        let response = post_form(&client, path, fields);
        assert_eq!(response.status(), *status, "{path} {fields:?}");
        let body = response.into_string().unwrap();
        assert!(
            body.contains(message),
            "{path} {fields:?}: no {message:?} in the page"
        );
        assert_eq!(cart(&client), before, "{path} {fields:?} changed the cart");
    }
}

#[test]
fn a_line_holds_at_most_99() {
    let client = client(&[]);
    assert_eq!(add(&client, "sticker-pack", "99"), Status::SeeOther);
    let over = post_form(
        &client,
        "/cart/add",
        &[("product_id", "sticker-pack"), ("quantity", "1")],
    );
    assert_eq!(over.status(), Status::UnprocessableEntity);
    assert!(over
        .into_string()
        .unwrap()
        .contains("at most 99 of one product"));
    let set = post_form(
        &client,
        "/cart/update",
        &[("product_id", "sticker-pack"), ("quantity", "100")],
    );
    assert_eq!(set.status(), Status::UnprocessableEntity);
    assert_eq!(cart(&client).1, 99);
}

#[test]
fn every_cart_form_needs_the_csrf_token() {
    let client = client(&[]);
    add(&client, "hoodie", "1");
    let before = cart(&client);
    for path in ["/cart/add", "/cart/update", "/cart/remove", "/checkout"] {
        for token in ["", "csrf_token=forged&"] {
            let body = format!(
                "{token}{}",
                form(&[("product_id", "hoodie"), ("quantity", "3")])
            );
            let response = client
                .post(path)
                .header(ContentType::Form)
                .body(body)
                .dispatch();
            assert_eq!(
                response.status(),
                Status::Forbidden,
                "{path} with {token:?}"
            );
        }
    }
    assert_eq!(cart(&client), before);
}

#[test]
fn signing_in_over_another_users_session_starts_with_an_empty_cart() {
    let client = client(&[]);
    assert_eq!(login(&client, ALICE.0, ALICE.1), Status::SeeOther);
    add(&client, "ferris-plush", "2");
    let alices = cart(&client);
    assert_eq!(alices.1, 2);

    // Alice signing in again (a second tab, a stale form) keeps her cart.
    assert_eq!(login(&client, ALICE.0, ALICE.1), Status::SeeOther);
    assert_eq!(cart(&client), alices);

    // Bob, on the browser Alice left signed in, does not get her cart.
    assert_eq!(login(&client, "bob", "builder-2024"), Status::SeeOther);
    assert_eq!(logged_in_as(&client).as_deref(), Some("bob"));
    assert_eq!(cart(&client), (HashMap::new(), 0, 0));

    // Nor does a new account signed up over Bob's session.
    add(&client, "padlock", "1");
    assert_eq!(signup(&client, "carol", "carol-password"), Status::SeeOther);
    assert_eq!(logged_in_as(&client).as_deref(), Some("carol"));
    assert_eq!(cart(&client), (HashMap::new(), 0, 0));
}

#[test]
fn an_anonymous_checkout_logs_in_keeps_the_cart_and_places_the_order() {
    let client = client(&[]);
    add(&client, "ferris-plush", "2");
    add(&client, "cookie-jar", "1");
    let cart_before = cart(&client);

    // Checkout asks for a login and comes back to the cart.
    let checkout = post_form(&client, "/checkout", &[]);
    assert_eq!(checkout.status(), Status::SeeOther);
    assert_eq!(location(&checkout), "/login?next=/cart");
    drop(checkout);
    let logged_in = post_form(
        &client,
        "/login",
        &[
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("next", "/cart"),
        ],
    );
    assert_eq!(location(&logged_in), "/cart");
    drop(logged_in);
    assert_eq!(cart(&client), cart_before, "the cart survives the login");

    // Checkout answers with a redirect to the order, never the page itself.
    let placed = post_form(&client, "/checkout", &[]);
    assert_eq!(placed.status(), Status::SeeOther);
    let target = location(&placed);
    drop(placed);
    let id = target
        .strip_prefix("/orders/")
        .expect("a redirect to the order");
    let order = client.get(target.clone()).dispatch();
    assert_eq!(order.status(), Status::Ok);
    let order = order.into_string().unwrap();
    assert_eq!(attr(&order, "data-order-id"), Some(id));
    assert_eq!(attr(&order, "data-order-total-cents"), Some("6600"));
    assert!(order.contains("data-product-id=\"ferris-plush\" data-quantity=\"2\""));
    assert!(order.contains("data-product-id=\"cookie-jar\" data-quantity=\"1\""));
    assert!(order.contains("$66.00") && order.contains("is placed"));
    assert_eq!(
        cart(&client),
        (HashMap::new(), 0, 0),
        "checkout empties the cart"
    );

    // An empty cart cannot be checked out.
    let again = post_form(&client, "/checkout", &[]);
    assert_eq!(again.status(), Status::UnprocessableEntity);
    assert!(again.into_string().unwrap().contains("Your cart is empty"));
}

/// Checkout has no rate limit, so an account keeps a bounded number of
/// orders: past it, checkout is refused with a clear page and the cart
/// stays as it was.
#[test]
fn an_account_keeps_at_most_max_orders_and_the_refused_checkout_keeps_the_cart() {
    let client = client(&[]);
    assert_eq!(login(&client, ALICE.0, ALICE.1), Status::SeeOther);
    for _ in 0..MAX_ORDERS {
        add(&client, "padlock", "1");
        let placed = post_form(&client, "/checkout", &[]);
        assert_eq!(placed.status(), Status::SeeOther);
    }
    add(&client, "padlock", "3");
    let refused = post_form(&client, "/checkout", &[]);
    assert_eq!(refused.status(), Status::Conflict);
    let page = refused.into_string().unwrap();
    assert!(page.contains(&format!("{MAX_ORDERS} orders")), "{page}");
    // Not a session that ended: the page says what did not happen.
    assert!(
        page.contains("Not done") && !page.contains("Session ended"),
        "{page}"
    );
    assert_eq!(cart(&client).1, 3, "the cart is kept");
    let account = client.get("/account").dispatch().into_string().unwrap();
    assert_eq!(account.matches("data-order-id=").count(), MAX_ORDERS);
}

#[test]
fn one_visitor_never_sees_anothers_cart_and_logout_ends_the_cart() {
    let app = Client::untracked(memsess::rocket_with(figment(&[]))).unwrap();
    let (a, b) = (Browser::new(&app), Browser::new(&app));
    a.post_form("/cart/add", &[("product_id", "hoodie"), ("quantity", "2")]);
    b.post_form("/cart/add", &[("product_id", "padlock"), ("quantity", "7")]);
    let (a_lines, _, _) = cart_of(&a.get("/cart").into_string().unwrap());
    let (b_lines, _, _) = cart_of(&b.get("/cart").into_string().unwrap());
    assert_eq!(a_lines, HashMap::from([("hoodie".into(), 2)]));
    assert_eq!(b_lines, HashMap::from([("padlock".into(), 7)]));

    assert_eq!(a.login(ALICE.0, ALICE.1), Status::SeeOther);
    a.post_form("/logout", &[]);
    assert_eq!(
        cart_of(&a.get("/cart").into_string().unwrap()).1,
        0,
        "logging out ends the cart"
    );
}

// ---- through the real server ----

/// A visitor of a real server: a cookie and the session's CSRF token.
struct Visitor<'s> {
    server: &'s Server,
    cookie: String,
    token: String,
}

impl<'s> Visitor<'s> {
    fn arrive(server: &'s Server) -> Self {
        let home = server.get("/", None);
        let cookie = home
            .session_cookie()
            .expect("the catalog starts a session for its forms");
        let token = crate::helpers::csrf_in(&home.body);
        Visitor {
            server,
            cookie,
            token,
        }
    }

    fn post(&self, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
        let mut all = vec![("csrf_token", self.token.as_str())];
        all.extend_from_slice(pairs);
        self.server
            .request("POST", path, &[("Cookie", &self.cookie)], &form(&all))
    }

    fn cart(&self) -> (HashMap<String, u32>, u32, u64) {
        cart_of(&self.server.get("/cart", Some(&self.cookie)).body)
    }
}

#[test]
fn fifty_parallel_adds_to_one_session_through_the_real_server_all_count() {
    let server = Server::start(&[]);
    let visitor = Visitor::arrive(&server);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                s.spawn(|| {
                    visitor
                        .post("/cart/add", &[("product_id", "rocket-mug")])
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    let (lines, count, total) = visitor.cart();
    assert_eq!(count, 50);
    assert_eq!(lines["rocket-mug"], 50);
    assert_eq!(total, 50 * 1400);
}

#[test]
fn a_cart_change_racing_a_logout_does_not_revive_the_session() {
    let server = Server::start(&[]);
    let mut visitor = Visitor::arrive(&server);
    let login = visitor.post("/login", &[("username", ALICE.0), ("password", ALICE.1)]);
    assert_eq!(login.status, 303);
    visitor.cookie = login.session_cookie().expect("login rotates the id");
    let account = server.get("/account", Some(&visitor.cookie));
    visitor.token = crate::helpers::csrf_in(&account.body);
    assert_eq!(
        visitor
            .post("/cart/add", &[("product_id", "hourglass")])
            .status,
        303
    );

    let responses: Vec<HttpResponse> = std::thread::scope(|s| {
        let mut handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| visitor.post("/cart/add", &[("product_id", "hourglass")])))
            .collect();
        handles.insert(10, s.spawn(|| visitor.post("/logout", &[])));
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Adds before the logout counted; adds after it found no session and no
    // token (403). None of them made a session or brought the old one back;
    // only the logout hands out a fresh one, for its "signed out" message.
    assert!(
        responses.iter().all(|r| r.status == 303 || r.status == 403),
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let logout = &responses[10];
    assert!(
        (responses.iter().enumerate()).all(|(i, r)| i == 10 || r.session_cookie().is_none()),
        "no add hands out a session"
    );
    let fresh = logout
        .session_cookie()
        .expect("the logout's message session");
    let fresh_cart = server.get("/cart", Some(&fresh));
    assert_eq!(
        cart_of(&fresh_cart.body).1,
        0,
        "the fresh session has no cart"
    );
    assert!(!fresh_cart.body.contains("data-user="));
    let after = server.get("/cart", Some(&visitor.cookie));
    assert_eq!(cart_of(&after.body).1, 0, "the old session is gone");
    assert!(!after.body.contains("data-user="), "and logged out");
}

#[test]
fn parallel_adds_of_different_products_all_appear() {
    let server = Server::start(&[]);
    let visitor = Visitor::arrive(&server);
    let ids = [
        "rocket-mug",
        "ferris-plush",
        "cookie-jar",
        "hourglass",
        "padlock",
        "tote-bag",
        "sticker-pack",
        "hoodie",
    ];
    std::thread::scope(|s| {
        for id in ids {
            for _ in 0..3 {
                let visitor = &visitor;
                s.spawn(move || {
                    assert_eq!(
                        visitor
                            .post("/cart/add", &[("product_id", id), ("quantity", "2")])
                            .status,
                        303
                    )
                });
            }
        }
    });
    let (lines, count, _) = visitor.cart();
    assert_eq!(count, 48);
    assert!(ids.iter().all(|id| lines[*id] == 6), "{lines:?}");
}

/// An error page between a form and the page it leads to (a prefetch, a
/// missing image, a mistyped address) shows who is signed in and the cart,
/// and leaves the form's message for that page.
#[test]
fn an_error_page_leaves_the_flash_for_the_next_page() {
    let client = client(&[]);
    assert_eq!(login(&client, "alice", "wonderland-42"), Status::SeeOther);
    assert_eq!(add(&client, "padlock", "1"), Status::SeeOther);
    // Pages that find nothing, whether before any handler or in one that
    // looks something up first (a product, an order).
    for path in [
        "/static/missing.png",
        "/no/such/page",
        "/products/no-such-product",
        "/orders/no-such-order",
    ] {
        let response = client.get(path).dispatch();
        assert_eq!(response.status(), Status::NotFound, "{path}");
        let page = response.into_string().unwrap();
        assert!(
            page.contains("data-header-cart-count=\"1\""),
            "{path}: {page}"
        );
        assert!(!page.contains("Added 1 × Session padlock."), "{path}");
    }
    let page = client.get("/cart").dispatch().into_string().unwrap();
    assert!(page.contains("Added 1 × Session padlock."), "{page}");
}
