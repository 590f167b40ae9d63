//! What an account store holds: accounts and orders.

use std::fmt;
use std::str::FromStr;

use rand::rngs::OsRng;
use rand::TryRngCore as _;
use serde::{Deserialize, Serialize};

/// One account as stored.
///
/// # Examples
/// ```
/// use memsess::auth::store::Account;
///
/// let account = Account { password_hash: "$argon2id$...".into(), created_ms: 0 };
/// assert_eq!(account.clone(), account);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The argon2id PHC string of the password.
    pub password_hash: String,
    /// When the account was made, in ms since the Unix epoch.
    pub created_ms: u64,
}

/// An order's id: 125 random bits from the OS, as 25 characters people
/// can read out, in groups: `MS-7K2Q9-XTDAB-…`. No 0/O or 1/I.
///
/// # Examples
/// ```
/// use memsess::auth::store::OrderId;
///
/// let id = OrderId::generate();
/// assert_eq!(id.as_str().len(), 3 + 5 * 6 - 1);
/// assert_eq!(id.as_str().parse::<OrderId>(), Ok(id.clone()));
/// assert!("MS-0000".parse::<OrderId>().is_err());
/// assert_ne!(id, OrderId::generate());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

/// 32 symbols, 5 bits each.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const GROUPS: usize = 5;
const GROUP_LEN: usize = 5;

impl OrderId {
    /// A new random id.
    ///
    /// # Panics
    /// If the operating system's random number generator fails.
    ///
    /// # Examples
    /// ```
    /// use memsess::auth::store::OrderId;
    /// assert!(OrderId::generate().as_str().starts_with("MS-"));
    /// ```
    pub fn generate() -> Self {
        let mut bytes = [0u8; GROUPS * GROUP_LEN];
        OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the OS random number generator failed");
        let mut id = String::from("MS");
        for group in bytes.chunks(GROUP_LEN) {
            id.push('-');
            // 256 is a multiple of 32, so `% 32` keeps every symbol equally likely.
            id.extend(group.iter().map(|b| ALPHABET[usize::from(b % 32)] as char));
        }
        OrderId(id)
    }

    /// The id as text.
    ///
    /// # Examples
    /// ```
    /// use memsess::auth::store::OrderId;
    /// let id: OrderId = "MS-22222-33333-44444-55555-66666".parse().unwrap();
    /// assert_eq!(id.as_str(), "MS-22222-33333-44444-55555-66666");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text is not an order id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an order id")]
pub struct BadOrderId;

impl FromStr for OrderId {
    type Err = BadOrderId;

    fn from_str(s: &str) -> Result<Self, BadOrderId> {
        let rest = s.strip_prefix("MS-").ok_or(BadOrderId)?;
        let groups: Vec<&str> = rest.split('-').collect();
        let well_formed = groups.len() == GROUPS
            && groups
                .iter()
                .all(|g| g.len() == GROUP_LEN && g.bytes().all(|b| ALPHABET.contains(&b)));
        well_formed.then(|| OrderId(s.to_owned())).ok_or(BadOrderId)
    }
}

impl TryFrom<String> for OrderId {
    type Error = BadOrderId;

    fn try_from(s: String) -> Result<Self, BadOrderId> {
        s.parse()
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One line of an order, as it was at checkout (later price or name
/// changes in the catalog do not change it).
///
/// # Examples
/// ```
/// use memsess::auth::store::OrderLine;
///
/// let line = OrderLine { product_id: "padlock".into(), name: "Padlock".into(), unit_cents: 1200, quantity: 2 };
/// assert_eq!(line.total_cents(), 2400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The product's id.
    pub product_id: String,
    /// The product's name.
    pub name: String,
    /// The price of one, in cents.
    pub unit_cents: u64,
    /// How many.
    pub quantity: u32,
}

impl OrderLine {
    /// `unit_cents × quantity` (saturating; the cart's limits keep it small).
    pub fn total_cents(&self) -> u64 {
        self.unit_cents.saturating_mul(u64::from(self.quantity))
    }
}

/// A placed order.
///
/// # Examples
/// ```
/// use memsess::auth::store::{Order, OrderId, OrderLine};
///
/// let order = Order {
///     id: OrderId::generate(),
///     placed_ms: 1_700_000_000_000,
///     lines: vec![OrderLine { product_id: "padlock".into(), name: "Padlock".into(), unit_cents: 1200, quantity: 1 }],
///     total_cents: 1200,
/// };
/// let json = serde_json::to_string(&order).unwrap();
/// assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), order);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its unguessable id.
    pub id: OrderId,
    /// When it was placed, in ms since the Unix epoch.
    pub placed_ms: u64,
    /// What was bought.
    pub lines: Vec<OrderLine>,
    /// What it cost in all, in cents.
    pub total_cents: u64,
}

/// Newest first; equal times by id, so the order is stable.
pub(crate) fn newest_first(orders: &mut [Order]) {
    orders.sort_by(|a, b| b.placed_ms.cmp(&a.placed_ms).then(a.id.cmp(&b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_parse_strictly() {
        let id = OrderId::generate();
        assert_eq!(id.as_str().parse(), Ok(id.clone()));
        let s = id.as_str();
        for bad in [
            "",
            "MS-",
            &s[..s.len() - 1],
            &format!("{s}2"),
            &s.to_lowercase(),
            &s.replacen("MS", "MX", 1),
            "MS-22222-33333-44444-55555-6666O",
            "MS-22222-33333-44444-55555-66666-77777",
        ] {
            assert_eq!(bad.parse::<OrderId>(), Err(BadOrderId), "{bad}");
        }
    }

    #[test]
    fn order_ids_carry_at_least_120_random_bits() {
        // 25 symbols of a 32-symbol alphabet.
        const { assert!(GROUPS * GROUP_LEN * 5 >= 120) };
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| OrderId::generate()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
