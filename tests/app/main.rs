//! Integration tests through the real `rocket()`, one binary for all of
//! them (one link step instead of one per file).

#[path = "../conformance/mod.rs"]
mod conformance;
mod helpers;
mod server;
mod visitor;

mod auth;
mod cart;
mod cleanup;
mod concurrency;
mod config;
mod cookies;
mod counter;
mod hash_password;
mod headers;
mod ids;
mod limits;
mod lockout_page;
mod outage;
mod proxy;
mod restart;
mod store;
mod timeouts;
