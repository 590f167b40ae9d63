//! The shared store: sessions in Redis, for several app instances behind a
//! load balancer (`session.store = "redis://host:port/"`).
//!
//! Every operation is one Lua script, which Redis runs atomically, so the
//! store keeps the same contract as the embedded one across processes:
//!
//! * **Lease**: `SET memsess:l:<key> <token> NX PX 15000`. A request that
//!   finds it taken polls (2 ms, doubling to 50 ms) for up to 10 s, then
//!   gets [`StoreError::Busy`]. Release deletes it only if it still holds
//!   the request's token. If an instance dies holding a lease, the lease
//!   expires by itself after 15 s.
//! * **Fence**: a write names the version it loaded; the script compares it
//!   with the stored one and writes nothing on a mismatch. A request that
//!   outlives its lease therefore cannot overwrite the next request's work,
//!   nor bring back a session that was ended meanwhile.
//! * **Expiry**: Redis's own TTL, set to `min(idle, created + absolute -
//!   now)` on every load and write, so both timeouts hold.
//! * **Bound and floods**: as in the memory store, new sessions join a
//!   *fresh* sorted set (a quarter of `max_sessions`) and move to the
//!   *settled* one when their client comes back or logs in; each set evicts
//!   its least recently used sessions past its share.
//! * **Owner index**: a set per user (`memsess:u:<name>`) of store keys,
//!   kept by the same scripts; listing drops members that have expired.
//!
//! Keys: `memsess:s:<hex>` (a hash: `d` data, `c` created ms, `o` owner,
//! `v` version, `t` last seen ms). Scripts name some keys they derive, so
//! this targets a single Redis server (or a primary with replicas), not
//! Redis Cluster. If Redis is unreachable every operation fails at once with
//! [`StoreError::Unavailable`] (pages answer 503), and the connection
//! manager reconnects by itself when it is back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::TryRngCore as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script};
use rocket::futures::FutureExt as _;

use super::id::StoreKey;
use super::redis_scripts::{ACQUIRE, EVICT, RELEASE, REMOVE, ROTATE, SAVE, WRITE};
use super::store::{now_ms, Lease, Record, SessionInfo, SessionStore, StoreError, StoreResult};

const PREFIX: &str = "memsess:";
/// How long a lease lasts if its request never gives it back.
const LEASE_TTL: Duration = Duration::from_secs(15);
/// How long a request waits for a lease.
const LEASE_WAIT: Duration = Duration::from_secs(10);

/// The [`SessionStore`] over Redis.
///
/// Setting `session.store` to a `redis://` URL makes the fairing build one;
/// build it yourself to hand it to
/// [`SessionFairing::with_store`](super::SessionFairing::with_store).
///
/// # Examples
/// ```no_run
/// use std::{sync::Arc, time::Duration};
/// use memsess::session::{RedisStore, SessionFairing};
///
/// #[rocket::launch]
/// fn rocket() -> _ {
///     let (idle, absolute) = (Duration::from_secs(1800), Duration::from_secs(43200));
///     let store = RedisStore::new("redis://127.0.0.1/", 100_000, idle, absolute).unwrap();
///     rocket::build().attach(SessionFairing::with_store(Arc::new(store)))
/// }
/// ```
pub struct RedisStore {
    conn: ConnectionManager,
    scripts: Scripts,
    idle_ms: u64,
    absolute_ms: u64,
    fresh_cap: u64,
    settled_cap: u64,
    // The outcome of the last operation, for health reports that must not
    // touch the store themselves.
    reachable: AtomicBool,
}

struct Scripts {
    acquire: Script,
    save: Script,
    rotate: Script,
    remove: Script,
    release: Script,
}

/// The lease handle: which lease, and the token that proves it is ours.
struct RedisLease {
    key: String,
    token: String,
    conn: ConnectionManager,
    released: bool,
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        // A request cancelled midway: give the lease back in the background
        // (it would expire anyway after LEASE_TTL).
        if self.released {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (key, token, mut conn) = (self.key.clone(), self.token.clone(), self.conn.clone());
            runtime.spawn(async move {
                let _: Result<i64, _> = Script::new(RELEASE)
                    .key(key)
                    .arg(token)
                    .invoke_async(&mut conn)
                    .await;
            });
        }
    }
}

fn record_key(key: &StoreKey) -> String {
    format!("{PREFIX}s:{key}")
}

fn tier_keys() -> (String, String) {
    (format!("{PREFIX}fresh"), format!("{PREFIX}settled"))
}

