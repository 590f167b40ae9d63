//! The shared store: sessions in Redis, for several app instances behind a
//! load balancer (`session.store = "redis://host:port/"`).
//!
//! Every operation is one Lua script (`redis_scripts.rs`
//! documents the keys), which Redis runs atomically, so the store keeps the
//! same contract as the embedded one across processes:
//!
//! * **Lease**: a short lease kept in the session's own hash, renewed
//!   while its request runs (see `redis_lease`). Requests of one process
//!   take turns in the process first; one that finds the lease taken by
//!   another instance polls (2 ms, doubling to 50 ms), and while it does,
//!   nobody else takes the lease when it is free. After 10 s of waiting
//!   in all it gets [`StoreError::Busy`]; when Redis is away or hangs,
//!   every request waiting for a session gets [`StoreError::Unavailable`]
//!   at once.
//! * **Fence**: a write names the version it loaded; the script compares it
//!   with the stored one and writes nothing on a mismatch. A request that
//!   outlives its lease therefore cannot overwrite the next request's work,
//!   nor bring back a session that was ended meanwhile.
//! * **Expiry**: Redis's own TTL, set from the session's idle and
//!   absolute timeouts (ordinary or remembered) by Redis's clock, with a
//!   little slack so that a session in steady use need not have it
//!   rewritten on every load; every read checks the last use against the
//!   idle timeout, so a session is gone on time all the same
//!   (`redis_scripts.rs` explains).
//! * **Tiers and bounds**: as in the memory store (see
//!   [`Limits`]): fresh, anonymous and owned sorted sets,
//!   each evicting past its share of `max_sessions`, the sessions one
//!   client address began held to its share of the fresh and anonymous
//!   ones, and at most `max_sessions_per_user` sessions per owner.
//! * **Owner index**: a set per user, kept by the same scripts; listing
//!   drops members whose session has expired.
//!
//! Keys are prefixed `memsess:` and hold the 16 raw bytes of a store key,
//! never an id. Scripts name keys they derive, so this targets a single
//! Redis server (or a primary with replicas), not Redis Cluster. If Redis
//! is unreachable every operation fails at once with
//! [`StoreError::Unavailable`] (pages answer 503), and the connection
//! manager reconnects by itself when it is back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{Script, ScriptInvocation};
use tokio::sync::Notify;

use super::id::StoreKey;
use super::limits::Limits;
use super::origin::Origin;
use super::redis_conn::{self, invoke, query};
use super::redis_lease::{
    Leases, RedisLease, Token, LEASE_TTL, LEASE_WAIT, POLL_FIRST, POLL_MAX, WAITED,
};
use super::redis_scripts::{preamble, ACQUIRE, HELPERS, LIST, REMOVE, ROTATE, SAVE, WRITE};
use super::store::{Lease, Record, SessionInfo, SessionStore, StoreError, StoreResult};

const PREFIX: &str = "memsess:";

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
    leases: Leases,
    // The outcome of the last operation, for health reports that must not
    // touch the store themselves.
    reachable: AtomicBool,
    // Woken when an operation finds Redis away or not answering, so that
    // requests waiting for their turn on a session give up together (see
    // `turn`). An error about one command (a damaged key) wakes nobody.
    failed: Notify,
}

struct Scripts {
    acquire: Script,
    save: Script,
    rotate: Script,
    remove: Script,
    list: Script,
}

/// The key of a session's hash in Redis.
pub(super) fn record_key(key: &StoreKey) -> Vec<u8> {
    [PREFIX.as_bytes(), b"s:", &key.0].concat()
}

fn parse_key(member: &[u8]) -> Option<StoreKey> {
    Some(StoreKey(member.try_into().ok()?))
}

fn text(bytes: &[u8]) -> Option<Box<str>> {
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(bytes).into())
}

