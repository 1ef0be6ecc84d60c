//! The fixed benchmark corpus, shared by the benchmarks: up to `n` texts of each data file
//! of the repository, in file order (deterministic), Vietnamese and English, ham and unwanted
//! alike.

use std::path::Path;

use criterion::Criterion;

/// Up to `n` texts of each data file, in file order.
pub fn texts(n: usize) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let mut out = Vec::new();
    for file in [
        "vi_smishing_ie403_part_a.tsv",
        "uci_sms_spam_collection_en.tsv",
        "vi_spam_ankhanhtran02.tsv",
        "vi_translated_uci_huynhphong385.tsv",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).expect("data file");
        for line in text.lines().skip(1).take(n) {
            if let Some((_, t)) = line.split_once('\t') {
                out.push(t.to_string());
            }
        }
    }
    out
}

/// Prints the corpus size.
pub fn describe(texts: &[String]) {
    let bytes: usize = texts.iter().map(String::len).sum();
    eprintln!(
        "corpus: {} messages, {:.0} bytes on average",
        texts.len(),
        bytes as f64 / texts.len().max(1) as f64
    );
}

/// The measurement settings of every benchmark: 20 samples of 5 s.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(5))
}
