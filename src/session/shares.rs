//! The memory store's record of which sessions each client address began,
//! oldest first, so that when a tier is crowded, an address holding more
//! than its share of it makes way with its own sessions (see `origin.rs`
//! for why). The store keeps one for the fresh tier (sessions join when
//! they are made) and one for the anonymous tier (they join when their
//! client comes back).
//!
//! Each address has a queue of store keys. A session joins its address's
//! queue; keys whose session has left the tier (it moved on, or it was
//! evicted) are dropped from the front as they are met, and from anywhere
//! among the first 16 in a queue over its share, so that a session that
//! stays does not keep those behind it counted. While the tier is
//! *crowded* ([`Limits::crowded_at`]), an address whose queue is over its
//! share has its oldest sessions evicted, up to 16 with each of its
//! arrivals, until it is within it; and up to 16 with each other
//! address's arrival too (the addresses over their share take turns), so
//! that one which took the room while the tier had it and then stopped
//! arriving does not keep it while others fill the tier. The tier then
//! stops filling, so its least-recently-used eviction, which would take
//! anybody's session, does not run. Below that, nobody is evicted: many
//! visitors behind one address (an office, a proxy without `ip_header`)
//! may hold as many sessions as fit.
//!
//! **What it costs.** Most addresses begin one session at a time, so the
//! bookkeeping is per address and must stay small: one map entry (the
//! address and its queue, ~50 bytes, plus the queue's keys) and one place
//! in a sweep ring (16 bytes). A moka cache of queues, which this was,
//! cost ~400 bytes per address, more than the session itself. The ring
//! lists the addresses with a queue, oldest first; each arrival looks at
//! the next two, drops their keys whose session left the tier, and
//! forgets an address whose queue is then empty, so queues go as their
//! sessions do and the sweep keeps pace with new addresses. An address
//! with a session still in the tier is never forgotten (were a flooding
//! address's queue dropped, its sessions would escape its share), so the
//! addresses kept are those with a session in the tier (no more than the
//! tier holds) and those the sweep has yet to reach: each arrival adds at
//! most one and sweeps two, four past the tier's capacity, so those stay
//! fewer than the first. No queue is much longer than the tier (one
//! that is over drops a key whose session left, sending the live keys
//! it meets first to the back), and no key leaves a queue while its
//! session is still in the tier, unless it makes way.
//!
//! **Locks.** An arrival holds its share's lock while it checks keys
//! against the store's index, while the sessions that make way are
//! evicted and while its own session joins the tier, so no other arrival
//! sees the address in between. The index's locks (and an evicted slot's)
//! are only ever taken under it, never the other way round.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::id::StoreKey;
#[cfg(doc)]
use super::limits::Limits;
use super::origin::Origin;

/// The most keys one arrival takes off its queue (sessions that left the
/// tier, or that make way); each arrival adds one, so an address over its
/// share is back within it after a few of its own requests.
const MOST_PER_ARRIVAL: usize = 16;

/// Addresses whose queues each arrival sweeps: more than the one address
/// an arrival can add, so the sweep keeps up.
const SWEPT_PER_ARRIVAL: usize = 2;

/// Sessions in one tier per client address.
pub(crate) struct Shares {
    state: Mutex<State>,
    share: usize,
    capacity: usize,
    crowded_at: u64,
}

#[derive(Default)]
struct State {
    queues: HashMap<Origin, VecDeque<StoreKey>>,
    // Each address with a queue, once: the sweep's order.
    ring: VecDeque<Origin>,
    // The addresses whose queue went past the share, each once (those in
    // `listed`), in turn: while the tier is crowded, each arrival makes
    // the next of them make way too, so that an address that stopped
    // arriving does not keep its excess while others fill the tier.
    over: VecDeque<Origin>,
    listed: HashSet<Origin>,
}

