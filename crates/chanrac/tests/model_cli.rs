//! `chanrac train` and `chanrac eval` as a user runs them, and the shipped model in `check`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chanrac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(args)
        .output()
        .expect("run chanrac")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
        .display()
        .to_string()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chanrac-model-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A small labeled TSV: the first `n` rows of a data file.
fn head(file: &str, n: usize, out: &str) -> String {
    let text = std::fs::read_to_string(data(file)).unwrap();
    let lines: Vec<&str> = text.lines().take(n + 1).collect();
    let path = tmp(out);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.display().to_string()
}

/// The exact keys `eval --json` promises, checked recursively.
fn assert_report_shape(v: &serde_json::Value) {
    for k in ["n", "accuracy"] {
        assert!(v[k].is_number(), "{k} in {v}");
    }
    for class in ["ham", "spam", "scam"] {
        for k in ["precision", "recall", "f1", "support"] {
            assert!(v["classes"][class][k].is_number(), "classes.{class}.{k} in {v}");
        }
    }
    for k in ["precision", "recall", "f1", "fpr"] {
        assert!(v["unwanted"][k].is_number(), "unwanted.{k} in {v}");
    }
    assert_eq!(v["confusion"]["labels"], serde_json::json!(["ham", "spam", "scam"]));
    let m = v["confusion"]["matrix"].as_array().unwrap();
    assert_eq!(m.len(), 3);
    let total: u64 = m
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, v["n"].as_u64().unwrap());
}

