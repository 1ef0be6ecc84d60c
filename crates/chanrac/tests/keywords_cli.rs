//! `chanrac keywords` as a user runs it: mining on real labeled data, the hold-back
//! measurement, the rule pack it writes (loaded back by `check --rules`), and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chanrac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(args)
        .output()
        .expect("run chanrac")
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
        .display()
        .to_string()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chanrac-keywords-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON document")
}

#[test]
fn mines_english_spam_keywords_that_add_recall_on_held_back_messages() {
    let uci = data("uci_sms_spam_collection_en.tsv");
    let rules = tmp("mined.toml");
    let o = chanrac(&[
        "keywords",
        "--spam",
        &uci,
        "--ham",
        &uci,
        "--holdout",
        "0.3",
        "--no-model",
        "--json",
        "--out-rules",
        rules.to_str().unwrap(),
    ]);
    let v = json(&o);
    let set = &v["mining_set"];
    assert!(
        set["spam"].as_u64().unwrap() > 400 && set["ham"].as_u64().unwrap() > 3000,
        "{set}"
    );
    let proposals = v["proposals"].as_array().unwrap();
    assert!(proposals.len() >= 5, "{proposals:?}");
    for p in proposals {
        let phrase = p["phrase"].as_str().unwrap();
        // The folded form: lower-case ASCII words, no digits.
        assert!(phrase.bytes().all(|b| b.is_ascii_lowercase() || b == b' '), "{phrase}");
        assert!(p["ham_rate_upper"].as_f64().unwrap() <= 0.001, "{p}");
        assert!(p["adds_docs"].as_u64().unwrap() >= 1, "{p}");
        assert!(p["unwanted_docs"].as_u64().unwrap() >= 5, "{p}");
    }
    // Ranked best first.
    let z: Vec<f64> = proposals.iter().map(|p| p["z"].as_f64().unwrap()).collect();
    assert!(z.windows(2).all(|w| w[0] >= w[1]), "{z:?}");
    // Measured on messages the mining did not see: recall goes up.
    let h = &v["holdout"];
    let (before, after) = (&h["engine"], &h["with_proposals"]);
    assert_eq!(before["unwanted"], after["unwanted"]);
    assert!(before["unwanted"].as_u64().unwrap() > 100, "{h}");
    assert!(
        after["recall"].as_f64().unwrap() > before["recall"].as_f64().unwrap(),
        "{h}"
    );
    assert!(after["fpr"].as_f64().unwrap() < 0.01, "{h}");

    // The rule pack loads and fires under the rule's id.
    let phrase = proposals[0]["phrase"].as_str().unwrap();
    let id = format!("MINED_{}", phrase.to_ascii_uppercase().replace(' ', "_"));
    let pack = std::fs::read_to_string(&rules).unwrap();
    assert!(pack.contains(&format!("id = \"{id}\"")), "{pack}");
    let o = chanrac(&[
        "check",
        "--json",
        "--no-model",
        "--rules",
        rules.to_str().unwrap(),
        &format!("hello {phrase} now"),
    ]);
    let verdict = json(&o);
    let signals: Vec<&str> = verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal"].as_str().unwrap())
        .collect();
    assert!(signals.contains(&id.as_str()), "{signals:?}");
}

#[test]
fn the_split_is_deterministic_and_the_table_explains_itself() {
    let uci = data("uci_sms_spam_collection_en.tsv");
    let args = [
        "keywords",
        "--spam",
        &uci,
        "--ham",
        &uci,
        "--holdout",
        "0.3",
        "--seed",
        "7",
        "--no-model",
        "--top",
        "10",
    ];
    let a = chanrac(&args);
    let b = chanrac(&args);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    let text = String::from_utf8_lossy(&a.stdout);
    assert!(
        text.contains("held back:") && text.contains("engine + proposals"),
        "{text}"
    );
    assert!(text.contains("95 % upper bound"), "{text}");
}

#[test]
fn a_small_ham_baseline_is_warned_about() {
    let vi = data("vi_smishing_ie403_part_a.tsv");
    let o = chanrac(&[
        "keywords",
        "--spam",
        &vi,
        "--ham",
        &vi,
        "--holdout",
        "0.3",
        "--no-model",
    ]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("warning: a ham baseline of"), "{text}");
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let uci = data("uci_sms_spam_collection_en.tsv");
    let only_ham = tmp("ham.tsv");
    std::fs::write(&only_ham, "label\ttext\nham\thello there\nham\tsee you\n").unwrap();
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--spam", &uci, "--ham", &uci, "--holdout", "1.5"],
            "between 0 and 1",
        ),
        (
            vec!["--spam", only_ham.to_str().unwrap(), "--ham", &uci],
            "no spam or scam messages",
        ),
        (vec!["--spam", &uci, "--ham", &uci, "--prior=-1"], "must be positive"),
        (vec!["--spam", "/nonexistent.tsv", "--ham", &uci], "cannot open"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["keywords"];
        all.extend(args);
        let o = chanrac(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expected), "{all:?}: {err}");
    }
}
