//! The embedded backend: counters in process, sharded, time-bucketed, bounded in memory.
//!
//! Keys are hashed (xxh3, 64 bits) and spread over shards, each a hash map behind its own
//! mutex, so that threads rarely wait for one another. Each key's counters are one compact
//! array of `u32` words (see `entry.rs`): a sender's count over three windows and its
//! history of a few recipients take about a hundred bytes.
//!
//! Memory is bounded: when a shard holds its share of [`EmbeddedConfig::max_keys`], expired
//! keys are dropped and, if that is not enough, about an eighth of the shard — the least
//! recently touched keys — is evicted. Expired keys are also swept once per shard-size
//! operations, so the sweep costs O(1) per operation.
//!
//! [`EmbeddedCounters::save`] writes a snapshot (all keys, with a checksum) that
//! [`EmbeddedCounters::open`] loads again, so that a restart does not forget the windows.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use xxhash_rust::xxh3::xxh3_64;

use super::entry;
use super::{BoxFuture, Counters, Request, Stats, to_store_time};
use crate::error::CounterError;
use chanrac_core::state::StateKey;

/// Configuration of the embedded counters.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedConfig {
    /// The most keys held; the least recently touched are evicted beyond. A tracked sender
    /// takes one key (about 100–200 bytes), a recipient and a recent text a few more.
    /// Default: 8,000,000.
    pub max_keys: usize,
    /// The number of shards (rounded up to a power of two). Default: 64.
    pub shards: usize,
    /// A snapshot file: loaded by [`EmbeddedCounters::open`] when it exists, written by
    /// [`EmbeddedCounters::close`]. Default: none.
    pub snapshot: Option<PathBuf>,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        EmbeddedConfig {
            max_keys: 8_000_000,
            shards: 64,
            snapshot: None,
        }
    }
}

/// Keys are already xxh3 hashes: the map uses them as they are.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Entries are boxed slices (no spare capacity, 8 bytes smaller than a `Vec`).
type Map = HashMap<u64, Box<[u32]>, BuildHasherDefault<KeyHasher>>;

#[derive(Debug, Default)]
struct Shard {
    map: Map,
    /// Operations since the last sweep of expired keys.
    since_sweep: usize,
}

/// Counters in process. Cheap to share (`Arc`); every method takes `&self`.
#[derive(Debug)]
pub struct EmbeddedCounters {
    shards: Box<[Mutex<Shard>]>,
    shard_shift: u32,
    per_shard: usize,
    config: EmbeddedConfig,
    calls: AtomicU64,
    ops: AtomicU64,
    evicted: AtomicU64,
}

impl Default for EmbeddedCounters {
    fn default() -> Self {
        Self::new(EmbeddedConfig::default())
    }
}

const MAGIC: &[u8; 16] = b"chanrac-counters";
const VERSION: u32 = 1;

