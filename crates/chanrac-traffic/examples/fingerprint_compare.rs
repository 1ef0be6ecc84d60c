//! SimHash against MinHash/LSH on campaign variants, OTPs and real ham: which fingerprint
//! clusters the variants of a template and keeps everything else apart?
//!
//! `cargo run --release -p chanrac-traffic --example fingerprint_compare [-- --show-hot]`
//! (`--show-hot` prints, for each scheme, a few of the background texts behind its busiest
//! key)
//!
//! Sets (all texts from `data/` and the generator's templates):
//! - variant groups: each handwritten campaign template filled 40 times (name, amount,
//!   link, phone vary), and 60 real spam texts copied 20 times each (digits varied, a
//!   greeting with a name in front of half);
//! - OTP groups: 20 one-time-code messages of each of 12 brands (codes vary);
//! - background: 6,000 distinct real texts (Vietnamese and English ham, brand messages).
//!
//! For each scheme: the share of variant pairs it merges (recall), the mean share of a
//! group that one counter key sees (what `CAMPAIGN_BULK` counts), the share of OTP pairs
//! and of background pairs it merges (false merges), the most background texts behind
//! one key (how far chance alone can push a campaign counter), and the time per text.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chanrac_core::fingerprint::{Fingerprinter, band_key, minhash_dyn};
use chanrac_traffic::rng::Rng;
use chanrac_traffic::templates::{self, CAMPAIGNS, NAMES, Slots};
use chanrac_traffic::{Corpus, TrafficError};

/// One text, fingerprinted: its group (variants share one), shingles, salt, SimHash.
struct Item {
    group: Option<usize>,
    otp: Option<usize>,
    shingles: Vec<u64>,
    salt: u64,
    simhash: u64,
    tokens: usize,
}

enum Scheme {
    MinHash { bands: usize, rows: usize },
    SimHash { max_distance: u32 },
    Exact,
}

impl Scheme {
    fn name(&self) -> String {
        match self {
            Scheme::MinHash { bands, rows } => format!("MinHash LSH {bands}×{rows}"),
            Scheme::SimHash { max_distance } => format!("SimHash ≤ {max_distance} bits"),
            Scheme::Exact => "exact canonical hash".into(),
        }
    }

    /// The counter keys of an item: LSH bands, or SimHash's pigeonhole bands (distance ≤ k
    /// guarantees one of k+1 equal bands), or one exact key.
    fn keys(&self, it: &Item) -> Vec<u64> {
        match self {
            Scheme::MinHash { bands, rows } => {
                let sig = minhash_dyn(&it.shingles, bands * rows);
                (0..*bands)
                    .map(|i| band_key(i, &sig[i * rows..(i + 1) * rows]) ^ it.salt)
                    .collect()
            }
            Scheme::SimHash { max_distance } => {
                let n = *max_distance as usize + 1;
                let width = 64 / n;
                (0..n)
                    .map(|i| {
                        let part = (it.simhash >> (i * width)) & ((1u64 << width) - 1);
                        chanrac_core::fingerprint::mix(part ^ ((i as u64) << 58)) ^ it.salt
                    })
                    .collect()
            }
            Scheme::Exact => {
                let mut h = it.salt;
                for &s in &it.shingles {
                    h = chanrac_core::fingerprint::mix(h ^ s);
                }
                vec![h]
            }
        }
    }

    /// Whether the scheme merges two items.
    fn merges(&self, a: &Item, b: &Item, ka: &[u64], kb: &[u64]) -> bool {
        if a.salt != b.salt {
            return false;
        }
        match self {
            Scheme::SimHash { max_distance } => (a.simhash ^ b.simhash).count_ones() <= *max_distance,
            _ => ka.iter().any(|k| kb.contains(k)),
        }
    }
}

