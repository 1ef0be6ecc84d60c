//! The fixed benchmark corpus, shared by `benches/check.rs` and
//! `examples/profile_check.rs`: the first `n` texts of every data file in `data/`, in file
//! order, each from the same sender at the same time (deterministic).

use std::path::Path;

use chanrac_core::Message;

/// Up to `n` texts of each data file, in file order.
pub fn corpus(n: usize) -> Vec<Message> {
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
                out.push(Message::text(t).from("0912345678").at(1_795_316_400));
            }
        }
    }
    out
}
