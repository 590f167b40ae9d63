//! The session store's own costs, without HTTP: load (acquire + release),
//! save (acquire + save + release), rotate, at 10k and 1M live sessions.
//!
//! cargo bench --features store-bench --bench store

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use memsess::session::{MemoryStore, Record, SessionId, SessionStore, StoreKey};
use tokio::runtime::Runtime;

fn record(version: u64) -> Record {
    Record::new(
        r#"{"counter":1,"csrf":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
        version,
    )
}

/// A store holding `live` settled sessions, and their keys.
fn populated(rt: &Runtime, live: usize) -> (Arc<MemoryStore>, Vec<StoreKey>) {
    let hour = Duration::from_secs(3600);
    // Returning anonymous visitors get a quarter of the bound.
    let store = Arc::new(MemoryStore::new(live as u64 * 4 + 4, hour, hour * 12));
    let keys: Vec<StoreKey> = (0..live).map(|_| SessionId::generate().key()).collect();
    rt.block_on(async {
        for key in &keys {
            store.save(key, None, record(1)).await.unwrap();
            // A second visit settles the session, as it would for a person.
            let (_, lease) = store.acquire(key).await.unwrap().unwrap();
            store.release(lease);
        }
    });
    (store, keys)
}

fn store_operations(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut group = c.benchmark_group("memory store");
    group.sample_size(50);
    for live in [10_000usize, 1_000_000] {
        let (store, mut keys) = populated(&rt, live);
        // Walks the keys in a scattered order, as requests would.
        let mut cursor = 0usize;
        let mut next = move |len: usize| {
            cursor = (cursor + 7919) % len;
            cursor
        };

        group.bench_function(BenchmarkId::new("load", live), |b| {
            b.iter(|| {
                let key = keys[next(keys.len())];
                rt.block_on(async {
                    let (_, lease) = store.acquire(&key).await.unwrap().unwrap();
                    store.release(lease);
                })
            })
        });

        group.bench_function(BenchmarkId::new("load + save", live), |b| {
            b.iter(|| {
                let key = keys[next(keys.len())];
                rt.block_on(async {
                    let (loaded, lease) = store.acquire(&key).await.unwrap().unwrap();
                    store
                        .save(&key, Some(loaded.version), record(loaded.version + 1))
                        .await
                        .unwrap();
                    store.release(lease);
                })
            })
        });

        // Rotation retires a key and puts a new one in its place.
        group.bench_function(BenchmarkId::new("load + rotate", live), |b| {
            b.iter(|| {
                let slot = next(keys.len());
                let (old, new) = (keys[slot], SessionId::generate().key());
                rt.block_on(async {
                    let (loaded, lease) = store.acquire(&old).await.unwrap().unwrap();
                    store
                        .rotate(&old, loaded.version, &new, record(loaded.version + 1))
                        .await
                        .unwrap();
                    store.release(lease);
                });
                keys[slot] = new;
            })
        });
    }
    group.finish();
}

criterion_group!(benches, store_operations);
criterion_main!(benches);
