//! The Redis store's leases: short, renewed while held, and given back.
//!
//! A lease is `SET memsess:l:<m> <token> NX PX 5000`. While this process
//! holds it, a background task renews it every 1.5 s, so a request may run
//! as long as it needs without another request on the same session
//! slipping in; if the process dies, its leases lapse within 5 s. A request
//! waits up to 10 s for a lease, longer than a lease can outlive its
//! holder, so a lease left behind by a crash costs a short delay, never an
//! error. All held leases are renewed in one script per tick, whatever
//! their number.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use rand::rngs::OsRng;
use rand::TryRngCore as _;
use redis::aio::ConnectionManager;
use redis::Script;

use super::id::{KeyHashBuilder, StoreKey};
use super::redis_scripts::{RELEASE, RENEW};

/// How long a lease lasts if its holder stops renewing it.
pub(super) const LEASE_TTL: Duration = Duration::from_secs(5);
/// How often held leases are renewed: well within their lifetime.
const RENEW_EVERY: Duration = Duration::from_millis(1500);
/// How long a request waits for a lease: past a lease's whole life.
pub(super) const LEASE_WAIT: Duration = Duration::from_secs(10);

/// A lease token: 128 random bits, so nobody else's release or renewal
/// can touch our lease.
pub(super) type Token = [u8; 16];

/// Leases this process holds now, with their tokens.
type Held = Mutex<HashMap<StoreKey, Token, KeyHashBuilder>>;

/// The leases of one store, and the task that keeps them alive.
pub(super) struct Leases {
    held: Arc<Held>,
    release: Script,
    prefix: &'static str,
}

/// The lease handle a request holds: dropping it gives the lease back.
pub(super) struct RedisLease {
    pub(super) key: StoreKey,
    pub(super) token: Token,
    held: Arc<Held>,
    conn: ConnectionManager,
    release: Script,
    lease_key: Vec<u8>,
    released: bool,
}

fn held(map: &Held) -> std::sync::MutexGuard<'_, HashMap<StoreKey, Token, KeyHashBuilder>> {
    // Each change is one insert or remove: a poisoned map is still whole.
    map.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The lease's key in Redis.
pub(super) fn lease_key(prefix: &str, key: &StoreKey) -> Vec<u8> {
    [prefix.as_bytes(), b"l:", &key.0].concat()
}

impl Leases {
    /// Starts the renewal task on the current Tokio runtime; it ends when
    /// the store is dropped.
    pub(super) fn start(conn: ConnectionManager, prefix: &'static str) -> Leases {
        let held: Arc<Held> = Arc::default();
        tokio::spawn(renew_forever(Arc::downgrade(&held), conn, prefix));
        Leases {
            held,
            release: Script::new(RELEASE),
            prefix,
        }
    }

    /// A new token for `key`, armed to give the lease back when dropped:
    /// if the acquire script's reply is lost after Redis set the lease,
    /// dropping the handle still releases it.
    pub(super) fn arm(&self, key: StoreKey, conn: ConnectionManager) -> RedisLease {
        let mut token = [0u8; 16];
        OsRng
            .try_fill_bytes(&mut token)
            .expect("the OS random number generator failed");
        RedisLease {
            key,
            token,
            held: self.held.clone(),
            conn,
            release: self.release.clone(),
            lease_key: lease_key(self.prefix, &key),
            released: false,
        }
    }
}

impl RedisLease {
    /// Records that Redis granted the lease, so it is renewed.
    pub(super) fn granted(&self) {
        held(&self.held).insert(self.key, self.token);
    }

    /// Marks the lease as not held (Redis refused or already dropped it),
    /// so dropping the handle sends nothing.
    pub(super) fn disarm(&mut self) {
        self.released = true;
    }

    /// Stops renewing and sends the release on the shared connection. One
    /// poll queues the command ahead of any later request's acquire on the
    /// same connection; waiting for Redis's reply would only hold the
    /// response back by a round trip. If it could not be queued at once,
    /// or fails, the lease lapses by itself within [`LEASE_TTL`].
    pub(super) fn release(mut self) {
        self.send_release();
    }

    fn send_release(&mut self) {
        use rocket::futures::FutureExt as _;
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        {
            let mut map = held(&self.held);
            if map.get(&self.key) == Some(&self.token) {
                map.remove(&self.key);
            }
        }
        let (mut conn, script) = (self.conn.clone(), self.release.clone());
        let (key, token) = (std::mem::take(&mut self.lease_key), self.token);
        let mut release = Box::pin(async move {
            let _: redis::RedisResult<i64> = script
                .key(key)
                .arg(&token[..])
                .invoke_async(&mut conn)
                .await;
        });
        if release.as_mut().now_or_never().is_none() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(release);
            }
        }
    }
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        // A request cancelled midway gives its lease back too.
        self.send_release();
    }
}

/// Renews every held lease each tick until the store is gone.
async fn renew_forever(held: Weak<Held>, mut conn: ConnectionManager, prefix: &'static str) {
    let renew = Script::new(RENEW);
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let Some(map) = held.upgrade() else { return };
        let leases: Vec<(StoreKey, Token)> =
            self::held(&map).iter().map(|(k, t)| (*k, *t)).collect();
        drop(map);
        if leases.is_empty() {
            continue;
        }
        let mut call = renew.prepare_invoke();
        call.arg(LEASE_TTL.as_millis() as u64);
        for (key, token) in &leases {
            call.key(lease_key(prefix, key)).arg(&token[..]);
        }
        // A failed renewal (Redis away) is retried next tick; meanwhile
        // the version fence keeps a lapsed lease from losing writes.
        let _: redis::RedisResult<i64> = call.invoke_async(&mut conn).await;
    }
}
