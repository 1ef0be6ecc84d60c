//! The hub as a real `chanrac serve` process: reports streamed to the short-code line while
//! the server is killed with SIGKILL (after a restart every acknowledged report is there),
//! and the analyst's `chanrac hub` commands against it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;
use common::{Node, bin, http, temp};

#[test]
fn every_acknowledged_report_survives_a_sigkill() {
    let dir = temp("hub-kill");
    let env = [("CHANRAC_SERVER__DATA_DIR", dir.display().to_string())];
    let node = Node::start(&env, &[]);
    let addr = node.addr;
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let text = format!("S 0912345678 tin rac {w}-{i}");
                    let body = format!(r#"{{"from":"09000000{w:02}","to":"5656","text":"{text}"}}"#);
                    match http(addr, "POST", "/v1/mo", Some(&body)) {
                        Ok((200, v)) => {
                            let v: serde_json::Value = serde_json::from_str(&v).unwrap();
                            let reference = v["ref"].as_str().unwrap().to_string();
                            acked.lock().unwrap().push((reference, text));
                        }
                        // The server is gone: what was not answered was not promised.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let the stream run, then kill the server in the middle of it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 200 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    node.signal("-KILL");
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    drop(node);
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200, "only {} reports were acknowledged", acked.len());

    let node = Node::start(&env, &[]);
    let mut stored = std::collections::HashMap::new();
    let mut before = i64::MAX;
    loop {
        let (status, v) = http(
            node.addr,
            "GET",
            &format!("/v1/reports?limit=1000&before={before}"),
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{v}");
        let v: serde_json::Value = serde_json::from_str(&v).unwrap();
        let page = v["reports"].as_array().unwrap();
        if page.is_empty() {
            break;
        }
        for r in page {
            let id = r["id"].as_i64().unwrap();
            stored.insert(format!("PA{id}"), r["raw"].as_str().unwrap().to_string());
            before = before.min(id);
        }
    }
    for (reference, text) in &acked {
        assert_eq!(
            stored.get(reference),
            Some(text),
            "acknowledged report {reference} was lost"
        );
    }
    // Reports in flight at the kill may be stored without an answer, never the reverse.
    assert!(stored.len() >= acked.len());
    eprintln!("{} acknowledged, {} stored after SIGKILL", acked.len(), stored.len());
}

/// Runs `chanrac hub ARGS` against the node; returns the exit code, stdout and stderr.
fn hub(node: &Node, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .arg("hub")
        .args(args)
        .args(["--server", &format!("http://{}", node.addr)])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn analysts_work_the_queue_and_the_registers_from_the_command_line() {
    let dir = temp("hub-cli");
    let node = Node::start(&[("CHANRAC_SERVER__DATA_DIR", dir.display().to_string())], &[]);
    for i in 0..5 {
        let body = format!(
            r#"{{"from":"090000000{i}","to":"5656","text":"S 0912345678 Vay tien nhanh {i} trieu, lai 0%, LH 0987000111"}}"#
        );
        assert_eq!(http(node.addr, "POST", "/v1/mo", Some(&body)).unwrap().0, 200);
    }
    let (code, out, err) = hub(&node, &["watchlist"]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("+84912345678"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("proposed\t5"), "{line}");
    let (code, out, err) = hub(&node, &["reports", "--source", "0912 345 678"]);
    assert_eq!((code, out.lines().count()), (0, 6), "{out}{err}");
    let (code, out, err) = hub(&node, &["confirm", "0912345678", "--reason", "loan spam, 5 reporters"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("+84912345678 confirmed") && out.contains("block list (senders)"),
        "{out}"
    );
    let training = dir.join("confirmed.tsv");
    let (code, _, err) = hub(&node, &["training", "--out", training.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let tsv = std::fs::read_to_string(&training).unwrap();
    assert_eq!(tsv.lines().next(), Some("label\ttext"));
    assert_eq!(
        tsv.lines().filter(|l| l.starts_with("spam\tVay tien nhanh")).count(),
        5,
        "{tsv}"
    );

    let numbers = dir.join("dnc.csv");
    std::fs::write(
        &numbers,
        "number,scope\n0912000001,all\n+84 912 000 002,sms\n0912000003,calls\n",
    )
    .unwrap();
    let (code, out, err) = hub(&node, &["dnc", "import", numbers.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 lines read, 3 numbers changed"), "{out}");
    std::fs::write(&numbers, "0912000004\nnonsense\n").unwrap();
    let (code, _, err) = hub(&node, &["dnc", "import", numbers.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("line 2") && err.contains("nothing imported"), "{err}");
    let campaign = dir.join("campaign.txt");
    std::fs::write(&campaign, "0912000001\n0912000002\n0912000003\n0912000009\n").unwrap();
    let (code, out, err) = hub(&node, &["dnc", "scrub", campaign.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (0, "0912000001\n0912000002\n"), "{err}");
    assert!(err.contains("4 checked, 2 must not be contacted"), "{err}");
    let (code, out, _) = hub(&node, &["dnc", "export"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "number,scope\n+84912000001,all\n+84912000002,sms\n+84912000003,calls\n"
    );
    let (code, out, _) = hub(&node, &["dnc", "show", "0912000002"]);
    assert_eq!(code, 0);
    assert!(out.contains("sms: true  calls: false"), "{out}");

    let (code, _, err) = hub(
        &node,
        &["advertiser", "add", "QC-0001", "FPT Retail", "--reason", "licence"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = hub(
        &node,
        &[
            "brandname",
            "add",
            "QC-0001",
            "FPTSHOP",
            "--operators",
            "viettel,vinaphone",
            "--reason",
            "declared",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = hub(
        &node,
        &[
            "advertiser",
            "number",
            "QC-0001",
            "0912 000 111",
            "--reason",
            "contract",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = hub(&node, &["advertiser", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("+84912000111\tQC-0001"), "{out}");
    assert!(
        out.contains("QC-0001\tFPT Retail\tactive") && out.contains("FPTSHOP\tQC-0001\tviettel,vinaphone"),
        "{out}"
    );
    let (code, _, err) = hub(&node, &["brandname", "add", "QC-9", "X", "--reason", "r"]);
    assert_eq!(code, 2);
    assert!(err.contains("no advertiser"), "{err}");
    drop(node);
    let (code, _, err) = bin()
        .args(["hub", "watchlist", "--server", "http://127.0.0.1:9"])
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                (),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 2);
    assert!(err.contains("cannot reach the server"), "{err}");
}
