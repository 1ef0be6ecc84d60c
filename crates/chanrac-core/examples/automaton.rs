//! Prints the size of the built-in keyword automaton: `cargo run -p chanrac-core --example automaton`.

fn main() {
    let rules = chanrac_core::RuleSet::default_pack().expect("built-in pack");
    let (patterns, bytes) = rules.automaton_size();
    println!("{} rules, {patterns} patterns, {bytes} bytes", rules.rules().len());
}
