//! [`FileStore`]: accounts in a JSON file, orders in a log beside it,
//! counters in memory; one instance per file.
//!
//! Files, all beside `auth.users_file` (default `data/users.json`), mode 0600:
//! - the users file, `{"users": {"<name>": {"password_hash": .., "created_ms": ..}}}`,
//!   replaced atomically on each change (see [`file_io::replace`]);
//! - `<users_file>.orders`, the orders log (see [`super::orders_log`]);
//! - `<users_file>.lock`, which the process holds an OS lock on;
//! - `<users_file>.device-key`, the key that signs device cookies.
//!
//! **Readers never wait for a writer.** The accounts are an immutable
//! snapshot behind an `Arc`; a reader clones the `Arc` (a pointer copy
//! under a lock held for nanoseconds) and reads at leisure. Writers take
//! turns on their own async mutex, build the next snapshot, write the
//! file on the blocking pool, and only then swap the pointer. A login
//! during a signup's file write reads the snapshot from before it.
//!
//! **Deletion order.** Deleting an account rewrites the orders log first,
//! then the users file: a crash in between leaves an account without
//! orders, never orders without an account. Creating an account drops any
//! orders still logged under its name (a demo user's from a debug run),
//! so a new holder of a name never sees an earlier holder's orders.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use super::counters::MemoryCounters;
use super::orders_log::{self, OrdersByUser};
use super::types::newest_first;
use super::{file_io, users_file};
use super::{
    Account, AccountError, AccountResult, AccountStore, Counter, CounterKey, DemoAccounts, Hit,
    Order, OrderId, MAX_ORDERS,
};
use crate::session::store::now_ms;

/// The file backend. See the module docs.
///
/// # Examples
/// ```
/// use memsess::auth::store::{AccountStore, DemoAccounts, FileStore};
/// # let dir = std::env::temp_dir().join(format!("memsess-doc-file-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let path = dir.join("users.json");
/// let store = FileStore::open(&path, DemoAccounts::none()).unwrap();
///
/// // One instance per file: a second store on it is refused while this one lives.
/// let second = FileStore::open(&path, DemoAccounts::none());
/// assert!(second.err().unwrap().contains("auth.store"));
/// drop(store);
/// assert!(FileStore::open(&path, DemoAccounts::none()).is_ok());
/// # let _ = std::fs::remove_dir_all(&dir);
/// ```
pub struct FileStore {
    users_path: PathBuf,
    orders_path: PathBuf,
    demo: DemoAccounts,
    // The snapshot readers clone; replaced only after the file is written.
    accounts: RwLock<Arc<BTreeMap<String, Account>>>,
    // Orders per user, oldest first. Writers change it only after the disk
    // write, holding the lock for an in-memory push.
    orders: RwLock<OrdersByUser>,
    // Writers take turns here, for as long as their file write lasts.
    writer: tokio::sync::Mutex<()>,
    counters: MemoryCounters,
    device_key: [u8; 32],
    // Held, never read: the OS lock lives as long as this file is open.
    _lock: File,
    #[cfg(test)]
    pub(super) gate: std::sync::Mutex<Option<Arc<tests::Gate>>>,
}

impl FileStore {
    /// Opens the store on `users_file`: takes the lock, reads and checks
    /// the users file (missing: no accounts) and the orders log, and reads
    /// or makes the device-cookie key. Blocking.
    ///
    /// # Errors
    /// A message for the log if another instance holds the file (naming
    /// `auth.store`), or a file is unreadable or invalid (naming the entry
    /// and `auth.users_file`).
    pub fn open(users_file: &Path, demo: DemoAccounts) -> Result<Self, String> {
        let shown = users_file.display();
        let dir = file_io::folder_of(users_file);
        std::fs::create_dir_all(&dir).map_err(|e| {
            format!(
                "invalid configuration `auth.users_file`: creating {}: {e}",
                dir.display()
            )
        })?;
        let lock_path = file_io::beside(users_file, ".lock");
        let lock = file_io::lock(&lock_path)
            .map_err(|e| {
                format!(
                    "invalid configuration `auth.users_file`: locking {}: {e}",
                    lock_path.display()
                )
            })?
            .ok_or_else(|| {
                format!(
                    "`auth.store = \"file\"` serves one instance, and another memsess \
                     process is using {shown} (it holds the lock on {}): stop it, or set \
                     `auth.store` to a redis:// URL to run several instances",
                    lock_path.display()
                )
            })?;
        let accounts = users_file::load(users_file)
            .map_err(|e| format!("invalid configuration `auth.users_file`: {e}"))?;
        let orders_path = file_io::beside(users_file, ".orders");
        let orders = orders_log::load(&orders_path)
            .map_err(|e| format!("invalid configuration `auth.users_file`: {e}"))?;
        let device_key = file_io::device_key(&file_io::beside(users_file, ".device-key"))
            .map_err(|e| format!("invalid configuration `auth.users_file`: {e}"))?;
        Ok(FileStore {
            users_path: users_file.to_owned(),
            orders_path,
            demo,
            accounts: RwLock::new(Arc::new(accounts)),
            orders: RwLock::new(orders),
            writer: tokio::sync::Mutex::new(()),
            counters: MemoryCounters::new(),
            device_key,
            _lock: lock,
            #[cfg(test)]
            gate: std::sync::Mutex::new(None),
        })
    }

