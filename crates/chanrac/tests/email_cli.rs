//! E-mail through the command line: `check --email` and `scan` over mbox files and
//! directories of e-mails, run as a user runs them, over the synthetic cases of
//! `crates/chanrac-mail/tests/cases/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn chanrac(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run chanrac");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../chanrac-mail/tests/cases")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chanrac-email-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn signals(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn check_an_email_file_and_stdin() {
    let file = cases().join("scam/vcb-display-name-link-mismatch.eml");
    let v = json(&chanrac(&["check", "--email", "--json", file.to_str().unwrap()], None));
    assert_eq!(v["action"], "block");
    assert_eq!(v["category"], "scam");
    for s in ["EMAIL_DISPLAY_NAME_BRAND", "EMAIL_LINK_MISMATCH", "EMAIL_DMARC_FAIL"] {
        assert!(signals(&v).contains(&s.to_string()), "{v}");
    }
    let raw = std::fs::read(cases().join("ham/vcb-statement.eml")).unwrap();
    let v = json(&chanrac(&["check", "--email", "--json", "-"], Some(&raw)));
    assert_eq!(v["action"], "allow");
    // In words, the evidence names the display name.
    let o = chanrac(&["check", "--email", file.to_str().unwrap()], None);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("BLOCK  scam"), "{out}");
    assert!(
        out.contains("\"Vietcombank\" <canhbao@vcb-secure.top> names vietcombank"),
        "{out}"
    );
}

