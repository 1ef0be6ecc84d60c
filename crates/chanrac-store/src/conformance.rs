//! The conformance suite: what every [`Counters`] backend must do, as test functions that
//! take a backend factory.
//!
//! ```no_run
//! # async fn f() {
//! use std::sync::Arc;
//! use chanrac_store::{EmbeddedCounters, conformance};
//! conformance::run_all(|_case| Arc::new(EmbeddedCounters::default()) as _).await;
//! # }
//! ```
//!
//! The factory gets the case's name, so that a backend on a shared server can give each
//! case its own key prefix. Each case panics with its name and the step that failed: this
//! module is a test kit, not part of the message path.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use chanrac_core::state::{HISTORY_CAPACITY, StateKey, StateOp, Windows};

use crate::counters::{Counters, Request};
use crate::error::CounterError;

/// A time aligned on a day (and so on every window used here): 2026-11-22T00:00:00Z.
pub const T0: i64 = 1_795_305_600;

/// A backend for one case.
pub type Factory<'a> = &'a dyn Fn(&str) -> Arc<dyn Counters>;

type Case = for<'a> fn(Factory<'a>) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Every case, by name.
pub const CASES: &[(&str, Case)] = &[
    ("count_slides_over_two_buckets", |f| {
        Box::pin(count_slides_over_two_buckets(f))
    }),
    ("distinct_counts_members_once_per_bucket", |f| {
        Box::pin(distinct_counts_members_once_per_bucket(f))
    }),
    ("distinct_large_sets_are_estimated", |f| {
        Box::pin(distinct_large_sets_are_estimated(f))
    }),
    ("history_tracks_new_and_known_members", |f| {
        Box::pin(history_tracks_new_and_known_members(f))
    }),
    ("history_keeps_the_most_recent_members", |f| {
        Box::pin(history_keeps_the_most_recent_members(f))
    }),
    ("kinds_and_keys_are_independent", |f| {
        Box::pin(kinds_and_keys_are_independent(f))
    }),
    ("batches_apply_in_order", |f| Box::pin(batches_apply_in_order(f))),
    ("changed_windows_start_afresh", |f| {
        Box::pin(changed_windows_start_afresh(f))
    }),
    ("keys_expire", |f| Box::pin(keys_expire(f))),
    ("bad_times_are_refused", |f| Box::pin(bad_times_are_refused(f))),
    ("concurrent_updates_are_not_lost", |f| {
        Box::pin(concurrent_updates_are_not_lost(f))
    }),
];

/// Runs every case, each on a fresh backend from `make`.
pub async fn run_all(make: impl Fn(&str) -> Arc<dyn Counters>) {
    for (name, case) in CASES {
        let f = |case_name: &str| make(&format!("{name}:{case_name}"));
        case(&f).await;
    }
}

fn windows(w: &[u32]) -> Windows {
    Windows::new(w).expect("valid windows")
}

fn count(key: &str, w: &[u32]) -> StateKey {
    StateKey {
        key: key.into(),
        op: StateOp::Count { windows: windows(w) },
    }
}

fn distinct(key: &str, member: u64, w: &[u32]) -> StateKey {
    StateKey {
        key: key.into(),
        op: StateOp::Distinct {
            member,
            windows: windows(w),
        },
    }
}

fn history(key: &str, member: u64, w: &[u32], new_window: u32, history: u32) -> StateKey {
    StateKey {
        key: key.into(),
        op: StateOp::History {
            member,
            windows: windows(w),
            new_window,
            history,
        },
    }
}

/// A member hash from a small number (any 64-bit value works; these are spread out).
fn member(i: u64) -> u64 {
    chanrac_core::fingerprint::mix(i + 1)
}

async fn values(c: &dyn Counters, now: i64, ops: &[StateKey]) -> Vec<u64> {
    let mut out = Vec::new();
    let r = [Request { now, ops }];
    c.apply(&r, &mut out)
        .await
        .unwrap_or_else(|e| panic!("{}: apply at {now} failed: {e}", c.name()));
    assert_eq!(
        out.len(),
        ops.iter().map(|k| k.op.arity()).sum::<usize>(),
        "{}: one value per window",
        c.name()
    );
    out
}

/// Steps of one key: (seconds after T0, expected values).
async fn steps(c: &dyn Counters, case: &str, op: impl Fn(usize) -> StateKey, table: &[(i64, &[u64])]) {
    for (i, (dt, want)) in table.iter().enumerate() {
        let got = values(c, T0 + dt, &[op(i)]).await;
        assert_eq!(&got, want, "{}: {case}: step {i} at T0+{dt}", c.name());
    }
}

