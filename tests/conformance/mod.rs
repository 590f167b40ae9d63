//! The `SessionStore` contract, written once and run against every store.
//!
//! A store under test is made by a factory from [`Limits`]; each check
//! uses fresh random keys and owners, so stores may be shared between
//! checks, and checks that need small limits make their own store.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use memsess::session::Limits;
use memsess::session::{Origin, Record, SessionId, SessionStore, StoreError, StoreKey};

/// Long enough that nothing expires during a check.
pub const LONG: Limits = Limits {
    max_sessions: 10_000,
    max_sessions_per_user: 20,
    idle: Duration::from_secs(600),
    absolute: Duration::from_secs(3600),
    remember_idle: Duration::from_secs(7200),
    remember_absolute: Duration::from_secs(7200),
};

fn key() -> StoreKey {
    SessionId::generate().key()
}

fn record(data: &str, version: u64, owner: Option<&str>) -> Record {
    Record {
        owner: owner.map(Into::into),
        ..Record::new(data, version)
    }
}

/// A fresh owner name, so checks sharing a store never meet.
fn someone() -> String {
    format!("user-{}", SessionId::generate())
}

async fn load(store: &dyn SessionStore, key: &StoreKey) -> Option<Record> {
    store
        .acquire(key)
        .await
        .unwrap()
        .map(|(record, _lease)| record)
}

/// An anonymous session is stored, then a request on it logs `owner` in,
/// as the login page does.
async fn log_in_a_new_anonymous_session(store: &dyn SessionStore, key: &StoreKey, owner: &str) {
    store.save(key, None, record("{}", 1, None)).await.unwrap();
    let (_, lease) = store.acquire(key).await.unwrap().unwrap();
    store
        .save(key, Some(1), record("{}", 2, Some(owner)))
        .await
        .unwrap();
    store.release(lease);
}

/// The keys of `owner`'s sessions, as the account page lists them.
async fn keys_of(store: &dyn SessionStore, owner: &str) -> Vec<StoreKey> {
    let sessions = store.sessions_of(owner).await.unwrap();
    sessions.iter().map(|s| s.key).collect()
}

/// Limits whose fresh tier holds 2,048, crowded from 1,024, with a share
/// of 81 per address.
const CROWDABLE: Limits = Limits {
    max_sessions: 8192,
    ..LONG
};

/// Stores a new anonymous session under `k`, begun by a client at `origin`.
async fn create_from(store: &dyn SessionStore, k: StoreKey, origin: Origin) {
    store
        .create(&k, record("{}", 1, None), Some(origin))
        .await
        .unwrap();
}

/// Visitor `i`'s address, one of its own; `block` keeps checks that share
/// a store (one Redis) apart.
fn visitor(block: u32, i: u64) -> Origin {
    Origin::of(std::net::Ipv4Addr::from((block << 16) + i as u32).into())
}

/// Removes `keys`, so that a store shared with the next checks (one
/// Redis) gets its room back.
async fn clean_up<'a>(store: &dyn SessionStore, keys: impl IntoIterator<Item = &'a StoreKey>) {
    for k in keys {
        store.remove(k).await.unwrap();
    }
}

/// Runs every check against stores from `make`.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let store = make(LONG).await;
    saved_sessions_load_back_and_unknown_keys_are_absent(&*store).await;
    writes_are_fenced_by_version(&*store).await;
    a_removed_session_is_never_brought_back_by_a_late_save(&*store).await;
    rotation_moves_the_session_and_kills_the_old_key(&*store).await;
    the_lease_makes_requests_on_one_session_take_turns(store.clone()).await;
    fifty_concurrent_read_modify_writes_all_count(store.clone()).await;
    the_owner_index_lists_and_forgets_sessions(&*store).await;
    remembered_and_label_round_trip(&*store).await;
    a_login_past_the_per_user_bound_ends_the_least_recently_used_session(&make).await;
    anonymous_floods_never_evict_a_signed_in_users_session(&make).await;
    a_flood_from_one_address_evicts_only_its_own_sessions(&make, Flood::NewSessions).await;
    a_flood_from_one_address_evicts_only_its_own_sessions(&make, Flood::ReturningVisitors).await;
    a_flood_that_begins_while_there_is_room_evicts_only_its_own_sessions(&make).await;
    sessions_that_stay_keep_their_place_in_their_addresss_share(&make).await;
    an_address_over_its_share_makes_way_when_others_crowd_the_tier(&make).await;
    many_visitors_behind_one_address_keep_their_sessions_while_there_is_room(&make).await;
    idle_and_absolute_timeouts_both_hold(&make).await;
    a_remembered_session_outlives_the_ordinary_idle_timeout_but_not_its_own(&make).await;
}

