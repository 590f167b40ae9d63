//! The `session.*` configuration keys, with defaults built in.
//!
//! Every key has a default in code, so the binary runs with no
//! `Rocket.toml` beside it; `Rocket.toml` and `ROCKET_SESSION='{..}'` only
//! override. The defaults follow the profile: the `release` profile gets
//! `secure = true` and the `__Host-gsid` cookie name, which browsers accept
//! only from HTTPS, with `Path=/` and no `Domain` (so no subdomain can set
//! or shadow it).

use std::fmt;
use std::time::Duration;

use rocket::figment::Figment;
use serde::Deserialize;

/// Resolved session settings.
///
/// Made by [`from_figment`](Self::from_figment); the fairing keeps them in
/// [`Sessions`](super::Sessions).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use rocket::figment::Figment;
/// use memsess::session::SessionConfig;
///
/// // With no `session` keys set, the release profile gets safe defaults.
/// let figment = Figment::from(rocket::Config::release_default());
/// let config = SessionConfig::from_figment(&figment).unwrap();
/// assert!(config.secure);
/// assert_eq!(config.cookie_name, "__Host-gsid");
/// assert_eq!(config.idle_timeout, Duration::from_secs(1800));
/// assert_eq!(config.store, "memory");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The cookie that carries the session id.
    pub cookie_name: String,
    /// A session not loaded for this long is gone.
    pub idle_timeout: Duration,
    /// A session is gone this long after it began, however busy.
    pub absolute_timeout: Duration,
    /// The most live sessions the store keeps.
    pub max_sessions: u64,
    /// Whether the cookie carries `Secure`.
    pub secure: bool,
    /// `"memory"`, or the URL of a shared store.
    pub store: String,
}

/// The keys as written in `Rocket.toml`; unset ones take defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    cookie_name: Option<String>,
    idle_timeout: Option<u64>,
    absolute_timeout: Option<u64>,
    max_sessions: Option<u64>,
    secure: Option<bool>,
    store: Option<String>,
}

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

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: format!("session.{key}"),
        message: message.into(),
    }
}

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

/// Ten years: no timeout or bound needs more, and smaller numbers keep
/// every deadline far from overflow.
const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

impl SessionConfig {
    /// Reads the `session` table of a Rocket figment and checks every key.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first key that is missing its type, out
    /// of range, or unknown.
    ///
    /// # Examples
    /// ```
    /// use rocket::figment::{Figment, providers::Serialized};
    /// use memsess::session::SessionConfig;
    ///
    /// let figment = Figment::from(rocket::Config::debug_default())
    ///     .merge(Serialized::default("session.idle_timeout", 60));
    /// let config = SessionConfig::from_figment(&figment).unwrap();
    /// assert_eq!(config.idle_timeout.as_secs(), 60);
    /// assert_eq!(config.cookie_name, "gsid");
    ///
    /// let bad = figment.merge(Serialized::default("session.idle_timeout", 0));
    /// assert_eq!(SessionConfig::from_figment(&bad).unwrap_err().key, "session.idle_timeout");
    /// ```
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let raw: Raw = extract_table(figment, "session")?;
        let release = figment.profile() == rocket::Config::RELEASE_PROFILE;
        let secure = raw.secure.unwrap_or(release);
        let cookie_name = raw
            .cookie_name
            .unwrap_or_else(|| if secure { "__Host-gsid" } else { "gsid" }.into());
        check_cookie_name(&cookie_name, secure)?;

        let seconds = |key: &str, value: Option<u64>, default: u64| match value.unwrap_or(default) {
            0 => Err(invalid(key, "must be at least 1 second")),
            n if n > MAX_SECONDS => Err(invalid(
                key,
                format!("must be at most {MAX_SECONDS} seconds"),
            )),
            n => Ok(Duration::from_secs(n)),
        };
        let idle_timeout = seconds("idle_timeout", raw.idle_timeout, 1800)?;
        let absolute_timeout = seconds("absolute_timeout", raw.absolute_timeout, 43200)?;

        let max_sessions = raw.max_sessions.unwrap_or(100_000);
        if !(2..=1 << 40).contains(&max_sessions) {
            return Err(invalid("max_sessions", "must be between 2 and 2^40"));
        }

        let store = raw.store.unwrap_or_else(|| "memory".into());
        if store != "memory" && !store.starts_with("redis://") {
            return Err(invalid(
                "store",
                format!("{store:?} is neither \"memory\" nor a redis:// URL"),
            ));
        }

        Ok(SessionConfig {
            cookie_name,
            idle_timeout,
            absolute_timeout,
            max_sessions,
            secure,
            store,
        })
    }
}

/// A cookie name must be an RFC 6265 token, and browsers drop `__Host-` and
/// `__Secure-` cookies that lack `Secure`, which would lose every session.
fn check_cookie_name(name: &str, secure: bool) -> Result<(), ConfigError> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || name.len() > 64 || !name.chars().all(token) {
        return Err(invalid(
            "cookie_name",
            "must be 1-64 letters, digits or !#$%&'*+-.^_`|~",
        ));
    }
    if !secure && (name.starts_with("__Host-") || name.starts_with("__Secure-")) {
        return Err(invalid(
            "cookie_name",
            "a __Host- or __Secure- name needs `session.secure = true`",
        ));
    }
    Ok(())
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

    fn error_key(figment: Figment) -> String {
        SessionConfig::from_figment(&figment).unwrap_err().key
    }

    #[test]
    fn release_profile_defaults_to_a_secure_host_cookie() {
        let config = SessionConfig::from_figment(&with("release", "x", 1)).unwrap();
        assert!(config.secure);
        assert_eq!(config.cookie_name, "__Host-gsid");
    }

    #[test]
    fn debug_profile_defaults_match_the_spec() {
        let config = SessionConfig::from_figment(&with("debug", "x", 1)).unwrap();
        assert_eq!(
            config,
            SessionConfig {
                cookie_name: "gsid".into(),
                idle_timeout: Duration::from_secs(1800),
                absolute_timeout: Duration::from_secs(43200),
                max_sessions: 100_000,
                secure: false,
                store: "memory".into(),
            }
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        assert_eq!(
            error_key(with("debug", "session.idle_timeout", 0)),
            "session.idle_timeout"
        );
        assert_eq!(
            error_key(with("debug", "session.idle_timeout", "soon")),
            "session.idle_timeout"
        );
        assert_eq!(
            error_key(with("debug", "session.absolute_timeout", -1)),
            "session.absolute_timeout"
        );
        assert_eq!(
            error_key(with("debug", "session.max_sessions", 0)),
            "session.max_sessions"
        );
        assert_eq!(
            error_key(with("debug", "session.cookie_name", "a b")),
            "session.cookie_name"
        );
        assert_eq!(
            error_key(with("debug", "session.cookie_name", "__Host-x")),
            "session.cookie_name"
        );
        assert_eq!(
            error_key(with("debug", "session.store", "memcache://x")),
            "session.store"
        );
        assert_eq!(
            error_key(with("debug", "session.secure", "maybe")),
            "session.secure"
        );
        assert_eq!(
            error_key(with("debug", "session.idle_timeot", 5)),
            "session.idle_timeot"
        );
    }
}
