//! `chanrac scan --stateful`: replaying traffic through the velocity detector's counters.
//!
//! The reader thread is the only one that touches the counters: for each batch of rows, in
//! input order, it asks the engine which counters each message touches, gives each message
//! its time on the replay clock, and applies the whole batch in one call (one Redis round
//! trip). The workers then score each message with its values. So the counters see the
//! messages in file order, whatever the number of workers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use chanrac_core::state::StatePlan;
use chanrac_core::velocity::SIGNALS;
use chanrac_core::{Action, Engine, Scratch, Verdict};
use chanrac_store::{Counters, EmbeddedConfig, EmbeddedCounters, Request, Stats};
use chanrac_traffic::EventKind;
use clap::Args;
use serde::Serialize;

use crate::input::Row;

/// Options of `scan --stateful`.
#[derive(Debug, Args, Clone)]
pub struct StateArgs {
    /// Keep the frequency, fan-out and campaign counters (velocity detector) while reading;
    /// windows follow each line's `received_at`.
    #[arg(long)]
    pub stateful: bool,
    /// Keep the counters in Redis at this URL (shared with other nodes) instead of in
    /// process.
    #[arg(long, value_name = "URL", requires = "stateful")]
    pub redis: Option<String>,
    /// The longest a Redis call may take before the batch is judged without counters
    /// (fail-open, DETECTOR_FAILED), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000, requires = "redis")]
    pub redis_timeout_ms: u64,
    /// The prefix of the Redis keys (replays that must not see each other's counters use
    /// different prefixes).
    #[arg(long, value_name = "PREFIX", default_value = "chanrac:", requires = "redis")]
    pub redis_prefix: String,
    /// Load the in-process counters from FILE when it exists, and save them there at the
    /// end, so that the next replay continues where this one stopped.
    #[arg(long, value_name = "FILE", requires = "stateful", conflicts_with = "redis")]
    pub snapshot: Option<PathBuf>,
    /// The most keys kept in process (the least recently touched are evicted beyond).
    #[arg(long, value_name = "N", default_value_t = 8_000_000)]
    pub max_keys: usize,
    /// A line stamped more than this many seconds after the replay clock is counted at the
    /// clock, unless 8 lines in a row agree that time moved on.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub max_jump: u64,
    /// A subscriber file: `number,activated_at` per line (RFC 3339 or Unix seconds; a
    /// header line and `#` comments are skipped). A message whose sender is in it and that
    /// carries no `sim_activated_at` of its own gets the file's date (for `NEW_SIM_BURST`).
    #[arg(long, value_name = "FILE", requires = "stateful")]
    pub subscribers: Option<PathBuf>,
}

/// Reads a subscriber file into canonical number → activation time (Unix seconds).
pub fn load_subscribers(path: &std::path::Path) -> Result<std::collections::HashMap<String, i64>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    let mut out = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (number, at) = line
            .split_once([',', '\t'])
            .with_context(|| format!("{name}:{}: expected `number,activated_at`, found {line:?}", i + 1))?;
        let key = match chanrac_core::phone::parse_number(number.trim()) {
            Ok(Some(p)) => p.key,
            _ if i == 0 => continue, // a header line
            _ => anyhow::bail!("{name}:{}: {:?} is not a phone number", i + 1, number.trim()),
        };
        let at = crate::parse_time(at).map_err(|e| anyhow::anyhow!("{name}:{}: {e}", i + 1))?;
        out.insert(key, at);
    }
    Ok(out)
}

/// A row's counters: the plan and the values (`None` when the store could not answer).
#[derive(Debug)]
pub struct RowState {
    /// What the engine asked for.
    pub plan: StatePlan,
    /// The values, in plan order.
    pub values: Option<Vec<u64>>,
}

/// How many lines in a row must agree on a jump forward before the clock follows.
const JUMP_AGREEMENT: u32 = 8;

/// The replay clock: the time each message is counted at.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Clock {
    #[serde(skip)]
    now: Option<i64>,
    #[serde(skip)]
    max_jump: i64,
    #[serde(skip)]
    ahead: u32,
    /// Lines stamped before the clock (counted at each counter's latest time).
    pub late: u64,
    /// Lines stamped too far after the clock, counted at the clock.
    pub clamped: u64,
    /// Lines without a time, counted at the clock.
    pub untimed: u64,
}

