//! A feed page tampered with in transit, between two real `chanrac serve` processes: a hub,
//! a TCP proxy in this test that rewrites bytes of the hub's answers, and an operator node
//! with `[sync]` pointed at the proxy. A changed payload and a changed signature are each
//! refused (nothing applied, `ALARM` in the log, `chanrac_sync_bad_signatures_total`
//! counting), and the operator catches up as soon as the proxy stops tampering. Then the
//! hub comes back with an empty store: the operator's cursor lies ahead of it, which the
//! operator reports as an alarm and applies nothing.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use common::{Node, config_file, free_addr, http, temp, wait_until};

/// What the proxy does to the hub's answers.
const PASS: u8 = 0;
/// Rewrites the listed number in the payload (the signature no longer matches).
const PAYLOAD: u8 = 1;
/// Flips one hex digit of the signature.
const SIGNATURE: u8 = 2;

const LISTED: &[u8] = b"+84911111111";
const FORGED: &[u8] = b"+84900000000";

struct Proxy {
    addr: SocketAddr,
    mode: Arc<AtomicU8>,
    /// Answers the proxy changed.
    tampered: Arc<AtomicU64>,
}

fn tamper(buf: &mut [u8], mode: u8) -> bool {
    match mode {
        PAYLOAD => {
            let mut changed = false;
            let mut i = 0;
            while let Some(at) = buf[i..].windows(LISTED.len()).position(|w| w == LISTED) {
                buf[i + at..i + at + FORGED.len()].copy_from_slice(FORGED);
                i += at + FORGED.len();
                changed = true;
            }
            changed
        }
        SIGNATURE => {
            let key = b"\"signature\":\"";
            match buf.windows(key.len()).position(|w| w == key) {
                Some(at) => {
                    let c = &mut buf[at + key.len()];
                    *c = if *c == b'0' { b'1' } else { b'0' };
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

/// Copies bytes one way, tampering with them as `mode` says (`None`: never).
fn pump(mut from: TcpStream, mut to: TcpStream, mode: Option<Arc<AtomicU8>>, tampered: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(m) = &mode
            && tamper(&mut buf[..n], m.load(Ordering::SeqCst))
        {
            tampered.fetch_add(1, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(PASS));
        let tampered = Arc::new(AtomicU64::new(0));
        let (m, t) = (mode.clone(), tampered.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let t1 = t.clone();
                std::thread::spawn(move || pump(client, server, None, t1));
                let (m2, t2) = (m.clone(), t.clone());
                std::thread::spawn(move || pump(s2, c2, Some(m2), t2));
            }
        });
        Proxy { addr, mode, tampered }
    }
}

fn metric(node: &Node, name: &str) -> u64 {
    let (_, m) = http(node.addr, "GET", "/metrics", None).unwrap();
    m.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<f64>().ok()))
        .map_or(0, |v| v as u64)
}

#[test]
fn a_page_tampered_with_in_transit_is_never_applied() {
    let hub_dir = temp("tamper-hub");
    let public = common::feed_key(&hub_dir);
    let hub_addr = free_addr();
    let hub = Node::start_at(hub_addr, &[], &["--config", &config_file(&hub_dir, "")]);
    let (status, b) = http(
        hub_addr,
        "POST",
        "/v1/lists/block/senders",
        Some(r#"{"value":"0911111111","reason":"hub analyst: 9 reports"}"#),
    )
    .unwrap();
    assert_eq!(status, 201, "{b}");

    let proxy = Proxy::start(hub_addr);
    proxy.mode.store(PAYLOAD, Ordering::SeqCst);
    let op_dir = temp("tamper-op");
    let sync = format!(
        "[sync]\nhub = \"http://{}\"\nkey = \"dev\"\nhub_public_key = \"{public}\"\nwait_secs = 1\n",
        proxy.addr
    );
    let mut op = Node::start(&[], &["--config", &config_file(&op_dir, &sync)]);
    let blocked = |sender: &str| op.check(sender, "Xin chao").contains("SENDER_BLOCKLISTED");
    let nothing_applied = || {
        let (_, lists) = http(op.addr, "GET", "/v1/lists", None).unwrap();
        let lists: serde_json::Value = serde_json::from_str(&lists).unwrap();
        lists["entries"].as_array().unwrap().is_empty()
    };

    // A changed payload: refused, counted, nothing applied (neither number).
    wait_until("a forged payload is refused twice", || {
        metric(&op, "chanrac_sync_bad_signatures_total") >= 2
    });
    assert!(
        proxy.tampered.load(Ordering::SeqCst) >= 2,
        "the proxy changed the pages"
    );
    assert!(nothing_applied());
    assert!(!blocked("0900000000") && !blocked("0911111111"));

    // A changed signature: the same.
    let before = metric(&op, "chanrac_sync_bad_signatures_total");
    let tampered = proxy.tampered.load(Ordering::SeqCst);
    proxy.mode.store(SIGNATURE, Ordering::SeqCst);
    wait_until("a forged signature is refused", || {
        metric(&op, "chanrac_sync_bad_signatures_total") > before && proxy.tampered.load(Ordering::SeqCst) > tampered
    });
    assert!(nothing_applied());
    assert_eq!(metric(&op, "chanrac_sync_changes_total"), 0);

    // The proxy stops tampering: the operator catches up with the true page.
    proxy.mode.store(PASS, Ordering::SeqCst);
    wait_until("the operator applies the true page", || blocked("0911111111"));
    assert!(!blocked("0900000000"), "the forged number never got in");
    // Counted right after the page's commit, which the firewall may see first.
    wait_until("the applied change is counted", || {
        metric(&op, "chanrac_sync_changes_total") == 1
    });

    // The hub comes back with an empty store (its key kept): the operator's cursor (1) lies
    // ahead of it. The operator says so and applies nothing.
    drop(hub);
    let new_dir = temp("tamper-hub-replaced");
    std::fs::copy(hub_dir.join("feed.key"), new_dir.join("feed.key")).unwrap();
    let hub = Node::start_at(hub_addr, &[], &["--config", &config_file(&new_dir, "")]);
    wait_until("the refused cursor is counted", || {
        metric(&op, "chanrac_sync_cursor_refused_total") >= 1
    });
    assert!(blocked("0911111111"), "what was applied stays");
    let _ = op.child.kill();
    let mut err = String::new();
    op.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let alarms: Vec<&str> = err.lines().filter(|l| l.contains("ALARM")).collect();
    assert!(alarms.iter().any(|l| l.contains("failed its signature check")), "{err}");
    assert!(
        alarms
            .iter()
            .any(|l| l.contains("refuses this node's feed cursor") && l.contains("was the hub's store replaced?")),
        "{err}"
    );
    drop(hub);
}
