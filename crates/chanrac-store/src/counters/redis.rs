//! The Redis backend: the same counters in Redis (or Valkey), shared by every node.
//!
//! Each key is one Redis string holding the key's counters in the embedded store's word
//! layout (`entry.rs`), distinct sets and their HyperLogLogs included, with a TTL. A
//! [`Counters::apply`] call spreads its keys over the connections by key hash — one *lane*
//! per connection, so that a key always goes through the same connection and one process
//! never conflicts with itself — and each lane applies its operations as optimistic
//! transactions of at most 64 keys:
//!
//! 1. **read**: `WATCH` the keys, `MGET` them;
//! 2. the operations are applied in Rust, by the very code of the embedded store;
//! 3. **write**: `MULTI`, one `SET … PX ttl` per key, `EXEC` — with the read of the next
//!    transaction in the same round trip.
//!
//! If another node changed one of the keys in between, `EXEC` aborts and the transaction is
//! read and applied again; after [`RedisConfig::optimistic_retries`] aborts (a key so hot
//! that optimism keeps losing) it goes through `counters.lua`, which applies the same steps
//! inside Redis, atomically. Either way no update is lost and every transaction is atomic.
//!
//! Why not one Lua call per batch always: on this project's machines Redis's Lua costs
//! about 15 µs per operation, where the optimistic path costs Redis about 4.4 µs per
//! message (see `docs/benchmarks.md`).
//!
//! Faults: connections are made lazily and remade by themselves after a failure (the
//! `redis` crate's `ConnectionManager`); every call is bounded by
//! [`RedisConfig::timeout_ms`] and fails at once when it runs out, so that the caller can
//! decide without the counters (fail-open) or by its fail-closed policy. While the server is
//! unreachable, new connection attempts are made at most every [`RedisConfig::retry_ms`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;

use super::entry::{self, fp32, tag, ttl};
use super::{BoxFuture, Counters, Request, Stats, to_store_time};
use crate::error::CounterError;
use chanrac_core::state::StateOp;

const BACKEND: &str = "redis";

/// The fallback script, loaded once per server (`EVALSHA`, with `SCRIPT LOAD` on a miss).
const SCRIPT: &str = include_str!("counters.lua");

/// How a batch is made atomic.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Atomicity {
    /// `WATCH`/`MULTI`/`EXEC`, with the script after repeated conflicts (the default).
    #[default]
    Optimistic,
    /// Always the script (slower; for comparison and tests).
    Script,
}

/// Configuration of the Redis counters.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// The server: `redis://127.0.0.1:6379`, `redis://:password@host:6379/2` (TLS is not
    /// built in). Default: `redis://127.0.0.1:6379`.
    pub url: String,
    /// Prefix of every key, to share a server with other applications. Default: `chanrac:`.
    pub prefix: String,
    /// The longest a call may take, in milliseconds, before the caller decides without
    /// the counters. Default: 50.
    pub timeout_ms: u64,
    /// While the server is unreachable, the least time between connection attempts, in
    /// milliseconds. Default: 1000.
    pub retry_ms: u64,
    /// Connections: keys are spread over them by hash, and each runs its transactions
    /// on its own (a transaction needs a connection to itself). Default: 4.
    pub connections: usize,
    /// Optimistic attempts that may abort on a conflict before the batch goes through the
    /// script. Default: 2.
    pub optimistic_retries: u32,
    /// `optimistic` (default) or `script`.
    pub atomicity: Atomicity,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "chanrac:".into(),
            timeout_ms: 50,
            retry_ms: 1000,
            connections: 4,
            optimistic_retries: 2,
            atomicity: Atomicity::Optimistic,
        }
    }
}