impl Clock {
    /// The time to count a message stamped `t` at.
    fn time(&mut self, t: Option<i64>) -> i64 {
        let Some(now) = self.now else {
            let t = t.unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
            self.now = Some(t);
            return t;
        };
        let Some(t) = t else {
            self.untimed += 1;
            return now;
        };
        if t < now {
            self.ahead = 0;
            if now - t > self.max_jump {
                self.clamped += 1;
                return now;
            }
            self.late += 1;
            return t;
        }
        if t - now > self.max_jump {
            self.ahead += 1;
            if self.ahead < JUMP_AGREEMENT {
                self.clamped += 1;
                return now;
            }
        }
        self.ahead = 0;
        self.now = Some(t);
        t
    }
}

/// The reader's side of `--stateful`.
pub struct StateStage {
    store: Arc<dyn Counters>,
    embedded: Option<Arc<EmbeddedCounters>>,
    runtime: Option<tokio::runtime::Runtime>,
    clock: Clock,
    scratch: Scratch,
    values: Vec<u64>,
    failed_batches: u64,
    first_error: Option<String>,
    /// Activation times from `--subscribers`, by canonical number.
    subscribers: std::collections::HashMap<String, i64>,
}

impl StateStage {
    /// Opens the counters.
    pub fn new(args: &StateArgs) -> Result<StateStage> {
        let clock = Clock {
            max_jump: args.max_jump.min(i64::MAX as u64) as i64,
            ..Clock::default()
        };
        let mut stage = StateStage {
            store: Arc::new(EmbeddedCounters::default()),
            embedded: None,
            runtime: None,
            clock,
            scratch: Scratch::default(),
            values: Vec::new(),
            failed_batches: 0,
            first_error: None,
            subscribers: match &args.subscribers {
                Some(p) => load_subscribers(p)?,
                None => Default::default(),
            },
        };
        match &args.redis {
            Some(url) => stage.open_redis(url, args)?,
            None => {
                let config = EmbeddedConfig {
                    max_keys: args.max_keys,
                    snapshot: args.snapshot.clone(),
                    ..EmbeddedConfig::default()
                };
                let store = Arc::new(EmbeddedCounters::open(config).context("cannot open the counters")?);
                stage.store = store.clone();
                stage.embedded = Some(store);
            }
        }
        Ok(stage)
    }

    #[cfg(feature = "redis")]
    fn open_redis(&mut self, url: &str, args: &StateArgs) -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the Redis client")?;
        let config = chanrac_store::RedisConfig {
            url: url.to_string(),
            prefix: args.redis_prefix.clone(),
            timeout_ms: args.redis_timeout_ms,
            ..Default::default()
        };
        let store = runtime.block_on(async { chanrac_store::RedisCounters::new(config) })?;
        // Say so at once when the server is not there; the replay still runs (fail-open).
        if let Err(e) = runtime.block_on(store.connect()) {
            eprintln!("chanrac: warning: {e}; messages are judged without counters until it answers");
        }
        self.store = Arc::new(store);
        self.runtime = Some(runtime);
        Ok(())
    }

    #[cfg(not(feature = "redis"))]
    fn open_redis(&mut self, _url: &str, _args: &StateArgs) -> Result<()> {
        anyhow::bail!("this chanrac was built without the `redis` feature")
    }

    /// Plans, times and applies one batch, in order; fills each row's state.
    pub fn process(&mut self, engine: &Engine, rows: &mut [Row]) {
        let mut times = Vec::with_capacity(rows.len());
        for row in rows.iter_mut() {
            if !self.subscribers.is_empty()
                && row.msg.meta.sim_activated_at.is_none()
                && let Some(Ok(Some(p))) = row.msg.sender.as_deref().map(chanrac_core::phone::parse_number)
                && let Some(&at) = self.subscribers.get(&p.key)
            {
                row.msg.meta.sim_activated_at = Some(at);
            }
            let at = self.clock.time(row.msg.received_at);
            if row.msg.received_at.is_none() {
                row.msg.received_at = Some(at);
            }
            times.push(at);
            let plan = engine.state_plan(&row.msg, &mut self.scratch);
            row.state = Some(RowState { plan, values: None });
        }
        let requests: Vec<Request<'_>> = rows
            .iter()
            .zip(&times)
            .filter_map(|(r, &now)| r.state.as_ref().map(|s| Request { now, ops: &s.plan.keys }))
            .collect();
        let result = match &self.runtime {
            Some(rt) => rt.block_on(self.store.apply(&requests, &mut self.values)),
            None => chanrac_store::conformance::block_on(self.store.apply(&requests, &mut self.values)),
        };
        if let Err(e) = result {
            self.failed_batches += 1;
            self.first_error.get_or_insert_with(|| e.to_string());
            return;
        }
        let mut at = 0;
        for row in rows.iter_mut() {
            if let Some(st) = row.state.as_mut() {
                let n = st.plan.values_len();
                st.values = self.values.get(at..at + n).map(<[u64]>::to_vec);
                at += n;
            }
        }
    }

    /// Saves the snapshot, if any, and reports.
    pub fn finish(self) -> Result<StateSummary> {
        let stats = self.store.stats();
        let store = self.store.name();
        drop(self.store);
        if let Some(e) = self.embedded
            && let Ok(e) = Arc::try_unwrap(e)
        {
            e.close().context("cannot save the counters")?;
        }
        Ok(StateSummary {
            store,
            stats: StatsOut::from(stats),
            failed_batches: self.failed_batches,
            first_error: self.first_error,
            clock: self.clock,
            events: Vec::new(),
        })
    }
}

