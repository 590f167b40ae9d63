//! A short label for the browser a user logs in with, such as "Firefox on
//! Linux", so the account page can tell their sessions apart.
//!
//! Read once, at login, from the `User-Agent` with woothee (a maintained
//! parser with its dataset compiled in), and stored with the session as a
//! label of at most [`MAX_LEN`] characters, never the raw header: a
//! client can send anything there, and the store keeps it for every
//! session.

use std::convert::Infallible;

use rocket::request::{FromRequest, Outcome, Request};
use woothee::parser::Parser;

/// The longest label kept.
pub const MAX_LEN: usize = 48;

/// The browser and OS of the request, as a short label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLabel(pub String);

/// "Firefox on Linux", "Chrome on Android", "HTTP Library" (curl and
/// friends, as woothee names them), or "Unknown browser".
///
/// # Examples
/// ```
/// use memsess::auth::client_label::label_of;
///
/// let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
/// assert_eq!(label_of(Some(firefox)), "Firefox on Linux");
/// assert_eq!(label_of(Some("curl/8.5.0")), "HTTP Library");
/// assert_eq!(label_of(None), "Unknown browser");
/// ```
pub fn label_of(user_agent: Option<&str>) -> String {
    let known = |s: &str| !s.is_empty() && s != "UNKNOWN";
    let parsed = user_agent.and_then(|ua| Parser::new().parse(ua));
    let label = match parsed {
        Some(r) if known(r.name) && known(r.os) => format!("{} on {}", r.name, r.os),
        Some(r) if known(r.name) => r.name.to_owned(),
        Some(r) if known(r.os) => format!("A browser on {}", r.os),
        _ => "Unknown browser".to_owned(),
    };
    // Whatever the parser found, the label stays short and printable.
    label
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_LEN)
        .collect()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientLabel {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        Outcome::Success(ClientLabel(label_of(req.headers().get_one("User-Agent"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_read_as_browser_on_os() {
        for (ua, label) in [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on Windows 10",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
        ] {
            assert_eq!(label_of(Some(ua)), label, "{ua}");
        }
    }

    #[test]
    fn anything_else_gives_a_short_printable_label() {
        assert_eq!(label_of(Some("")), "Unknown browser");
        let odd = format!("{}\u{7}\n", "x".repeat(5000));
        let label = label_of(Some(&odd));
        assert!(
            label.chars().count() <= MAX_LEN && !label.contains('\n'),
            "{label}"
        );
    }
}
