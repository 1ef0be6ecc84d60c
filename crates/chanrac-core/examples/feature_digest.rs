//! Prints a digest of the classifier's features and probabilities over the benchmark corpus,
//! to compare builds (debug and release must agree).

#[path = "../benches/support/corpus.rs"]
mod corpus;

fn main() {
    let engine = chanrac_core::Engine::with_defaults().expect("engine");
    let mut scratch = chanrac_core::Scratch::default();
    let mut h: u64 = 0xcbf29ce484222325;
    let mix = |h: &mut u64, v: u64| {
        *h ^= v;
        *h = h.wrapping_mul(0x100000001b3);
    };
    for (i, m) in corpus::corpus(1000).iter().enumerate() {
        let v = engine.check_with(m, &mut scratch);
        mix(&mut h, v.score.to_bits() as u64);
        for r in &v.reasons {
            mix(&mut h, r.weight.to_bits() as u64);
            for b in r.evidence.bytes() {
                mix(&mut h, b as u64);
            }
        }
        if i % 1000 == 999 {
            println!("{i}: {h:016x}");
        }
    }
}
