//! Redis down or slow: calls fail fast (the caller fails open), and the store reconnects by
//! itself when the server comes back. Runs a private `redis-server` on a free port, stops
//! it (`SIGSTOP`, slow), kills it (down) and starts it again. Skipped without a
//! `redis-server` binary, except in CI (`CI=true`).
#![cfg(feature = "redis")]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chanrac_core::state::{StateKey, StateOp, Windows};
use chanrac_store::{CounterError, Counters, RedisConfig, RedisCounters, Request};

const T0: i64 = 1_795_305_600;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` on `port`, killed when dropped.
struct Server(Child);

impl Server {
    fn start(port: u16) -> Option<Server> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("CI=true and no redis-server: {e}"),
            Err(e) => {
                eprintln!("skipping: cannot run redis-server ({e})");
                return None;
            }
        };
        let server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.0.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn slow_or_down_redis_fails_fast_and_reconnects() {
    let port = free_port();
    let Some(server) = Server::start(port) else { return };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = RedisCounters::new(RedisConfig {
        url: format!("redis://127.0.0.1:{port}"),
        timeout_ms: 300,
        retry_ms: 100,
        ..RedisConfig::default()
    })
    .unwrap();
    let ops = [StateKey {
        key: "k".into(),
        op: StateOp::Count {
            windows: Windows::new(&[3600]).unwrap(),
        },
    }];
    let apply = |store: &RedisCounters| {
        rt.block_on(async {
            let mut out = Vec::new();
            let started = Instant::now();
            let r = store.apply(&[Request { now: T0, ops: &ops }], &mut out).await;
            (r.map(|()| out), started.elapsed())
        })
    };
    let (r, _) = apply(&store);
    assert_eq!(r.unwrap(), vec![1]);

    // Slow: the server stops answering. The call gives up after the timeout.
    server.signal("-STOP");
    let (r, took) = apply(&store);
    assert!(matches!(r, Err(CounterError::Timeout { .. })), "{r:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    server.signal("-CONT");
    // The call that timed out may still have been applied: at least once, never lost.
    let deadline = Instant::now() + Duration::from_secs(10);
    let n = loop {
        match apply(&store).0 {
            Ok(v) => break v[0],
            Err(e) => {
                assert!(Instant::now() < deadline, "no recovery after SIGCONT: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert!((2..=3).contains(&n), "{n}");

    // Down: the server dies. Calls fail at once.
    drop(server);
    for _ in 0..3 {
        let (r, took) = apply(&store);
        assert!(r.is_err());
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }

    // Back: the store reconnects by itself (the new server starts empty).
    let _server = Server::start(port).expect("restart");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match apply(&store).0 {
            Ok(v) => {
                assert_eq!(v, vec![1]);
                break;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "no reconnection: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    let s = store.stats();
    assert!(s.failures >= 4 && s.timeouts >= 1 && s.reconnects >= 1, "{s:?}");
}