    fn snapshot(&self) -> Arc<BTreeMap<String, Account>> {
        self.accounts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn user_orders(&self, username: &str) -> Vec<Order> {
        let orders = self.orders.read().unwrap_or_else(PoisonError::into_inner);
        orders.get(username).cloned().unwrap_or_default()
    }

    /// Runs blocking disk work off the async workers.
    async fn disk(
        &self,
        work: impl FnOnce() -> std::io::Result<()> + Send + 'static,
    ) -> AccountResult<()> {
        #[cfg(test)]
        tests::Gate::pass(&self.gate).await;
        let unavailable = |e: String| {
            rocket::error!("account store: {e}");
            AccountError::Unavailable(e)
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .map_err(|e| unavailable(e.to_string()))
    }

    /// Writes `next` as the users file, then makes it the snapshot.
    async fn publish(&self, next: BTreeMap<String, Account>) -> AccountResult<()> {
        let bytes = users_file::to_bytes(&next);
        let path = self.users_path.clone();
        self.disk(move || file_io::replace(&path, &bytes)).await?;
        *self
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }

    /// Rewrites the orders log without `username`'s lines, if it has any.
    async fn drop_orders(&self, username: &str) -> AccountResult<()> {
        let remaining = {
            let orders = self.orders.read().unwrap_or_else(PoisonError::into_inner);
            if !orders.contains_key(username) {
                return Ok(());
            }
            let mut remaining = orders.clone();
            remaining.remove(username);
            remaining
        };
        let path = self.orders_path.clone();
        let written = remaining.clone();
        self.disk(move || orders_log::rewrite(&path, &written))
            .await?;
        *self.orders.write().unwrap_or_else(PoisonError::into_inner) = remaining;
        Ok(())
    }

    /// The account a write may change: an error for a demo or absent one.
    fn writable(&self, accounts: &BTreeMap<String, Account>, username: &str) -> AccountResult<()> {
        if self.demo.contains(username) {
            Err(AccountError::DemoAccount)
        } else if accounts.contains_key(username) {
            Ok(())
        } else {
            Err(AccountError::NoAccount)
        }
    }
}

#[rocket::async_trait]
impl AccountStore for FileStore {
    async fn account(&self, username: &str) -> AccountResult<Option<Account>> {
        if let Some(account) = self.demo.get(username) {
            return Ok(Some(account.clone()));
        }
        Ok(self.snapshot().get(username).cloned())
    }

    async fn create(&self, username: &str, password_hash: &str) -> AccountResult<Account> {
        let _turn = self.writer.lock().await;
        let current = self.snapshot();
        if self.demo.contains(username) || current.contains_key(username) {
            return Err(AccountError::Taken);
        }
        self.drop_orders(username).await?;
        let account = Account {
            password_hash: password_hash.to_owned(),
            created_ms: now_ms(),
        };
        let mut next = (*current).clone();
        next.insert(username.to_owned(), account.clone());
        self.publish(next).await?;
        Ok(account)
    }

    async fn set_password(
        &self,
        username: &str,
        expected: &str,
        password_hash: &str,
    ) -> AccountResult<()> {
        let _turn = self.writer.lock().await;
        let current = self.snapshot();
        self.writable(&current, username)?;
        let mut next = (*current).clone();
        if let Some(account) = next.get_mut(username) {
            if account.password_hash == password_hash {
                return Ok(());
            }
            if account.password_hash != expected {
                return Err(AccountError::PasswordChanged);
            }
            account.password_hash = password_hash.to_owned();
        }
        self.publish(next).await
    }

    async fn delete(&self, username: &str, expected: &str) -> AccountResult<()> {
        let _turn = self.writer.lock().await;
        let current = self.snapshot();
        self.writable(&current, username)?;
        if current
            .get(username)
            .is_some_and(|account| account.password_hash != expected)
        {
            return Err(AccountError::PasswordChanged);
        }
        // Orders first: a crash between the two writes leaves an account
        // without orders, never orders a new holder of the name would see.
        self.drop_orders(username).await?;
        let mut next = (*current).clone();
        next.remove(username);
        self.publish(next).await
    }

    async fn add_order(&self, username: &str, order: &Order) -> AccountResult<()> {
        // Under the writers' turn, so a deletion cannot slip in between the
        // check and the append.
        let _turn = self.writer.lock().await;
        if !self.demo.contains(username) && !self.snapshot().contains_key(username) {
            return Err(AccountError::NoAccount);
        }
        let held = self.user_orders(username);
        if held.iter().any(|o| o.id == order.id) {
            return Ok(());
        }
        if held.len() >= MAX_ORDERS {
            return Err(AccountError::TooManyOrders);
        }
        let (path, user, logged) = (self.orders_path.clone(), username.to_owned(), order.clone());
        self.disk(move || orders_log::append(&path, &user, &logged))
            .await?;
        self.orders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(username.to_owned())
            .or_default()
            .push(order.clone());
        Ok(())
    }

    async fn orders(&self, username: &str) -> AccountResult<Vec<Order>> {
        let mut orders = self.user_orders(username);
        newest_first(&mut orders);
        Ok(orders)
    }

    async fn order(&self, username: &str, id: &OrderId) -> AccountResult<Option<Order>> {
        Ok(self.user_orders(username).into_iter().find(|o| &o.id == id))
    }

    async fn hit(&self, counters: &[Counter]) -> AccountResult<Hit> {
        Ok(self.counters.hit(counters).await)
    }

    async fn take_back(&self, key: &CounterKey) -> AccountResult<()> {
        self.counters.take_back(key).await;
        Ok(())
    }

    async fn clear(&self, key: &CounterKey) -> AccountResult<()> {
        self.counters.clear(key).await;
        Ok(())
    }

    async fn device_key(&self) -> AccountResult<[u8; 32]> {
        Ok(self.device_key)
    }

    fn describe(&self) -> String {
        format!(
            "file {} (orders in {})",
            self.users_path.display(),
            self.orders_path.display()
        )
    }
}

#[cfg(test)]
mod tests;
