//! The ceiling for `examples/counter`: the same Rocket app, built the same
//! way, with no session at all. `bench/load.sh` divides the counter's
//! req/s by this one's, so the ratio is what the session module costs.
//!
//! ```sh
//! cargo run --release --example hello   # then open http://127.0.0.1:8000
//! ```

use rocket::{get, launch, routes};

/// A short constant answer, about as long as the counter's.
#[get("/")]
fn hello() -> &'static str {
    "Hello - no session here."
}

#[launch]
fn rocket() -> _ {
    rocket::build().mount("/", routes![hello])
}
