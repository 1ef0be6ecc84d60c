//! The hub's short code over SMPP with a real peer: the smpp34 package (PyPI, installed by
//! `.ci/smpp-peers.sh`) plays the operator's SMSC behind `chanrac serve --smpp`. It delivers
//! subscribers' MO messages to 5656 (`deliver_sm`) and takes what the hub sends back
//! (replies, one-time passwords, as `submit_sm`). Set `CHANRAC_SKIP_PEERS=1` to skip knowingly
//! on a machine without the peers.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

mod common;
use common::{Node, free_addr, http, temp};
use serde_json::Value;

/// The venv's Python with smpp34, or `None` when skipping was asked for.
fn smpp34_python() -> Option<PathBuf> {
    let py = std::env::var_os("CHANRAC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-ci/bin/python"));
    let ok = Command::new(&py)
        .args(["-c", "import smpp34"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CHANRAC_SKIP_PEERS").is_some_and(|v| v == "1"),
            "python smpp34 is not installed: run .ci/smpp-peers.sh (or set CHANRAC_SKIP_PEERS=1)"
        );
        return None;
    }
    Some(py)
}

/// The smpp34 SMSC: its commands on standard input, its events (JSON lines) on a channel.
struct Smsc {
    child: Child,
    stdin: ChildStdin,
    events: Receiver<Value>,
    /// Events read while waiting for another kind (the SMSC's answers and the hub's
    /// submits come in either order).
    backlog: Vec<Value>,
}

impl Smsc {
    fn start(py: &PathBuf, port: u16) -> Smsc {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/smpp34_mo_smsc.py");
        let mut child = Command::new(py)
            .arg(script)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the smpp34 SMSC");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let mut smsc = Smsc {
            child,
            stdin,
            events,
            backlog: Vec::new(),
        };
        smsc.wait_for("ready");
        smsc
    }

    /// The next event of this kind (others are kept for later), within 20 s.
    fn wait_for(&mut self, event: &str) -> Value {
        if let Some(i) = self.backlog.iter().position(|v| v["event"] == event) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {event} event from the smpp34 SMSC"));
            if v["event"] == event {
                return v;
            }
            self.backlog.push(v);
        }
    }

    /// Delivers an MO message; returns the deliver_sm_resp status.
    fn mo(&mut self, from: &str, to: &str, text: &str) -> u64 {
        writeln!(self.stdin, "MO {from} {to} {text}").unwrap();
        self.wait_for("deliver_resp")["status"].as_u64().unwrap()
    }
}

impl Drop for Smsc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &std::path::Path, smpp: std::net::SocketAddr, upstream: std::net::SocketAddr) -> Node {
    let node = Node::start(
        &[],
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "--smpp",
            &smpp.to_string(),
            "--upstream",
            &upstream.to_string(),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, s) = http(node.addr, "GET", "/v1/smpp", None).unwrap();
        if s.contains("\"upstream_bound\":2") {
            return node;
        }
        assert!(Instant::now() < deadline, "no upstream bind: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn reports(node: &Node) -> Vec<Value> {
    let (status, v) = http(node.addr, "GET", "/v1/reports?limit=100", None).unwrap();
    assert_eq!(status, 200, "{v}");
    serde_json::from_str::<Value>(&v).unwrap()["reports"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn mo_from_the_smsc_is_stored_acknowledged_and_answered_and_passwords_go_out_over_smpp() {
    let Some(py) = smpp34_python() else { return };
    let smsc_addr = free_addr();
    let mut smsc = Smsc::start(&py, smsc_addr.port());
    let dir = temp("hub-smpp");
    let smpp_addr = free_addr();
    let node = serve(&dir, smpp_addr, smsc_addr);

    // A subscriber's report arrives from the SMSC: acknowledged (status 0) once stored, and
    // the reply with its reference goes back from the short code.
    let status = smsc.mo("84903123456", "5656", "S 0912345678 Vay tien nhanh lai 0%");
    assert_eq!(status, 0);
    let r = reports(&node);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0]["via"].as_str(), r[0]["reporter"].as_str()),
        (Some("smpp"), Some("+84903123456"))
    );
    let reply = smsc.wait_for("submit");
    assert_eq!(
        (reply["source"].as_str(), reply["dest"].as_str()),
        (Some("5656"), Some("84903123456"))
    );
    let reference = format!("PA{}", r[0]["id"]);
    assert!(reply["text"].as_str().unwrap().contains(&reference), "{reply}");

    // A DNC registration in Vietnamese (UCS-2) from the SMSC takes effect at once.
    assert_eq!(smsc.mo("84903123457", "5656", "ĐK DNC S"), 0);
    let _ = smsc.wait_for("submit");
    let (_, v) = http(node.addr, "GET", "/v1/dnc/numbers/0903123457", None).unwrap();
    assert!(v.contains("\"sms\":true") && v.contains("\"via\":\"smpp\""), "{v}");

    // Acknowledged, then killed at once: the report is there after the restart.
    assert_eq!(smsc.mo("84903123458", "5656", "LD 0987654321 gia danh cong an"), 0);
    node.signal("-KILL");
    drop(node);
    let node = serve(&dir, smpp_addr, smsc_addr);
    let r = reports(&node);
    assert!(
        r.iter()
            .any(|x| x["reporter"] == "+84903123458" && x["kind"] == "fraud"),
        "{r:?}"
    );

    // A registration by API: the password goes out over SMPP, from the short code.
    let (status, v) = http(
        node.addr,
        "POST",
        "/v1/dnc/requests",
        Some(r#"{"number":"0912000777","action":"register"}"#),
    )
    .unwrap();
    assert_eq!(status, 202, "{v}");
    let id = serde_json::from_str::<Value>(&v).unwrap()["request_id"]
        .as_i64()
        .unwrap();
    let otp = loop {
        let s = smsc.wait_for("submit");
        if s["dest"] == "84912000777" {
            break s;
        }
    };
    assert_eq!(otp["source"], "5656");
    let code: String = otp["text"]
        .as_str()
        .unwrap()
        .split(": ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    // The server restarts before the subscriber types the code: it still confirms.
    node.signal("-TERM");
    drop(node);
    let node = serve(&dir, smpp_addr, smsc_addr);
    let (status, v) = http(
        node.addr,
        "POST",
        &format!("/v1/dnc/requests/{id}/confirm"),
        Some(&format!(r#"{{"code":"{code}"}}"#)),
    )
    .unwrap();
    assert_eq!(status, 200, "{v}");
    // The outbox recorded the SMSC's message id, and the gateway's pull finds nothing left.
    let (_, v) = http(node.addr, "POST", "/v1/outbox/take", Some("{}")).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&v).unwrap()["messages"],
        serde_json::json!([]),
        "{v}"
    );
    let (_, smpp) = http(node.addr, "GET", "/v1/smpp", None).unwrap();
    assert!(smpp.contains("\"local_mo\""), "{smpp}");
}
