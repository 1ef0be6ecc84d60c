//! The e-mail corpus (`tests/cases.toml` over the files in `tests/cases/`): each message is
//! read and checked by the default engine, and its expected signals, action and category
//! hold. Every file in `tests/cases/` must be listed.

use std::collections::BTreeSet;
use std::path::Path;

use chanrac_core::{Action, Category, Engine};
use chanrac_mail::Reader;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: String,
    label: Option<String>,
    action: Option<String>,
    #[serde(default)]
    fires: Vec<String>,
    #[serde(default)]
    spares: Vec<String>,
}

fn action(s: &str) -> Action {
    Action::ALL
        .into_iter()
        .find(|a| a.as_str() == s)
        .unwrap_or_else(|| panic!("unknown action {s:?}"))
}

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let cases: Cases = toml::from_str(&std::fs::read_to_string(dir.join("cases.toml")).unwrap()).unwrap();
    let engine = Engine::with_defaults().unwrap();
    let reader = Reader::default();
    let mut failures = Vec::new();
    let mut listed = BTreeSet::new();
    for c in &cases.case {
        listed.insert(c.file.clone());
        let raw = std::fs::read(dir.join("cases").join(&c.file)).unwrap_or_else(|e| panic!("{}: {e}", c.file));
        let msg = match reader.read(&raw) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{}: not read: {e}", c.file));
                continue;
            }
        };
        let v = engine.check(&msg);
        let got: BTreeSet<&str> = v.reasons.iter().map(|r| &*r.signal).collect();
        let explain = || {
            let reasons: Vec<String> = v
                .reasons
                .iter()
                .map(|r| format!("{} {:+} [{}]", r.signal, r.weight, r.evidence))
                .collect();
            format!(
                "{} {} {}: {}",
                v.action.as_str(),
                v.category.as_str(),
                v.score,
                reasons.join("; ")
            )
        };
        for f in &c.fires {
            if !got.contains(f.as_str()) {
                failures.push(format!("{}: {f} should fire; got {}", c.file, explain()));
            }
        }
        for f in &c.spares {
            if got.contains(f.as_str()) {
                failures.push(format!("{}: {f} should not fire; got {}", c.file, explain()));
            }
        }
        let wanted = c.label.as_deref().map(|l| Category::parse(l).expect("label"));
        if let Some(a) = c.action.as_deref().map(action) {
            // Wanted mail may not be acted on beyond `action`; unwanted mail must reach it.
            let ok = match wanted {
                Some(l) if !l.is_unwanted() => v.action <= a,
                _ if c.label.is_none() && a == Action::Allow => v.action == Action::Allow,
                _ => v.action >= a,
            };
            if !ok {
                failures.push(format!(
                    "{}: action should be {}; got {}",
                    c.file,
                    a.as_str(),
                    explain()
                ));
            }
        }
        if let Some(l) = wanted
            && l.is_unwanted()
            && v.category != l
        {
            failures.push(format!(
                "{}: category should be {}; got {}",
                c.file,
                l.as_str(),
                explain()
            ));
        }
    }
    for sub in ["ham", "spam", "scam", "hostile"] {
        for e in std::fs::read_dir(dir.join("cases").join(sub)).unwrap() {
            let name = format!("{sub}/{}", e.unwrap().file_name().to_string_lossy());
            assert!(listed.contains(&name), "{name} is not listed in tests/cases.toml");
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
