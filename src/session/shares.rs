//! The memory store's record of which sessions each client address began,
//! oldest first, so that when a tier is crowded, an address holding more
//! than its share of it makes way with its own sessions (see `origin.rs`
//! for why). The store keeps one for the fresh tier (sessions join when
//! they are made) and one for the anonymous tier (they join when their
//! client comes back).
//!
//! Each address has a queue of store keys. A session joins its address's
//! queue; keys whose session has left the tier (it moved on, or it was
//! evicted) are dropped from the front as they are met. While the tier is
//! *crowded* ([`Limits::crowded_at`]), an address whose queue is over its
//! share has its oldest sessions evicted, up to 16 with each of its
//! arrivals, until it is within it; the tier then stops filling, so its
//! least-recently-used eviction, which would take anybody's session, does
//! not run. Below that, nobody is evicted: many visitors behind one
//! address (an office, a proxy without `ip_header`) may hold as many
//! sessions as fit. The queues live in a bounded moka cache that forgets
//! an address idle for the idle timeout, and a queue never grows past the
//! tier's size.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use moka::future::Cache;

use super::id::StoreKey;
#[cfg(doc)]
use super::limits::Limits;
use super::origin::Origin;

type Queue = Arc<Mutex<VecDeque<StoreKey>>>;

/// The most keys one arrival takes off its queue (sessions that left the
/// tier, or that make way); each arrival adds one, so an address over its
/// share is back within it after a few of its own requests.
const MOST_PER_ARRIVAL: usize = 16;

/// Sessions in one tier per client address.
pub(crate) struct Shares {
    queues: Cache<Origin, Queue>,
    share: usize,
    capacity: usize,
    crowded_at: u64,
}

impl Shares {
    /// For a tier of `capacity` sessions, in which one address holds at
    /// most `share` while the tier is crowded (see [`Limits::crowded_at`]).
    pub(crate) fn new(capacity: u64, share: u64, idle: Duration) -> Self {
        Shares {
            queues: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(idle)
                .build(),
            share: share.max(1) as usize,
            capacity: capacity.max(1) as usize,
            crowded_at: super::limits::Limits::crowded_at(capacity),
        }
    }

    /// Whether a tier of this capacity that holds `len` sessions is
    /// crowded.
    pub(crate) fn crowded(&self, len: u64) -> bool {
        len >= self.crowded_at
    }

    /// Records a session of `origin` joining the tier, which holds
    /// `tier_len` sessions with it; returns the sessions of the same
    /// address that must make way for it (before it goes in, so that the
    /// tier's own eviction never has to). `still_in_tier` says whether a
    /// key's session is still in the tier; `key` itself counts as in it.
    pub(crate) async fn arrive(
        &self,
        origin: Origin,
        key: StoreKey,
        tier_len: u64,
        still_in_tier: impl Fn(&StoreKey) -> bool,
    ) -> Vec<StoreKey> {
        let queue = self
            .queues
            .get_with(origin, async { Queue::default() })
            .await;
        // Each change is one push or pop: a poisoned queue is still whole.
        let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.push_back(key);
        let crowded = self.crowded(tier_len);
        let mut evicted = Vec::new();
        // A bounded amount of work per arrival: a flood's excess goes a
        // few sessions at a time, and no request stalls for all of it.
        for _ in 0..MOST_PER_ARRIVAL {
            let Some(&oldest) = queue.front() else { break };
            let live = oldest == key || still_in_tier(&oldest);
            if live && !(crowded && queue.len() > self.share) {
                break;
            }
            queue.pop_front();
            if live {
                evicted.push(oldest);
            }
        }
        // The tier holds no more than its capacity, so a longer queue's
        // oldest key is past caring about.
        if queue.len() > self.capacity {
            queue.pop_front();
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CROWDED: u64 = 10;

    #[tokio::test]
    async fn in_a_crowded_tier_an_address_over_its_share_makes_way_with_its_own_oldest() {
        let shares = Shares::new(10, 2, Duration::from_secs(60));
        let (here, there) = (Origin([1; 16]), Origin([2; 16]));
        let fresh = |_: &StoreKey| true;
        for (origin, key) in [(here, 1), (there, 9), (here, 2)] {
            let evicted = shares
                .arrive(origin, StoreKey([key; 16]), CROWDED, fresh)
                .await;
            assert!(evicted.is_empty());
        }
        assert_eq!(
            shares.arrive(here, StoreKey([3; 16]), CROWDED, fresh).await,
            [StoreKey([1; 16])]
        );
        // A session whose client came back is no longer counted.
        let gone = StoreKey([2; 16]);
        let fresh = |k: &StoreKey| *k != gone;
        assert!(shares
            .arrive(here, StoreKey([4; 16]), CROWDED, fresh)
            .await
            .is_empty());
    }

    #[tokio::test]
    async fn below_crowded_nobody_makes_way_and_once_crowded_the_excess_does() {
        // Crowded at 20,000 - 2,000.
        let shares = Shares::new(20_000, 2, Duration::from_secs(60));
        let here = Origin([1; 16]);
        let fresh = |_: &StoreKey| true;
        assert!(!shares.crowded(17_999) && shares.crowded(18_000));
        for key in 1..=8u8 {
            let evicted = shares
                .arrive(here, StoreKey([key; 16]), 17_990 + u64::from(key), fresh)
                .await;
            assert!(evicted.is_empty(), "evicted below crowded: {key}");
        }
        // The tier is crowded now: the address keeps its newest 2.
        let evicted = shares.arrive(here, StoreKey([9; 16]), 18_000, fresh).await;
        let oldest: Vec<StoreKey> = (1..=7).map(|k| StoreKey([k; 16])).collect();
        assert_eq!(evicted, oldest);
    }

    #[tokio::test]
    async fn a_large_excess_goes_a_few_sessions_per_arrival() {
        let shares = Shares::new(20_000, 2, Duration::from_secs(60));
        let here = Origin([1; 16]);
        let fresh = |_: &StoreKey| true;
        for key in 0..100u8 {
            let key = StoreKey([key; 16]);
            assert!(shares.arrive(here, key, 0, fresh).await.is_empty());
        }
        // 100 queued, then a crowded tier: each arrival adds one and
        // takes up to 16, oldest first, until the address is at its share
        // of 2; from then on each arrival makes way for itself.
        let mut evicted = Vec::new();
        for key in 200..208u8 {
            let gone = shares
                .arrive(here, StoreKey([key; 16]), 18_000, fresh)
                .await;
            evicted.push(gone.len());
            if key == 200 {
                assert_eq!(gone[0], StoreKey([0; 16]), "oldest first");
            }
        }
        assert_eq!(evicted, [16, 16, 16, 16, 16, 16, 9, 1]);
    }
}
