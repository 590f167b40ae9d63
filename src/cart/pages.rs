//! The cart page and the add, update and remove actions.

use askama::Template;
use rocket::form::FromForm;
use rocket::response::content::RawHtml;
use rocket::response::Redirect;
use rocket::{get, post, routes, Route};

use super::model::MAX_QUANTITY;
use super::{load, store, Cart};
use crate::catalog::{self, dollars, Product};
use crate::csrf::{self, CsrfForm};
use crate::error::AppError;
use crate::page::{render, Chrome, Flash, FlashKind};
use crate::session::Session;

/// The fields of the cart forms, as text, so that bad input gets a clear
/// message of ours rather than a parser's.
#[derive(FromForm)]
struct LineForm {
    product_id: Option<String>,
    quantity: Option<String>,
}

/// The product a form names: 422 if none, 404 if there is no such product.
fn product(id: Option<&str>) -> Result<&'static Product, AppError> {
    let id = id
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| AppError::invalid("Choose a product."))?;
    catalog::find(id)
        .ok_or_else(|| AppError::NotFound("There is no such product in the shop.".into()))
}

/// A quantity as typed: digits only, within `min..=99`; `default` when absent.
fn quantity(raw: Option<&str>, min: u32, default: Option<u32>) -> Result<u32, AppError> {
    let message = || {
        AppError::invalid(format!(
            "The quantity must be a whole number from {min} to {MAX_QUANTITY}."
        ))
    };
    let raw = raw.map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return default.ok_or_else(message);
    }
    // Digits only: no sign, no decimals, no exponent; parse refuses overflow.
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(message());
    }
    raw.parse::<u32>()
        .ok()
        .filter(|q| (min..=MAX_QUANTITY).contains(q))
        .ok_or_else(message)
}

/// Stores the changed cart with a flash, saves, and goes to the cart.
async fn saved(session: &Session, cart: &Cart, flash: String) -> Result<Redirect, AppError> {
    store(session, cart)?;
    Flash::set(session, FlashKind::Success, flash)?;
    session.save().await?;
    Ok(Redirect::to("/cart"))
}

#[post("/cart/add", data = "<form>")]
async fn add(form: CsrfForm<LineForm>, session: Session) -> Result<Redirect, AppError> {
    let product = product(form.0.product_id.as_deref())?;
    let quantity = quantity(form.0.quantity.as_deref(), 1, Some(1))?;
    let mut cart = load(&session);
    cart.add(product.id, quantity)
        .map_err(|e| AppError::invalid(e.to_string()))?;
    saved(
        &session,
        &cart,
        format!("Added {quantity} × {}.", product.name),
    )
    .await
}

#[post("/cart/update", data = "<form>")]
async fn update(form: CsrfForm<LineForm>, session: Session) -> Result<Redirect, AppError> {
    let product = product(form.0.product_id.as_deref())?;
    let quantity = quantity(form.0.quantity.as_deref(), 0, None)?;
    let mut cart = load(&session);
    // A line removed in another tab meanwhile: say so, as remove does.
    let had = cart.quantity_of(product.id) > 0;
    cart.set(product.id, quantity)
        .map_err(|e| AppError::invalid(e.to_string()))?;
    let flash = match quantity {
        0 if had => format!("Removed {} from your cart.", product.name),
        0 => format!("{} was not in your cart.", product.name),
        n => format!("You now have {n} × {}.", product.name),
    };
    saved(&session, &cart, flash).await
}

#[post("/cart/remove", data = "<form>")]
async fn remove(form: CsrfForm<LineForm>, session: Session) -> Result<Redirect, AppError> {
    let product = product(form.0.product_id.as_deref())?;
    let mut cart = load(&session);
    let flash = if cart.remove(product.id) {
        format!("Removed {} from your cart.", product.name)
    } else {
        format!("{} was not in your cart.", product.name)
    };
    saved(&session, &cart, flash).await
}

/// One cart line as the page shows it.
struct LineView {
    product: &'static Product,
    quantity: u32,
    line_total: String,
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    chrome: Chrome,
    csrf_token: String,
    lines: Vec<LineView>,
    count: u32,
    total_cents: u64,
    total: String,
    max_quantity: u32,
}

#[get("/cart")]
async fn cart_page(session: Session) -> Result<RawHtml<String>, AppError> {
    // The cart is read once, for the page and the header's count alike.
    let cart = load(&session);
    let chrome = Chrome::with_cart_count(&session, cart.count()).await?;
    let priced = cart.priced();
    let total_cents = priced
        .iter()
        .try_fold(0u64, |sum, (_, _, cents)| sum.checked_add(*cents))
        .ok_or_else(|| AppError::Internal("cart total overflows".into()))?;
    let lines = priced
        .into_iter()
        .map(|(product, quantity, cents)| LineView {
            product,
            quantity,
            line_total: dollars(cents),
        })
        .collect();
    render(&CartPage {
        chrome,
        csrf_token: csrf::token(&session).await?,
        lines,
        count: cart.count(),
        total_cents,
        total: dollars(total_cents),
        max_quantity: MAX_QUANTITY,
    })
}

/// The cart page and its actions.
pub fn routes() -> Vec<Route> {
    routes![cart_page, add, update, remove]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_digits_within_range() {
        assert_eq!(quantity(None, 1, Some(1)), Ok(1));
        assert_eq!(quantity(Some(" 7 "), 1, None), Ok(7));
        assert_eq!(quantity(Some("0"), 0, None), Ok(0));
        for bad in [
            "0",
            "100",
            "-1",
            "+1",
            "1.5",
            "1e2",
            "abc",
            "99999999999999999999",
            "٣",
        ] {
            assert!(quantity(Some(bad), 1, Some(1)).is_err(), "{bad}");
        }
        assert!(quantity(None, 0, None).is_err());
    }
}
