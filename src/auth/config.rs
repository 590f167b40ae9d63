//! The `auth.*` configuration keys, with defaults built in.

use std::path::PathBuf;
use std::time::Duration;

use rocket::figment::Figment;
use serde::Deserialize;

use crate::session::config::{extract_table, ConfigError};

/// Where accounts, orders and login counters live (`auth.store`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// `"file"`: `users_file` and the files beside it, for one instance.
    File,
    /// `"redis://…"`: a Redis server shared by any number of instances.
    Redis(String),
}

/// Resolved login settings.
///
/// # Examples
/// ```
/// use rocket::figment::{providers::Serialized, Figment};
/// use memsess::auth::config::{AuthConfig, StoreKind};
///
/// let figment = Figment::from(rocket::Config::debug_default());
/// let config = AuthConfig::from_figment(&figment).unwrap();
/// assert_eq!(config.store, StoreKind::File);
/// assert_eq!((config.max_failed_logins_per_ip, config.max_signups_per_ip), (20, 10));
///
/// let bad = figment.merge(Serialized::default("auth.store", "memcache://x"));
/// assert_eq!(AuthConfig::from_figment(&bad).unwrap_err().key, "auth.store");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Where accounts live.
    pub store: StoreKind,
    /// The JSON file of accounts (file store).
    pub users_file: PathBuf,
    /// Failed logins for one username before it is locked.
    pub max_failed_logins: u32,
    /// How long failures are remembered, and a lockout lasts.
    pub lockout: Duration,
    /// Failed logins from one client address (any usernames) within
    /// `lockout` before the address is refused.
    pub max_failed_logins_per_ip: u32,
    /// Accounts one client address may create per hour.
    pub max_signups_per_ip: u32,
    /// Whether the demo users alice and bob exist (debug profile only).
    pub demo_users: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    store: Option<String>,
    users_file: Option<PathBuf>,
    max_failed_logins: Option<u32>,
    lockout_seconds: Option<u64>,
    max_failed_logins_per_ip: Option<u32>,
    max_signups_per_ip: Option<u32>,
    demo_users: Option<bool>,
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: format!("auth.{key}"),
        message: message.into(),
    }
}

impl AuthConfig {
    /// Reads and checks the `auth` table.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first bad key.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let raw: Raw = extract_table(figment, "auth")?;
        let store = match raw.store.as_deref().unwrap_or("file") {
            "file" => StoreKind::File,
            url if url.starts_with("redis://") && cfg!(feature = "redis") => {
                StoreKind::Redis(url.to_owned())
            }
            url if url.starts_with("redis://") => {
                return Err(invalid(
                    "store",
                    "this build has no Redis support (the `redis` feature is off)",
                ))
            }
            other => {
                return Err(invalid(
                    "store",
                    format!("{other:?} is neither \"file\" nor a redis:// URL"),
                ))
            }
        };
        let users_file = raw.users_file.unwrap_or_else(|| "data/users.json".into());
        if users_file.as_os_str().is_empty() || users_file.is_dir() {
            return Err(invalid("users_file", "must name a file"));
        }
        let max_failed_logins = raw.max_failed_logins.unwrap_or(5);
        if !(1..=1000).contains(&max_failed_logins) {
            return Err(invalid("max_failed_logins", "must be between 1 and 1000"));
        }
        let lockout_seconds = raw.lockout_seconds.unwrap_or(900);
        if !(1..=30 * 24 * 3600).contains(&lockout_seconds) {
            return Err(invalid(
                "lockout_seconds",
                "must be between 1 second and 30 days",
            ));
        }
        let per_ip = |key: &str, value: Option<u32>, default: u32| match value.unwrap_or(default) {
            n @ 1..=100_000 => Ok(n),
            _ => Err(invalid(key, "must be between 1 and 100000")),
        };
        let max_failed_logins_per_ip =
            per_ip("max_failed_logins_per_ip", raw.max_failed_logins_per_ip, 20)?;
        let max_signups_per_ip = per_ip("max_signups_per_ip", raw.max_signups_per_ip, 10)?;
        let debug = figment.profile() == rocket::Config::DEBUG_PROFILE;
        let demo_users = raw.demo_users.unwrap_or(debug);
        Ok(AuthConfig {
            store,
            users_file,
            max_failed_logins,
            lockout: Duration::from_secs(lockout_seconds),
            max_failed_logins_per_ip,
            max_signups_per_ip,
            demo_users,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::figment::providers::Serialized;

    fn with(profile: &str, key: &str, value: impl serde::Serialize) -> Figment {
        Figment::from(rocket::Config::default())
            .merge(Serialized::default(key, value))
            .select(profile)
    }

    #[test]
    fn defaults_match_the_spec_and_demo_users_are_debug_only() {
        let debug = AuthConfig::from_figment(&with("debug", "x", 1)).unwrap();
        assert_eq!(debug.users_file, PathBuf::from("data/users.json"));
        assert_eq!((debug.max_failed_logins, debug.lockout.as_secs()), (5, 900));
        assert!(debug.demo_users);
        assert!(
            !AuthConfig::from_figment(&with("release", "x", 1))
                .unwrap()
                .demo_users
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("auth.max_failed_logins", serde_json::json!(0)),
            ("auth.lockout_seconds", serde_json::json!("long")),
            ("auth.users_file", serde_json::json!("")),
            ("auth.lockout_secs", serde_json::json!(5)),
            ("auth.store", serde_json::json!("memory")),
            ("auth.max_failed_logins_per_ip", serde_json::json!(0)),
            ("auth.max_signups_per_ip", serde_json::json!(-1)),
        ] {
            let err = AuthConfig::from_figment(&with("debug", key, value)).unwrap_err();
            assert_eq!(err.key, key);
        }
    }
}
