//! Fraud lookup latency in process: `LookupIndex::lookup` (normalization included) against
//! 1,000,000 listed numbers, 100,000 domains, 100,000 accounts and 500,000 reported sources,
//! with inputs in mixed written forms, half known. Prints p50, p99 and p99.9 of single
//! lookups timed one by one (the target is p99 < 1 ms).
//!
//! `cargo bench -p chanrac-hub --bench lookup`

use std::time::Instant;

use chanrac_core::ListKind;
use chanrac_hub::lookup::{Listed, LookupIndex, LookupKind, Reported};

fn main() {
    let listed = || Listed {
        reason: "loan scam".into(),
        source: "hub".into(),
        confidence: 90,
        first_seen: 1,
        last_seen: 2,
    };
    let t = Instant::now();
    let mut ix = LookupIndex::default();
    for i in 0..1_000_000u64 {
        ix.add_listed(ListKind::Senders, format!("+8491{:07}", i * 7), listed());
    }
    for i in 0..100_000u64 {
        ix.add_listed(ListKind::Domains, format!("vay-{i}.xyz"), listed());
        ix.add_listed(ListKind::Accounts, format!("00710{:08}", i * 3), listed());
    }
    for i in 0..500_000u64 {
        ix.add_reported(
            format!("+8498{:07}", i * 11),
            Reported {
                status: "watch".into(),
                reporters: 3,
                reports: 4,
                first_at: 1,
                last_at: 2,
            },
        );
    }
    eprintln!("index of {} keys built in {:.1?}", ix.len(), t.elapsed());

    let mut queries: Vec<(LookupKind, String)> = Vec::new();
    for i in 0..200_000u64 {
        let q = match i % 6 {
            0 => (LookupKind::Phone, format!("091 {:07}", (i * 7) % 7_000_000)),
            1 => (LookupKind::Phone, format!("+84 98{:07}", i * 11 % 5_500_000)),
            2 => (LookupKind::Phone, format!("0987.{:06}", i)),
            3 => (
                LookupKind::Url,
                format!("https://app.vay-{}.xyz/dang-ky?id={i}", i % 200_000),
            ),
            4 => (LookupKind::Url, format!("hxxp://shop{i}[.]example[.]vn")),
            _ => (LookupKind::Account, format!("0071-0{:08}", i * 3 % 600_000)),
        };
        queries.push(q);
    }
    let mut known = 0usize;
    // One warm-up pass, then the timed one.
    for (k, q) in &queries {
        known += usize::from(ix.lookup(*k, q).is_ok_and(|a| a.known));
    }
    let mut ns: Vec<u64> = Vec::with_capacity(queries.len());
    for (k, q) in &queries {
        let t = Instant::now();
        let a = ix.lookup(*k, q);
        ns.push(t.elapsed().as_nanos() as u64);
        std::hint::black_box(a).ok();
    }
    ns.sort_unstable();
    let p = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)] as f64 / 1000.0;
    println!(
        "lookup: {} lookups ({} known): p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.1} µs",
        ns.len(),
        known,
        p(0.5),
        p(0.99),
        p(0.999),
        *ns.last().unwrap() as f64 / 1000.0
    );
}
