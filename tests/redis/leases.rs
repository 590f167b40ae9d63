//! The Redis store's leases: requests on one session take turns, within
//! one instance in the process and across instances through Redis, with
//! a place in line for a request that waits for another instance, and
//! leases left by a crashed instance, renewed while held, and given back
//! in an outage, after a lost reply or a cancelled request.

use std::sync::Arc;
use std::time::Duration;

use memsess::session::{SessionId, SessionStore, StoreError, StoreKey};

use crate::redis_server::{command_calls, RedisServer};
use crate::store::{record, store};

/// Sets a lease on `key` as an instance that then crashed would leave it:
/// the lease fields of the session's hash, lapsing `ms` from now by
/// Redis's clock (see `src/session/redis_scripts.rs`).
async fn leave_a_lease(redis: &RedisServer, key: &StoreKey, ms: u64) {
    let mut conn = redis.connection().await;
    let record = [b"memsess:s:".as_slice(), &key.0].concat();
    let _: i64 = redis::Script::new(
        "local t = redis.call('TIME') \
         local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) \
         redis.call('HSET', KEYS[1], 'k', 'token-of-a-dead-instance', 'x', now + tonumber(ARGV[1])) \
         return 1",
    )
    .key(record)
    .arg(ms)
    .invoke_async(&mut conn)
    .await
    .unwrap();
}

#[rocket::async_test]
async fn a_lease_left_by_a_crashed_instance_costs_a_wait_never_an_error() {
    let (redis, store, key) = a_session().await;
    // As long as any lease can live without its holder renewing it.
    leave_a_lease(&redis, &key, 5_000).await;

    let loaded = store.acquire(&key).await;
    assert!(
        matches!(loaded, Ok(Some(_))),
        "the next request on the session got {loaded:?}"
    );
}

/// The session reads Redis has run: one by each load script, and one by
/// each release script for each lease it gives back.
async fn loads_run(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    command_calls(conn).await.get("hmget").copied().unwrap_or(0)
}

/// Two requests of one instance on one session (a page and its scripts'
/// calls, a double click): the second waits its turn in the process and
/// asks Redis once, when the first gives the session back. Polling Redis
/// instead cost a load script every few milliseconds while it waited, and
/// left it asleep for up to 50 ms after the session was free; under load
/// those sleeps were the Redis store's p99.
#[rocket::async_test]
async fn a_request_waits_its_turn_in_the_process_not_by_polling_redis() {
    let (redis, store, key) = a_session().await;
    let (_, held) = store.acquire(&key).await.unwrap().unwrap();
    let mut conn = redis.connection().await;
    let before = loads_run(&mut conn).await;

    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.acquire(&key).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "both requests had the session at once"
    );
    assert_eq!(
        loads_run(&mut conn).await - before,
        0,
        "the waiting request asked Redis while the session was in use"
    );
    store.release(held);
    let next = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting request gets the session once it is given back")
        .unwrap();
    assert!(matches!(next, Ok(Some(_))), "{next:?}");
    // Its load, and the release script's read if the first lease's release
    // reached Redis before the load took that lease over.
    let reads = loads_run(&mut conn).await - before;
    assert!(
        (1..=2).contains(&reads),
        "{reads} session reads once its turn came: one load"
    );
}

/// The renewal is seen by another instance: the waiter is on a second
/// store, so it asks Redis (one of this instance's own requests would wait
/// in the process, whatever Redis holds).
#[rocket::async_test]
async fn a_lease_is_renewed_while_its_request_runs() {
    let redis = RedisServer::start();
    let store = store(&redis.url(), crate::conformance::LONG);
    let other_instance = self::store(&redis.url(), crate::conformance::LONG);
    let key = SessionId::generate().key();
    store.save(&key, None, record()).await.unwrap();
    let (_, held) = store.acquire(&key).await.unwrap().unwrap();

    let waiting = tokio::spawn(async move { other_instance.acquire(&key).await });
    // Longer than a lease lives unrenewed: the holder still has it.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        !waiting.is_finished(),
        "another request got in while the first was still running"
    );
    store.release(held);
    let next = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting request gets the lease once it is given back")
        .unwrap();
    assert!(matches!(next, Ok(Some(_))), "{next:?}");
}

/// A store on a Redis of its own, and a session in it (the server lives
/// as long as the first item is kept).
async fn a_session() -> (RedisServer, Arc<dyn SessionStore>, StoreKey) {
    let redis = RedisServer::start();
    let store = store(&redis.url(), crate::conformance::LONG);
    let key = SessionId::generate().key();
    store.save(&key, None, record()).await.unwrap();
    (redis, store, key)
}

