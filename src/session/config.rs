//! The `session.*` configuration keys, with defaults built in.
//!
//! Every key has a default in code, so the binary runs with no
//! `Rocket.toml` beside it; `Rocket.toml` and `ROCKET_SESSION='{..}'` only
//! override. The defaults follow the profile: the `release` profile gets
//! `secure = true` and the `__Host-gsid` cookie name, which browsers accept
//! only from HTTPS, with `Path=/` and no `Domain` (so no subdomain can set
//! or shadow it).

use std::path::PathBuf;
use std::time::Duration;

use rocket::figment::Figment;
use serde::Deserialize;

use super::limits::{Limits, MAX_PER_USER, REMEMBER_ABSOLUTE, REMEMBER_IDLE};

mod tables;
pub use tables::{env_keys, extract_table, ConfigError};

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
    /// `idle_timeout` for remembered sessions ("keep me signed in").
    pub remember_idle_timeout: Duration,
    /// `absolute_timeout` for remembered sessions.
    pub remember_absolute_timeout: Duration,
    /// The most live sessions one user holds; a login past that ends the
    /// user's least recently used session.
    pub max_sessions_per_user: u64,
    /// Where the memory store keeps its sessions across restarts; `None`
    /// (`snapshot_file = ""`) keeps nothing.
    pub snapshot_file: Option<PathBuf>,
    /// How often the memory store writes its snapshot, when something
    /// changed.
    pub snapshot_interval: Duration,
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
    remember_idle_timeout: Option<u64>,
    remember_absolute_timeout: Option<u64>,
    max_sessions_per_user: Option<u64>,
    snapshot_file: Option<PathBuf>,
    snapshot_interval: Option<u64>,
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: format!("session.{key}"),
        message: message.into(),
    }
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

        let remember_idle_timeout = seconds(
            "remember_idle_timeout",
            raw.remember_idle_timeout,
            REMEMBER_IDLE.as_secs(),
        )?;
        let remember_absolute_timeout = seconds(
            "remember_absolute_timeout",
            raw.remember_absolute_timeout,
            REMEMBER_ABSOLUTE.as_secs(),
        )?;
        let snapshot_interval = seconds("snapshot_interval", raw.snapshot_interval, 30)?;

        let max_sessions = raw.max_sessions.unwrap_or(100_000);
        if !(4..=1 << 40).contains(&max_sessions) {
            return Err(invalid("max_sessions", "must be between 4 and 2^40"));
        }
        let max_sessions_per_user = raw.max_sessions_per_user.unwrap_or(MAX_PER_USER);
        if !(1..=10_000).contains(&max_sessions_per_user) {
            return Err(invalid(
                "max_sessions_per_user",
                "must be between 1 and 10000",
            ));
        }
        let snapshot_file = raw
            .snapshot_file
            .unwrap_or_else(|| "data/sessions.snapshot".into());
        let snapshot_file = (!snapshot_file.as_os_str().is_empty()).then_some(snapshot_file);
        if snapshot_file.as_ref().is_some_and(|f| f.is_dir()) {
            return Err(invalid("snapshot_file", "must name a file, not a folder"));
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
            remember_idle_timeout,
            remember_absolute_timeout,
            max_sessions_per_user,
            snapshot_file,
            snapshot_interval,
        })
    }

    /// The timeouts and bounds the store keeps.
    ///
    /// # Examples
    /// ```
    /// use rocket::figment::Figment;
    /// use memsess::session::SessionConfig;
    ///
    /// let figment = Figment::from(rocket::Config::debug_default());
    /// let limits = SessionConfig::from_figment(&figment).unwrap().limits();
    /// assert_eq!(limits.max_sessions_per_user, 20);
    /// assert_eq!(limits.remember_idle.as_secs(), 7 * 24 * 3600);
    /// ```
    pub fn limits(&self) -> Limits {
        Limits {
            max_sessions: self.max_sessions,
            max_sessions_per_user: self.max_sessions_per_user,
            idle: self.idle_timeout,
            absolute: self.absolute_timeout,
            remember_idle: self.remember_idle_timeout,
            remember_absolute: self.remember_absolute_timeout,
        }
    }

    /// Settings that are valid but probably not what was meant, in words
    /// for the launch log: an idle timeout longer than its absolute
    /// timeout never applies, as the session ends first.
    ///
    /// # Examples
    /// ```
    /// use rocket::figment::Figment;
    /// use memsess::session::SessionConfig;
    ///
    /// let figment = Figment::from(rocket::Config::debug_default());
    /// let config = SessionConfig::from_figment(&figment).unwrap();
    /// assert!(config.warnings().is_empty());
    ///
    /// let figment = figment.merge(("session.idle_timeout", 100_000));
    /// let warnings = SessionConfig::from_figment(&figment).unwrap().warnings();
    /// assert!(warnings[0].starts_with("session.idle_timeout (100000 s) is longer than"));
    /// ```
    pub fn warnings(&self) -> Vec<String> {
        let pairs = [
            ("", self.idle_timeout, self.absolute_timeout),
            (
                "remember_",
                self.remember_idle_timeout,
                self.remember_absolute_timeout,
            ),
        ];
        pairs
            .into_iter()
            .filter(|(_, idle, absolute)| idle > absolute)
            .map(|(prefix, idle, absolute)| {
                format!(
                    "session.{prefix}idle_timeout ({} s) is longer than session.{prefix}absolute_timeout ({} s): such a session always ends at its absolute timeout, so the idle timeout never applies",
                    idle.as_secs(),
                    absolute.as_secs()
                )
            })
            .collect()
    }
}

