//! The per-address queues of the Redis store's shares: what they keep
//! while a tier has room, and a flood that meets a queue full of sessions
//! that moved on.

use std::sync::Arc;

use memsess::session::{Origin, Record, RedisStore, SessionId, SessionStore, StoreKey};

use crate::conformance::{Limits, LONG};
use crate::redis_server::RedisServer;

fn store(url: &str, limits: Limits) -> Arc<dyn SessionStore> {
    Arc::new(RedisStore::with_limits(url, limits).expect("a redis URL"))
}

fn record() -> Record {
    Record::new("{}", 1)
}

async fn comes_back(store: &dyn SessionStore, key: &StoreKey) {
    let (_, lease) = store.acquire(key).await.unwrap().unwrap();
    store.release(lease).await;
}

async fn conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn llen(conn: &mut redis::aio::MultiplexedConnection, key: Vec<u8>) -> u64 {
    redis::cmd("LLEN").arg(key).query_async(conn).await.unwrap()
}

async fn zcard(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> u64 {
    redis::cmd("ZCARD")
        .arg(key)
        .query_async(conn)
        .await
        .unwrap()
}

fn queue_of(origin: Origin) -> Vec<u8> {
    [b"memsess:f:".as_slice(), &origin.0].concat()
}

/// A queue that reached the tier's size (its front held by one session
/// that stayed, behind it sessions that moved on) is trimmed back to it by
/// every arrival, so its length stops counting arrivals (a clearing on
/// "every eighth" would never come again for a tier of 2,000 or 25,000);
/// it must still lose its departed sessions while the tier has room.
#[rocket::async_test]
async fn a_queue_at_the_tiers_cap_is_still_cleared_of_departed_sessions() {
    let redis = RedisServer::start();
    // A fresh tier of 2,000, crowded from 976.
    let limits = Limits {
        max_sessions: 8_000,
        ..LONG
    };
    let cap = limits.tiers().fresh;
    let store = store(&redis.url(), limits);
    let mut conn = conn(&redis.url()).await;
    let flooder = Origin::of("198.51.100.9".parse().unwrap());
    // One session that stays: the queue's front.
    let stays = SessionId::generate().key();
    store.create(&stays, record(), Some(flooder)).await.unwrap();
    // Sessions that all come back (leave the fresh tier), enough to take the
    // queue to the cap and trim the one that stayed off its front.
    for _ in 0..cap {
        let k = SessionId::generate().key();
        store.create(&k, record(), Some(flooder)).await.unwrap();
        comes_back(&*store, &k).await;
    }
    assert!(
        zcard(&mut conn, "memsess:fresh").await < 10,
        "the tier has room"
    );
    // More of the same: every one moves on, the tier stays all but empty.
    for _ in 0..400 {
        let k = SessionId::generate().key();
        store.create(&k, record(), Some(flooder)).await.unwrap();
        comes_back(&*store, &k).await;
    }
    // 16 cleared on every eighth arrival, or on every arrival: 400
    // arrivals shrink it by at least ~400.
    let len = llen(&mut conn, queue_of(flooder)).await;
    assert!(
        len < cap - 200,
        "the address's queue holds {len} entries (cap {cap}) although none of its sessions is in the tier"
    );
}

/// The same queue full of departed sessions when the tier becomes crowded:
/// the flooder's first crowded arrivals only clear dead entries (16 each)
/// and nobody makes way, so the tier grows by about a fifteenth of its
/// size; the room between crowded and full (at least 1,024, at least a
/// tenth) must absorb that, and nobody else may go.
#[rocket::async_test]
async fn a_flood_behind_a_queue_full_of_departed_sessions_evicts_only_its_own() {
    let redis = RedisServer::start();
    let limits = Limits {
        max_sessions: 8_000,
        ..LONG
    };
    let cap = limits.tiers().fresh;
    let crowded = Limits::crowded_at(cap);
    let store = store(&redis.url(), limits);
    let mut conn = conn(&redis.url()).await;
    let flooder = Origin::of("198.51.100.9".parse().unwrap());
    let stays = SessionId::generate().key();
    store.create(&stays, record(), Some(flooder)).await.unwrap();
    let mut came_back = Vec::new();
    for _ in 0..cap {
        let k = SessionId::generate().key();
        store.create(&k, record(), Some(flooder)).await.unwrap();
        comes_back(&*store, &k).await;
        came_back.push(k);
    }
    // Visitors of their own addresses take the tier to just below crowded.
    let mut visitors = Vec::new();
    for i in 0..(crowded - 2) as u32 {
        let (k, visitor) = (
            SessionId::generate().key(),
            Origin::of(std::net::Ipv4Addr::from(0x0a20_0000 + i).into()),
        );
        store.create(&k, record(), Some(visitor)).await.unwrap();
        visitors.push(k);
    }
    // The flood: new sessions that stay.
    let mut most = 0;
    for _ in 0..3 * cap {
        store
            .create(&SessionId::generate().key(), record(), Some(flooder))
            .await
            .unwrap();
        let n = zcard(&mut conn, "memsess:fresh").await;
        assert!(n <= cap, "fresh tier holds {n} > {cap}");
        most = most.max(n);
    }
    for k in &visitors {
        assert!(
            store.acquire(k).await.unwrap().is_some(),
            "a visitor was evicted by another address's flood (tier peaked at {most})"
        );
    }
    assert!(most < cap, "the tier filled ({most})");
}
