//! Records per second through the call detector, on generated records held in memory.
//!
//! ```text
//! cargo build --release -p chanrac-traffic --example calls_throughput
//! taskset -c 1 target/release/examples/calls_throughput 2000000 1
//! ```
//!
//! Prints four figures: detection alone (records already parsed, `Detector::push_all`), the
//! same record by record (`Detector::push`), CSV parsing and detection (the whole of
//! `chanrac calls` but the file reads), and JSON Lines parsing and detection; then a digest
//! of the suspects (equal digests: equal `chanrac calls --json` output) and the precision and
//! recall of the run. Each pass starts from a new detector, so every pass does the same work
//! (the first inserts every number).

use std::time::Instant;

use chanrac_calls::cdr::{CSV_HEADER, rfc3339_vietnam, write_csv};
use chanrac_calls::{CallPolicy, Cdr, CdrReader, Detector, Inputs, Scorecard};
use chanrac_traffic::calls::{CallGenerator, CallsConfig};

fn inputs(g: &CallGenerator) -> Inputs {
    let w = g.world().clone();
    Inputs {
        dnc: w.dnc.into_iter().collect(),
        advertisers: w.advertisers.into_iter().collect(),
        roaming: w.roaming.into_iter().collect(),
        sms_sent: w.sms.into_iter().collect(),
        ..Inputs::default()
    }
}

/// Nanoseconds this thread has run on a CPU.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn report(what: &str, (wall, cpu): (f64, f64)) {
    println!("{what:<26} {wall:>11.0} records/s by the wall clock, {cpu:>11.0} per CPU-second");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let records: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2_000_000);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let passes: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let g = CallGenerator::new(&CallsConfig {
        records,
        seed,
        ..CallsConfig::default()
    });
    let inputs = inputs(&g);
    let cdrs: Vec<Cdr> = g.collect();
    let mut csv = String::with_capacity(records * 110);
    csv.push_str(CSV_HEADER);
    csv.push('\n');
    let mut jsonl = String::with_capacity(records * 220);
    for c in &cdrs {
        write_csv(&mut csv, c, "viettel");
        jsonl.push_str(&format!(
            "{{\"start_time\":\"{}\",\"caller\":\"{}\",\"displayed_number\":\"{}\",\"callee\":\"{}\",\"duration_s\":{},\"answered\":{},\"origin\":\"{}\",\"operator\":\"viettel\"}}\n",
            rfc3339_vietnam(c.start),
            c.caller,
            c.displayed,
            c.callee,
            c.duration_s,
            c.answered,
            c.origin.as_str()
        ));
    }
    println!(
        "{records} records (seed {seed}), CSV {:.0} MB, JSON Lines {:.0} MB; best of {passes} passes",
        csv.len() as f64 / 1e6,
        jsonl.len() as f64 / 1e6
    );

    // On a shared machine the wall clock also counts the time other processes had the
    // core; the thread's own CPU time (Linux: /proc/thread-self/schedstat) does not.
    let best = |f: &mut dyn FnMut() -> u64| -> (f64, f64) {
        (0..passes)
            .map(|_| {
                let (t, cpu) = (Instant::now(), cpu_ns());
                let n = f() as f64;
                let wall = n / t.elapsed().as_secs_f64();
                let on_cpu = cpu_ns().zip(cpu).map_or(wall, |(b, a)| n / ((b - a) as f64 / 1e9));
                (wall, on_cpu)
            })
            .fold((0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)))
    };
    let detect_only = best(&mut || {
        let mut d = Detector::new(CallPolicy::default(), inputs.clone());
        d.push_all(&cdrs);
        std::hint::black_box(d.suspects().len());
        d.records()
    });
    report("detection alone", detect_only);
    let detect_one_by_one = best(&mut || {
        let mut d = Detector::new(CallPolicy::default(), inputs.clone());
        for c in &cdrs {
            d.push(c);
        }
        std::hint::black_box(d.suspects().len());
        d.records()
    });
    report("detection, push one by one", detect_one_by_one);
    let csv_rate = best(&mut || {
        let mut d = Detector::new(CallPolicy::default(), inputs.clone());
        let mut r = CdrReader::new(csv.as_bytes());
        // As `chanrac calls` does: records to the detector in groups of 256.
        let mut batch = Vec::with_capacity(256);
        while let Some(c) = r.next_cdr().expect("in memory") {
            batch.push(c);
            if batch.len() == batch.capacity() {
                d.push_all(&batch);
                batch.clear();
            }
        }
        d.push_all(&batch);
        std::hint::black_box(d.suspects().len());
        assert_eq!(r.bad_count(), 0);
        d.records()
    });
    report("CSV parsing + detection", csv_rate);
    let json_rate = best(&mut || {
        let mut d = Detector::new(CallPolicy::default(), inputs.clone());
        let mut r = CdrReader::new(jsonl.as_bytes());
        // As `chanrac calls` does: records to the detector in groups of 256.
        let mut batch = Vec::with_capacity(256);
        while let Some(c) = r.next_cdr().expect("in memory") {
            batch.push(c);
            if batch.len() == batch.capacity() {
                d.push_all(&batch);
                batch.clear();
            }
        }
        d.push_all(&batch);
        std::hint::black_box(d.suspects().len());
        d.records()
    });
    report("JSONL parsing + detection", json_rate);

    let mut d = Detector::new(CallPolicy::default(), inputs);
    let mut card = Scorecard::default();
    for c in &cdrs {
        card.observe(c);
        d.push(c);
    }
    let suspects = d.suspects();
    // A digest of every suspect as `chanrac calls --json` writes it: two builds that agree
    // on it agree on every number, score and line of evidence.
    let json = serde_json::to_string(&suspects).expect("suspects serialize");
    let mut h = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&json, &mut h);
    println!(
        "{} suspects, digest {:016x}",
        suspects.len(),
        std::hash::Hasher::finish(&h)
    );
    print!("{}", card.score(&suspects));
}