/// The store's figures, for the summary.
#[derive(Debug, Serialize)]
pub struct StatsOut {
    calls: u64,
    ops: u64,
    failures: u64,
    timeouts: u64,
    reconnects: u64,
    keys: u64,
    evicted: u64,
    conflicts: u64,
    scripted: u64,
}

impl From<Stats> for StatsOut {
    fn from(s: Stats) -> Self {
        StatsOut {
            calls: s.calls,
            ops: s.ops,
            failures: s.failures,
            timeouts: s.timeouts,
            reconnects: s.reconnects,
            keys: s.keys,
            evicted: s.evicted,
            conflicts: s.conflicts,
            scripted: s.scripted,
        }
    }
}

/// Per kind of event (or `background`): how many messages, and how many were flagged.
#[derive(Debug, Default, Clone, Serialize)]
pub struct EventCounts {
    /// The kind (`sim_farm`) or `background`.
    kind: String,
    /// The signal meant to catch this kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<&'static str>,
    /// Distinct events.
    events: u64,
    #[serde(skip)]
    names: BTreeSet<String>,
    messages: u64,
    /// Messages sent once the event had passed its threshold.
    over_threshold: u64,
    /// Of those: with the kind's signal, with any velocity signal, tagged or worse.
    over_signal: u64,
    over_velocity: u64,
    over_tagged: u64,
    /// Messages with any velocity signal, and tagged or worse (all of them).
    velocity: u64,
    tagged: u64,
}

/// Counts by kind of event, gathered by the workers.
#[derive(Debug, Default, Clone)]
pub struct EventTally(BTreeMap<String, EventCounts>);

impl EventTally {
    /// Counts one verdict.
    pub fn add(&mut self, event: &str, over: Option<bool>, v: &Verdict) {
        let kind = EventKind::of_event(event);
        let name = kind.map_or(event, |k| k.as_str());
        let c = self.0.entry(name.to_string()).or_insert_with(|| EventCounts {
            kind: name.to_string(),
            signal: kind.map(EventKind::signal),
            ..Default::default()
        });
        if kind.is_some() && !c.names.contains(event) {
            c.names.insert(event.to_string());
        }
        let velocity = v.reasons.iter().any(|r| SIGNALS.iter().any(|s| s.id == &*r.signal));
        let tagged = v.action >= Action::Tag;
        c.messages += 1;
        c.velocity += velocity as u64;
        c.tagged += tagged as u64;
        if over == Some(true) {
            c.over_threshold += 1;
            c.over_signal += c.signal.is_some_and(|s| v.has(s)) as u64;
            c.over_velocity += velocity as u64;
            c.over_tagged += tagged as u64;
        }
    }

    /// Adds another worker's counts.
    pub fn merge(&mut self, o: &EventTally) {
        for (k, b) in &o.0 {
            let a = self.0.entry(k.clone()).or_insert_with(|| EventCounts {
                kind: b.kind.clone(),
                signal: b.signal,
                ..Default::default()
            });
            a.names.extend(b.names.iter().cloned());
            a.messages += b.messages;
            a.over_threshold += b.over_threshold;
            a.over_signal += b.over_signal;
            a.over_velocity += b.over_velocity;
            a.over_tagged += b.over_tagged;
            a.velocity += b.velocity;
            a.tagged += b.tagged;
        }
    }
}

