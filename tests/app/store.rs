//! The store conformance suite against the embedded moka store.

use std::sync::Arc;
use std::time::Duration;

use memsess::session::{MemoryStore, Record, SessionId, SessionStore};

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
