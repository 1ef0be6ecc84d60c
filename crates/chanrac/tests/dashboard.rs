//! The web dashboard in a real browser: headless Chromium, driven by playwright-core from
//! `tests/ui/dashboard.mjs`, against real processes: `chanrac serve` with API keys and the
//! SMPP firewall in front of `chanrac smsc-sim`, an ESME written with python-smpplib, and a
//! second `chanrac serve` in development mode. The script generates traffic, loads every
//! page, checks the figures against the API, performs the actions and saves a screenshot of
//! every page under `target/ui-shots/`. This test then checks, at the simulated SMSC, that
//! the message released from quarantine was delivered.
//!
//! Needs Chromium (`apt-get install chromium`), node with playwright-core (`.ci/ui-deps.sh`)
//! and python-smpplib (`.ci/smpp-peers.sh`); `CHANRAC_SKIP_UI=1` skips it where they are
//! missing (CI installs them: `.ci/run`).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// A child process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `chanrac` subcommand whose standard error goes to `log`.
fn spawn(args: &[&str], log: &Path) -> Proc {
    let err = std::fs::File::create(log).unwrap();
    Proc(
        Command::new(env!("CARGO_BIN_EXE_chanrac"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap(),
    )
}

/// What the browser test runs with.
struct Tools {
    chromium: PathBuf,
    deps: PathBuf,
    python: PathBuf,
}

/// Finds Chromium, playwright-core and python-smpplib; `None` (skip) only when
/// `CHANRAC_SKIP_UI=1`, else a missing tool is a failure that says how to install it.
fn tools() -> Option<Tools> {
    let chromium = std::env::var_os("CHANRAC_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let deps = root().join(".ci/ui");
    let python = std::env::var_os("CHANRAC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-ci/bin/python"));
    let mut missing = Vec::new();
    if !chromium.exists() {
        missing.push(format!("Chromium ({})", chromium.display()));
    }
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok {
        missing.push("node".to_string());
    }
    if !deps.join("node_modules/playwright-core/package.json").exists() {
        missing.push(format!("playwright-core in {}/node_modules", deps.display()));
    }
    let smpplib = Command::new(&python)
        .args(["-c", "import smpplib"])
        .status()
        .is_ok_and(|s| s.success());
    if !smpplib {
        missing.push(format!("python-smpplib ({})", python.display()));
    }
    if missing.is_empty() {
        return Some(Tools { chromium, deps, python });
    }
    assert!(
        std::env::var_os("CHANRAC_SKIP_UI").is_some_and(|v| v == "1"),
        "the dashboard's browser test needs {}: run .ci/ui-deps.sh and .ci/smpp-peers.sh \
         (or set CHANRAC_SKIP_UI=1 to skip it)",
        missing.join(", ")
    );
    eprintln!("skipping the browser test: missing {}", missing.join(", "));
    None
}

/// The configuration of the server under test: two keys, the SMPP firewall with one ESME
/// account, and a site rule that puts a known text in quarantine (score 8: over the
/// quarantine threshold 7, under the block threshold 10 of the built-in policy).
fn config(dir: &Path, smpp: SocketAddr, upstream: SocketAddr) -> PathBuf {
    let rules = dir.join("hold.toml");
    std::fs::write(
        &rules,
        r#"[[rule]]
id = "SITE_HOLD_FOR_REVIEW"
category = "advertising"
weight = 8.0
description = "A test text analysts want to see before it goes out."
keywords = ["giu lai kiem tra"]
fires = ["Thong bao giu lai kiem tra lo hang"]
spares = ["Thong bao kiem tra lo hang"]
"#,
    )
    .unwrap();
    let path = dir.join("chanrac.toml");
    std::fs::write(
        &path,
        format!(
            r#"[server]
data_dir = {data:?}
stats_flush_secs = 1

[engine]
rules = [{rules:?}]

[[api_keys]]
name = "noc"
key = "operator-key-0123456789"
roles = ["operator"]

[[api_keys]]
name = "bank-x"
key = "bank-key-0123456789abc"
roles = ["bank"]

[[api_keys]]
name = "mic"
key = "regulator-key-0123456789"
roles = ["regulator"]

[smpp]
listen = "{smpp}"

[[smpp.accounts]]
system_id = "e2e"
password = "e2e-pw"

[smpp.upstream]
address = "{upstream}"
"#,
            data = dir.join("data").display().to_string(),
            rules = rules.display().to_string(),
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_dashboard_in_a_real_browser() {
    let Some(tools) = tools() else { return };
    let dir = std::env::temp_dir().join(format!("chanrac-dashboard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("ui-shots");
    let _ = std::fs::remove_dir_all(&shots);

    let (sim_addr, smpp_addr, http_addr, dev_addr) = (free_addr(), free_addr(), free_addr(), free_addr());
    let sim_log = dir.join("sim.log");
    let mut sim = spawn(&["smsc-sim", "--listen", &sim_addr.to_string()], &sim_log);
    let config = config(&dir, smpp_addr, sim_addr);
    let server_log = dir.join("serve.log");
    let server = spawn(
        &[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--http",
            &http_addr.to_string(),
        ],
        &server_log,
    );
    let dev_log = dir.join("dev.log");
    let dev = spawn(
        &[
            "serve",
            "--http",
            &dev_addr.to_string(),
            "--data-dir",
            dir.join("dev").to_str().unwrap(),
        ],
        &dev_log,
    );

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui/dashboard.mjs");
    let started = Instant::now();
    let out = Command::new("node")
        .arg(&script)
        .env("CHANRAC_URL", format!("http://{http_addr}"))
        .env("CHANRAC_DEV_URL", format!("http://{dev_addr}"))
        .env("CHANRAC_OPERATOR_KEY", "operator-key-0123456789")
        .env("CHANRAC_BANK_KEY", "bank-key-0123456789abc")
        .env("CHANRAC_REGULATOR_KEY", "regulator-key-0123456789")
        .env("CHANRAC_SMPP", smpp_addr.to_string())
        .env("CHANRAC_PYTHON", &tools.python)
        .env(
            "CHANRAC_ESME",
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui/esme.py"),
        )
        .env("CHANRAC_TRAFFIC", root().join("data/vi_smishing_ie403_part_a.tsv"))
        .env("CHANRAC_CHROMIUM", &tools.chromium)
        .env("CHANRAC_UI_DEPS", &tools.deps)
        .env("CHANRAC_SHOTS", &shots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    if !out.status.success() {
        drop((server, dev));
        let log = std::fs::read_to_string(&server_log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        panic!(
            "the browser test failed after {:?}:\n{}\n--- chanrac serve (last lines) ---\n{}\nscreenshots: {}",
            started.elapsed(),
            String::from_utf8_lossy(&out.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            shots.display()
        );
    }
    eprintln!(
        "browser test took {:?}; screenshots in {}",
        started.elapsed(),
        shots.display()
    );

    // The SMSC received the ham message and the released one, not the discarded one.
    let ok = Command::new("kill")
        .args(["-TERM", &sim.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the simulator did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(&sim_log).unwrap();
    let submits: u64 = log
        .lines()
        .find_map(|l| {
            l.strip_prefix("chanrac: ")?
                .strip_suffix(" submits accepted")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no submit count in the simulator's log: {log}"));
    assert_eq!(submits, 2, "the SMSC got the ham message and the released one");
    drop((server, dev));
}
