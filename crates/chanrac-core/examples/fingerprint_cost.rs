//! Fingerprints the texts of a server batch (`python3 bench/http/make_bodies.py DIR` writes
//! `DIR/batch-1000.json`) or, without an argument, every row of the data files, the way
//! the server does: the engine checks each text, then the fingerprint is made from the
//! check's analysis. Prints a digest of the fingerprints (equal digests: equal
//! fingerprints) and is meant to run under callgrind, counting only the fingerprint:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='*fingerprint_analysed*' \
//!   target/release/examples/fingerprint_cost /tmp/bodies/batch-1000.json
//! ```

use chanrac_core::fingerprint::Fingerprinter;
use chanrac_core::{Engine, Message, Scratch};

#[path = "../benches/support/corpus.rs"]
mod corpus;
use corpus::corpus;

fn main() {
    let texts: Vec<String> = match std::env::args().nth(1) {
        Some(path) => {
            let body: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read the batch")).expect("json");
            body["messages"]
                .as_array()
                .expect("a batch of messages")
                .iter()
                .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
                .collect()
        }
        None => corpus(usize::MAX).into_iter().map(|m| m.text).collect(),
    };
    let engine = Engine::builder().build().expect("engine");
    let mut scratch = Scratch::default();
    let mut fingerprinter = Fingerprinter::default();
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    for t in &texts {
        let msg = Message::text(t.as_str()).from("0912345678").at(1_795_316_400);
        engine.check_with(&msg, &mut scratch);
        let fp = fingerprinter.fingerprint_analysed(t, scratch.normalized(), scratch.findings());
        for b in format!("{fp:?}").bytes() {
            digest = (digest ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    println!("{} texts: fingerprints {digest:016x}", texts.len());
}
