//! Prints the folded form of each argument and what the normalizer noticed:
//! `cargo run -p chanrac-core --example fold -- "V.A.Y T1ỀN"`.

fn main() {
    for a in std::env::args().skip(1) {
        let n = chanrac_core::normalize::Normalized::new(&a);
        println!("{}\n  {:?}", n.text(), n.flags());
    }
}
