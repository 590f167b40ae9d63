//! The rules for usernames, passwords and where to go after login.

/// A username as people type it, folded to the stored form: trimmed and
/// lower-case, so "Alice" and "alice" are one account.
pub fn fold_username(input: &str) -> String {
    input.trim().to_ascii_lowercase()
}

/// What is wrong with a (folded) username, if anything.
pub fn username_problem(name: &str) -> Option<&'static str> {
    if name.len() < 3 || name.len() > 32 {
        Some("Usernames are 3 to 32 characters long.")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        Some("Usernames use only letters a–z, digits, '_' and '-'.")
    } else {
        None
    }
}

/// What is wrong with a new password, if anything. Length counts
/// characters, not bytes, so every script gets the same allowance.
///
/// Any printable character is allowed, but no control characters (a
/// password field cannot type them, so one is a client's mistake or a
/// probe) and no U+FFFD: a form decodes bytes that are not UTF-8 to it,
/// so two passwords that differ only in such bytes would be one.
pub fn password_problem(password: &str) -> Option<&'static str> {
    if password
        .chars()
        .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
    {
        return Some("Passwords cannot hold control characters or bytes that are not text.");
    }
    match password.chars().count() {
        0..=7 => Some("Passwords are at least 8 characters long."),
        8..=128 => None,
        _ => Some("Passwords are at most 128 characters long."),
    }
}

/// `next` if it is a path on this site, else `None`.
///
/// Refuses anything a browser could take to another host: `//host`,
/// `/\host` (browsers read `\` as `/`), schemes, and control characters.
pub fn local_path(next: &str) -> Option<&str> {
    let mut bytes = next.bytes();
    let local = bytes.next() == Some(b'/')
        && !matches!(bytes.next(), Some(b'/' | b'\\'))
        && !next.bytes().any(|b| b.is_ascii_control() || b == b'\\')
        && next.len() <= 2048;
    local.then_some(next)
}

/// Characters a path and query may hold as they are (RFC 3986 `pchar`,
/// `/` and `?`); anything else must arrive percent-encoded.
fn uri_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b)
}

/// Whether every `%` starts a two-hex-digit escape.
fn escapes_well_formed(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

/// Where to go after login: `next` if it is a local path (see
/// [`local_path`]) that makes a valid redirect, else `None`.
///
/// Checked with our strict rules and then parsed by Rocket's own URI
/// parser, so the redirect Rocket builds from it cannot fail: `/café`, a
/// space, `"`, `<`, `{`, `|` or U+2028 all give `None`, never an error page.
///
/// # Examples
/// ```
/// use memsess::auth::validate::local_redirect;
///
/// assert_eq!(local_redirect("/cart?x=1").unwrap().to_string(), "/cart?x=1");
/// assert_eq!(local_redirect("/caf%C3%A9").unwrap().to_string(), "/caf%C3%A9");
/// for bad in ["/café", "/a b", "/a\"b", "/<", "/{", "/|", "/\u{2028}", "//evil.example", "/%zz"] {
///     assert!(local_redirect(bad).is_none(), "{bad}");
/// }
/// ```
pub fn local_redirect(next: &str) -> Option<rocket::http::uri::Origin<'static>> {
    let next = local_path(next)?;
    if !next.bytes().all(uri_safe) || !escapes_well_formed(next) {
        return None;
    }
    rocket::http::uri::Origin::parse_owned(next.to_owned()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules_ignoring_case() {
        assert_eq!(fold_username("  Alice "), "alice");
        for good in ["abc", "a_b-c9", &"x".repeat(32)] {
            assert_eq!(username_problem(good), None, "{good}");
        }
        for bad in ["ab", &"x".repeat(33), "with space", "ünï", "dot.ted", ""] {
            assert!(username_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(password_problem("1234567").is_some());
        assert_eq!(password_problem("12345678"), None);
        assert_eq!(password_problem(&"é".repeat(128)), None);
        assert_eq!(password_problem("with spaces and ✓ marks"), None);
        for bad in [
            "nul\0in-the-middle",
            "tab\tin-the-middle",
            "lost\u{FFFD}bytes-here",
        ] {
            assert!(password_problem(bad).is_some(), "{bad:?}");
        }
        assert!(password_problem(&"é".repeat(129)).is_some());
    }

    #[test]
    fn only_local_paths_are_followed() {
        for good in ["/", "/cart", "/account?x=1", "/products/rocket-mug"] {
            assert_eq!(local_path(good), Some(good));
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/\t/evil.example",
            "/a\\b",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
