//! Where accounts, orders and login counters live: the [`AccountStore`]
//! contract and its two backends, chosen by `auth.store`.
//!
//! - [`FileStore`] (`"file"`, the default): accounts in `auth.users_file`,
//!   a JSON document people may edit by hand, replaced atomically on each
//!   change; orders in an append-only log beside it; counters in memory.
//!   One instance per file: it holds an OS lock on `<users_file>.lock`
//!   for as long as the process lives.
//! - `RedisStore` (`"redis://host:port/"`, behind the `redis` feature):
//!   everything in Redis under `memsess:a:`, each change one Lua script,
//!   for any number of instances. Nothing is cached per instance, so a
//!   signup, a password change or a deletion on one instance is seen by
//!   every instance on its next request.
//!
//! Usernames reach a store already folded to lower case and checked
//! against the username rules, so uniqueness of the folded name is
//! uniqueness ignoring case.
//!
//! # Counters
//! Login protection counts attempts in [`Counter`]s keyed by a fixed-size
//! hash ([`CounterKey`]), so what a store keeps per counter is bounded in
//! bytes whatever the client sent. [`AccountStore::hit`] counts one
//! attempt on several counters at once, all or nothing: if any is at its
//! limit nothing is counted and the caller learns how long to wait.
//!
//! # Demo users
//! The debug profile's demo users ([`DemoAccounts`]) are known to both
//! backends but never written: they cannot be created, changed or deleted,
//! and they vanish with the process. Their orders are stored like anyone's.

mod counters;
mod demo;
mod file;
mod file_io;
mod orders_log;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_scripts;
mod types;
mod users_file;

pub use counters::{Counter, CounterKey, Hit, MemoryCounters};
pub use demo::{DemoAccounts, DEMO_USERS};
pub use file::FileStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use types::{Account, Order, OrderId, OrderLine};

/// The most orders one account keeps. Checkout is not rate-limited, so
/// without a bound one signed-in client could grow the store (and the
/// account page, which lists every order) without end: hundreds of
/// orders a second.
pub const MAX_ORDERS: usize = 200;

/// Why an account store operation failed.
///
/// # Examples
/// ```
/// use memsess::auth::store::{AccountError, AccountStore, DemoAccounts, FileStore};
/// # let dir = std::env::temp_dir().join(format!("memsess-doc-err-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = FileStore::open(&dir.join("users.json"), DemoAccounts::none()).unwrap();
/// let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA";
/// store.create("carol", hash).await.unwrap();
///
/// assert_eq!(store.create("carol", hash).await.unwrap_err(), AccountError::Taken);
/// assert_eq!(store.delete("nobody", hash).await, Err(AccountError::NoAccount));
/// // Checked against a password that is no longer carol's: nothing happens.
/// let other = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$aGFzaA";
/// assert_eq!(store.delete("carol", other).await, Err(AccountError::PasswordChanged));
/// # });
/// # let _ = std::fs::remove_dir_all(&dir);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The username belongs to an account already; nothing changed.
    #[error("that username is taken")]
    Taken,
    /// There is no account of that name (it was never made, or was
    /// deleted meanwhile); nothing changed.
    #[error("there is no such account")]
    NoAccount,
    /// The password is no longer the one the change was checked against
    /// (another request changed it meanwhile); nothing changed.
    #[error("the password was changed meanwhile")]
    PasswordChanged,
    /// A demo user: they exist only in memory and cannot be changed.
    #[error("the demo accounts cannot be changed")]
    DemoAccount,
    /// The account holds [`MAX_ORDERS`] orders already; nothing stored.
    #[error("the account has as many orders as it may keep")]
    TooManyOrders,
    /// The store cannot be reached or could not write; nothing changed.
    #[error("the account store is unavailable: {0}")]
    Unavailable(String),
}

/// The result type of account store operations.
///
/// # Examples
/// ```
/// use memsess::auth::store::{AccountError, AccountResult};
///
/// fn reachable(up: bool) -> AccountResult<()> {
///     if up { Ok(()) } else { Err(AccountError::Unavailable("connection refused".into())) }
/// }
/// assert!(reachable(true).is_ok());
/// assert!(matches!(reachable(false), Err(AccountError::Unavailable(_))));
/// ```
pub type AccountResult<T> = Result<T, AccountError>;

