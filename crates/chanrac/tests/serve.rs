//! `chanrac serve` as real processes: start-up rules, two nodes sharing PostgreSQL, reload on
//! SIGHUP, graceful stop on SIGTERM, and `chanrac config`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{Node, bin, free_addr, http, pg_schema, temp};

#[test]
fn serve_refuses_a_public_address_without_keys() {
    let out = bin()
        .args(["serve", "--http", "0.0.0.0:0", "--data-dir"])
        .arg(temp("public"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no API keys are configured") && err.contains("loopback"),
        "{err}"
    );
}

#[test]
fn sighup_reloads_and_sigterm_stops_cleanly_keeping_the_statistics() {
    let dir = temp("signals");
    let pack = dir.join("site.toml");
    std::fs::write(&pack, "").unwrap();
    let config = dir.join("chanrac.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = {:?}\nstats_flush_secs = 3600\n[engine]\nrules = [{:?}]\n",
            dir.display().to_string(),
            pack.display().to_string()
        ),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let node = Node::start(&[], &args);
    assert!(
        node.check("0912345678", "Ban co muon mua keo dua khong")
            .contains("\"allow\"")
    );
    std::fs::write(
        &pack,
        "[[rule]]\nid = \"SITE_CANDY\"\ncategory = \"advertising\"\nweight = 12.0\nkeywords = [\"keo dua\"]\nfires = [\"keo dua\"]\nspares = [\"keo\"]\n",
    )
    .unwrap();
    node.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !node
        .check("0912345678", "Ban co muon mua keo dua khong")
        .contains("SITE_CANDY")
    {
        assert!(Instant::now() < deadline, "SIGHUP did not reload the rules");
        std::thread::sleep(Duration::from_millis(200));
    }
    // SIGTERM: the process stops by itself, with success, flushing its statistics although
    // the flush interval is an hour.
    let mut node = node;
    node.signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = node.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "SIGTERM did not stop the server");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    let again = Node::start(&[], &args);
    let (_, stats) = http(again.addr, "GET", "/v1/stats?from=0", None).unwrap();
    assert!(stats.contains("\"messages\":"), "{stats}");
    let v: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert!(v["totals"]["messages"].as_u64().unwrap() >= 2, "{stats}");
}

