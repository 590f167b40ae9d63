//! Device cookies, after OWASP's "Slow down online guessing attacks with
//! device cookies": a stranger's guesses never lock the owner out.
//!
//! A successful login or signup leaves the browser a cookie naming the
//! username, a random nonce and the time, signed with HMAC-SHA256 under a
//! 256-bit key the account store keeps (so every instance that shares the
//! store accepts it). The signature also covers the account's password
//! stamp ([`super::stamp`]), which the cookie does not carry: a cookie
//! checks only against the password it was issued under. It proves only
//! "this browser logged in as this user before"; it never logs anyone
//! in. What it changes is which counter a
//! login attempt for that username is counted on: the device's own
//! (keyed by its nonce), instead of the username's that strangers fill.
//! So while strangers have the username locked, its owner's browser can
//! still log in, and a stolen device cookie is limited just the same.
//!
//! A cookie is refused if its signature is wrong, it names another user,
//! it is older than a year, or the password has changed since it was
//! issued. So after a password change (what a user does when someone else
//! learned the password), the browsers that logged in with the old one no
//! longer count on counters of their own: each would otherwise give its
//! holder another round of guesses while the username is locked. A
//! deleted and re-made name has a new hash too, so it does not trust its
//! old holder's browsers. Each successful login, and the password change,
//! replaces the cookie with a fresh nonce.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, without `Domain`,
//! with a `Max-Age` of a year, kept at logout and removed when the account
//! is deleted; with `session.secure` it is `Secure` and named
//! `__Host-gdev`, else `gdev`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::TryRngCore as _;
use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::time::Duration as CookieDuration;
use sha2::Sha256;

use super::stamp;
use super::store::Account;
use crate::session::store::now_ms;

/// How long a device cookie is trusted: a year.
const MAX_AGE_SECS: u64 = 365 * 24 * 3600;
/// The format's version, first in the value (v1 cookies were signed
/// without the password's stamp).
const VERSION: &str = "v2";

/// A verified device cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its random nonce, which keys the device's failure counter.
    pub nonce: String,
    /// When it was issued, in seconds since the Unix epoch.
    pub issued_secs: u64,
}

/// The cookie's name: `__Host-gdev` when cookies are `Secure`.
///
/// # Examples
/// ```
/// use memsess::auth::device::cookie_name;
/// assert_eq!(cookie_name(true), "__Host-gdev");
/// assert_eq!(cookie_name(false), "gdev");
/// ```
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-gdev"
    } else {
        "gdev"
    }
}

/// The MAC of a cookie's `payload` under the password whose stamp is
/// `password_stamp`.
fn mac(key: &[u8; 32], payload: &str, password_stamp: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    // The payload holds no `/`, so no other payload and stamp sign alike.
    mac.update(b"/");
    mac.update(password_stamp.as_bytes());
    mac
}

