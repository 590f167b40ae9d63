//! [`RedisStore`]: accounts, orders, counters and the device-cookie key in
//! Redis, for any number of instances (`auth.store = "redis://…"`).
//!
//! Every change is one Lua script (see [`super::redis_scripts`]), which
//! Redis runs atomically: a name is created once however many instances
//! race for it, a deletion takes the orders with the account, and an
//! attempt is counted on all its counters or none. Nothing is cached per
//! instance except the device-cookie key, which never changes once made.
//!
//! It connects as the session store does (`session::redis_conn`): a
//! `ConnectionManager` that connects on first use, gives up on a request
//! within about two seconds when Redis is away (pages answer 503),
//! reconnects by itself, and sends a command once more when its
//! connection had died (Redis restarted while the app was idle).

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;

use super::redis_scripts::{ADD_ORDER, CREATE, DELETE, HIT, SET_PASSWORD, TAKE_BACK};
use super::types::newest_first;
use super::{
    Account, AccountError, AccountResult, AccountStore, Counter, CounterKey, DemoAccounts, Hit,
    Order, OrderId, MAX_ORDERS,
};
use crate::session::fairing::without_password;
use crate::session::redis_conn::{self, invoke, query};
use crate::session::store::now_ms;

const PREFIX: &str = "memsess:a:";

/// The Redis backend. See the module docs.
///
/// # Examples
/// ```
/// use memsess::auth::store::{AccountStore, DemoAccounts, RedisStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// // Nothing connects until the first use, so no Redis needs to run here.
/// let store = RedisStore::new("redis://:secret@127.0.0.1:6379/", DemoAccounts::none()).unwrap();
/// assert_eq!(store.describe(), "redis redis://:***@127.0.0.1:6379/");
/// assert!(RedisStore::new("memcache://127.0.0.1", DemoAccounts::none()).is_err());
/// # });
/// ```
pub struct RedisStore {
    conn: ConnectionManager,
    url: String,
    demo: DemoAccounts,
    scripts: Scripts,
    device_key: tokio::sync::OnceCell<[u8; 32]>,
}

struct Scripts {
    create: Script,
    set_password: Script,
    delete: Script,
    add_order: Script,
    hit: Script,
    take_back: Script,
}

fn account_key(username: &str) -> String {
    format!("{PREFIX}u:{username}")
}

fn orders_key(username: &str) -> String {
    format!("{PREFIX}o:{username}")
}

fn counter_key(key: &CounterKey) -> String {
    format!("{PREFIX}c:{key}")
}

fn unavailable(e: redis::RedisError) -> AccountError {
    AccountError::Unavailable(e.to_string())
}

impl RedisStore {
    /// A store on the Redis server at `url`, knowing `demo` besides its
    /// own accounts. It connects on first use.
    ///
    /// # Errors
    /// If `url` is not a usable Redis URL.
    ///
    /// # Panics
    /// If called outside a Tokio runtime (the connection manager starts a
    /// background task). Rocket's fairings always run in one.
    pub fn new(url: &str, demo: DemoAccounts) -> Result<Self, String> {
        if !url.starts_with("redis://") {
            return Err("must be \"file\" or a redis:// URL".into());
        }
        let conn = redis_conn::connect(url)?;
        Ok(RedisStore {
            conn,
            url: without_password(url),
            demo,
            scripts: Scripts {
                create: Script::new(CREATE),
                set_password: Script::new(SET_PASSWORD),
                delete: Script::new(DELETE),
                add_order: Script::new(ADD_ORDER),
                hit: Script::new(HIT),
                take_back: Script::new(TAKE_BACK),
            },
            device_key: tokio::sync::OnceCell::new(),
        })
    }

    /// Runs a script that answers 1 (done) or 0 (no such account).
    async fn changed(&self, call: &redis::ScriptInvocation<'_>) -> AccountResult<bool> {
        let done: i64 = invoke(&self.conn, call).await.map_err(unavailable)?;
        Ok(done == 1)
    }

    /// Runs a script that answers 1 (done), 2 (refused, nothing done: the
    /// `refused` error) or 0 (no such account).
    async fn checked_change(
        &self,
        call: &redis::ScriptInvocation<'_>,
        refused: AccountError,
    ) -> AccountResult<()> {
        let done: i64 = invoke(&self.conn, call).await.map_err(unavailable)?;
        match done {
            1 => Ok(()),
            2 => Err(refused),
            _ => Err(AccountError::NoAccount),
        }
    }

    fn writable(&self, username: &str) -> AccountResult<()> {
        if self.demo.contains(username) {
            Err(AccountError::DemoAccount)
        } else {
            Ok(())
        }
    }
}

#[rocket::async_trait]
impl AccountStore for RedisStore {
    async fn account(&self, username: &str) -> AccountResult<Option<Account>> {
        if let Some(account) = self.demo.get(username) {
            return Ok(Some(account.clone()));
        }
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(account_key(username)).arg("h").arg("c");
        let (hash, created): (Option<String>, Option<u64>) =
            query(&self.conn, &cmd).await.map_err(unavailable)?;
        Ok(hash.map(|password_hash| Account {
            password_hash,
            created_ms: created.unwrap_or(0),
        }))
    }

