//! Counted password checks: the one path by which login, password change
//! and account deletion check a password, so each is limited alike.
//!
//! An attempt is counted *before* its hash is checked, on two counters at
//! once, all or nothing ([`AccountStore::hit`](super::store::AccountStore::hit)):
//! - the username's (`auth.max_failed_logins` within `auth.lockout_seconds`),
//!   or, for a login from a browser holding a valid device cookie for that
//!   username, that device's own counter with the same limit (see
//!   [`super::device`]; the password change and deletion forms always
//!   count on the username);
//! - the client address's (`auth.max_failed_logins_per_ip`, same window).
//!
//! If either is at its limit the attempt gets 429 with `Retry-After` and
//! nothing is counted, looked up further or hashed; so however many
//! attempts arrive in parallel, at most the limit are ever hashed per
//! window. On success the username's (or device's) counter is cleared and
//! the address's count is taken back, so an address shared by many people
//! is limited by failures only.

use std::net::IpAddr;
use std::time::Duration;

use rocket::request::{FromRequest, Outcome, Request};

use super::device::Device;
use super::store::{Account, Counter, CounterKey, Hit};
use super::Auth;
use crate::error::AppError;
use crate::session::origin::folded;

/// How long signups from one address are counted.
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(3600);

/// The client's address as counters know it: the connection's peer (or
/// the `ip_header` Rocket is told to trust behind a proxy), with IPv6
/// folded to its /56, since one client is handed a whole /64, commonly a
/// /56, and could otherwise take a fresh address per attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl ClientAddr {
    /// The counter form of `ip`; `"unknown"` when there is none (Rocket's
    /// local test client), which all such requests then share.
    ///
    /// # Examples
    /// ```
    /// use memsess::auth::attempt::ClientAddr;
    ///
    /// let v4 = ClientAddr::of("192.0.2.7".parse().ok());
    /// assert_eq!(v4.0, "192.0.2.7");
    /// let a = ClientAddr::of("2001:db8:1:2:aaaa::1".parse().ok());
    /// let b = ClientAddr::of("2001:db8:1:3:bbbb::9".parse().ok());
    /// assert_eq!(a, b); // one /56
    /// assert_eq!(ClientAddr::of("::ffff:192.0.2.7".parse().ok()), v4);
    /// assert_eq!(ClientAddr::of(None).0, "unknown");
    /// ```
    pub fn of(ip: Option<IpAddr>) -> Self {
        ClientAddr(ip.map_or_else(|| "unknown".into(), folded))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientAddr::of(req.client_ip()))
    }
}

/// The counters of one counted attempt.
struct Counters {
    subject: Counter,
    addr: Counter,
}

fn counters(auth: &Auth, username: &str, device: Option<&Device>, addr: &ClientAddr) -> Counters {
    let window = auth.config.lockout;
    let subject_key = match device {
        Some(device) => CounterKey::new("device", &device.nonce),
        None => CounterKey::new("user", username),
    };
    Counters {
        subject: Counter {
            key: subject_key,
            limit: auth.config.max_failed_logins,
            window,
        },
        addr: Counter {
            key: CounterKey::new("login-ip", &addr.0),
            limit: auth.config.max_failed_logins_per_ip,
            window,
        },
    }
}

/// Checks `password` for `username` as one counted attempt (see the
/// module docs). `account` is the account as looked up (`None`: unknown,
/// which is checked against a dummy hash so it takes as long).
///
/// Returns whether the password matched.
///
/// # Errors
/// [`AppError::TooManyAttempts`] if a counter is at its limit (nothing was
/// counted or hashed); [`AppError::Unavailable`] if the store is down.
pub async fn check_password(
    auth: &Auth,
    username: &str,
    account: Option<&Account>,
    password: String,
    device: Option<&Device>,
    addr: &ClientAddr,
) -> Result<bool, AppError> {
    let Counters { subject, addr } = counters(auth, username, device, addr);
    let hit = auth.store.hit(&[subject, addr]).await?;
    if let Some(secs) = hit.retry_after_secs() {
        return Err(AppError::TooManyAttempts(secs));
    }
    debug_assert_eq!(hit, Hit::Counted);
    let phc = account.map(|a| a.password_hash.clone());
    if !auth.hasher.verify(password, phc).await {
        return Ok(false);
    }
    auth.store.clear(&subject.key).await?;
    auth.store.take_back(&addr.key).await?;
    Ok(true)
}

/// The signup counter of `addr`.
pub fn signup_counter(auth: &Auth, addr: &ClientAddr) -> Counter {
    Counter {
        key: CounterKey::new("signup-ip", &addr.0),
        limit: auth.config.max_signups_per_ip,
        window: SIGNUP_WINDOW,
    }
}
