//! The front page (the catalog), product pages, and the health check.

use askama::Template;
use rocket::http::Header;
use rocket::response::content::RawHtml;
use rocket::{get, routes, Route, State};

use crate::catalog::{self, Product, PRODUCTS};
use crate::csrf;
use crate::error::AppError;
use crate::page::{render, CartCount, Chrome};
use crate::session::{Session, Sessions};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    csrf_token: String,
    products: &'static [Product],
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    chrome: Chrome,
    csrf_token: String,
    product: &'static Product,
    in_cart: u32,
}

#[get("/")]
async fn home(session: Session, chrome: Chrome) -> Result<RawHtml<String>, AppError> {
    render(&HomePage {
        chrome,
        csrf_token: csrf::token(&session).await?,
        products: PRODUCTS,
    })
}

#[get("/products/<id>")]
async fn product(
    id: &str,
    session: Session,
    counts: &State<CartCount>,
) -> Result<RawHtml<String>, AppError> {
    let product = catalog::find(id)
        .ok_or_else(|| AppError::NotFound("There is no such product in the shop.".into()))?;
    let in_cart = crate::cart::load(&session).quantity_of(product.id);
    render(&ProductPage {
        // Only once the product is found: a 404 leaves the flash (a
        // login's "Welcome back") for the next page.
        chrome: Chrome::of(&session, Some(counts)).await?,
        csrf_token: csrf::token(&session).await?,
        product,
        in_cart,
    })
}

/// `/healthz`'s answer: `ok`, and the session store's last known state.
#[derive(rocket::Responder)]
struct Health {
    body: &'static str,
    store: Header<'static>,
}

/// Liveness: answers `ok` without touching the session store. The
/// `X-Session-Store` header says whether the store answered its last
/// operation (`up` or `down`), for load balancers and dashboards.
#[get("/healthz")]
fn healthz(sessions: &State<Sessions>) -> Health {
    let state = if sessions.store.is_reachable() {
        "up"
    } else {
        "down"
    };
    Health {
        body: "ok",
        store: Header::new("X-Session-Store", state),
    }
}

/// The catalog pages and `/healthz`.
pub fn routes() -> Vec<Route> {
    routes![home, product, healthz]
}
