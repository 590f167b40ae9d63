//! The file backend's own properties: readers never wait for a writer,
//! and what survives a reopen. The shared contract is checked by the
//! conformance suite in `tests/account_conformance/`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::*;

const HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

/// A test's hold on the next disk write: the writer stops there, with its
/// turn taken, until the test lets it go.
#[derive(Default)]
pub(crate) struct Gate {
    reached: Notify,
    release: Notify,
}

impl Gate {
    pub(super) async fn pass(slot: &Mutex<Option<Arc<Gate>>>) {
        let gate = slot.lock().unwrap().take();
        if let Some(gate) = gate {
            gate.reached.notify_one();
            gate.release.notified().await;
        }
    }
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("memsess-file-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("nested").join("users.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_completes_while_a_write_is_held_mid_flight() {
    let path = temp_path("readers");
    let store = Arc::new(FileStore::open(&path, DemoAccounts::none()).unwrap());
    store.create("carol", HASH).await.unwrap();
    let gate = Arc::new(Gate::default());
    *store.gate.lock().unwrap() = Some(gate.clone());

    // A signup takes the writers' turn and stops before its disk write.
    let writer = tokio::spawn({
        let store = store.clone();
        async move { store.create("dave", HASH).await }
    });
    gate.reached.notified().await;

    // Reads complete meanwhile, and see the state before the write.
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let carol = store.account("carol").await.unwrap();
        let dave = store.account("dave").await.unwrap();
        let orders = store.orders("carol").await.unwrap();
        (carol, dave, orders)
    })
    .await
    .expect("a read waited for the held write");
    assert!(read.0.is_some() && read.1.is_none() && read.2.is_empty());

    gate.release.notify_one();
    writer.await.unwrap().unwrap();
    assert!(store.account("dave").await.unwrap().is_some());
    let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
}

#[tokio::test]
async fn accounts_and_orders_survive_a_reopen_and_demo_users_are_never_written() {
    let path = temp_path("reopen");
    let order = Order {
        id: OrderId::generate(),
        placed_ms: 5,
        lines: vec![],
        total_cents: 0,
    };
    {
        let store = FileStore::open(&path, DemoAccounts::debug()).unwrap();
        store.create("carol", HASH).await.unwrap();
        store.add_order("carol", &order).await.unwrap();
        store.add_order("alice", &order).await.unwrap();
        assert_eq!(
            store.set_password("alice", HASH, HASH).await,
            Err(AccountError::DemoAccount)
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("carol") && !text.contains("alice"));

    let store = FileStore::open(&path, DemoAccounts::none()).unwrap();
    assert_eq!(store.orders("carol").await.unwrap(), vec![order.clone()]);
    // A real "alice" never sees the demo user's orders from a debug run.
    store.create("alice", HASH).await.unwrap();
    assert!(store.orders("alice").await.unwrap().is_empty());
    drop(store);
    let reopened = FileStore::open(&path, DemoAccounts::none()).unwrap();
    assert!(reopened.orders("alice").await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
}

#[test]
fn a_corrupt_users_file_is_refused_and_left_alone() {
    let path = temp_path("corrupt");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{ not json").unwrap();
    let error = FileStore::open(&path, DemoAccounts::none()).err().unwrap();
    assert!(error.contains("auth.users_file"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
}
