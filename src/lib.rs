//! memsess: server-side sessions done right, shown in a small Rocket shop.
//!
//! [`session`] is the reusable part; the rest is the demo app around it.

pub mod session;
