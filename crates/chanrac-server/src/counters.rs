//! The frequency and campaign counters of `chanrac serve`: in this process (`embedded`), in
//! Redis (shared by every node), or none.
//!
//! A check plans the keys its messages touch ([`chanrac_core::Engine::state_plan`]), applies
//! them in one call (one Redis round trip per request or per batch) and scores with the
//! values. When the counters cannot answer, the message is judged without them
//! (`DETECTOR_FAILED`, fail-open) or by the policy's `velocity.on_state_failure`; the
//! failure is counted in `chanrac_counters_failures_total` and the Redis client reconnects by
//! itself.
//!
//! Counter windows run on the server's clock, never on the `received_at` a client sends:
//! a caller cannot age or freeze a sender's counts by lying about the time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chanrac_store::{
    CounterError, Counters, EmbeddedConfig, EmbeddedCounters, RedisConfig, RedisCounters, Request, Stats,
};

use crate::config::{Config, CountersBackend};

/// The counters a server checks with.
#[derive(Debug, Clone)]
pub enum ServerCounters {
    /// No stateful detectors (`store.counters = "none"`).
    None,
    /// In this process.
    Embedded(Arc<EmbeddedCounters>),
    /// In Redis.
    Redis(Arc<RedisCounters>),
}

impl ServerCounters {
    /// Opens the counters the configuration names. The embedded store loads its snapshot
    /// (`<data_dir>/counters.snapshot` unless `store.counters_snapshot = false`); the Redis
    /// client connects lazily, and a server that is down only warns: checks fail open until
    /// it answers.
    pub async fn open(config: &Config) -> Result<ServerCounters, String> {
        let s = &config.store;
        match s.counters {
            CountersBackend::None => Ok(ServerCounters::None),
            CountersBackend::Embedded => {
                let snapshot = s
                    .counters_snapshot
                    .then(|| config.server.data_dir.join("counters.snapshot"));
                let c = EmbeddedConfig {
                    max_keys: s.counters_max_keys,
                    snapshot,
                    ..EmbeddedConfig::default()
                };
                let store = tokio::task::spawn_blocking(move || EmbeddedCounters::open(c))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("cannot open the embedded counters: {e}"))?;
                Ok(ServerCounters::Embedded(Arc::new(store)))
            }
            CountersBackend::Redis => {
                let c = RedisConfig {
                    url: s.redis_url.clone(),
                    prefix: s.redis_prefix.clone(),
                    timeout_ms: s.redis_timeout_ms,
                    ..RedisConfig::default()
                };
                let store = RedisCounters::new(c).map_err(|e| format!("store.redis_url: {e}"))?;
                if let Err(e) = store.connect().await {
                    tracing::warn!(error = %e, "the counters' Redis does not answer; checks go on without counters (DETECTOR_FAILED) until it does");
                }
                Ok(ServerCounters::Redis(Arc::new(store)))
            }
        }
    }

    /// True when there are counters (the engine then runs the velocity detectors).
    pub fn enabled(&self) -> bool {
        !matches!(self, ServerCounters::None)
    }

    /// Applies the requests and reads their values (see [`Counters::apply`]).
    pub async fn apply(&self, requests: &[Request<'_>], out: &mut Vec<u64>) -> Result<(), CounterError> {
        match self {
            ServerCounters::None => {
                out.clear();
                Ok(())
            }
            ServerCounters::Embedded(c) => c.apply_sync(requests, out),
            ServerCounters::Redis(c) => c.apply(requests, out).await,
        }
    }

    /// The same, from a thread that may block: a batch worker, or the SMPP filter (which
    /// runs on a session's task: with Redis it waits for the answer in `block_in_place`,
    /// bounded by `store.redis_timeout_ms`).
    pub fn apply_blocking(&self, requests: &[Request<'_>], out: &mut Vec<u64>) -> Result<(), CounterError> {
        match self {
            ServerCounters::None => {
                out.clear();
                Ok(())
            }
            ServerCounters::Embedded(c) => c.apply_sync(requests, out),
            ServerCounters::Redis(c) => {
                let handle = tokio::runtime::Handle::current();
                // On a multi-threaded runtime `block_in_place` hands this worker's other tasks
                // to another thread (and simply runs the closure on a blocking-pool thread).
                // A current-thread runtime can only be waited on from outside it: the server
                // runs multi-threaded, and tests that use Redis this way must too.
                match handle.runtime_flavor() {
                    tokio::runtime::RuntimeFlavor::CurrentThread => handle.block_on(c.apply(requests, out)),
                    _ => tokio::task::block_in_place(|| handle.block_on(c.apply(requests, out))),
                }
            }
        }
    }

    /// Turns a counter call's result into "the values may be used", counting the `messages`
    /// it covered in `chanrac_counters_unavailable_total` when it failed, and logging the
    /// error at most once every ten seconds (a dead Redis must not flood the log).
    pub fn answered(&self, result: Result<(), CounterError>, messages: u64) -> bool {
        let Err(e) = result else {
            return true;
        };
        metrics::counter!("chanrac_counters_unavailable_total").increment(messages);
        static LAST_LOG: AtomicI64 = AtomicI64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let last = LAST_LOG.load(Ordering::Relaxed);
        if now - last >= 10
            && LAST_LOG
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(backend = self.name(), error = %e, "counters unavailable: judging without them (DETECTOR_FAILED)");
        }
        false
    }

    /// Publishes the backend's figures as metrics (the server calls it every few seconds).
    pub fn publish(&self) {
        let Some(s) = self.stats() else {
            return;
        };
        let backend = self.name();
        metrics::counter!("chanrac_counters_calls_total", "backend" => backend).absolute(s.calls);
        metrics::counter!("chanrac_counters_failures_total", "backend" => backend).absolute(s.failures);
        metrics::counter!("chanrac_counters_timeouts_total", "backend" => backend).absolute(s.timeouts);
        metrics::counter!("chanrac_counters_reconnects_total", "backend" => backend).absolute(s.reconnects);
        metrics::counter!("chanrac_counters_evicted_total", "backend" => backend).absolute(s.evicted);
        metrics::gauge!("chanrac_counters_keys", "backend" => backend).set(s.keys as f64);
    }

    /// What the backend has done, for the metrics and `GET /v1/status`.
    pub fn stats(&self) -> Option<Stats> {
        match self {
            ServerCounters::None => None,
            ServerCounters::Embedded(c) => Some(c.stats()),
            ServerCounters::Redis(c) => Some(c.stats()),
        }
    }

    /// The backend's name (`none`, `embedded`, `redis`).
    pub fn name(&self) -> &'static str {
        match self {
            ServerCounters::None => "none",
            ServerCounters::Embedded(c) => c.name(),
            ServerCounters::Redis(c) => c.name(),
        }
    }

    /// Drops expired embedded keys (the server calls it every minute).
    pub fn sweep(&self, now: i64) {
        if let ServerCounters::Embedded(c) = self
            && let Err(e) = c.sweep(now)
        {
            tracing::warn!(error = %e, "sweeping the counters failed");
        }
    }

    /// Writes the embedded snapshot, when one is configured (at shutdown).
    pub fn save(&self, config: &Config) -> Result<(), String> {
        if let ServerCounters::Embedded(c) = self
            && config.store.counters_snapshot
        {
            let path = config.server.data_dir.join("counters.snapshot");
            c.save(&path)
                .map_err(|e| format!("cannot save the counters to {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), keys = c.len(), "counters saved");
        }
        Ok(())
    }
}
