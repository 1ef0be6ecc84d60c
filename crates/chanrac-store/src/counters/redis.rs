//! The Redis backend: the same counters in Redis (or Valkey), shared by every node.
//!
//! One [`Counters::apply`] call is one `EVALSHA` of `counters.lua`, carrying every
//! operation of every message of the batch: one round trip per batch, and the whole batch
//! applied atomically. Calls made concurrently share one multiplexed connection and are
//! pipelined on it. Each key is one string (the same word layout as the embedded store)
//! with a TTL; distinct sets of more than 64 members live in Redis HyperLogLogs.
//!
//! Faults: the connection is made lazily and remade by itself after a failure (the
//! `redis` crate's `ConnectionManager`); every call is bounded by
//! [`RedisConfig::timeout_ms`], and a call that fails or times out returns an error at once,
//! so that the caller can decide without the counters (fail-open) or by its fail-closed
//! policy. While the server is unreachable, new connection attempts are made at most every
//! [`RedisConfig::retry_ms`], and calls in between fail immediately.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;

use super::entry::{fp32, tag, ttl};
use super::{BoxFuture, Counters, Request, Stats, to_store_time};
use crate::error::StoreError;
use chanrac_core::state::StateOp;

const BACKEND: &str = "redis";

/// The script, loaded once per server (`EVALSHA`, with `SCRIPT LOAD` on a miss).
const SCRIPT: &str = include_str!("counters.lua");

/// Configuration of the Redis counters.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// The server: `redis://127.0.0.1:6379`, `redis://:password@host:6379/2`,
    /// `rediss://…` for TLS is not built in. Default: `redis://127.0.0.1:6379`.
    pub url: String,
    /// Prefix of every key, to share a server with other applications. Default: `chanrac:`.
    pub prefix: String,
    /// The longest a call may take, in milliseconds, before the caller decides without
    /// the counters. Default: 50.
    pub timeout_ms: u64,
    /// While the server is unreachable, the least time between connection attempts, in
    /// milliseconds. Default: 1000.
    pub retry_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "chanrac:".into(),
            timeout_ms: 50,
            retry_ms: 1000,
        }
    }
}

