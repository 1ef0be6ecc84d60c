//! Prometheus metrics, rendered at `GET /metrics`.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `chanrac_checks_total` | counter | action, category | messages checked |
//! | `chanrac_check_request_seconds` | histogram | endpoint | time to answer a check request |
//! | `chanrac_batch_messages` | histogram | | messages per batch request |
//! | `chanrac_http_requests_total` | counter | status | requests answered, by status class |
//! | `chanrac_overloaded_total` | counter | | requests refused with 503 for overload |
//! | `chanrac_store_errors_total` | counter | op | failed store operations |
//! | `chanrac_reloads_total` | counter | result | engine reloads (`ok`, `error`) |
//! | `chanrac_lists_version` | gauge | | the lists version in effect on this node |
//! | `chanrac_list_entries` | gauge | | list entries in effect |
//! | `chanrac_list_entries_expired_total` | counter | | list entries revoked by the expiry sweeper |
//! | `chanrac_counters_calls_total` | counter | backend | calls to the frequency and campaign counters |
//! | `chanrac_counters_failures_total` | counter | backend | calls that failed (Redis down or slow) |
//! | `chanrac_counters_timeouts_total` | counter | backend | of those, calls over `store.redis_timeout_ms` |
//! | `chanrac_counters_reconnects_total` | counter | backend | reconnections to Redis |
//! | `chanrac_counters_unavailable_total` | counter | | messages judged without the counters (`DETECTOR_FAILED`) |
//! | `chanrac_counters_keys` | gauge | backend | keys held by the embedded counters |
//! | `chanrac_counters_evicted_total` | counter | backend | embedded keys evicted because the store was full |
//! | `chanrac_verdict_log_written_total` | counter | | verdict log entries written to the store |
//! | `chanrac_verdict_log_dropped_total` | counter | | verdict log entries dropped because its queue was full |
//! | `chanrac_verdict_log_pending` | gauge | | verdict log entries queued and not yet written |

use std::sync::OnceLock;

use chanrac_core::{Action, Category};
use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process's recorder: installed once, whatever the number of servers in the process
/// (tests start several).
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Handles to the hot metrics, resolved once.
#[derive(Debug)]
pub struct Metrics {
    handle: PrometheusHandle,
    checks: Vec<Counter>,
    /// Time to answer `POST /v1/check`.
    pub check_seconds: Histogram,
    /// Time to answer `POST /v1/check/batch`.
    pub batch_seconds: Histogram,
    /// Messages per batch.
    pub batch_messages: Histogram,
    /// Requests refused for overload.
    pub overloaded: Counter,
    /// Requests answered, by status class (2xx, 3xx, 4xx, 5xx), resolved once: every
    /// request counts in one.
    requests: [Counter; 4],
}

impl Metrics {
    /// Installs the recorder (once per process) and resolves the handles.
    pub fn new() -> Metrics {
        let handle = HANDLE
            .get_or_init(|| {
                let builder = PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full("chanrac_check_request_seconds".into()),
                        &[
                            0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                            1.0,
                        ],
                    )
                    .and_then(|b| {
                        b.set_buckets_for_metric(
                            metrics_exporter_prometheus::Matcher::Full("chanrac_batch_messages".into()),
                            &[1.0, 10.0, 100.0, 1000.0, 5000.0, 10000.0],
                        )
                    })
                    .unwrap_or_else(|_| PrometheusBuilder::new());
                let recorder = builder.build_recorder();
                let handle = recorder.handle();
                // Another recorder may already be installed (an embedding program's): then
                // this one still renders what it sees through its handle.
                let _ = metrics::set_global_recorder(recorder);
                handle
            })
            .clone();
        let mut checks = Vec::with_capacity(16);
        for action in Action::ALL {
            for category in Category::ALL {
                checks.push(counter!(
                    "chanrac_checks_total",
                    "action" => action.as_str(),
                    "category" => category.as_str()
                ));
            }
        }
        Metrics {
            handle,
            checks,
            check_seconds: histogram!("chanrac_check_request_seconds", "endpoint" => "check"),
            batch_seconds: histogram!("chanrac_check_request_seconds", "endpoint" => "batch"),
            batch_messages: histogram!("chanrac_batch_messages"),
            overloaded: counter!("chanrac_overloaded_total"),
            requests: ["2xx", "3xx", "4xx", "5xx"]
                .map(|class| counter!("chanrac_http_requests_total", "status" => class)),
        }
    }

    /// Counts checked messages, `n` of them with this action and category.
    pub fn checked(&self, action: Action, category: Category, n: u64) {
        self.checks[action as usize * 4 + category as usize].increment(n);
    }

    /// Counts the checked messages of a request, per action and category (indexed by
    /// `Action as usize`, `Category as usize`): one increment per pair that occurs, not one
    /// per message (the counters are shared by every thread).
    pub fn checked_grid(&self, grid: &[[u64; 4]; 4]) {
        for action in Action::ALL {
            for category in Category::ALL {
                let n = grid[action as usize][category as usize];
                if n > 0 {
                    self.checked(action, category, n);
                }
            }
        }
    }

    /// Counts a failed store operation.
    pub fn store_error(op: &'static str) {
        counter!("chanrac_store_errors_total", "op" => op).increment(1);
    }

    /// Counts an answered request by status class.
    pub fn request(&self, status: u16) {
        let class = match status {
            200..=299 => 0,
            // The dashboard's files answer 304 when the browser has them.
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        self.requests[class].increment(1);
    }

    /// Counts verdict log entries written.
    pub fn verdict_log_written(n: u64) {
        counter!("chanrac_verdict_log_written_total").increment(n);
    }

    /// Counts verdict log entries dropped because the queue was full.
    pub fn verdict_log_dropped(n: u64) {
        counter!("chanrac_verdict_log_dropped_total").increment(n);
    }

    /// Publishes the verdict log entries waiting to be written.
    pub fn verdict_log_pending(n: u64) {
        gauge!("chanrac_verdict_log_pending").set(n as f64);
    }

    /// Counts a reload.
    pub fn reload(ok: bool) {
        counter!("chanrac_reloads_total", "result" => if ok { "ok" } else { "error" }).increment(1);
    }

    /// Publishes the lists in effect.
    pub fn lists(version: i64, entries: usize) {
        gauge!("chanrac_lists_version").set(version as f64);
        gauge!("chanrac_list_entries").set(entries as f64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds the histogram samples recorded since the last call into their buckets. The
    /// recorder keeps raw samples until then, so this must run periodically (the server
    /// does it every few seconds) or memory grows with traffic.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
