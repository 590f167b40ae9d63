//! Integration tests through the real `rocket()`, one binary for all of
//! them (one link step instead of one per file).

#[path = "../account_conformance/mod.rs"]
mod account_conformance;
#[path = "../conformance/mod.rs"]
mod conformance;
mod helpers;
mod server;
mod web;

mod account_store;
mod accounts;
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
mod protection;
mod proxy;
mod remember;
mod restart;
mod store;
mod timeouts;
mod values;
