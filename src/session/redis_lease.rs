//! The Redis store's leases: short, renewed while held, and given back.
//!
//! A lease is two fields of the session's hash, its token and when it
//! lapses (5 s on, by Redis's clock), set by the load script when no live
//! lease is there (see `redis_scripts`). While this process holds it, a
//! background task renews it every 1.5 s, so a request may run as long as
//! it needs without another request on the same session slipping in; if
//! the process dies, its leases lapse within 5 s. A request waits up to
//! 10 s for a lease, longer than a lease can outlive its holder, so a lease
//! left behind by a crash costs a short delay, never an error. All held
//! leases are renewed in one script per tick, whatever their number.
//!
//! **Giving a lease back** costs the request nothing: the lease goes into
//! this process's list of *given back* leases and a background task tells
//! Redis, in one script for everything given back since its last call (a
//! group commit: one call per release when traffic is light, one call per
//! many under load). Until Redis has heard, the lease still looks taken to
//! other instances (they wait a round trip or two longer), but not to this
//! process: its next load of the session names the given-back token, and
//! the load script takes over a lease held by that token. That is safe
//! because a request puts its token on the list only once it is done with
//! the session. A request that Redis never granted a lease (it gave up, or
//! was cancelled while it waited) is told to Redis too, so that the
//! release clears the place in line it may hold, but from a list of its
//! own: named for taking over, or put in place of the session's last
//! lease given back, its token would leave that lease held in Redis until
//! it lapsed.
//!
//! **Requests of this process take turns here first.** A request takes
//! the session's lock in this process ([`KeyedLocks`], the memory store's
//! leases) before it asks Redis, and holds it with the lease. So a second
//! request of the same instance on the same session (a page and its
//! scripts' calls, a double click) waits in the process and goes on the
//! moment the first gives the session back, naming its token, with one
//! load script. Only a lease held by another instance is waited for by
//! asking Redis again (2 ms, doubling to 50 ms): polling for our own
//! leases cost a load script every few milliseconds while waiting and up
//! to 50 ms of sleep after the session was free, which under load was the
//! Redis store's p99. A request that waits for another instance keeps a
//! place in line in Redis while it keeps asking (the load script), so the
//! requests of one process, handing a session to each other, cannot keep
//! it out.
//!
//! Tokens only need to be unique, not secret (anyone who can read Redis
//! sees them): 64 random bits drawn once per process and a counter, so
//! taking a lease costs no system call.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::TryRngCore as _;
use redis::aio::ConnectionManager;
use redis::Script;
use tokio::sync::mpsc;

use super::id::{KeyHashBuilder, StoreKey};
use super::locks::{KeyGuard, KeyedLocks};
use super::redis_scripts::{RELEASE, RENEW};
use super::redis_store::record_key;

/// How long a lease lasts if its holder stops renewing it.
pub(super) const LEASE_TTL: Duration = Duration::from_secs(5);
/// How often held leases are renewed: well within their lifetime.
const RENEW_EVERY: Duration = Duration::from_millis(1500);
/// How long a request waits for a lease: past a lease's whole life.
pub(super) const LEASE_WAIT: Duration = Duration::from_secs(10);
/// The first pause of a request that asks Redis again for a lease another
/// instance holds; each pause doubles, up to [`POLL_MAX`].
pub(super) const POLL_FIRST: Duration = Duration::from_millis(2);
/// The longest pause between two asks.
pub(super) const POLL_MAX: Duration = Duration::from_millis(50);
/// How long a waiting request keeps its place in line without asking
/// again (see the load script): five of its longest pauses.
pub(super) const WAITED: Duration = Duration::from_millis(5 * POLL_MAX.as_millis() as u64);
/// The most leases one release script gives back.
const MAX_BATCH: usize = 512;

/// A lease token: this process's random half and a counter, so nobody
/// else's release or renewal can touch our lease.
pub(super) type Token = [u8; 16];

/// Leases by session, with their tokens.
type Tokens = Mutex<HashMap<StoreKey, Token, KeyHashBuilder>>;

fn tokens(map: &Tokens) -> MutexGuard<'_, HashMap<StoreKey, Token, KeyHashBuilder>> {
    // Each change is one insert or remove: a poisoned map is still whole.
    map.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the leases of one store share with their background tasks.
struct Shared {
    /// Held now, so renewed.
    held: Tokens,
    /// Given back, and not yet told to Redis.
    given_back: Tokens,
    /// The tokens of requests that ended before Redis granted them a
    /// lease (they gave up, or were cancelled with their load in flight),
    /// not yet told to Redis, oldest first, with when each ended: a token
    /// may hold a place in line, or a lease granted as its request was
    /// cancelled. Never named for taking over, and never in place of a
    /// session's lease given back, which would then never be given back
    /// in Redis. While Redis is away, every failed load adds one, and the
    /// release calls fail too: those older than a lease's life are
    /// dropped, since whatever they held has lapsed by then.
    ungranted: Mutex<VecDeque<(Instant, StoreKey, Token)>>,
    /// Wakes the task that tells Redis; one pending wake is enough.
    wake: mpsc::Sender<()>,
}