fn parse_key(hex: &str) -> Option<StoreKey> {
    if hex.len() != 32 {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(StoreKey(key))
}

impl RedisStore {
    /// A store on the Redis server at `url` (`redis://host:port/db`). It
    /// connects on first use and reconnects by itself.
    ///
    /// # Errors
    /// If `url` is not a Redis URL.
    ///
    /// # Panics
    /// If called outside a Tokio runtime (the connection manager starts a
    /// background task). Rocket's fairings and handlers always run in one.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{RedisStore, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    ///
    /// let (idle, absolute) = (Duration::from_secs(1800), Duration::from_secs(43200));
    /// // No Redis needs to run here: nothing connects until the first use.
    /// let store = RedisStore::new("redis://127.0.0.1:6379/0", 100_000, idle, absolute).unwrap();
    /// assert!(store.is_reachable());
    /// assert!(RedisStore::new("memcache://127.0.0.1", 100_000, idle, absolute).is_err());
    /// # });
    /// ```
    pub fn new(
        url: &str,
        max_sessions: u64,
        idle: Duration,
        absolute: Duration,
    ) -> Result<Self, String> {
        if !url.starts_with("redis://") {
            return Err("must be \"memory\" or a redis:// URL".into());
        }
        let client =
            redis::Client::open(url).map_err(|e| format!("not a usable Redis URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| e.to_string())?;
        let with_helpers = |body: &str| Script::new(&format!("{EVICT}{WRITE}{body}"));
        let fresh_cap = (max_sessions / 4).max(1);
        Ok(RedisStore {
            conn,
            scripts: Scripts {
                acquire: with_helpers(ACQUIRE),
                save: with_helpers(SAVE),
                rotate: with_helpers(ROTATE),
                remove: Script::new(REMOVE),
                release: Script::new(RELEASE),
            },
            idle_ms: idle.as_millis() as u64,
            absolute_ms: absolute.as_millis() as u64,
            fresh_cap,
            settled_cap: max_sessions.saturating_sub(fresh_cap).max(1),
            reachable: AtomicBool::new(true),
        })
    }

    /// Notes whether Redis answered, and turns its errors into ours.
    fn checked<T>(&self, result: redis::RedisResult<T>) -> StoreResult<T> {
        self.reachable.store(result.is_ok(), Ordering::Relaxed);
        result.map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Appends ARGV 2..=10 (the record, the clock, the timeouts, the
    /// member, the prefix) after the caller's keys and ARGV[1].
    fn push_record(
        &self,
        call: &mut redis::ScriptInvocation<'_>,
        record: &Record,
        member: &StoreKey,
    ) {
        call.arg(record.data.as_ref())
            .arg(record.created_ms)
            .arg(record.owner.as_deref().unwrap_or(""))
            .arg(record.version)
            .arg(now_ms())
            .arg(self.idle_ms)
            .arg(self.absolute_ms)
            .arg(member.to_string())
            .arg(PREFIX);
    }
}

/// What the save and rotate scripts answered.
fn written(reply: i64) -> StoreResult<()> {
    match reply {
        1 => Ok(()),
        2 => Err(StoreError::Conflict),
        _ => Err(StoreError::Gone),
    }
}

fn token() -> String {
    let mut bytes = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS random number generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[rocket::async_trait]
impl SessionStore for RedisStore {
    async fn acquire(&self, key: &StoreKey) -> StoreResult<Option<(Record, Lease)>> {
        let (fresh, settled) = tier_keys();
        let lease_key = format!("{PREFIX}l:{key}");
        // Armed before the script runs: if its reply is lost (a timeout, a
        // dropped connection) after Redis set the lease, dropping the guard
        // gives the lease back instead of leaving it for 15 s.
        let mut guard = RedisLease {
            key: lease_key.clone(),
            token: token(),
            conn: self.conn.clone(),
            released: false,
        };
        let deadline = Instant::now() + LEASE_WAIT;
        let mut pause = Duration::from_millis(2);
        loop {
            let mut conn = self.conn.clone();
            let reply: Vec<String> = self.checked(
                self.scripts
                    .acquire
                    .key(record_key(key))
                    .key(&lease_key)
                    .key(&fresh)
                    .key(&settled)
                    .arg(&guard.token)
                    .arg(LEASE_TTL.as_millis() as u64)
                    .arg(now_ms())
                    .arg(self.idle_ms)
                    .arg(self.absolute_ms)
                    .arg(key.to_string())
                    .arg(PREFIX)
                    .arg(self.settled_cap)
                    .invoke_async(&mut conn)
                    .await,
            )?;
            match reply.first().map(String::as_str) {
                Some("ok") if reply.len() == 5 => {
                    let bad = || StoreError::Unavailable("malformed session record".into());
                    let record = Record {
                        data: reply[1].as_str().into(),
                        created_ms: reply[2].parse().map_err(|_| bad())?,
                        owner: (!reply[3].is_empty()).then(|| reply[3].as_str().into()),
                        version: reply[4].parse().map_err(|_| bad())?,
                    };
                    return Ok(Some((record, Lease::new(guard))));
                }
                Some("absent") => {
                    // The script gave its lease back already.
                    guard.released = true;
                    return Ok(None);
                }
                Some("busy") if Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Some("busy") => {
                    guard.released = true;
                    return Err(StoreError::Busy);
                }
                _ => {
                    return Err(StoreError::Unavailable(
                        "unexpected reply to acquire".into(),
                    ))
                }
            }
        }
    }

    async fn release(&self, lease: Lease) {
        let Some(mut lease) = lease.into_inner::<RedisLease>() else {
            return;
        };
        lease.released = true;
        let (mut conn, script) = (self.conn.clone(), self.scripts.release.clone());
        let mut release = Box::pin(async move {
            let _: redis::RedisResult<i64> = script
                .key(&lease.key)
                .arg(&lease.token)
                .invoke_async(&mut conn)
                .await;
        });
        // One poll puts the command on the shared connection, ahead of any
        // later request's acquire on it; waiting for Redis's reply would only
        // hold this response back by a round trip. If the command could not
        // be queued yet, or the release fails, the next request on this
        // session waits for it (or for the lease's expiry): slower, never wrong.
        if release.as_mut().now_or_never().is_none() {
            tokio::spawn(release);
        }
    }

    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()> {
        let (fresh, settled) = tier_keys();
        let mut call = self.scripts.save.prepare_invoke();
        call.key(record_key(key))
            .key(fresh)
            .key(settled)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default());
        self.push_record(&mut call, &record, key);
        call.arg(self.fresh_cap).arg(self.settled_cap);
        let mut conn = self.conn.clone();
        written(self.checked(call.invoke_async(&mut conn).await)?)
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        expected: u64,
        new: &StoreKey,
        record: Record,
    ) -> StoreResult<()> {
        let (fresh, settled) = tier_keys();
        let mut call = self.scripts.rotate.prepare_invoke();
        call.key(record_key(old))
            .key(record_key(new))
            .key(fresh)
            .key(settled)
            .arg(expected);
        self.push_record(&mut call, &record, new);
        call.arg(old.to_string()).arg(self.settled_cap);
        let mut conn = self.conn.clone();
        written(self.checked(call.invoke_async(&mut conn).await)?)
    }

    async fn remove(&self, key: &StoreKey) -> StoreResult<()> {
        let (fresh, settled) = tier_keys();
        let mut conn = self.conn.clone();
        let result: redis::RedisResult<i64> = self
            .scripts
            .remove
            .key(record_key(key))
            .key(fresh)
            .key(settled)
            .arg(key.to_string())
            .arg(PREFIX)
            .invoke_async(&mut conn)
            .await;
        self.checked(result).map(drop)
    }

    async fn sessions_of(&self, owner: &str) -> StoreResult<Vec<SessionInfo>> {
        let index = format!("{PREFIX}u:{owner}");
        let mut conn = self.conn.clone();
        let members: Vec<String> = self.checked(conn.smembers(&index).await)?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for member in &members {
            pipe.cmd("HMGET")
                .arg(format!("{PREFIX}s:{member}"))
                .arg("c")
                .arg("t");
        }
        let fields: Vec<(Option<u64>, Option<u64>)> =
            self.checked(pipe.query_async(&mut conn).await)?;
        let mut sessions = Vec::new();
        let mut stale = Vec::new();
        for (member, (created, seen)) in members.iter().zip(fields) {
            match (parse_key(member), created) {
                (Some(key), Some(created_ms)) => sessions.push(SessionInfo {
                    key,
                    created_ms,
                    last_seen_ms: seen.unwrap_or(created_ms),
                }),
                _ => stale.push(member.clone()),
            }
        }
        if !stale.is_empty() {
            // Expired sessions leave their index entries behind; tidy them.
            let _: redis::RedisResult<i64> = conn.srem(&index, stale).await;
        }
        sessions.sort_by_key(|s| (s.created_ms, s.key));
        Ok(sessions)
    }

    async fn len(&self) -> StoreResult<u64> {
        let mut conn = self.conn.clone();
        let mut count = 0;
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = self.checked(
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(format!("{PREFIX}s:*"))
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await,
            )?;
            count += keys.len() as u64;
            if next == 0 {
                return Ok(count);
            }
            cursor = next;
        }
    }

    fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }
}
