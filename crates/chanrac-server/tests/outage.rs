//! PostgreSQL going away under a running server: checks go on, writes that need the store
//! fail clearly and are not acknowledged, readiness says so, and the server recovers by
//! itself when the database comes back.
//!
//! The database is the real PostgreSQL (`CHANRAC_TEST_PG_URL`, default
//! `host=127.0.0.1 user=postgres dbname=test`), reached through a TCP relay in this test
//! that can cut every connection and refuse new ones: the outage without stopping a server
//! other tests use. Without PostgreSQL the test is skipped, except in CI.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chanrac_server::{AppState, Config, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tower::ServiceExt;

fn base() -> String {
    std::env::var("CHANRAC_TEST_PG_URL").unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=test".into())
}

/// The `host` and `port` of the connection string (key=value form).
fn pg_addr(base: &str) -> String {
    let field = |k: &str, default: &str| {
        base.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")).map(str::to_string))
            .unwrap_or_else(|| default.to_string())
    };
    format!("{}:{}", field("host", "127.0.0.1"), field("port", "5432"))
}

/// A fresh schema, or `None` when PostgreSQL is not there (outside CI).
fn fresh_schema() -> Option<String> {
    let schema = format!("chanrac_outage{}", std::process::id());
    let ok = Command::new("psql")
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .args(["-X", "-q", "-c"])
        .arg(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
        ))
        .arg(base())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL at {:?} is required in CI",
            base()
        );
        eprintln!("skipping: PostgreSQL at {:?} unreachable", base());
        return None;
    }
    Some(schema)
}

/// A TCP relay to PostgreSQL that can be cut and restored on the same port.
struct Relay {
    addr: SocketAddr,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            addr: listener.local_addr().unwrap(),
            target,
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        relay.serve(listener).await;
        relay
    }

    async fn serve(&self, listener: TcpListener) {
        let (target, tasks) = (self.target.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().await.push(conn);
            }
        });
        self.tasks.lock().await.push(accept);
    }

    /// Closes the port and every connection through it.
    async fn cut(&self) {
        for t in self.tasks.lock().await.drain(..) {
            t.abort();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// Opens the port again.
    async fn restore(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener).await;
    }
}

async fn call(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let req = Request::builder().method(method).uri(uri);
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(30), app.clone().oneshot(req))
        .await
        .expect("the server answered within 30 s")
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

fn block(value: &str) -> Value {
    json!({"value": value, "reason": "outage test"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_keeps_checks_running_and_loses_no_acknowledged_write() {
    let Some(schema) = fresh_schema() else { return };
    let relay = Relay::start(pg_addr(&base())).await;
    let url = format!(
        "host=127.0.0.1 port={} user=postgres dbname=test options='-c search_path={schema}'",
        relay.addr.port()
    );
    let dir = std::env::temp_dir().join(format!("chanrac-outage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "[server]\ndata_dir = {:?}\n[store]\nrecords = \"postgres\"\npostgres_url = {url:?}\ncounters = \"none\"\n",
        dir.display().to_string()
    );
    let config = Config::from_toml("test.toml", &text, std::iter::empty()).unwrap();
    let state = AppState::new(config).await.unwrap();
    let app = router(state);

    let (s, v) = call(&app, "POST", "/v1/lists/block/senders", Some(block("0977000001"))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    relay.cut().await;
    // Checks go on, with the lists in effect.
    let (s, v) = call(
        &app,
        "POST",
        "/v1/check",
        Some(json!({"sender": "0977000001", "text": "Xin chao"})),
    )
    .await;
    assert_eq!((s, v["action"].as_str()), (StatusCode::OK, Some("block")), "{v}");
    let (s, v) = call(
        &app,
        "POST",
        "/v1/check",
        Some(json!({"sender": "0977000009", "text": "Xin chao"})),
    )
    .await;
    assert_eq!((s, v["action"].as_str()), (StatusCode::OK, Some("allow")), "{v}");
    // A write that needs the store fails clearly and is not acknowledged.
    let (s, v) = call(&app, "POST", "/v1/lists/block/senders", Some(block("0977000002"))).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["code"], "store_unavailable", "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    let (s, _) = call(&app, "GET", "/readyz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);

    relay.restore().await;
    // The server reconnects by itself.
    let started = Instant::now();
    loop {
        let (s, v) = call(&app, "POST", "/v1/lists/block/senders", Some(block("0977000003"))).await;
        if s == StatusCode::CREATED {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no recovery: {s} {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, _) = call(&app, "GET", "/readyz", None).await;
    assert_eq!(s, StatusCode::OK);
    // What was acknowledged is there; what was refused is not.
    let (_, v) = call(&app, "GET", "/v1/lists?side=block&kind=senders", None).await;
    let values: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"+84977000001") && values.contains(&"+84977000003"),
        "{v}"
    );
    assert!(!values.contains(&"+84977000002"), "a refused write was kept: {v}");
    let _ = std::fs::remove_dir_all(&dir);
}
