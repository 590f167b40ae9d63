//! The file backend's orders: an append-only log of JSON lines beside the
//! users file, one `{"user": .., "order": ..}` per line.
//!
//! A checkout appends one line and flushes it to disk: O(1) per order,
//! where rewriting all orders would be O(n). A crash mid-append can leave
//! a last line without its newline; loading drops it and cuts the file
//! back to the last whole line, so the next append starts clean. Any
//! other line that is not an order means the file was damaged or edited,
//! and loading refuses it rather than losing orders silently.
//!
//! Deleting an account rewrites the log without that user's lines
//! (atomically, like the users file), so its orders leave the disk too.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::file_io;
use super::Order;

/// The orders of every user, oldest first.
pub(super) type OrdersByUser = HashMap<String, Vec<Order>>;

#[derive(Serialize, Deserialize)]
struct Line<'a> {
    user: std::borrow::Cow<'a, str>,
    order: std::borrow::Cow<'a, Order>,
}

/// One log line for `user`'s `order`, newline included.
pub(super) fn line(user: &str, order: &Order) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(&Line {
        user: user.into(),
        order: std::borrow::Cow::Borrowed(order),
    })
    .unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Reads the log at `path` (missing: no orders), repairing a torn last line.
///
/// # Errors
/// If the file cannot be read or a whole line is not an order.
pub(super) fn load(path: &Path) -> Result<OrdersByUser, String> {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(format!("{shown}: {e}")),
    };
    // Everything after the last newline is a torn append.
    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() {
        rocket::warn!(
            "{shown}: dropping a torn last line ({} bytes) left by a crash",
            bytes.len() - whole
        );
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(whole as u64).and_then(|()| f.sync_all()))
            .map_err(|e| format!("{shown}: cutting the torn line: {e}"))?;
    }
    let mut orders = OrdersByUser::new();
    for (n, text) in bytes[..whole].split(|b| *b == b'\n').enumerate() {
        if text.is_empty() {
            continue;
        }
        let line: Line<'_> = serde_json::from_slice(text)
            .map_err(|e| format!("{shown}: line {} is not an order: {e}", n + 1))?;
        orders
            .entry(line.user.into_owned())
            .or_default()
            .push(line.order.into_owned());
    }
    Ok(orders)
}

/// Appends one order to the log.
pub(super) fn append(path: &Path, user: &str, order: &Order) -> std::io::Result<()> {
    file_io::append(path, &line(user, order))
}

/// Replaces the log with exactly `orders`.
pub(super) fn rewrite(path: &Path, orders: &OrdersByUser) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    for (user, list) in orders {
        for order in list {
            bytes.extend(line(user, order));
        }
    }
    file_io::replace(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::store::{OrderId, OrderLine};

    fn order(ms: u64) -> Order {
        Order {
            id: OrderId::generate(),
            placed_ms: ms,
            lines: vec![OrderLine {
                product_id: "padlock".into(),
                name: "Padlock".into(),
                unit_cents: 1200,
                quantity: 1,
            }],
            total_cents: 1200,
        }
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_the_next_append_is_whole() {
        let dir = std::env::temp_dir().join(format!("memsess-orders-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.json.orders");
        let (first, second) = (order(1), order(2));
        append(&path, "carol", &first).unwrap();
        // A crash halfway through the second append.
        let torn = line("carol", &second);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&torn[..torn.len() / 2]);
        std::fs::write(&path, bytes).unwrap();

        let loaded = load(&path).unwrap();
        assert_eq!(loaded["carol"], vec![first.clone()]);
        append(&path, "carol", &second).unwrap();
        assert_eq!(load(&path).unwrap()["carol"], vec![first, second]);

        // A damaged line in the middle is refused, not skipped.
        let mut bytes = b"not json\n".to_vec();
        bytes.extend(std::fs::read(&path).unwrap());
        std::fs::write(&path, bytes).unwrap();
        assert!(load(&path).unwrap_err().contains("line 1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
