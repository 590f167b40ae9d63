//! The per-address queues of the Redis store's shares: what they keep
//! while a tier has room, and a flood that meets a queue full of sessions
//! that moved on.

use std::sync::Arc;

use memsess::session::{Origin, Record, RedisStore, SessionId, SessionStore, StoreKey};

use crate::conformance::{Limits, LONG};
use crate::redis_server::{command_calls, RedisServer};

fn store(url: &str, limits: Limits) -> Arc<dyn SessionStore> {
    Arc::new(RedisStore::with_limits(url, limits).expect("a redis URL"))
}

fn record() -> Record {
    Record::new("{}", 1)
}

async fn comes_back(store: &dyn SessionStore, key: &StoreKey) {
    let (_, lease) = store.acquire(key).await.unwrap().unwrap();
    store.release(lease);
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

/// The address an attacker floods from.
fn flooder() -> Origin {
    Origin::of("198.51.100.9".parse().unwrap())
}

/// `count` new sessions of `origin` that each come back at once (so
/// leave the fresh tier, and their places in the address's queue behind).
async fn sessions_that_move_on(store: &dyn SessionStore, origin: Origin, count: u64) {
    for _ in 0..count {
        let k = SessionId::generate().key();
        store.create(&k, record(), Some(origin)).await.unwrap();
        comes_back(store, &k).await;
    }
}

/// A fresh tier of 2,048, crowded from 1,024; a share of 81.
fn tiers_of_2048() -> Limits {
    Limits {
        max_sessions: 8192,
        ..LONG
    }
}

/// `count` new sessions, each from an address of its own (`first` and
/// up): other visitors, crowding the tier.
async fn visitors(store: &dyn SessionStore, first: u32, count: u64) {
    for i in 0..count {
        let visitor = Origin::of(std::net::Ipv4Addr::from(first + i as u32).into());
        store
            .create(&SessionId::generate().key(), record(), Some(visitor))
            .await
            .unwrap();
    }
}

/// A store whose fresh tier holds 2,000 (crowded from 976), and one
/// session of the flooder's that stays at the front of its queue, behind
/// which 2,000 that moved on take the queue to the tier's size (and trim
/// the one that stayed off its front).
async fn a_queue_at_the_tiers_size(url: &str) -> (Arc<dyn SessionStore>, Limits) {
    let limits = Limits {
        max_sessions: 8_000,
        ..LONG
    };
    let store = store(url, limits);
    let stays = SessionId::generate().key();
    store
        .create(&stays, record(), Some(flooder()))
        .await
        .unwrap();
    sessions_that_move_on(&*store, flooder(), limits.tiers().fresh).await;
    (store, limits)
}

/// A queue that reached the tier's size (its front held by one session
/// that stayed, behind it sessions that moved on) is trimmed back to it by
/// every arrival, so its length stops counting arrivals (a clearing on
/// "every eighth" would never come again for a tier of 2,000 or 25,000);
/// it must still lose its departed sessions while the tier has room.
#[rocket::async_test]
async fn a_queue_at_the_tiers_cap_is_still_cleared_of_departed_sessions() {
    let redis = RedisServer::start();
    let (store, limits) = a_queue_at_the_tiers_size(&redis.url()).await;
    let cap = limits.tiers().fresh;
    let mut conn = redis.connection().await;
    assert!(
        zcard(&mut conn, "memsess:fresh").await < 10,
        "the tier has room"
    );
    // More of the same: every one moves on, the tier stays all but empty.
    sessions_that_move_on(&*store, flooder(), 400).await;
    // 16 cleared on every eighth arrival, or on every arrival: 400
    // arrivals shrink it by at least ~400.
    let len = llen(&mut conn, queue_of(flooder())).await;
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
    let (store, limits) = a_queue_at_the_tiers_size(&redis.url()).await;
    let cap = limits.tiers().fresh;
    let crowded = Limits::crowded_at(cap);
    let mut conn = redis.connection().await;
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
            .create(&SessionId::generate().key(), record(), Some(flooder()))
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

/// An address's queue for the anonymous tier must last as long as its
/// sessions there can, not only an idle timeout past its last arrival: a
/// returning visitor's session in use lives on (each load restarts its
/// idle clock, up to the absolute timeout), and were the queue to expire
/// under it, it would count toward no share. An address that keeps its
/// sessions in use and comes back with more only every idle timeout
/// would take a fresh share each time, in a tier that is always crowded.
#[rocket::async_test]
async fn an_addresss_queue_lasts_as_long_as_its_sessions_in_use() {
    use std::time::Duration;

    let redis = RedisServer::start();
    // An anonymous tier of 100 (always crowded), a share of 16, sessions
    // idle for 1.5 s at most.
    let limits = Limits {
        max_sessions: 400,
        idle: Duration::from_millis(1500),
        ..LONG
    };
    let share = limits.returning_per_origin();
    let store = store(&redis.url(), limits);
    let mut held = Vec::new();
    for _ in 0..3 {
        for _ in 0..share {
            let k = SessionId::generate().key();
            store.create(&k, record(), Some(flooder())).await.unwrap();
            comes_back(&*store, &k).await;
            held.push(k);
        }
        // In use, and no arrival from the address, for past the timeout.
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(800)).await;
            for k in &held {
                if let Some((_, lease)) = store.acquire(k).await.unwrap() {
                    store.release(lease);
                }
            }
        }
    }
    let mut kept = 0;
    for k in &held {
        if let Some((_, lease)) = store.acquire(k).await.unwrap() {
            store.release(lease);
            kept += 1;
        }
    }
    assert!(
        kept <= share,
        "the address holds {kept} sessions of the crowded anonymous tier (share {share})"
    );
}

