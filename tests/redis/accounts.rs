//! Accounts, orders and lockouts in Redis, shared by several instances.

use std::sync::Arc;
use std::time::{Duration, Instant};

use memsess::auth::store::{AccountStore, DemoAccounts, RedisStore};

use crate::account_conformance::run_all;
use crate::redis_server::RedisServer;
use crate::server::{empty_dir, Server};
use crate::web::{attr, WebBrowser};

#[rocket::async_test]
async fn the_redis_store_keeps_the_account_store_contract() {
    let redis = RedisServer::start();
    let url = redis.url();
    run_all(|| {
        let url = url.clone();
        async move {
            Arc::new(RedisStore::new(&url, DemoAccounts::none()).unwrap()) as Arc<dyn AccountStore>
        }
    })
    .await;
}

/// Two instances on one Redis, each in a folder of its own (no file is shared).
fn two(redis: &RedisServer, auth: &str) -> (Server, Server) {
    let store = format!("{{store=\"{}\"}}", redis.url());
    let auth = format!("{{store=\"{}\", {auth}}}", redis.url());
    let start = || {
        Server::start_in(
            empty_dir(),
            &[("ROCKET_SESSION", &store), ("ROCKET_AUTH", &auth)],
        )
    };
    (start(), start())
}

#[test]
fn a_name_signed_up_on_one_instance_cannot_be_taken_on_another() {
    let redis = RedisServer::start();
    let (a, b) = two(&redis, "max_failed_logins=5");
    let first = WebBrowser::new();
    assert_eq!(first.signup(&a, "carol", "carols-password").status, 303);

    // The double signup on B, with another password, is refused.
    let second = WebBrowser::new();
    let refused = second.signup(&b, "Carol", "strangers-password");
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("That username is taken."));

    // The first owner keeps the account and logs in on both.
    for server in [&a, &b] {
        let owner = WebBrowser::new();
        assert_eq!(owner.login(server, "carol", "carols-password").status, 303);
        assert_eq!(
            WebBrowser::new()
                .login(server, "carol", "strangers-password")
                .status,
            401
        );
    }
    assert_eq!(first.user(&b).as_deref(), Some("carol"));
}

#[test]
fn failed_logins_count_across_instances() {
    let redis = RedisServer::start();
    let (a, b) = two(&redis, "max_failed_logins=3, max_failed_logins_per_ip=1000");
    let attacker = WebBrowser::new();
    assert_eq!(attacker.login(&a, "alice", "guess-one").status, 401);
    assert_eq!(attacker.login(&b, "alice", "guess-two").status, 401);
    assert_eq!(attacker.login(&a, "alice", "guess-three").status, 401);
    // Three in all: locked on both, not 3 per instance.
    for server in [&a, &b] {
        let locked = WebBrowser::new().login(server, "alice", "wonderland-42");
        assert_eq!(locked.status, 429);
        assert!(locked.header("retry-after").is_some());
    }
}

#[test]
fn an_order_placed_on_one_instance_is_seen_on_the_other() {
    let redis = RedisServer::start();
    let (a, b) = two(&redis, "max_failed_logins=5");
    let buyer = WebBrowser::new();
    assert_eq!(buyer.signup(&a, "olga", "olgas-password").status, 303);
    let id = buyer.buy(&a, "hoodie", "2");

    let page = buyer.get(&b, &format!("/orders/{id}"));
    assert_eq!(page.status, 200);
    assert_eq!(attr(&page.body, "data-order-id"), Some(id.as_str()));
    assert!(page
        .body
        .contains("data-product-id=\"hoodie\" data-quantity=\"2\""));
    assert!(buyer
        .get(&b, "/account")
        .body
        .contains(&format!("data-order-id=\"{id}\"")));
    // Someone else, on either instance, gets nothing.
    let other = WebBrowser::new();
    other.login(&b, "bob", "builder-2024");
    assert_eq!(other.get(&b, &format!("/orders/{id}")).status, 404);
}

#[test]
fn a_password_change_on_one_instance_signs_the_user_out_on_the_other() {
    let redis = RedisServer::start();
    let (a, b) = two(&redis, "max_failed_logins=5");
    let (here, there) = (WebBrowser::new(), WebBrowser::new());
    assert_eq!(here.signup(&a, "pat", "old-password").status, 303);
    assert_eq!(there.login(&b, "pat", "old-password").status, 303);

    let pairs = [
        ("current_password", "old-password"),
        ("new_password", "new-password"),
    ];
    assert_eq!(here.post(&a, "/account/password", &pairs).status, 303);
    assert_eq!(there.get(&b, "/account").status, 303, "signed out on B");
    assert_eq!(
        WebBrowser::new().login(&b, "pat", "old-password").status,
        401
    );
    assert_eq!(
        WebBrowser::new().login(&b, "pat", "new-password").status,
        303
    );
    assert_eq!(
        here.get(&b, "/account").status,
        200,
        "the one that changed it lives on"
    );
}

#[test]
fn while_redis_is_down_account_pages_answer_503_and_recover_by_themselves() {
    let mut redis = RedisServer::start();
    // Sessions in memory, accounts in Redis: the outage is the account store's.
    let auth = format!("{{store=\"{}\"}}", redis.url());
    let app = Server::start(&[("ROCKET_AUTH", &auth)]);
    let browser = WebBrowser::new();
    redis.stop();
    let refused = browser.signup(&app, "dana", "danas-password");
    assert_eq!(refused.status, 503);
    assert!(refused.body.contains("Temporarily unavailable"));

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = WebBrowser::new()
            .signup(&app, "dana", "danas-password")
            .status;
        if status == 303 {
            break;
        }
        assert!(Instant::now() < deadline, "not recovered: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_first_requests_after_redis_restarts_while_idle_are_served() {
    let mut redis = RedisServer::start();
    let stores = format!("{{store=\"{}\"}}", redis.url());
    let app = Server::start(&[("ROCKET_SESSION", &stores), ("ROCKET_AUTH", &stores)]);
    // Both stores have talked to Redis, so both hold a connection.
    let warm = WebBrowser::new();
    assert_eq!(warm.login(&app, "alice", "wonderland-42").status, 303);

    // Redis restarts while the app is idle: every connection it had is dead.
    redis.restart();
    let browser = WebBrowser::new();
    let page = browser.get(&app, "/login");
    assert_eq!(
        page.status, 200,
        "the first session request after the restart"
    );
    let login = browser.login(&app, "alice", "wonderland-42");
    assert_eq!(
        login.status, 303,
        "the first account request after the restart"
    );
}
