//! A snapshot that begins while a change is on its way, and a graceful
//! stop while a snapshot is being written: neither may lose the change.

use std::sync::Arc;
use std::time::Duration;

use super::super::id::SessionId;
use super::super::limits::Limits;
use super::{MemoryStore, Origin, Record, SessionStore};

fn limits() -> Limits {
    Limits::new(400, Duration::from_secs(600), Duration::from_secs(3600))
}

/// A new session waits on its address's share (a busy arrival holds it)
/// while the periodic snapshot runs; it is stored after, and the store
/// stops gracefully with nothing else changed. The last snapshot must
/// hold it: the change is marked once it has landed, not before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)] // the share is held on purpose, as a busy arrival would
async fn a_session_stored_while_a_snapshot_runs_is_in_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.snapshot");
    let store = Arc::new(MemoryStore::persistent(limits(), &file, Duration::from_secs(3600)).await);
    let key = SessionId::generate().key();
    let busy = store.fresh_shares.hold();
    let creating = {
        let store = store.clone();
        let origin = Origin([7; 16]);
        tokio::spawn(async move { store.create(&key, Record::new("{}", 1), Some(origin)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let persistence = store.persistence.clone().unwrap();
    persistence.write(&store.index).unwrap();
    drop(busy);
    creating.await.unwrap().unwrap();
    store.flush().await.unwrap();
    let again = MemoryStore::persistent(limits(), &file, Duration::from_secs(3600)).await;
    assert!(
        again.acquire(&key).await.unwrap().is_some(),
        "the session was lost across a graceful restart"
    );
}

/// A graceful stop while the periodic snapshot is being written waits for
/// it: that snapshot cleared the mark as it began, so without the wait
/// the stop would return before the file holds what it copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)] // the snapshot is held "being written" on purpose
async fn a_graceful_stop_waits_for_the_snapshot_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.snapshot");
    let store = Arc::new(MemoryStore::persistent(limits(), &file, Duration::from_secs(3600)).await);
    let key = SessionId::generate().key();
    store.save(&key, None, Record::new("{}", 1)).await.unwrap();
    let persistence = store.persistence.clone().unwrap();
    let writing = persistence.begin_writing();
    let stopping = {
        let store = store.clone();
        tokio::spawn(async move { store.flush().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stopping.is_finished(),
        "the stop returned while a snapshot was being written"
    );
    drop(writing);
    stopping.await.unwrap().unwrap();
}