/// The `--stateful` part of the summary.
#[derive(Debug, Serialize)]
pub struct StateSummary {
    store: &'static str,
    stats: StatsOut,
    /// Batches judged without counters because the store failed.
    failed_batches: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
    clock: Clock,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    events: Vec<EventCounts>,
}

impl StateSummary {
    /// Adds the counts by kind of event.
    pub fn with_events(mut self, t: &EventTally) -> StateSummary {
        self.events =
            t.0.values()
                .cloned()
                .map(|mut c| {
                    c.events = c.names.len() as u64;
                    c
                })
                .collect();
        self
    }

    /// The human-readable summary.
    pub fn write_human(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let s = &self.stats;
        write!(
            w,
            "\ncounters ({}): {} operations in {} calls, {} failed ({} timeouts), {} reconnections",
            self.store, s.ops, s.calls, s.failures, s.timeouts, s.reconnects
        )?;
        if self.store == "embedded" {
            writeln!(w, "; {} keys, {} evicted", s.keys, s.evicted)?;
        } else {
            writeln!(w, "; {} transaction conflicts, {} scripted", s.conflicts, s.scripted)?;
        }
        if let Some(e) = &self.first_error {
            writeln!(
                w,
                "  {} batches judged without counters (fail-open); first error: {e}",
                self.failed_batches
            )?;
        }
        let c = &self.clock;
        writeln!(
            w,
            "replay clock: {} lines late, {} clamped (too far ahead or behind), {} without a time",
            c.late, c.clamped, c.untimed
        )?;
        if self.events.is_empty() {
            return Ok(());
        }
        let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
        writeln!(
            w,
            "\nevents (after threshold: messages sent once the event passed its threshold):"
        )?;
        writeln!(
            w,
            "  {:<11} {:>6} {:>9} {:>9} {:>18} {:>9} {:>9}   {:>9} {:>9}",
            "kind", "events", "messages", "after", "its signal", "velocity", "tagged", "velocity", "tagged"
        )?;
        writeln!(
            w,
            "  {:<11} {:>6} {:>9} {:>9} {:>18} {:>9} {:>9}   {:>9} {:>9}",
            "", "", "", "threshold", "(after)", "(after)", "(after)", "(all)", "(all)"
        )?;
        for e in &self.events {
            let sig = e.signal.map_or(String::new(), |s| {
                format!("{} {:.1}%", s, pct(e.over_signal, e.over_threshold))
            });
            writeln!(
                w,
                "  {:<11} {:>6} {:>9} {:>9} {:>18} {:>8.1}% {:>8.1}%   {:>8.2}% {:>8.2}%",
                e.kind,
                e.events,
                e.messages,
                e.over_threshold,
                if e.signal.is_some() { sig } else { "-".into() },
                pct(e.over_velocity, e.over_threshold),
                pct(e.over_tagged, e.over_threshold),
                pct(e.velocity, e.messages),
                pct(e.tagged, e.messages),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_follows_time_but_not_blindly() {
        let mut c = Clock {
            max_jump: 3600,
            ..Clock::default()
        };
        let t0 = 1_795_305_600;
        // (stamp, time counted at)
        let steps: &[(Option<i64>, i64)] = &[
            (Some(t0), t0),
            (Some(t0 + 10), t0 + 10),
            // Late: counted at its own time (the store then uses each counter's clock).
            (Some(t0 + 5), t0 + 5),
            // No time: the clock.
            (None, t0 + 10),
            // Far in the future (a typo): the clock.
            (Some(t0 + 10 * 365 * 86_400), t0 + 10),
            // Far in the past: the clock.
            (Some(t0 - 30 * 86_400), t0 + 10),
            (Some(t0 + 3600), t0 + 3600),
        ];
        for (i, (stamp, want)) in steps.iter().enumerate() {
            assert_eq!(c.time(*stamp), *want, "step {i}");
        }
        assert_eq!((c.late, c.clamped, c.untimed), (1, 2, 1));
        // A real jump (a night without traffic): the clock follows after 8 lines.
        let later = t0 + 6 * 3600;
        let got: Vec<i64> = (0..9).map(|i| c.time(Some(later + i))).collect();
        assert_eq!(got[..7], [t0 + 3600; 7]);
        assert_eq!(got[7..], [later + 7, later + 8]);
    }
}
