//! The `AccountStore` contract, written once and run against both
//! backends (the file store in `tests/app/`, Redis in `tests/redis/`).
//!
//! Each check uses names of its own, so one store may serve every check.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use memsess::auth::store::{
    AccountError, AccountStore, Counter, CounterKey, Hit, Order, OrderId, OrderLine, MAX_ORDERS,
};

/// A PHC string that parses (the stores never verify it).
pub const HASH_A: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
pub const HASH_B: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx1$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

/// A username no other check uses.
fn name(what: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{what}-{}-{}",
        std::process::id() % 10_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn order(placed_ms: u64, cents: u64) -> Order {
    Order {
        id: OrderId::generate(),
        placed_ms,
        lines: vec![OrderLine {
            product_id: "padlock".into(),
            name: "Padlock".into(),
            unit_cents: cents,
            quantity: 1,
        }],
        total_cents: cents,
    }
}

/// Runs every check against the store `make` gives.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn AccountStore>>,
{
    let store = make().await;
    accounts_are_made_once_and_read_back(&*store).await;
    concurrent_creations_of_one_name_have_exactly_one_winner(store.clone()).await;
    a_password_change_is_seen_at_once(&*store).await;
    orders_are_kept_per_user_newest_first(&*store).await;
    an_account_keeps_at_most_max_orders_and_a_retry_stores_nothing_twice(&*store).await;
    deletion_takes_the_orders_and_a_new_holder_of_the_name_sees_none(&*store).await;
    a_hit_is_all_or_nothing_and_a_refusal_extends_no_window(&*store).await;
    taking_back_and_clearing_change_only_their_counter(&*store).await;
    counters_expire_at_the_end_of_their_window(&*store).await;
    the_device_key_is_made_once(&*store).await;
}

async fn accounts_are_made_once_and_read_back(store: &dyn AccountStore) {
    let carol = name("carol");
    assert_eq!(store.account(&carol).await, Ok(None));
    let made = store.create(&carol, HASH_A).await.unwrap();
    assert_eq!(made.password_hash, HASH_A);
    assert_eq!(store.account(&carol).await, Ok(Some(made)));
    assert_eq!(store.create(&carol, HASH_B).await, Err(AccountError::Taken));
    assert_eq!(
        store.account(&carol).await.unwrap().unwrap().password_hash,
        HASH_A,
        "a refused creation changes nothing"
    );
}

async fn concurrent_creations_of_one_name_have_exactly_one_winner(store: Arc<dyn AccountStore>) {
    let contested = name("contested");
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let (store, contested) = (store.clone(), contested.clone());
            tokio::spawn(async move {
                let hash = if i % 2 == 0 { HASH_A } else { HASH_B };
                (hash, store.create(&contested, hash).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (hash, result) = attempt.await.unwrap();
        match result {
            Ok(_) => winners.push(hash),
            Err(e) => assert_eq!(e, AccountError::Taken),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one creation wins");
    let stored = store.account(&contested).await.unwrap().unwrap();
    assert_eq!(
        stored.password_hash, winners[0],
        "and its hash is the one kept"
    );
}

async fn a_password_change_is_seen_at_once(store: &dyn AccountStore) {
    let dave = name("dave");
    store.create(&dave, HASH_A).await.unwrap();
    store.set_password(&dave, HASH_A, HASH_B).await.unwrap();
    assert_eq!(
        store.account(&dave).await.unwrap().unwrap().password_hash,
        HASH_B
    );
    assert_eq!(
        store.set_password(&name("nobody"), HASH_A, HASH_B).await,
        Err(AccountError::NoAccount)
    );
    // The same change again (a retry whose first try went through) is done.
    assert_eq!(store.set_password(&dave, HASH_A, HASH_B).await, Ok(()));
    // A change checked against a password that is no longer the one in
    // force (another change came first) changes nothing, and neither does
    // a deletion.
    assert_eq!(
        store.set_password(&dave, HASH_A, HASH_A).await,
        Err(AccountError::PasswordChanged)
    );
    assert_eq!(
        store.delete(&dave, HASH_A).await,
        Err(AccountError::PasswordChanged)
    );
    assert_eq!(
        store.account(&dave).await.unwrap().unwrap().password_hash,
        HASH_B
    );
}

async fn orders_are_kept_per_user_newest_first(store: &dyn AccountStore) {
    let (erin, frank) = (name("erin"), name("frank"));
    store.create(&erin, HASH_A).await.unwrap();
    store.create(&frank, HASH_A).await.unwrap();
    let (old, new) = (order(1_000, 100), order(2_000, 200));
    store.add_order(&erin, &old).await.unwrap();
    store.add_order(&erin, &new).await.unwrap();
    let franks = order(1_500, 300);
    store.add_order(&frank, &franks).await.unwrap();

    assert_eq!(store.orders(&erin).await.unwrap(), vec![new.clone(), old]);
    assert_eq!(store.order(&erin, &new.id).await, Ok(Some(new.clone())));
    // Only the owner gets an order by id.
    assert_eq!(store.order(&frank, &new.id).await, Ok(None));
    assert_eq!(store.order(&erin, &franks.id).await, Ok(None));
    assert_eq!(store.order(&erin, &OrderId::generate()).await, Ok(None));
    // No account, no orders.
    assert_eq!(
        store.add_order(&name("ghost"), &order(1, 1)).await,
        Err(AccountError::NoAccount)
    );
}

async fn an_account_keeps_at_most_max_orders_and_a_retry_stores_nothing_twice(
    store: &dyn AccountStore,
) {
    let hana = name("hana");
    store.create(&hana, HASH_A).await.unwrap();
    let first = order(1, 1);
    store.add_order(&hana, &first).await.unwrap();
    // Stored twice (a retry after a dropped connection): kept once.
    store.add_order(&hana, &first).await.unwrap();
    assert_eq!(store.orders(&hana).await.unwrap().len(), 1);
    for n in 1..MAX_ORDERS {
        store
            .add_order(&hana, &order(n as u64 + 1, 1))
            .await
            .unwrap();
    }
    assert_eq!(
        store.add_order(&hana, &order(10_000, 1)).await,
        Err(AccountError::TooManyOrders)
    );
    assert_eq!(store.orders(&hana).await.unwrap().len(), MAX_ORDERS);
    // A retry of an order already stored still succeeds at the bound.
    assert_eq!(store.add_order(&hana, &first).await, Ok(()));
}

async fn deletion_takes_the_orders_and_a_new_holder_of_the_name_sees_none(
    store: &dyn AccountStore,
) {
    let gina = name("gina");
    store.create(&gina, HASH_A).await.unwrap();
    let placed = order(1_000, 100);
    store.add_order(&gina, &placed).await.unwrap();

    store.delete(&gina, HASH_A).await.unwrap();
    assert_eq!(store.account(&gina).await, Ok(None));
    assert!(store.orders(&gina).await.unwrap().is_empty());
    assert_eq!(store.order(&gina, &placed.id).await, Ok(None));
    assert_eq!(
        store.add_order(&gina, &order(2, 2)).await,
        Err(AccountError::NoAccount),
        "no order for a deleted account"
    );
    assert_eq!(
        store.delete(&gina, HASH_A).await,
        Err(AccountError::NoAccount)
    );

    store.create(&gina, HASH_B).await.unwrap();
    assert!(store.orders(&gina).await.unwrap().is_empty());
}

fn counter(what: &str, limit: u32, window: Duration) -> Counter {
    Counter {
        key: CounterKey::new("conformance", &name(what)),
        limit,
        window,
    }
}

const MINUTE: Duration = Duration::from_secs(60);

async fn a_hit_is_all_or_nothing_and_a_refusal_extends_no_window(store: &dyn AccountStore) {
    let user = counter("user", 2, MINUTE);
    let addr = counter("addr", 3, Duration::from_secs(600));
    assert_eq!(store.hit(&[user, addr]).await, Ok(Hit::Counted));
    assert_eq!(store.hit(&[user, addr]).await, Ok(Hit::Counted));
    // The user is at its limit: refused, and the address is not counted.
    for _ in 0..5 {
        let Hit::Refused { retry_after } = store.hit(&[user, addr]).await.unwrap() else {
            panic!("the user's counter is at its limit");
        };
        assert!(
            retry_after <= MINUTE,
            "the user's window, not the address's"
        );
    }
    let other = counter("other-user", 5, MINUTE);
    assert_eq!(store.hit(&[other, addr]).await, Ok(Hit::Counted));
    // The address has 3 now, its limit: every attempt from it is refused.
    let Hit::Refused { retry_after } = store
        .hit(&[counter("third", 5, MINUTE), addr])
        .await
        .unwrap()
    else {
        panic!("the address's counter is at its limit");
    };
    assert!(retry_after > MINUTE, "the address's longer window");
}

async fn taking_back_and_clearing_change_only_their_counter(store: &dyn AccountStore) {
    let (user, addr) = (counter("user", 2, MINUTE), counter("addr", 2, MINUTE));
    store.hit(&[user, addr]).await.unwrap();
    store.hit(&[user, addr]).await.unwrap();
    // A success: the user's counter goes, the address gives one back.
    store.clear(&user.key).await.unwrap();
    store.take_back(&addr.key).await.unwrap();
    assert_eq!(store.hit(&[user, addr]).await, Ok(Hit::Counted));
    assert!(matches!(
        store.hit(&[user, addr]).await,
        Ok(Hit::Refused { .. })
    ));
    // Taking back from nothing, or clearing nothing, is harmless.
    let fresh = counter("fresh", 1, MINUTE);
    store.take_back(&fresh.key).await.unwrap();
    store.clear(&fresh.key).await.unwrap();
    assert_eq!(store.hit(&[fresh]).await, Ok(Hit::Counted));
}

async fn counters_expire_at_the_end_of_their_window(store: &dyn AccountStore) {
    let short = counter("short", 1, Duration::from_millis(300));
    assert_eq!(store.hit(&[short]).await, Ok(Hit::Counted));
    assert!(matches!(store.hit(&[short]).await, Ok(Hit::Refused { .. })));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        store.hit(&[short]).await,
        Ok(Hit::Counted),
        "the window ended"
    );
}

async fn the_device_key_is_made_once(store: &dyn AccountStore) {
    let key = store.device_key().await.unwrap();
    assert_eq!(store.device_key().await.unwrap(), key);
    assert_ne!(key, [0u8; 32]);
}
