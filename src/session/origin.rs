//! Where a new session comes from: [`Origin`], a hash of the client's
//! address, so that one address cannot fill the anonymous tiers.
//!
//! New sessions start in the *fresh* tier (see [`Limits`](super::Limits)),
//! which keeps floods of cookie-less requests away from everyone else's
//! sessions. But a flood still churns that tier, and with it the sessions
//! of visitors who have just opened a form (their CSRF token lives there)
//! and not yet sent it. So once the tier is crowded
//! ([`Limits::crowded_at`](super::Limits::crowded_at)), each client
//! address may hold at most a small share of it
//! ([`Limits::fresh_per_origin`](super::Limits::fresh_per_origin)); past
//! that, its own oldest new sessions make way. A client that sends each
//! cookie back once moves its sessions on to the anonymous tier, where
//! other visitors keep their carts; there the sessions an address began
//! hold at most their share too
//! ([`Limits::returning_per_origin`](super::Limits::returning_per_origin)).
//! A flood from one address then only ever evicts its own sessions, and
//! the tier never fills up enough for its least-recently-used eviction
//! to take anybody else's. While a tier has room, nobody makes way, so
//! many visitors behind one address (an office, a proxy without
//! `ip_header`) are not limited to one share. A store keeps a session's
//! origin from its creation until its client comes back (the memory
//! store: in the slot; Redis: a field of the session's hash, deleted
//! then), and keeps queues for about no more than twice as many addresses
//! as the tier holds sessions: both forget an address once its sessions
//! have left the tier, and never one that still has a session there
//! (Redis looks first at the address seen least recently).
//!
//! The address is the one Rocket gives (`Request::client_ip`: the peer, or
//! the `ip_header` behind a proxy that sets it), IPv6 folded to its /56:
//! a provider hands one customer a /64 at the least and commonly a /56
//! (RIPE-690), so a client with a /56 could otherwise be 256 clients.
//! Stores keep only a hash of it.

use std::net::IpAddr;

use sha2::{Digest as _, Sha256};

/// A client address as stores see it: 16 bytes of SHA-256.
///
/// # Examples
/// ```
/// use memsess::session::Origin;
///
/// let a = Origin::of("2001:db8:1:200::7".parse().unwrap());
/// let b = Origin::of("2001:db8:1:2ff:ffff::1".parse().unwrap());
/// assert_eq!(a, b); // one /56, one origin
/// assert_ne!(a, Origin::of("2001:db8:1:300::7".parse().unwrap()));
/// assert_ne!(Origin::of("192.0.2.1".parse().unwrap()), Origin::of("192.0.2.2".parse().unwrap()));
/// assert_eq!(Origin::of("::ffff:192.0.2.1".parse().unwrap()), Origin::of("192.0.2.1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Origin(pub [u8; 16]);

/// An address in the form counters and origins use: IPv4 as it is, IPv6
/// as its /56 (`2001:db8:1:200::/56`).
///
/// # Examples
/// ```
/// use memsess::session::origin::folded;
///
/// assert_eq!(folded("192.0.2.7".parse().unwrap()), "192.0.2.7");
/// assert_eq!(folded("2001:db8:1:2aa:aaaa::1".parse().unwrap()), "2001:db8:1:200::/56");
/// ```
pub fn folded(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/56", s[0], s[1], s[2], s[3] & 0xff00)
        }
    }
}

impl Origin {
    /// The origin of a client at `ip`.
    pub fn of(ip: IpAddr) -> Origin {
        let digest = Sha256::digest(folded(ip).as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        Origin(key)
    }
}