/// The leases of one store, and the tasks that renew and release them.
pub(super) struct Leases {
    shared: Arc<Shared>,
    /// Each session's turn among this process's requests.
    turns: KeyedLocks,
    /// The random half of every token this store makes.
    process: u64,
    /// The counting half.
    next: AtomicU64,
}

/// The lease handle a request holds: dropping it gives the lease back.
pub(super) struct RedisLease {
    pub(super) key: StoreKey,
    pub(super) token: Token,
    shared: Arc<Shared>,
    released: bool,
    granted: bool,
    // This request's turn in the process: dropped after the lease is on
    // the given-back list (fields drop after `Drop::drop`), so the next
    // request in line finds the token to take over.
    _turn: KeyGuard,
}

impl Leases {
    /// Starts the renewal and release tasks on the current Tokio runtime;
    /// they end when the store and its leases are gone.
    pub(super) fn start(conn: ConnectionManager) -> Leases {
        let (wake, woken) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            held: Tokens::default(),
            given_back: Tokens::default(),
            ungranted: Mutex::default(),
            wake,
        });
        tokio::spawn(renew_forever(Arc::downgrade(&shared), conn.clone()));
        tokio::spawn(release_forever(Arc::downgrade(&shared), woken, conn));
        let mut process = [0u8; 8];
        OsRng
            .try_fill_bytes(&mut process)
            .expect("the OS random number generator failed");
        Leases {
            shared,
            turns: KeyedLocks::default(),
            process: u64::from_le_bytes(process),
            next: AtomicU64::new(0),
        }
    }

    /// Waits (at most `wait`) for `key`'s turn among this process's
    /// requests, then makes a new token for it, armed to give the lease
    /// back when dropped: if the load script's reply is lost after Redis
    /// set the lease, dropping the handle still releases it. `None` if the
    /// turn did not come in time.
    pub(super) async fn arm(&self, key: StoreKey, wait: Duration) -> Option<RedisLease> {
        let turn = self.turns.lock(key, wait).await?;
        let mut token = [0u8; 16];
        token[..8].copy_from_slice(&self.process.to_le_bytes());
        let count = self.next.fetch_add(1, Ordering::Relaxed);
        token[8..].copy_from_slice(&count.to_le_bytes());
        Some(RedisLease {
            key,
            token,
            shared: self.shared.clone(),
            released: false,
            granted: false,
            _turn: turn,
        })
    }

    /// The token of `key`'s lease if this process gave it back and Redis
    /// may not know yet, for the next load to take over.
    pub(super) fn given_back(&self, key: &StoreKey) -> Option<Token> {
        tokens(&self.shared.given_back).get(key).copied()
    }
}

impl RedisLease {
    /// Records that Redis granted the lease, so it is renewed; a lease
    /// given back under the token it took over needs no telling any more.
    pub(super) fn granted(&mut self, took_over: Option<Token>) {
        self.granted = true;
        tokens(&self.shared.held).insert(self.key, self.token);
        if let Some(old) = took_over {
            let mut given_back = tokens(&self.shared.given_back);
            if given_back.get(&self.key) == Some(&old) {
                given_back.remove(&self.key);
            }
        }
    }

    /// Marks the lease as not held (there was no session, so the token
    /// holds nothing, not even a place in line), so dropping the handle
    /// sends nothing.
    pub(super) fn disarm(&mut self) {
        self.released = true;
    }

    /// Gives the lease back (see the module docs).
    pub(super) fn release(mut self) {
        self.give_back();
    }

    fn give_back(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        {
            let mut held = tokens(&self.shared.held);
            if held.get(&self.key) == Some(&self.token) {
                held.remove(&self.key);
            }
        }
        if self.granted {
            tokens(&self.shared.given_back).insert(self.key, self.token);
        } else {
            let mut ungranted = self
                .shared
                .ungranted
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            note_ungranted(&mut ungranted, Instant::now(), self.key, self.token);
        }
        // Full means a wake is pending already, which will see this one.
        let _ = self.shared.wake.try_send(());
    }
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        // A request cancelled midway gives its lease back too.
        self.give_back();
    }
}

/// Adds a token Redis never granted, which ended `now`, to `list`, first
/// dropping those that ended more than a lease's life before: whatever
/// they held (a place in line, a lease its request never heard of) has
/// lapsed by then.
fn note_ungranted(
    list: &mut VecDeque<(Instant, StoreKey, Token)>,
    now: Instant,
    key: StoreKey,
    token: Token,
) {
    while list
        .front()
        .is_some_and(|(ended, _, _)| now.saturating_duration_since(*ended) > LEASE_TTL)
    {
        list.pop_front();
    }
    list.push_back((now, key, token));
}

