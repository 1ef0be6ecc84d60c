//! Embedded counters: updates per second on one thread.
//!
//! - `count_3_windows`: one sender count over 5 min / 1 h / 1 day, on 1,000,000 keys in
//!   random order (the hash map is far larger than the caches);
//! - `generated_traffic`: every operation the velocity detector plans for 20,000 generated
//!   messages (counts, sender histories, campaign distinct sets), applied in time order to a
//!   new store; `generated_traffic_warm`: the same on a store that already holds the keys
//!   (steady state); the throughput is in operations.
//!
//! `BENCH_KEYS=1000` runs `count_3_windows` on 1,000 keys (a working set in the caches)
//! instead of 1,000,000.
//!
//! `cargo bench -p chanrac-store --bench counters`

use std::hint::black_box;

use chanrac_core::state::{StateKey, StateOp, Windows};
use chanrac_core::{Engine, Policy, Scratch};
use chanrac_store::{EmbeddedCounters, Request};
use chanrac_traffic::{Corpus, Generator, TrafficConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const T0: i64 = 1_795_305_600;

fn count_3_windows(c: &mut Criterion) {
    let windows = Windows::new(&[300, 3600, 86_400]).unwrap();
    let keys: Vec<StateKey> = (0..std::env::var("BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000u64))
        .map(|i| StateKey {
            key: format!("s:+849{:08}", chanrac_core::fingerprint::mix(i) % 100_000_000),
            op: StateOp::Count { windows },
        })
        .collect();
    let store = EmbeddedCounters::default();
    let mut out = Vec::with_capacity(4);
    // Warm the map so that the benchmark measures updates, not inserts.
    for (i, k) in keys.iter().enumerate() {
        let ops = std::slice::from_ref(k);
        store
            .apply_sync(
                &[Request {
                    now: T0 + i as i64 / 1000,
                    ops,
                }],
                &mut out,
            )
            .unwrap();
    }
    let mut g = c.benchmark_group("embedded");
    g.throughput(Throughput::Elements(1));
    let (mut i, mut n) = (0usize, 0i64);
    g.bench_function("count_3_windows", |b| {
        b.iter(|| {
            let k = &keys[i % keys.len()];
            i = i.wrapping_add(7919);
            // Time moves one second per 100,000 updates: about real time for a busy node.
            n += 1;
            store
                .apply_sync(
                    &[Request {
                        now: T0 + 1000 + n / 100_000,
                        ops: std::slice::from_ref(k),
                    }],
                    &mut out,
                )
                .unwrap();
            black_box(&out);
        })
    });
    g.finish();
}

fn generated_traffic(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let corpus = Corpus::load_dir(&dir).expect("data/");
    let cfg = TrafficConfig {
        messages: 20_000,
        seed: 11,
        ..TrafficConfig::default()
    };
    let policy = Policy::default();
    let engine = Engine::builder().velocity().build().unwrap();
    let mut scratch = Scratch::default();
    let plans: Vec<(i64, Vec<StateKey>)> = Generator::new(&cfg, &corpus, &policy)
        .map(|m| (m.at, engine.state_plan(&m.message(), &mut scratch).keys))
        .collect();
    let ops: usize = plans.iter().map(|p| p.1.len()).sum();
    let mut g = c.benchmark_group("embedded");
    g.throughput(Throughput::Elements(ops as u64));
    g.sample_size(20);
    g.bench_function("generated_traffic", |b| {
        let mut out = Vec::with_capacity(64);
        b.iter(|| {
            let store = EmbeddedCounters::default();
            for (now, keys) in &plans {
                store.apply_sync(&[Request { now: *now, ops: keys }], &mut out).unwrap();
            }
            black_box(store.len())
        })
    });
    // The same operations once the store holds their keys (a node in steady state): the
    // traffic is applied once, then again and again, one day later each time.
    let store = EmbeddedCounters::default();
    let mut out = Vec::with_capacity(64);
    for (now, keys) in &plans {
        store.apply_sync(&[Request { now: *now, ops: keys }], &mut out).unwrap();
    }
    let mut day = 0;
    g.bench_function("generated_traffic_warm", |b| {
        b.iter(|| {
            day += 1;
            for (now, keys) in &plans {
                store
                    .apply_sync(
                        &[Request {
                            now: *now + day * 86_400,
                            ops: keys,
                        }],
                        &mut out,
                    )
                    .unwrap();
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, count_3_windows, generated_traffic);
criterion_main!(benches);
