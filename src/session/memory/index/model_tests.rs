//! The index against a reference `std::collections::HashMap`, with keys
//! built to collide in the table's hash (the first 8 bytes) and in the
//! shard (bytes 14, 15), so that every lookup walks candidates whose
//! `nodes[at].key` differs, and freed nodes (which keep their old key)
//! are reused under new keys (from the hostile review of the table).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::super::super::record::Record;
use super::*;

fn slot() -> Arc<Slot> {
    Slot::new(Record::new("{}", 1), now_ms(), false, None)
}

/// An index far larger than the keys used: no eviction, no expiry, so
/// the reference map predicts it exactly.
fn big_index(shards: usize) -> Index {
    let limits = Limits::new(
        100_000,
        Duration::from_secs(3600),
        Duration::from_secs(7200),
    );
    let mut index = Index::new(limits, Arc::default());
    index.shards = (0..shards).map(|_| Mutex::default()).collect();
    index
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Key `n` of a universe where many keys share their hash: the first 8
/// bytes come from only `hashes` values; bytes 14, 15 from 3 values.
fn colliding_key(n: u32, hashes: u32) -> StoreKey {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(
        &u64::from(n % hashes)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .to_le_bytes(),
    );
    k[8..12].copy_from_slice(&n.to_le_bytes());
    k[14] = (n % 3) as u8;
    StoreKey(k)
}

fn compare(index: &Index, model: &HashMap<StoreKey, (Arc<Slot>, Place)>) {
    let mut seen = HashMap::new();
    index.for_each(|place, key, slot| {
        assert!(
            seen.insert(key, (slot.clone(), place)).is_none(),
            "listed twice"
        );
    });
    assert_eq!(seen.len(), model.len(), "listed vs model");
    for (k, (slot, place)) in model {
        let (s, p) = seen.get(k).expect("model key not listed");
        assert!(Arc::ptr_eq(s, slot) && p == place, "wrong slot or tier");
    }
    let mut counts = [0u64; 3];
    for (_, p) in model.values() {
        counts[*p as usize] += 1;
    }
    for p in [Place::Fresh, Place::Anonymous, Place::Owned] {
        assert_eq!(index.len(p), counts[p as usize], "{p:?} count drifted");
    }
    let mut in_tables = 0;
    for shard in index.shards.iter() {
        let shard = shard.lock().unwrap();
        in_tables += shard.map.len();
        // Every number in the table is a live node in bounds.
        for &at in shard.map.iter() {
            assert!((at as usize) < shard.nodes.len());
            assert!(
                shard.nodes[at as usize].slot.is_some(),
                "a free node is findable"
            );
        }
    }
    assert_eq!(in_tables, model.len());
}

#[test]
fn the_index_agrees_with_a_hash_map_under_colliding_keys() {
    let places = [Place::Fresh, Place::Anonymous, Place::Owned];
    for (shards, hashes, universe) in [(1, 1, 64), (1, 3, 400), (3, 2, 300), (8, 1_000_000, 2000)] {
        let index = big_index(shards);
        let mut model: HashMap<StoreKey, (Arc<Slot>, Place)> = HashMap::new();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ universe);
        for step in 0..40_000u32 {
            let k = colliding_key(rng.next(universe) as u32, hashes);
            let place = places[rng.next(3) as usize];
            match rng.next(12) {
                0..=3 => {
                    let s = slot();
                    let old = model.insert(k, (s.clone(), place));
                    index.insert(k, s, place);
                    if let Some((old, _)) = old {
                        assert!(old.lock().removed, "a replaced slot is ended");
                    }
                }
                4 | 5 => {
                    let was = model.get_mut(&k).map(|e| {
                        e.1 = place;
                    });
                    assert_eq!(index.move_to(&k, place), was.is_some());
                }
                6 => {
                    let got = index.get(&k, rng.next(2) == 0);
                    match (got, model.get(&k)) {
                        (None, None) => {}
                        (Some((s, p)), Some((ms, mp))) => assert!(Arc::ptr_eq(&s, ms) && p == *mp),
                        (g, m) => panic!("get: {:?} vs {:?}", g.map(|x| x.1), m.map(|x| x.1)),
                    }
                }
                7 | 8 => {
                    let only = (rng.next(2) == 0).then_some(place);
                    let expect = model
                        .get(&k)
                        .filter(|(_, p)| only.is_none_or(|o| o == *p))
                        .map(|(s, _)| s.clone());
                    let got = index.remove(&k, only);
                    match (&got, &expect) {
                        (None, None) => {}
                        (Some(a), Some(b)) => assert!(Arc::ptr_eq(a, b)),
                        _ => panic!("remove disagrees"),
                    }
                    if got.is_some() {
                        model.remove(&k);
                    }
                }
                9 => {
                    let hit = model.get(&k).is_some_and(|(_, p)| *p == place);
                    let s = model.get(&k).map(|(s, _)| s.clone());
                    index.evict(&k, place);
                    if hit {
                        assert!(s.unwrap().lock().removed);
                        model.remove(&k);
                    }
                }
                10 => {
                    let only = (rng.next(2) == 0).then_some(place);
                    let expect = model
                        .get(&k)
                        .is_some_and(|(_, p)| only.is_none_or(|o| o == *p));
                    assert_eq!(index.contains(&k, only), expect);
                }
                _ => {
                    assert_eq!(index.sweep(), model.len() as u64);
                }
            }
            if step % 97 == 0 {
                compare(&index, &model);
            }
        }
        compare(&index, &model);
        // Empty it: every key removed, then the index is empty and the
        // nodes all on the free list; then refill and compare again.
        let keys: Vec<_> = model.keys().copied().collect();
        for k in keys {
            assert!(index.remove(&k, None).is_some());
            model.remove(&k);
            assert!(!index.contains(&k, None));
        }
        compare(&index, &model);
        for n in 0..universe as u32 {
            let k = colliding_key(n, hashes);
            let s = slot();
            index.insert(k, s.clone(), Place::Owned);
            model.insert(k, (s, Place::Owned));
        }
        compare(&index, &model);
    }
}

