//! The behaviour corpus: every case in `tests/corpus/*.toml` (at the workspace root) runs
//! through the default engine and must get its expected action, category and signals.
//!
//! A case:
//!
//! ```toml
//! [[case]]
//! name = "prize scam with a look-alike bank link"
//! text = "Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz"
//! sender = "0912345678"                  # optional
//! at = "2026-11-22T10:00:00+07:00"       # optional: when it was received
//! origin = "international"               # optional
//! sim_activated = "2026-11-21T10:00:00+07:00"  # optional
//! action = "block"                       # exact action, or a range with
//! min_action = "quarantine"              #   min_action and/or max_action
//! category = "scam"                      # optional
//! signals = ["URL_BRAND_LOOKALIKE"]      # must all be among the reasons
//! absent = ["AD_NO_OPTOUT"]              # must all be missing
//! ```

use std::path::{Path, PathBuf};

use chanrac_core::{Action, Category, Engine, Message, Metadata, Origin};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    text: String,
    sender: Option<String>,
    recipient: Option<String>,
    at: Option<String>,
    origin: Option<String>,
    sim_activated: Option<String>,
    action: Option<String>,
    min_action: Option<String>,
    max_action: Option<String>,
    category: Option<String>,
    #[serde(default)]
    signals: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    /// Language, for the coverage count.
    lang: String,
}

fn action(s: &str) -> Action {
    *Action::ALL
        .iter()
        .find(|a| a.as_str() == s)
        .unwrap_or_else(|| panic!("unknown action {s:?}"))
}

fn time(s: &str) -> i64 {
    // RFC 3339 with a numeric offset: parse by hand to keep the core free of a time crate.
    let (date, rest) = s.split_once('T').expect("RFC 3339 time");
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (clock, offset) = rest.split_at(8);
    let c: Vec<i64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
    let off = if offset == "Z" {
        0
    } else {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let o: Vec<i64> = offset[1..].split(':').map(|p| p.parse().unwrap()).collect();
        sign * (o[0] * 3600 + o[1] * 60)
    };
    // Days from civil date (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + c[0] * 3600 + c[1] * 60 + c[2] - off
}

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_cases_get_their_expected_verdicts() {
    let engine = Engine::with_defaults().unwrap();
    let mut failures = Vec::new();
    let mut total = 0;
    let mut langs = std::collections::BTreeMap::<String, usize>::new();
    let mut kinds = std::collections::BTreeMap::<&'static str, usize>::new();
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for c in file.cases {
            total += 1;
            *langs.entry(c.lang.clone()).or_default() += 1;
            let msg = Message {
                sender: c.sender.clone(),
                recipient: c.recipient.clone(),
                text: c.text.clone(),
                received_at: c.at.as_deref().map(time),
                meta: Metadata {
                    origin: c.origin.as_deref().map(|o| match o {
                        "international" => Origin::International,
                        "domestic" => Origin::Domestic,
                        other => panic!("unknown origin {other:?}"),
                    }),
                    sim_activated_at: c.sim_activated.as_deref().map(time),
                    ..Default::default()
                },
                ..Default::default()
            };
            let v = engine.check(&msg);
            let mut problems = Vec::new();
            if let Some(a) = &c.action
                && v.action != action(a)
            {
                problems.push(format!("action {} (want {a})", v.action.as_str()));
            }
            if let Some(a) = &c.min_action
                && v.action < action(a)
            {
                problems.push(format!("action {} (want at least {a})", v.action.as_str()));
            }
            if let Some(a) = &c.max_action
                && v.action > action(a)
            {
                problems.push(format!("action {} (want at most {a})", v.action.as_str()));
            }
            if c.action.is_none() && c.min_action.is_none() && c.max_action.is_none() {
                problems.push("the case names no expected action".to_string());
            }
            if let Some(cat) = &c.category {
                let want = Category::parse(cat).unwrap_or_else(|| panic!("unknown category {cat:?}"));
                if v.category != want {
                    problems.push(format!("category {} (want {cat})", v.category.as_str()));
                }
                *kinds.entry(want.as_str()).or_default() += 1;
            }
            for s in &c.signals {
                if !v.has(s) {
                    problems.push(format!("missing signal {s}"));
                }
            }
            for s in &c.absent {
                if v.has(s) {
                    problems.push(format!("unexpected signal {s}"));
                }
            }
            if !problems.is_empty() {
                let got: Vec<String> = v
                    .reasons
                    .iter()
                    .map(|r| format!("{} {:+} [{}]", r.signal, r.weight, r.evidence))
                    .collect();
                failures.push(format!(
                    "{} / {:?}\n    {}\n    score {}: {}",
                    path.file_name().unwrap().to_string_lossy(),
                    c.name,
                    problems.join("; "),
                    v.score,
                    got.join(", ")
                ));
            }
        }
    }
    eprintln!("corpus: {total} cases, by language {langs:?}, by expected category {kinds:?}");
    assert!(total >= 80, "the corpus must hold at least 80 cases, it has {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn time_parser_agrees_with_known_instants() {
    assert_eq!(time("2026-11-22T15:00:00Z"), 1_795_359_600);
    assert_eq!(time("2026-11-22T22:00:00+07:00"), 1_795_359_600);
    assert_eq!(time("1970-01-01T00:00:00Z"), 0);
}
