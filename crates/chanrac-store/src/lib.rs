//! chanrac-store: the shared state of chanrac, behind traits, each with one conformance
//! suite that every backend passes.
//!
//! **Counters**, for the stateful detectors. The engine (`chanrac-core`) is pure: for each
//! message it names the counters it touches ([`chanrac_core::Engine::state_plan`]) and scores
//! with their values ([`chanrac_core::Engine::check_with_state`]). This crate keeps them:
//!
//! - [`Counters`]: the trait, with its semantics (windows, distinct counts, histories,
//!   expiry, atomicity, errors) documented in [`counters`];
//! - [`EmbeddedCounters`]: in process, sharded, time-bucketed, bounded in memory (the
//!   coldest keys are evicted), with an optional snapshot file — the default, no server;
//! - `RedisCounters` (cargo feature `redis`): the same counters in Redis, so that several
//!   nodes share them; a batch is one optimistic transaction (two pipelined round trips,
//!   a server-side Lua script after repeated conflicts), fail-fast with a timeout, and
//!   reconnection by itself;
//! - [`conformance`]: the suite every counters backend passes.
//!
//! ```
//! use chanrac_core::{Engine, Message, Scratch};
//! use chanrac_store::{Counters, EmbeddedCounters, Request};
//!
//! let engine = Engine::builder().no_model().velocity().build().unwrap();
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
//! **Records**, durable: [`records`] — list entries with their audit log, traffic statistics,
//! the verdict log — in one SQLite file by default ([`records::sqlite::SqliteRecords`]) or in
//! PostgreSQL for several nodes ([`records::postgres::PgRecords`], feature `postgres`, on by
//! default); [`records::conformance`] is their suite.
//!
//! ```no_run
//! # async fn demo() -> Result<(), chanrac_store::StoreError> {
//! use chanrac_core::ListKind;
//! use chanrac_store::records::{Actor, Records, Side, sqlite::SqliteRecords};
//!
//! let store = SqliteRecords::open(std::path::Path::new("data/chanrac.db"))?;
//! let who = Actor { name: "analyst", reason: "reported 40 times" };
//! store.add_list_entry(Side::Block, ListKind::Senders, "0912 345 678", who).await?;
//! assert_eq!(store.list_entries().await?[0].value, "+84912345678");
//! # Ok(()) }
//! ```
//!
//! Invariants:
//! - a store never decides anything: it counts and keeps, the engine scores;
//! - a store that cannot answer says so with an error, quickly (the caller fails open or
//!   closed by policy); it never blocks the message path beyond its timeout;
//! - memory is bounded: the embedded counters evict, every Redis key has a TTL;
//! - a record is acknowledged only once committed.

#![deny(missing_docs)]

pub mod conformance;
pub mod counters;
pub mod error;
pub mod hub;
mod join;
mod migrations;
pub mod records;

#[cfg(feature = "redis")]
pub use counters::{Atomicity, RedisConfig, RedisCounters};
pub use counters::{BoxFuture, Counters, EmbeddedConfig, EmbeddedCounters, Request, Stats};
pub use error::CounterError;

/// An error of the records store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached or opened (the server is down, the file unwritable).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The request is invalid (a list entry of the wrong form).
    #[error("{0}")]
    Invalid(String),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The stored data is not what this version of chanrac expects.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// A write was refused because the store is not in the state it assumes (a feed page
    /// that does not start at the stored cursor); nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend reported an error.
    #[error("store error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}
