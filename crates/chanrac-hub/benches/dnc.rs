//! The Do-Not-Call index: numbers checked per second against a register of 10 million
//! numbers (a quarter of Vietnam's ~40 million DNC-eligible subscribers is a realistic
//! early register), from their written form (`0912345678`) and from parsed keys.

use chanrac_hub::dnc::{DncIndex, SMS, msisdn};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn mobile(x: &mut u64) -> u64 {
    let prefix = [3u64, 5, 7, 8, 9][(xorshift(x) % 5) as usize];
    84_000_000_000 + prefix * 100_000_000 + xorshift(x) % 100_000_000
}

fn bench(c: &mut Criterion) {
    let mut x = 0x1234_5678_9abc_def1u64;
    let register: Vec<(u64, u8)> = (0..10_000_000).map(|_| (mobile(&mut x), SMS)).collect();
    let idx = DncIndex::new(register.iter().copied());
    // A scrub request: a million numbers, one in ten registered, written as advertisers do.
    let queries: Vec<String> = (0..1_000_000)
        .map(|i| {
            let k = if i % 10 == 0 {
                register[(xorshift(&mut x) % register.len() as u64) as usize].0
            } else {
                mobile(&mut x)
            };
            format!("0{}", k - 84_000_000_000)
        })
        .collect();
    let keys: Vec<u64> = queries.iter().filter_map(|q| msisdn(q)).collect();
    let mut g = c.benchmark_group("dnc");
    g.sample_size(10);
    g.throughput(Throughput::Elements(queries.len() as u64));
    g.bench_function("scrub 1M written numbers, 10M register", |b| {
        b.iter(|| idx.scrub(&queries, SMS).len())
    });
    g.bench_function("lookup 1M keys, 10M register", |b| {
        b.iter(|| keys.iter().filter(|&&k| idx.flags(k) & SMS != 0).count())
    });
    g.bench_function("parse 1M written numbers", |b| {
        b.iter(|| queries.iter().filter_map(|q| msisdn(q)).count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
