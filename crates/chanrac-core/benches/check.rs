//! The whole `check` (normalize + extract + rules + lists + score) on a fixed corpus: real
//! SMS from the repository's data files, Vietnamese and English, ham and unwanted alike.
//!
//! `check/full` runs the default engine, with the shipped statistical classifier;
//! `check/full_no_model` the same engine without it, so the difference is the model's cost.
//!
//! Run with `cargo bench -p chanrac-core --bench check`. The figures are recorded in
//! `docs/benchmarks.md`.

mod support;

use std::hint::black_box;

use chanrac_core::normalize::Normalized;
use chanrac_core::{Engine, Message, Scratch};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The corpus as messages from one subscriber number at 10:00 Vietnam time.
fn corpus(n: usize) -> Vec<Message> {
    let texts = support::texts(n);
    support::describe(&texts);
    texts
        .into_iter()
        .map(|t| Message::text(t).from("0912345678").at(1_795_316_400))
        .collect()
}

fn bench(c: &mut Criterion) {
    let engine = Engine::with_defaults().unwrap();
    let no_model = Engine::builder().no_model().build().unwrap();
    let msgs = corpus(1000);

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
    config = support::config();
    targets = bench
}
criterion_main!(benches);
