//! E-mails per second through parse (`Reader::read`) and through parse + check, over the
//! synthetic cases in `tests/cases/` (ham, spam, scam and hostile messages, all sizes).
//! Figures in docs/benchmarks.md.

use std::hint::black_box;

use chanrac_core::{Engine, Scratch};
use chanrac_mail::Reader;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Every case file, as bytes.
fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files = Vec::new();
    for sub in ["ham", "spam", "scam", "hostile"] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        files.extend(paths.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    assert!(!files.is_empty(), "no cases under {}", dir.display());
    files
}

fn bench(c: &mut Criterion) {
    let mails = corpus();
    let reader = Reader::default();
    let engine = Engine::with_defaults().expect("engine");
    let mut g = c.benchmark_group("email");
    g.throughput(Throughput::Elements(mails.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for m in &mails {
                let _ = black_box(reader.read(m));
            }
        })
    });
    let mut scratch = Scratch::default();
    g.bench_function("parse_check", |b| {
        b.iter(|| {
            for m in &mails {
                if let Ok(msg) = reader.read(m) {
                    black_box(engine.check_with(&msg, &mut scratch));
                }
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
