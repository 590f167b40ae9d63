//! Session ids and the store keys derived from them.
//!
//! gmemsess made its 8-letter ids from Python's `random` module: about 45 bits
//! from a generator whose state can be recovered from its output. A
//! [`SessionId`] is 192 bits from the operating system's CSPRNG, spelled as
//! 32 characters of unpadded base64url, so it is safe in a cookie and a URL.
//!
//! The store never sees the id itself, only its [`StoreKey`]: the first 128
//! bits of its SHA-256. Someone who reads a store dump or a log of keys
//! learns nothing they can put in a cookie, and 128 bits of a hash keep
//! collisions out of reach (about 2^64 live sessions before one is likely).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::TryRngCore as _;
use sha2::{Digest, Sha256};

/// Random bytes in an id: 192 bits, well past the 128 that OWASP asks for.
const ID_BYTES: usize = 24;
/// Length of an id's text: 24 bytes are exactly 32 base64 characters.
///
/// # Examples
/// ```
/// use memsess::session::{id::ID_LEN, SessionId};
///
/// assert_eq!(SessionId::generate().to_string().len(), ID_LEN);
/// ```
pub const ID_LEN: usize = 32;

/// A session id: 192 random bits, shown as 32 URL-safe characters.
///
/// Parsing is strict: anything but exactly 32 base64url characters is not a
/// session id, so a malformed or oversized cookie never reaches the store.
///
/// # Examples
/// ```
/// use memsess::session::SessionId;
///
/// let id = SessionId::generate();
/// let text = id.to_string();
/// assert_eq!(text.len(), 32);
/// assert_eq!(text.parse::<SessionId>(), Ok(id));
/// assert!("not-an-id".parse::<SessionId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId {
    bytes: [u8; ID_BYTES],
    // Derived once: every request needs it, and SHA-256 is the costliest
    // step of handling an id.
    key: StoreKey,
}

impl SessionId {
    /// A fresh id from the operating system's cryptographically secure
    /// generator.
    ///
    /// # Panics
    /// Only if the operating system cannot provide randomness at all, in
    /// which case no id would be safe to hand out.
    ///
    /// # Examples
    /// ```
    /// use memsess::session::SessionId;
    ///
    /// let (a, b) = (SessionId::generate(), SessionId::generate());
    /// assert_ne!(a, b);
    /// // Debug output never shows the secret.
    /// assert_eq!(format!("{a:?}"), "SessionId(..)");
    /// ```
    pub fn generate() -> Self {
        let mut bytes = [0u8; ID_BYTES];
        OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the OS random number generator failed");
        SessionId::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; ID_BYTES]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        SessionId {
            bytes,
            key: StoreKey(key),
        }
    }

    /// The key under which a store keeps this session: a hash, never the id.
    ///
    /// # Examples
    /// ```
    /// use memsess::session::SessionId;
    ///
    /// let id = SessionId::generate();
    /// assert_eq!(id.key(), id.key());
    /// assert_ne!(id.key(), SessionId::generate().key());
    /// assert!(!id.key().to_string().contains(&id.to_string()));
    /// ```
    pub fn key(&self) -> StoreKey {
        self.key
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; ID_LEN];
        let n = URL_SAFE_NO_PAD
            .encode_slice(self.bytes, &mut buf)
            .map_err(|_| fmt::Error)?;
        // base64 output is ASCII, so this never fails.
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

/// Ids are secrets: debug output shows only that one is there.
impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// Why a piece of text is not a session id.
///
/// # Examples
/// ```
/// use memsess::session::{id::InvalidId, SessionId};
///
/// assert_eq!("gsid=abc".parse::<SessionId>(), Err(InvalidId));
/// assert_eq!(
///     InvalidId.to_string(),
///     "not a session id: expected 32 base64url characters"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a session id: expected {ID_LEN} base64url characters")]
pub struct InvalidId;

impl FromStr for SessionId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != ID_LEN {
            return Err(InvalidId);
        }
        let mut bytes = [0u8; ID_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(s, &mut bytes) {
            // 32 characters carry exactly 192 bits, so no character has stray
            // low bits and every id has exactly one spelling.
            Ok(ID_BYTES) => Ok(SessionId::from_bytes(bytes)),
            _ => Err(InvalidId),
        }
    }
}

/// The store key of a session: 128 bits of SHA-256 of its id.
///
/// Stores keep sessions under this key, never under the id, so a dump of
/// the store or a log of its keys gives nobody a cookie to use. It shows
/// as 32 lowercase hex digits.
///
/// # Examples
/// ```
/// use memsess::session::{SessionId, StoreKey};
///
/// let key: StoreKey = SessionId::generate().key();
/// assert_eq!(key.to_string().len(), 32);
///
/// let key = StoreKey([0xab; 16]);
/// assert_eq!(key.to_string(), "ab".repeat(16));
/// assert_eq!(format!("{key:?}"), format!("StoreKey({key})"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoreKey(pub [u8; 16]);

impl StoreKey {
    /// A key is already a uniform hash, so its first 8 bytes are its hash
    /// in a table: maps keyed by it skip hashing it again (see
    /// [`KeyHasher`]), and so does the memory store's index.
    pub(crate) fn table_hash(&self) -> u64 {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(first)
    }
}

impl std::hash::Hash for StoreKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.table_hash());
    }
}

/// The hasher for maps keyed by [`StoreKey`]: it passes the key's own
/// 64 bits through. Keys are SHA-256 outputs, so keys that collide in a
/// table cost a search each to find; and the store's tables hold only keys
/// of ids the server issued (the lease table sees others, but only while
/// their requests are in flight).
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    /// Only `write_u64` is used for keys; anything else is folded in
    /// (FNV-1a) so the hasher stays correct for any input.
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Builds [`KeyHasher`]s, for the memory store's maps (`HashMap::with_hasher`).
pub type KeyHashBuilder = std::hash::BuildHasherDefault<KeyHasher>;

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = SessionId::generate();
        assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
    }

    #[test]
    fn text_of_wrong_length_or_alphabet_is_rejected() {
        let good = SessionId::generate().to_string();
        for bad in [
            String::new(),
            good[..31].to_string(),
            format!("{good}A"),
            format!("{}+", &good[..31]),
            format!("{}=", &good[..31]),
            "é".repeat(16),
        ] {
            assert_eq!(bad.parse::<SessionId>(), Err(InvalidId), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_does_not_leak_the_id() {
        let id = SessionId::generate();
        assert!(!format!("{id:?}").contains(&id.to_string()));
    }
}
