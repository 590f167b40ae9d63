//! A placed order's page, `/orders/<id>`, and how orders are shown.
//!
//! Only the owner sees an order: the store is asked for the order *of the
//! signed-in user*, so another user's id, an unknown one and a malformed
//! one all give the same 404, and an anonymous visitor is sent to log in.

use askama::Template;
use rocket::response::content::RawHtml;
use rocket::response::Redirect;
use rocket::{get, routes, Route, State};

use crate::auth::store::{Order, OrderId};
use crate::auth::{login_redirect, Auth, CurrentUser};
use crate::catalog::dollars;
use crate::error::AppError;
use crate::page::{render, utc, CartCount, Chrome};
use crate::session::Session;

/// One line as the page shows it.
struct LineView {
    product_id: String,
    name: String,
    unit: String,
    quantity: u32,
    total: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    chrome: Chrome,
    order: Order,
    placed: String,
    lines: Vec<LineView>,
    total: String,
}

/// An order as the account page lists it.
pub struct OrderSummary {
    /// Its id.
    pub id: String,
    /// When it was placed, as text.
    pub placed: String,
    /// Items in all.
    pub items: u32,
    /// Its total in cents, for the marker.
    pub total_cents: u64,
    /// Its total as text.
    pub total: String,
}

impl From<&Order> for OrderSummary {
    fn from(order: &Order) -> Self {
        OrderSummary {
            id: order.id.to_string(),
            placed: utc(order.placed_ms),
            items: order.lines.iter().map(|l| l.quantity).sum(),
            total_cents: order.total_cents,
            total: dollars(order.total_cents),
        }
    }
}

#[get("/orders/<id>")]
async fn order_page(
    id: &str,
    user: CurrentUser,
    session: Session,
    counts: &State<CartCount>,
    auth: &State<Auth>,
) -> Result<RawHtml<String>, AppError> {
    let not_found = || AppError::NotFound("There is no such order among yours.".into());
    let id: OrderId = id.parse().map_err(|_| not_found())?;
    let order = auth
        .store
        .order(&user.name, &id)
        .await?
        .ok_or_else(not_found)?;
    let lines = order
        .lines
        .iter()
        .map(|l| LineView {
            product_id: l.product_id.clone(),
            name: l.name.clone(),
            unit: dollars(l.unit_cents),
            quantity: l.quantity,
            total: dollars(l.total_cents()),
        })
        .collect();
    render(&OrderPage {
        // Only once the order is found: a 404 leaves the flash for the
        // next page.
        chrome: Chrome::of(&session, Some(counts)).await?,
        placed: utc(order.placed_ms),
        total: dollars(order.total_cents),
        lines,
        order,
    })
}

#[get("/orders/<id>", rank = 2)]
fn order_anonymous(id: &str) -> Redirect {
    login_redirect(&format!("/orders/{id}"))
}

/// The order page.
pub fn routes() -> Vec<Route> {
    routes![order_page, order_anonymous]
}
