//! The frequency and campaign counters in `chanrac serve`: embedded, Redis shared by two
//! nodes, Redis down (fail-open and fail-closed), batches in one round trip, metrics and
//! the snapshot across a restart.
//!
//! The Redis tests use `CHANRAC_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) with a
//! key prefix unique to the run. Without a server they are skipped with a message, except
//! in CI (`CI` set), where that is a failure.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chanrac_server::{AppState, Config, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

static N: AtomicUsize = AtomicUsize::new(0);

fn fresh_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "chanrac-counters-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server on `dir` with the given extra configuration.
async fn server_in(dir: &std::path::Path, extra: &str) -> (Router, AppState) {
    let text = format!("[server]\ndata_dir = {:?}\n{extra}", dir.display().to_string());
    let config = Config::from_toml("test.toml", &text, std::iter::empty()).unwrap();
    let state = AppState::new(config).await.unwrap();
    (router(state.clone()), state)
}

async fn post(app: &Router, uri: &str, body: Value) -> Value {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

async fn get_text(app: &Router, uri: &str) -> String {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

mod common;
use common::signals;

/// A harmless text, different every time (so that only the sender's rate is unusual).
fn chat(sender: &str, i: usize) -> Value {
    json!({"sender": sender, "recipient": format!("09{:08}", 20_000_000 + i),
           "text": format!("Chieu nay {i} gio minh gap nhau o quan cafe nhe")})
}

/// One template from many SIMs, each to its own recipient, with small changes.
fn farm(i: usize) -> Value {
    json!({"sender": format!("08{:08}", 31_000_000 + i), "recipient": format!("09{:08}", 40_000_000 + i),
           "text": format!("Ban nhan duoc qua tang {} nghin dong, lien he ngay so 0899{:06} de nhan qua nhe", 100 + i, i)})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_counters_catch_a_burst_and_a_sim_farm() {
    let dir = fresh_dir();
    let (app, state) = server_in(&dir, "").await;
    assert_eq!(state.counters.name(), "embedded");
    // A burst from one sender, one request at a time: the default allows 5 in 300 s.
    let mut fired = Vec::new();
    for i in 0..8 {
        let v = post(&app, "/v1/check", chat("0912000111", i)).await;
        fired.push(signals(&v).contains(&"SENDER_BURST".to_string()));
    }
    assert_eq!(fired, [false, false, false, false, false, true, true, true]);
    // A SIM farm in one batch: the default allows 10 distinct senders of one template.
    let v = post(
        &app,
        "/v1/check/batch",
        json!({"messages": (0..30).map(farm).collect::<Vec<_>>()}),
    )
    .await;
    let bulk: Vec<bool> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| signals(v).contains(&"CAMPAIGN_BULK".to_string()))
        .collect();
    let first = bulk.iter().position(|&b| b).expect("the farm was not flagged");
    assert!((9..=12).contains(&first), "first flagged at {first}: {bulk:?}");
    assert!(bulk[first..].iter().all(|&b| b), "{bulk:?}");
    // Ordinary messages from ordinary senders are not touched.
    for i in 0..20 {
        let v = post(&app, "/v1/check", chat(&format!("09{:08}", 55_000_000 + i), i)).await;
        assert_eq!(v["action"], "allow", "{v}");
        assert!(signals(&v).is_empty(), "{v}");
    }
    state.counters.publish();
    let m = get_text(&app, "/metrics").await;
    assert!(m.contains("chanrac_counters_calls_total{backend=\"embedded\"}"), "{m}");
    assert!(m.contains("chanrac_counters_keys{backend=\"embedded\"}"), "{m}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_counters_means_no_velocity_signals() {
    let dir = fresh_dir();
    let (app, state) = server_in(&dir, "[store]\ncounters = \"none\"\n").await;
    assert!(!state.engine().is_stateful());
    for i in 0..10 {
        let v = post(&app, "/v1/check", chat("0912000222", i)).await;
        assert!(signals(&v).is_empty(), "{v}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_counters_survive_a_restart_through_the_snapshot() {
    let dir = fresh_dir();
    {
        let (app, state) = server_in(&dir, "").await;
        for i in 0..5 {
            let v = post(&app, "/v1/check", chat("0912000333", i)).await;
            assert!(signals(&v).is_empty(), "{v}");
        }
        state.counters.save(&state.config).unwrap();
    }
    assert!(dir.join("counters.snapshot").exists());
    let (app, _) = server_in(&dir, "").await;
    let v = post(&app, "/v1/check", chat("0912000333", 5)).await;
    assert!(
        signals(&v).contains(&"SENDER_BURST".to_string()),
        "the restart forgot: {v}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn redis_url() -> String {
    std::env::var("CHANRAC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// True when Redis answers; outside CI a missing server skips the test.
fn redis_up() -> bool {
    let addr = redis_url()
        .trim_start_matches("redis://")
        .rsplit('@')
        .next()
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let up = std::net::TcpStream::connect(&addr).is_ok();
    if !up {
        assert!(std::env::var_os("CI").is_none(), "no Redis at {addr} in CI");
        eprintln!("skipping: no Redis at {addr}");
    }
    up
}

/// A key prefix of its own for a test, or `None` (skip) when Redis is not there.
fn redis_prefix() -> Option<String> {
    redis_up().then(|| {
        format!(
            "chanrac-test-{}-{}:",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        )
    })
}

fn redis_config(prefix: &str) -> String {
    format!(
        "[store]\ncounters = \"redis\"\nredis_url = {:?}\nredis_prefix = {prefix:?}\nredis_timeout_ms = 500\n",
        redis_url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_their_redis_counters() {
    let Some(prefix) = redis_prefix() else {
        return;
    };
    let (d1, d2) = (fresh_dir(), fresh_dir());
    let (a, sa) = server_in(&d1, &redis_config(&prefix)).await;
    let (b, _) = server_in(&d2, &redis_config(&prefix)).await;
    assert_eq!(sa.counters.name(), "redis");
    // Three messages on each node: neither saw more than 5, together they did.
    let mut last = Value::Null;
    for i in 0..6 {
        let node = if i % 2 == 0 { &a } else { &b };
        last = post(node, "/v1/check", chat("0912000444", i)).await;
        if i < 5 {
            assert!(!signals(&last).contains(&"SENDER_BURST".to_string()), "{i}: {last}");
        }
    }
    assert!(signals(&last).contains(&"SENDER_BURST".to_string()), "{last}");
    // A SIM farm split over the nodes' batches is one campaign.
    let msgs: Vec<Value> = (0..30).map(farm).collect();
    post(&a, "/v1/check/batch", json!({"messages": msgs[..15]})).await;
    let v = post(&b, "/v1/check/batch", json!({"messages": msgs[15..]})).await;
    for (i, v) in v["verdicts"].as_array().unwrap().iter().enumerate() {
        assert!(signals(v).contains(&"CAMPAIGN_BULK".to_string()), "{}: {v}", i + 15);
    }
    sa.counters.publish();
    let m = get_text(&a, "/metrics").await;
    assert!(m.contains("chanrac_counters_calls_total{backend=\"redis\"}"), "{m}");
    for d in [d1, d2] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_redis_fails_open_by_default_and_closed_when_asked() {
    // Nothing listens on this port: every counter call fails at once.
    let dead = "[store]\ncounters = \"redis\"\nredis_url = \"redis://127.0.0.1:1\"\nredis_timeout_ms = 100\n";
    let dir = fresh_dir();
    let (app, _) = server_in(&dir, dead).await;
    let v = post(&app, "/v1/check", chat("0912000555", 0)).await;
    assert_eq!(v["action"], "allow", "{v}");
    assert_eq!(signals(&v), ["DETECTOR_FAILED"], "{v}");
    let v = post(
        &app,
        "/v1/check/batch",
        json!({"messages": [chat("0912000555", 1), chat("0912000556", 2)]}),
    )
    .await;
    for v in v["verdicts"].as_array().unwrap() {
        assert_eq!(signals(v), ["DETECTOR_FAILED"], "{v}");
    }
    // Content still decides: a scam is blocked without the counters.
    let v = post(
        &app,
        "/v1/check",
        json!({"sender": "0912000557", "text": "Chuc mung ban trung thuong 50tr, nhan tai https://vtb-qua.xyz"}),
    )
    .await;
    assert_eq!(v["action"], "block", "{v}");
    let m = get_text(&app, "/metrics").await;
    assert!(m.contains("chanrac_counters_unavailable_total"), "{m}");

    // Fail-closed: the policy says what to do when the counters cannot be read.
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[velocity]\non_state_failure = \"quarantine\"\n").unwrap();
    let dir2 = fresh_dir();
    let closed = format!("{dead}[engine]\npolicy = {:?}\n", policy.display().to_string());
    let (app, _) = server_in(&dir2, &closed).await;
    let v = post(&app, "/v1/check", chat("0912000558", 0)).await;
    assert_eq!(v["action"], "quarantine", "{v}");
    for d in [dir, dir2] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_counter_settings_are_refused() {
    for (extra, needle) in [
        ("[store]\ncounters = \"memcached\"\n", "memcached"),
        ("[store]\ncounters_max_keys = 10\n", "counters_max_keys"),
        ("[store]\ncounters = \"redis\"\nredis_url = \"http://x\"\n", "redis_url"),
    ] {
        let dir = fresh_dir();
        let text = format!("[server]\ndata_dir = {:?}\n{extra}", dir.display().to_string());
        let err = match Config::from_toml("test.toml", &text, std::iter::empty()) {
            Err(e) => e.to_string(),
            Ok(config) => match AppState::new(config).await {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{extra} was accepted"),
            },
        };
        assert!(err.contains(needle), "{extra}: {err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smpp_path_waits_for_redis_from_a_runtime_worker() {
    // The SMPP filter is synchronous and runs on a session's task: `apply_blocking` must
    // work there (block_in_place), and on a blocking-pool thread (batches).
    let Some(prefix) = redis_prefix() else {
        return;
    };
    let dir = fresh_dir();
    let (_, state) = server_in(&dir, &redis_config(&prefix)).await;
    let engine = state.engine();
    let msg = chanrac_core::Message::text("Chieu nay gap nhau nhe")
        .from("0912000666")
        .to("0912000667");
    let plan = engine.state_plan(&msg, &mut chanrac_core::Scratch::default());
    let now = 1_795_316_400;
    let apply = |state: AppState, keys: Vec<chanrac_core::state::StateKey>| {
        move || {
            let mut out = Vec::new();
            state
                .counters
                .apply_blocking(&[chanrac_store::Request { now, ops: &keys }], &mut out)
                .map(|()| out)
        }
    };
    let f = apply(state.clone(), plan.keys.clone());
    let on_worker = tokio::spawn(async move { f() }).await.unwrap().unwrap();
    let on_pool = tokio::task::spawn_blocking(apply(state.clone(), plan.keys.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(on_worker.len(), plan.values_len());
    assert_eq!(on_pool.len(), plan.values_len());
    // The second application saw the first: the sender's count went up.
    assert_ne!(on_worker, on_pool);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaigns_are_rebuilt_from_the_verdict_log() {
    let dir = fresh_dir();
    let (app, _) = server_in(&dir, "log_verdicts = \"all\"\n").await;
    // A SIM farm of 30 senders, and ordinary chat from 10 others in between.
    let v = post(
        &app,
        "/v1/check/batch",
        json!({"messages": (0..30).map(farm).collect::<Vec<_>>()}),
    )
    .await;
    let flagged = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| signals(v).contains(&"CAMPAIGN_BULK".to_string()))
        .count();
    assert!(flagged >= 15, "{flagged} flagged");
    for i in 0..10 {
        post(&app, "/v1/check", chat(&format!("09{:08}", 56_000_000 + i), i)).await;
    }
    let v: Value = serde_json::from_str(&get_text(&app, "/v1/campaigns?hours=1").await).unwrap();
    assert_eq!(v["scanned"], 40, "{v}");
    let campaigns = v["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 1, "only the farm is a campaign: {v}");
    let c = &campaigns[0];
    // Every message of the farm, the early ones the counters had not flagged yet included.
    assert_eq!(
        (c["messages"].as_u64(), c["senders"].as_u64(), c["recipients"].as_u64()),
        (Some(30), Some(30), Some(30)),
        "{c}"
    );
    assert_eq!(c["members"].as_array().unwrap().len(), 20);
    assert!(c["members"][0].as_str().unwrap().starts_with("0831"), "{c}");
    assert_eq!(c["signals"], json!(["CAMPAIGN_BULK"]));
    assert!(
        c["sample"].as_str().unwrap().starts_with("Ban nhan duoc qua tang"),
        "{c}"
    );

    let v: Value = serde_json::from_str(&get_text(&app, "/v1/campaigns?hours=0").await).unwrap();
    assert_eq!(v["code"], "bad_request", "{v}");
    assert!(chanrac_server::openapi_json().contains("/v1/campaigns"));
}

/// Registers advertiser QC-1 with its brandname SHOPABC and one ad copy on a node.
async fn register_advertiser(app: &Router, ad: &str) {
    for (uri, body) in [
        (
            "/v1/advertisers",
            json!({"code": "QC-1", "name": "Shop ABC", "reason": "licence"}),
        ),
        (
            "/v1/advertisers/QC-1/brandnames",
            json!({"name": "SHOPABC", "reason": "declared"}),
        ),
        ("/v1/ads/copies", json!({"content": ad, "brandname": "SHOPABC"})),
    ] {
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ad_cap_holds_across_nodes_sharing_redis() {
    let Some(prefix) = redis_prefix() else {
        return;
    };
    let ad = "[QC] Giam 30% toan bo san pham den 30/11 tai shopabc.vn. Tu choi QC soan TC gui 1234";
    let (d1, d2) = (fresh_dir(), fresh_dir());
    let (a, _) = server_in(&d1, &redis_config(&prefix)).await;
    let (b, _) = server_in(&d2, &redis_config(&prefix)).await;
    register_advertiser(&a, ad).await;
    register_advertiser(&b, ad).await;
    // Three ads to one recipient in 24 hours pass, two on each node; the fourth, on either
    // node, is over the cap. Alone, neither node has seen more than two.
    let msg = |i: usize| {
        json!({"sender": "SHOPABC", "recipient": "0900000777", "text": ad,
               "received_at": "2026-11-22T10:00:00+07:00", "id": format!("ad-{i}")})
    };
    for i in 1..=4 {
        let node = if i % 2 == 1 { &a } else { &b };
        let v = post(node, "/v1/check", msg(i)).await;
        assert_eq!(signals(&v).contains(&"AD_OVER_CAP".to_string()), i == 4, "ad {i}: {v}");
    }
    // The batch path counts the same way, and other recipients have their own caps.
    let v = post(
        &a,
        "/v1/check/batch",
        json!({"messages": [msg(5), {"sender": "SHOPABC", "recipient": "0900000778", "text": ad,
                                     "received_at": "2026-11-22T10:00:00+07:00"}]}),
    )
    .await;
    let over: Vec<bool> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| signals(v).contains(&"AD_OVER_CAP".to_string()))
        .collect();
    assert_eq!(over, [true, false], "{v}");
    for d in [d1, d2] {
        let _ = std::fs::remove_dir_all(d);
    }
}
