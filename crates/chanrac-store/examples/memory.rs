//! Memory of the embedded counters per tracked sender, measured as the process's resident
//! memory (RSS) after replaying generated traffic through the velocity detector.
//!
//! ```text
//! cargo run --release -p chanrac-store --example memory -- --messages 32000000 --subscribers 14000000
//! ```
//!
//! The traffic (a day, `chanrac-traffic`) is generated and planned message by message and
//! applied at once, so that nothing but the counters grows. At the end: the number of
//! distinct senders the counters track (subscriber numbers and injected SIMs), the keys,
//! and the RSS growth per tracked sender; then the same after an hour without traffic, when
//! only what outlives it (the senders' counts and histories) is left.

use std::time::Instant;

use chanrac_core::{Engine, Policy, Scratch};
use chanrac_store::{EmbeddedConfig, EmbeddedCounters, Request};
use chanrac_traffic::{Corpus, Generator, TrafficConfig};

/// The resident set size of this process, in bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let mut messages = 2_000_000usize;
    let mut subscribers = 1_000_000usize;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().and_then(|v| v.parse::<usize>().ok());
        match (flag.as_str(), v) {
            ("--messages", Some(v)) => messages = v,
            ("--subscribers", Some(v)) => subscribers = v,
            _ => {
                eprintln!("usage: memory [--messages N] [--subscribers N]");
                std::process::exit(2);
            }
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let corpus = Corpus::load_dir(&dir).expect("the data files");
    let cfg = TrafficConfig {
        messages,
        seed: 1,
        subscribers: Some(subscribers),
        ..TrafficConfig::default()
    };
    let engine = Engine::builder().velocity().build().expect("engine");
    let store = EmbeddedCounters::new(EmbeddedConfig {
        max_keys: usize::MAX / 2,
        ..EmbeddedConfig::default()
    });
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    // One bit per possible sender index: which senders the counters have seen.
    let mut seen = vec![0u64; (subscribers + 4 * messages / 100 + 64) / 64 + 1];
    let mut tracked = 0u64;
    let before = rss();
    let started = Instant::now();
    for (n, m) in Generator::new(&cfg, &corpus, &Policy::default()).enumerate() {
        if let Some(i) = m.sender_index {
            let (w, b) = (i as usize / 64, i % 64);
            if w >= seen.len() {
                seen.resize(w + 1, 0);
            }
            if seen[w] >> b & 1 == 0 {
                seen[w] |= 1 << b;
                tracked += 1;
            }
        }
        let plan = engine.state_plan(&m.message(), &mut scratch);
        store
            .apply_sync(
                &[Request {
                    now: m.at,
                    ops: &plan.keys,
                }],
                &mut out,
            )
            .expect("apply");
        if n % 1_000_000 == 999_999 {
            eprintln!(
                "{:>6.1}M messages, {} senders, {} keys, RSS {} MB, {:.0} s",
                (n + 1) as f64 / 1e6,
                tracked,
                store.len(),
                rss() >> 20,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let bitmap = (seen.len() * 8) as u64;
    let report = |when: &str| {
        let grown = rss().saturating_sub(before).saturating_sub(bitmap);
        let keys = store.len();
        println!(
            "{when}: {tracked} senders tracked, {keys} keys; RSS grew {:.0} MB: {} bytes per tracked sender, {} per key \
             (the counters' own estimate of their heap: {} MB)",
            grown as f64 / 1e6,
            grown / tracked.max(1),
            grown / keys.max(1) as u64,
            store.heap_bytes() >> 20,
        );
    };
    println!("{messages} messages, {subscribers} subscribers, {seconds:.0} s");
    report("at the end of the day");
    // Then an hour without traffic: recipients and texts expire, senders' histories stay.
    store.sweep(cfg.start + cfg.duration_secs as i64 + 3600).expect("sweep");
    report("an hour later, expired keys swept");
}