/// Concurrent use of one index by threads on disjoint and shared keys,
/// then a full comparison: no lost or duplicated node, counts exact.
#[test]
fn threads_on_one_index_leave_it_whole() {
    let index = Arc::new(big_index(4));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let index = index.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x1234_5678 + u64::from(t));
                let mut mine: HashMap<StoreKey, (Arc<Slot>, Place)> = HashMap::new();
                let places = [Place::Fresh, Place::Anonymous, Place::Owned];
                for _ in 0..30_000 {
                    // Thread t's keys: n ≡ t (mod 4), colliding with the
                    // others' in hash and shard.
                    let n = rng.next(500) as u32 * 4 + t;
                    let k = colliding_key(n, 2);
                    let place = places[rng.next(3) as usize];
                    match rng.next(4) {
                        0 => {
                            let s = slot();
                            index.insert(k, s.clone(), place);
                            mine.insert(k, (s, place));
                        }
                        1 => {
                            if index.move_to(&k, place) {
                                mine.get_mut(&k).unwrap().1 = place;
                            } else {
                                assert!(!mine.contains_key(&k));
                            }
                        }
                        2 => {
                            let got = index.remove(&k, None);
                            assert_eq!(got.is_some(), mine.remove(&k).is_some());
                        }
                        _ => {
                            let got = index.get(&k, true);
                            match (got, mine.get(&k)) {
                                (None, None) => {}
                                (Some((s, p)), Some((ms, mp))) => {
                                    assert!(Arc::ptr_eq(&s, ms) && p == *mp)
                                }
                                _ => panic!("thread {t}: get disagrees"),
                            }
                        }
                    }
                }
                mine
            })
        })
        .collect();
    let mut all = HashMap::new();
    for t in threads {
        all.extend(t.join().unwrap());
    }
    compare(&index, &all);
}
