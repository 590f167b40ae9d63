//! Attempt counters: their keys, and the in-process implementation the
//! file backend uses.
//!
//! A counter is a count with a window: each counted attempt restarts the
//! window, and the counter is gone when the window passes. A counter at
//! its limit refuses further attempts until then.

use std::fmt;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;
use sha2::{Digest as _, Sha256};

/// A counter's name: the first 16 bytes of SHA-256 of `"kind:value"`.
///
/// Fixed-size whatever the value (a username, an address, a device
/// nonce), so a store's memory for counters is bounded in bytes, and the
/// store never holds the value itself.
///
/// # Examples
/// ```
/// use memsess::auth::store::CounterKey;
///
/// let key = CounterKey::new("user", "alice");
/// assert_eq!(key, CounterKey::new("user", "alice"));
/// assert_ne!(key, CounterKey::new("ip", "alice"));
/// assert_eq!(key.to_string().len(), 32);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CounterKey(pub [u8; 16]);

impl CounterKey {
    /// The key of counter `kind` for `value`.
    pub fn new(kind: &str, value: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(kind)
            .chain_update(":")
            .chain_update(value)
            .finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        CounterKey(key)
    }
}

/// Lower-case hex, 32 characters.
impl fmt::Display for CounterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// One counter an attempt is counted on, with its limit and window.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use memsess::auth::store::{Counter, CounterKey};
///
/// let per_user = Counter { key: CounterKey::new("user", "alice"), limit: 5, window: Duration::from_secs(900) };
/// assert_eq!(per_user.limit, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Which counter.
    pub key: CounterKey,
    /// Attempts allowed within one window.
    pub limit: u32,
    /// How long after its last counted attempt the counter is forgotten.
    pub window: Duration,
}

/// What [`hit`](super::AccountStore::hit) did.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use memsess::auth::store::Hit;
///
/// let refused = Hit::Refused { retry_after: Duration::from_millis(1500) };
/// assert_eq!(refused.retry_after_secs(), Some(2)); // rounded up
/// assert_eq!(Hit::Counted.retry_after_secs(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Every counter was incremented.
    Counted,
    /// A counter is at its limit; nothing was counted.
    Refused {
        /// Until the window of the counter at its limit ends (the longest,
        /// if several are).
        retry_after: Duration,
    },
}

impl Hit {
    /// Whole seconds to wait when refused, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Hit::Counted => None,
            Hit::Refused { retry_after } => {
                Some(retry_after.as_millis().div_ceil(1000).max(1) as u64)
            }
        }
    }
}

/// Counters tracked at once by one process. Each entry is a 16-byte key
/// and a few numbers, so this bounds the memory in bytes too.
const MAX_COUNTERS: u64 = 100_000;

#[derive(Clone, Copy)]
struct Entry {
    count: u32,
    ends: Instant,
}

/// Entries live until their window ends.
struct UntilWindowEnds;

impl Expiry<CounterKey, Entry> for UntilWindowEnds {
    fn expire_after_create(&self, _: &CounterKey, entry: &Entry, now: Instant) -> Option<Duration> {
        Some(entry.ends.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &CounterKey,
        entry: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ends.saturating_duration_since(now))
    }
}

/// Counters in this process: a bounded moka cache whose entries expire at
/// the end of their window.
///
/// Every operation takes one async mutex for its few cache reads and
/// writes, so a hit on several counters is all or nothing with respect to
/// every other counter operation. The critical section never waits on I/O.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use memsess::auth::store::{Counter, CounterKey, Hit, MemoryCounters};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let counters = MemoryCounters::new();
/// let c = Counter { key: CounterKey::new("user", "alice"), limit: 1, window: Duration::from_secs(60) };
/// assert_eq!(counters.hit(&[c]).await, Hit::Counted);
/// assert!(matches!(counters.hit(&[c]).await, Hit::Refused { .. }));
/// counters.clear(&c.key).await;
/// assert_eq!(counters.hit(&[c]).await, Hit::Counted);
/// # });
/// ```
pub struct MemoryCounters {
    cache: Cache<CounterKey, Entry>,
    turn: tokio::sync::Mutex<()>,
}