fn number(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

impl RedisStore {
    /// A store on the Redis server at `url` (`redis://host:port/db`) with
    /// the given bound and timeouts and the defaults of [`Limits::new`] for
    /// the rest. It connects on first use and reconnects by itself.
    ///
    /// # Errors
    /// If `url` is not a Redis URL.
    ///
    /// # Panics
    /// If called outside a Tokio runtime (the connection manager and the
    /// lease renewal run in the background). Rocket's fairings and
    /// handlers always run in one.
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
        Self::with_limits(url, Limits::new(max_sessions, idle, absolute))
    }

    /// A store on the Redis server at `url` with all of its [`Limits`].
    ///
    /// # Errors
    /// If `url` is not a Redis URL.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{Limits, RedisStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let limits = Limits::new(1000, Duration::from_secs(60), Duration::from_secs(600));
    /// assert!(RedisStore::with_limits("redis://127.0.0.1/", limits).is_ok());
    /// # });
    /// ```
    pub fn with_limits(url: &str, limits: Limits) -> Result<Self, String> {
        if !url.starts_with("redis://") {
            return Err("must be \"memory\" or a redis:// URL".into());
        }
        let conn = redis_conn::connect(url)?;
        let constants = preamble(PREFIX, &limits, LEASE_TTL, WAITED);
        let with_helpers = |body: &str| Script::new(&format!("{constants}{HELPERS}{body}"));
        let with_writer = |body: &str| Script::new(&format!("{constants}{HELPERS}{WRITE}{body}"));
        Ok(RedisStore {
            leases: Leases::start(conn.clone()),
            conn,
            scripts: Scripts {
                acquire: with_helpers(ACQUIRE),
                save: with_writer(SAVE),
                rotate: with_writer(ROTATE),
                remove: with_helpers(REMOVE),
                list: with_helpers(LIST),
            },
            reachable: AtomicBool::new(true),
            failed: Notify::new(),
        })
    }

    /// Notes whether Redis answered, and turns its errors into ours.
    fn checked<T>(&self, result: redis::RedisResult<T>) -> StoreResult<T> {
        self.reachable.store(result.is_ok(), Ordering::Relaxed);
        if result.as_ref().is_err_and(redis_conn::unreachable) {
            self.failed.notify_waiters();
        }
        result.map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Waits for `key`'s turn among this process's requests (see
    /// `redis_lease`), and gives up as soon as an operation finds Redis
    /// unreachable meanwhile: the request ahead may be waiting on a Redis
    /// that is away or hung, and each request queued behind it would
    /// otherwise fail in turn, a response timeout apart, where they all
    /// failed together when each asked Redis itself.
    async fn turn(&self, key: &StoreKey) -> StoreResult<RedisLease> {
        let failed = self.failed.notified();
        tokio::select! {
            // A failure first: the failed request gives its turn to the
            // next in line as it returns, just after it woke them.
            biased;
            () = failed => Err(StoreError::Unavailable(
                "Redis failed while this request waited for its session".into(),
            )),
            lease = self.leases.arm(*key, LEASE_WAIT) => lease.ok_or(StoreError::Busy),
        }
    }

    /// Appends ARGV 2..=7 of the write scripts: the record.
    fn push_record(call: &mut ScriptInvocation<'_>, record: &Record) {
        call.arg(record.data.as_ref())
            .arg(record.created_ms)
            .arg(record.owner.as_deref().unwrap_or(""))
            .arg(record.version)
            .arg(if record.remembered { "1" } else { "" })
            .arg(record.label.as_deref().unwrap_or(""));
    }

    /// One attempt at the lease and the record, taking over `given_back`.
    async fn try_acquire(
        &self,
        key: &StoreKey,
        lease: &RedisLease,
        given_back: Option<&Token>,
    ) -> StoreResult<Vec<u8>> {
        let mut call = self.scripts.acquire.prepare_invoke();
        call.key(record_key(key))
            .arg(&lease.token[..])
            .arg(given_back.map_or(&[][..], |t| &t[..]));
        self.checked(invoke(&self.conn, &call).await)
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

/// The record in an acquire reply: `<c> <v> <r> <owner length> <label
/// length> <owner><label><data>`.
fn parse_record(reply: &[u8]) -> Option<Record> {
    let mut parts = reply.splitn(6, |b| *b == b' ');
    let created_ms = number(parts.next()?)?;
    let version = number(parts.next()?)?;
    let remembered = parts.next()? == b"1";
    let owner_len = usize::try_from(number(parts.next()?)?).ok()?;
    let label_len = usize::try_from(number(parts.next()?)?).ok()?;
    let rest = parts.next()?;
    let (owner, rest) = rest.split_at_checked(owner_len)?;
    let (label, data) = rest.split_at_checked(label_len)?;
    Some(Record {
        data: std::str::from_utf8(data).ok()?.into(),
        created_ms,
        owner: text(owner),
        version,
        remembered,
        label: text(label),
    })
}

#[rocket::async_trait]
impl SessionStore for RedisStore {
    async fn acquire(&self, key: &StoreKey) -> StoreResult<Option<(Record, Lease)>> {
        let deadline = Instant::now() + LEASE_WAIT;
        let mut lease = self.turn(key).await?;
        let mut pause = POLL_FIRST;
        loop {
            let given_back = self.leases.given_back(key);
            let reply = self.try_acquire(key, &lease, given_back.as_ref()).await?;
            match reply.as_slice() {
                b"absent" => {
                    // There is no session, so no lease was taken.
                    lease.disarm();
                    return Ok(None);
                }
                b"busy" if Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(POLL_MAX);
                }
                b"busy" => {
                    // Not disarmed: the lease was never ours, but the place
                    // in line may be, and giving the token back clears it.
                    return Err(StoreError::Busy);
                }
                packed => {
                    let record = parse_record(packed).ok_or_else(|| {
                        StoreError::Unavailable("malformed session record".into())
                    })?;
                    lease.granted(given_back);
                    return Ok(Some((record, Lease::new(lease))));
                }
            }
        }
    }

    fn release(&self, lease: Lease) {
        if let Some(lease) = lease.into_inner::<RedisLease>() {
            lease.release();
        }
    }

    async fn create(
        &self,
        key: &StoreKey,
        record: Record,
        origin: Option<Origin>,
    ) -> StoreResult<()> {
        let mut call = self.scripts.save.prepare_invoke();
        call.key(record_key(key)).arg("");
        Self::push_record(&mut call, &record);
        match &origin {
            Some(origin) => call.arg(&origin.0[..]),
            None => call.arg(""),
        };
        written(self.checked(invoke(&self.conn, &call).await)?)
    }

    async fn save(&self, key: &StoreKey, expected: Option<u64>, record: Record) -> StoreResult<()> {
        let mut call = self.scripts.save.prepare_invoke();
        call.key(record_key(key))
            .arg(expected.map(|v| v.to_string()).unwrap_or_default());
        Self::push_record(&mut call, &record);
        written(self.checked(invoke(&self.conn, &call).await)?)
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        expected: u64,
        new: &StoreKey,
        record: Record,
    ) -> StoreResult<()> {
        let mut call = self.scripts.rotate.prepare_invoke();
        call.key(record_key(old)).key(record_key(new)).arg(expected);
        Self::push_record(&mut call, &record);
        written(self.checked(invoke(&self.conn, &call).await)?)
    }

    async fn remove(&self, key: &StoreKey) -> StoreResult<()> {
        let mut call = self.scripts.remove.prepare_invoke();
        call.key(record_key(key));
        let result: redis::RedisResult<i64> = invoke(&self.conn, &call).await;
        self.checked(result).map(drop)
    }

    async fn sessions_of(&self, owner: &str) -> StoreResult<Vec<SessionInfo>> {
        let mut call = self.scripts.list.prepare_invoke();
        call.key(format!("{PREFIX}u:{owner}"));
        let flat: Vec<Vec<u8>> = self.checked(invoke(&self.conn, &call).await)?;
        let mut sessions: Vec<SessionInfo> = flat
            .chunks_exact(5)
            .filter_map(|row| {
                Some(SessionInfo {
                    key: parse_key(&row[0])?,
                    created_ms: number(&row[1])?,
                    last_seen_ms: number(&row[2])?,
                    remembered: row[3] == b"1",
                    label: text(&row[4]),
                })
            })
            .collect();
        sessions.sort_by_key(|s| (s.created_ms, s.key));
        Ok(sessions)
    }

    async fn len(&self) -> StoreResult<u64> {
        let mut conn = self.conn.clone();
        let mut count = 0;
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = self.checked(
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

    async fn ping(&self) -> StoreResult<()> {
        let pong: redis::RedisResult<String> = query(&self.conn, &redis::cmd("PING")).await;
        self.checked(pong).map(drop)
    }

    fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }
}
