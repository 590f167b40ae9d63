//! The cart as a typed value: what is allowed is checked here, once.

use serde::{Deserialize, Serialize};

use crate::catalog::{self, Product};

/// Most of one product in a cart.
pub const MAX_QUANTITY: u32 = 99;
/// Most lines in a cart.
pub const MAX_LINES: usize = 50;

/// One product and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The product's id.
    pub product_id: String,
    /// 1 to [`MAX_QUANTITY`].
    pub quantity: u32,
}

/// The products a visitor means to buy, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    lines: Vec<Line>,
}

/// Why a change to the cart was refused; the cart is then unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    /// A quantity outside 1–99 (0 is allowed only to remove, on update).
    #[error("Quantities are whole numbers from 1 to {MAX_QUANTITY}.")]
    BadQuantity,
    /// The line would pass 99.
    #[error("You can have at most {MAX_QUANTITY} of one product; you have {0} already.")]
    LineFull(u32),
    /// A 51st line.
    #[error("A cart holds at most {MAX_LINES} different products.")]
    TooManyLines,
}

impl Cart {
    /// The lines, oldest first.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// How many items in all.
    pub fn count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    /// How many of `product_id` there are.
    pub fn quantity_of(&self, product_id: &str) -> u32 {
        self.lines
            .iter()
            .find(|l| l.product_id == product_id)
            .map_or(0, |l| l.quantity)
    }

    /// Adds `quantity` (1–99) of a product, to its line if it has one.
    ///
    /// # Errors
    /// [`CartError`] if the quantity is out of range, the line would pass
    /// 99, or a new line would be the 51st.
    pub fn add(&mut self, product_id: &str, quantity: u32) -> Result<(), CartError> {
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            return Err(CartError::BadQuantity);
        }
        if let Some(line) = self.lines.iter_mut().find(|l| l.product_id == product_id) {
            if line.quantity + quantity > MAX_QUANTITY {
                return Err(CartError::LineFull(line.quantity));
            }
            line.quantity += quantity;
            return Ok(());
        }
        if self.lines.len() >= MAX_LINES {
            return Err(CartError::TooManyLines);
        }
        self.lines.push(Line {
            product_id: product_id.to_owned(),
            quantity,
        });
        Ok(())
    }

    /// Sets a product's quantity (0–99); 0 removes the line.
    ///
    /// # Errors
    /// [`CartError`] if the quantity is over 99 or a new line would be the 51st.
    pub fn set(&mut self, product_id: &str, quantity: u32) -> Result<(), CartError> {
        if quantity > MAX_QUANTITY {
            return Err(CartError::BadQuantity);
        }
        if quantity == 0 {
            self.remove(product_id);
            return Ok(());
        }
        let full = self.lines.len() >= MAX_LINES;
        match self.lines.iter_mut().find(|l| l.product_id == product_id) {
            Some(line) => line.quantity = quantity,
            None if full => return Err(CartError::TooManyLines),
            None => self.lines.push(Line {
                product_id: product_id.to_owned(),
                quantity,
            }),
        }
        Ok(())
    }

    /// Removes a product's line; true if there was one.
    pub fn remove(&mut self, product_id: &str) -> bool {
        let before = self.lines.len();
        self.lines.retain(|l| l.product_id != product_id);
        self.lines.len() != before
    }

    /// Each line with its product and line total, skipping products the
    /// catalog no longer has.
    pub fn priced(&self) -> Vec<(&'static Product, u32, u64)> {
        self.lines
            .iter()
            .filter_map(|l| {
                let product = catalog::find(&l.product_id)?;
                Some((
                    product,
                    l.quantity,
                    product.price_cents.checked_mul(u64::from(l.quantity))?,
                ))
            })
            .collect()
    }

    /// The total in cents; `None` only if it would overflow (it cannot with
    /// these limits and prices, but money is never allowed to wrap).
    pub fn total_cents(&self) -> Option<u64> {
        self.priced()
            .iter()
            .try_fold(0u64, |sum, (_, _, line)| sum.checked_add(*line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_merges_lines_and_counts_items() {
        let mut cart = Cart::default();
        cart.add("rocket-mug", 2).unwrap();
        cart.add("padlock", 1).unwrap();
        cart.add("rocket-mug", 3).unwrap();
        assert_eq!(cart.lines().len(), 2);
        assert_eq!(cart.quantity_of("rocket-mug"), 5);
        assert_eq!(cart.count(), 6);
        assert_eq!(cart.total_cents(), Some(5 * 1400 + 1200));
    }

    #[test]
    fn quantities_stay_within_1_to_99_and_refusals_change_nothing() {
        let mut cart = Cart::default();
        assert_eq!(cart.add("padlock", 0), Err(CartError::BadQuantity));
        assert_eq!(cart.add("padlock", 100), Err(CartError::BadQuantity));
        cart.add("padlock", 99).unwrap();
        let before = cart.clone();
        assert_eq!(cart.add("padlock", 1), Err(CartError::LineFull(99)));
        assert_eq!(cart.set("padlock", 100), Err(CartError::BadQuantity));
        assert_eq!(cart, before);
    }

    #[test]
    fn set_replaces_and_zero_removes() {
        let mut cart = Cart::default();
        cart.add("hoodie", 4).unwrap();
        cart.set("hoodie", 2).unwrap();
        assert_eq!(cart.quantity_of("hoodie"), 2);
        cart.set("hoodie", 0).unwrap();
        assert!(cart.is_empty());
        assert!(!cart.remove("hoodie"));
    }

    #[test]
    fn a_cart_holds_at_most_50_lines() {
        let mut cart = Cart::default();
        for i in 0..MAX_LINES {
            cart.add(&format!("p{i}"), 1).unwrap();
        }
        let before = cart.clone();
        assert_eq!(cart.add("one-more", 1), Err(CartError::TooManyLines));
        assert_eq!(cart.set("one-more", 1), Err(CartError::TooManyLines));
        assert_eq!(cart, before);
        // Existing lines still change.
        cart.add("p0", 1).unwrap();
        assert_eq!(cart.count(), 51);
    }

    #[test]
    fn totals_use_checked_arithmetic() {
        let mut cart = Cart::default();
        for p in crate::catalog::PRODUCTS {
            cart.add(p.id, MAX_QUANTITY).unwrap();
        }
        let expected: u64 = crate::catalog::PRODUCTS
            .iter()
            .map(|p| p.price_cents * 99)
            .sum();
        assert_eq!(cart.total_cents(), Some(expected));
    }
}
