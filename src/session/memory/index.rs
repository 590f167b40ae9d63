//! The memory store's index: every slot in one map, its tier a field of
//! its entry, and each tier's least-recently-used order a list threaded
//! through the entries.
//!
//! The map is split into shards by key (keys are SHA-256 output, so they
//! spread evenly), each behind a plain mutex held for a lookup or a move
//! and never across an `await`. A shard is a hash table from key to a node
//! in a vector of nodes; a node links to its neighbours in its tier's list
//! by index, so a session costs one node (40 bytes) and its number in the
//! shard's table (4 bytes; the table finds it by the key in the node), and
//! no allocation of its own besides the slot. The `lru` crate
//! would allocate a node per entry (under the system allocator, each
//! long-lived allocation among a request's short-lived ones pins its
//! memory page), and moka, which the store used before, kept six
//! allocations and ~290 bytes per entry for timers and housekeeping that
//! the store does not need.
//!
//! **Counts and eviction.** Each tier counts its slots across the shards,
//! exactly. When a slot joins a tier that is then over its capacity, the
//! least recently used slot of that tier in the same shard makes room (or
//! of the next shard that has one): with even keys, the least recently
//! used of a shard is among the least recently used of the tier. Stores
//! of fewer than 16,384 sessions have one shard, so their order is
//! exact. An evicted slot is ended (flagged removed, taken out of the
//! owner index), so a request still holding it cannot write it.
//!
//! **Expiry.** Nothing runs on a timer. A slot that joins a tier first
//! drops the expired slots at the least recently used end of that tier's
//! list in its shard (a few at most), so under traffic expired sessions
//! leave as fast as new ones come; [`Index::sweep`] drops all of them (for
//! `len`); every read checks the clock anyway (the store's `acquire`).
//!
//! **Room kept.** A shard's vector of nodes and its table keep the room of
//! their busiest moment (about 50 bytes per session of that peak, reused
//! by the sessions that come after it); the sessions' own memory, most of
//! it, goes back when they end.

use hashbrown::HashTable;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::super::id::StoreKey;
use super::super::limits::Limits;
use super::super::owners::OwnerIndex;
use super::super::record::now_ms;
use super::super::slot::{end, Slot};
use super::Place;

/// The end of a list, and of the free list.
const NIL: u32 = u32::MAX;
/// Slots per shard below which a store has one shard (and exact order).
const PER_SHARD: u64 = 8192;
/// The most shards for speed: enough that requests on many cores rarely
/// meet. (Stores past 2^35 sessions get more, up to `MOST_SHARDS_EVER`,
/// so that a shard's node numbers fit in a u32 for any store that fits
/// in memory: 2^32 nodes of a shard alone would take 160 GiB.)
const MOST_SHARDS: u64 = 32;
const MOST_SHARDS_EVER: u64 = 1 << 10;
/// The most expired slots one arrival drops from its tier's list.
const SWEEP_PER_ARRIVAL: usize = 4;

struct Node {
    key: StoreKey,
    // None while the node is on the free list.
    slot: Option<Arc<Slot>>,
    place: Place,
    // Towards the more recently used end, and the less; `next` also links
    // the free list.
    prev: u32,
    next: u32,
}

/// One tier's list in a shard: `head` most recently used, `tail` least
/// (`NIL` when empty).
#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

impl Default for List {
    fn default() -> Self {
        List {
            head: NIL,
            tail: NIL,
        }
    }
}

#[derive(Default)]
struct Shard {
    // The nodes in use, found by their keys' hash: a node's number is all
    // it holds, since the node has the key.
    map: HashTable<u32>,
    nodes: Vec<Node>,
    free: Option<u32>,
    lists: [List; 3],
}

/// All slots of a memory store, by key, with their tiers.
pub(crate) struct Index {
    shards: Box<[Mutex<Shard>]>,
    counts: [AtomicU64; 3],
    caps: [u64; 3],
    limits: Limits,
    owners: Arc<OwnerIndex<Slot>>,
}

