//! Writes the same verdict rows to a fresh SQLite store through `Records::add_verdicts`,
//! in transactions of `CHUNK` rows (default 5,000), for measuring a logged row's cost:
//!
//! ```text
//! cargo build --release -p chanrac-store --example verdict_rows
//! valgrind --tool=callgrind --toggle-collect='*add_verdicts*' target/release/examples/verdict_rows 50000
//! ```
//!
//! The rows look like the HTTP benchmark's (`bench/http/make_bodies.py`): ids `0`, `1`, …,
//! 2,000 senders, 10,000 recipients, texts of 60-160 characters, a reasons array of two
//! signals. `DROP_INDEXES=verdicts_at,…` drops those indexes first (to see what each costs). Prints the rows written and the wall time (noise on a shared machine: judge by
//! the instruction count).

use std::sync::Arc;

use chanrac_core::{Action, Category};
use chanrac_store::records::sqlite::SqliteRecords;
use chanrac_store::records::{Records, VerdictRecord};

fn row(i: u64) -> VerdictRecord {
    let words = [
        "khuyen mai",
        "nhan ngay",
        "tai khoan",
        "http://bit.ly/x",
        "uu dai",
        "lien he",
    ];
    let mut text = String::new();
    while text.len() < 60 + (i * 37 % 100) as usize {
        text.push_str(words[(i as usize + text.len()) % words.len()]);
        text.push(' ');
    }
    VerdictRecord {
        id: 0,
        at: 1_790_000_000 + (i / 10_000) as i64,
        message_id: Some(i.to_string()),
        source: "http".into(),
        sender: Some(format!("09{:08}", 12_000_000 + i % 2_000)),
        recipient: Some(format!("09{:08}", 30_000_000 + i * 7_919 % 10_000)),
        text,
        action: if i.is_multiple_of(3) { Action::Block } else { Action::Tag },
        category: Category::Spam,
        score: 0.5 + (i % 50) as f32 / 100.0,
        reasons: r#"[{"signal":"URL_SHORTENER","weight":0.35,"evidence":"http://bit.ly/x"},{"signal":"PROMO_KEYWORDS","weight":0.2,"evidence":"khuyen mai"}]"#.into(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let chunk: u64 = std::env::var("CHUNK")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000);
    let dir = std::env::temp_dir().join(format!("chanrac-verdict-rows-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteRecords::open(&dir.join("records.db")).expect("open");
    // DROP_INDEXES=verdicts_at,verdicts_sender: what a row costs without them (an experiment).
    if let Ok(names) = std::env::var("DROP_INDEXES") {
        let c = rusqlite::Connection::open(dir.join("records.db")).expect("open");
        for name in names.split(',').filter(|n| !n.is_empty()) {
            c.execute_batch(&format!("DROP INDEX {name}")).expect("drop index");
        }
    }
    let rows: Vec<Arc<[VerdictRecord]>> = (0..n)
        .step_by(chunk as usize)
        .map(|s| (s..(s + chunk).min(n)).map(row).collect())
        .collect();
    let start = std::time::Instant::now();
    for r in rows {
        store.add_verdicts(r).await.expect("add_verdicts");
    }
    println!("{n} rows in {:?}", start.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