/// Counters in Redis. Use it inside a Tokio runtime; share it as `Arc`.
pub struct RedisCounters {
    client: redis::Client,
    config: RedisConfig,
    script: redis::Script,
    slots: Vec<tokio::sync::Mutex<Option<ConnectionManager>>>,
    /// When the last connection attempt failed.
    down_since: Mutex<Option<Instant>>,
    calls: AtomicU64,
    ops: AtomicU64,
    failures: AtomicU64,
    timeouts: AtomicU64,
    reconnects: AtomicU64,
    conflicts: AtomicU64,
    scripted: AtomicU64,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> CounterError {
    CounterError::Unavailable {
        backend: BACKEND,
        reason: e.to_string(),
    }
}

/// A lane's work: its index and its values.
type LaneFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = (usize, Result<Vec<u64>, CounterError>)> + Send + 'a>>;

/// The most keys one optimistic transaction watches.
const MAX_WATCHED: usize = 64;

/// A batch ready to send: the distinct keys, and the operations by key index.
struct Batch<'a> {
    keys: Vec<String>,
    ops: Vec<(usize, u32, &'a StateOp)>,
    values: usize,
}

impl<'a> Batch<'a> {
    /// Consecutive runs of operations touching at most `max_keys` distinct keys each (a
    /// run always holds at least one operation), each with its own key list.
    fn chunks(&self, max_keys: usize) -> Vec<Batch<'a>> {
        let mut chunks = Vec::new();
        let mut local: HashMap<usize, usize> = HashMap::new();
        let mut cur = Batch {
            keys: Vec::new(),
            ops: Vec::new(),
            values: 0,
        };
        for &(i, now, op) in &self.ops {
            if !local.contains_key(&i) && cur.keys.len() == max_keys {
                chunks.push(std::mem::replace(
                    &mut cur,
                    Batch {
                        keys: Vec::new(),
                        ops: Vec::new(),
                        values: 0,
                    },
                ));
                local.clear();
            }
            let j = *local.entry(i).or_insert_with(|| {
                cur.keys.push(self.keys[i].clone());
                cur.keys.len() - 1
            });
            cur.ops.push((j, now, op));
            cur.values += op.arity();
        }
        if !cur.ops.is_empty() {
            chunks.push(cur);
        }
        chunks
    }
}

/// Applies a transaction's operations to the stored values, appending to `out`; returns the
/// writes: (key index, value, TTL in milliseconds).
fn apply_chunk(
    b: &Batch<'_>,
    stored: Vec<Option<Vec<u8>>>,
    out: &mut Vec<u64>,
) -> Result<Vec<(usize, Vec<u8>, u64)>, CounterError> {
    if stored.len() != b.keys.len() {
        return Err(CounterError::Protocol {
            backend: BACKEND,
            reason: format!("MGET gave {} values for {} keys", stored.len(), b.keys.len()),
        });
    }
    // A value that is not a well-formed entry (written by something else) starts afresh.
    let mut entries: Vec<Option<Vec<u32>>> = stored
        .into_iter()
        .map(|v| {
            let v = v?;
            if v.len() % 4 != 0 {
                return None;
            }
            let words: Vec<u32> = v
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            entry::is_valid(&words).then_some(words)
        })
        .collect();
    let mut last = vec![0u32; b.keys.len()];
    for &(i, now, op) in &b.ops {
        let words = entries[i].get_or_insert_with(|| entry::fresh(now));
        entry::apply(words, op, now, out);
        last[i] = last[i].max(now);
    }
    Ok(entries
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let w = w.as_ref()?;
            let ttl = w[0].saturating_sub(last[i]).max(1) as u64 * 1000;
            Some((i, w.iter().flat_map(|x| x.to_le_bytes()).collect(), ttl))
        })
        .collect())
}