/// As [`a_session`], with a second instance's store on the same Redis.
async fn two_instances() -> (
    RedisServer,
    Arc<dyn SessionStore>,
    Arc<dyn SessionStore>,
    StoreKey,
) {
    let (redis, here, key) = a_session().await;
    let elsewhere = store(&redis.url(), crate::conformance::LONG);
    (redis, here, elsewhere, key)
}

/// Two requests of one instance keep a session busy back to back (each
/// holds it 20 ms, then pauses 5 ms, as a browser's overlapping requests
/// would), handing it to each other in the process; a request of another
/// instance on the same session still gets its turn soon, where it was
/// kept out until it gave up after 10 s: once it waits in line in Redis,
/// nobody else takes the lease.
#[rocket::async_test]
async fn another_instance_gets_its_turn_between_requests_that_hand_a_session_on() {
    let (_redis, here, elsewhere, key) = two_instances().await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy_here: Vec<_> = (0..2)
        .map(|_| {
            let (here, done) = (here.clone(), done.clone());
            tokio::spawn(async move {
                // Bounded: the other instance's wait, at most 10 s, ends it sooner.
                for _ in 0..1000 {
                    if done.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let (_, lease) = here.acquire(&key).await.unwrap().unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    here.release(lease);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = std::time::Instant::now();
    let got = elsewhere.acquire(&key).await;
    let waited = started.elapsed();
    let turn = matches!(&got, Ok(Some(_)));
    drop(got);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in busy_here {
        task.await.unwrap();
    }
    assert!(turn, "the other instance's request failed after {waited:?}");
    assert!(
        waited < Duration::from_secs(2),
        "the other instance's request waited {waited:?}"
    );
}

/// Redis hangs (a paused server answers nothing): five requests of one
/// instance on one session all fail when the first one's command times
/// out, not one after another, each a response timeout (2 s) after the
/// one before it.
#[rocket::async_test]
async fn when_redis_hangs_the_requests_waiting_for_a_session_fail_together() {
    let (redis, store, key) = a_session().await;
    let mut conn = redis.connection().await;
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(10_000)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let requests: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let outcome = store.acquire(&key).await;
                (started.elapsed(), outcome.map(|found| found.is_some()))
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for request in requests {
        outcomes.push(request.await.unwrap());
    }
    let _: redis::RedisResult<()> = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut conn)
        .await;
    for (after, outcome) in &outcomes {
        assert!(
            matches!(outcome, Err(StoreError::Unavailable(_))),
            "{outcome:?} after {after:?}"
        );
        assert!(
            *after < Duration::from_secs(4),
            "a request failed only after {after:?}: {outcomes:?}"
        );
    }
}

/// A request of another instance holds the session while one of this
/// instance waits in line, and the waiter is cancelled (its client went
/// away): the next request, of either instance, gets the session at once
/// rather than waiting for the waiter's place in line to go stale.
#[rocket::async_test]
async fn a_cancelled_waiter_holds_nobody_up() {
    let (_redis, here, elsewhere, key) = two_instances().await;
    for next_from_here in [false, true] {
        let (_, held) = elsewhere.acquire(&key).await.unwrap().unwrap();
        let waiter = tokio::spawn({
            let here = here.clone();
            async move { here.acquire(&key).await.map(|found| found.is_some()) }
        });
        // Long enough to have asked Redis a few times, so it is in line.
        tokio::time::sleep(Duration::from_millis(120)).await;
        waiter.abort();
        let _ = waiter.await;
        elsewhere.release(held);

        let next = if next_from_here { &here } else { &elsewhere };
        let started = std::time::Instant::now();
        let (_, lease) = next.acquire(&key).await.unwrap().unwrap();
        let waited = started.elapsed();
        next.release(lease);
        assert!(
            waited < Duration::from_millis(150),
            "the next request ({}) waited {waited:?} behind a cancelled waiter",
            if next_from_here {
                "its instance's"
            } else {
                "the other instance's"
            }
        );
        // Both leases given back before the next round.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An error about one key (an owner's index that is not a set) is that
/// operation's alone: a request waiting for its turn on another session
/// still gets it. Only Redis being away or hung fails the waiting ones.
#[rocket::async_test]
async fn an_error_about_one_key_fails_no_waiting_request() {
    let (redis, store, key) = a_session().await;
    let mut conn = redis.connection().await;
    let () = redis::cmd("SET")
        .arg("memsess:u:bob")
        .arg("not a set")
        .query_async(&mut conn)
        .await
        .unwrap();

    let (_, held) = store.acquire(&key).await.unwrap().unwrap();
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.acquire(&key).await.map(|found| found.is_some()) }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        store.sessions_of("bob").await.is_err(),
        "the damaged index fails its listing"
    );
    store.release(held);
    let next = waiting.await.unwrap();
    assert!(matches!(next, Ok(true)), "the waiting request got {next:?}");
}

/// A loopback proxy to `redis_port` that, once `lose_next` is set, loses the
/// next reply: it holds it back `hold`, then closes that connection. At most
/// 20 connections, each copied until either side closes.
async fn proxy_losing_a_reply(
    redis_port: u16,
    lose_next: Arc<std::sync::atomic::AtomicBool>,
    hold: Duration,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        for _ in 0..20 {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let server = tokio::net::TcpStream::connect(("127.0.0.1", redis_port))
                .await
                .unwrap();
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            let lose_next = lose_next.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n @ 1..) = from_server.read(&mut buf).await {
                    if lose_next.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(hold).await;
                        let _ = to_client.shutdown().await;
                        return;
                    }
                    if to_client.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// A load whose reply is lost with its connection is sent again with the
/// same token, and takes its own lease back (`redis_conn.rs`), even though
/// a request of another instance found the lease taken meanwhile and
/// waits in line: neither waits for the lease to lapse (5 s). The waiter
/// keeps its place: the next request of the resending instance, queued in
/// the process, does not take the lease over ahead of it.
#[rocket::async_test]
async fn a_load_sent_again_takes_its_lease_back_though_another_waits_in_line() {
    let redis = RedisServer::start();
    let lose_next = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let port =
        proxy_losing_a_reply(redis.port, lose_next.clone(), Duration::from_millis(100)).await;
    let here = store(
        &format!("redis://127.0.0.1:{port}/"),
        crate::conformance::LONG,
    );
    let elsewhere = store(&redis.url(), crate::conformance::LONG);
    let key = SessionId::generate().key();
    here.save(&key, None, record()).await.unwrap();
    // Each store's load script is known to Redis, so a load is one reply.
    for store in [&here, &elsewhere] {
        let (_, lease) = store.acquire(&key).await.unwrap().unwrap();
        store.release(lease);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let started = std::time::Instant::now();
    lose_next.store(true, std::sync::atomic::Ordering::SeqCst);
    // Each request holds the session 20 ms and says when it got it.
    let request_here = || {
        let here = here.clone();
        tokio::spawn(async move {
            let (_, lease) = here.acquire(&key).await.unwrap().unwrap();
            let got = started.elapsed();
            tokio::time::sleep(Duration::from_millis(20)).await;
            here.release(lease);
            got
        })
    };
    let sent_again = request_here();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let next_here = request_here();
    // While the first reply is held back, the other instance asks.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, lease) = elsewhere.acquire(&key).await.unwrap().unwrap();
    let other = started.elapsed();
    tokio::time::sleep(Duration::from_millis(20)).await;
    elsewhere.release(lease);
    let (sent_again, next_here) = (sent_again.await.unwrap(), next_here.await.unwrap());
    assert!(
        sent_again < Duration::from_secs(1),
        "the load sent again waited {sent_again:?}"
    );
    assert!(
        other < Duration::from_secs(1),
        "the other instance waited {other:?}"
    );
    assert!(
        other < next_here,
        "this instance's next request ({next_here:?}) went ahead of the waiter in line ({other:?})"
    );
}

/// A request that gives up after waiting 10 s for a lease another
/// instance holds leaves the line: the next request gets the session at
/// once when it is free, not after the place in line goes stale.
#[rocket::async_test]
async fn a_request_that_gave_up_leaves_the_line() {
    let (_redis, here, elsewhere, key) = two_instances().await;
    let (_, held) = elsewhere.acquire(&key).await.unwrap().unwrap();
    let gave_up = here.acquire(&key).await;
    assert!(matches!(gave_up, Err(StoreError::Busy)), "{gave_up:?}");
    elsewhere.release(held);

    let started = std::time::Instant::now();
    let (_, lease) = elsewhere.acquire(&key).await.unwrap().unwrap();
    let waited = started.elapsed();
    elsewhere.release(lease);
    assert!(
        waited < Duration::from_millis(150),
        "the next request waited {waited:?} behind a request that gave up"
    );
}
