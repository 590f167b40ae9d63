//! Server-side sessions for Rocket, after gmemsess.
//!
//! This folder depends on nothing else in the app: copy `src/session/` into
//! your own Rocket app, attach [`SessionFairing`], and take [`Session`] as a
//! request guard.
//!
//! ```no_run
//! use memsess::session::{Session, SessionError, SessionFairing};
//! use rocket::{get, routes};
//!
//! #[get("/counter")]
//! async fn counter(session: Session) -> Result<String, SessionError> {
//!     let n = session.get::<u32>("counter").unwrap_or(0) + 1;
//!     session.insert("counter", n)?;
//!     session.save().await?;
//!     Ok(format!("visit {n}"))
//! }
//!
//! let app = rocket::build()
//!     .attach(SessionFairing::new())
//!     .mount("/", routes![counter]);
//! ```
//!
//! # Session life cycle
//! 1. **Load.** The [`Session`] guard reads the cookie. One well-formed id
//!    (32 base64url characters) that the store knows loads that session,
//!    taking its lease and restarting its idle clock. No cookie, a
//!    malformed, duplicated, unknown or expired one all give a *new*
//!    session with a fresh id: an id the client chose is never adopted.
//! 2. **Use.** [`get`](Session::get), [`insert`](Session::insert),
//!    [`remove`](Session::remove) change only this request's copy.
//! 3. **Save.** [`save`](Session::save) writes the copy to the store, as in
//!    gmemsess. A session never saved leaves nothing behind and sets no
//!    cookie. [`cycle_id`](Session::cycle_id) gives the session a new id,
//!    which the next save moves it to; [`invalidate`](Session::invalidate)
//!    deletes it at once.
//! 4. **Respond.** The [`SessionFairing`] gives the lease back and writes
//!    `Set-Cookie` by the table in [`fairing`]: the id after
//!    a save of a new or rotated session, a removal after an invalidate,
//!    nothing otherwise. Cookies are `HttpOnly`, `SameSite=Lax`, `Path=/`,
//!    without `Domain`, and `Secure` when `session.secure` is on; they end
//!    with the browser, unless the session is remembered.
//! 5. **Expire.** A session not loaded for `session.idle_timeout` seconds,
//!    or older than `session.absolute_timeout`, is gone. A *remembered*
//!    session ([`set_remembered`](Session::set_remembered), "keep me signed
//!    in") uses `session.remember_idle_timeout` and
//!    `session.remember_absolute_timeout` instead, and its cookie carries
//!    a `Max-Age` up to its absolute deadline.
//! 6. **Make room.** At most `session.max_sessions` live at once, in tiers
//!    that keep anonymous traffic from ever evicting a signed-in user's
//!    session, and at most `session.max_sessions_per_user` per user
//!    ([`Limits`] explains both).
//!
//! # Concurrent requests on one session
//! gmemsess lost updates: two requests read the same data, each changed it,
//! and the second `save()` wrote over the first. Here:
//!
//! * **Requests on one session take turns.** Loading takes the session's
//!   *lease* from the store, and the fairing gives it back only when the
//!   response is ready, so one request's read-modify-write finishes before
//!   the next one reads. Fifty parallel "add to cart" requests all count.
//!   Requests on *different* sessions never wait for each other, and
//!   requests that do not take the guard (static files, `/healthz`) never
//!   touch the store at all.
//! * **Writes are fenced by version.** Every record carries a version; a
//!   save names the version it loaded and the store refuses it (atomically,
//!   in one step with the write) if the record has changed or gone. So a
//!   session that was invalidated, rotated, ended by "sign out everywhere
//!   else" or expired while a request was still running is never brought
//!   back by that request's late save: [`save`](Session::save) returns
//!   [`SessionError::Gone`] and writes nothing. A write that finds the
//!   record alive but at another version (another request wrote it after
//!   a shared store's lease expired) returns [`SessionError::Conflict`] and
//!   also writes nothing, leaving the session and its cookie alone.
//! * **Across instances** the same two rules hold in a shared store: the
//!   lease is an atomic "set if absent or lapsed, with a lapse time", and
//!   the version check runs inside the store's atomic write. A lease that times out (a
//!   stalled request) lets the next request in, and the version fence
//!   stops the stalled one from overwriting it.
//!
//! A request waits at most 10 seconds for a lease, then gets
//! [`SessionError::Busy`] (the guard answers 503).
//!
//! # Storage
//! The store keeps a hash of the id ([`StoreKey`]), never the id, so a
//! dump of the store or a log of its keys hijacks nothing. See
//! [`SessionStore`] for the contract a store keeps, [`MemoryStore`] for
//! the embedded one (whose sessions outlive a restart through a snapshot
//! file: [`MemoryStore::persistent`]) and `RedisStore` for the shared one.
//!
//! # Files
//! | file | concern |
//! |---|---|
//! | `handle.rs`, `values.rs`, `save.rs`, `user.rs`, `error.rs` | the [`Session`] API and its errors |
//! | `guard.rs`, `fairing.rs`, `config.rs`, `config/tables.rs` | the Rocket glue and its settings |
//! | `id.rs`, `record.rs`, `limits.rs`, `store.rs` | ids, what is stored, the rules, the contract |
//! | `memory.rs`, `memory/index.rs`, `memory/tiers.rs`, `slot.rs`, `owners.rs`, `locks.rs` | the embedded store |
//! | `origin.rs`, `shares.rs` | each client address's share of the anonymous tiers |
//! | `persist.rs`, `snapshot.rs`, `journal.rs` | its snapshot and journal |
//! | `redis_store.rs`, `redis_scripts.rs`, `redis_lease.rs`, `redis_conn.rs` | the Redis store |

pub mod config;
mod cookie_line;
mod error;
pub mod fairing;
mod guard;
mod handle;
pub mod id;
mod journal;
pub mod limits;
mod locks;
pub mod memory;
pub mod origin;
mod owners;
mod persist;
pub mod record;
#[cfg(feature = "redis")]
pub mod redis_conn;
#[cfg(feature = "redis")]
mod redis_lease;
#[cfg(feature = "redis")]
mod redis_scripts;
#[cfg(feature = "redis")]
pub mod redis_store;
mod save;
mod shares;
mod slot;
mod snapshot;
pub mod store;
mod user;
mod values;

pub use config::SessionConfig;
pub use error::SessionError;
pub use fairing::SessionFairing;
pub use guard::Sessions;
pub use handle::Session;
pub use id::{SessionId, StoreKey};
pub use limits::Limits;
pub use memory::MemoryStore;
pub use origin::Origin;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use store::{Lease, Record, SessionInfo, SessionStore, StoreError};
pub use user::SessionSummary;
