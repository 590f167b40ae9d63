//! Checkout: needs a login, stores the order in the account store,
//! empties the cart, and sends the browser to the order's page.
//!
//! The answer is a 303 to `/orders/<id>`, never the page itself, so a
//! reload shows the order again instead of submitting the form again.
//! The order is stored before the cart is emptied: if the session cannot
//! be saved afterwards, the visitor still has the order (and sees the
//! cart, which a second checkout would order again), but never loses a
//! paid-for cart without an order.

use rocket::response::Redirect;
use rocket::{post, routes, Route, State};

use super::{load, store, Cart};
use crate::auth::store::{Order, OrderId, OrderLine};
use crate::auth::{login_redirect, Auth, CurrentUser};
use crate::csrf::{CsrfForm, NoFields};
use crate::error::AppError;
use crate::page::{Flash, FlashKind};
use crate::session::store::now_ms;
use crate::session::Session;

/// The order the cart makes, as it is now: names and prices are copied,
/// so later catalog changes leave past orders alone.
fn order_of(cart: &Cart) -> Result<Order, AppError> {
    let lines: Vec<OrderLine> = cart
        .priced()
        .into_iter()
        .map(|(product, quantity, _)| OrderLine {
            product_id: product.id.to_owned(),
            name: product.name.to_owned(),
            unit_cents: product.price_cents,
            quantity,
        })
        .collect();
    if lines.is_empty() {
        return Err(AppError::invalid(
            "Your cart is empty, so there is nothing to check out.",
        ));
    }
    let total_cents = cart
        .total_cents()
        .ok_or_else(|| AppError::Internal("cart total overflows".into()))?;
    Ok(Order {
        id: OrderId::generate(),
        placed_ms: now_ms(),
        lines,
        total_cents,
    })
}

#[post("/checkout", data = "<_form>")]
async fn checkout(
    _form: CsrfForm<NoFields>,
    user: CurrentUser,
    session: Session,
    auth: &State<Auth>,
) -> Result<Redirect, AppError> {
    let cart = load(&session);
    let order = order_of(&cart)?;
    auth.store.add_order(&user.name, &order).await?;
    rocket::info!(
        "order {} placed by {}: {} items, {} cents",
        order.id,
        user.name,
        cart.count(),
        order.total_cents
    );
    store(&session, &Cart::default())?;
    Flash::set(
        &session,
        FlashKind::Success,
        format!("Thank you! Order {} is placed.", order.id),
    )?;
    session.save().await?;
    Ok(Redirect::to(format!("/orders/{}", order.id)))
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
    use super::*;

    #[test]
    fn an_order_copies_names_prices_and_quantities() {
        let mut cart = Cart::default();
        cart.add("padlock", 2).unwrap();
        cart.add("rocket-mug", 1).unwrap();
        let order = order_of(&cart).unwrap();
        assert_eq!(order.lines.len(), 2);
        assert_eq!(order.lines[0].product_id, "padlock");
        assert_eq!(order.lines[0].quantity, 2);
        assert_eq!(order.total_cents, cart.total_cents().unwrap());
        assert!(order_of(&Cart::default()).is_err());
    }
}
