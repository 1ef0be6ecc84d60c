//! `chanrac serve` as real processes: start-up rules, two nodes sharing PostgreSQL, reload on
//! SIGHUP, graceful stop on SIGTERM, and `chanrac config`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chanrac"))
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chanrac-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies: keep the JSON between the first `{` and the last `}`.
    let body = match (body.find(['{', '[']), body.rfind(['}', ']'])) {
        (Some(a), Some(b)) if a <= b => body[a..=b].to_string(),
        _ => body.to_string(),
    };
    Ok((status, body))
}

struct Node {
    child: Child,
    addr: SocketAddr,
}

impl Node {
    fn start(envs: &[(&str, String)], args: &[&str]) -> Node {
        let addr = free_addr();
        let mut cmd = bin();
        cmd.arg("serve").arg("--http").arg(addr.to_string()).args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let mut node = Node { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = http(addr, "GET", "/readyz", None) {
                return node;
            }
            if let Ok(Some(status)) = node.child.try_wait() {
                let mut err = String::new();
                node.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                panic!("chanrac serve exited with {status}: {err}");
            }
            assert!(Instant::now() < deadline, "chanrac serve did not get ready on {addr}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn check(&self, sender: &str, text: &str) -> String {
        let body = format!(r#"{{"sender":"{sender}","text":"{text}"}}"#);
        let (status, v) = http(self.addr, "POST", "/v1/check", Some(&body)).unwrap();
        assert_eq!(status, 200, "{v}");
        v
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// The PostgreSQL address for tests, with a fresh schema; `None` (skip) when unreachable
/// outside CI.
fn pg_schema(tag: &str) -> Option<String> {
    let base =
        std::env::var("CHANRAC_TEST_PG_URL").unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=test".into());
    let schema = format!("chanrac_srv{}_{tag}", std::process::id());
    let ok = Command::new("psql")
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .args(["-X", "-q", "-c"])
        .arg(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
        ))
        .arg(&base)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var("CI").is_err(), "PostgreSQL at {base:?} is required in CI");
        eprintln!("skipping: PostgreSQL at {base:?} unreachable");
        return None;
    }
    Some(format!("{base} options='-c search_path={schema}'"))
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
