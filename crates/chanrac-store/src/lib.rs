//! chanrac-store: the shared state of chanrac's stateful detectors.
//!
//! The engine (`chanrac-core`) is pure: for each message it names the counters it touches
//! ([`chanrac_core::Engine::state_plan`]) and scores with their values
//! ([`chanrac_core::Engine::check_with_state`]). This crate keeps those counters:
//!
//! - [`Counters`]: the trait, with its semantics (windows, distinct counts, histories,
//!   expiry, atomicity, errors) documented in [`counters`];
//! - [`EmbeddedCounters`]: in process, sharded, time-bucketed, bounded in memory (the
//!   coldest keys are evicted), with an optional snapshot file — the default, no server;
//! - `RedisCounters` (cargo feature `redis`): the same counters in Redis, so that several
//!   nodes share them; a batch is one optimistic transaction (two pipelined round trips,
//!   a server-side Lua script after repeated conflicts), fail-fast with a timeout, and
//!   reconnection by itself;
//! - [`conformance`]: one suite of tests that every backend passes.
//!
//! ```
//! use chanrac_core::{Engine, Message, Scratch};
//! use chanrac_store::{Counters, EmbeddedCounters, Request};
//!
//! let engine = Engine::builder().velocity().build().unwrap();
//! let store = EmbeddedCounters::default();
//! let mut scratch = Scratch::default();
//! let mut values = Vec::new();
//! let mut last = None;
//! for i in 0..8 {
//!     let msg = Message::text(format!("tin nhan so {i}"))
//!         .from("0912345678")
//!         .to(format!("09870000{i:02}"))
//!         .at(1_795_316_400 + i);
//!     let plan = engine.state_plan(&msg, &mut scratch);
//!     store
//!         .apply_sync(&[Request { now: msg.received_at.unwrap(), ops: &plan.keys }], &mut values)
//!         .unwrap();
//!     last = Some(engine.check_with_state(&msg, &mut scratch, &plan, Some(&values)));
//! }
//! // Eight messages in eight seconds: more than five in five minutes.
//! assert!(last.unwrap().has("SENDER_BURST"));
//! ```
//!
//! Invariants:
//! - a store never decides anything: it counts, and the engine scores;
//! - a store that cannot answer says so with an error, quickly (the caller fails open or
//!   closed by policy); it never blocks the message path beyond its timeout;
//! - memory is bounded: the embedded store evicts, every Redis key has a TTL.

#![deny(missing_docs)]

pub mod conformance;
pub mod counters;
pub mod error;
mod join;

#[cfg(feature = "redis")]
pub use counters::{Atomicity, RedisConfig, RedisCounters};
pub use counters::{BoxFuture, Counters, EmbeddedConfig, EmbeddedCounters, Request, Stats};
pub use error::StoreError;
