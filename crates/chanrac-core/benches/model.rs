//! The statistical classifier's inference on a fixed corpus: the first 1000 texts of each
//! data file (real SMS, Vietnamese and English), with the shipped model.
//!
//! - `model/features_predict`: features + model, from the engine's analysis of the message
//!   (folded text and findings, computed once beforehand): what the model adds to a check.
//! - `model/fold_features_predict`: the same plus folding the text.
//!
//! Run with `cargo bench -p chanrac-core --bench model`; figures in `docs/benchmarks.md`.

#[path = "support/corpus.rs"]
mod corpus;

use std::hint::black_box;

use chanrac_core::extract::{Findings, extract_numbers, extract_urls};
use chanrac_core::features::FeatureScratch;
use chanrac_core::normalize::Normalized;
use chanrac_core::phone::SenderId;
use chanrac_core::{Engine, Model};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    // CHANRAC_BENCH_MODEL=FILE measures another model file (other feature settings).
    let model = match std::env::var_os("CHANRAC_BENCH_MODEL") {
        Some(p) => Model::from_bytes(&std::fs::read(p).expect("model file")).expect("model"),
        None => Model::shipped().expect("the shipped model"),
    };
    // The `check` benchmark's corpus (it prints its size).
    let texts: Vec<String> = corpus::corpus(1000).into_iter().map(|m| m.text).collect();
    let sender = SenderId::parse("0912345678");
    // The engine's analysis of each message, done once.
    let analysed: Vec<(Normalized, Findings)> = texts
        .iter()
        .map(|t| {
            let mut f = Findings::default();
            extract_numbers(t, &[], &mut f);
            extract_urls(t, &mut f);
            (Normalized::new(t), f)
        })
        .collect();

    let mut g = c.benchmark_group("model");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("features_predict", |b| {
        let mut fs = FeatureScratch::default();
        b.iter(|| {
            for (t, (n, f)) in texts.iter().zip(&analysed) {
                black_box(model.predict_analysed(n, t, f, &sender, &mut fs));
            }
        })
    });
    g.bench_function("features_list_then_predict", |b| {
        let mut fs = FeatureScratch::default();
        b.iter(|| {
            for (t, (n, f)) in texts.iter().zip(&analysed) {
                model.featurizer().extract(n, t, f, &sender, &mut fs);
                black_box(model.predict(&fs));
            }
        })
    });
    g.bench_function("fold_features_predict", |b| {
        let mut fs = FeatureScratch::default();
        let mut n = Normalized::default();
        b.iter(|| {
            for (t, (_, f)) in texts.iter().zip(&analysed) {
                n.fold(black_box(t));
                black_box(model.predict_analysed(&n, t, f, &sender, &mut fs));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("model_load");
    g.bench_function("shipped", |b| b.iter(|| black_box(Model::shipped().unwrap())));
    g.bench_function("engine_with_defaults", |b| {
        b.iter(|| black_box(Engine::with_defaults().unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
