//! The memory store's snapshot: how long writing it and loading it take
//! at 100,000 and 1,000,000 live sessions, and how large it is.
//!
//! cargo bench --features store-bench --bench snapshot

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use memsess::session::{Limits, MemoryStore, Record, SessionId, SessionStore};
use tokio::runtime::Runtime;

/// A session as the shop leaves it: a counter, a CSRF token, a small cart;
/// one in ten signed in.
fn record(n: usize) -> Record {
    Record {
        owner: n
            .is_multiple_of(10)
            .then(|| format!("user{}", n % 5000).into()),
        ..Record::new(
            r#"{"counter":1,"csrf":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","cart":{"lines":[{"product_id":"padlock","quantity":2}]}}"#,
            1,
        )
    }
}

fn snapshot(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for live in [100_000usize, 1_000_000] {
        let file = dir.path().join(format!("{live}.snapshot"));
        let limits = Limits {
            max_sessions_per_user: 1000,
            // New sessions fill the fresh tier, a quarter of the whole.
            ..Limits::new(
                live as u64 * 4,
                Duration::from_secs(3600),
                Duration::from_secs(43200),
            )
        };
        let hour = Duration::from_secs(3600);
        let store = rt.block_on(async {
            let store = Arc::new(MemoryStore::persistent(limits, &file, hour).await);
            for n in 0..live {
                let key = SessionId::generate().key();
                store.save(&key, None, record(n)).await.unwrap();
            }
            store
        });
        let one = SessionId::generate().key();
        rt.block_on(store.save(&one, None, record(1))).unwrap();

        group.bench_function(BenchmarkId::new("write", live), |b| {
            b.iter(|| {
                rt.block_on(async {
                    // A change makes the snapshot due; flush writes it.
                    let (loaded, lease) = store.acquire(&one).await.unwrap().unwrap();
                    store.release(lease);
                    let _ = loaded;
                    store.flush().await.unwrap();
                })
            })
        });
        let size = std::fs::metadata(&file).unwrap().len();
        eprintln!(
            "snapshot of {live} sessions: {} bytes ({} per session)",
            size,
            size / live as u64
        );

        group.bench_function(BenchmarkId::new("load", live), |b| {
            b.iter(|| rt.block_on(MemoryStore::persistent(limits, &file, hour)))
        });
    }
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