/// Tells Redis of the leases given back, in batches, until the store is
/// gone. A failed call (Redis away) gives up on its batch: those leases
/// lapse by themselves within [`LEASE_TTL`].
async fn release_forever(
    shared: Weak<Shared>,
    mut woken: mpsc::Receiver<()>,
    mut conn: ConnectionManager,
) {
    let release = Script::new(RELEASE);
    while woken.recv().await.is_some() {
        loop {
            let Some(map) = shared.upgrade() else { return };
            let mut batch: Vec<(StoreKey, Token)> = tokens(&map.given_back)
                .iter()
                .take(MAX_BATCH)
                .map(|(k, t)| (*k, *t))
                .collect();
            {
                let mut ungranted = map.ungranted.lock().unwrap_or_else(PoisonError::into_inner);
                let room = MAX_BATCH.saturating_sub(batch.len()).min(ungranted.len());
                batch.extend(ungranted.drain(..room).map(|(_, key, token)| (key, token)));
            }
            drop(map);
            if batch.is_empty() {
                break;
            }
            let mut call = release.prepare_invoke();
            for (key, token) in &batch {
                call.key(record_key(key)).arg(&token[..]);
            }
            let _: redis::RedisResult<i64> = call.invoke_async(&mut conn).await;
            let Some(map) = shared.upgrade() else { return };
            let mut given_back = tokens(&map.given_back);
            for (key, token) in &batch {
                // A newer lease of the same session may be on the list by now.
                if given_back.get(key) == Some(token) {
                    given_back.remove(key);
                }
            }
        }
    }
}

/// Renews every held lease each tick until the store is gone.
async fn renew_forever(shared: Weak<Shared>, mut conn: ConnectionManager) {
    let renew = Script::new(RENEW);
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let Some(map) = shared.upgrade() else { return };
        let leases: Vec<(StoreKey, Token)> =
            tokens(&map.held).iter().map(|(k, t)| (*k, *t)).collect();
        drop(map);
        if leases.is_empty() {
            continue;
        }
        let mut call = renew.prepare_invoke();
        call.arg(LEASE_TTL.as_millis() as u64);
        for (key, token) in &leases {
            call.key(record_key(key)).arg(&token[..]);
        }
        // A failed renewal (Redis away) is retried next tick; meanwhile
        // the version fence keeps a lapsed lease from losing writes.
        let _: redis::RedisResult<i64> = call.invoke_async(&mut conn).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::time::{Duration, Instant};

    use super::{note_ungranted, Leases, LEASE_TTL};
    use crate::session::id::StoreKey;
    use crate::session::redis_conn::connect;

    /// A request gives its lease back, and the next one in line is
    /// cancelled before Redis granted it anything: the lease given back is
    /// still the one the request after takes over. Had the cancelled
    /// request's token replaced it, the lease would never be given back
    /// in Redis, and the session would wait for it to lapse (5 s).
    #[tokio::test]
    async fn a_lease_never_granted_leaves_the_one_given_back_in_place() {
        // Nothing listens there: the lazy connection never connects, and
        // the release task's calls fail, which changes nothing here.
        let leases = Leases::start(connect("redis://127.0.0.1:9/").unwrap());
        let key = StoreKey([7; 16]);
        let mut first = leases.arm(key, Duration::from_secs(1)).await.unwrap();
        first.granted(None);
        let first_token = first.token;
        first.release();
        // The turn is free at once, so nothing yields to the release task
        // (this runtime has one thread) between here and the check.
        let cancelled = leases.arm(key, Duration::from_secs(1)).await.unwrap();
        drop(cancelled);
        assert_eq!(
            leases.given_back(&key),
            Some(first_token),
            "the lease given back is no longer the one named for taking over"
        );
    }

    /// While Redis is away every failed load leaves a token to tell it of,
    /// and telling fails too: the list keeps only those of the last lease's
    /// life, so it stays bounded however long the outage lasts.
    #[test]
    fn tokens_never_granted_are_kept_for_a_leases_life_at_most() {
        let mut list = VecDeque::new();
        let start = Instant::now();
        let token = |n: u8| [n; 16];
        note_ungranted(&mut list, start, StoreKey([1; 16]), token(1));
        note_ungranted(
            &mut list,
            start + LEASE_TTL / 2,
            StoreKey([2; 16]),
            token(2),
        );
        assert_eq!(list.len(), 2, "both within a lease's life");
        let later = start + LEASE_TTL + Duration::from_millis(1);
        note_ungranted(&mut list, later, StoreKey([3; 16]), token(3));
        let kept: Vec<_> = list.iter().map(|(_, _, t)| t[0]).collect();
        assert_eq!(kept, [2, 3], "the first had lapsed");
    }
}