/// More addresses than the tier holds sessions come and go (their
/// sessions end at once), while a flooder's sessions stay: the flooder is
/// then the address seen least recently, but its queue must not be the
/// one dropped to keep the queues no more numerous than the tier's
/// sessions, or its sessions would count toward no share and its next
/// arrivals would take a share of their own (the memory store never
/// forgets an address with a session in the tier).
#[rocket::async_test]
async fn passing_addresses_never_drop_the_queue_of_an_address_with_sessions_in_the_tier() {
    let redis = RedisServer::start();
    // A fresh tier of 100 (always crowded); a share of 16.
    let limits = Limits {
        max_sessions: 400,
        ..LONG
    };
    let (capacity, share) = (limits.tiers().fresh, limits.fresh_per_origin());
    let store = store(&redis.url(), limits);
    let new = |origin: Origin| {
        let store = store.clone();
        async move {
            let k = SessionId::generate().key();
            store.create(&k, record(), Some(origin)).await.unwrap();
            k
        }
    };
    let mut flood = Vec::new();
    for _ in 0..share {
        flood.push(new(flooder()).await);
    }
    // More addresses than the tier holds, each with a session that ends.
    for i in 0..=capacity as u32 {
        let visitor = Origin::of(std::net::Ipv4Addr::from(0x0a70_0000 + i).into());
        let k = new(visitor).await;
        store.remove(&k).await.unwrap();
    }
    for _ in 0..share {
        flood.push(new(flooder()).await);
    }
    let mut held = 0;
    for k in &flood {
        if let Some((_, lease)) = store.acquire(k).await.unwrap() {
            store.release(lease);
            held += 1;
        }
    }
    assert!(
        held <= share,
        "the address holds {held} sessions of a crowded tier (share {share})"
    );
}