/// The cookie value for `username`, issued at `issued_secs` under the
/// password whose stamp is `password_stamp`:
/// `v2.<username>.<nonce>.<issued>.<mac>`. Usernames never hold a `.`.
///
/// # Panics
/// If the operating system's random number generator fails.
pub fn sign(key: &[u8; 32], username: &str, password_stamp: &str, issued_secs: u64) -> String {
    let mut nonce = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut nonce)
        .expect("the OS random number generator failed");
    let payload = format!(
        "{VERSION}.{username}.{}.{issued_secs}",
        URL_SAFE_NO_PAD.encode(nonce)
    );
    let tag = URL_SAFE_NO_PAD.encode(mac(key, &payload, password_stamp).finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// The device `value` stands for, if it is a cookie this key signed for
/// `username` under the password whose stamp is `password_stamp`, at most
/// a year old at `now_secs`.
///
/// # Examples
/// ```
/// use memsess::auth::device::{sign, verify};
///
/// let key = [7u8; 32];
/// let cookie = sign(&key, "alice", "stamp-1", 1_000);
/// assert!(verify(&key, &cookie, "alice", "stamp-1", 2_000).is_some());
/// assert!(verify(&key, &cookie, "bob", "stamp-1", 2_000).is_none());   // another user's
/// assert!(verify(&key, &cookie, "alice", "stamp-2", 2_000).is_none()); // another password
/// assert!(verify(&[8u8; 32], &cookie, "alice", "stamp-1", 2_000).is_none()); // another key
/// let forged = cookie.replacen("alice", "bob", 1);
/// assert!(verify(&key, &forged, "bob", "stamp-1", 2_000).is_none());
/// ```
pub fn verify(
    key: &[u8; 32],
    value: &str,
    username: &str,
    password_stamp: &str,
    now_secs: u64,
) -> Option<Device> {
    let (payload, tag) = value.rsplit_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    // Constant-time comparison, inside `verify_slice`.
    mac(key, payload, password_stamp).verify_slice(&tag).ok()?;
    let mut parts = payload.split('.');
    let (version, name, nonce, issued) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let issued_secs: u64 = issued.parse().ok()?;
    let fresh = issued_secs <= now_secs.saturating_add(60)
        && now_secs.saturating_sub(issued_secs) <= MAX_AGE_SECS;
    (version == VERSION && name == username && parts.next().is_none() && fresh).then(|| Device {
        nonce: nonce.to_owned(),
        issued_secs,
    })
}

/// The browser's valid device cookie for `username`, if it has one and it
/// was issued under `account`'s current password.
pub fn read(
    jar: &CookieJar<'_>,
    secure: bool,
    key: &[u8; 32],
    username: &str,
    account: Option<&Account>,
) -> Option<Device> {
    let cookie = jar.get(cookie_name(secure))?;
    let password_stamp = stamp(&account?.password_hash);
    verify(
        key,
        cookie.value(),
        username,
        &password_stamp,
        now_ms() / 1000,
    )
}

/// The cookie with its attributes, holding `value`.
fn cookie(secure: bool, value: String) -> Cookie<'static> {
    Cookie::build((cookie_name(secure), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// Gives the browser a new device cookie for `username`, whose password
/// hash is now `password_hash`.
pub fn issue(
    jar: &CookieJar<'_>,
    secure: bool,
    key: &[u8; 32],
    username: &str,
    password_hash: &str,
) {
    let value = sign(key, username, &stamp(password_hash), now_ms() / 1000);
    let mut cookie = cookie(secure, value);
    cookie.set_max_age(CookieDuration::seconds(MAX_AGE_SECS as i64));
    jar.add(cookie);
}

/// Tells the browser to drop its device cookie (the account is gone). The
/// removal carries the cookie's own attributes: browsers ignore a removal
/// of a `__Host-` cookie without `Secure`.
pub fn forget(jar: &CookieJar<'_>, secure: bool) {
    jar.remove(cookie(secure, String::new()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_future_and_mangled_cookies_are_refused() {
        let key = [1u8; 32];
        let now = 100 * MAX_AGE_SECS;
        assert!(verify(
            &key,
            &sign(&key, "carol", "s", now - MAX_AGE_SECS - 1),
            "carol",
            "s",
            now
        )
        .is_none());
        assert!(verify(
            &key,
            &sign(&key, "carol", "s", now + 3600),
            "carol",
            "s",
            now
        )
        .is_none());
        let good = sign(&key, "carol", "s", now);
        for bad in [
            "",
            ".",
            "v1.carol",
            &good[..good.len() - 2],
            &format!("x{good}"),
        ] {
            assert!(verify(&key, bad, "carol", "s", now).is_none(), "{bad}");
        }
        let nonce_a = verify(&key, &good, "carol", "s", now).unwrap().nonce;
        let nonce_b = verify(&key, &sign(&key, "carol", "s", now), "carol", "s", now)
            .unwrap()
            .nonce;
        assert_ne!(nonce_a, nonce_b, "each cookie has its own nonce");
    }
}