#[test]
fn train_is_reproducible_and_eval_reads_the_model() {
    let en = head("uci_sms_spam_collection_en.tsv", 600, "en.tsv");
    let vi = head("vi_smishing_ie403_part_a.tsv", 400, "vi.tsv");
    let (a, b) = (tmp("a.bin"), tmp("b.bin"));
    for out in [&a, &b] {
        let o = chanrac(&[
            "train",
            "--data",
            &en,
            "--data",
            &vi,
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "3",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("trained on 1000 messages"), "{}", stdout(&o));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let o = chanrac(&["eval", "--model", a.to_str().unwrap(), "--data", &vi, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_report_shape(&v);
    assert_eq!(v["n"], 400);
    assert_eq!(v["classes"]["spam"]["support"], 0);

    // A model that `check` uses instead of the shipped one.
    let o = chanrac(&["check", "--model", a.to_str().unwrap(), "--json", "hello"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn cross_validation_reports_the_documented_shape_with_a_baseline() {
    let vi = data("vi_smishing_ie403_part_a.tsv");
    let cv = || chanrac(&["eval", "--data", &vi, "--cv", "5", "--baseline", "--json"]);
    let o = cv();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_report_shape(&v);
    assert_report_shape(&v["baseline"]);
    assert_eq!(v["n"], 1563);
    assert_eq!(v["classes"]["scam"]["support"], 166);
    assert_eq!(v["folds"], 5);
    // A real model on real data: far better than always saying ham (accuracy 0.894).
    assert!(v["accuracy"].as_f64().unwrap() > 0.93, "{v}");
    assert!(v["classes"]["scam"]["recall"].as_f64().unwrap() > 0.6, "{v}");
    // Seeded: the same command gives the same figures.
    let w: serde_json::Value = serde_json::from_str(&stdout(&cv())).unwrap();
    assert_eq!(v["confusion"], w["confusion"]);
    assert_eq!(v["baseline"]["confusion"], w["baseline"]["confusion"]);
}

#[test]
fn a_threshold_for_a_false_positive_limit_is_chosen_on_the_training_folds() {
    let en = head("uci_sms_spam_collection_en.tsv", 800, "fpr.tsv");
    let o = chanrac(&["eval", "--data", &en, "--cv", "3", "--max-fpr", "0.01", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_report_shape(&v);
    assert_report_shape(&v["at_fpr"]);
    assert_eq!(v["at_fpr"]["max_fpr"], 0.01);
    let t = v["at_fpr"]["thresholds"].as_array().unwrap();
    assert_eq!(t.len(), 3);
    assert!(t.iter().all(|t| (0.0..=1.0).contains(&t.as_f64().unwrap())), "{t:?}");
    // The ranking, always reported: the ROC area and recall at four false-positive rates.
    assert!(v["roc"]["auc"].as_f64().unwrap() > 0.9, "{v}");
    let points = v["roc"]["recall_at_fpr"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let recalls: Vec<f64> = points.iter().map(|p| p[1].as_f64().unwrap()).collect();
    assert!(recalls.windows(2).all(|w| w[0] <= w[1]), "{recalls:?}");
    // A threshold needs training folds to be chosen on.
    let o = chanrac(&["eval", "--data", &en, "--max-fpr", "0.01"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn eval_without_model_or_cv_uses_the_shipped_model() {
    let en = head("uci_sms_spam_collection_en.tsv", 200, "shipped.tsv");
    let o = chanrac(&["eval", "--data", &en, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_report_shape(&v);
    assert_eq!(v["model"], "shipped");
    let o = chanrac(&["eval", "--data", &en]);
    assert!(stdout(&o).contains("unwanted  precision"), "{}", stdout(&o));
}

#[test]
fn check_lists_the_shipped_models_signal() {
    let scam = "Vietcombank thong bao: tai khoan cua quy khach da bi khoa. Vui long dang nhap https://vcb-xacthuc.top de mo khoa ngay";
    let o = chanrac(&["check", scam]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("MODEL_SCAM") && stdout(&o).contains("P(scam) = "),
        "{}",
        stdout(&o)
    );
    let o = chanrac(&["check", "--no-model", scam]);
    assert!(!stdout(&o).contains("MODEL_SCAM"), "{}", stdout(&o));
}

/// (file content, what the error must say): bad input names the file and line.
const BAD_FILES: &[(&str, &str)] = &[
    ("label\ttext\nham\thello\nfoo\tbar\n", ":3: unknown label \"foo\""),
    (
        "label\ttext\nham\thello\nad\t[QC] sale\n",
        ":3: label \"ad\" is not a class",
    ),
    ("text\nhello\n", ":2: no label"),
    ("label\tmessage\nham\thello\n", ":1: the header has no `text` column"),
    ("", "no labeled messages"),
    ("label\ttext\n", "no labeled messages"),
];

#[test]
fn bad_data_files_are_refused_with_file_and_line() {
    for (i, (content, want)) in BAD_FILES.iter().enumerate() {
        let path = tmp(&format!("bad{i}.tsv"));
        std::fs::write(&path, content).unwrap();
        let p = path.to_str().unwrap();
        for args in [
            vec!["train", "--data", p, "--out", tmp("never.bin").to_str().unwrap()],
            vec!["eval", "--data", p],
        ] {
            let o = chanrac(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = stderr(&o);
            assert!(err.contains(p) && err.contains(want), "{args:?}: {err}");
            assert!(!err.contains("panicked") && !err.contains("--skip-invalid"), "{err}");
        }
    }
    assert!(!tmp("never.bin").exists());
}

#[test]
fn damaged_model_files_are_refused() {
    let en = head("uci_sms_spam_collection_en.tsv", 100, "tiny.tsv");
    let good = tmp("good.bin");
    let o = chanrac(&[
        "train",
        "--data",
        &en,
        "--out",
        good.to_str().unwrap(),
        "--bits",
        "12",
        "--holdout",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&good).unwrap();
    let mut version = bytes.clone();
    version[8] = 9;
    let mut flipped = bytes.clone();
    let mid = bytes.len() / 2;
    flipped[mid] ^= 1;
    for (name, content, want) in [
        (
            "truncated.bin",
            bytes[..bytes.len() - 10].to_vec(),
            "model file is truncated",
        ),
        ("version.bin", version, "format version 9 is not supported"),
        ("flipped.bin", flipped, "corrupted"),
        ("text.bin", b"label\ttext\n".to_vec(), "not a chanrac model file"),
        ("empty.bin", Vec::new(), "model file is truncated"),
    ] {
        let path = tmp(name);
        std::fs::write(&path, content).unwrap();
        for args in [
            vec!["eval", "--model", path.to_str().unwrap(), "--data", en.as_str()],
            vec!["check", "--model", path.to_str().unwrap(), "hello"],
        ] {
            let o = chanrac(&args);
            assert_eq!(o.status.code(), Some(2), "{name}");
            let err = stderr(&o);
            assert!(err.contains(want) && err.contains(name), "{name}: {err}");
        }
    }
}

/// The shipped model is what the documented command trains from the shipped data, in any
/// build (debug or release): a change of the fold or the features must ship a new model.
#[test]
fn the_shipped_model_is_reproducible_with_the_documented_command() {
    let out = tmp("reproduced.bin");
    let o = chanrac(&[
        "train",
        "--data",
        &data("uci_sms_spam_collection_en.tsv"),
        "--data",
        &data("vi_smishing_ie403_part_a.tsv"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shipped =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../chanrac-core/model/default.bin")).unwrap();
    assert!(
        std::fs::read(&out).unwrap() == shipped,
        "the shipped model differs from a fresh `chanrac train`: retrain it (docs/model.md)"
    );
}
