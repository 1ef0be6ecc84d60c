//! Prints digests of everything the engine derives from a text: the fold (folded text,
//! flags, shape, leet offsets, the source span of every folded byte), the verdict
//! (action, category, score, every reason with its evidence), the near-duplicate
//! fingerprint (made from the text alone, and from the check's own analysis as the
//! counters' plan makes it), and the shipped classifier's features and the verdicts with
//! it, over every row of the data files and over generated SMS-like texts full of tricks.
//! Two builds that print the same
//! digests behave the same on these inputs: run it before and after a change to the
//! engine's internals (`cargo run --release -p chanrac-core --example engine_digest`).

use std::path::Path;

use chanrac_core::fingerprint::Fingerprinter;
use chanrac_core::normalize::Normalized;
use chanrac_core::{Engine, Message, Scratch};

#[path = "../benches/support/sms_pieces.rs"]
mod sms_pieces;

/// More pieces: keywords, cues and the symbols read as letters.
const MORE_PIECES: &[&str] = &[
    "trúng thưởng",
    "tài khoản",
    "đăng nhập",
    "mã OTP",
    "casino",
    "lô đề",
    "tu choi",
    "TC",
    "'",
    "|",
    "!",
    "GlAY",
    "d!eu",
    "Te|egram",
    "mo'i",
    "x",
    "a",
    "b",
];

struct Digest(u64);

impl Digest {
    fn mix(&mut self, v: u64) {
        self.0 ^= v;
        self.0 = self.0.wrapping_mul(0x100000001b3);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.mix(b.len() as u64);
        for &x in b {
            self.mix(x as u64);
        }
    }
}

fn fold_digest(d: &mut Digest, n: &Normalized) {
    d.bytes(n.text().as_bytes());
    d.bytes(format!("{:?} {:?}", n.flags(), n.shape()).as_bytes());
    for &at in n.leet_offsets() {
        d.mix(at as u64);
    }
    let len = n.text().len();
    for k in 0..len {
        let (a, b) = n.source_span(k, k + 1);
        d.mix(((a as u64) << 32) | b as u64);
    }
    // Spans of every word, as rules quote them.
    let mut start = 0;
    for (i, c) in n.text().bytes().chain([b' ']).enumerate() {
        if c == b' ' {
            let (a, b) = n.source_span(start, i);
            d.mix(((a as u64) << 32) | b as u64);
            start = i + 1;
        }
    }
}

fn verdict_digest(d: &mut Digest, v: &chanrac_core::Verdict) {
    d.bytes(format!("{:?} {:?} {}", v.action, v.category, v.score).as_bytes());
    for r in &v.reasons {
        d.bytes(r.signal.as_bytes());
        d.mix(r.weight.to_bits() as u64);
        d.bytes(r.evidence.as_bytes());
    }
}

fn main() {
    let engine = Engine::builder().no_model().build().expect("engine");
    let mut scratch = Scratch::default();
    let pieces: Vec<&str> = sms_pieces::SMS_PIECES.iter().chain(MORE_PIECES).copied().collect();
    let mut texts: Vec<String> = Vec::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .collect();
    files.sort();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("data file");
        for line in text.lines().skip(1) {
            if let Some((_, t)) = line.split_once('\t') {
                texts.push(t.to_string());
            }
        }
    }
    let data_len = texts.len();
    // Generated texts: a fixed xorshift sequence over the pieces.
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..30_000 {
        let n = (next() % 40) as usize;
        let t: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        texts.push(t);
    }
    let mut fold = Digest(0xcbf29ce484222325);
    let mut verdicts = Digest(0xcbf29ce484222325);
    let mut prints = Digest(0xcbf29ce484222325);
    let mut fingerprinter = Fingerprinter::default();
    // With the shipped classifier: its features (every bucket, in order) and the verdicts.
    let with_model = Engine::with_defaults().expect("engine with the model");
    let model = with_model.model().expect("the shipped model").clone();
    let mut model_digest = Digest(0xcbf29ce484222325);
    let mut n = Normalized::default();
    for (i, t) in texts.iter().enumerate() {
        n.fold(t);
        fold_digest(&mut fold, &n);
        let msg = Message::text(t.as_str()).from("0912345678").at(1_795_316_400);
        let v = engine.check_with(&msg, &mut scratch);
        verdict_digest(&mut verdicts, &v);
        // The check's analysis is still in the scratch: the plan's way, then the text's own.
        let analysed = fingerprinter.fingerprint_analysed(t, scratch.normalized(), scratch.findings());
        let own = engine.fingerprint(t, &mut scratch);
        prints.bytes(format!("{analysed:?} {own:?}").as_bytes());
        for &b in with_model.features(&msg, model.featurizer(), &mut scratch).indices() {
            model_digest.mix(b as u64);
        }
        verdict_digest(&mut model_digest, &with_model.check_with(&msg, &mut scratch));
        if i + 1 == data_len || i + 1 == texts.len() {
            println!(
                "{} texts: fold {:016x} verdicts {:016x} fingerprints {:016x} model {:016x}",
                i + 1,
                fold.0,
                verdicts.0,
                prints.0,
                model_digest.0
            );
        }
    }
}
