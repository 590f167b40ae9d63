//! Reading a table of settings from Rocket's figment, for any app table
//! (`session`, and the app's own `auth` and `csrf`): errors that name the
//! full key, and one environment variable per key.

use std::fmt;

use rocket::figment::Figment;

/// A configuration value the app cannot run with, and which key it is.
///
/// # Examples
/// ```
/// use rocket::figment::{providers::Serialized, Figment};
/// use memsess::session::{config::ConfigError, SessionConfig};
///
/// let figment = Figment::from(rocket::Config::debug_default())
///     .merge(Serialized::default("session.store", "memcache://localhost"));
/// let error: ConfigError = SessionConfig::from_figment(&figment).unwrap_err();
/// assert_eq!(error.key, "session.store");
/// assert!(error.to_string().starts_with("invalid configuration `session.store`: "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The full key, such as `session.idle_timeout`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The `table` of a figment (all defaults if it is absent), with errors
/// that name the full key, such as `session.idle_timeout`.
///
/// # Errors
/// A [`ConfigError`] for a value of the wrong type or an unknown key.
///
/// # Examples
/// ```
/// use rocket::figment::{Figment, providers::Serialized};
/// use memsess::session::config::extract_table;
///
/// #[derive(Debug, Default, serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Shop { name: Option<String> }
///
/// let figment = Figment::from(Serialized::default("shop.nmae", "typo"));
/// assert_eq!(extract_table::<Shop>(&figment, "shop").unwrap_err().key, "shop.nmae");
/// assert!(extract_table::<Shop>(&Figment::new(), "shop").unwrap().name.is_none());
/// ```
pub fn extract_table<T: Default + serde::de::DeserializeOwned>(
    figment: &Figment,
    table: &str,
) -> Result<T, ConfigError> {
    if figment.find_value(table).is_err() {
        return Ok(T::default());
    }
    figment.extract_inner(table).map_err(|e| {
        // figment lists the path innermost first: ["idle_timeout", "session"].
        let key = e.path.first().filter(|k| *k != table);
        // Rocket's own messages name the key; keep just what went wrong.
        ConfigError {
            key: key.map_or_else(|| table.to_owned(), |k| format!("{table}.{k}")),
            message: e.kind.to_string(),
        }
    })
}

/// One key of a table per environment variable:
/// `ROCKET_SESSION_IDLE_TIMEOUT=5` is `session.idle_timeout = 5`. Rocket's
/// own variables take whole tables only (`ROCKET_SESSION='{idle_timeout=5}'`),
/// so merge this over your figment to allow both.
///
/// # Examples
/// ```
/// use memsess::session::{config::env_keys, SessionConfig};
///
/// std::env::set_var("ROCKET_SESSION_IDLE_TIMEOUT", "5");
/// let figment = rocket::Config::figment().merge(env_keys("session"));
/// assert_eq!(SessionConfig::from_figment(&figment).unwrap().idle_timeout.as_secs(), 5);
/// ```
pub fn env_keys(table: &'static str) -> rocket::figment::providers::Env {
    rocket::figment::providers::Env::prefixed(&format!("ROCKET_{}_", table.to_ascii_uppercase()))
        .map(move |key| format!("{table}.{key}").into())
        .global()
}
