//! The session cookie's `Set-Cookie` lines, written once per response
//! from parts made at launch.
//!
//! The cookie is always the same but for its value (an id: base64url, no
//! escaping) and, when remembered, its `Max-Age`: `HttpOnly`,
//! `SameSite=Lax`, `Path=/`, no `Domain`, `Secure` when configured, and
//! no `Max-Age` or `Expires` otherwise (it ends with the browser; the
//! server ends it sooner). The removal line is fixed, so it is made once
//! and lent to every response that needs it. The `cookie` crate's
//! builder and `Display` would write the same attributes, for ~2,000
//! instructions and five allocations a line, its removal with an
//! `Expires` a year before now: that cost was a fifth of what a session
//! adds to a request. The tests below hold these lines to the crate's.

use std::fmt::Write as _;

use super::config::SessionConfig;
use super::id::{SessionId, ID_LEN};

/// The parts of the session cookie's lines, from the configuration.
pub(crate) struct CookieLines {
    /// `name=`
    name: String,
    /// `; HttpOnly; SameSite=Lax[; Secure]; Path=/`
    attributes: String,
    /// The whole line that removes the cookie.
    removal: String,
}

impl CookieLines {
    pub(crate) fn new(config: &SessionConfig) -> Self {
        // A checked name (an RFC 6265 token), so it needs no quoting.
        let name = format!("{}=", config.cookie_name);
        let secure = if config.secure { "; Secure" } else { "" };
        let attributes = format!("; HttpOnly; SameSite=Lax{secure}; Path=/");
        // An expiry in the past too, for browsers that predate `Max-Age`.
        let removal =
            format!("{name}{attributes}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        CookieLines {
            name,
            attributes,
            removal,
        }
    }

    /// The line that gives the client `id`; a remembered cookie keeps it
    /// for `max_age_secs`.
    pub(crate) fn set(&self, id: SessionId, max_age_secs: Option<u64>) -> String {
        let mut line = String::with_capacity(self.name.len() + ID_LEN + self.attributes.len() + 30);
        line.push_str(&self.name);
        // Writing to a String cannot fail.
        let _ = write!(line, "{id}");
        line.push_str(&self.attributes);
        if let Some(secs) = max_age_secs {
            let _ = write!(line, "; Max-Age={secs}");
        }
        line
    }

    /// The line that removes the cookie.
    pub(crate) fn removal(&self) -> &str {
        &self.removal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::http::{Cookie, SameSite};

    fn config(name: &str, secure: bool) -> SessionConfig {
        let figment = rocket::Config::figment()
            .merge(("session.cookie_name", name))
            .merge(("session.secure", secure));
        SessionConfig::from_figment(&figment).unwrap()
    }

    /// What the `cookie` crate makes of the same cookie, built as the
    /// module's docs describe it.
    fn by_the_crate(config: &SessionConfig, value: String) -> Cookie<'static> {
        Cookie::build((config.cookie_name.clone(), value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(config.secure)
            .build()
    }

    /// The attributes a browser acts on, read back from a line.
    #[derive(Debug, PartialEq)]
    struct Seen {
        name: String,
        value: String,
        http_only: Option<bool>,
        same_site: Option<SameSite>,
        secure: Option<bool>,
        path: Option<String>,
        domain: Option<String>,
        max_age: Option<i64>,
        expired: bool,
    }

    fn parsed(line: &str) -> Seen {
        let c = Cookie::parse(line.to_owned()).unwrap();
        let now = rocket::time::OffsetDateTime::now_utc();
        Seen {
            name: c.name().to_owned(),
            value: c.value().to_owned(),
            http_only: c.http_only(),
            same_site: c.same_site(),
            secure: c.secure(),
            path: c.path().map(str::to_owned),
            domain: c.domain().map(str::to_owned),
            max_age: c.max_age().map(|d| d.whole_seconds()),
            expired: c.expires_datetime().is_some_and(|t| t < now),
        }
    }

    #[test]
    fn lines_say_what_the_cookie_crate_would() {
        for (name, secure) in [
            ("gsid", false),
            ("__Host-gsid", true),
            ("a!#$%&'*+-.^_`|~z", false),
        ] {
            let config = config(name, secure);
            let lines = CookieLines::new(&config);
            let id = SessionId::generate();

            let ordinary = by_the_crate(&config, id.to_string());
            assert_eq!(
                parsed(&lines.set(id, None)),
                parsed(&ordinary.to_string()),
                "{name}"
            );

            let mut remembered = by_the_crate(&config, id.to_string());
            remembered.set_max_age(rocket::time::Duration::seconds(2_592_000));
            assert_eq!(
                parsed(&lines.set(id, Some(2_592_000))),
                parsed(&remembered.to_string())
            );

            let mut removal = by_the_crate(&config, String::new());
            removal.make_removal();
            assert_eq!(parsed(lines.removal()), parsed(&removal.to_string()));
            assert!(
                parsed(lines.removal()).expired,
                "the removal's expiry is in the past"
            );
        }
    }

    #[test]
    fn a_line_names_no_domain_and_no_expiry_unless_remembered_or_removed() {
        let lines = CookieLines::new(&config("gsid", true));
        let line = lines.set(SessionId::generate(), None);
        assert!(line.starts_with("gsid="));
        assert!(!line.contains("Domain") && !line.contains("Max-Age") && !line.contains("Expires"));
        assert!(lines
            .set(SessionId::generate(), Some(60))
            .ends_with("; Max-Age=60"));
    }
}
