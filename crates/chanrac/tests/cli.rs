//! The `chanrac` command line, run as a user runs it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn chanrac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(args)
        .output()
        .expect("run chanrac")
}

fn chanrac_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run chanrac");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(name)
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chanrac-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn check_explains_a_scam() {
    let o = chanrac(&[
        "check",
        "--sender",
        "0912345678",
        "Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("BLOCK  scam  score "), "{out}");
    assert!(
        out.contains("URL_BRAND_LOOKALIKE") && out.contains("https://vtb-qua.xyz"),
        "{out}"
    );
    assert!(out.contains("50tr"), "{out}");
}

#[test]
fn check_json_has_the_documented_shape() {
    let o = chanrac(&[
        "check",
        "--json",
        "V.A.Y T1ỀN nhanh, lãi 0%, giải ngân 5 phút, LH 0987.654.321",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        matches!(v["action"].as_str(), Some("tag" | "quarantine" | "block")),
        "{v}"
    );
    assert_eq!(v["category"], "spam");
    assert!(v["score"].as_f64().unwrap() > 0.0);
    let reasons = v["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .all(|r| r["signal"].is_string() && r["weight"].is_number() && r["evidence"].is_string())
    );
    assert!(reasons.iter().any(|r| r["signal"] == "TEXT_OBFUSCATED"), "{v}");
    assert!(
        reasons
            .iter()
            .any(|r| r["signal"] == "PHONE_IN_TEXT" && r["evidence"] == "0987.654.321"),
        "{v}"
    );
    assert_eq!(v.as_object().unwrap().len(), 4);
}

#[test]
fn check_reads_stdin_and_judges_ad_hours_in_vietnam_time() {
    let o = chanrac_stdin(
        &[
            "check",
            "--json",
            "--sender",
            "SHOPABC",
            "--at",
            "2026-11-22T23:10:00+07:00",
            "-",
        ],
        "[QC] Giảm 50% hôm nay. Từ chối QC soạn TC gửi 1234\n".as_bytes(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let signals: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal"].as_str().unwrap())
        .collect();
    assert!(signals.contains(&"AD_OUTSIDE_HOURS"), "{v}");
    let o = chanrac(&[
        "check",
        "--json",
        "--sender",
        "SHOPABC",
        "--at",
        "2026-11-22T10:00:00+07:00",
        "[QC] Giảm 50% hôm nay. Từ chối QC soạn TC gửi 1234",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["category"], "ad", "{v}");
    assert_eq!(v["action"], "allow", "{v}");
}

#[test]
fn check_rejects_a_bad_time() {
    let o = chanrac(&["check", "--at", "yesterday", "hello"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("RFC 3339"), "{}", stderr(&o));
}

#[test]
fn scan_reports_metrics_on_a_labeled_file() {
    let o = chanrac(&["scan", "--json", data("vi_smishing_ie403_part_a.tsv").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["rows"], 1563);
    assert_eq!(v["skipped"], 0);
    let l = &v["labels"];
    assert_eq!(l["labeled"], 1563);
    assert_eq!(l["confusion"]["labels"], serde_json::json!(["ham", "scam"]));
    let u = &l["unwanted"];
    let (tp, fp, fn_, tn) = (
        u["tp"].as_u64().unwrap(),
        u["fp"].as_u64().unwrap(),
        u["fn"].as_u64().unwrap(),
        u["tn"].as_u64().unwrap(),
    );
    assert_eq!(tp + fn_, 166);
    assert_eq!(fp + tn, 1397);
    let actions: u64 = v["actions"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(actions, 1563);
}

#[test]
fn scan_every_shared_data_file() {
    for name in [
        "uci_sms_spam_collection_en.tsv",
        "vi_smishing_ie403_part_a.tsv",
        "vi_spam_ankhanhtran02.tsv",
        "vi_translated_uci_huynhphong385.tsv",
    ] {
        let o = chanrac(&["scan", data(name).to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains("confusion matrix") && out.contains("unwanted (spam or scam): precision"),
            "{name}: {out}"
        );
    }
}

#[test]
fn scan_writes_verdicts_in_input_order() {
    let out = tmp("order.jsonl");
    let o = chanrac(&[
        "scan",
        data("uci_sms_spam_collection_en.tsv").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5574);
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["line"].as_u64().unwrap(), i as u64 + 2, "verdicts out of order");
        assert!(v["action"].is_string() && v["category"].is_string() && v["reasons"].is_array());
    }
    assert_eq!(lines[0]["label"], "ham");
}

#[test]
fn scan_reads_csv_and_jsonl_from_stdin() {
    let csv = "sender,text,label\n0912345678,\"Chúc mừng bạn trúng thưởng, nhận tại https://vtb-qua.xyz\",scam\n,Mai đi học nhé,ham\n";
    let o = chanrac_stdin(&["scan", "--json", "--out", "-", "-"], csv.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    let verdicts: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(verdicts.len(), 2);
    assert_eq!(verdicts[0]["category"], "scam");
    assert_eq!(verdicts[1]["action"], "allow");
    let summary: serde_json::Value = serde_json::from_str(&stderr(&o)).unwrap();
    assert_eq!(summary["rows"], 2);

    let jsonl = "{\"text\":\"Vay tiền nhanh không thế chấp, giải ngân trong ngày\",\"label\":\"spam\"}\n\n{\"text\":\"ok em\",\"received_at\":1795316400}\n";
    let o = chanrac_stdin(&["scan", "--json", "-"], jsonl.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(summary["rows"], 2);
    assert_eq!(summary["labels"]["labeled"], 1);
}

#[test]
fn scan_names_the_line_of_invalid_utf8_or_skips_it() {
    let path = tmp("bad.tsv");
    let mut bytes = b"label\ttext\nham\tfine\nspam\tbad \xff\xfe here\nham\talso fine\n".to_vec();
    bytes.extend_from_slice(b"ham\tlast\n");
    std::fs::write(&path, &bytes).unwrap();
    let o = chanrac(&["scan", path.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("bad.tsv:3:") && err.contains("not valid UTF-8") && err.contains("--skip-invalid"),
        "{err}"
    );
    let o = chanrac(&["scan", "--json", "--skip-invalid", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((v["rows"].as_u64(), v["skipped"].as_u64()), (Some(3), Some(1)));
}

#[test]
fn scan_refuses_bad_headers_and_labels() {
    let path = tmp("nohead.tsv");
    std::fs::write(&path, "label\tbody\nham\thello\n").unwrap();
    let o = chanrac(&["scan", path.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no `text` column"), "{}", stderr(&o));
    let path = tmp("badlabel.tsv");
    std::fs::write(&path, "label\ttext\nham\thello\nphish\thi\n").unwrap();
    let o = chanrac(&["scan", path.to_str().unwrap()]);
    assert!(
        stderr(&o).contains("badlabel.tsv:3: unknown label \"phish\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_rule_pack_and_policy_are_refused_with_file_and_line() {
    let pack = tmp("pack.toml");
    std::fs::write(
        &pack,
        "[[rule]]\nid = \"SITE_X\"\ncategory = \"gambling\"\nweight = 5.0\nkeywords = [\"nhà cái\"]\nwieght = 1\n",
    )
    .unwrap();
    let o = chanrac(&["check", "--rules", pack.to_str().unwrap(), "hi"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("pack.toml:6:1: unknown field `wieght`"), "{err}");
    let policy = tmp("policy.toml");
    std::fs::write(&policy, "[thresholds]\ntag = 3\nblokc = 9\n").unwrap();
    let o = chanrac(&["check", "--policy", policy.to_str().unwrap(), "hi"]);
    assert!(
        stderr(&o).contains("policy.toml:3:1: unknown field `blokc`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn site_rules_and_lists_change_the_verdict() {
    let pack = tmp("site.toml");
    std::fs::write(&pack, "[[rule]]\nid = \"SITE_PROMO\"\ncategory = \"advertising\"\nweight = 12.0\nkeywords = [\"siêu khuyến mãi xyz\"]\n").unwrap();
    let o = chanrac(&[
        "check",
        "--json",
        "--rules",
        pack.to_str().unwrap(),
        "Siêu khuyến mãi XYZ hôm nay",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["action"], "block", "{v}");
    let lists = tmp("lists");
    std::fs::create_dir_all(lists.join("block")).unwrap();
    std::fs::write(lists.join("block/senders.txt"), "# known spam SIMs\n0987 000 111\n").unwrap();
    let o = chanrac(&[
        "check",
        "--json",
        "--lists",
        lists.to_str().unwrap(),
        "--sender",
        "+84987000111",
        "hello",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["action"], "block", "{v}");
}

#[test]
fn help_teaches() {
    let o = chanrac(&["--help"]);
    let out = stdout(&o);
    assert!(out.contains("Examples:") && out.contains("check") && out.contains("scan"));
    let o = chanrac(&["scan", "--help"]);
    let out = stdout(&o);
    assert!(out.contains("--skip-invalid") && out.contains("received_at") && out.contains("--jobs"));
}

#[test]
fn gen_calls_then_calls_names_the_injected_callers() {
    let out = tmp("calls.csv");
    let inputs = tmp("calls-inputs");
    let o = chanrac(&[
        "gen",
        "calls",
        "--records",
        "60000",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
        "--inputs",
        inputs.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("60000 records written"), "{}", stderr(&o));
    for f in ["dnc.txt", "advertisers.txt", "roaming.txt", "sms_counts.csv"] {
        assert!(inputs.join(f).exists(), "{f}");
    }
    let again = tmp("calls-again.csv");
    chanrac(&[
        "gen",
        "calls",
        "--records",
        "60000",
        "--seed",
        "5",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&again).unwrap(),
        "same seed, same file"
    );

    let o = chanrac(&[
        "calls",
        out.to_str().unwrap(),
        "--inputs",
        inputs.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let suspects: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!suspects.is_empty());
    for s in &suspects {
        for key in ["number", "category", "score", "evidence"] {
            assert!(!s[key].is_null(), "{key} in {s}");
        }
    }
    for kind in ["robocall", "telemarketing", "wangiri", "spoofed", "scam", "sms_source"] {
        assert!(suspects.iter().any(|s| s["category"] == kind), "no {kind}");
    }
    // The file is labeled: precision and recall per category in the summary.
    let summary = stderr(&o);
    assert!(
        summary.contains("precision") && summary.contains("unwanted"),
        "{summary}"
    );
    let overall = summary
        .lines()
        .find(|l| l.trim_start().starts_with("unwanted"))
        .unwrap();
    assert!(overall.contains("100.0%"), "{overall}");

    // The human form names the evidence.
    let o = chanrac(&["calls", out.to_str().unwrap(), "--inputs", inputs.to_str().unwrap()]);
    assert!(stdout(&o).contains("CALL_ONE_RING_ABROAD"), "{}", stdout(&o));
}

#[test]
fn calls_reports_bad_lines_and_keeps_going() {
    let input = "start_time,caller,displayed_number,callee,duration_s,answered,origin,operator\n\
                 2026-11-22T10:00:00+07:00,+85512345678,0912345678,0987654321,60,true,international,x\n\
                 2026-11-22T10:00:05+07:00,anonymous,,0987654321,60,true,domestic,x\n\
                 garbage\n\
                 2026-11-22T10:01:00+07:00,0912000001,,0987654322,30,true,domestic,x\n";
    let o = chanrac_stdin(&["calls", "-"], input.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("+85512345678") && stdout(&o).contains("spoofed"),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert!(err.contains("2 records") && err.contains("2 bad lines"), "{err}");
    assert!(err.contains("line 3: caller") && err.contains("line 4:"), "{err}");

    let o = chanrac_stdin(&["calls", "-"], b"time,from,to\n1,2,3\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("start_time"), "{}", stderr(&o));
    let o = chanrac(&["calls", "no-such-file.csv"]);
    assert_eq!(o.status.code(), Some(2));
}