/// Waits for the process to end by itself.
fn wait_exit(node: &mut Node) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = node.child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The verdict log's promise (docs/api.md): an entry that `GET /v1/verdicts` shows is
/// committed and survives `kill -9`; SIGTERM writes every queued entry before the process
/// ends.
#[test]
fn the_verdict_log_survives_kill_9_once_shown_and_sigterm_writes_the_queue() {
    let dir = temp("verdict-log");
    let args = ["--data-dir", dir.to_str().unwrap()];
    let scam = "Chuc mung ban trung thuong 50tr, nhan tai https://vtb-qua.xyz";
    let mut node = Node::start(&[], &args);
    let body = format!(r#"{{"id":"k9-1","sender":"0912345678","text":"{scam}"}}"#);
    let (status, v) = http(node.addr, "POST", "/v1/check", Some(&body)).unwrap();
    assert_eq!((status, v.contains("\"block\"")), (200, true), "{v}");
    let (_, found) = http(node.addr, "GET", "/v1/verdicts?id=k9-1", None).unwrap();
    assert!(found.contains("\"log_id\""), "{found}");
    node.signal("-KILL");
    wait_exit(&mut node);

    let mut node = Node::start(&[], &args);
    let (_, found) = http(node.addr, "GET", "/v1/verdicts?id=k9-1", None).unwrap();
    assert!(
        found.contains("vtb-qua.xyz"),
        "shown before kill -9, kept after: {found}"
    );
    // A batch answered, then SIGTERM at once: the queue is written before the exit.
    let messages: Vec<String> = (0..300)
        .map(|i| format!(r#"{{"id":"t-{i}","sender":"0912345678","text":"{scam}"}}"#))
        .collect();
    let batch = format!(r#"{{"messages":[{}]}}"#, messages.join(","));
    let (status, _) = http(node.addr, "POST", "/v1/check/batch", Some(&batch)).unwrap();
    assert_eq!(status, 200);
    node.signal("-TERM");
    assert!(wait_exit(&mut node).success());
    assert_eq!(logged(&args), 301, "every entry of the batch and the first message");
}

/// The entries in the verdict log of a stopped server, read through a fresh one.
fn logged(args: &[&str]) -> usize {
    let node = Node::start(&[], args);
    let (_, v) = http(node.addr, "GET", "/v1/verdicts?limit=500", None).unwrap();
    let v: serde_json::Value = serde_json::from_str(&v).unwrap();
    v["verdicts"].as_array().unwrap().len()
}

#[test]
fn two_nodes_sharing_postgres_see_a_list_change_within_five_seconds() {
    let Some(url) = pg_schema("two") else { return };
    let env = |d: &str| {
        vec![
            ("CHANRAC_STORE__RECORDS", "postgres".to_string()),
            ("CHANRAC_STORE__POSTGRES_URL", url.clone()),
            ("CHANRAC_SERVER__DATA_DIR", temp(d).display().to_string()),
        ]
    };
    let a = Node::start(&env("a"), &[]);
    let b = Node::start(&env("b"), &[]);
    assert!(b.check("0977000111", "Xin chao").contains("\"allow\""));
    let (status, body) = http(
        a.addr,
        "POST",
        "/v1/lists/block/senders",
        Some(r#"{"value":"0977 000 111","reason":"SIM farm"}"#),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let started = Instant::now();
    while !b.check("0977000111", "Xin chao").contains("SENDER_BLOCKLISTED") {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "node B did not see node A's list change within 5 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("node B saw the change after {:?}", started.elapsed());
    // And the audit log, shared, says who did it.
    let (_, audit) = http(b.addr, "GET", "/v1/audit", None).unwrap();
    assert!(audit.contains("SIM farm"), "{audit}");
}

#[test]
fn config_check_validates_offline_and_docs_are_printed() {
    let dir = temp("config");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[server]\nhttp = \"127.0.0.1:9999\"\n[engine]\npolicy = \"no/such/policy.toml\"\n",
    )
    .unwrap();
    let out = bin().args(["config", "check"]).arg(&good).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/policy.toml"));

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = bin()
        .current_dir(&root)
        .args(["config", "check", "config/chanrac.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[server]\nhttp = \"127.0.0.1:9999\"\nthreads = 4\n").unwrap();
    let out = bin().args(["config", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:1") && err.contains("threads"), "{err}");

    let out = bin().args(["config", "docs"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# Configuration reference"));
}

/// The venv's Python with smpplib (installed by `.ci/smpp-peers.sh`).
fn smpplib_python() -> Option<PathBuf> {
    let py = std::env::var_os("CHANRAC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-ci/bin/python"));
    let ok = Command::new(&py)
        .args(["-c", "import smpplib"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CHANRAC_SKIP_PEERS").is_some_and(|v| v == "1"),
            "python smpplib is not installed: run .ci/smpp-peers.sh (or set CHANRAC_SKIP_PEERS=1)"
        );
        return None;
    }
    Some(py)
}

#[test]
fn serve_runs_the_smpp_firewall_with_its_engine_and_statistics() {
    let Some(py) = smpplib_python() else { return };
    let sim_addr = free_addr();
    let mut sim = bin()
        .args(["smsc-sim", "--receipts", "--listen", &sim_addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let smpp_addr = free_addr();
    let node = Node::start(
        &[],
        &[
            "--data-dir",
            temp("smpp").to_str().unwrap(),
            "--smpp",
            &smpp_addr.to_string(),
            "--upstream",
            &sim_addr.to_string(),
        ],
    );
    // Wait for the upstream binds.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, s) = http(node.addr, "GET", "/v1/smpp", None).unwrap();
        if s.contains("\"upstream_bound\":2") {
            break;
        }
        assert!(Instant::now() < deadline, "no upstream bind: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../chanrac-smpp/tests/peers/smpplib_esme.py");
    let out = Command::new(py)
        .arg(script)
        .args([smpp_addr.ip().to_string(), smpp_addr.port().to_string(), "2".into()])
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |seq: &serde_json::Value| report["resps"][seq.to_string()]["status"].as_u64().unwrap();
    assert_eq!(status(&report["gsm"][0]), 0);
    assert_eq!(status(&report["ucs2"][0]), 0);
    let scam = report["scam"].as_array().unwrap();
    assert_eq!(scam.len(), 3);
    assert!(
        scam.iter().all(|s| status(s) == 0x45),
        "every part of the scam refused: {report}"
    );
    assert_eq!(
        report["receipts"].as_array().unwrap().len(),
        2,
        "receipts relayed: {report}"
    );
    // The same statistics as the HTTP API's: two allowed, one (whole) blocked scam.
    let (_, stats) = http(node.addr, "GET", "/v1/stats?from=0", None).unwrap();
    let v: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(v["totals"]["messages"], 3, "{stats}");
    assert_eq!(v["totals"]["actions"]["block"], 1, "{stats}");
    let (_, smpp) = http(node.addr, "GET", "/v1/smpp", None).unwrap();
    let s: serde_json::Value = serde_json::from_str(&smpp).unwrap();
    assert_eq!(
        (s["counters"]["forwarded"].as_u64(), s["counters"]["rejected"].as_u64()),
        (Some(2), Some(1)),
        "{smpp}"
    );
}