async fn saved_sessions_load_back_and_unknown_keys_are_absent(store: &dyn SessionStore) {
    let k = key();
    assert_eq!(load(store, &k).await, None);
    let r = record(r#"{"n":1}"#, 1, None);
    store.save(&k, None, r.clone()).await.unwrap();
    assert_eq!(load(store, &k).await, Some(r));
    assert_eq!(load(store, &key()).await, None);
}

async fn writes_are_fenced_by_version(store: &dyn SessionStore) {
    let k = key();
    store.save(&k, None, record("{}", 1, None)).await.unwrap();
    // Creating over an existing record, or writing from a stale version,
    // conflicts and writes nothing; the session lives on.
    assert_eq!(
        store.save(&k, None, record("{}", 1, None)).await,
        Err(StoreError::Conflict)
    );
    store
        .save(&k, Some(1), record(r#"{"v":2}"#, 2, None))
        .await
        .unwrap();
    let stale = store
        .save(&k, Some(1), record(r#"{"v":"stale"}"#, 2, None))
        .await;
    assert_eq!(stale, Err(StoreError::Conflict));
    assert_eq!(load(store, &k).await.unwrap().data.as_ref(), r#"{"v":2}"#);
}

async fn a_removed_session_is_never_brought_back_by_a_late_save(store: &dyn SessionStore) {
    let k = key();
    store.save(&k, None, record("{}", 1, None)).await.unwrap();
    let (loaded, lease) = store.acquire(&k).await.unwrap().unwrap();
    // Ended while a request holds it, as "sign out everywhere else" does.
    store.remove(&k).await.unwrap();
    let late = store
        .save(&k, Some(loaded.version), record("{}", 2, None))
        .await;
    assert_eq!(late, Err(StoreError::Gone));
    store.release(lease);
    assert_eq!(load(store, &k).await, None);
    // Removing what is not there is not an error.
    store.remove(&k).await.unwrap();
}

async fn rotation_moves_the_session_and_kills_the_old_key(store: &dyn SessionStore) {
    let (old, new) = (key(), key());
    store
        .save(&old, None, record(r#"{"cart":[1]}"#, 1, None))
        .await
        .unwrap();
    store
        .rotate(&old, 1, &new, record(r#"{"cart":[1]}"#, 2, Some("alice")))
        .await
        .unwrap();
    assert_eq!(load(store, &old).await, None);
    assert_eq!(
        load(store, &new).await.unwrap().data.as_ref(),
        r#"{"cart":[1]}"#
    );

    // A rotation from a stale version changes neither key.
    let other = key();
    assert_eq!(
        store.rotate(&new, 1, &other, record("{}", 2, None)).await,
        Err(StoreError::Conflict)
    );
    // Nor does one from a session that is gone.
    let gone = key();
    assert_eq!(
        store.rotate(&gone, 1, &other, record("{}", 2, None)).await,
        Err(StoreError::Gone)
    );
    assert_eq!(load(store, &other).await, None);
    assert!(load(store, &new).await.is_some());
}

async fn the_lease_makes_requests_on_one_session_take_turns(store: Arc<dyn SessionStore>) {
    let k = key();
    store.save(&k, None, record("{}", 1, None)).await.unwrap();
    let (_, first) = store.acquire(&k).await.unwrap().unwrap();
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.acquire(&k).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        !waiting.is_finished(),
        "a second acquire must wait for the lease"
    );
    store.release(first);
    let (_, second) = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    store.release(second);
}

async fn fifty_concurrent_read_modify_writes_all_count(store: Arc<dyn SessionStore>) {
    let k = key();
    store.save(&k, None, record("0", 1, None)).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let (r, lease) = store.acquire(&k).await.unwrap().unwrap();
                let n: u64 = r.data.parse().unwrap();
                tokio::task::yield_now().await;
                store
                    .save(
                        &k,
                        Some(r.version),
                        record(&(n + 1).to_string(), r.version + 1, None),
                    )
                    .await
                    .unwrap();
                store.release(lease);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(load(&*store, &k).await.unwrap().data.as_ref(), "50");
}

async fn the_owner_index_lists_and_forgets_sessions(store: &dyn SessionStore) {
    let owner = someone();
    let (a, b, c) = (key(), key(), key());
    store
        .save(&a, None, record("{}", 1, Some(&owner)))
        .await
        .unwrap();
    store
        .save(&b, None, record("{}", 1, Some(&owner)))
        .await
        .unwrap();
    // An anonymous session that logs in joins the list.
    log_in_a_new_anonymous_session(store, &c, &owner).await;
    let listed = keys_of(store, &owner).await;
    assert_eq!(listed.len(), 3);
    assert!(listed.contains(&a) && listed.contains(&b) && listed.contains(&c));

    store.remove(&a).await.unwrap();
    store
        .save(&b, Some(1), record("{}", 2, None))
        .await
        .unwrap();
    let listed = keys_of(store, &owner).await;
    assert_eq!(listed, vec![c]);
    assert!(store.sessions_of("nobody-at-all").await.unwrap().is_empty());
}

async fn idle_and_absolute_timeouts_both_hold<F, Fut>(make: &F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let idle = make(Limits {
        idle: Duration::from_secs(2),
        ..LONG
    })
    .await;
    let (quiet, busy) = (key(), key());
    idle.save(&quiet, None, record("{}", 1, None))
        .await
        .unwrap();
    idle.save(&busy, None, record("{}", 1, None)).await.unwrap();
    // Loads 0.7 s apart keep `busy` alive for 2.8 s; `quiet` idles out.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            load(&*idle, &busy).await.is_some(),
            "loading restarts the idle clock"
        );
    }
    assert_eq!(load(&*idle, &quiet).await, None, "idle past the timeout");

    let absolute = make(Limits {
        absolute: Duration::from_secs(2),
        ..LONG
    })
    .await;
    let k = key();
    let started = std::time::Instant::now();
    absolute
        .save(&k, None, record("{}", 1, None))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(load(&*absolute, &k).await.is_some());
    tokio::time::sleep(Duration::from_millis(2300).saturating_sub(started.elapsed())).await;
    assert_eq!(
        load(&*absolute, &k).await,
        None,
        "past the absolute timeout"
    );
}

async fn remembered_and_label_round_trip(store: &dyn SessionStore) {
    let (k, owner) = (key(), someone());
    let r = Record {
        remembered: true,
        label: Some("Firefox on Linux".into()),
        ..record("{}", 1, Some(&owner))
    };
    store.save(&k, None, r.clone()).await.unwrap();
    assert_eq!(load(store, &k).await, Some(r));
    let listed = store.sessions_of(&owner).await.unwrap();
    assert!(listed[0].remembered);
    assert_eq!(listed[0].label.as_deref(), Some("Firefox on Linux"));
}

async fn a_login_past_the_per_user_bound_ends_the_least_recently_used_session<F, Fut>(make: &F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let store = make(Limits {
        max_sessions_per_user: 2,
        ..LONG
    })
    .await;
    let owner = someone();
    let (a, b, c) = (key(), key(), key());
    for k in [&a, &b] {
        store
            .save(k, None, record("{}", 1, Some(&owner)))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // `a` is used after `b`, so `b` is the least recently used.
    let (_, lease) = store.acquire(&a).await.unwrap().unwrap();
    store.release(lease);
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A third login, by logging in an anonymous session.
    log_in_a_new_anonymous_session(&*store, &c, &owner).await;

    let listed = keys_of(&*store, &owner).await;
    assert_eq!(listed.len(), 2, "bounded per user");
    assert!(listed.contains(&a) && listed.contains(&c), "{listed:?}");
    assert_eq!(load(&*store, &b).await, None, "the LRU session ended");
    // A request still running on it cannot bring it back.
    assert_eq!(
        store.save(&b, Some(1), record("{}", 2, Some(&owner))).await,
        Err(StoreError::Gone)
    );
    // Other users are not touched.
    let other = key();
    store
        .save(&other, None, record("{}", 1, Some(&someone())))
        .await
        .unwrap();
    assert!(load(&*store, &other).await.is_some());
}

async fn anonymous_floods_never_evict_a_signed_in_users_session<F, Fut>(make: &F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let max = 40;
    let store = make(Limits {
        max_sessions: max,
        ..LONG
    })
    .await;
    let owned: Vec<(StoreKey, String)> = (0..5).map(|_| (key(), someone())).collect();
    for (k, owner) in &owned {
        store
            .save(k, None, record("{}", 1, Some(owner)))
            .await
            .unwrap();
    }
    // Visitors that come once, and visitors that come back once: ten
    // times the whole bound of each.
    for round in 0..(10 * max) {
        let k = key();
        store.save(&k, None, record("{}", 1, None)).await.unwrap();
        if round % 2 == 0 {
            let (_, lease) = store.acquire(&k).await.unwrap().unwrap();
            store.release(lease);
        }
    }
    let live = store.len().await.unwrap();
    assert!(live <= max, "{live} sessions kept, bound is {max}");
    for (k, owner) in &owned {
        assert!(
            load(&*store, k).await.is_some(),
            "{owner}'s session was evicted"
        );
        assert_eq!(store.sessions_of(owner).await.unwrap().len(), 1);
    }
}

async fn a_remembered_session_outlives_the_ordinary_idle_timeout_but_not_its_own<F, Fut>(make: &F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let store = make(Limits {
        idle: Duration::from_secs(1),
        remember_idle: Duration::from_secs(60),
        remember_absolute: Duration::from_secs(3),
        ..LONG
    })
    .await;
    let (ordinary, remembered) = (key(), key());
    let started = std::time::Instant::now();
    store
        .save(&ordinary, None, record("{}", 1, Some(&someone())))
        .await
        .unwrap();
    let r = Record {
        remembered: true,
        ..record("{}", 1, Some(&someone()))
    };
    store.save(&remembered, None, r).await.unwrap();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(load(&*store, &ordinary).await, None, "idle past 1 s");
    assert!(
        load(&*store, &remembered).await.is_some(),
        "a remembered session uses the longer idle timeout"
    );
    tokio::time::sleep(Duration::from_millis(3300).saturating_sub(started.elapsed())).await;
    assert_eq!(
        load(&*store, &remembered).await,
        None,
        "past its own absolute timeout"
    );
}

/// Which anonymous tier a flood fills: new sessions, or sessions whose
/// client came back once (two requests each).
#[derive(Clone, Copy, PartialEq)]
enum Flood {
    NewSessions,
    ReturningVisitors,
}

async fn a_flood_from_one_address_evicts_only_its_own_sessions<F, Fut>(make: &F, flood: Flood)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    // Each anonymous tier holds 100 (always crowded); one address's
    // sessions may be 16 of them.
    let limits = Limits {
        max_sessions: 400,
        ..LONG
    };
    let store = make(limits).await;
    let come_back = flood == Flood::ReturningVisitors;
    let share = if come_back {
        limits.returning_per_origin()
    } else {
        limits.fresh_per_origin()
    };
    let flooder = Origin::of("198.51.100.1".parse().unwrap());
    // Visitors who opened a form (a new session each), or who came back
    // once (an anonymous session with a cart), each from an address of
    // their own: as many as leave the flooder exactly its share.
    let mut victims = Vec::new();
    for i in 0..100 - share {
        let (victim, visitor) = (key(), Origin::of(format!("203.0.113.{i}").parse().unwrap()));
        store
            .create(&victim, record(r#"{"cart":2}"#, 1, None), Some(visitor))
            .await
            .unwrap();
        if come_back {
            assert!(load(&*store, &victim).await.is_some());
        }
        victims.push(victim);
    }
    // Three times the whole tier, from one address.
    let mut sessions = Vec::new();
    for _ in 0..300 {
        let k = key();
        store
            .create(&k, record("{}", 1, None), Some(flooder))
            .await
            .unwrap();
        if come_back {
            assert!(load(&*store, &k).await.is_some());
        }
        sessions.push(k);
    }
    for victim in &victims {
        assert!(
            load(&*store, victim).await.is_some(),
            "another address's flood ({}) evicted a visitor's session",
            if come_back { "returning" } else { "new" }
        );
    }
    let mut kept = 0;
    for k in sessions.iter().rev().take(2 * share as usize) {
        kept += usize::from(load(&*store, k).await.is_some());
    }
    assert_eq!(kept as u64, share, "the flooder keeps its newest {share}");
}

/// A flood that begins while the tier has room: nobody makes way until
/// the tier is crowded, and from then on the flooder alone does, so the
/// tier never fills and nobody else is evicted, although half of the
/// flooder's early sessions moved on and left their places in its queue
/// behind. (The tier stays about as crowded as that: below it, nobody
/// makes way, so the flooder keeps what is left of the room.)
async fn a_flood_that_begins_while_there_is_room_evicts_only_its_own_sessions<F, Fut>(make: &F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    // A fresh tier of 4,096, crowded from 3,072.
    let limits = Limits {
        max_sessions: 16_384,
        ..LONG
    };
    let store = make(limits).await;
    let crowded = Limits::crowded_at(limits.tiers().fresh);
    let flooder = Origin::of("198.51.100.7".parse().unwrap());
    let (mut flood, mut came_back) = (Vec::new(), Vec::new());
    for i in 0..2000 {
        let k = key();
        store
            .create(&k, record("{}", 1, None), Some(flooder))
            .await
            .unwrap();
        if i % 2 == 0 {
            // Comes back: on to the returning visitors' tier.
            assert!(load(&*store, &k).await.is_some());
            came_back.push(k);
        } else {
            flood.push(k);
        }
    }
    // Visitors from addresses of their own; 2,500 new sessions in all.
    let mut visitors = Vec::new();
    for i in 0..1500u32 {
        let (k, visitor) = (
            key(),
            Origin::of(std::net::Ipv4Addr::from(0x0a10_0000 + i).into()),
        );
        store
            .create(&k, record("{}", 1, None), Some(visitor))
            .await
            .unwrap();
        visitors.push(k);
    }
    // The flood goes on, well past the point where the tier is crowded.
    for _ in 0..3000 {
        let k = key();
        store
            .create(&k, record("{}", 1, None), Some(flooder))
            .await
            .unwrap();
        flood.push(k);
    }
    for k in &visitors {
        assert!(
            load(&*store, k).await.is_some(),
            "a visitor was evicted by another address's flood"
        );
    }
    let mut kept = 0u64;
    for k in &flood {
        if load(&*store, k).await.is_some() {
            kept += 1;
        }
    }
    // Without the share the tier would have filled and evicted the oldest:
    // the flooder's first sessions, then the visitors.
    assert!(
        (1..=crowded - 1500).contains(&kept),
        "the flooder kept {kept} new sessions, more than the room left below {crowded}"
    );
    // A store shared with the next checks (one Redis) gets its room back.
    for k in flood.iter().chain(&came_back).chain(&visitors) {
        store.remove(k).await.unwrap();
    }
}

/// An address whose first sessions stay while many later ones come back
/// (and so leave the fresh tier): its queue for the tier fills with the
/// places of those that left, behind the ones that stayed, past the
/// tier's size. The ones that stayed must keep their place in it, or they
/// would count toward no share and never make way: once other visitors
/// crowd the tier, the address holds its share of it and no more.
async fn sessions_that_stay_keep_their_place_in_their_addresss_share<F, Fut>(make: &F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let store = make(CROWDABLE).await;
    let (capacity, share) = (CROWDABLE.tiers().fresh, CROWDABLE.fresh_per_origin());
    let flooder = Origin::of("198.51.100.9".parse().unwrap());
    let (mut stayed, mut came_back) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let k = key();
        create_from(&*store, k, flooder).await;
        stayed.push(k);
    }
    // More than the tier's size come back, each once, while it has room.
    for _ in 0..capacity + 100 {
        let k = key();
        create_from(&*store, k, flooder).await;
        assert!(load(&*store, &k).await.is_some());
        came_back.push(k);
    }
    // Visitors from addresses of their own crowd the tier.
    let mut visitors = Vec::new();
    for i in 0..Limits::crowded_at(capacity) + 100 {
        let k = key();
        create_from(&*store, k, visitor(0x0a20, i)).await;
        visitors.push(k);
    }
    // The address goes on, now held to its share.
    for _ in 0..200 {
        let k = key();
        create_from(&*store, k, flooder).await;
        stayed.push(k);
    }
    let mut held = 0;
    for k in &stayed {
        // A load moves it on to the returning tier, after it is counted.
        held += u64::from(load(&*store, k).await.is_some());
    }
    assert!(
        held <= share,
        "the address holds {held} new sessions in a crowded tier, past its share of {share}"
    );
    for k in &visitors {
        assert!(load(&*store, k).await.is_some(), "a visitor was evicted");
    }
    clean_up(&*store, stayed.iter().chain(&came_back).chain(&visitors)).await;
}

/// An address that takes the tier to just below crowded while it has
/// room, then stops arriving: once other visitors crowd the tier, it holds
/// far more than its share of it. Were it to make way only on its own
/// arrivals, the visitors would fill the room left (a tenth of the tier,
/// or 1,024) and the tier's own eviction would take their sessions: while
/// the tier is crowded, anyone's arrival must make an address over its
/// share give way.
async fn an_address_over_its_share_makes_way_when_others_crowd_the_tier<F, Fut>(make: &F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let store = make(CROWDABLE).await;
    let (capacity, share) = (CROWDABLE.tiers().fresh, CROWDABLE.fresh_per_origin());
    let crowded = Limits::crowded_at(capacity);
    let flooder = Origin::of("198.51.100.11".parse().unwrap());
    // Visitors who opened a form, each from an address of their own.
    let early = 500;
    let mut visitors = Vec::new();
    for i in 0..early {
        let k = key();
        create_from(&*store, k, visitor(0x0a30, i)).await;
        visitors.push(k);
    }
    // The flooder takes the tier to one short of crowded (nobody makes
    // way yet), then stops.
    let mut flood = Vec::new();
    for _ in 0..crowded - 1 - early {
        let k = key();
        create_from(&*store, k, flooder).await;
        flood.push(k);
    }
    // More visitors: all of them fit beside the flooder's share.
    for i in early..capacity - share - 100 {
        let k = key();
        create_from(&*store, k, visitor(0x0a30, i)).await;
        visitors.push(k);
    }
    let mut held = 0;
    for k in &flood {
        held += u64::from(load(&*store, k).await.is_some());
    }
    let mut lost = 0;
    for k in &visitors {
        lost += usize::from(load(&*store, k).await.is_none());
    }
    assert!(
        lost == 0 && held <= share,
        "{lost} of {} visitors were evicted while an address that no longer arrives held {held} \
         sessions of a crowded tier (share {share})",
        visitors.len()
    );
    clean_up(&*store, flood.iter().chain(&visitors)).await;
}

async fn many_visitors_behind_one_address_keep_their_sessions_while_there_is_room<F, Fut>(make: &F)
where
    F: Fn(Limits) -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    // An office behind one address: more visitors than its share of
    // either anonymous tier, in tiers that are far from full.
    let store = make(LONG).await;
    let office = Origin::of("192.0.2.80".parse().unwrap());
    let visitors = 3 * LONG.fresh_per_origin().max(LONG.returning_per_origin());
    let (mut new, mut returning) = (Vec::new(), Vec::new());
    for i in 0..2 * visitors {
        let k = key();
        store
            .create(&k, record("{}", 1, None), Some(office))
            .await
            .unwrap();
        if i % 2 == 0 {
            new.push(k);
        } else {
            assert!(load(&*store, &k).await.is_some());
            returning.push(k);
        }
    }
    for k in new.iter().chain(&returning) {
        assert!(
            load(&*store, k).await.is_some(),
            "a session was evicted for its address's share while the tiers had room"
        );
    }
}
