//! Connecting to Redis, one way for every store of the app: a
//! `ConnectionManager` that connects on first use, gives up on a command
//! within about two seconds when Redis is away (pages answer 503 rather
//! than hang), and reconnects by itself.
//!
//! When Redis restarts while the app is idle, the manager learns that its
//! connection is dead only from the next command, which fails; it then
//! reconnects. [`invoke`] and [`query`] send such a command once more on
//! the new connection, so the first request after a restart is served,
//! not refused. The command most likely never reached Redis; if it did
//! (the connection died between running it and answering), running it
//! twice is safe: a session write is fenced by version (the second answers
//! that the session changed, and the page asks to reload), a load takes
//! its own lease token back, an attempt counter counts one attempt twice,
//! an account's creation answers that the name is taken, by the account
//! it has just made, a password change finds its own new hash and counts
//! as done, and a deletion finds no account, which its page takes as
//! done.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, RedisError, RedisResult, ScriptInvocation};

/// A connection manager for `url` (`redis://host:port/db`); nothing
/// connects until the first command.
///
/// # Errors
/// If `url` is not a usable Redis URL.
///
/// # Panics
/// Outside a Tokio runtime (the manager runs in the background).
pub fn connect(url: &str) -> Result<ConnectionManager, String> {
    if !url.starts_with("redis://") {
        return Err("not a redis:// URL".into());
    }
    let client = redis::Client::open(url).map_err(|e| format!("not a usable Redis URL: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config).map_err(|e| e.to_string())
}

/// Whether `e` says Redis is away or not answering (as opposed to an
/// error about one command, such as a key of the wrong type).
pub fn unreachable(e: &RedisError) -> bool {
    e.is_timeout() || e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal()
}

/// Whether `e` says the connection had died (and the manager is now
/// reconnecting), as opposed to Redis being slow or refusing.
fn dropped(e: &RedisError) -> bool {
    e.is_connection_dropped() && !e.is_timeout()
}

/// Runs a script, once more on a new connection if the old one had died.
///
/// # Errors
/// Redis's error, if the second try fails too, or the first fails
/// otherwise.
pub async fn invoke<T: FromRedisValue>(
    conn: &ConnectionManager,
    call: &ScriptInvocation<'_>,
) -> RedisResult<T> {
    match call.invoke_async(&mut conn.clone()).await {
        Err(e) if dropped(&e) => call.invoke_async(&mut conn.clone()).await,
        done => done,
    }
}

/// Runs a command, once more on a new connection if the old one had died.
///
/// # Errors
/// As [`invoke`].
pub async fn query<T: FromRedisValue>(conn: &ConnectionManager, cmd: &Cmd) -> RedisResult<T> {
    match cmd.query_async(&mut conn.clone()).await {
        Err(e) if dropped(&e) => cmd.query_async(&mut conn.clone()).await,
        done => done,
    }
}