/// An office whose visitors but one came back (and so left the fresh
/// tier) after its queue went past its share: once others crowd the tier,
/// their arrivals make the office make way only for sessions it still
/// has, so its one session stays (as in `shares.rs`'s unit test).
#[rocket::async_test]
async fn others_arrivals_spare_an_address_whose_later_sessions_left() {
    let redis = RedisServer::start();
    let limits = tiers_of_2048();
    let share = limits.fresh_per_origin();
    let store = store(&redis.url(), limits);
    let office = Origin::of("192.0.2.80".parse().unwrap());
    let first = SessionId::generate().key();
    store.create(&first, record(), Some(office)).await.unwrap();
    // Past the share while the tier has room; all but the first come back.
    sessions_that_move_on(&*store, office, share).await;
    visitors(
        &*store,
        0x0a30_0000,
        Limits::crowded_at(limits.tiers().fresh) + 200,
    )
    .await;
    assert!(
        store.acquire(&first).await.unwrap().is_some(),
        "the office's one session made way for sessions it no longer had"
    );
}

/// An office whose first visitor stays on a page while the later ones
/// come back, past its share while the tier has room: the places of
/// those behind the first are dropped from its queue as they leave, so
/// once the tier is crowded the office's next arrival finds it within
/// its share, and its first session stays (as in `shares.rs`'s unit
/// test). A queue that counted them would make the first one make way.
#[rocket::async_test]
async fn an_addresss_own_arrival_spares_its_session_that_stayed_before_departed_ones() {
    let redis = RedisServer::start();
    let limits = tiers_of_2048();
    let share = limits.fresh_per_origin();
    let store = store(&redis.url(), limits);
    let office = Origin::of("192.0.2.81".parse().unwrap());
    let first = SessionId::generate().key();
    store.create(&first, record(), Some(office)).await.unwrap();
    sessions_that_move_on(&*store, office, share + 10).await;
    // Others take the tier to one short of crowded; the office's next
    // session crowds it.
    visitors(
        &*store,
        0x0a40_0000,
        Limits::crowded_at(limits.tiers().fresh) - 2,
    )
    .await;
    let next = SessionId::generate().key();
    store.create(&next, record(), Some(office)).await.unwrap();
    let mut conn = redis.connection().await;
    let held = zcard(&mut conn, "memsess:fresh").await;
    assert!(
        store.acquire(&first).await.unwrap().is_some(),
        "the office's session that stayed made way for sessions it no longer had"
    );
    assert!(store.acquire(&next).await.unwrap().is_some());
    assert_eq!(
        held,
        Limits::crowded_at(limits.tiers().fresh),
        "the office's arrival crowded the tier"
    );
}

/// The commands Redis has run inside scripts so far (`INFO commandstats`,
/// less the scripts' own calls).
async fn commands_run(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    command_calls(conn)
        .await
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "evalsha" | "info"))
        .map(|(_, calls)| calls)
        .sum()
}

/// A flood in a crowded tier, from an address at its share: each of its
/// arrivals makes its oldest session make way, and the work that takes
/// stays small and bounded, whatever the queue holds: the queue's front
/// is read, checked and cut in one command each. 15 commands an arrival
/// (the new session's own included); 16 before a queue over its share
/// was cleared of departed members among its first 16, and about 30 with
/// that check made a member at a time.
#[rocket::async_test]
async fn a_crowded_flood_arrival_costs_redis_a_few_commands() {
    let redis = RedisServer::start();
    let limits = tiers_of_2048();
    let store = store(&redis.url(), limits);
    visitors(
        &*store,
        0x0a50_0000,
        Limits::crowded_at(limits.tiers().fresh),
    )
    .await;
    for _ in 0..limits.fresh_per_origin() + 20 {
        store
            .create(&SessionId::generate().key(), record(), Some(flooder()))
            .await
            .unwrap();
    }
    let mut conn = redis.connection().await;
    let before = commands_run(&mut conn).await;
    let arrivals = 100;
    for _ in 0..arrivals {
        store
            .create(&SessionId::generate().key(), record(), Some(flooder()))
            .await
            .unwrap();
    }
    let per_arrival = (commands_run(&mut conn).await - before) as f64 / f64::from(arrivals);
    assert!(
        per_arrival <= 16.0,
        "{per_arrival} commands per crowded flood arrival"
    );
    assert_eq!(
        llen(&mut conn, queue_of(flooder())).await,
        limits.fresh_per_origin(),
        "the flooder is held to its share"
    );
}