impl Index {
    pub(crate) fn new(limits: Limits, owners: Arc<OwnerIndex<Slot>>) -> Self {
        let tiers = limits.tiers();
        let for_speed = (limits.max_sessions / PER_SHARD)
            .next_power_of_two()
            .min(MOST_SHARDS);
        let shards = for_speed
            .max((limits.max_sessions >> 30).next_power_of_two())
            .min(MOST_SHARDS_EVER) as usize;
        Index {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            counts: Default::default(),
            caps: [tiers.fresh, tiers.anonymous, tiers.owned],
            limits,
            owners,
        }
    }

    fn shard_of(&self, key: &StoreKey) -> usize {
        // Keys are uniform bytes. The maps hash a key by its first eight
        // (`KeyHasher`), so the shard comes from others: were it from the
        // same bits, a shard's keys would share them and crowd a part of
        // its map's buckets.
        usize::from(u16::from_le_bytes([key.0[14], key.0[15]])) % self.shards.len()
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // Every change to a shard completes before it can panic (none
        // allocates halfway through a relinking), so a poisoned shard is
        // still whole.
        self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many slots `place` holds.
    pub(crate) fn len(&self, place: Place) -> u64 {
        self.counts[place as usize].load(Ordering::Relaxed)
    }

    /// The slot under `key` and its tier; with `used`, it becomes its
    /// tier's most recently used.
    pub(crate) fn get(&self, key: &StoreKey, used: bool) -> Option<(Arc<Slot>, Place)> {
        let mut shard = self.lock(self.shard_of(key));
        let at = shard.at(key)?;
        if used {
            shard.make_newest(at);
        }
        let node = &shard.nodes[at as usize];
        Some((node.slot.clone()?, node.place))
    }

    /// Whether `key` is in `place` (any tier, if `None`).
    pub(crate) fn contains(&self, key: &StoreKey, place: Option<Place>) -> bool {
        self.lock(self.shard_of(key)).find(key, place).is_some()
    }

    /// Puts `slot` under `key` in `place` as its most recently used (in
    /// place of any slot the key had), then makes room if the tier is
    /// over its capacity.
    pub(crate) fn insert(&self, key: StoreKey, slot: Arc<Slot>, place: Place) {
        let s = self.shard_of(&key);
        let over = {
            let mut shard = self.lock(s);
            self.sweep_tail(&mut shard, place, SWEEP_PER_ARRIVAL);
            match shard.at(&key) {
                Some(at) => {
                    // Only a snapshot could name a key twice, and it
                    // does not; were one replaced, it would end.
                    let old = shard.nodes[at as usize].slot.replace(slot);
                    if let Some(old) = old {
                        end(&self.owners, &key, &mut old.lock());
                    }
                    self.relink(&mut shard, at, place);
                }
                None => {
                    let at = shard.alloc(key, slot, place);
                    shard.index(key, at);
                    shard.push_front(at);
                    self.counts[place as usize].fetch_add(1, Ordering::Relaxed);
                }
            }
            self.evict_over(&mut shard, place, key)
        };
        if over {
            self.evict_elsewhere(s, place);
        }
    }

    /// Moves the slot under `key` to `to`, as its most recently used,
    /// then makes room if that tier is over its capacity. Whether it was
    /// there to move.
    pub(crate) fn move_to(&self, key: &StoreKey, to: Place) -> bool {
        let s = self.shard_of(key);
        let over = {
            let mut shard = self.lock(s);
            let Some(at) = shard.at(key) else {
                return false;
            };
            self.sweep_tail(&mut shard, to, SWEEP_PER_ARRIVAL);
            // The sweep may have dropped it, if it was expired.
            if shard.at(key) != Some(at) {
                return false;
            }
            self.relink(&mut shard, at, to);
            self.evict_over(&mut shard, to, *key)
        };
        if over {
            self.evict_elsewhere(s, to);
        }
        true
    }

    /// Takes the slot under `key` out of the index (only if it is in
    /// `place`, if given), without ending it.
    pub(crate) fn remove(&self, key: &StoreKey, place: Option<Place>) -> Option<Arc<Slot>> {
        let mut shard = self.lock(self.shard_of(key));
        let at = shard.find(key, place)?;
        self.take(&mut shard, at)
    }

    /// Evicts the slot under `key` if it is in `place`: takes it out and
    /// ends it.
    pub(crate) fn evict(&self, key: &StoreKey, place: Place) {
        let mut shard = self.lock(self.shard_of(key));
        if let Some(at) = shard.find(key, Some(place)) {
            self.drop_node(&mut shard, at);
        }
    }

    /// Drops every expired slot. Returns how many slots remain.
    pub(crate) fn sweep(&self) -> u64 {
        for s in 0..self.shards.len() {
            let mut shard = self.lock(s);
            for place in [Place::Fresh, Place::Anonymous, Place::Owned] {
                self.sweep_tail(&mut shard, place, usize::MAX);
            }
        }
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Every slot that has not expired, shard by shard, least recently
    /// used first in each tier: `each` sees one shard's slots at a time,
    /// after its lock is let go.
    pub(crate) fn for_each(&self, mut each: impl FnMut(Place, StoreKey, &Arc<Slot>)) {
        let now = now_ms();
        let live = |slot: &Slot| {
            let last_seen = slot.last_seen_ms();
            now < self.limits.ends_ms(&slot.lock().record, last_seen)
        };
        for s in 0..self.shards.len() {
            let slots: Vec<(Place, StoreKey, Arc<Slot>)> = {
                let shard = self.lock(s);
                let mut slots = Vec::with_capacity(shard.map.len());
                for list in &shard.lists {
                    let mut at = list.tail;
                    while at != NIL {
                        let node = &shard.nodes[at as usize];
                        if let Some(slot) = &node.slot {
                            slots.push((node.place, node.key, slot.clone()));
                        }
                        at = node.prev;
                    }
                }
                slots
            };
            for (place, key, slot) in slots.iter().filter(|(_, _, slot)| live(slot)) {
                each(*place, *key, slot);
            }
        }
    }

    /// Moves node `at` to the front of `place`'s list, adjusting counts.
    fn relink(&self, shard: &mut Shard, at: u32, place: Place) {
        let from = shard.nodes[at as usize].place;
        shard.unlink(at);
        shard.nodes[at as usize].place = place;
        shard.push_front(at);
        if from != place {
            self.counts[from as usize].fetch_sub(1, Ordering::Relaxed);
            self.counts[place as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Unlinks and frees node `at`, returning its slot.
    fn take(&self, shard: &mut Shard, at: u32) -> Option<Arc<Slot>> {
        let node = &shard.nodes[at as usize];
        let (key, place) = (node.key, node.place);
        shard.unlink(at);
        shard.unindex(&key);
        self.counts[place as usize].fetch_sub(1, Ordering::Relaxed);
        shard.release(at)
    }

    /// Takes node `at` out and ends its slot (evicted or expired).
    fn drop_node(&self, shard: &mut Shard, at: u32) {
        let key = shard.nodes[at as usize].key;
        if let Some(slot) = self.take(shard, at) {
            end(&self.owners, &key, &mut slot.lock());
        }
    }

    /// Drops expired slots from the least recently used end of `place`'s
    /// list, looking at `most` of them at most.
    fn sweep_tail(&self, shard: &mut Shard, place: Place, most: usize) {
        let now = now_ms();
        let mut at = shard.lists[place as usize].tail;
        for _ in 0..most {
            if at == NIL {
                break;
            }
            let node = &shard.nodes[at as usize];
            let prev = node.prev;
            let expired = node.slot.as_ref().is_some_and(|slot| {
                let last_seen = slot.last_seen_ms();
                let state = slot.lock();
                state.removed || now >= self.limits.ends_ms(&state.record, last_seen)
            });
            if expired {
                self.drop_node(shard, at);
            } else if most != usize::MAX {
                // The rest were used more recently; a remembered session
                // idle longer than an ordinary one may hide a few, which
                // `sweep` or eviction takes later.
                break;
            }
            at = prev;
        }
    }

    /// If `place` is over its capacity, evicts the least recently used
    /// slot of its list in this shard other than `keep`. Whether the tier
    /// is still over (this shard had nothing else to give).
    fn evict_over(&self, shard: &mut Shard, place: Place, keep: StoreKey) -> bool {
        if self.len(place) <= self.caps[place as usize] {
            return false;
        }
        match shard.lists[place as usize].tail {
            tail if tail != NIL && shard.nodes[tail as usize].key != keep => {
                self.drop_node(shard, tail);
                false
            }
            _ => true,
        }
    }

    /// Evicts from the other shards, one least recently used slot each in
    /// turn, until `place` is within its capacity.
    fn evict_elsewhere(&self, from: usize, place: Place) {
        let n = self.shards.len();
        for s in (1..n).map(|i| (from + i) % n) {
            if self.len(place) <= self.caps[place as usize] {
                return;
            }
            let mut shard = self.lock(s);
            let tail = shard.lists[place as usize].tail;
            if tail != NIL {
                self.drop_node(&mut shard, tail);
            }
        }
    }
}

impl Shard {
    /// The node of `key`.
    fn at(&self, key: &StoreKey) -> Option<u32> {
        let nodes = &self.nodes;
        self.map
            .find(key.table_hash(), |&at| nodes[at as usize].key == *key)
            .copied()
    }

    /// Makes node `at`, which holds `key`, findable by it.
    fn index(&mut self, key: StoreKey, at: u32) {
        let Shard { map, nodes, .. } = self;
        map.insert_unique(key.table_hash(), at, |&at| {
            nodes[at as usize].key.table_hash()
        });
    }

    /// Makes `key`'s node no longer findable.
    fn unindex(&mut self, key: &StoreKey) {
        let Shard { map, nodes, .. } = self;
        if let Ok(entry) = map.find_entry(key.table_hash(), |&at| nodes[at as usize].key == *key) {
            entry.remove();
        }
    }

    /// The node of `key`, if it is in `place` (any tier, if `None`).
    fn find(&self, key: &StoreKey, place: Option<Place>) -> Option<u32> {
        let at = self.at(key)?;
        place
            .is_none_or(|p| self.nodes[at as usize].place == p)
            .then_some(at)
    }

    fn alloc(&mut self, key: StoreKey, slot: Arc<Slot>, place: Place) -> u32 {
        let node = Node {
            key,
            slot: Some(slot),
            place,
            prev: NIL,
            next: NIL,
        };
        match self.free {
            Some(at) => {
                let next = self.nodes[at as usize].next;
                self.free = (next != NIL).then_some(next);
                self.nodes[at as usize] = node;
                at
            }
            None => {
                // Fewer than 2^32 nodes: a shard holds about 2^30 of
                // `max_sessions` at most (see `Index::new`).
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, at: u32) -> Option<Arc<Slot>> {
        let node = &mut self.nodes[at as usize];
        node.next = self.free.unwrap_or(NIL);
        self.free = Some(at);
        node.slot.take()
    }

    fn push_front(&mut self, at: u32) {
        let place = self.nodes[at as usize].place as usize;
        let list = &mut self.lists[place];
        let head = std::mem::replace(&mut list.head, at);
        if head == NIL {
            list.tail = at;
        } else {
            self.nodes[head as usize].prev = at;
        }
        self.nodes[at as usize].prev = NIL;
        self.nodes[at as usize].next = head;
    }

    fn unlink(&mut self, at: u32) {
        let Node {
            prev, next, place, ..
        } = self.nodes[at as usize];
        if prev == NIL {
            self.lists[place as usize].head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[place as usize].tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    fn make_newest(&mut self, at: u32) {
        if self.nodes[at as usize].prev != NIL {
            self.unlink(at);
            self.push_front(at);
        }
    }
}

#[cfg(test)]
mod model_tests;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::super::super::record::Record;
    use super::*;

    /// Keys like a store's: SHA-256 output.
    fn key(n: u32) -> StoreKey {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::digest(n.to_le_bytes());
        StoreKey(digest[..16].try_into().unwrap())
    }

    fn slot() -> Arc<Slot> {
        Slot::new(Record::new("{}", 1), now_ms(), false, None)
    }

    fn index(max_sessions: u64) -> Index {
        let limits = Limits::new(
            max_sessions,
            Duration::from_secs(60),
            Duration::from_secs(600),
        );
        Index::new(limits, Arc::default())
    }

    #[test]
    fn a_full_tier_evicts_its_least_recently_used_and_ends_it() {
        // 100 sessions: tiers of 25, 25 and 50, in one shard.
        let index = index(100);
        let slots: Vec<_> = (0..26).map(|_| slot()).collect();
        for (n, slot) in slots.iter().enumerate().take(25) {
            index.insert(key(n as u32), slot.clone(), Place::Fresh);
        }
        // A use makes 0 the most recent: 1 is now the least.
        assert!(index.get(&key(0), true).is_some());
        index.insert(key(25), slots[25].clone(), Place::Fresh);
        assert_eq!(index.len(Place::Fresh), 25);
        assert!(!index.contains(&key(1), None));
        assert!(slots[1].lock().removed, "an evicted slot is ended");
        assert!(index.contains(&key(0), Some(Place::Fresh)));
        // Other tiers are untouched by the fresh tier's eviction.
        index.insert(key(99), slot(), Place::Owned);
        assert_eq!(index.len(Place::Owned), 1);
    }

    #[test]
    fn a_move_changes_tiers_and_counts_and_a_removal_frees_the_node() {
        let index = index(100);
        index.insert(key(1), slot(), Place::Fresh);
        assert!(index.move_to(&key(1), Place::Anonymous));
        assert_eq!(
            (index.len(Place::Fresh), index.len(Place::Anonymous)),
            (0, 1)
        );
        assert_eq!(
            index.get(&key(1), false).map(|(_, p)| p),
            Some(Place::Anonymous)
        );
        assert!(index.remove(&key(1), Some(Place::Fresh)).is_none());
        let removed = index.remove(&key(1), None).unwrap();
        assert!(
            !removed.lock().removed,
            "a removal leaves the ending to the caller"
        );
        assert!(!index.move_to(&key(1), Place::Owned));
        // The freed node is used again.
        index.insert(key(2), slot(), Place::Fresh);
        assert_eq!(index.lock(0).nodes.len(), 1);
    }

    #[test]
    fn expired_slots_leave_as_others_arrive_and_a_sweep_takes_the_rest() {
        let index = index(100);
        let slots: Vec<_> = (0..10).map(|_| slot()).collect();
        for (n, slot) in slots.iter().enumerate() {
            index.insert(key(n as u32), slot.clone(), Place::Anonymous);
        }
        // Idle past the 60 s timeout.
        for slot in &slots {
            slot.touch(now_ms() - 61_000);
        }
        index.insert(key(10), slot(), Place::Anonymous);
        assert!(slots[0].lock().removed, "an expired slot is ended");
        assert_eq!(index.len(Place::Anonymous), 11 - SWEEP_PER_ARRIVAL as u64);
        assert_eq!(index.sweep(), 1);
        assert!(index.contains(&key(10), None));
    }

    /// Every structural invariant of the index: each map entry's node is
    /// in the list of its tier, the links agree both ways, the free list
    /// holds no slot and no listed node, no node leaks, and the counts are
    /// exact. Returns the keys in the lists.
    fn check(index: &Index) -> Vec<StoreKey> {
        let mut keys = Vec::new();
        let mut counts = [0; 3];
        for (s, shard) in index.shards.iter().enumerate() {
            let shard = shard.lock().unwrap();
            let mut listed = 0;
            for (p, list) in shard.lists.iter().enumerate() {
                let (mut at, mut prev) = (list.head, NIL);
                while at != NIL {
                    let node = &shard.nodes[at as usize];
                    assert_eq!((node.prev, node.place as usize), (prev, p));
                    assert!(node.slot.is_some());
                    assert_eq!(shard.at(&node.key), Some(at));
                    assert_eq!(index.shard_of(&node.key), s);
                    assert!(listed < shard.nodes.len(), "a cycle");
                    keys.push(node.key);
                    (listed, counts[p], prev, at) = (listed + 1, counts[p] + 1, at, node.next);
                }
                assert_eq!(list.tail, prev);
            }
            assert_eq!(shard.map.len(), listed);
            let (mut free, mut at) = (0, shard.free.unwrap_or(NIL));
            while at != NIL {
                assert!(shard.nodes[at as usize].slot.is_none());
                (free, at) = (free + 1, shard.nodes[at as usize].next);
                assert!(free <= shard.nodes.len(), "a cycle in the free list");
            }
            assert_eq!(free + listed, shard.nodes.len(), "a node leaked");
        }
        for p in [Place::Fresh, Place::Anonymous, Place::Owned] {
            assert_eq!(index.len(p), counts[p as usize]);
            assert!(
                index.len(p) <= index.caps[p as usize],
                "{p:?} over its capacity"
            );
        }
        keys
    }

    /// Random operations on stores of one and of many shards; after each,
    /// the structure is whole, no tier is over its capacity, and every
    /// slot the index let go of by itself (eviction, expiry) is ended.
    #[test]
    fn random_operations_keep_the_index_whole() {
        let places = [Place::Fresh, Place::Anonymous, Place::Owned];
        for shards in [1, 3, 8] {
            let mut index = index(60);
            index.shards = (0..shards).map(|_| Mutex::default()).collect();
            let mut slots: HashMap<StoreKey, Arc<Slot>> = HashMap::new();
            // xorshift: the same operations on every run.
            let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
            let mut next = |n: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % n
            };
            for _ in 0..20_000 {
                let k = key(next(150) as u32);
                let place = places[next(3) as usize];
                match next(10) {
                    0..=3 => {
                        let slot = slot();
                        slots.insert(k, slot.clone());
                        index.insert(k, slot, place);
                    }
                    4 | 5 => {
                        index.move_to(&k, place);
                    }
                    6 => {
                        index.get(&k, next(2) == 0);
                    }
                    7 => {
                        // Taken out by its caller, who ends it.
                        if let Some(slot) = index.remove(&k, None) {
                            slots.remove(&k);
                            slot.lock().removed = true;
                        }
                    }
                    8 => index.evict(&k, place),
                    _ => {
                        // Idle past its timeout.
                        if let Some((slot, _)) = index.get(&k, false) {
                            slot.touch(now_ms() - 61_000);
                        }
                    }
                }
                let live = check(&index);
                for (k, slot) in &slots {
                    assert!(
                        live.contains(k) || slot.lock().removed,
                        "dropped but not ended"
                    );
                }
            }
            index.sweep();
            check(&index);
        }
    }

    #[test]
    fn a_store_of_any_size_can_be_made() {
        assert_eq!(index(100).shards.len(), 1);
        assert_eq!(index(100_000).shards.len(), 16);
        // A library user's "no limit": a bounded number of shards.
        assert_eq!(index(u64::MAX).shards.len() as u64, MOST_SHARDS_EVER);
    }

    #[test]
    fn with_many_shards_no_tier_goes_past_its_capacity() {
        // 1,000,000 sessions: 32 shards; fill the fresh tier three times.
        let index = index(1_000_000);
        assert_eq!(index.shards.len() as u64, MOST_SHARDS);
        let cap = index.caps[Place::Fresh as usize];
        for n in 0..3 * cap as u32 {
            index.insert(key(n), slot(), Place::Fresh);
        }
        assert_eq!(index.len(Place::Fresh), cap);
        let mut seen = 0;
        index.for_each(|_, _, _| seen += 1);
        assert_eq!(seen, cap);
        // The newest are all there: eviction took older ones.
        assert!((3 * cap as u32 - 1000..3 * cap as u32).all(|n| index.contains(&key(n), None)));
    }
}
