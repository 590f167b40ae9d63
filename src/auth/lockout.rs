//! Failed-login counting and lockout, per username.
//!
//! Each username (known or not, so the lockout reveals nothing) has a
//! failure count in a moka cache whose entries vanish `lockout` after their
//! last failure. At `max_failed_logins` failures the username is locked:
//! attempts are refused with 429 and `Retry-After` before any hashing,
//! until `lockout` has passed since the last failure. A success clears the
//! count. The cache is bounded, so spraying usernames cannot exhaust memory.

use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::ops::compute::Op;

/// Most usernames tracked at once.
const MAX_TRACKED: u64 = 100_000;

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// The failure counts.
pub struct Lockout {
    failures: Cache<String, Failures>,
    max: u32,
    window: Duration,
}

impl Lockout {
    /// Locks a username after `max` failures, each within `window` of the last.
    pub fn new(max: u32, window: Duration) -> Self {
        let failures = Cache::builder()
            .max_capacity(MAX_TRACKED)
            .time_to_live(window)
            .build();
        Lockout {
            failures,
            max,
            window,
        }
    }

    /// Seconds until `username` may try again, if it is locked now.
    pub async fn locked_for(&self, username: &str) -> Option<u64> {
        let failures = self.failures.get(username).await?;
        if failures.count < self.max {
            return None;
        }
        let left = self.window.saturating_sub(failures.last.elapsed());
        // Round up, so a client that waits Retry-After seconds gets in.
        (!left.is_zero()).then(|| left.as_millis().div_ceil(1000) as u64)
    }

    /// Counts a failed login for `username`.
    pub async fn record_failure(&self, username: &str) {
        self.failures
            .entry(username.to_owned())
            .and_compute_with(|current| {
                let count = current.map_or(0, |e| e.into_value().count);
                // Re-inserting restarts the entry's time to live.
                std::future::ready(Op::Put(Failures {
                    count: count.saturating_add(1),
                    last: Instant::now(),
                }))
            })
            .await;
    }

    /// Forgets `username`'s failures after a successful login.
    pub async fn clear(&self, username: &str) {
        self.failures.invalidate(username).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_after_max_failures_and_unlocks_after_the_window() {
        let lockout = Lockout::new(3, Duration::from_millis(400));
        for _ in 0..2 {
            lockout.record_failure("alice").await;
        }
        assert_eq!(lockout.locked_for("alice").await, None);
        lockout.record_failure("alice").await;
        assert_eq!(lockout.locked_for("alice").await, Some(1));
        assert_eq!(lockout.locked_for("bob").await, None);
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert_eq!(lockout.locked_for("alice").await, None);
    }

    #[tokio::test]
    async fn a_success_clears_the_count() {
        let lockout = Lockout::new(2, Duration::from_secs(60));
        lockout.record_failure("alice").await;
        lockout.clear("alice").await;
        lockout.record_failure("alice").await;
        assert_eq!(lockout.locked_for("alice").await, None);
    }
}
