//! The HTTP API through the router, without a socket: every endpoint, its errors, keys and
//! roles, reload, limits. (Real processes and PostgreSQL are in `tests/nodes.rs`.)

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::{call, raw, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_answers_with_the_cli_shape() {
    let (app, _, _) = server("").await;
    let (s, v) = call(
        &app,
        "POST",
        "/v1/check",
        Some(json!({"id": "m-1", "sender": "0912345678",
                    "text": "Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz",
                    "received_at": "2026-11-22T10:00:00+07:00"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"], "m-1");
    assert_eq!(v["action"], "block");
    assert_eq!(v["category"], "scam");
    let signals: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal"].as_str().unwrap())
        .collect();
    assert!(signals.contains(&"URL_BRAND_LOOKALIKE"), "{v}");
    assert!(v["reasons"][0]["evidence"].is_string() && v["reasons"][0]["weight"].is_number());
    // Ad hours are judged from received_at, in Vietnam time.
    let (_, v) = call(
        &app,
        "POST",
        "/v1/check",
        Some(
            json!({"sender": "SHOPABC", "text": "[QC] Giam 30% hom nay. Tu choi QC soan TC gui 1234",
                    "received_at": 1795359600}),
        ),
        None,
    )
    .await;
    assert!(v["reasons"].to_string().contains("AD_OUTSIDE_HOURS"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_with_a_stable_code() {
    let (app, _, _) = server("").await;
    let cases: Vec<(&str, Body, &str, StatusCode)> = vec![
        (
            "application/json",
            Body::from("{not json"),
            "invalid_json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            Body::from(r#"{"text": 5}"#),
            "invalid_message",
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            Body::from(r#"{"text": "x", "colour": "red"}"#),
            "invalid_message",
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            Body::from(r#"{"sender": "x"}"#),
            "invalid_message",
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            Body::from(r#"{"text": "x", "received_at": "yesterday"}"#),
            "invalid_message",
            StatusCode::BAD_REQUEST,
        ),
        (
            "text/plain",
            Body::from(r#"{"text": "x"}"#),
            "unsupported_media_type",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (ctype, body, code, status) in cases {
        let req = Request::post("/v1/check")
            .header(header::CONTENT_TYPE, ctype)
            .body(body)
            .unwrap();
        let (s, v) = raw(&app, req).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (s, v) = call(&app, "GET", "/v1/nowhere", None, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused() {
    let (app, _, _) = server("max_body_bytes = 4096\n").await;
    let text = "a".repeat(10_000);
    let (s, v) = call(&app, "POST", "/v1/check", Some(json!({"text": text})), None).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["code"], "too_large");
    let (s, v) = call(
        &app,
        "POST",
        "/v1/check/batch",
        Some(json!({"messages": [{"text": text}]})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_keep_the_order_and_the_limit() {
    let (app, _, _) = server("max_batch = 300\n").await;
    let messages: Vec<Value> = (0..300)
        .map(|i| {
            if i % 3 == 0 {
                json!({"id": format!("m{i}"), "text": "V.A.Y T1ỀN nhanh, giải ngân 5 phút, không thế chấp"})
            } else {
                json!({"id": format!("m{i}"), "text": format!("Mai {i} giờ họp nhé")})
            }
        })
        .collect();
    let (s, v) = call(
        &app,
        "POST",
        "/v1/check/batch",
        Some(json!({"messages": messages})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let verdicts = v["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 300);
    for (i, verdict) in verdicts.iter().enumerate() {
        assert_eq!(verdict["id"], format!("m{i}"));
        let unwanted = verdict["category"] == "spam";
        assert_eq!(unwanted, i % 3 == 0, "message {i}: {verdict}");
    }
    let too_many: Vec<Value> = (0..301).map(|_| json!({"text": "x"})).collect();
    let (s, v) = call(
        &app,
        "POST",
        "/v1/check/batch",
        Some(json!({"messages": too_many})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("too_many_messages")),
        "{v}"
    );
    let (s, v) = call(
        &app,
        "POST",
        "/v1/check/batch",
        Some(json!({"messages": [{"text": "ok"}, {"txt": "bad"}]})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_message")),
        "{v}"
    );
    let (s, v) = call(&app, "POST", "/v1/check/batch", Some(json!({"messages": []})), None).await;
    assert_eq!((s, v["verdicts"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changes_take_effect_and_are_audited() {
    let (app, _, _) = server("").await;
    let text = json!({"sender": "0987654321", "text": "Chao ban, hen gap lai"});
    let (_, v) = call(&app, "POST", "/v1/check", Some(text.clone()), None).await;
    assert_eq!(v["action"], "allow");

    let (s, v) = call(
        &app,
        "POST",
        "/v1/lists/block/senders",
        Some(json!({"value": "0987 654 321", "reason": "SIM farm, 40 reports"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["entry"]["value"].as_str(), v["created"].as_bool()),
        (Some("+84987654321"), Some(true))
    );
    let (_, v) = call(&app, "POST", "/v1/check", Some(text.clone()), None).await;
    assert_eq!(v["action"], "block", "in effect as soon as acknowledged: {v}");
    assert!(v["reasons"].to_string().contains("SENDER_BLOCKLISTED"));

    // Idempotent, a reason is required, invalid entries are refused.
    let (s, v) = call(
        &app,
        "POST",
        "/v1/lists/block/senders",
        Some(json!({"value": "+84987654321", "reason": "again"})),
        None,
    )
    .await;
    assert_eq!((s, v["created"].as_bool()), (StatusCode::OK, Some(false)));
    let (s, v) = call(
        &app,
        "POST",
        "/v1/lists/block/domains",
        Some(json!({"value": "evil.top", "reason": " "})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason_required"))
    );
    let (s, v) = call(
        &app,
        "POST",
        "/v1/lists/block/accounts",
        Some(json!({"value": "12ab", "reason": "x"})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_entry")),
        "{v}"
    );
    let (s, _) = call(
        &app,
        "POST",
        "/v1/lists/grey/senders",
        Some(json!({"value": "1", "reason": "x"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, v) = call(&app, "GET", "/v1/lists?side=block&kind=senders", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    assert_eq!(v["version"], 1);

    let (s, v) = call(
        &app,
        "DELETE",
        "/v1/lists/block/senders/0987654321?reason=false%20positive",
        None,
        None,
    )
    .await;
    assert_eq!((s, v["removed"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let (_, v) = call(&app, "POST", "/v1/check", Some(text), None).await;
    assert_eq!(v["action"], "allow");
    let (s, _) = call(
        &app,
        "DELETE",
        "/v1/lists/block/senders/0987654321?reason=again",
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = call(&app, "DELETE", "/v1/lists/block/senders/0987654321", None, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason_required"))
    );

    let (_, v) = call(&app, "GET", "/v1/audit", None, None).await;
    let log: Vec<(String, String, String)> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().into(),
                r["action"].as_str().unwrap().into(),
                r["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        log,
        [
            ("dev".into(), "list.add".into(), "SIM farm, 40 reports".into()),
            ("dev".into(), "list.remove".into(), "false positive".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_roles_are_enforced() {
    let key_op = "operator-key-0123456789";
    let key_bank = "bank-key-0123456789abc";
    let (app, _, _) = server(&format!(
        "[[api_keys]]\nname = \"noc\"\nkey = \"{key_op}\"\nroles = [\"operator\"]\n\
         [[api_keys]]\nname = \"bank\"\nkey = \"{key_bank}\"\nroles = [\"bank\"]\n"
    ))
    .await;
    let msg = json!({"text": "hello"});
    let (s, v) = call(&app, "POST", "/v1/check", Some(msg.clone()), None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (s, _) = call(
        &app,
        "POST",
        "/v1/check",
        Some(msg.clone()),
        Some("wrong-key-0123456789"),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = call(&app, "POST", "/v1/check", Some(msg.clone()), Some(key_bank)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (s, _) = call(&app, "POST", "/v1/check", Some(msg.clone()), Some(key_op)).await;
    assert_eq!(s, StatusCode::OK);
    // X-API-Key works too, and the audit log names the key's holder.
    let req = Request::post("/v1/lists/block/domains")
        .header("x-api-key", key_op)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"value": "evil.top", "reason": "phishing"}).to_string(),
        ))
        .unwrap();
    assert_eq!(raw(&app, req).await.0, StatusCode::CREATED);
    let (_, v) = call(&app, "GET", "/v1/audit", None, Some(key_op)).await;
    assert_eq!(v["records"][0]["actor"], "noc");
    // Health, metrics and the API description need no key.
    for uri in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(call(&app, "GET", uri, None, None).await.0, StatusCode::OK, "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_the_engine_and_refuses_broken_files() {
    let dir = std::env::temp_dir().join(format!("chanrac-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pack = dir.join("site.toml");
    std::fs::write(&pack, "").unwrap();
    let (app, state, _) = server(&format!("[engine]\nrules = [{:?}]\n", pack.display().to_string())).await;
    let msg = json!({"text": "Mua ngay kẹo dừa Bến Tre giá sốc"});
    let (_, v) = call(&app, "POST", "/v1/check", Some(msg.clone()), None).await;
    assert_eq!(v["action"], "allow");

    std::fs::write(
        &pack,
        "[[rule]]\nid = \"SITE_CANDY\"\ncategory = \"advertising\"\nweight = 12.0\nkeywords = [\"kẹo dừa\"]\nfires = [\"kẹo dừa\"]\nspares = [\"kẹo\"]\n",
    )
    .unwrap();
    let old_engine = state.engine();
    let (s, v) = call(&app, "POST", "/v1/reload", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["rules"].as_u64().unwrap() > 50);
    let (_, v) = call(&app, "POST", "/v1/check", Some(msg.clone()), None).await;
    assert_eq!(v["action"], "block", "{v}");
    // A request that took the engine before the reload keeps using it.
    assert_eq!(
        old_engine.check(&chanrac_core::Message::text("kẹo dừa")).action,
        chanrac_core::Action::Allow
    );

    std::fs::write(&pack, "[[rule]]\nid = \"BROKEN\"\ncategory = \"nonsense\"\n").unwrap();
    let (s, v) = call(&app, "POST", "/v1/reload", None, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_config")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().contains("site.toml:"),
        "names the file: {v}"
    );
    let (_, v) = call(&app, "POST", "/v1/check", Some(msg), None).await;
    assert_eq!(v["action"], "block", "the previous engine stays after a failed reload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_with_retry_after() {
    let (app, state, _) = server("max_in_flight = 2\n").await;
    let _a = state.in_flight.clone().try_acquire_owned().unwrap();
    let _b = state.in_flight.clone().try_acquire_owned().unwrap();
    let resp = app
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    drop(_a);
    assert_eq!(call(&app, "GET", "/healthz", None, None).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_add_up_and_metrics_count() {
    let (app, _, _) = server("").await;
    let scam = json!({"sender": "0912345678", "text": "Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz"});
    let ham = json!({"text": "Mai 7h đi đá bóng nhé"});
    for _ in 0..3 {
        call(&app, "POST", "/v1/check", Some(scam.clone()), None).await;
    }
    call(
        &app,
        "POST",
        "/v1/check/batch",
        Some(json!({"messages": [ham.clone(), ham.clone(), scam]})),
        None,
    )
    .await;
    let (s, v) = call(&app, "GET", "/v1/stats?bucket=minute&from=0", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["totals"]["messages"], 6, "{v}");
    assert_eq!(v["totals"]["by_action_category"]["block/scam"], 4);
    assert_eq!(v["totals"]["by_action_category"]["allow/ham"], 2);
    let series_sum: u64 = v["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["messages"].as_u64().unwrap())
        .sum();
    assert_eq!(series_sum, 6, "the buckets add up to the totals");
    assert_eq!(v["top_senders"][0], json!({"value": "+84912345678", "count": 4}));
    assert_eq!(v["top_domains"][0], json!({"value": "vtb-qua.xyz", "count": 4}));
    let (s, v) = call(&app, "GET", "/v1/stats?bucket=fortnight", None, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));

    let (_, metrics) = call(&app, "GET", "/metrics", None, None).await;
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains("chanrac_checks_total{action=\"block\",category=\"scam\"}"),
        "{text}"
    );
    assert!(text.contains("chanrac_check_request_seconds"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route() {
    let (app, _, _) = server("").await;
    let (s, v) = call(&app, "GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"), "{}", v["openapi"]);
    for path in [
        "/v1/check",
        "/v1/check/batch",
        "/v1/lists",
        "/v1/lists/{side}/{kind}",
        "/v1/lists/{side}/{kind}/{value}",
        "/v1/audit",
        "/v1/reload",
        "/v1/stats",
        "/v1/verdicts",
        "/v1/quarantine",
        "/v1/smpp",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(v["paths"].get(path).is_some(), "{path} is not in /openapi.json");
    }
    assert!(v["components"]["schemas"].get("MessageIn").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verdict_log_explains_a_blocked_message() {
    let (app, _, _) = server("").await;
    let scam = json!({"id": "sms-42", "sender": "0912345678", "recipient": "0987654321",
                      "text": "Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz"});
    call(&app, "POST", "/v1/check", Some(scam), None).await;
    call(
        &app,
        "POST",
        "/v1/check",
        Some(json!({"id": "sms-43", "text": "Mai 7h họp nhé"})),
        None,
    )
    .await;
    let (s, v) = call(&app, "GET", "/v1/verdicts?id=sms-42", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let found = &v["verdicts"][0];
    assert_eq!(
        (found["action"].as_str(), found["sender"].as_str()),
        (Some("block"), Some("0912345678"))
    );
    let text = found["text"].as_str().unwrap();
    // Rules and link signals quote the text (the model's evidence is its probability).
    for r in found["reasons"].as_array().unwrap() {
        let signal = r["signal"].as_str().unwrap();
        if !(signal.starts_with("VI_") || signal.starts_with("URL_")) {
            continue;
        }
        let evidence = r["evidence"].as_str().unwrap();
        let quoted = evidence.split(" (domain").next().unwrap();
        assert!(text.contains(quoted), "evidence {evidence:?} is a piece of the text");
    }
    // By default only unwanted messages are kept.
    let (_, v) = call(&app, "GET", "/v1/verdicts?id=sms-43", None, None).await;
    assert_eq!(v["verdicts"].as_array().unwrap().len(), 0);
    let (_, v) = call(&app, "GET", "/v1/verdicts?sender=0912345678&action=block", None, None).await;
    assert_eq!(v["verdicts"].as_array().unwrap().len(), 1);
    let (s, v) = call(&app, "GET", "/v1/verdicts?action=maybe", None, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
}

/// A robocaller's records as the batch endpoint takes them: `n` 3-second calls, 8 seconds
/// apart, to numbers in a run.
fn robocalls(caller: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"start_time": format!("2026-11-22T09:{:02}:{:02}+07:00", i * 8 / 60, i * 8 % 60),
                   "caller": caller, "callee": format!("09870000{i:02}"), "duration_s": 3,
                   "answered": true, "origin": "domestic", "operator": "viettel", "cell": "A1"})
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_batches_name_suspects_with_evidence() {
    let (app, _, _) = server("").await;
    let mut records = robocalls("0912000001", 40);
    records.push(json!({"start_time": "yesterday", "caller": "0912000001"}));
    records.push(
        json!({"start_time": "2026-11-22T09:10:00+07:00", "caller": "0912345678",
                        "callee": "0987654321", "duration_s": 60, "answered": true,
                        "origin": "domestic", "operator": "viettel"}),
    );
    let (s, v) = call(
        &app,
        "POST",
        "/v1/calls/batch",
        Some(json!({ "records": records })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"], 41);
    assert_eq!(v["rejected"][0]["index"], 40);
    assert!(
        v["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a call record"),
        "{v}"
    );
    assert_eq!(v["suspects"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["suspects"][0]["number"], "+84912000001");
    assert_eq!(v["suspects"][0]["category"], "robocall");
    let signals: Vec<&str> = v["suspects"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["signal"].as_str().unwrap())
        .collect();
    assert!(
        signals.contains(&"CALL_SEQUENTIAL") && signals.contains(&"CALL_RATE"),
        "{v}"
    );
    assert_eq!(v["blocked"], json!([]));

    let (s, v) = call(&app, "GET", "/v1/calls/suspects?category=robocall", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["records"].as_u64(), v["total"].as_u64()), (Some(41), Some(1)));
    assert_eq!(v["suspects"][0]["number"], "+84912000001");
    let (_, v) = call(&app, "GET", "/v1/calls/suspects?category=wangiri", None, None).await;
    assert_eq!(v["total"], 0);
    let (s, v) = call(&app, "GET", "/v1/calls/suspects?category=nonsense", None, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_category")),
        "{v}"
    );
    let (s, v) = call(&app, "POST", "/v1/calls/batch", Some(json!({ "calls": [] })), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    let (s, v) = call(&app, "GET", "/v1/calls/stats", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["records"].as_u64(), v["suspects"].as_u64()),
        (Some(41), Some(1)),
        "{v}"
    );
    let robocall = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "robocall")
        .unwrap();
    assert_eq!(robocall["suspects"], 1, "{v}");

    let doc = chanrac_server::openapi_json();
    assert!(doc.contains("/v1/calls/batch") && doc.contains("/v1/calls/suspects") && doc.contains("/v1/calls/stats"));
}

/// The numbers of the `sms_source` suspects.
async fn sms_sources(app: &axum::Router) -> Vec<String> {
    let (s, v) = call(app, "GET", "/v1/calls/suspects?category=sms_source", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["number"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_counts_name_numbers_that_text_much_and_call_little() {
    let file = std::env::temp_dir().join(format!("chanrac-sms-counts-{}.csv", std::process::id()));
    std::fs::write(&file, "number,sms_sent\n0912000077,900\n0912000078,3\n").unwrap();
    let (app, _, _) = server(&format!("[calls]\nsms_counts = {:?}\n", file.display().to_string())).await;
    // From the file: many SMS and no calls.
    assert_eq!(sms_sources(&app).await, ["+84912000077"]);

    // One call does not clear a number sending 500 SMS; a talkative number is not a source.
    let mut records = robocalls("0912000099", 1);
    records[0]["caller"] = json!("0912000088");
    for i in 0..30 {
        records.push(
            json!({"start_time": format!("2026-11-22T10:{:02}:00+07:00", i), "caller": "0912000066",
                            "callee": format!("098765{i:04}"), "duration_s": 120, "answered": true,
                            "origin": "domestic", "operator": "viettel"}),
        );
    }
    let (s, v) = call(
        &app,
        "POST",
        "/v1/calls/batch",
        Some(json!({ "records": records })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let body =
        json!({"counts": [{"number": "0912000088", "sms_sent": 500}, {"number": "+84912000066", "sms_sent": 500}]});
    let (s, v) = call(&app, "POST", "/v1/calls/sms-counts", Some(body), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["accepted"].as_u64(), v["numbers"].as_u64()),
        (Some(2), Some(2)),
        "{v}"
    );
    // `replace` (the default) forgot the file's counts.
    assert_eq!(sms_sources(&app).await, ["+84912000088"]);
    assert_eq!(v["sms_sources"], 1, "{v}");

    // `add` adds up: 30 + 30 crosses the policy's 50.
    let add = json!({"mode": "add", "counts": [{"number": "0912000055", "sms_sent": 30}]});
    let (s, _) = call(&app, "POST", "/v1/calls/sms-counts", Some(add.clone()), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sms_sources(&app).await, ["+84912000088"]);
    let (_, v) = call(&app, "POST", "/v1/calls/sms-counts", Some(add), None).await;
    assert_eq!(v["numbers"], 3, "{v}");
    let mut got = sms_sources(&app).await;
    got.sort();
    assert_eq!(got, ["+84912000055", "+84912000088"]);

    // A bad number refuses the whole request and changes nothing.
    let bad = json!({"counts": [{"number": "0912000011", "sms_sent": 900}, {"number": "call me", "sms_sent": 1}]});
    let (s, v) = call(&app, "POST", "/v1/calls/sms-counts", Some(bad), None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_number")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("counts[1].number"), "{v}");
    assert_eq!(sms_sources(&app).await.len(), 2);
    let (s, v) = call(
        &app,
        "POST",
        "/v1/calls/sms-counts",
        Some(json!({"counts": [], "mode": "merge"})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json")),
        "{v}"
    );
    assert!(chanrac_server::openapi_json().contains("/v1/calls/sms-counts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_counts_file_errors_name_the_line() {
    let file = std::env::temp_dir().join(format!("chanrac-sms-bad-{}.csv", std::process::id()));
    std::fs::write(&file, "0912000077,900\nnobody,3\n").unwrap();
    let cfg = format!("[calls]\nsms_counts = {:?}\n", file.display().to_string());
    let config = chanrac_server::Config::from_toml("test.toml", &cfg, std::iter::empty()).unwrap();
    let e = chanrac_server::calls::CallsState::new(&config.calls).unwrap_err();
    assert!(e.contains("calls.sms_counts") && e.contains("line 2"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_endpoints_check_roles_and_feed_the_block_list() {
    let (app, _, _) = server(
        "[calls]\nblock_suspects = true\nblock_min_score = 10.0\nmax_batch = 50\n\
         [[api_keys]]\nname = \"noc\"\nkey = \"key-operator-0001\"\nroles = [\"operator\"]\n\
         [[api_keys]]\nname = \"mic\"\nkey = \"key-regulator-001\"\nroles = [\"regulator\"]\n\
         [[api_keys]]\nname = \"anyone\"\nkey = \"key-public-000001\"\nroles = [\"public\"]\n",
    )
    .await;
    let body = json!({ "records": robocalls("0912000002", 40) });
    let (s, _) = call(
        &app,
        "POST",
        "/v1/calls/batch",
        Some(body.clone()),
        Some("key-regulator-001"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&app, "POST", "/v1/calls/batch", Some(body.clone()), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = call(
        &app,
        "POST",
        "/v1/calls/batch",
        Some(json!({ "records": robocalls("0912000003", 51) })),
        Some("key-operator-0001"),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("too_many_records")),
        "{v}"
    );
    let (s, v) = call(
        &app,
        "POST",
        "/v1/calls/batch",
        Some(body.clone()),
        Some("key-operator-0001"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["blocked"], json!(["+84912000002"]), "{v}");
    // Once only: a second batch of the same caller does not add it again.
    let (_, v) = call(&app, "POST", "/v1/calls/batch", Some(body), Some("key-operator-0001")).await;
    assert_eq!(v["blocked"], json!([]), "{v}");

    let (s, _) = call(&app, "GET", "/v1/calls/suspects", None, Some("key-public-000001")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&app, "GET", "/v1/calls/stats", None, Some("key-public-000001")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = call(&app, "GET", "/v1/calls/stats", None, Some("key-regulator-001")).await;
    assert_eq!((s, v["blocked"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let (s, v) = call(&app, "GET", "/v1/calls/suspects", None, Some("key-regulator-001")).await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(1)), "{v}");

    // The block list has it, with an audit record that names the evidence.
    let (_, v) = call(&app, "GET", "/v1/lists", None, Some("key-operator-0001")).await;
    assert!(v.to_string().contains("+84912000002"), "{v}");
    let (_, v) = call(&app, "GET", "/v1/audit", None, Some("key-operator-0001")).await;
    let audit = v.to_string();
    assert!(
        audit.contains("call detector: robocall") && audit.contains("CALL_"),
        "{audit}"
    );
    // And the SMS engine now blocks the number as a sender.
    let (_, v) = call(
        &app,
        "POST",
        "/v1/check",
        Some(json!({"sender": "0912000002", "text": "Hello"})),
        Some("key-operator-0001"),
    )
    .await;
    assert!(v.to_string().contains("LISTED_BLOCK") || v["action"] != "allow", "{v}");
}
