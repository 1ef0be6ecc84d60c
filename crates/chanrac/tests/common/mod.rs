//! `chanrac` as a process, for the tests: start `chanrac serve` and wait until it is ready,
//! plain HTTP/1.1 requests, temporary directories.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chanrac"))
}

pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Polls `f` every 200 ms until it holds; fails the test after 30 s, naming `what`.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chanrac-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `DIR/chanrac.toml` with `[server] data_dir = DIR`, statistics flushed only on
/// demand, and `extra` (more `[server]` keys, then other sections); returns its path.
pub fn config_file(dir: &std::path::Path, extra: &str) -> String {
    let path = dir.join("chanrac.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\ndata_dir = {:?}\nstats_flush_secs = 3600\n{extra}",
            dir.display().to_string()
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// The hub's feed public key in `dir` (made by `chanrac feed-key` if there is none).
pub fn feed_key(dir: &std::path::Path) -> String {
    let out = bin()
        .args(["feed-key", "--data-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the body.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        dechunk(&raw[split..])
    } else {
        raw[split..].to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Decodes an HTTP/1.1 chunked body: a hex size line, that many bytes and a CRLF, repeated
/// until the zero-size chunk.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        let data = &rest[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        body.extend_from_slice(&data[..size]);
        rest = data[size..].strip_prefix(b"\r\n").unwrap_or(&data[size..]);
    }
    body
}

pub struct Node {
    /// The process.
    pub child: Child,
    /// Its HTTP address.
    pub addr: SocketAddr,
}

impl Node {
    pub fn start(envs: &[(&str, String)], args: &[&str]) -> Node {
        Node::start_at(free_addr(), envs, args)
    }

    /// Starts on a given address (to restart a node where its peers expect it).
    pub fn start_at(addr: SocketAddr, envs: &[(&str, String)], args: &[&str]) -> Node {
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

    pub fn check(&self, sender: &str, text: &str) -> String {
        let body = format!(r#"{{"sender":"{sender}","text":"{text}"}}"#);
        let (status, v) = http(self.addr, "POST", "/v1/check", Some(&body)).unwrap();
        assert_eq!(status, 200, "{v}");
        v
    }

    pub fn signal(&self, sig: &str) {
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

/// The PostgreSQL address for tests, with a fresh schema; `None` (skip) when unreachable
/// outside CI.
pub fn pg_schema(tag: &str) -> Option<String> {
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
