//! Checkout: needs a login, places the order, empties the cart.

use askama::Template;
use rand::Rng as _;
use rocket::response::content::RawHtml;
use rocket::response::Redirect;
use rocket::{post, routes, Route};

use super::{load, store, Cart};
use crate::auth::{login_redirect, CurrentUser};
use crate::catalog::{dollars, Product};
use crate::csrf::{CsrfForm, NoFields};
use crate::error::AppError;
use crate::page::{render, Chrome};
use crate::session::Session;

/// One bought line.
struct Bought {
    product: &'static Product,
    quantity: u32,
    line_total: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    chrome: Chrome,
    number: String,
    username: String,
    lines: Vec<Bought>,
    total: String,
}

/// An order number people can read out: `MS-7K2Q-9XTD`.
fn order_number() -> String {
    // No 0/O or 1/I, which are easy to confuse.
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    let mut pick = || ALPHABET[rng.random_range(0..ALPHABET.len())] as char;
    let first: String = (0..4).map(|_| pick()).collect();
    let second: String = (0..4).map(|_| pick()).collect();
    format!("MS-{first}-{second}")
}

#[post("/checkout", data = "<_form>")]
async fn checkout(
    _form: CsrfForm<NoFields>,
    user: CurrentUser,
    session: Session,
    mut chrome: Chrome,
) -> Result<RawHtml<String>, AppError> {
    let cart = load(&session);
    if cart.is_empty() {
        return Err(AppError::invalid(
            "Your cart is empty, so there is nothing to check out.",
        ));
    }
    let total = cart
        .total_cents()
        .ok_or_else(|| AppError::Internal("cart total overflows".into()))?;
    let lines = cart
        .priced()
        .into_iter()
        .map(|(product, quantity, cents)| Bought {
            product,
            quantity,
            line_total: dollars(cents),
        })
        .collect();
    store(&session, &Cart::default())?;
    session.save().await?;
    let number = order_number();
    rocket::info!(
        "order {number} placed by {}: {} items, {} cents",
        user.name,
        cart.count(),
        total
    );
    chrome.cart_count = 0;
    render(&OrderPage {
        chrome,
        number,
        username: user.name,
        lines,
        total: dollars(total),
    })
}

/// Visitors log in first and come back to their cart. The form is still
/// checked: every POST without the session's token gets 403.
#[post("/checkout", data = "<_form>", rank = 2)]
fn checkout_anonymous(_form: CsrfForm<NoFields>) -> Redirect {
    login_redirect("/cart")
}

/// Checkout.
pub fn routes() -> Vec<Route> {
    routes![checkout, checkout_anonymous]
}

#[cfg(test)]
mod tests {
    #[test]
    fn order_numbers_are_readable_and_vary() {
        let a = super::order_number();
        assert_eq!(a.len(), 12);
        assert!(a.starts_with("MS-"));
        assert_ne!(a, super::order_number());
    }
}