impl EmbeddedCounters {
    /// Empty counters (the snapshot, if configured, is not read: see [`Self::open`]).
    pub fn new(config: EmbeddedConfig) -> Self {
        let n = config.shards.clamp(1, 4096).next_power_of_two();
        let shards = (0..n).map(|_| Mutex::new(Shard::default())).collect();
        EmbeddedCounters {
            shards,
            shard_shift: 64 - n.trailing_zeros(),
            per_shard: (config.max_keys / n).max(16),
            config,
            calls: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    /// Counters, loaded from the configured snapshot when the file exists.
    pub fn open(config: EmbeddedConfig) -> Result<Self, CounterError> {
        let store = Self::new(config);
        if let Some(path) = store.config.snapshot.clone()
            && path.exists()
        {
            store.load(&path)?;
        }
        Ok(store)
    }

    /// Writes the configured snapshot, if any, and drops the counters.
    pub fn close(self) -> Result<(), CounterError> {
        if let Some(path) = &self.config.snapshot {
            self.save(path)?;
        }
        Ok(())
    }

    fn shard(&self, h: u64) -> &Mutex<Shard> {
        let i = if self.shard_shift >= 64 {
            0
        } else {
            (h >> self.shard_shift) as usize
        };
        &self.shards[i]
    }

    /// Applies the requests synchronously (what [`Counters::apply`] does).
    pub fn apply_sync(&self, requests: &[Request<'_>], out: &mut Vec<u64>) -> Result<(), CounterError> {
        out.clear();
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut ops = 0;
        for r in requests {
            let now = to_store_time(r.now)?;
            // A message often names one key twice in a row (a sender's count and its
            // history): its hash is computed once.
            let mut last: Option<(&str, u64)> = None;
            for k in r.ops {
                let h = match last {
                    Some((key, h)) if key == k.key => h,
                    _ => xxh3_64(k.key.as_bytes()),
                };
                last = Some((&k.key, h));
                self.apply_one(h, k, now, out);
            }
            ops += r.ops.len() as u64;
        }
        self.ops.fetch_add(ops, Ordering::Relaxed);
        Ok(())
    }

    /// Applies one operation on the key hashed `h` at `now` (seconds since 2000, see
    /// [`to_store_time`]).
    fn apply_one(&self, h: u64, k: &StateKey, now: u32, out: &mut Vec<u64>) {
        // A poisoned lock only means another thread panicked while holding it; the entry
        // format is checked on every access, so the data is still usable.
        let mut shard = self.shard(h).lock().unwrap_or_else(|e| e.into_inner());
        // Sweeping the expired keys once per half a shard's worth of operations costs about
        // two entry visits per operation.
        shard.since_sweep += 1;
        if shard.since_sweep > (shard.map.len() / 2).max(4096) {
            shard.since_sweep = 0;
            shard.map.retain(|_, w| !entry::expired(w, now));
        }
        if !shard.map.contains_key(&h) && shard.map.len() >= self.per_shard {
            let evicted = evict(&mut shard.map, now, self.per_shard);
            self.evicted.fetch_add(evicted as u64, Ordering::Relaxed);
        }
        let slot = shard
            .map
            .entry(h)
            .or_insert_with(|| entry::fresh(now).into_boxed_slice());
        let mut words = std::mem::take(slot).into_vec();
        entry::apply(&mut words, &k.op, now, out);
        *slot = words.into_boxed_slice();
    }

    /// Drops every key expired at `now` (Unix seconds). Keys are also swept as operations
    /// go; call this after a pause in traffic to give the memory back at once.
    pub fn sweep(&self, now: i64) -> Result<(), CounterError> {
        let now = to_store_time(now)?;
        for s in self.shards.iter() {
            let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
            s.map.retain(|_, w| !entry::expired(w, now));
            s.since_sweep = 0;
        }
        Ok(())
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).map.len())
            .sum()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An estimate of the heap memory the counters use, in bytes: the maps' tables and the
    /// entries' arrays (without the allocator's own overhead; measure the process's RSS for
    /// that).
    pub fn heap_bytes(&self) -> usize {
        let slot = size_of::<(u64, Box<[u32]>)>() + 1;
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.map.capacity() * slot + s.map.values().map(|w| w.len() * 4).sum::<usize>()
            })
            .sum()
    }

    /// Writes every key to `path` (through a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), CounterError> {
        let err = |reason: &str, source: Option<std::io::Error>| CounterError::Snapshot {
            path: path.display().to_string(),
            reason: reason.to_string(),
            source,
        };
        let mut body: Vec<u8> = Vec::with_capacity(1 << 20);
        body.extend_from_slice(MAGIC);
        body.extend_from_slice(&VERSION.to_le_bytes());
        let mut keys = 0u64;
        let count_at = body.len();
        body.extend_from_slice(&0u64.to_le_bytes());
        for s in self.shards.iter() {
            let s = s.lock().unwrap_or_else(|e| e.into_inner());
            for (k, w) in &s.map {
                body.extend_from_slice(&k.to_le_bytes());
                body.extend_from_slice(&(w.len() as u32).to_le_bytes());
                for x in w {
                    body.extend_from_slice(&x.to_le_bytes());
                }
                keys += 1;
            }
        }
        body[count_at..count_at + 8].copy_from_slice(&keys.to_le_bytes());
        let sum = xxh3_64(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| err("cannot write", Some(e)))
    }

    /// Adds every key of the snapshot at `path` (keys already held are replaced).
    pub fn load(&self, path: &Path) -> Result<(), CounterError> {
        let err = |reason: &str, source: Option<std::io::Error>| CounterError::Snapshot {
            path: path.display().to_string(),
            reason: reason.to_string(),
            source,
        };
        let data = std::fs::read(path).map_err(|e| err("cannot read", Some(e)))?;
        if data.len() < MAGIC.len() + 4 + 8 + 8 || &data[..MAGIC.len()] != MAGIC {
            return Err(err("not a chanrac counters snapshot", None));
        }
        let (body, sum) = data.split_at(data.len() - 8);
        if xxh3_64(body).to_le_bytes() != sum {
            return Err(err("the checksum does not match: the file is damaged", None));
        }
        let mut r = Reader {
            data: body,
            at: MAGIC.len(),
        };
        let version = r.u32().ok_or_else(|| err("truncated", None))?;
        if version != VERSION {
            return Err(err(
                &format!("version {version} is not supported (expected {VERSION})"),
                None,
            ));
        }
        let keys = r.u64().ok_or_else(|| err("truncated", None))?;
        for _ in 0..keys {
            let (Some(k), Some(n)) = (r.u64(), r.u32()) else {
                return Err(err("truncated", None));
            };
            let mut words = Vec::with_capacity((n as usize).min(body.len() / 4));
            for _ in 0..n {
                words.push(r.u32().ok_or_else(|| err("truncated", None))?);
            }
            if !entry::is_valid(&words) {
                return Err(err("an entry is malformed", None));
            }
            let mut shard = self.shard(k).lock().unwrap_or_else(|e| e.into_inner());
            shard.map.insert(k, words.into_boxed_slice());
        }
        if r.at != body.len() {
            return Err(err("trailing bytes after the last entry", None));
        }
        Ok(())
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.data.get(self.at..self.at + N)?;
        self.at += N;
        b.try_into().ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
}

