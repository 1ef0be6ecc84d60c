//! Runs the whole check over the benchmark corpus (the first 1000 rows of every data file)
//! a given number of times, for profilers: `valgrind --tool=callgrind
//! target/release/examples/profile_check 1` counts instructions per message, repeatably on
//! a busy machine.

use chanrac_core::{Engine, Scratch};

#[path = "../benches/support/corpus.rs"]
mod corpus;

fn main() {
    let passes: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    // `fold` as the second argument times the normalizer alone.
    let fold_only = std::env::args().nth(2).is_some_and(|a| a == "fold");
    let msgs = corpus::corpus(1000);
    let engine = Engine::with_defaults().expect("engine");
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
