//! Runs the whole check over the benchmark corpus (the first 1000 rows of every data file)
//! a given number of times, for profilers: `valgrind --tool=callgrind
//! target/release/examples/profile_check 1` counts instructions per message, repeatably on
//! a busy machine. A second argument `model` includes the shipped classifier, `fold` times
//! the normalizer alone.

use chanrac_core::{Engine, Scratch};

#[path = "../benches/support/corpus.rs"]
mod corpus;

fn main() {
    let passes: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    // The second argument: `fold` times the normalizer alone, `model` the engine with the
    // shipped classifier; by default the engine without it (the rules, lists and signals).
    let mode = std::env::args().nth(2).unwrap_or_default();
    let fold_only = mode == "fold";
    let msgs = corpus::corpus(1000);
    let engine = if mode == "model" {
        Engine::with_defaults().expect("engine")
    } else {
        Engine::builder().no_model().build().expect("engine")
    };
    let mut scratch = Scratch::default();
    let start = std::time::Instant::now();
    let mut blocked = 0usize;
    if fold_only {
        let mut n = chanrac_core::normalize::Normalized::default();
        for _ in 0..passes {
            for m in &msgs {
                n.fold(&m.text);
                blocked += n.text().len();
            }
        }
    }
    for _ in 0..passes * usize::from(!fold_only) {
        for m in &msgs {
            blocked += (engine.check_with(m, &mut scratch).action == chanrac_core::Action::Block) as usize;
        }
    }
    let n = passes * msgs.len();
    eprintln!(
        "{n} checks in {:.3} s ({:.0}/s), {blocked} blocked",
        start.elapsed().as_secs_f64(),
        n as f64 / start.elapsed().as_secs_f64()
    );
}