/// Makes room in a full shard: drops expired keys, then about an eighth of the shard, the
/// least recently touched. Returns how many keys were evicted (expired ones not counted).
fn evict(map: &mut Map, now: u32, cap: usize) -> usize {
    map.retain(|_, w| !entry::expired(w, now));
    let target = cap - cap / 8;
    if map.len() < target {
        return 0;
    }
    // The coldest eighth, judged from a sample (the map's order is the keys' hash order,
    // which is random).
    let mut sample: Vec<u32> = map.values().take(1024).map(|w| entry::touched(w)).collect();
    sample.sort_unstable();
    let cutoff = sample[sample.len() / 8];
    let mut to_evict = map.len() + 1 - target;
    let before = map.len();
    map.retain(|_, w| {
        if to_evict > 0 && entry::touched(w) <= cutoff {
            to_evict -= 1;
            false
        } else {
            true
        }
    });
    // Ties above the cutoff can leave the shard full: then evict by age order, whatever it is.
    if map.len() >= cap {
        let mut extra = map.len() + 1 - target;
        map.retain(|_, _| {
            if extra > 0 {
                extra -= 1;
                false
            } else {
                true
            }
        });
    }
    before - map.len()
}

impl Counters for EmbeddedCounters {
    fn apply<'a>(
        &'a self,
        requests: &'a [Request<'a>],
        out: &'a mut Vec<u64>,
    ) -> BoxFuture<'a, Result<(), CounterError>> {
        let result = self.apply_sync(requests, out);
        Box::pin(std::future::ready(result))
    }

    fn stats(&self) -> Stats {
        Stats {
            calls: self.calls.load(Ordering::Relaxed),
            ops: self.ops.load(Ordering::Relaxed),
            keys: self.len() as u64,
            evicted: self.evicted.load(Ordering::Relaxed),
            ..Stats::default()
        }
    }

    fn name(&self) -> &'static str {
        "embedded"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chanrac_core::state::{StateOp, Windows};

    fn count(key: &str) -> StateKey {
        StateKey {
            key: key.to_string(),
            op: StateOp::Count {
                windows: Windows::new(&[3600]).unwrap(),
            },
        }
    }

    const NOW: i64 = 1_795_316_400;

    #[test]
    fn a_flood_of_random_keys_stays_bounded() {
        let c = EmbeddedCounters::new(EmbeddedConfig {
            max_keys: 1000,
            shards: 4,
            snapshot: None,
        });
        let mut out = Vec::new();
        for i in 0..20_000 {
            let ops = [count(&format!("s:{i}"))];
            c.apply_sync(
                &[Request {
                    now: NOW + i / 100,
                    ops: &ops,
                }],
                &mut out,
            )
            .unwrap();
        }
        assert!(c.len() <= 1000, "{}", c.len());
        assert!(c.stats().evicted >= 19_000 - 1000, "{:?}", c.stats());
        // The most recent keys survived.
        let ops = [count("s:19999")];
        c.apply_sync(
            &[Request {
                now: NOW + 200,
                ops: &ops,
            }],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, vec![2]);
    }

    #[test]
    fn snapshots_refuse_damage() {
        let dir = std::env::temp_dir().join(format!("chanrac-store-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.snap");
        let c = EmbeddedCounters::default();
        let mut out = Vec::new();
        c.apply_sync(
            &[Request {
                now: NOW,
                ops: &[count("a")],
            }],
            &mut out,
        )
        .unwrap();
        c.save(&path).unwrap();
        let mut data = std::fs::read(&path).unwrap();
        let mid = data.len() / 2;
        data[mid] ^= 1;
        std::fs::write(&path, &data).unwrap();
        let e = EmbeddedCounters::default().load(&path).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        std::fs::write(&path, b"hello").unwrap();
        let e = EmbeddedCounters::default().load(&path).unwrap_err().to_string();
        assert!(e.contains("not a chanrac counters snapshot"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
