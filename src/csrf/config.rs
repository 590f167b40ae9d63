//! The `csrf.*` configuration keys: `csrf.trusted_origins`.
//!
//! The origin check lets a POST through when its `Origin` names the host
//! the request was sent to. Behind a reverse proxy that rewrites `Host`
//! (nginx sends `Host: 127.0.0.1:8000` by default, while the browser's
//! `Origin` is `https://shop.example`) that is never so, and every form
//! would be refused. `trusted_origins` lists the origins that POSTs may
//! come from besides the request's own host, as Django's
//! `CSRF_TRUSTED_ORIGINS` does. It widens the origin check only: the
//! token is still required and `Sec-Fetch-Site: cross-site` still refused.
//!
//! Each entry must be an origin, `scheme://host[:port]`: scheme `http` or
//! `https`, a host, an optional port, and nothing else (no user, path,
//! query or fragment; a lone trailing `/` is allowed, as it names the
//! same origin). Entries are stored the way browsers write `Origin`
//! (the WHATWG serialisation), so that the check is a plain comparison:
//! scheme and host lower-cased, an international host in punycode, and
//! the scheme's default port dropped (`https://shop.example:443` is
//! `https://shop.example`, which is what a browser sends for it). There
//! are no wildcards: each origin is listed.

use rocket::figment::Figment;
use serde::Deserialize;
use url::Url;

use crate::session::config::{extract_table, ConfigError};

/// Resolved CSRF settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsrfConfig {
    /// Origins trusted besides the request's own host, as browsers write
    /// them in `Origin`.
    pub trusted_origins: Vec<String>,
}

/// The keys as written in `Rocket.toml`; unset ones take defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    trusted_origins: Option<Vec<String>>,
}

const KEY: &str = "csrf.trusted_origins";

/// `value` as a browser would send it in `Origin`, or why it is not an
/// origin.
fn origin(value: &str) -> Result<String, String> {
    const EXAMPLE: &str = "an origin such as \"https://shop.example\"";
    let url = Url::parse(value).map_err(|e| format!("{value:?} is not {EXAMPLE}: {e}"))?;
    let problem = if !matches!(url.scheme(), "http" | "https") {
        Some("its scheme must be https or http")
    } else if !url.username().is_empty() || url.password().is_some() {
        Some("it must not carry a user name or password")
    } else if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        Some("it must not have a path, query or fragment")
    } else if url.host_str().is_none_or(|host| host.contains('*')) {
        Some("it must name one host (there are no wildcards: list each origin)")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(format!("{value:?} is not {EXAMPLE}: {problem}")),
        None => Ok(url.origin().ascii_serialization()),
    }
}

impl CsrfConfig {
    /// Reads and checks the `csrf` table.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `csrf.trusted_origins` (or an unknown key).
    ///
    /// # Examples
    /// ```
    /// use rocket::figment::{providers::Serialized, Figment};
    /// use memsess::csrf::CsrfConfig;
    ///
    /// let figment = Figment::from(Serialized::default(
    ///     "csrf.trusted_origins",
    ///     ["HTTPS://Shop.Example:443"],
    /// ));
    /// let config = CsrfConfig::from_figment(&figment).unwrap();
    /// assert_eq!(config.trusted_origins, ["https://shop.example"]);
    /// assert!(config.trusts("https://shop.example"));
    ///
    /// let bad = Figment::from(Serialized::default("csrf.trusted_origins", ["shop.example"]));
    /// assert_eq!(CsrfConfig::from_figment(&bad).unwrap_err().key, "csrf.trusted_origins");
    /// ```
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let raw: Raw = extract_table(figment, "csrf")?;
        let trusted_origins = raw
            .trusted_origins
            .unwrap_or_default()
            .iter()
            .map(|value| origin(value))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| ConfigError {
                key: KEY.to_owned(),
                message,
            })?;
        Ok(CsrfConfig { trusted_origins })
    }

    /// Whether `origin`, an `Origin` header's value, is one of the trusted
    /// origins. Browsers write it the way the list is stored, so anything
    /// else is not trusted.
    pub fn trusts(&self, origin: &str) -> bool {
        self.trusted_origins.iter().any(|trusted| trusted == origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::figment::providers::Serialized;

    fn with(value: impl serde::Serialize) -> Result<CsrfConfig, ConfigError> {
        CsrfConfig::from_figment(&Figment::from(Serialized::default(KEY, value)))
    }

    #[test]
    fn the_default_trusts_no_other_origin() {
        let config = CsrfConfig::from_figment(&Figment::new()).unwrap();
        assert!(config.trusted_origins.is_empty());
        assert!(!config.trusts("https://shop.example"));
    }

    #[test]
    fn origins_are_stored_as_browsers_send_them() {
        for (written, stored) in [
            ("https://shop.example", "https://shop.example"),
            ("HTTPS://Shop.EXAMPLE", "https://shop.example"),
            ("https://shop.example/", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://shop.example:80", "http://shop.example"),
            ("https://shop.example:8443", "https://shop.example:8443"),
            ("http://shop.example:443", "http://shop.example:443"),
            ("https://bücher.example", "https://xn--bcher-kva.example"),
            ("http://[::1]:8000", "http://[::1]:8000"),
            ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ] {
            assert_eq!(
                with([written]).unwrap().trusted_origins,
                [stored],
                "{written}"
            );
        }
    }

    #[test]
    fn anything_but_an_origin_is_refused_naming_the_key() {
        for bad in [
            "",
            "shop.example",
            "null",
            "ftp://shop.example",
            "https://",
            "https://user@shop.example",
            "https://user:pw@shop.example",
            "https://shop.example/shop",
            "https://shop.example?x=1",
            "https://shop.example/#top",
            "https://*.shop.example",
        ] {
            let error = with([bad]).unwrap_err();
            assert_eq!(error.key, KEY, "{bad:?}");
            assert!(
                error.message.contains("is not an origin"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn a_value_of_the_wrong_shape_names_the_key() {
        assert_eq!(with("https://shop.example").unwrap_err().key, KEY);
        assert_eq!(with([1, 2]).unwrap_err().key, KEY);
        let typo = Figment::from(Serialized::default(
            "csrf.trusted_origin",
            ["https://a.example"],
        ));
        assert_eq!(
            CsrfConfig::from_figment(&typo).unwrap_err().key,
            "csrf.trusted_origin"
        );
    }

    #[test]
    fn only_listed_origins_are_trusted_exactly() {
        let config = with(["https://shop.example", "https://admin.shop.example:8443"]).unwrap();
        assert!(config.trusts("https://shop.example"));
        assert!(config.trusts("https://admin.shop.example:8443"));
        for other in [
            "http://shop.example",
            "https://shop.example:8443",
            "https://evil.example",
            "https://shop.example.evil.example",
            "https://admin.shop.example",
            "null",
            "",
        ] {
            assert!(!config.trusts(other), "{other}");
        }
    }
}