/// Count: two buckets per window, the previous one weighted by what is left of it;
/// out-of-order times are applied at the key's clock; a long pause empties both buckets.
pub async fn count_slides_over_two_buckets(make: Factory<'_>) {
    let c = make("count");
    let table: &[(i64, &[u64])] = &[
        (0, &[1, 1]),
        (1, &[2, 2]),
        (30, &[3, 3]),
        // A new 60 s bucket: 1 + 3 × 60/60.
        (60, &[4, 4]),
        // Half of the previous bucket left: 2 + ⌊3 × 30/60⌋.
        (90, &[3, 5]),
        // Two 60 s buckets later: both empty before this one.
        (200, &[1, 6]),
        // A new hour: 1 + ⌊6 × 1800/3600⌋; the minute starts afresh.
        (5400, &[1, 4]),
        // Earlier than the key's clock: applied at T0+5400.
        (5300, &[2, 5]),
    ];
    steps(&*c, "count", |_| count("k", &[60, 3600]), table).await;
}

/// Distinct: a member counts once per bucket; the previous bucket is weighted.
pub async fn distinct_counts_members_once_per_bucket(make: Factory<'_>) {
    let c = make("distinct");
    let seq = [1, 1, 2, 1, 3, 3];
    let table: &[(i64, &[u64])] = &[
        (0, &[1]),
        (1, &[1]),
        (2, &[2]),
        // New bucket {1}, previous {1, 2} whole: a member in both buckets counts twice.
        (60, &[3]),
        // {1, 3} + ⌊2 × 30/60⌋.
        (90, &[3]),
        // Next bucket {3}, previous {1, 3}: 1 + ⌊2 × 30/60⌋.
        (150, &[2]),
    ];
    steps(&*c, "distinct", |i| distinct("d", member(seq[i]), &[60]), table).await;
}

/// Distinct: exact up to 64 members, estimated beyond within a few percent.
pub async fn distinct_large_sets_are_estimated(make: Factory<'_>) {
    let c = make("large");
    let mut last = 0;
    for i in 0..64u64 {
        last = values(&*c, T0 + 10, &[distinct("big", member(i), &[3600])]).await[0];
    }
    assert_eq!(last, 64, "{}: 64 members are counted exactly", c.name());
    for (n, tolerance) in [(200u64, 0.05), (2000, 0.08)] {
        for i in 64..n {
            last = values(&*c, T0 + 10, &[distinct("big", member(i), &[3600])]).await[0];
        }
        let err = (last as f64 - n as f64).abs() / n as f64;
        assert!(err <= tolerance, "{}: {n} members estimated as {last}", c.name());
        // A member already counted does not move the estimate.
        let again = values(&*c, T0 + 10, &[distinct("big", member(3), &[3600])]).await[0];
        assert_eq!(again, last, "{}: a repeated member", c.name());
    }
}

/// History: distinct members per window, touches to new members and all touches.
pub async fn history_tracks_new_and_known_members(make: Factory<'_>) {
    let c = make("history");
    let day = 86_400;
    let seq = [1, 1, 2, 3, 1, 1];
    let table: &[(i64, &[u64])] = &[
        (0, &[1, 1, 1, 1]),
        (10, &[1, 1, 1, 2]),
        (20, &[2, 2, 2, 3]),
        // Only member 3 within the last minute; three within the hour.
        (100, &[1, 3, 3, 4]),
        // Next day: member 1 is still known; the day counters slide: ⌊3 × 86300/86400⌋ and
        // 1 + ⌊4 × 86300/86400⌋.
        (day + 100, &[1, 1, 2, 4]),
        // Five days later member 1 is forgotten (history 3 days): new again.
        (5 * day, &[1, 1, 1, 1]),
    ];
    steps(
        &*c,
        "history",
        |i| history("h", member(seq[i]), &[60, 3600], day as u32, 3 * day as u32),
        table,
    )
    .await;
}

/// History: at most [`HISTORY_CAPACITY`] members, the least recently touched forgotten.
pub async fn history_keeps_the_most_recent_members(make: Factory<'_>) {
    let c = make("capacity");
    let op = |m| history("cap", member(m), &[3600], 86_400, 30 * 86_400);
    let extra = 6;
    let mut v = Vec::new();
    for i in 0..HISTORY_CAPACITY as u64 + extra {
        v = values(&*c, T0 + i as i64, &[op(i)]).await;
    }
    let n = HISTORY_CAPACITY as u64 + extra;
    assert_eq!(v, vec![HISTORY_CAPACITY as u64, n, n], "{}: capped", c.name());
    // Member 0 was touched longest ago: it was forgotten, so it is new again.
    let v = values(&*c, T0 + 100, &[op(0)]).await;
    assert_eq!(v, vec![HISTORY_CAPACITY as u64, n + 1, n + 1], "{}: evicted", c.name());
    // The most recent one is still known.
    let v = values(&*c, T0 + 101, &[op(n - 1)]).await;
    assert_eq!(v, vec![HISTORY_CAPACITY as u64, n + 1, n + 2], "{}: kept", c.name());
}

