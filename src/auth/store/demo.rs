//! The debug profile's demo users: known to every backend, never written.

use std::collections::BTreeMap;

use argon2::password_hash::{PasswordHasher as _, SaltString};

use super::Account;
use crate::auth::password::argon2id;

/// The demo users and their passwords, shown on the login page in debug.
pub const DEMO_USERS: [(&str, &str); 2] = [("alice", "wonderland-42"), ("bob", "builder-2024")];

/// The demo accounts a store knows besides its own, or none.
///
/// Their hashes use a fixed salt per name, so every instance computes the
/// same PHC string: a session stamped with it at login on one instance is
/// valid on all (the passwords are public anyway).
///
/// # Examples
/// ```
/// use memsess::auth::store::DemoAccounts;
///
/// let demo = DemoAccounts::debug();
/// assert!(demo.get("alice").is_some());
/// assert_eq!(demo.get("alice"), DemoAccounts::debug().get("alice"));
/// assert!(DemoAccounts::none().get("alice").is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct DemoAccounts(BTreeMap<String, Account>);

impl DemoAccounts {
    /// No demo users (the release profile).
    pub fn none() -> Self {
        DemoAccounts::default()
    }

    /// `alice` and `bob`. Blocking: it hashes two passwords.
    ///
    /// # Panics
    /// Never: the salt and parameters are valid constants.
    pub fn debug() -> Self {
        let accounts = DEMO_USERS
            .iter()
            .map(|(name, password)| {
                let salt = SaltString::encode_b64(format!("memsess-demo-{name}").as_bytes())
                    .expect("a valid salt");
                let hash = argon2id()
                    .hash_password(password.as_bytes(), &salt)
                    .expect("argon2 hashes a short password")
                    .to_string();
                let account = Account {
                    password_hash: hash,
                    created_ms: 0,
                };
                (name.to_string(), account)
            })
            .collect();
        DemoAccounts(accounts)
    }

    /// The demo account `username`, if it is one.
    pub fn get(&self, username: &str) -> Option<&Account> {
        self.0.get(username)
    }

    /// Whether `username` is a demo user.
    pub fn contains(&self, username: &str) -> bool {
        self.0.contains_key(username)
    }
}
