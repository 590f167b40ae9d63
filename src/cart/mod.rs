//! The shopping cart, the other thing gmemsess was made for.
//!
//! The cart is a typed [`Cart`] kept in the session under one key, so
//! every change is a load–change–save of the session, and the session's
//! lease makes parallel changes take turns: 50 parallel "add to cart"
//! requests all count. Checkout needs a login; the login keeps a
//! visitor's cart (it rotates the session id, not its data; a session
//! another account had is ended instead), and checkout stores the
//! order in the account store ([`orders`]).

mod checkout;
pub mod model;
pub mod orders;
mod pages;

use rocket::fairing::AdHoc;
use rocket::Route;

pub use model::{Cart, CartError};

use crate::session::{Session, SessionError};

/// Session key of the cart.
const CART_KEY: &str = "cart";

/// The session's cart (empty if it has none).
pub fn load(session: &Session) -> Cart {
    session.get(CART_KEY).unwrap_or_default()
}

/// Puts `cart` in the session; the caller saves.
///
/// # Errors
/// Only if the session cannot hold it.
pub fn store(session: &Session, cart: &Cart) -> Result<(), SessionError> {
    if cart.is_empty() {
        session.remove(CART_KEY);
        Ok(())
    } else {
        session.insert(CART_KEY, cart)
    }
}

/// Gives the page header its cart count: the cart registers how to count
/// (see [`crate::page::CartCount`]), so the page module needs nothing
/// from this one while this one builds on it.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Cart count in the header", |rocket| async {
        rocket.manage(crate::page::CartCount(|session| load(session).count()))
    })
}

/// The cart pages and actions, checkout, and the order page.
pub fn routes() -> Vec<Route> {
    let mut routes = pages::routes();
    routes.extend(checkout::routes());
    routes.extend(orders::routes());
    routes
}