    async fn create(&self, username: &str, password_hash: &str) -> AccountResult<Account> {
        if self.demo.contains(username) {
            return Err(AccountError::Taken);
        }
        let account = Account {
            password_hash: password_hash.to_owned(),
            created_ms: now_ms(),
        };
        let mut call = self.scripts.create.prepare_invoke();
        call.key(account_key(username))
            .key(orders_key(username))
            .arg(password_hash)
            .arg(account.created_ms);
        if self.changed(&call).await? {
            Ok(account)
        } else {
            Err(AccountError::Taken)
        }
    }

    async fn set_password(
        &self,
        username: &str,
        expected: &str,
        password_hash: &str,
    ) -> AccountResult<()> {
        self.writable(username)?;
        let mut call = self.scripts.set_password.prepare_invoke();
        call.key(account_key(username))
            .arg(password_hash)
            .arg(expected);
        self.checked_change(&call, AccountError::PasswordChanged)
            .await
    }

    async fn delete(&self, username: &str, expected: &str) -> AccountResult<()> {
        self.writable(username)?;
        let mut call = self.scripts.delete.prepare_invoke();
        call.key(account_key(username))
            .key(orders_key(username))
            .arg(expected);
        self.checked_change(&call, AccountError::PasswordChanged)
            .await
    }

    async fn add_order(&self, username: &str, order: &Order) -> AccountResult<()> {
        let json = serde_json::to_string(order)
            .map_err(|e| AccountError::Unavailable(format!("order: {e}")))?;
        let demo = if self.demo.contains(username) {
            "1"
        } else {
            "0"
        };
        let mut call = self.scripts.add_order.prepare_invoke();
        call.key(account_key(username))
            .key(orders_key(username))
            .arg(order.id.as_str())
            .arg(json)
            .arg(demo)
            .arg(MAX_ORDERS);
        self.checked_change(&call, AccountError::TooManyOrders)
            .await
    }

    async fn orders(&self, username: &str) -> AccountResult<Vec<Order>> {
        let mut cmd = redis::cmd("HVALS");
        cmd.arg(orders_key(username));
        let values: Vec<String> = query(&self.conn, &cmd).await.map_err(unavailable)?;
        // Only this store writes these; skip a damaged one rather than
        // fail the whole page.
        let mut orders: Vec<Order> = values
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect();
        newest_first(&mut orders);
        Ok(orders)
    }

    async fn order(&self, username: &str, id: &OrderId) -> AccountResult<Option<Order>> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(orders_key(username)).arg(id.as_str());
        let json: Option<String> = query(&self.conn, &cmd).await.map_err(unavailable)?;
        Ok(json.and_then(|json| serde_json::from_str(&json).ok()))
    }

    async fn hit(&self, counters: &[Counter]) -> AccountResult<Hit> {
        let mut call = self.scripts.hit.prepare_invoke();
        for counter in counters {
            call.key(counter_key(&counter.key))
                .arg(counter.limit)
                .arg(counter.window.as_millis().max(1) as u64);
        }
        let wait_ms: u64 = invoke(&self.conn, &call).await.map_err(unavailable)?;
        Ok(match wait_ms {
            0 => Hit::Counted,
            ms => Hit::Refused {
                retry_after: Duration::from_millis(ms),
            },
        })
    }

    async fn take_back(&self, key: &CounterKey) -> AccountResult<()> {
        let mut call = self.scripts.take_back.prepare_invoke();
        call.key(counter_key(key));
        let _: i64 = invoke(&self.conn, &call).await.map_err(unavailable)?;
        Ok(())
    }

    async fn clear(&self, key: &CounterKey) -> AccountResult<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(counter_key(key));
        let _: i64 = query(&self.conn, &cmd).await.map_err(unavailable)?;
        Ok(())
    }

    async fn device_key(&self) -> AccountResult<[u8; 32]> {
        self.device_key
            .get_or_try_init(|| async {
                let name = format!("{PREFIX}device-key");
                let mut fresh = [0u8; 32];
                rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut fresh)
                    .map_err(|e| AccountError::Unavailable(e.to_string()))?;
                // The first instance to ask makes it; everyone reads the winner's.
                let mut set = redis::cmd("SET");
                set.arg(&name).arg(fresh.as_slice()).arg("NX");
                let _: Option<String> = query(&self.conn, &set).await.map_err(unavailable)?;
                let mut get = redis::cmd("GET");
                get.arg(&name);
                let stored: Vec<u8> = query(&self.conn, &get).await.map_err(unavailable)?;
                stored
                    .try_into()
                    .map_err(|_| AccountError::Unavailable(format!("{name} is not a 32-byte key")))
            })
            .await
            .copied()
    }

    async fn ping(&self) -> AccountResult<()> {
        let _: String = query(&self.conn, &redis::cmd("PING"))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("redis {}", self.url)
    }
}
