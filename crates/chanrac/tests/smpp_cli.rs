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

fn chanrac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(args)
        .output()
        .expect("run chanrac")
}

/// Starts a long-running command, waits for its "… on ADDR" line on standard error and
/// returns the process and ADDR.
fn start(args: &[&str]) -> (Proc, String) {
    let mut child = Proc(
        Command::new(env!("CARGO_BIN_EXE_chanrac"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run chanrac"),
    );
    let stderr = child.0.stderr.take().unwrap();
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
        if let Some((_, rest)) = line.split_once(" on 127.0.0.1:")
            && line.starts_with("chanrac: ")
        {
            let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
            return (child, format!("127.0.0.1:{port}"));
        }
    }
}

fn load(args: &[&str]) -> serde_json::Value {
    let o = chanrac(&[&["smpp-load", "--json"], args].concat());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"))
}

#[test]
fn firewall_between_load_and_simulator() {
    let (_sim, sim_addr) = start(&["smsc-sim", "--listen", "127.0.0.1:0"]);
    let (mut fw, fw_addr) = start(&[
        "smpp-firewall",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &sim_addr,
        "--account",
        "shop:pw",
    ]);
    let as_shop = ["--target", &fw_addr, "--system-id", "shop", "--password", "pw"];
    // Upstream binds come up within a moment; retry the first load until then.
    let deadline = Instant::now() + Duration::from_secs(10);
    let ham = loop {
        let r = load(&[&as_shop[..], &["--messages", "2000"]].concat());
        if r["ok"] == 2000 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ham["ok"], 2000, "{ham}");
    let scam_text = "Chuc mung ban trung thuong 50tr, nhan tai https://vtb-qua.xyz";
    let scam = load(&[&as_shop[..], &["--messages", "10", "--text", scam_text]].concat());
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
    let o = chanrac(&["smpp-firewall", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no accounts"), "{o:?}");
    let dir = std::env::temp_dir().join(format!("chanrac-smpp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "[smpp]\nlisten = \"127.0.0.1:0\"\nwindoww = 3\n").unwrap();
    let o = chanrac(&["smpp-firewall", "--config", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("bad.toml") && err.contains("windoww"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
