//! `docs/signals.md` lists every built-in signal (and those of the built-in velocity detector)
//! with its default weight: this test keeps the table and the code in step (it prints the
//! table to paste when they differ).

use chanrac_core::signal::BUILTIN;
use chanrac_core::velocity;

#[test]
fn signals_doc_matches_the_code() {
    let mut table = String::from("| signal | default weight | counts toward | meaning |\n|---|---|---|---|\n");
    for s in BUILTIN.iter().chain(velocity::SIGNALS) {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            s.id,
            s.weight,
            s.category.as_str(),
            s.meaning
        ));
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/signals.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find("<!-- signals:start -->").expect("start marker") + "<!-- signals:start -->\n".len();
    let end = doc.find("<!-- signals:end -->").expect("end marker");
    assert_eq!(
        &doc[start..end],
        table,
        "docs/signals.md is out of date; the table should read:\n{table}"
    );
}