fn main() -> Result<(), TrafficError> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let corpus = Corpus::load_dir(&dir)?;
    let mut r = Rng::new(2026, 0);
    let mut texts: Texts = Vec::new();
    let mut group = 0;
    for (t, _) in CAMPAIGNS {
        for _ in 0..40 {
            texts.push((Slots::random(&mut r).fill(t), Some(group), None));
        }
        group += 1;
    }
    for _ in 0..60 {
        let base = &corpus.unwanted[r.below(corpus.unwanted.len())].0;
        for _ in 0..20 {
            let greet = r.chance(0.5).then(|| *r.pick(NAMES).unwrap_or(&"ban"));
            texts.push((templates::vary_real(base, &mut r, greet), Some(group), None));
        }
        group += 1;
    }
    for (b, brand) in templates::BRANDS.iter().enumerate() {
        for _ in 0..20 {
            texts.push((templates::otp(brand, &mut r), None, Some(b)));
        }
    }
    let mut seen = HashSet::new();
    let pools = [(&corpus.ham_vi, 2500), (&corpus.ham_en, 2500), (&corpus.brand, 1000)];
    for (pool, n) in pools {
        let mut taken = 0;
        while taken < n && seen.len() < corpus.ham_vi.len() + corpus.ham_en.len() + corpus.brand.len() {
            let t = &pool[r.below(pool.len())];
            if seen.insert(t.clone()) {
                texts.push((t.clone(), None, None));
                taken += 1;
            }
        }
    }

    for mask_names in [true, false] {
        let mut f = Fingerprinter::new(mask_names);
        // Time a second pass, once the buffers and caches are warm.
        let mut sink = 0u64;
        for _ in 0..2 {
            sink = 0;
            for (t, ..) in &texts {
                sink ^= f.fingerprint(t).bands[0];
            }
        }
        let started = Instant::now();
        for (t, ..) in &texts {
            sink ^= f.fingerprint(t).bands[0];
        }
        let per_text = started.elapsed().as_nanos() as f64 / texts.len() as f64;
        std::hint::black_box(sink);
        let items: Vec<Item> = texts
            .iter()
            .map(|(t, g, o)| {
                let fp = f.fingerprint(t);
                Item {
                    group: *g,
                    otp: *o,
                    shingles: f.shingles().to_vec(),
                    salt: f.salt(),
                    simhash: fp.simhash,
                    tokens: fp.tokens as usize,
                }
            })
            .collect();
        println!(
            "\n{} texts ({} variant groups, {} OTP groups, {} background); names masked: {mask_names}; \
             fingerprint (extraction + fold + shingles + 3×3 MinHash + SimHash): {:.1} µs per text\n",
            items.len(),
            group,
            templates::BRANDS.len(),
            items.iter().filter(|i| i.group.is_none() && i.otp.is_none()).count(),
            per_text / 1000.0
        );
        println!(
            "| scheme | keys | variant pairs merged | group seen by one key | OTP pairs merged | background pairs merged | variant–background pairs merged | most background texts on one key |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        let schemes: Vec<Scheme> = if mask_names {
            let mut s = vec![Scheme::Exact];
            for (bands, rows) in [(2, 2), (3, 2), (4, 2), (2, 3), (3, 3), (4, 3), (6, 3), (4, 4)] {
                s.push(Scheme::MinHash { bands, rows });
            }
            for max_distance in [3, 7, 12] {
                s.push(Scheme::SimHash { max_distance });
            }
            s
        } else {
            vec![
                Scheme::MinHash { bands: 3, rows: 3 },
                Scheme::SimHash { max_distance: 7 },
            ]
        };
        let show_hot = std::env::args().any(|a| a == "--show-hot");
        for scheme in schemes {
            report(&scheme, &items, show_hot.then_some(&texts));
        }
    }
    Ok(())
}

/// The texts, with their variant group and OTP group.
type Texts = Vec<(String, Option<usize>, Option<usize>)>;

fn report(scheme: &Scheme, items: &[Item], show_hot: Option<&Texts>) {
    // Texts too short for campaign counting get no key, as in the detector.
    let keys: Vec<Vec<u64>> = items
        .iter()
        .map(|it| {
            if it.tokens >= chanrac_core::fingerprint::MIN_TOKENS {
                scheme.keys(it)
            } else {
                Vec::new()
            }
        })
        .collect();
    let (mut vp, mut vm, mut op, mut om, mut bp, mut bm, mut xp, mut xm) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            let (a, b) = (&items[i], &items[j]);
            let merged = !keys[i].is_empty() && !keys[j].is_empty() && scheme.merges(a, b, &keys[i], &keys[j]);
            match (a.group, b.group, a.otp, b.otp) {
                (Some(x), Some(y), ..) if x == y => {
                    vp += 1;
                    vm += merged as u64;
                }
                (Some(_), Some(_), ..) => {}
                (None, None, Some(x), Some(y)) if x == y => {
                    op += 1;
                    om += merged as u64;
                }
                (None, None, None, None) => {
                    bp += 1;
                    bm += merged as u64;
                }
                (Some(_), None, _, None) | (None, Some(_), None, _) => {
                    xp += 1;
                    xm += merged as u64;
                }
                _ => {}
            }
        }
    }
    // What a counter keyed like this sees of each group: the largest share behind one key.
    let mut by_group: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        if let Some(g) = it.group {
            by_group.entry(g).or_default().push(i);
        }
    }
    let coverage: f64 = by_group
        .values()
        .map(|members| {
            let mut count: HashMap<u64, usize> = HashMap::new();
            for &i in members {
                for k in &keys[i] {
                    *count.entry(*k).or_default() += 1;
                }
            }
            *count.values().max().unwrap_or(&0) as f64 / members.len() as f64
        })
        .sum::<f64>()
        / by_group.len() as f64;
    let mut background: HashMap<u64, usize> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        if it.group.is_none() && it.otp.is_none() {
            for k in &keys[i] {
                *background.entry(*k).or_default() += 1;
            }
        }
    }
    let hottest = background.values().max().copied().unwrap_or(0);
    if let Some(texts) = show_hot
        && let Some((&key, _)) = background.iter().max_by_key(|(_, n)| **n)
    {
        eprintln!("{}: the hottest background key holds:", scheme.name());
        let on_key = (0..items.len()).filter(|&i| items[i].group.is_none() && keys[i].contains(&key));
        for i in on_key.take(6) {
            eprintln!("    {}", texts[i].0.chars().take(110).collect::<String>());
        }
    }
    let pct = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
    let nkeys = keys.iter().map(Vec::len).max().unwrap_or(0);
    println!(
        "| {} | {nkeys} | {:.1}% | {:.1}% | {:.2}% | {:.4}% | {:.4}% | {hottest} |",
        scheme.name(),
        pct(vm, vp),
        coverage * 100.0,
        pct(om, op),
        pct(bm, bp),
        pct(xm, xp),
    );
}
