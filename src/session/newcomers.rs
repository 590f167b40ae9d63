//! The memory store's record of which sessions each client address began,
//! oldest first, so that one address holds at most its share of a tier
//! (see `origin.rs` for why). The store keeps one for the fresh tier
//! (sessions join when they are made) and one for the anonymous tier
//! (they join when their client comes back).
//!
//! Each address has a small queue of store keys. A session joins its
//! address's queue; keys whose session has left the tier (it moved on, or
//! it was evicted) are dropped from the front as they are met; and while
//! the queue is over the share, its oldest session is evicted. The queues
//! live in a bounded moka cache that forgets an address idle for the idle
//! timeout, so this costs about one key per session in the tier.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use moka::future::Cache;

use super::id::StoreKey;
use super::origin::Origin;

type Queue = Arc<Mutex<VecDeque<StoreKey>>>;

/// Sessions in one tier per client address.
pub(crate) struct Newcomers {
    queues: Cache<Origin, Queue>,
    share: usize,
}

impl Newcomers {
    /// Room for `addresses` addresses, `share` sessions each.
    pub(crate) fn new(addresses: u64, share: u64, idle: Duration) -> Self {
        Newcomers {
            queues: Cache::builder()
                .max_capacity(addresses)
                .time_to_idle(idle)
                .build(),
            share: share.max(1) as usize,
        }
    }

    /// Records a session of `origin` joining the tier; returns the
    /// sessions of the same address that must make way for it.
    /// `still_in_tier` says whether a key's session is still in the tier.
    pub(crate) async fn arrive(
        &self,
        origin: Origin,
        key: StoreKey,
        still_in_tier: impl Fn(&StoreKey) -> bool,
    ) -> Vec<StoreKey> {
        let queue = self
            .queues
            .get_with(origin, async { Queue::default() })
            .await;
        // Each change is one push or pop: a poisoned queue is still whole.
        let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
        while queue.front().is_some_and(|k| !still_in_tier(k)) {
            queue.pop_front();
        }
        queue.push_back(key);
        let mut evicted = Vec::new();
        while queue.len() > self.share {
            evicted.extend(queue.pop_front().filter(|oldest| still_in_tier(oldest)));
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_over_its_share_makes_way_with_its_own_oldest_session() {
        let newcomers = Newcomers::new(10, 2, Duration::from_secs(60));
        let (here, there) = (Origin([1; 16]), Origin([2; 16]));
        let fresh = |_: &StoreKey| true;
        assert!(newcomers
            .arrive(here, StoreKey([1; 16]), fresh)
            .await
            .is_empty());
        assert!(newcomers
            .arrive(there, StoreKey([9; 16]), fresh)
            .await
            .is_empty());
        assert!(newcomers
            .arrive(here, StoreKey([2; 16]), fresh)
            .await
            .is_empty());
        assert_eq!(
            newcomers.arrive(here, StoreKey([3; 16]), fresh).await,
            [StoreKey([1; 16])]
        );
        // A session whose client came back is no longer counted.
        let gone = StoreKey([2; 16]);
        let fresh = |k: &StoreKey| *k != gone;
        assert!(newcomers
            .arrive(here, StoreKey([4; 16]), fresh)
            .await
            .is_empty());
    }
}
