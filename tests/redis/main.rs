//! The Redis store: the store contract, and several app instances sharing
//! one Redis. Each test starts its own `redis-server` on a free loopback
//! port; without `redis-server` on the PATH the tests fail, never skip.
//!
//! Run with `cargo test --features redis-tests --test redis`.

#[path = "../conformance/mod.rs"]
mod conformance;
#[path = "../app/server.rs"]
#[allow(dead_code)]
mod server;

mod instances;
mod redis_server;
mod store;