/// A key holds a count, a distinct set and a history side by side; keys do not mix.
pub async fn kinds_and_keys_are_independent(make: Factory<'_>) {
    let c = make("kinds");
    let ops = [
        count("s:1", &[300, 3600]),
        history("s:1", member(9), &[3600], 86_400, 86_400),
        distinct("s:1", member(9), &[60]),
        count("s:2", &[300, 3600]),
        count("s:1", &[300, 3600]),
    ];
    let v = values(&*c, T0, &ops).await;
    assert_eq!(v, vec![1, 1, 1, 1, 1, 1, 1, 1, 2, 2], "{}", c.name());
    let v = values(&*c, T0 + 1, &ops[1..2]).await;
    assert_eq!(v, vec![1, 1, 2], "{}: the history saw the same member", c.name());
}

/// Several requests in one call: in order, each at its own time.
pub async fn batches_apply_in_order(make: Factory<'_>) {
    let c = make("batch");
    let a = [count("b", &[60])];
    let b = [count("b", &[60]), count("other", &[60])];
    let reqs = [
        Request { now: T0, ops: &a },
        Request { now: T0 + 1, ops: &b },
        Request { now: T0 + 61, ops: &a },
    ];
    let mut out = Vec::new();
    c.apply(&reqs, &mut out).await.expect("apply");
    // At T0+61 the previous bucket (2) weighs 59/60: 1 + ⌊2 × 59/60⌋ = 2.
    assert_eq!(out, vec![1, 2, 1, 2], "{}", c.name());
    // An empty batch is fine.
    c.apply(&[], &mut out).await.expect("empty batch");
    assert!(out.is_empty());
}

/// A counter asked for with other windows (a policy change) starts afresh.
pub async fn changed_windows_start_afresh(make: Factory<'_>) {
    let c = make("windows");
    assert_eq!(values(&*c, T0, &[count("w", &[60])]).await, vec![1]);
    assert_eq!(values(&*c, T0, &[count("w", &[60])]).await, vec![2]);
    assert_eq!(values(&*c, T0, &[count("w", &[120])]).await, vec![1]);
    assert_eq!(values(&*c, T0, &[count("w", &[120, 60])]).await, vec![1, 1]);
}

/// A key expires twice its longest window after its last operation.
pub async fn keys_expire(make: Factory<'_>) {
    let c = make("expire");
    for _ in 0..3 {
        values(&*c, T0, &[count("e", &[60]), distinct("e", member(1), &[60])]).await;
    }
    // 119 s later the previous bucket still counts (weighted by 1/60: ⌊3/60⌋ = 0 for the
    // count) and the key is alive; at 120 s it is gone.
    assert_eq!(values(&*c, T0 + 119, &[count("e", &[60])]).await, vec![1]);
    assert_eq!(values(&*c, T0 + 119 + 120, &[count("e", &[60])]).await, vec![1]);
    let v = values(&*c, T0 + 119 + 121, &[distinct("e", member(2), &[60])]).await;
    assert_eq!(v, vec![1], "{}: the distinct set expired with the key", c.name());
}

/// Times before 2000 or after 2136 are refused, not wrapped.
pub async fn bad_times_are_refused(make: Factory<'_>) {
    let c = make("times");
    let ops = [count("t", &[60])];
    for now in [0, -1, 946_684_799, i64::MAX, i64::MIN, 10_000_000_000] {
        let mut out = Vec::new();
        let r = [Request { now, ops: &ops }];
        match c.apply(&r, &mut out).await {
            Err(CounterError::InvalidTime { now: n }) => assert_eq!(n, now),
            other => panic!("{}: time {now} gave {other:?}", c.name()),
        }
    }
}

/// Many callers at once on one key: no update is lost.
pub async fn concurrent_updates_are_not_lost(make: Factory<'_>) {
    let c = make("concurrent");
    let ops = [count("hot", &[3600])];
    let (callers, each) = (8, 50);
    let tasks: Vec<Pin<Box<dyn Future<Output = ()> + Send + '_>>> = (0..callers)
        .map(|_| {
            let c = &c;
            let ops = &ops;
            Box::pin(async move {
                for _ in 0..each {
                    values(&**c, T0 + 5, ops).await;
                }
            }) as Pin<Box<dyn Future<Output = ()> + Send>>
        })
        .collect();
    crate::join::join_all(tasks).await;
    let v = values(&*c, T0 + 5, &ops).await;
    assert_eq!(v, vec![callers * each + 1], "{}", c.name());
}

/// Runs a future whose backend never waits (the embedded store) to completion on this
/// thread.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