impl Shares {
    /// For a tier of `capacity` sessions, in which one address holds at
    /// most `share` while the tier is crowded (see [`Limits::crowded_at`]).
    pub(crate) fn new(capacity: u64, share: u64) -> Self {
        Shares {
            state: Mutex::default(),
            share: share.max(1) as usize,
            capacity: capacity.max(1) as usize,
            crowded_at: super::limits::Limits::crowded_at(capacity),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Each change is one push, pop or removal: a poisoned state is
        // still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a tier of this capacity that holds `len` sessions is
    /// crowded.
    pub(crate) fn crowded(&self, len: u64) -> bool {
        len >= self.crowded_at
    }

    /// Records a session of `origin` joining the tier, which holds
    /// `tier_len` sessions with it, and works out which sessions of the
    /// same address must make way for it (before it goes in, so that the
    /// tier's own eviction never has to). `join` gets those, makes them go
    /// and puts the new session in the tier, all while this lock is held:
    /// otherwise another address's arrival could sweep this address in
    /// between, find its only key's session not yet in the tier, and
    /// forget the address, and that session would count toward no share.
    /// `still_in_tier` says whether a key's session is still in the tier;
    /// `key` itself counts as in it. Returns the sessions that made way.
    pub(crate) fn arrive(
        &self,
        origin: Origin,
        key: StoreKey,
        tier_len: u64,
        still_in_tier: impl Fn(&StoreKey) -> bool,
        join: impl FnOnce(&[StoreKey]),
    ) -> Vec<StoreKey> {
        let mut state = self.lock();
        let State {
            queues,
            ring,
            over,
            listed,
        } = &mut *state;
        let queue = queues.entry(origin).or_insert_with(|| {
            ring.push_back(origin);
            VecDeque::with_capacity(1)
        });
        queue.push_back(key);
        let crowded = self.crowded(tier_len);
        let mut evicted = Vec::new();
        self.make_way(
            queue,
            crowded,
            |k| *k == key || still_in_tier(k),
            &mut evicted,
        );
        // The tier holds no more than its capacity, so a longer queue
        // holds keys whose sessions left the tier, behind live ones at the
        // front (sessions that stayed while later ones moved on). Those
        // live keys go to the back, never out of the queue: a key dropped
        // while its session is in the tier would count toward no share,
        // and the session would never make way. The first key that left
        // the tier goes. The tier holds at most `capacity` of the queue's
        // keys, and sixteen live ones go to the back per arrival, so the
        // queue stays within a sixteenth of the capacity past it.
        if queue.len() > self.capacity {
            for _ in 0..MOST_PER_ARRIVAL {
                let Some(oldest) = queue.pop_front() else {
                    break;
                };
                if oldest != key && !still_in_tier(&oldest) {
                    break;
                }
                queue.push_back(oldest);
            }
        }
        if queue.len() > self.share && listed.insert(origin) {
            over.push_back(origin);
        }
        self.others_make_way(&mut state, origin, crowded, &still_in_tier, &mut evicted);
        join(&evicted);
        self.sweep(&mut state, origin, &still_in_tier);
        evicted
    }

    /// Takes up to 16 keys off the front of an address's `queue` (a
    /// bounded amount of work per arrival: a flood's excess goes a few
    /// sessions at a time, and no request stalls for all of it): those
    /// whose session left the tier, and while the tier is `crowded`, live
    /// ones for as long as the queue is over the share, into `evicted`.
    ///
    /// A queue over the share first loses the keys among its first 16
    /// whose session left, not only those at its very front: a session
    /// that stays (a visitor who never came back, a tab left open) would
    /// otherwise hold back the departed ones queued after it, and they
    /// would count toward the share, so that the address's live sessions
    /// made way although it held no more than its share. Past the first
    /// 16 the queue still counts departed keys: an address whose 16
    /// oldest sessions all stay can be over-counted by those behind them.
    fn make_way(
        &self,
        queue: &mut VecDeque<StoreKey>,
        crowded: bool,
        live: impl Fn(&StoreKey) -> bool,
        evicted: &mut Vec<StoreKey>,
    ) {
        // How many keys this arrival may take off the front, and how many
        // of those are already known to be live.
        let (mut looked_at, mut known_live) = (MOST_PER_ARRIVAL, 0);
        if queue.len() > self.share {
            let mut at = 0;
            for _ in 0..MOST_PER_ARRIVAL.min(queue.len()) {
                if live(&queue[at]) {
                    at += 1;
                } else {
                    // Within the first 16: a shift of at most 16 keys.
                    queue.remove(at);
                }
            }
            // The 16 looked at are all this arrival takes: those that
            // left are gone, and only the live ones, now at the front,
            // may make way (as in the Redis store).
            (looked_at, known_live) = (at, at);
        }
        for n in 0..looked_at {
            let Some(&oldest) = queue.front() else { break };
            let live = n < known_live || live(&oldest);
            if live && !(crowded && queue.len() > self.share) {
                break;
            }
            queue.pop_front();
            if live {
                evicted.push(oldest);
            }
        }
    }

    /// The next address listed as over its share (other than `arriving`,
    /// which made way already): while the tier is crowded, its oldest
    /// sessions past the share make way too, up to 16, into `evicted`.
    /// An address makes way with its own arrivals, but one that stops
    /// arriving would otherwise keep all it took while the tier had room,
    /// and others' arrivals would fill the tier until its own eviction
    /// took anybody's session. An address no longer over its share (or
    /// forgotten) leaves the list; one still over it goes to its back.
    fn others_make_way(
        &self,
        state: &mut State,
        arriving: Origin,
        crowded: bool,
        still_in_tier: impl Fn(&StoreKey) -> bool,
        evicted: &mut Vec<StoreKey>,
    ) {
        let State {
            queues,
            over,
            listed,
            ..
        } = state;
        let Some(origin) = over.pop_front() else {
            return;
        };
        let Some(queue) = queues.get_mut(&origin) else {
            listed.remove(&origin);
            return;
        };
        if crowded && origin != arriving {
            // First the keys at the back whose sessions left (visitors who
            // came back or signed in since): the queue's length counts
            // them, and an address must not make way for sessions it no
            // longer has. (Left ones between live keys still count; its
            // own arrivals clear them from the front.)
            for _ in 0..MOST_PER_ARRIVAL {
                match queue.back() {
                    Some(newest) if !still_in_tier(newest) => queue.pop_back(),
                    _ => break,
                };
            }
            self.make_way(queue, true, &still_in_tier, evicted);
        }
        if queue.len() > self.share {
            over.push_back(origin);
        } else {
            listed.remove(&origin);
        }
    }

    /// Looks at the ring's next addresses (other than `arriving`): drops
    /// the keys at the front of each queue whose session left the tier, and
    /// forgets an address whose queue is then empty. An address with a
    /// session in the tier is never forgotten: its queue is what holds a
    /// flood to its share. Past the tier's capacity, the sweep goes faster.
    fn sweep(
        &self,
        state: &mut State,
        arriving: Origin,
        still_in_tier: impl Fn(&StoreKey) -> bool,
    ) {
        let State { queues, ring, .. } = state;
        let swept = if queues.len() > self.capacity {
            2 * SWEPT_PER_ARRIVAL
        } else {
            SWEPT_PER_ARRIVAL
        };
        for _ in 0..swept.min(ring.len()) {
            let Some(origin) = ring.pop_front() else {
                break;
            };
            let keep = origin == arriving
                || queues.get_mut(&origin).is_some_and(|queue| {
                    for _ in 0..MOST_PER_ARRIVAL {
                        match queue.front() {
                            Some(oldest) if !still_in_tier(oldest) => queue.pop_front(),
                            _ => break,
                        };
                    }
                    !queue.is_empty()
                });
            if keep {
                ring.push_back(origin);
            } else {
                queues.remove(&origin);
            }
        }
    }

    /// Holds the share's lock, as a busy arrival does (for tests).
    #[cfg(test)]
    pub(crate) fn hold(&self) -> MutexGuard<'_, impl Sized> {
        self.lock()
    }

    /// The addresses listed as over their share, in turn.
    #[cfg(test)]
    fn over(&self) -> usize {
        let state = self.lock();
        debug_assert_eq!(state.over.len(), state.listed.len());
        state.over.len()
    }

    /// The keys in `origin`'s queue, oldest first.
    #[cfg(test)]
    fn queue(&self, origin: Origin) -> Vec<StoreKey> {
        let state = self.lock();
        state
            .queues
            .get(&origin)
            .map_or_else(Vec::new, |q| q.iter().copied().collect())
    }

    /// How many addresses have a queue.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        let state = self.lock();
        debug_assert_eq!(state.queues.len(), state.ring.len());
        state.queues.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CROWDED: u64 = 10;

    #[test]
    fn in_a_crowded_tier_an_address_over_its_share_makes_way_with_its_own_oldest() {
        let shares = Shares::new(10, 2);
        let (here, there) = (Origin([1; 16]), Origin([2; 16]));
        let fresh = |_: &StoreKey| true;
        for (origin, key) in [(here, 1), (there, 9), (here, 2)] {
            let evicted = shares.arrive(origin, StoreKey([key; 16]), CROWDED, fresh, |_| ());
            assert!(evicted.is_empty());
        }
        assert_eq!(
            shares.arrive(here, StoreKey([3; 16]), CROWDED, fresh, |_| ()),
            [StoreKey([1; 16])]
        );
        // A session whose client came back is no longer counted.
        let gone = StoreKey([2; 16]);
        let fresh = |k: &StoreKey| *k != gone;
        assert!(shares
            .arrive(here, StoreKey([4; 16]), CROWDED, fresh, |_| ())
            .is_empty());
    }

    #[test]
    fn below_crowded_nobody_makes_way_and_once_crowded_the_excess_does() {
        // Crowded at 20,000 - 2,000.
        let shares = Shares::new(20_000, 2);
        let here = Origin([1; 16]);
        let fresh = |_: &StoreKey| true;
        assert!(!shares.crowded(17_999) && shares.crowded(18_000));
        for key in 1..=8u8 {
            let evicted = shares.arrive(
                here,
                StoreKey([key; 16]),
                17_990 + u64::from(key),
                fresh,
                |_| (),
            );
            assert!(evicted.is_empty(), "evicted below crowded: {key}");
        }
        // The tier is crowded now: the address keeps its newest 2.
        let evicted = shares.arrive(here, StoreKey([9; 16]), 18_000, fresh, |_| ());
        let oldest: Vec<StoreKey> = (1..=7).map(|k| StoreKey([k; 16])).collect();
        assert_eq!(evicted, oldest);
    }

    #[test]
    fn a_large_excess_goes_a_few_sessions_per_arrival() {
        let shares = Shares::new(20_000, 2);
        let here = Origin([1; 16]);
        let fresh = |_: &StoreKey| true;
        for key in 0..100u8 {
            let key = StoreKey([key; 16]);
            assert!(shares.arrive(here, key, 0, fresh, |_| ()).is_empty());
        }
        // 100 queued, then a crowded tier: each arrival adds one and
        // takes up to 16, oldest first, until the address is at its share
        // of 2; from then on each arrival makes way for itself.
        let mut evicted = Vec::new();
        for key in 200..208u8 {
            let gone = shares.arrive(here, StoreKey([key; 16]), 18_000, fresh, |_| ());
            evicted.push(gone.len());
            if key == 200 {
                assert_eq!(gone[0], StoreKey([0; 16]), "oldest first");
            }
        }
        assert_eq!(evicted, [16, 16, 16, 16, 16, 16, 9, 1]);
    }

    /// An address that took the room while the tier had it, then stopped:
    /// once the tier is crowded, other addresses' arrivals make it give
    /// way, 16 at a time, until it is within its share; and the list of
    /// addresses over their share forgets those that no longer are.
    #[test]
    fn an_address_that_stops_arriving_makes_way_as_others_arrive() {
        let shares = Shares::new(20_000, 2);
        let here = Origin([1; 16]);
        let fresh = |_: &StoreKey| true;
        for key in 0..50u8 {
            let key = StoreKey([key; 16]);
            assert!(shares.arrive(here, key, 0, fresh, |_| ()).is_empty());
        }
        assert_eq!(shares.over(), 1);
        // Below crowded, nobody makes way for another's arrival.
        let evicted = shares.arrive(
            Origin([100; 16]),
            StoreKey([100; 16]),
            17_999,
            fresh,
            |_| (),
        );
        assert!(evicted.is_empty());
        // Crowded: each arrival from elsewhere takes 16 of `here`'s oldest.
        let mut gone = Vec::new();
        for n in 101..106u8 {
            let (there, key) = (Origin([n; 16]), StoreKey([n; 16]));
            gone.push(shares.arrive(there, key, 18_000, fresh, |_| ()));
        }
        let counts: Vec<usize> = gone.iter().map(Vec::len).collect();
        assert_eq!(counts, [16, 16, 16, 0, 0]);
        assert_eq!(gone[0][0], StoreKey([0; 16]), "oldest first");
        assert_eq!(shares.queue(here).len(), 2);
        assert_eq!(shares.over(), 0, "within its share: off the list");
    }

    /// An address within its share whose queue holds, behind its sessions
    /// still in the tier, the places of many that left (visitors behind
    /// one address who came back, while the first ones still sit on a
    /// form): those places are dropped from among its first 16 keys, so
    /// once the tier is crowded only its real excess makes way.
    #[test]
    fn an_address_within_its_share_keeps_its_sessions_behind_departed_ones() {
        let shares = Shares::new(20_000, 2);
        let here = Origin([1; 16]);
        let key = |n: u8| StoreKey([n; 16]);
        for n in 0..12 {
            shares.arrive(here, key(n), 0, |_| true, |_| ());
        }
        // Sessions 0 and 1 stay; 2 to 11 came back; 12 arrives, crowded:
        // three live for a share of two, so the oldest one makes way.
        let live = |k: &StoreKey| k.0[0] < 2;
        let evicted = shares.arrive(here, key(12), 18_000, live, |_| ());
        assert_eq!(evicted, [key(0)]);
        assert_eq!(shares.queue(here), [key(1), key(12)]);
        // Below crowded nobody makes way, but the departed places still go.
        for n in 13..16 {
            shares.arrive(here, key(n), 0, |_| true, |_| ());
        }
        let stays = |k: &StoreKey| k.0[0] == 1 || k.0[0] == 16;
        assert!(shares.arrive(here, key(16), 0, stays, |_| ()).is_empty());
        assert_eq!(shares.queue(here), [key(1), key(16)]);
    }

    /// The limit of the above: the departed places are looked for among
    /// the first 16 keys only (a bounded amount of work per arrival), so
    /// an address whose 16 oldest sessions all stay still has those
    /// behind them counted. Known, not fixed: telling how many of a
    /// queue's keys are live would take a scan of it, or a count kept as
    /// sessions leave the tier.
    #[test]
    #[ignore = "known: past its first 16 keys, a queue's length counts sessions that left the tier"]
    fn an_address_whose_oldest_sixteen_stay_keeps_them_behind_departed_ones() {
        let shares = Shares::new(20_000, 16);
        let here = Origin([1; 16]);
        let key = |n: u8| StoreKey([n; 16]);
        for n in 0..26 {
            shares.arrive(here, key(n), 0, |_| true, |_| ());
        }
        // Sessions 0 to 15 stay, 16 to 25 came back; 26 arrives, crowded:
        // seventeen live for a share of sixteen.
        let live = |k: &StoreKey| k.0[0] < 16;
        let evicted = shares.arrive(here, key(26), 18_000, live, |_| ());
        assert_eq!(evicted, [key(0)]);
    }

    /// One arrival takes at most 16 keys off its queue, as in the Redis
    /// store: those among the first 16 whose session left, and of the
    /// live ones among them, those that make way. The rest waits for the
    /// next arrival.
    #[test]
    fn an_arrival_looks_at_sixteen_keys_at_most() {
        let shares = Shares::new(20_000, 16);
        let here = Origin([1; 16]);
        let key = |n: u8| StoreKey([n; 16]);
        for n in 0..40 {
            shares.arrive(here, key(n), 0, |_| true, |_| ());
        }
        // 0 to 15 left the tier; 16 to 39 stay, and each arrival: 25 for
        // a share of 16.
        let live = |k: &StoreKey| k.0[0] >= 16;
        assert!(shares
            .arrive(here, key(40), 18_000, live, |_| ())
            .is_empty());
        assert_eq!(shares.queue(here), (16..41).map(key).collect::<Vec<_>>());
        let evicted = shares.arrive(here, key(41), 18_000, live, |_| ());
        assert_eq!(evicted, (16..26).map(key).collect::<Vec<_>>());
        assert_eq!(shares.queue(here).len(), 16);
    }

    /// Random arrivals and departures of a few addresses, the tier crowded
    /// a third of the time: no live key leaves its queue without making
    /// way, no key is queued twice, and each queue (within the tier's
    /// size here) keeps its order.
    #[test]
    fn random_arrivals_keep_every_live_key_once_and_in_order() {
        use std::cell::RefCell;
        // xorshift: the same sequence every run.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let shares = Shares::new(2_000, 16);
        let origins: Vec<Origin> = (0..4u8).map(|n| Origin([n; 16])).collect();
        let tier: RefCell<HashSet<StoreKey>> = RefCell::default();
        let mut began: HashMap<StoreKey, (Origin, u32)> = HashMap::new();
        for step in 0..20_000u32 {
            let live: Vec<StoreKey> = tier.borrow().iter().copied().collect();
            if rnd(100) < 55 || live.is_empty() {
                // Half the arrivals from one address, the rest from any.
                let origin = origins[if rnd(2) == 0 { 0 } else { rnd(4) as usize }];
                let key = StoreKey(u128::from(step).to_le_bytes());
                began.insert(key, (origin, step));
                let len = tier.borrow().len() as u64 + 1;
                let tier_len = if rnd(3) == 0 { 19_000 } else { len };
                let still_in_tier = |k: &StoreKey| tier.borrow().contains(k);
                let evicted = shares.arrive(origin, key, tier_len, still_in_tier, |_| ());
                let mut tier = tier.borrow_mut();
                for k in &evicted {
                    assert!(tier.remove(k), "evicted a key not in the tier");
                }
                tier.insert(key);
            } else {
                // Newer sessions leave more often: the oldest ones stay.
                let mut by_age = live;
                by_age.sort_by_key(|k| began[k].1);
                let stays = by_age.len() / 4;
                let k = by_age[stays + rnd((by_age.len() - stays) as u64) as usize];
                tier.borrow_mut().remove(&k);
            }
            for origin in &origins {
                let queue = shares.queue(*origin);
                let once: HashSet<_> = queue.iter().collect();
                assert_eq!(once.len(), queue.len(), "a key queued twice, step {step}");
                for k in tier.borrow().iter().filter(|k| began[*k].0 == *origin) {
                    assert!(queue.contains(k), "a live key left its queue, step {step}");
                }
                assert!(
                    queue.windows(2).all(|w| began[&w[0]].1 < began[&w[1]].1),
                    "out of order, step {step}"
                );
            }
        }
    }

    /// An address listed as over its share whose later sessions then left
    /// (an office whose other visitors logged in): another address's
    /// arrival in a crowded tier drops those from the back of its queue
    /// and spares its one session still in the tier.
    #[test]
    fn another_addresss_arrival_spares_an_address_with_one_session() {
        let shares = Shares::new(20_000, 16);
        let office = Origin([1; 16]);
        let key = |n: u8| StoreKey([n; 16]);
        for n in 0..17 {
            shares.arrive(office, key(n), 0, |_| true, |_| ());
        }
        // All but the first came back and logged in: one session left.
        let live = |k: &StoreKey| k.0[0] == 0 || k.0[0] >= 100;
        let evicted = shares.arrive(Origin([9; 16]), key(100), 18_000, live, |_| ());
        assert!(evicted.is_empty(), "evicted {evicted:?}");
    }

    /// The new session goes in while the share's lock is held, after the
    /// sessions that make way for it have been named.
    #[test]
    fn the_session_joins_the_tier_while_the_share_is_locked() {
        let shares = Shares::new(10, 1);
        let here = Origin([1; 16]);
        let fresh = |_: &StoreKey| true;
        shares.arrive(here, StoreKey([1; 16]), CROWDED, fresh, |_| ());
        let mut joined = false;
        let evicted = shares.arrive(here, StoreKey([2; 16]), CROWDED, fresh, |evicted| {
            assert_eq!(evicted, [StoreKey([1; 16])]);
            assert!(
                shares.state.try_lock().is_err(),
                "joined after the lock was let go"
            );
            joined = true;
        });
        assert!(joined);
        assert_eq!(evicted, [StoreKey([1; 16])]);
    }

    /// Visitors who each come from an address of their own: the address
    /// is forgotten once its session has left the tier, so the bookkeeping
    /// follows the live sessions, not every address ever seen.
    #[test]
    fn addresses_go_as_their_sessions_do_and_stay_within_the_capacity() {
        let shares = Shares::new(10_000, 16);
        let key = |n: u32| StoreKey(u128::from(n).to_le_bytes());
        let origin = |n: u32| Origin(u128::from(n).to_be_bytes());
        // 1,000 visitors whose sessions then move on (or expire).
        for n in 0..1000 {
            shares.arrive(origin(n), key(n), 0, |_| true, |_| ());
        }
        assert_eq!(shares.addresses(), 1000);
        // 1,000 more while the first thousand's sessions are gone.
        let live = |k: &StoreKey| u128::from_le_bytes(k.0) >= 1000;
        for n in 1000..2000 {
            shares.arrive(origin(n), key(n), 0, live, |_| ());
        }
        assert_eq!(shares.addresses(), 1000, "only the live ones");
        // A tier of 100 whose sessions come and go, each from an address
        // of its own: the addresses kept stay within twice the tier.
        let small = Shares::new(100, 16);
        for n in 0..10_000 {
            let newest_100 = |k: &StoreKey| u128::from_le_bytes(k.0) + 100 > u128::from(n);
            small.arrive(origin(n), key(n), 0, newest_100, |_| ());
            assert!(small.addresses() <= 200, "{} addresses", small.addresses());
        }
    }

    /// An address whose first sessions stay in the tier while thousands of
    /// later ones leave it: its queue goes past the tier's size, and the
    /// ones that stayed keep their place (a key dropped while its session
    /// is in the tier would count toward no share), while the queue stays
    /// within a sixteenth of the size past it.
    #[test]
    fn a_queue_past_the_tiers_size_keeps_every_key_still_in_the_tier() {
        let (capacity, room) = (2048, 100);
        let shares = Shares::new(capacity, 8);
        let here = Origin([1; 16]);
        let key = |n: u32| StoreKey(u128::from(n).to_le_bytes());
        let stayed: Vec<StoreKey> = (0..1000).map(key).collect();
        for k in &stayed {
            shares.arrive(here, *k, room, |_| true, |_| ());
        }
        // Each later session leaves the tier right after it joins.
        let stays = |k: &StoreKey| u128::from_le_bytes(k.0) < 1000;
        for n in 1000..6000 {
            let arrived = key(n);
            shares.arrive(here, arrived, room, |k| *k == arrived || stays(k), |_| ());
            let queue = shares.queue(here);
            assert!(
                queue.len() as u64 <= capacity + capacity / 16 + 1,
                "{} keys",
                queue.len()
            );
        }
        let queue = shares.queue(here);
        assert!(
            stayed.iter().all(|k| queue.contains(k)),
            "a key left while in the tier"
        );
    }
}
