//! The firewall against SMPP software nobody here wrote: python-smpplib as the ESME, the
//! smpp34 package as the upstream SMSC, and Kannel's bearerbox as an ESME.
//!
//! `.ci/smpp-peers.sh` installs them (a venv in `.venv-ci/`, Debian's `kannel`). A missing
//! peer fails the test with that instruction; set `CHANRAC_SKIP_PEERS=1` to skip these tests
//! knowingly on a machine without them.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chanrac_core::{Action, Engine, Message};
use chanrac_smpp::pdu::status;
use chanrac_smpp::proxy::{Account, Decision, Filter, Firewall, SubmitContext};
use chanrac_smpp::text::{self, Coding};
use common::{setup, wait_for};
use serde_json::Value;

const GSM_TEXT: &str = "Hen gap ban luc 7h toi nay o quan cafe nhe, nho mang theo tai lieu";
const UCS2_TEXT: &str = "Mã OTP của bạn là 482913. Không chia sẻ mã này với bất kỳ ai.";

struct EngineFilter(Engine);

impl Filter for EngineFilter {
    fn check(&self, _: &SubmitContext<'_>, m: &Message) -> Decision {
        match self.0.check(m).action {
            Action::Block => Decision::Reject(status::ESME_RSUBMITFAIL),
            _ => Decision::Forward,
        }
    }
}

fn engine_filter() -> Arc<dyn Filter> {
    Arc::new(EngineFilter(Engine::with_defaults().unwrap()))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A peer is missing: the test fails, unless skipping was asked for explicitly.
fn skip_or_fail(what: &str) {
    if std::env::var_os("CHANRAC_SKIP_PEERS").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED: {what} is not installed and CHANRAC_SKIP_PEERS=1");
        return;
    }
    panic!("{what} is not installed: run .ci/smpp-peers.sh (or set CHANRAC_SKIP_PEERS=1 to skip knowingly)");
}

/// The venv's Python with smpplib and smpp34, if installed.
fn python() -> Option<PathBuf> {
    let py = std::env::var_os("CHANRAC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-ci/bin/python"));
    let ok = Command::new(&py)
        .args(["-c", "import smpplib, smpp34"])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(name)
}

/// Runs the smpplib ESME against `addr` and returns its report.
async fn run_smpplib(py: &Path, addr: std::net::SocketAddr, receipts: usize) -> Value {
    let mut cmd = Command::new(py);
    cmd.arg(script("smpplib_esme.py"))
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(receipts.to_string());
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run python"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "smpplib ESME failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("bad report {stdout}: {e}"))
}

