//! Counters and latency histograms for metrics: plain atomics in a struct the caller owns
//! (no global registry), read with [`Stats::snapshot`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

/// A latency histogram in microseconds: log-linear buckets (8 per power of two), so a
/// percentile is within 12.5 % of the truth; lock-free to record.
#[derive(Debug)]
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
}

const SUB: u32 = 3;
const BUCKETS: usize = (64 - SUB as usize + 1) << SUB;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < (1 << SUB) {
        return us as usize;
    }
    let msb = 63 - us.leading_zeros();
    let shift = msb - SUB;
    (((shift + 1) << SUB) | ((us >> shift) as u32 & ((1 << SUB) - 1))) as usize
}

/// The largest value of a bucket.
fn bucket_high(b: usize) -> u64 {
    if b < (1 << SUB) {
        return b as u64;
    }
    let shift = (b >> SUB) as u32 - 1;
    let mantissa = (b as u128 & ((1 << SUB) - 1)) | (1 << SUB);
    (((mantissa + 1) << shift) - 1).min(u64::MAX as u128) as u64
}

impl Histogram {
    /// Records one duration.
    pub fn record(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        self.buckets[bucket_of(us)].fetch_add(1, Relaxed);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// The `q` quantile (0.0–1.0) in microseconds (the upper edge of its bucket), 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_high(i);
            }
        }
        bucket_high(BUCKETS - 1)
    }
}

/// The firewall's counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// ESME connections accepted.
    pub connections: AtomicU64,
    /// Successful ESME binds.
    pub binds: AtomicU64,
    /// Refused ESME binds (bad credentials, already bound, flood).
    pub binds_refused: AtomicU64,
    /// Messages (a whole concatenated message counts once) forwarded as they are.
    pub forwarded: AtomicU64,
    /// Messages forwarded with a tag recorded.
    pub tagged: AtomicU64,
    /// Messages refused with an error status.
    pub rejected: AtomicU64,
    /// Messages dropped silently (acknowledged, not delivered).
    pub dropped: AtomicU64,
    /// Messages answered by this node itself (to the hub's short code), not forwarded.
    pub answered_locally: AtomicU64,
    /// Messages held in quarantine.
    pub quarantined: AtomicU64,
    /// Submits answered `ESME_RTHROTTLED` (account rate, session window or saturated upstream).
    pub throttled: AtomicU64,
    /// Submits that failed upstream (no bind, connection lost, timeout).
    pub upstream_failed: AtomicU64,
    /// `generic_nack`s sent for frames that could not be decoded.
    pub nacks: AtomicU64,
    /// `deliver_sm` (receipts and MO) relayed to an ESME.
    pub delivered: AtomicU64,
    /// `deliver_sm` from the SMSC with no ESME to take it.
    pub undeliverable: AtomicU64,
    /// Upstream binds made (first ones and reconnections).
    pub upstream_binds: AtomicU64,
    /// MO messages from the SMSC to an address this node serves (the hub's short code),
    /// taken by its service and acknowledged.
    pub local_mo: AtomicU64,
    /// Such MO messages the service could not take (answered with its error status).
    pub local_mo_refused: AtomicU64,
    /// This node's own messages submitted to the SMSC (replies, one-time passwords).
    pub local_sent: AtomicU64,
    /// Own messages the SMSC refused, or that found no bind or no answer.
    pub local_failed: AtomicU64,
    /// Time the firewall itself spends on a forwarded submit: from reading it to queueing it
    /// upstream, plus from reading the SMSC's response to queueing it to the ESME.
    pub added_latency: Histogram,
    /// Time from reading a submit to queueing the SMSC's response to the ESME.
    pub round_trip: Histogram,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Snapshot {
    pub connections: u64,
    pub binds: u64,
    pub binds_refused: u64,
    pub forwarded: u64,
    pub tagged: u64,
    pub rejected: u64,
    pub dropped: u64,
    /// Messages answered by this node itself (to the hub's short code), not forwarded.
    pub answered_locally: u64,
    pub quarantined: u64,
    pub throttled: u64,
    pub upstream_failed: u64,
    pub nacks: u64,
    pub delivered: u64,
    pub undeliverable: u64,
    pub upstream_binds: u64,
    pub local_mo: u64,
    pub local_mo_refused: u64,
    pub local_sent: u64,
    pub local_failed: u64,
    pub added_latency_p50_us: u64,
    pub added_latency_p99_us: u64,
    pub round_trip_p50_us: u64,
    pub round_trip_p99_us: u64,
}

impl Stats {
    /// Adds one to a counter.
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> Snapshot {
        let g = |c: &AtomicU64| c.load(Relaxed);
        Snapshot {
            connections: g(&self.connections),
            binds: g(&self.binds),
            binds_refused: g(&self.binds_refused),
            forwarded: g(&self.forwarded),
            tagged: g(&self.tagged),
            rejected: g(&self.rejected),
            dropped: g(&self.dropped),
            answered_locally: g(&self.answered_locally),
            quarantined: g(&self.quarantined),
            throttled: g(&self.throttled),
            upstream_failed: g(&self.upstream_failed),
            nacks: g(&self.nacks),
            delivered: g(&self.delivered),
            undeliverable: g(&self.undeliverable),
            upstream_binds: g(&self.upstream_binds),
            local_mo: g(&self.local_mo),
            local_mo_refused: g(&self.local_mo_refused),
            local_sent: g(&self.local_sent),
            local_failed: g(&self.local_failed),
            added_latency_p50_us: self.added_latency.quantile_us(0.5),
            added_latency_p99_us: self.added_latency.quantile_us(0.99),
            round_trip_p50_us: self.round_trip.quantile_us(0.5),
            round_trip_p99_us: self.round_trip.quantile_us(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_cover_their_values() {
        let mut last = 0;
        for us in (0..100_000u64).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket_of(us);
            assert!(b >= last, "bucket order at {us}");
            assert!(bucket_high(b) >= us, "{us} above its bucket's top {}", bucket_high(b));
            assert!(bucket_high(b) - us <= us / 8 + 1, "{us} too far from its bucket's top");
            last = b;
        }
    }

    #[test]
    fn quantiles() {
        let h = Histogram::default();
        assert_eq!(h.quantile_us(0.99), 0);
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.quantile_us(0.5);
        let p99 = h.quantile_us(0.99);
        assert!((500..=563).contains(&p50), "p50 {p50}");
        assert!((990..=1114).contains(&p99), "p99 {p99}");
    }
}
