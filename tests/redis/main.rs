//! The Redis store: the store contract, and several app instances sharing
//! one Redis. Each test starts its own `redis-server` on a free loopback
//! port; without `redis-server` on the PATH the tests fail, never skip.
//!
//! Run with `cargo test --features redis-tests --test redis`.

#[path = "../account_conformance/mod.rs"]
mod account_conformance;
#[path = "../conformance/mod.rs"]
mod conformance;
#[path = "../app/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "../app/web.rs"]
#[allow(dead_code)]
mod web;

mod accounts;
mod instances;
mod leases;
mod queues;
mod redis_server;
mod store;
mod values;