#[test]
fn not_an_email_is_a_clear_error() {
    let o = chanrac(&["check", "--email", "-"], Some(b"just some text\n"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not an e-mail") && err.contains("just some text"), "{err}");
    let o = chanrac(&["check", "--email", "/nonexistent/x.eml"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot open /nonexistent/x.eml"));
}

#[test]
fn scan_a_directory_with_labels() {
    let out = tmp("dir-verdicts.jsonl");
    let o = chanrac(
        &[
            "scan",
            cases().to_str().unwrap(),
            "--json",
            "--no-progress",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    let summary = json(&o);
    let files: usize = ["ham", "spam", "scam", "hostile"]
        .iter()
        .map(|d| std::fs::read_dir(cases().join(d)).unwrap().count())
        .sum();
    assert_eq!(summary["rows"], files as u64);
    let labeled: usize = ["ham", "spam", "scam"]
        .iter()
        .map(|d| std::fs::read_dir(cases().join(d)).unwrap().count())
        .sum();
    assert_eq!(summary["labels"]["labeled"], labeled as u64);
    // The synthetic cases are separated (this is what the corpus asserts case by case).
    assert_eq!(summary["labels"]["unwanted"]["fp"], 0);
    assert_eq!(summary["labels"]["unwanted"]["fn"], 0);
    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files);
    // In name order, numbered, each with its file.
    assert_eq!(lines[0]["line"], 1);
    assert!(
        lines[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("ham/colleague-meeting.eml")
    );
    let bomb = lines
        .iter()
        .find(|l| l["file"].as_str().unwrap().ends_with("hostile/deep-nesting.eml"))
        .unwrap();
    assert!(signals(bomb).contains(&"EMAIL_MIME_BOMB".to_string()));
}

#[test]
fn scan_an_mbox() {
    // Three messages; the second has a body line that mboxrd escaped (`>From `), the third is
    // not an e-mail.
    let mut mbox = Vec::new();
    mbox.extend_from_slice(b"From MAILER-DAEMON Mon Nov 23 01:00:00 2026\n");
    mbox.extend(std::fs::read(cases().join("scam/prize-shopee.eml")).unwrap());
    mbox.extend_from_slice(
        b"\nFrom a@b Mon Nov 23 01:00:00 2026\nFrom: a@example.com\nSubject: hi\n\n>From the start\n\n",
    );
    let third_line = mbox.iter().filter(|&&b| b == b'\n').count() + 1;
    mbox.extend_from_slice(b"From c@d Mon Nov 23 01:00:00 2026\nnot a header line\n");
    let path = tmp("box.mbox");
    std::fs::write(&path, &mbox).unwrap();
    let o = chanrac(&["scan", path.to_str().unwrap(), "--no-progress"], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("box.mbox:{third_line}:")) && err.contains("--skip-invalid"),
        "{err}"
    );

    let out = tmp("mbox-verdicts.jsonl");
    let summary = json(&chanrac(
        &[
            "scan",
            path.to_str().unwrap(),
            "--skip-invalid",
            "--json",
            "--no-progress",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    ));
    assert_eq!(summary["rows"], 2);
    assert_eq!(summary["skipped"], 1);
    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["category"], "scam");
    assert_eq!(lines[1]["action"], "allow");

    // The same from standard input: the format is recognized from the `From ` line.
    let summary = json(&chanrac(
        &["scan", "-", "--skip-invalid", "--json", "--no-progress"],
        Some(&mbox),
    ));
    assert_eq!(summary["rows"], 2);

    // With the counters, e-mails are parsed before they are counted: the first one's To
    // address is a recipient key (unparsed, no message would have one). Senders given as
    // e-mail addresses are read like brandnames, which the sender counters leave out.
    let summary = json(&chanrac(
        &[
            "scan",
            path.to_str().unwrap(),
            "--skip-invalid",
            "--stateful",
            "--json",
            "--no-progress",
        ],
        None,
    ));
    assert_eq!(summary["rows"], 2);
    assert_eq!(summary["state"]["stats"]["keys"], 1, "{summary}");
}

#[test]
fn the_limits_are_flags_of_check_and_scan() {
    let photos = cases().join("ham/family-photos-attachment.eml");
    let photos = photos.to_str().unwrap();
    // Three MIME parts: within the default limit, a bomb under a limit of two.
    let v = json(&chanrac(&["check", "--email", "--json", photos], None));
    assert!(!signals(&v).contains(&"EMAIL_MIME_BOMB".to_string()), "{v}");
    let v = json(&chanrac(
        &["check", "--email", "--json", "--email-max-parts", "2", photos],
        None,
    ));
    assert!(v["reasons"].to_string().contains("more than 2 MIME parts"), "{v}");

    // A 5 KiB body under a 2 KiB limit is read in part, and says so.
    let long = tmp("long.eml");
    let body = "Xin chao, day la thu dai. ".repeat(200);
    std::fs::write(
        &long,
        format!("From: a@example.vn\nTo: b@example.vn\nSubject: dai\n\n{body}\n"),
    )
    .unwrap();
    let long = long.to_str().unwrap();
    let v = json(&chanrac(&["check", "--email", "--json", long], None));
    assert!(!signals(&v).contains(&"EMAIL_TRUNCATED".to_string()), "{v}");
    let v = json(&chanrac(
        &["check", "--email", "--json", "--email-max-bytes", "2K", long],
        None,
    ));
    assert!(v["reasons"].to_string().contains("read 2048 of"), "{v}");

    // scan: the splitter and the workers use the same limits.
    let out = tmp("limits-verdicts.jsonl");
    let ham = cases().join("ham");
    let args = [
        "scan",
        ham.to_str().unwrap(),
        "--no-progress",
        "--email-max-parts",
        "2",
        "--out",
    ];
    let o = chanrac(&[&args[..], &[out.to_str().unwrap()]].concat(), None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bombs = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter(|l| l.contains("EMAIL_MIME_BOMB"))
        .count();
    assert_eq!(bombs, 3, "the three ham cases with three parts");

    for (flag, value, want) in [
        ("--email-max-bytes", "12", "below the smallest limit"),
        ("--email-max-part-bytes", "3X", "unknown unit"),
        ("--email-max-depth", "0", "--email-max-depth"),
    ] {
        let o = chanrac(&["check", "--email", flag, value, photos], None);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{flag} {value}: {err}");
    }
}