/// Checks the smpplib report: allowed messages acknowledged with the SMSC's ids and their
/// receipts relayed; every part of the scam refused.
fn check_report(r: &Value, receipt_ids_expected: bool) -> Vec<String> {
    let resp = |seq: &Value| r["resps"][seq.to_string()].clone();
    assert_eq!(r["gsm_coding"], 0, "smpplib sent GSM 7-bit");
    assert_eq!(r["ucs2_coding"], 8, "smpplib sent UCS-2");
    let mut ids = Vec::new();
    for key in ["gsm", "ucs2"] {
        let seqs = r[key].as_array().unwrap();
        assert_eq!(seqs.len(), 1);
        let p = resp(&seqs[0]);
        assert_eq!(p["status"], 0, "{key}: {p}");
        ids.push(p["message_id"].as_str().expect("a message id").to_string());
    }
    let scam = r["scam"].as_array().unwrap();
    assert_eq!(scam.len(), 3, "the scam went as three parts");
    for s in scam {
        assert_eq!(resp(s)["status"], status::ESME_RSUBMITFAIL, "scam part {s}");
    }
    if receipt_ids_expected {
        let mut got: Vec<String> = r["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["receipted_message_id"].as_str().unwrap_or("").to_string())
            .collect();
        got.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(got, want, "a receipt for each delivered message, relayed back");
        for x in r["receipts"].as_array().unwrap() {
            assert_eq!(x["esm_class"], 4);
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smpplib_esme_through_the_firewall() {
    let Some(py) = python() else {
        return skip_or_fail("python smpplib/smpp34 (.venv-ci)");
    };
    let s = setup(true, engine_filter(), |_| {}).await;
    let r = run_smpplib(&py, s.fw.local_addr(), 2).await;
    let ids = check_report(&r, true);
    let got = s.sim.received();
    let texts: Vec<&str> = got.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(
        texts,
        [GSM_TEXT, UCS2_TEXT],
        "only the allowed messages reached the SMSC"
    );
    assert_eq!(got.iter().map(|a| a.message_id.clone()).collect::<Vec<_>>(), ids);
    let snap = s.fw.stats().snapshot();
    assert_eq!((snap.forwarded, snap.rejected, snap.delivered), (2, 1, 2));
}

/// Kills a child process when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smpp34_as_the_upstream_smsc() {
    let Some(py) = python() else {
        return skip_or_fail("python smpplib/smpp34 (.venv-ci)");
    };
    let port = free_port();
    let mut child = Kill(
        Command::new(&py)
            .arg(script("smpp34_smsc.py"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the smpp34 SMSC"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).expect("smpp34 starts"),
        "READY"
    );
    let mut cfg = common::config(format!("127.0.0.1:{port}").parse().unwrap());
    cfg.upstream.binds = 1;
    let fw = Firewall::start(cfg, engine_filter()).await.unwrap();
    wait_for(|| fw.upstream_bound() == 1).await;
    let r = run_smpplib(&py, fw.local_addr(), 2).await;
    let ids = check_report(&r, true);
    assert_eq!(ids, ["s34-1", "s34-2"], "smpp34's message ids reach the ESME");
    // What smpp34 accepted: the two allowed messages, decoded from its own hex dump.
    let mut accepted = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        accepted.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    assert_eq!(accepted.len(), 2, "{accepted:?}");
    let decoded: Vec<String> = accepted
        .iter()
        .map(|a| {
            let hex = a["short_message"].as_str().unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let coding = Coding::from_data_coding(a["data_coding"].as_u64().unwrap() as u8);
            text::decode(&bytes, coding, false, 0).text
        })
        .collect();
    assert_eq!(decoded, [GSM_TEXT, UCS2_TEXT]);
    assert_eq!(fw.stats().snapshot().rejected, 1);
}

/// A plain HTTP/1.0 GET; returns the body.
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out.split_once("\r\n\r\n").map_or(out.clone(), |(_, b)| b.to_string()))
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kannel_bearerbox_sends_through_the_firewall() {
    let bearerbox = ["/usr/sbin/bearerbox", "/usr/bin/bearerbox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let smsbox = ["/usr/sbin/smsbox", "/usr/bin/smsbox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let (Some(bearerbox), Some(smsbox)) = (bearerbox, smsbox) else {
        return skip_or_fail("Kannel (bearerbox, smsbox)");
    };
    let s = setup(false, engine_filter(), |c| {
        c.dev_mode = false;
        c.accounts = vec![Account {
            system_id: "kannel".into(),
            password: "kannelpw".into(),
            max_tps: None,
        }];
    })
    .await;
    let (admin, smsbox_port, sendsms) = (free_port(), free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("chanrac-kannel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("kannel.conf");
    std::fs::write(
        &conf,
        format!(
            r#"group = core
admin-port = {admin}
admin-password = adminpw
smsbox-port = {smsbox_port}
box-allow-ip = 127.0.0.1
log-file = "{log}"
log-level = 1
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = chanrac
host = 127.0.0.1
port = {fw}
transceiver-mode = true
smsc-username = kannel
smsc-password = kannelpw
system-type = ""
max-pending-submits = 10
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox_port}
sendsms-port = {sendsms}
log-file = "{slog}"
log-level = 1

group = sendsms-user
username = tester
password = testerpw
max-messages = 3
concatenation = true
"#,
            log = dir.join("bearerbox.log").display(),
            slog = dir.join("smsbox.log").display(),
            fw = s.fw.local_addr().port(),
        ),
    )
    .unwrap();
    let start = |program: &Path| {
        let child = Command::new(program)
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        Kill(child.unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display())))
    };
    let _bb = start(&bearerbox);
    // bearerbox binds at once, but a loaded machine may take a while to start it.
    for _ in 0..200 {
        if s.fw.sessions() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.fw.sessions(), 1, "bearerbox bound to the firewall");
    let _sb = start(&smsbox);
    let send = move |text: &str, ucs2: bool| {
        let path = format!(
            "/cgi-bin/sendsms?username=tester&password=testerpw&from=84900000001&to=84912345678&charset=UTF-8{}&text={}",
            if ucs2 { "&coding=2" } else { "" },
            url_encode(text)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match http_get(sendsms, &path) {
                Ok(body) => return body,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                Err(e) => panic!("smsbox does not answer: {e}"),
            }
        }
    };
    let scam = "Chúc mừng thuê bao 0912xxx trúng thưởng 50tr từ chương trình tri ân khách hàng. Nhận thưởng tại https://vtb-qua.xyz trước 24h, phí nhận 200k";
    let answers = tokio::task::spawn_blocking(move || [send(GSM_TEXT, false), send(UCS2_TEXT, true), send(scam, true)])
        .await
        .unwrap();
    for a in &answers {
        assert!(a.contains("Accepted") || a.contains("Queued"), "smsbox said {a:?}");
    }
    let sim = &s.sim;
    for _ in 0..200 {
        if sim.received().len() >= 2 && s.fw.stats().snapshot().rejected >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let texts: Vec<String> = sim.received().into_iter().map(|a| a.text).collect();
    assert_eq!(
        texts,
        [GSM_TEXT, UCS2_TEXT],
        "Kannel's allowed messages reached the SMSC"
    );
    // The scam is longer than one UCS-2 SMS: Kannel split it with a UDH and the firewall
    // judged the parts together.
    let snap = s.fw.stats().snapshot();
    assert_eq!((snap.forwarded, snap.rejected), (2, 1), "{snap:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