/// A place to keep accounts, their orders and the login counters.
///
/// Every implementation keeps this contract, which one conformance suite
/// checks against both backends:
/// - [`create`](Self::create) is atomic and unique: of any number of
///   concurrent creations of one name, exactly one succeeds;
/// - [`delete`](Self::delete) removes the account and all its orders, and
///   a name created again never sees the orders of an earlier holder;
/// - [`add_order`](Self::add_order) succeeds only while the account exists;
/// - a change is seen by the next read, on every instance;
/// - [`hit`](Self::hit) is all or nothing, and a refused hit changes no
///   counter and extends no window.
///
/// # Examples
/// ```
/// use memsess::auth::store::{AccountStore, DemoAccounts, FileStore};
/// # let dir = std::env::temp_dir().join(format!("memsess-doc-trait-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store: Box<dyn AccountStore> =
///     Box::new(FileStore::open(&dir.join("users.json"), DemoAccounts::none()).unwrap());
/// let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA";
/// store.create("carol", hash).await.unwrap();
/// assert_eq!(store.account("carol").await.unwrap().unwrap().password_hash, hash);
/// assert!(store.account("dave").await.unwrap().is_none());
/// # });
/// # let _ = std::fs::remove_dir_all(&dir);
/// ```
#[rocket::async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// The account `username`, if there is one.
    ///
    /// # Errors
    /// [`AccountError::Unavailable`] if the store cannot be reached.
    async fn account(&self, username: &str) -> AccountResult<Option<Account>>;

    /// Creates the account `username` with this argon2id PHC string, if
    /// the name is free, and returns it. Orders left under the name by
    /// anyone before are dropped in the same step.
    ///
    /// # Errors
    /// [`AccountError::Taken`] if the name exists (a demo user included);
    /// [`AccountError::Unavailable`] if it could not be stored.
    async fn create(&self, username: &str, password_hash: &str) -> AccountResult<Account>;

    /// Replaces the password hash of `username` with `password_hash` if it
    /// is still `expected`: the hash the current password was checked
    /// against. Of two changes checked against one password, the first
    /// wins and the second changes nothing, so the page of each says what
    /// is true (with a plain overwrite, the last would win while the first
    /// was told its password was set). A hash that is `password_hash`
    /// already counts as done: a call sent again after a dropped
    /// connection, whose first try went through (each hash has a salt of
    /// its own, so no other change writes the same one).
    ///
    /// # Errors
    /// [`AccountError::PasswordChanged`] if the hash is no longer
    /// `expected`; [`AccountError::NoAccount`],
    /// [`AccountError::DemoAccount`], or [`AccountError::Unavailable`].
    async fn set_password(
        &self,
        username: &str,
        expected: &str,
        password_hash: &str,
    ) -> AccountResult<()>;

    /// Deletes `username` and all its orders, in one step: no crash leaves
    /// orders behind that a new holder of the name would see. Only while
    /// its password hash is still `expected`, the one the password was
    /// checked against: a deletion that proved a password changed
    /// meanwhile must not outlast the change meant to shut that password
    /// out.
    ///
    /// # Errors
    /// [`AccountError::PasswordChanged`] if the hash is no longer
    /// `expected`; [`AccountError::NoAccount`],
    /// [`AccountError::DemoAccount`], or [`AccountError::Unavailable`].
    async fn delete(&self, username: &str, expected: &str) -> AccountResult<()>;

    /// Stores `order` for `username`, only while the account exists and
    /// holds fewer than [`MAX_ORDERS`] orders. Storing an order that is
    /// stored already (a retry) changes nothing and succeeds.
    ///
    /// # Errors
    /// [`AccountError::NoAccount`] if the account is gone;
    /// [`AccountError::TooManyOrders`] if it holds [`MAX_ORDERS`];
    /// [`AccountError::Unavailable`] if it could not be stored.
    async fn add_order(&self, username: &str, order: &Order) -> AccountResult<()>;

    /// `username`'s orders, newest first.
    ///
    /// # Errors
    /// [`AccountError::Unavailable`] if the store cannot be reached.
    async fn orders(&self, username: &str) -> AccountResult<Vec<Order>>;

    /// The order `id` if it belongs to `username`; `None` for anyone
    /// else's order and for an unknown id alike.
    ///
    /// # Errors
    /// [`AccountError::Unavailable`] if the store cannot be reached.
    async fn order(&self, username: &str, id: &OrderId) -> AccountResult<Option<Order>>;

    /// Counts one attempt on every counter in `counters`, all or nothing:
    /// if any is at its limit, nothing is counted and the answer says how
    /// long until that counter's window ends; else each is incremented
    /// and its window restarts.
    ///
    /// # Errors
    /// [`AccountError::Unavailable`] if the store cannot be reached.
    async fn hit(&self, counters: &[Counter]) -> AccountResult<Hit>;

    /// Takes one counted attempt back from `key` (its window is kept).
    ///
    /// # Errors
    /// [`AccountError::Unavailable`] if the store cannot be reached.
    async fn take_back(&self, key: &CounterKey) -> AccountResult<()>;

    /// Forgets the counter `key`.
    ///
    /// # Errors
    /// [`AccountError::Unavailable`] if the store cannot be reached.
    async fn clear(&self, key: &CounterKey) -> AccountResult<()>;

    /// The 256-bit key that signs device cookies, made once and kept by
    /// the store, so every instance sharing the store shares the key.
    ///
    /// # Errors
    /// [`AccountError::Unavailable`] if the store cannot be reached.
    async fn device_key(&self) -> AccountResult<[u8; 32]>;

    /// Asks the store whether it answers (for a warning at launch).
    ///
    /// # Errors
    /// [`AccountError::Unavailable`] if it does not.
    async fn ping(&self) -> AccountResult<()> {
        Ok(())
    }

    /// Where the store keeps its data, for the launch log; never shows a
    /// password.
    fn describe(&self) -> String;
}