/// Counters in Redis. Create it inside a Tokio runtime; share it as `Arc`.
pub struct RedisCounters {
    client: redis::Client,
    config: RedisConfig,
    script: redis::Script,
    conn: Mutex<Conn>,
    calls: AtomicU64,
    ops: AtomicU64,
    failures: AtomicU64,
    timeouts: AtomicU64,
    reconnects: AtomicU64,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The connection, or when the last attempt to make one failed.
enum Conn {
    Up(ConnectionManager),
    Down(Option<Instant>),
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable {
        backend: BACKEND,
        reason: e.to_string(),
    }
}

impl RedisCounters {
    /// Counters on the configured server. Does not connect: the first call does, so that a
    /// node starts (and fails open) while Redis is down. Fails only on an invalid URL.
    pub fn new(config: RedisConfig) -> Result<Self, StoreError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| StoreError::Config(format!("redis url {:?}: {e}", config.url)))?;
        if config.timeout_ms == 0 {
            return Err(StoreError::Config("redis timeout_ms must be at least 1".into()));
        }
        Ok(RedisCounters {
            client,
            script: redis::Script::new(SCRIPT),
            config,
            conn: Mutex::new(Conn::Down(None)),
            calls: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
        })
    }

    /// Connects now and checks that the server answers (`PING`), within the timeout.
    pub async fn connect(&self) -> Result<(), StoreError> {
        let mut con = self.connection()?;
        let ping = async { redis::cmd("PING").query_async::<String>(&mut con).await };
        match tokio::time::timeout(self.timeout(), ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.timeout_ms)
    }

    fn timed_out(&self) -> StoreError {
        StoreError::Timeout {
            backend: BACKEND,
            millis: self.config.timeout_ms,
        }
    }

    /// The connection manager, making one if there is none and the last attempt is old
    /// enough. The manager itself reconnects after I/O errors.
    fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        match &*conn {
            Conn::Up(c) => return Ok(c.clone()),
            Conn::Down(Some(at)) if at.elapsed() < Duration::from_millis(self.config.retry_ms) => {
                return Err(unavailable("not connected (waiting before the next attempt)"));
            }
            Conn::Down(_) => {}
        }
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout()))
            .set_response_timeout(Some(self.timeout()))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(self.config.retry_ms));
        match ConnectionManager::new_lazy_with_config(self.client.clone(), cfg) {
            Ok(c) => {
                if self.calls.load(Ordering::Relaxed) > 0 {
                    self.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                *conn = Conn::Up(c.clone());
                Ok(c)
            }
            Err(e) => {
                *conn = Conn::Down(Some(Instant::now()));
                Err(unavailable(e))
            }
        }
    }

    /// Forgets a connection that failed, so that the next call after `retry_ms` makes a
    /// new one (the manager may also have reconnected by itself meanwhile).
    fn connection_failed(&self) {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        *conn = Conn::Down(Some(Instant::now()));
    }

    async fn run(&self, requests: &[Request<'_>], out: &mut Vec<u64>) -> Result<(), StoreError> {
        out.clear();
        // Keys are sent once per batch; operations refer to them by index.
        let mut index: HashMap<&str, u32> = HashMap::new();
        let mut keys: Vec<String> = Vec::new();
        let mut blob: Vec<u8> = Vec::new();
        let mut expected = 0;
        for r in requests {
            let now = to_store_time(r.now)?;
            for k in r.ops {
                let i = *index.entry(k.key.as_str()).or_insert_with(|| {
                    keys.push(format!("{}{}", self.config.prefix, k.key));
                    keys.len() as u32
                });
                expected += k.op.arity();
                let (kind, member, windows, nw, hist) = match &k.op {
                    StateOp::Count { windows } => (1, 0, windows, 0, 0),
                    StateOp::Distinct { member, windows } => (2, *member, windows, 0, 0),
                    StateOp::History {
                        member,
                        windows,
                        new_window,
                        history,
                    } => (3, *member, windows, *new_window, *history),
                };
                let mut w = [0u32; 4];
                w[..windows.len()].copy_from_slice(windows.as_slice());
                let words = [
                    i,
                    now,
                    kind,
                    fp32(member),
                    tag(&k.op),
                    ttl(&k.op),
                    windows.len() as u32,
                    w[0],
                    w[1],
                    w[2],
                    w[3],
                    nw,
                    hist,
                ];
                for x in words {
                    blob.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        if blob.is_empty() {
            return Ok(());
        }
        let mut con = self.connection()?;
        let mut inv = self.script.prepare_invoke();
        for k in &keys {
            inv.key(k);
        }
        inv.arg(blob);
        let call = inv.invoke_async::<Vec<i64>>(&mut con);
        let values = match tokio::time::timeout(self.timeout(), call).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
                    self.connection_failed();
                }
                return Err(unavailable(e));
            }
            Err(_) => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
                return Err(self.timed_out());
            }
        };
        if values.len() != expected {
            return Err(StoreError::Protocol {
                backend: BACKEND,
                reason: format!("{} values for {expected} expected", values.len()),
            });
        }
        out.extend(values.into_iter().map(|v| v.max(0) as u64));
        Ok(())
    }
}

impl Counters for RedisCounters {
    fn apply<'a>(
        &'a self,
        requests: &'a [Request<'a>],
        out: &'a mut Vec<u64>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = self.run(requests, out).await;
            match &result {
                Ok(()) => {
                    let n: usize = requests.iter().map(|r| r.ops.len()).sum();
                    self.ops.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(_) => {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            result
        })
    }

    fn stats(&self) -> Stats {
        Stats {
            calls: self.calls.load(Ordering::Relaxed),
            ops: self.ops.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            ..Stats::default()
        }
    }

    fn name(&self) -> &'static str {
        BACKEND
    }
}