/// A cookie name must be an RFC 6265 token, and browsers drop `__Host-`,
/// `__Secure-` and `__Http-` cookies (in any case) that lack `Secure`,
/// which would lose every session.
fn check_cookie_name(name: &str, secure: bool) -> Result<(), ConfigError> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || name.len() > 64 || !name.chars().all(token) {
        return Err(invalid(
            "cookie_name",
            "must be 1-64 letters, digits or !#$%&'*+-.^_`|~",
        ));
    }
    // Browsers match prefixes in any case (RFC 6265bis), and Chromium also
    // enforces `__Http-` (its `__Host-Http-` starts with `__Host-`).
    let prefixed = |prefix: &str| {
        name.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    if !secure
        && ["__Host-", "__Secure-", "__Http-"]
            .into_iter()
            .any(prefixed)
    {
        return Err(invalid(
            "cookie_name",
            "a __Host-, __Secure- or __Http- name (in any case) needs `session.secure = true`",
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
    fn debug_profile_defaults_are_the_documented_ones() {
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
                remember_idle_timeout: Duration::from_secs(604_800),
                remember_absolute_timeout: Duration::from_secs(2_592_000),
                max_sessions_per_user: 20,
                snapshot_file: Some("data/sessions.snapshot".into()),
                snapshot_interval: Duration::from_secs(30),
            }
        );
    }

    /// Chromium (156 here) matches cookie prefixes case-insensitively and
    /// knows `__Http-` and `__Host-Http-`; it drops any such cookie without
    /// `Secure`, so every session would be lost (tests/browser/cookies.rs).
    #[test]
    fn every_prefix_browsers_enforce_needs_secure_whatever_its_case() {
        for name in [
            "__host-gsid",
            "__HOST-gsid",
            "__secure-gsid",
            "__SECURE-gsid",
            "__Http-gsid",
            "__http-gsid",
            "__Host-Http-gsid",
        ] {
            assert_eq!(
                error_key(with("debug", "session.cookie_name", name)),
                "session.cookie_name",
                "{name} without secure"
            );
            let secure = with("debug", "session.cookie_name", name)
                .merge(Serialized::default("session.secure", true));
            assert!(
                SessionConfig::from_figment(&secure).is_ok(),
                "{name} with secure"
            );
        }
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
        let off = with("debug", "session.snapshot_file", "");
        assert_eq!(
            SessionConfig::from_figment(&off).unwrap().snapshot_file,
            None
        );
        for key in [
            "session.remember_idle_timeout",
            "session.remember_absolute_timeout",
            "session.max_sessions_per_user",
            "session.snapshot_interval",
        ] {
            assert_eq!(error_key(with("debug", key, 0)), key);
        }
        assert_eq!(
            error_key(with("debug", "session.snapshot_file", 3)),
            "session.snapshot_file"
        );
    }
}
