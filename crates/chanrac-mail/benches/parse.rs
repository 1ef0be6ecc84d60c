//! E-mails per second through parse (`Reader::read`) and through parse + check, over the
//! synthetic cases in `tests/cases/`: `mail` is the ham, spam and scam messages, `all` adds
//! the hostile ones (MIME bombs of hundreds of parts, bad encodings). One core.
//! Figures in docs/benchmarks.md.

use std::hint::black_box;

use chanrac_core::{Engine, Scratch};
use chanrac_mail::Reader;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The case files of these subdirectories, as bytes.
fn corpus(subdirs: &[&str]) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files = Vec::new();
    for sub in subdirs {
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
    let reader = Reader::default();
    let engine = Engine::with_defaults().expect("engine");
    let mut scratch = Scratch::default();
    for (name, subdirs) in [
        ("mail", &["ham", "spam", "scam"][..]),
        ("all", &["ham", "spam", "scam", "hostile"][..]),
    ] {
        let mails = corpus(subdirs);
        let mut g = c.benchmark_group(format!("email_{name}"));
        g.throughput(Throughput::Elements(mails.len() as u64));
        g.bench_function("parse", |b| {
            b.iter(|| {
                for m in &mails {
                    let _ = black_box(reader.read(m));
                }
            })
        });
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
