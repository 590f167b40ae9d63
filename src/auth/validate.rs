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
pub fn password_problem(password: &str) -> Option<&'static str> {
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
