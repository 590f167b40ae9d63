//! The store contract and the bound, against a real Redis.

use std::sync::Arc;
use std::time::Duration;

use memsess::session::{Record, RedisStore, SessionId, SessionStore, StoreError};

use crate::conformance::{run_all, Limits};
use crate::redis_server::RedisServer;

pub(crate) fn store(url: &str, limits: Limits) -> Arc<dyn SessionStore> {
    Arc::new(RedisStore::with_limits(url, limits).expect("a redis URL"))
}

#[rocket::async_test]
async fn the_redis_store_keeps_the_store_contract() {
    let redis = RedisServer::start();
    let url = redis.url();
    run_all(|s| {
        let url = url.clone();
        async move { store(&url, s) }
    })
    .await;
}

pub(crate) fn record() -> Record {
    Record::new("{}", 1)
}

#[rocket::async_test]
async fn a_flood_of_new_sessions_is_bounded_and_spares_sessions_in_use() {
    let redis = RedisServer::start();
    let settings = Limits {
        max_sessions: 40,
        ..crate::conformance::LONG
    };
    let store = store(&redis.url(), settings);
    // A session whose client came back (it settles).
    let kept = SessionId::generate().key();
    store.save(&kept, None, record()).await.unwrap();
    let (_, lease) = store.acquire(&kept).await.unwrap().unwrap();
    store.release(lease);

    for _ in 0..400 {
        store
            .save(&SessionId::generate().key(), None, record())
            .await
            .unwrap();
    }
    let live = store.len().await.unwrap();
    assert!(
        (1..=40).contains(&live),
        "{live} sessions kept, bound is 40"
    );
    assert!(
        store.acquire(&kept).await.unwrap().is_some(),
        "the session in use survived the flood"
    );
}

/// The queues of addresses that come and go stay within about twice the
/// tier, as the memory store's do: those with a session in the tier (an
/// address that still has one is never forgotten, or its sessions would
/// escape its share), and those the sweep has yet to look at.
#[rocket::async_test]
async fn new_sessions_from_ever_new_addresses_leave_queues_within_twice_the_tier() {
    use memsess::session::Origin;

    let redis = RedisServer::start();
    // 100 new sessions fit.
    let settings = Limits {
        max_sessions: 400,
        ..crate::conformance::LONG
    };
    let store = store(&redis.url(), settings);
    // New visitors, and visitors who came back once: 2,000 of each.
    for i in 0..4000u32 {
        let [_, _, a, b] = i.to_be_bytes();
        let origin = Origin::of(format!("10.1.{a}.{b}").parse().unwrap());
        let key = SessionId::generate().key();
        store.create(&key, record(), Some(origin)).await.unwrap();
        if i % 2 == 1 {
            let (_, lease) = store.acquire(&key).await.unwrap().unwrap();
            store.release(lease);
        }
    }
    let mut conn = redis.connection().await;
    for (pattern, tier) in [("memsess:f:*", "new"), ("memsess:a:*", "returning")] {
        let queues: Vec<Vec<u8>> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            queues.len() <= 2 * 100 + 4,
            "{} address queues for a tier of 100 {tier} sessions",
            queues.len()
        );
    }
}

#[rocket::async_test]
async fn an_outage_fails_fast_and_the_store_recovers_by_itself() {
    let mut redis = RedisServer::start();
    let store = store(&redis.url(), crate::conformance::LONG);
    let key = SessionId::generate().key();
    store.save(&key, None, record()).await.unwrap();
    assert!(store.is_reachable());

    redis.stop();
    let started = std::time::Instant::now();
    let down = store.acquire(&key).await;
    assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed in {:?}",
        started.elapsed()
    );
    assert!(!store.is_reachable());

    redis.restart();
    // The connection manager reconnects on its own; allow it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match store
            .save(&SessionId::generate().key(), None, record())
            .await
        {
            Ok(()) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the store did not recover: {e}"),
        }
    }
    assert!(store.is_reachable());
}
