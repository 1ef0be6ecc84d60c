//! Windowed counters shared by the stateful detectors: the [`Counters`] trait and its
//! backends.
//!
//! The engine names the keys a message touches ([`chanrac_core::Engine::state_plan`]); the
//! caller hands the keys of one message, or of a whole batch of messages, to
//! [`Counters::apply`], which applies every operation and returns every value in one round
//! trip; the engine then scores with the values.
//!
//! # Semantics (every backend; the conformance suite checks them)
//!
//! **Keys and counters.** A key is a string chosen by a detector (`s:+84912345678`); a
//! backend may prefix it. A key holds at most one counter of each kind — a count, a distinct
//! set, a history — created by the first operation of that kind. All operations of one kind
//! on one key must name the same windows: an operation with other windows (after a policy
//! change) starts that counter afresh.
//!
//! **Time.** Each request carries `now`, Unix seconds. Each counter has a clock, the latest
//! `now` applied to it; time never runs backwards for a counter: an operation stamped
//! earlier (out-of-order input) is applied at the counter's clock. Times must lie between
//! 2000-01-01 and 2136: others are refused with [`CounterError::InvalidTime`].
//!
//! **Windows.** A window of `w` seconds is kept as two buckets aligned on multiples of `w`
//! since the Unix epoch — the current one and the one before — so that every node and every
//! backend agrees on them. The value over the window at time `t` is
//! `cur + ⌊prev × (w − t mod w) / w⌋`: exact when the previous bucket's events were spread
//! evenly, and always between the count of the current bucket and the count of the last
//! two buckets. This is the usual sliding-window approximation of rate limiters.
//!
//! **Count** ([`StateOp::Count`]) adds one and returns the value over each window, this
//! operation included.
//!
//! **Distinct** ([`StateOp::Distinct`]) adds a member (a 64-bit hash; two members whose
//! 32-bit folds are equal count as one, a chance of about n²/2³³) and returns, per window,
//! `|cur| + ⌊|prev| × (w − t mod w) / w⌋` over the bucket sets: a member seen in both buckets
//! counts in both. A bucket's set is exact up to 64 members and a HyperLogLog beyond
//! (1024 registers over a 32-bit hash: ±3.3 %), kept inside the key's value in both
//! backends, so that one read and one write serve every counter of a key.
//!
//! **History** ([`StateOp::History`]) remembers, per key, the members touched within the
//! last `history` seconds — at most [`HISTORY_CAPACITY`], the most recently touched kept — as
//! 32-bit fingerprints with their last touch (a lookup mistakes a new member for a known one
//! with probability n/2³² ≤ 1.5 × 10⁻⁸). It returns, for each window, the number of members
//! last touched within it (exact, capped at the capacity); then the windowed count of
//! touches to members it did not hold; then the windowed count of all touches, both over
//! `new_window`.
//!
//! **Expiry.** A counter lives until every bucket it needs is past: twice its longest window
//! after its last operation (a history: `history`, or twice `new_window` if longer). A key
//! lives as long as its longest-lived counter.
//!
//! **Atomicity.** Every operation is atomic: concurrent callers never lose an update, and
//! the values an operation returns include its own update and every update applied before
//! it. Operations of one request are applied in order. In the embedded store a request is
//! not a transaction across keys; in Redis a whole batch is one transaction (an optimistic
//! `WATCH`/`MULTI`/`EXEC`, or a script after repeated conflicts).
//!
//! **Bounded memory.** The embedded store holds at most a configured number of keys and
//! evicts the least recently touched ones when full, so a flood of random senders cannot
//! make it grow without bound. Redis keys all carry a TTL: bound Redis with `maxmemory` and
//! `maxmemory-policy volatile-lru` (see `docs/velocity.md`).
//!
//! **Errors.** A backend that cannot answer (Redis down, slow beyond the timeout) returns an
//! error for the whole call; the caller then decides without the stateful detectors
//! (fail-open, with `DETECTOR_FAILED`) or by the policy's fail-closed action.

use std::future::Future;
use std::pin::Pin;

pub use chanrac_core::state::{HISTORY_CAPACITY, StateKey, StateOp, Windows};

use crate::error::CounterError;

pub mod embedded;
pub(crate) mod entry;
#[cfg(feature = "redis")]
pub mod redis;

pub use embedded::{EmbeddedConfig, EmbeddedCounters};
#[cfg(feature = "redis")]
pub use redis::{Atomicity, RedisConfig, RedisCounters};

/// A boxed future, so that [`Counters`] can be used as `dyn Counters`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One message's operations, applied at one time.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The time of the operations, Unix seconds.
    pub now: i64,
    /// The operations, applied in order.
    pub ops: &'a [StateKey],
}

/// What a backend has done since it started: the figures behind the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls to [`Counters::apply`].
    pub calls: u64,
    /// Operations applied.
    pub ops: u64,
    /// Calls that failed (the caller decided without the counters).
    pub failures: u64,
    /// Of those, calls that took longer than the timeout.
    pub timeouts: u64,
    /// Times the backend reconnected after losing its server.
    pub reconnects: u64,
    /// Keys held (embedded only).
    pub keys: u64,
    /// Keys evicted because the store was full (embedded only).
    pub evicted: u64,
    /// Optimistic transactions that another client's write aborted, then retried (Redis).
    pub conflicts: u64,
    /// Batches applied by the server-side script (Redis: after repeated conflicts, or
    /// always with `atomicity = "script"`).
    pub scripted: u64,
}

/// Windowed counters: see the module documentation for the semantics.
pub trait Counters: Send + Sync + std::fmt::Debug {
    /// Applies every operation of every request, in order, and replaces the contents of
    /// `out` with their values: each operation's [`StateOp::arity`] values, concatenated in
    /// the order of the requests and their operations.
    fn apply<'a>(
        &'a self,
        requests: &'a [Request<'a>],
        out: &'a mut Vec<u64>,
    ) -> BoxFuture<'a, Result<(), CounterError>>;

    /// What the backend has done so far.
    fn stats(&self) -> Stats;

    /// A short name for messages and metrics (`embedded`, `redis`).
    fn name(&self) -> &'static str;
}

/// Seconds since [`entry::BASE`] for a Unix time, or the error for a time out of range.
pub(crate) fn to_store_time(now: i64) -> Result<u32, CounterError> {
    now.checked_sub(entry::BASE)
        .and_then(|t| u32::try_from(t).ok())
        .filter(|&t| t < u32::MAX - 2 * chanrac_core::state::MAX_WINDOW_SECS)
        .ok_or(CounterError::InvalidTime { now })
}
