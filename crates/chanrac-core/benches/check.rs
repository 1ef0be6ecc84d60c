//! The whole `check` (normalize + extract + rules + lists + score) on a fixed corpus: real
//! SMS from the repository's data files, Vietnamese and English, ham and unwanted alike.
//!
//! `check/full` runs the default engine, with the shipped statistical classifier;
//! `check/full_no_model` the same engine without it, so the difference is the model's cost.
//!
//! Run with `cargo bench -p chanrac-core --bench check`. The figures are recorded in
//! `docs/benchmarks.md`.

use std::hint::black_box;

use chanrac_core::normalize::Normalized;
use chanrac_core::{Engine, Scratch};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "support/corpus.rs"]
mod corpus;
use corpus::corpus;

fn bench(c: &mut Criterion) {
    let engine = Engine::with_defaults().unwrap();
    let no_model = Engine::builder().no_model().build().unwrap();
    let msgs = corpus(1000);
    let bytes: usize = msgs.iter().map(|m| m.text.len()).sum();
    eprintln!(
        "corpus: {} messages, {:.0} bytes on average",
        msgs.len(),
        bytes as f64 / msgs.len() as f64
    );

    let mut g = c.benchmark_group("check");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("full", |b| {
        let mut scratch = Scratch::default();
        b.iter(|| {
            for m in &msgs {
                black_box(engine.check_with(black_box(m), &mut scratch));
            }
        })
    });
    g.bench_function("full_no_model", |b| {
        let mut scratch = Scratch::default();
        b.iter(|| {
            for m in &msgs {
                black_box(no_model.check_with(black_box(m), &mut scratch));
            }
        })
    });
    g.bench_function("normalize_only", |b| {
        let mut n = Normalized::default();
        b.iter(|| {
            for m in &msgs {
                n.fold(black_box(&m.text));
                black_box(n.text().len());
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
