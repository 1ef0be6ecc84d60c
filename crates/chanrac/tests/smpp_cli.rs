//! `chanrac smsc-sim`, `chanrac smpp-firewall` and `chanrac smpp-load` as a user runs them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
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

/// Starts a long-running command and waits for its "… on ADDR" line on standard error.
fn start(args: &[&str]) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run chanrac");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("chanrac {args:?} did not start"));
        if line.starts_with("chanrac: ") && line.contains(" on 127.0.0.1:") {
            return Proc(child);
        }
    }
}

fn load(args: &[&str]) -> serde_json::Value {
    let o: Output = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .arg("smpp-load")
        .args(args)
        .arg("--json")
        .output()
        .expect("run chanrac smpp-load");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"))
}

#[test]
fn firewall_between_load_and_simulator() {
    let (sim_port, fw_port) = (free_port(), free_port());
    let sim_addr = format!("127.0.0.1:{sim_port}");
    let fw_addr = format!("127.0.0.1:{fw_port}");
    let _sim = start(&["smsc-sim", "--listen", &sim_addr]);
    let mut fw = start(&[
        "smpp-firewall",
        "--listen",
        &fw_addr,
        "--upstream",
        &sim_addr,
        "--account",
        "shop:pw",
    ]);
    // Upstream binds come up within a moment; retry the first load until then.
    let deadline = Instant::now() + Duration::from_secs(10);
    let ham = loop {
        let r = load(&[
            "--target",
            &fw_addr,
            "--system-id",
            "shop",
            "--password",
            "pw",
            "--messages",
            "2000",
        ]);
        if r["ok"] == 2000 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ham["ok"], 2000, "{ham}");
    let scam = load(&[
        "--target",
        &fw_addr,
        "--system-id",
        "shop",
        "--password",
        "pw",
        "--messages",
        "10",
        "--text",
        "Chuc mung ban trung thuong 50tr, nhan tai https://vtb-qua.xyz",
    ]);
    assert_eq!(scam["ok"], 0, "{scam}");
    assert_eq!(scam["errors"]["69"], 10, "blocked with ESME_RSUBMITFAIL: {scam}");
    // A wrong password is refused.
    let o = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args([
            "smpp-load",
            "--target",
            &fw_addr,
            "--system-id",
            "shop",
            "--password",
            "no",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("bind refused with status 0xe"));
    // Each blocked message is one JSON line on the firewall's standard output.
    let stdout = fw.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["decision"], "reject");
    assert_eq!(first["system_id"], "shop");
    assert_eq!(first["verdict"]["action"], "block");
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(["smpp-firewall", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no accounts"), "{o:?}");
    let dir = std::env::temp_dir().join(format!("chanrac-smpp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "[smpp]\nlisten = \"127.0.0.1:0\"\nwindoww = 3\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(["smpp-firewall", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("bad.toml") && err.contains("windoww"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