impl Default for MemoryCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCounters {
    /// No counters yet.
    pub fn new() -> Self {
        MemoryCounters {
            // LRU, not moka's default TinyLFU: TinyLFU may refuse to admit
            // a new key into a full cache, and an attempt that is not
            // recorded is an attempt that is not limited.
            cache: Cache::builder()
                .max_capacity(MAX_COUNTERS)
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .expire_after(UntilWindowEnds)
                .build(),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    async fn live(&self, key: &CounterKey, now: Instant) -> Option<Entry> {
        self.cache.get(key).await.filter(|e| e.ends > now)
    }

    /// See [`AccountStore::hit`](super::AccountStore::hit).
    pub async fn hit(&self, counters: &[Counter]) -> Hit {
        let _turn = self.turn.lock().await;
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        let mut seen = Vec::with_capacity(counters.len());
        for counter in counters {
            let entry = self.live(&counter.key, now).await;
            if let Some(entry) = entry.filter(|e| e.count >= counter.limit) {
                wait = wait.max(entry.ends - now);
            }
            seen.push(entry.map_or(0, |e| e.count));
        }
        if !wait.is_zero() {
            return Hit::Refused { retry_after: wait };
        }
        for (counter, count) in counters.iter().zip(seen) {
            let entry = Entry {
                count: count.saturating_add(1),
                ends: now + counter.window,
            };
            self.cache.insert(counter.key, entry).await;
        }
        Hit::Counted
    }

    /// See [`AccountStore::take_back`](super::AccountStore::take_back).
    pub async fn take_back(&self, key: &CounterKey) {
        let _turn = self.turn.lock().await;
        match self.live(key, Instant::now()).await {
            Some(entry) if entry.count > 1 => {
                let entry = Entry {
                    count: entry.count - 1,
                    ..entry
                };
                self.cache.insert(*key, entry).await;
            }
            _ => self.cache.invalidate(key).await,
        }
    }

    /// See [`AccountStore::clear`](super::AccountStore::clear).
    pub async fn clear(&self, key: &CounterKey) {
        let _turn = self.turn.lock().await;
        self.cache.invalidate(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(name: &str, limit: u32, window_ms: u64) -> Counter {
        Counter {
            key: CounterKey::new("t", name),
            limit,
            window: Duration::from_millis(window_ms),
        }
    }

    #[tokio::test]
    async fn a_hit_is_all_or_nothing_and_a_refusal_extends_nothing() {
        let counters = MemoryCounters::new();
        let (user, ip) = (counter("user", 1, 60_000), counter("ip", 3, 60_000));
        assert_eq!(counters.hit(&[user, ip]).await, Hit::Counted);
        // The user is at its limit: the address is not counted either.
        for _ in 0..5 {
            assert!(matches!(
                counters.hit(&[user, ip]).await,
                Hit::Refused { .. }
            ));
        }
        let other = counter("other", 1, 60_000);
        assert_eq!(counters.hit(&[other, ip]).await, Hit::Counted);
        let third = counter("third", 1, 60_000);
        assert_eq!(counters.hit(&[third, ip]).await, Hit::Counted);
        assert!(matches!(
            counters.hit(&[counter("fourth", 1, 60_000), ip]).await,
            Hit::Refused { .. }
        ));
    }

    #[tokio::test]
    async fn taking_back_lowers_the_count_and_windows_end() {
        let counters = MemoryCounters::new();
        let ip = counter("ip", 2, 300);
        counters.hit(&[ip]).await;
        counters.hit(&[ip]).await;
        counters.take_back(&ip.key).await;
        assert_eq!(counters.hit(&[ip]).await, Hit::Counted);
        let Hit::Refused { retry_after } = counters.hit(&[ip]).await else {
            panic!("at the limit")
        };
        assert!(retry_after <= Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(counters.hit(&[ip]).await, Hit::Counted);
    }
}