impl RedisCounters {
    /// Counters on the configured server. Does not connect: the first call does, so that a
    /// node starts (and fails open) while Redis is down. Fails only on an invalid
    /// configuration.
    pub fn new(config: RedisConfig) -> Result<Self, CounterError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| CounterError::Config(format!("redis url {:?}: {e}", config.url)))?;
        if config.timeout_ms == 0 {
            return Err(CounterError::Config("redis timeout_ms must be at least 1".into()));
        }
        let slots = (0..config.connections.clamp(1, 256))
            .map(|_| tokio::sync::Mutex::new(None))
            .collect();
        Ok(RedisCounters {
            client,
            script: redis::Script::new(SCRIPT),
            config,
            slots,
            down_since: Mutex::new(None),
            calls: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            scripted: AtomicU64::new(0),
        })
    }

    /// Connects now and checks that the server answers (`PING`), within the timeout.
    pub async fn connect(&self) -> Result<(), CounterError> {
        let mut slot = self.slots[0].lock().await;
        let mut con = self.connection(&mut slot)?;
        let ping = async { redis::cmd("PING").query_async::<String>(&mut con).await };
        match tokio::time::timeout(self.timeout(), ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                self.connection_failed(&mut slot);
                Err(unavailable(e))
            }
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.timeout_ms)
    }

    /// A client error as a store error: a timeout (counted), or the server unavailable.
    fn redis_error(&self, e: redis::RedisError) -> CounterError {
        if e.is_timeout() {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
            self.timed_out()
        } else {
            unavailable(e)
        }
    }

    fn timed_out(&self) -> CounterError {
        CounterError::Timeout {
            backend: BACKEND,
            millis: self.config.timeout_ms,
        }
    }

    /// The slot's connection, making one if there is none and the last failed attempt is
    /// old enough. A `ConnectionManager` reconnects by itself after I/O errors.
    fn connection(&self, slot: &mut Option<ConnectionManager>) -> Result<ConnectionManager, CounterError> {
        if let Some(c) = slot {
            return Ok(c.clone());
        }
        {
            let down = self.down_since.lock().unwrap_or_else(|e| e.into_inner());
            if down.is_some_and(|at| at.elapsed() < Duration::from_millis(self.config.retry_ms)) {
                return Err(unavailable("not connected (waiting before the next attempt)"));
            }
        }
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout()))
            .set_response_timeout(Some(self.timeout()))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(self.config.retry_ms));
        let c = ConnectionManager::new_lazy_with_config(self.client.clone(), cfg).map_err(unavailable)?;
        if self.calls.load(Ordering::Relaxed) > 1 {
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Forgets a connection that failed, so that a later call makes a new one.
    fn connection_failed(&self, slot: &mut Option<ConnectionManager>) {
        *slot = None;
        *self.down_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Dedups the keys and checks the times.
    fn batch<'a>(&self, requests: &'a [Request<'a>]) -> Result<Batch<'a>, CounterError> {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut b = Batch {
            keys: Vec::new(),
            ops: Vec::new(),
            values: 0,
        };
        for r in requests {
            let now = to_store_time(r.now)?;
            for k in r.ops {
                let i = *index.entry(k.key.as_str()).or_insert_with(|| {
                    b.keys.push(format!("{}{}", self.config.prefix, k.key));
                    b.keys.len() - 1
                });
                b.values += k.op.arity();
                b.ops.push((i, now, &k.op));
            }
        }
        Ok(b)
    }

    /// Spreads the batch over the connections by key (a key always goes through the same
    /// connection, so that one process never conflicts with itself), runs the lanes at
    /// once, and puts the values back in operation order.
    async fn run(&self, requests: &[Request<'_>], out: &mut Vec<u64>) -> Result<(), CounterError> {
        out.clear();
        let batch = self.batch(requests)?;
        if batch.ops.is_empty() {
            return Ok(());
        }
        let n = self.slots.len();
        let mut lanes: Vec<Batch<'_>> = (0..n)
            .map(|_| Batch {
                keys: Vec::new(),
                ops: Vec::new(),
                values: 0,
            })
            .collect();
        // For each lane, where each of its operations' values go in `out`.
        let mut places: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        let mut local: Vec<(usize, usize)> = Vec::with_capacity(batch.keys.len());
        for key in &batch.keys {
            let lane = (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % n as u64) as usize;
            lanes[lane].keys.push(key.clone());
            local.push((lane, lanes[lane].keys.len() - 1));
        }
        let mut offset = 0;
        for &(i, now, op) in &batch.ops {
            let (lane, j) = local[i];
            lanes[lane].ops.push((j, now, op));
            lanes[lane].values += op.arity();
            places[lane].push((offset, op.arity()));
            offset += op.arity();
        }
        let tasks: Vec<LaneFuture<'_>> = lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.ops.is_empty())
            .map(|(k, l)| Box::pin(async move { (k, self.run_lane(k, l).await) }) as LaneFuture<'_>)
            .collect();
        let results = crate::join::join_all(tasks).await;
        out.resize(batch.values, 0);
        for (k, r) in results {
            let values = r?;
            let mut at = 0;
            for &(off, arity) in &places[k] {
                let v = values.get(at..at + arity).ok_or_else(|| CounterError::Protocol {
                    backend: BACKEND,
                    reason: format!("{} values for {} expected", values.len(), lanes[k].values),
                })?;
                out[off..off + arity].copy_from_slice(v);
                at += arity;
            }
        }
        Ok(())
    }

    /// One lane: its connection, its transactions, its timeout.
    async fn run_lane(&self, lane: usize, b: &Batch<'_>) -> Result<Vec<u64>, CounterError> {
        let mut guard = self.slots[lane].lock().await;
        let mut con = self.connection(&mut guard)?;
        let mut out = Vec::with_capacity(b.values);
        let result = match tokio::time::timeout(self.timeout(), self.run_on(&mut con, b, &mut out)).await {
            Ok(r) => r,
            Err(_) => {
                // The connection may be left in a transaction: start the next call afresh.
                *guard = None;
                self.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(self.timed_out())
            }
        };
        match &result {
            Err(CounterError::Unavailable { .. }) => self.connection_failed(&mut guard),
            // The connection may be left in a transaction: the next call makes a new one.
            Err(CounterError::Timeout { .. }) => *guard = None,
            _ => {}
        }
        result?;
        if out.len() != b.values {
            return Err(CounterError::Protocol {
                backend: BACKEND,
                reason: format!("{} values for {} expected", out.len(), b.values),
            });
        }
        Ok(out)
    }

    async fn run_on(&self, con: &mut ConnectionManager, b: &Batch<'_>, out: &mut Vec<u64>) -> Result<(), CounterError> {
        if self.config.atomicity == Atomicity::Script {
            self.scripted.fetch_add(1, Ordering::Relaxed);
            return self.scripted_run(con, b, out).await;
        }
        // Redis checks each watched key against every key the transaction already watches:
        // a transaction watches at most MAX_WATCHED keys, and a batch is several of them, in
        // order. The read of the next transaction rides in the round trip of the current
        // one's write: Redis runs a connection's commands in order, so it sees that write.
        let chunks = b.chunks(MAX_WATCHED);
        let mut prefetched = None;
        for (k, chunk) in chunks.iter().enumerate() {
            let next = chunks.get(k + 1);
            let mark = out.len();
            let mut aborted = 0;
            loop {
                out.truncate(mark);
                let stored = match prefetched.take() {
                    Some(s) => s,
                    None => self.read(con, chunk).await?,
                };
                let writes = apply_chunk(chunk, stored, out)?;
                let (committed, next_read) = self.write(con, chunk, &writes, next).await?;
                if committed {
                    prefetched = next_read;
                    break;
                }
                self.conflicts.fetch_add(1, Ordering::Relaxed);
                aborted += 1;
                if aborted > self.config.optimistic_retries {
                    out.truncate(mark);
                    self.scripted.fetch_add(1, Ordering::Relaxed);
                    self.scripted_run(con, chunk, out).await?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// `WATCH` and `MGET` the keys of a transaction (after dropping any earlier watch).
    async fn read(&self, con: &mut ConnectionManager, b: &Batch<'_>) -> Result<Vec<Option<Vec<u8>>>, CounterError> {
        let mut read = redis::pipe();
        read.cmd("UNWATCH").ignore();
        read.cmd("WATCH").arg(&b.keys).ignore();
        read.cmd("MGET").arg(&b.keys);
        let (stored,): (Vec<Option<Vec<u8>>>,) = read.query_async(con).await.map_err(|e| self.redis_error(e))?;
        Ok(stored)
    }

    /// `MULTI`, the writes, `EXEC` — then, in the same round trip, the read of the next
    /// transaction. Returns whether `EXEC` committed, and the next read.
    async fn write(
        &self,
        con: &mut ConnectionManager,
        b: &Batch<'_>,
        writes: &[(usize, Vec<u8>, u64)],
        next: Option<&Batch<'_>>,
    ) -> Result<(bool, Option<Vec<Option<Vec<u8>>>>), CounterError> {
        let mut p = redis::pipe();
        p.cmd("MULTI").ignore();
        for (i, bytes, ttl) in writes {
            p.cmd("SET")
                .arg(&b.keys[*i])
                .arg(bytes.as_slice())
                .arg("PX")
                .arg(*ttl)
                .ignore();
        }
        p.cmd("EXEC");
        if let Some(n) = next {
            p.cmd("WATCH").arg(&n.keys).ignore();
            p.cmd("MGET").arg(&n.keys);
        }
        let mut replies: Vec<redis::Value> = p.query_async(con).await.map_err(|e| self.redis_error(e))?;
        let protocol = |reason: String| CounterError::Protocol {
            backend: BACKEND,
            reason,
        };
        let next_read = match next {
            Some(_) => {
                let v = replies.pop().ok_or_else(|| protocol("no reply to MGET".into()))?;
                Some(redis::from_redis_value::<Vec<Option<Vec<u8>>>>(v).map_err(|e| protocol(e.to_string()))?)
            }
            None => None,
        };
        match replies.pop() {
            Some(redis::Value::Nil) => Ok((false, None)),
            Some(redis::Value::Array(_)) => Ok((true, next_read)),
            other => Err(protocol(format!("EXEC answered {other:?}"))),
        }
    }

    /// The batch through `counters.lua`, atomically inside Redis.
    async fn scripted_run(
        &self,
        con: &mut ConnectionManager,
        b: &Batch<'_>,
        out: &mut Vec<u64>,
    ) -> Result<(), CounterError> {
        let mut blob: Vec<u8> = Vec::with_capacity(b.ops.len() * 52);
        for &(i, now, op) in &b.ops {
            let (kind, member, windows, nw, hist) = match op {
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
                i as u32 + 1,
                now,
                kind,
                fp32(member),
                tag(op),
                ttl(op),
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
        let mut inv = self.script.prepare_invoke();
        for k in &b.keys {
            inv.key(k);
        }
        inv.arg(blob);
        let values: Vec<i64> = inv.invoke_async(con).await.map_err(|e| self.redis_error(e))?;
        out.extend(values.into_iter().map(|v| v.max(0) as u64));
        Ok(())
    }
}

impl Counters for RedisCounters {
    fn apply<'a>(
        &'a self,
        requests: &'a [Request<'a>],
        out: &'a mut Vec<u64>,
    ) -> BoxFuture<'a, Result<(), CounterError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::Relaxed);
            // The inner timeout bounds the round trips; this one also bounds the wait for a
            // free connection.
            let result = match tokio::time::timeout(2 * self.timeout(), self.run(requests, out)).await {
                Ok(r) => r,
                Err(_) => {
                    self.timeouts.fetch_add(1, Ordering::Relaxed);
                    Err(self.timed_out())
                }
            };
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
            conflicts: self.conflicts.load(Ordering::Relaxed),
            scripted: self.scripted.load(Ordering::Relaxed),
            ..Stats::default()
        }
    }

    fn name(&self) -> &'static str {
        BACKEND
    }
}
