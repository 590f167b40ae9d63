//! The store conformance suite against the embedded (memory) store, and what only it keeps.

use std::sync::Arc;
use std::time::Duration;

use memsess::session::{MemoryStore, Origin, Record, SessionId, SessionStore};

use crate::conformance::{run_all, Limits};

#[rocket::async_test]
async fn the_memory_store_keeps_the_store_contract() {
    run_all(|limits: Limits| async move {
        Arc::new(MemoryStore::with_limits(limits)) as Arc<dyn SessionStore>
    })
    .await;
}

#[rocket::async_test]
async fn the_memory_store_holds_at_most_max_sessions() {
    let store = MemoryStore::new(40, Duration::from_secs(600), Duration::from_secs(600));
    for _ in 0..400 {
        let record = Record::new("{}", 1);
        store
            .save(&SessionId::generate().key(), None, record)
            .await
            .unwrap();
    }
    let live = store.len().await.unwrap();
    assert!(
        (1..=40).contains(&live),
        "{live} sessions kept, bound is 40"
    );
}

/// One address floods the tier of new sessions, slowly, while many other
/// addresses (far more over time than the tier holds) come and go, and a
/// few visitors sit on a form. The live sessions never need more than
/// about 50 fast visitors, 15 slow ones and the flooder's share of 16 of
/// the tier's 100, so nobody else is ever evicted: the flooder's queue is
/// kept however many other addresses pass (a bound that forgot it let
/// its sessions escape the share and evicted 11 of 270 slow visitors).
#[rocket::async_test]
async fn a_slow_flood_among_many_passing_addresses_evicts_only_its_own_sessions() {
    let limits =
        memsess::session::Limits::new(400, Duration::from_secs(600), Duration::from_secs(3600));
    assert_eq!(limits.fresh_per_origin(), 16);
    let store = MemoryStore::with_limits(limits);
    let flooder = Origin::of("198.51.100.1".parse().unwrap());
    let (life, every, slow_life) = (50, 20, 3000);
    let mut fast = std::collections::VecDeque::new();
    let mut slow = std::collections::VecDeque::new();
    let (mut visitors, mut slow_kept, mut slow_lost) = (0u32, 0, 0);
    for step in 0..60_000usize {
        while let Some(&(_, key)) = fast.front().filter(|(t, _)| *t <= step) {
            fast.pop_front();
            // The visitor comes back: on to the returning visitors' tier.
            let _ = store.acquire(&key).await.unwrap();
        }
        while let Some(&(_, key)) = slow.front().filter(|(t, _)| *t <= step) {
            slow.pop_front();
            match store.acquire(&key).await.unwrap() {
                Some(_) => slow_kept += 1,
                None => slow_lost += 1,
            }
        }
        let key = SessionId::generate().key();
        if step % every == 0 {
            let record = Record::new("{}", 1);
            store.create(&key, record, Some(flooder)).await.unwrap();
            continue;
        }
        visitors += 1;
        let origin = Origin::of(std::net::Ipv4Addr::from(0x0a00_0000 + visitors).into());
        store
            .create(&key, Record::new("{}", 1), Some(origin))
            .await
            .unwrap();
        if visitors.is_multiple_of(200) {
            slow.push_back((step + slow_life, key));
        } else {
            fast.push_back((step + life, key));
        }
    }
    assert_eq!(
        slow_lost, 0,
        "visitors evicted by another address's flood ({slow_kept} kept)"
    );
    assert!(slow_kept > 250);
}
