//! The hub's endpoints through the router: the short-code line, reports and the watch list,
//! the Do-Not-Call register (SMS, OTP, scrub, import, export), advertisers and ad copies,
//! bad input and roles. (`crates/chanrac/tests/hub.rs` kills a real server mid-stream.)

use axum::http::StatusCode;
use chanrac_store::hub::HubRecords;
use serde_json::{Value, json};

mod common;
use common::{call, server, signals};

/// Three distinct reporters put a source on the watch list at 2 and propose it at 3.
const HUB: &str = "[hub]\nwatch_reporters = 2\npropose_reporters = 3\nreporter_max_reports = 2\n";

async fn mo(app: &axum::Router, from: &str, text: &str) -> Value {
    let (s, v) = call(
        app,
        "POST",
        "/v1/mo",
        Some(json!({"from": from, "to": "5656", "text": text})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text:?}: {v}");
    v
}

/// The six digits of a one-time password SMS (`… : 123456. …`).
fn otp_code(sms: &str) -> String {
    sms.split(": ").nth(1).unwrap_or("").chars().take(6).collect()
}

async fn post(app: &axum::Router, uri: &str, body: Value, key: Option<&str>) -> (StatusCode, Value) {
    call(app, "POST", uri, Some(body), key).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_by_sms_are_grouped_escalated_and_confirmed_into_the_block_list() {
    let (app, _, _) = server(HUB).await;
    let v = mo(&app, "0900000001", "S 0912345678 Vay tien nhanh lai 0%, LH 0987111222").await;
    assert_eq!(v["kind"], "report");
    let reference = v["ref"].as_str().unwrap();
    assert!(reference.starts_with("PA"), "{v}");
    assert!(v["reply"].as_str().unwrap().contains(reference), "{v}");
    let (_, w) = call(&app, "GET", "/v1/watchlist", None, None).await;
    assert_eq!(
        w["sources"].as_array().unwrap().len(),
        0,
        "one reporter is not enough: {w}"
    );
    mo(
        &app,
        "+84900000002",
        "s (0912 345 678) (Vay tien nhanh lai 0%, LH 0987333444)",
    )
    .await;
    let (_, w) = call(&app, "GET", "/v1/watchlist", None, None).await;
    assert_eq!(w["sources"][0]["status"], "watch", "{w}");
    // The same reporter again does not count twice.
    mo(&app, "0900000002", "S 0912345678 Vay tien").await;
    let (_, w) = call(&app, "GET", "/v1/watchlist", None, None).await;
    assert_eq!(w["sources"][0]["status"], "watch", "{w}");
    mo(&app, "0900000003", "S 0912345678 Vay tien nhanh lai 0%, LH 0987555666").await;
    let (_, w) = call(&app, "GET", "/v1/watchlist", None, None).await;
    assert_eq!(w["sources"][0]["status"], "proposed", "{w}");
    assert_eq!(w["sources"][0]["key"], "+84912345678");
    assert_eq!(w["sources"][0]["reporters"], 3);
    let (_, r) = call(&app, "GET", "/v1/reports?source=0912345678", None, None).await;
    let reports = r["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 4);
    assert_eq!(reports[3]["reporter"], "+84900000001", "the regulator sees reporters");
    // The near-duplicate contents share a key.
    assert_eq!(reports[0]["content_key"], reports[3]["content_key"], "{r}");
    // Before the analyst confirms, the sender is not blocked.
    let check = json!({"sender": "0912345678", "text": "Chao ban"});
    let (_, v) = post(&app, "/v1/check", check.clone(), None).await;
    assert!(!signals(&v).contains(&"SENDER_BLOCKLISTED".to_string()));
    let (s, v) = post(
        &app,
        "/v1/watchlist/0912345678/confirm",
        json!({"reason": "loan spam, 3 reporters"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["blocked"], "senders");
    let (_, v) = post(&app, "/v1/check", check, None).await;
    assert!(signals(&v).contains(&"SENDER_BLOCKLISTED".to_string()), "{v}");
    let (_, r) = call(&app, "GET", "/v1/reports?status=confirmed", None, None).await;
    assert_eq!(
        r["reports"].as_array().unwrap().len(),
        4,
        "confirmed content is training data"
    );
    let (_, a) = call(&app, "GET", "/v1/audit", None, None).await;
    let actions: Vec<&str> = a["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"hub.confirm") && actions.contains(&"list.add"), "{a}");
    let (s, _) = post(&app, "/v1/watchlist/0999999999/reject", json!({"reason": "x"}), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = post(&app, "/v1/watchlist/0912345678/confirm", json!({"reason": " "}), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_kept_and_answered_with_the_syntax() {
    let (app, _, _) = server(HUB).await;
    let long = format!("S 0912345678 {}", "x".repeat(10 * 1024));
    for text in ["", "hello", "S", "S abc!! noi dung", "DK DNC X", long.as_str()] {
        let v = mo(&app, "0900000001", text).await;
        assert_eq!(v["kind"], "unknown", "{text:?}");
        let reply = v["reply"].as_str().unwrap();
        assert!(reply.contains("S <so/ten gui> <noi dung>"), "{reply}");
        assert!(reply.contains(v["ref"].as_str().unwrap()), "{reply}");
    }
    let (_, r) = call(&app, "GET", "/v1/reports?kind=unparsed", None, None).await;
    let reports = r["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 6, "every malformed message is kept");
    assert_eq!(reports[0]["raw"].as_str().unwrap().len(), long.len(), "kept whole");
    // What the line cannot take is refused before anything is stored.
    let (s, v) = post(
        &app,
        "/v1/mo",
        json!({"from": "0900000001", "to": "8888", "text": "S x y"}),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("not_hub_code")),
        "{v}"
    );
    let (s, v) = post(
        &app,
        "/v1/mo",
        json!({"from": "VIETTEL", "to": "5656", "text": "S x y"}),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_number")),
        "{v}"
    );
    let (s, _) = post(&app, "/v1/mo", json!({"from": "0900000001", "to": "5656"}), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, r) = call(&app, "GET", "/v1/reports", None, None).await;
    assert_eq!(r["reports"].as_array().unwrap().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reporter_cannot_flood_the_line_or_frame_a_number_alone() {
    let (app, _, _) = server(HUB).await;
    let mut counted = Vec::new();
    for i in 0..4 {
        let (s, v) = post(
            &app,
            "/v1/reports",
            json!({"reporter": "0900000001", "kind": "spam", "source": format!("SRC{i}"), "content": "x"}),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        counted.push(v["counted"].as_bool().unwrap());
    }
    assert_eq!(counted, [true, true, false, false]);
    for _ in 0..5 {
        mo(&app, "0900000009", "S 0911111111 framed").await;
    }
    let (_, w) = call(&app, "GET", "/v1/watchlist?status=reported", None, None).await;
    let framed = w["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "+84911111111")
        .unwrap();
    assert_eq!(
        (framed["status"].as_str(), framed["reporters"].as_u64()),
        (Some("reported"), Some(1))
    );
    let (s, v) = post(
        &app,
        "/v1/reports",
        json!({"reporter": "12", "kind": "spam", "source": "X"}),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_number"))
    );
    let (s, v) = post(
        &app,
        "/v1/reports",
        json!({"reporter": "0900000001", "kind": "rumour", "source": "X"}),
        None,
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_kind")));
}

async fn scrub(app: &axum::Router, numbers: &[&str], channel: &str) -> Vec<String> {
    let (s, v) = call(
        app,
        "POST",
        "/v1/dnc/scrub",
        Some(json!({"numbers": numbers, "channel": channel})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    serde_json::from_value(v["do_not_contact"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dnc_register_by_sms_is_idempotent_scoped_and_scrubbed_at_once() {
    let (app, _, _) = server("").await;
    let v = mo(&app, "0912345678", "DK DNC").await;
    assert_eq!(v["kind"], "dnc_register");
    assert!(v["reply"].as_str().unwrap().contains("HUY DNC"), "{v}");
    let asked = ["+84 912 345 678", "0987654321", "84912345678", "not a number"];
    assert_eq!(scrub(&app, &asked, "sms").await, ["+84 912 345 678", "84912345678"]);
    assert_eq!(scrub(&app, &asked, "calls").await, ["+84 912 345 678", "84912345678"]);
    mo(&app, "0912345678", "dk dnc").await;
    mo(&app, "0912345678", "Hủy DNC S").await;
    assert!(
        scrub(&app, &asked, "sms").await.is_empty(),
        "messages allowed again at once"
    );
    assert_eq!(scrub(&app, &asked, "calls").await.len(), 2);
    let (_, n) = call(&app, "GET", "/v1/dnc/numbers/0912345678", None, None).await;
    assert_eq!(
        (n["sms"].as_bool(), n["calls"].as_bool()),
        (Some(false), Some(true)),
        "{n}"
    );
    let history: Vec<(String, u64, u64)> = n["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["before"].as_u64().unwrap(),
                e["after"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("register".into(), 0, 3),
            ("register".into(), 3, 3),
            ("cancel".into(), 3, 2)
        ]
    );
    let (_, v) = post(&app, "/v1/dnc/scrub", json!({"numbers": asked}), None).await;
    assert_eq!(v["invalid"], json!(["not a number"]));
    assert_eq!(v["checked"], 4);
    let (s, _) = post(&app, "/v1/dnc/scrub", json!({"numbers": [], "channel": "fax"}), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, st) = call(&app, "GET", "/v1/dnc/stats", None, None).await;
    assert_eq!(st, json!({"registered": 1, "sms": 0, "calls": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_registration_needs_the_password_sent_to_the_number() {
    let (app, state, _) = server("[hub]\notp_max_attempts = 2\n").await;
    let (s, v) = post(
        &app,
        "/v1/dnc/requests",
        json!({"number": "0912 345 678", "action": "register", "scope": "sms"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let id = v["request_id"].as_i64().unwrap();
    let sent = state.hub.take_outbox(&state.records, "test").await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "+84912345678");
    let code = otp_code(&sent[0].text);
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{}", sent[0].text);
    assert!(
        scrub(&app, &["0912345678"], "sms").await.is_empty(),
        "nothing before the password"
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let uri = format!("/v1/dnc/requests/{id}/confirm");
    let (s, v) = post(&app, &uri, json!({"code": wrong}), None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("wrong_code")),
        "{v}"
    );
    let (s, v) = post(&app, &uri, json!({"code": code}), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["after"].as_u64(), v["via"].as_str()), (Some(1), Some("api")));
    assert_eq!(scrub(&app, &["0912345678"], "sms").await, ["0912345678"]);
    let (s, _) = post(&app, &uri, json!({"code": code}), None).await;
    assert_eq!(s, StatusCode::GONE, "a password works once");
    // Too many wrong tries void a request.
    let (_, v) = post(
        &app,
        "/v1/dnc/requests",
        json!({"number": "0987654321", "action": "register"}),
        None,
    )
    .await;
    let uri = format!("/v1/dnc/requests/{}/confirm", v["request_id"]);
    let code = otp_code(&state.hub.take_outbox(&state.records, "test").await.unwrap()[0].text);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        post(&app, &uri, json!({"code": wrong}), None).await;
    }
    let (s, _) = post(&app, &uri, json!({"code": code}), None).await;
    assert_eq!(s, StatusCode::GONE);
    // The operator's gateway takes what is queued; each message once.
    post(
        &app,
        "/v1/dnc/requests",
        json!({"number": "0911000111", "action": "cancel"}),
        None,
    )
    .await;
    let (s, v) = post(&app, "/v1/outbox/take", json!({}), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    assert_eq!(v["messages"][0]["to"], "+84911000111");
    let (_, v) = post(&app, "/v1/outbox/take", json!({}), None).await;
    assert!(v["messages"].as_array().unwrap().is_empty());
    let (s, v) = post(
        &app,
        "/v1/dnc/requests",
        json!({"number": "5656", "action": "register"}),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_number"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_imports_and_exports_as_text() {
    let (app, state, _) = server("").await;
    let req = |body: &str| {
        axum::http::Request::builder()
            .method("POST")
            .uri("/v1/dnc/import")
            .header("content-type", "text/csv")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    let (s, v) = common::raw(
        &app,
        req("number,scope\n0912345678,all\n+84987654321,sms\n\n0903 000 111\n"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["changed"].as_u64(), v["lines"].as_u64()), (Some(3), Some(3)));
    let (s, v) = common::raw(&app, req("0911111111,all\nnot-a-number,all\n0922222222,fax\n")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("line 2") && v["message"].as_str().unwrap().contains("line 3"),
        "{v}"
    );
    assert_eq!(state.hub.dnc().len(), 3, "a refused import changes nothing");
    let (s, text) = call(&app, "GET", "/v1/dnc/export", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        text.as_str().unwrap(),
        "number,scope\n+84903000111,all\n+84912345678,all\n+84987654321,sms\n"
    );
    let (_, v) = common::raw(&app, req("0912345678,none\n")).await;
    assert_eq!(v["changed"], 1);
    assert!(scrub(&app, &["0912345678"], "sms").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertisers_brandnames_and_ad_copies() {
    let (app, _, _) = server("").await;
    let (s, v) = post(
        &app,
        "/v1/advertisers",
        json!({"code": "QC-0001", "name": "FPT Retail", "reason": "licence 12/2026"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = post(
        &app,
        "/v1/advertisers/QC-0001/brandnames",
        json!({"name": "fpt.shop", "operators": ["Viettel", "vinaphone"], "reason": "declared"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["operators"].as_str()),
        (Some("FPT.SHOP"), Some("viettel,vinaphone"))
    );
    let (s, v) = post(
        &app,
        "/v1/advertisers/QC-9/brandnames",
        json!({"name": "X", "reason": "r"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = post(
        &app,
        "/v1/advertisers/QC-0001/brandnames",
        json!({"name": "Ngân hàng ABC", "reason": "r"}),
        None,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_brandname"))
    );
    let (_, v) = call(&app, "GET", "/v1/advertisers", None, None).await;
    assert_eq!(v["brandnames"][0]["advertiser"], "QC-0001");
    let (s, v) = post(&app, "/v1/ads/copies", json!({"content": "[QC] Giam 50%. Tu choi: TC gui 1234", "brandname": "FPT.Shop", "window_from": 100, "window_to": 200, "recipients": 5000}), None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["id"].as_i64().unwrap() > 0);
    let (s, _) = post(
        &app,
        "/v1/ads/copies",
        json!({"content": "x", "brandname": "FPT", "window_from": 300, "window_to": 200}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v = mo(&app, "0912345678", "FW [QC] Giam 50% tai FPT Shop").await;
    assert_eq!(v["kind"], "ad_copy");
    assert!(v["ref"].as_str().unwrap().starts_with("QC"), "{v}");
    let (_, a) = call(&app, "GET", "/v1/audit", None, None).await;
    let actions: Vec<&str> = a["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["advertiser.put", "brandname.put"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_who_reads_what() {
    let keys = r#"
[[api_keys]]
name = "regulator"
key = "rrrrrrrrrrrrrrrrrrrr"
roles = ["regulator"]
[[api_keys]]
name = "viettel"
key = "oooooooooooooooooooo"
roles = ["operator"]
[[api_keys]]
name = "fpt"
key = "aaaaaaaaaaaaaaaaaaaa"
roles = ["advertiser"]
[[api_keys]]
name = "web"
key = "pppppppppppppppppppp"
roles = ["public"]
"#;
    let (app, _, _) = server(keys).await;
    let (r, o, a, p) = (
        Some("rrrrrrrrrrrrrrrrrrrr"),
        Some("oooooooooooooooooooo"),
        Some("aaaaaaaaaaaaaaaaaaaa"),
        Some("pppppppppppppppppppp"),
    );
    let line = json!({"from": "0900000001", "to": "5656", "text": "S 0912345678 spam"});
    assert_eq!(post(&app, "/v1/mo", line.clone(), o).await.0, StatusCode::OK);
    assert_eq!(post(&app, "/v1/mo", line.clone(), a).await.0, StatusCode::FORBIDDEN);
    assert_eq!(post(&app, "/v1/mo", line, None).await.0, StatusCode::UNAUTHORIZED);
    let (_, v) = call(&app, "GET", "/v1/reports", None, o).await;
    assert_eq!(
        v["reports"][0]["reporter"], "+84900***001",
        "operators see reporters masked"
    );
    let (_, v) = call(&app, "GET", "/v1/reports", None, r).await;
    assert_eq!(v["reports"][0]["reporter"], "+84900000001");
    assert_eq!(call(&app, "GET", "/v1/reports", None, p).await.0, StatusCode::FORBIDDEN);
    let report = json!({"reporter": "0900000002", "kind": "fraud", "source": "0912345678", "content": "x"});
    assert_eq!(post(&app, "/v1/reports", report, p).await.0, StatusCode::CREATED);
    let decision = json!({"reason": "r"});
    assert_eq!(
        post(&app, "/v1/watchlist/0912345678/confirm", decision.clone(), o)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, "/v1/watchlist/0912345678/reject", decision, r).await.0,
        StatusCode::OK
    );
    let numbers = json!({"numbers": ["0912345678"]});
    assert_eq!(post(&app, "/v1/dnc/scrub", numbers.clone(), a).await.0, StatusCode::OK);
    assert_eq!(post(&app, "/v1/dnc/scrub", numbers, p).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        call(&app, "GET", "/v1/dnc/export", None, o).await.0,
        StatusCode::FORBIDDEN
    );
    let copy = json!({"content": "[QC] x", "brandname": "FPT"});
    assert_eq!(
        post(&app, "/v1/ads/copies", copy.clone(), a).await.0,
        StatusCode::CREATED
    );
    assert_eq!(post(&app, "/v1/ads/copies", copy, o).await.0, StatusCode::FORBIDDEN);
    let adv = json!({"code": "Q", "name": "N", "reason": "r"});
    assert_eq!(post(&app, "/v1/advertisers", adv, a).await.0, StatusCode::FORBIDDEN);
    let dnc = json!({"number": "0912345678", "action": "register"});
    assert_eq!(post(&app, "/v1/dnc/requests", dnc, p).await.0, StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_hub() {
    let (app, _, _) = server("").await;
    let (_, doc) = call(&app, "GET", "/openapi.json", None, None).await;
    for path in [
        "/v1/mo",
        "/v1/reports",
        "/v1/watchlist",
        "/v1/dnc/scrub",
        "/v1/dnc/requests/{id}/confirm",
        "/v1/ads/copies",
        "/v1/advertisers",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not in the OpenAPI document");
    }
}

/// The firewall judges ads with the hub's registers: the edges of the hours, the cap and a
/// Do-Not-Call registration made a moment before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ads_are_checked_against_the_registers_at_their_edges() {
    let (app, _, _) = server("").await;
    let adv = json!({"code": "QC-1", "name": "Shop ABC", "reason": "licence"});
    assert_eq!(post(&app, "/v1/advertisers", adv, None).await.0, StatusCode::CREATED);
    let brand = json!({"name": "SHOPABC", "reason": "declared"});
    assert_eq!(
        post(&app, "/v1/advertisers/QC-1/brandnames", brand, None).await.0,
        StatusCode::CREATED
    );
    let ad = "[QC] Giam 30% toan bo san pham den 30/11 tai shopabc.vn. Tu choi QC soan TC gui 1234";
    let copy = json!({"content": ad, "brandname": "SHOPABC"});
    assert_eq!(post(&app, "/v1/ads/copies", copy, None).await.0, StatusCode::CREATED);
    let check = |sender: &str, to: &str, text: &str, at: &str| json!({"sender": sender, "recipient": to, "text": text, "received_at": at});
    let morning = "2026-11-22T10:00:00+07:00";
    let signals_of = |v: &Value| signals(v);

    let (_, v) = post(
        &app,
        "/v1/check",
        check("SHOPABC", "0900000001", ad, "2026-11-22T21:59:59+07:00"),
        None,
    )
    .await;
    assert!(
        !signals_of(&v).iter().any(|s| s.starts_with("AD_") && s != "AD_LABEL"),
        "a compliant ad at 21:59: {v}"
    );
    let (_, v) = post(
        &app,
        "/v1/check",
        check("SHOPABC", "0900000002", ad, "2026-11-22T22:00:00+07:00"),
        None,
    )
    .await;
    assert!(signals_of(&v).contains(&"AD_OUTSIDE_HOURS".to_string()), "22:00: {v}");

    // Three ads to one recipient in 24 hours pass; the fourth is over the cap.
    for n in 1..=4 {
        let (_, v) = post(&app, "/v1/check", check("SHOPABC", "0900000003", ad, morning), None).await;
        assert_eq!(
            signals_of(&v).contains(&"AD_OVER_CAP".to_string()),
            n == 4,
            "ad {n}: {v}"
        );
    }

    // The recipient registers on the DNC list by SMS; the next ad is blocked at once.
    let (_, v) = post(&app, "/v1/check", check("SHOPABC", "0900000004", ad, morning), None).await;
    assert_eq!(v["action"], "allow", "{v}");
    mo(&app, "0900000004", "DK DNC").await;
    let (_, v) = post(
        &app,
        "/v1/check",
        check("SHOPABC", "+84 900 000 004", ad, morning),
        None,
    )
    .await;
    assert!(signals_of(&v).contains(&"AD_TO_DNC".to_string()), "{v}");
    assert_eq!(v["action"], "block");
    // Only messages refused: `DK DNC V` refuses calls, not messages.
    mo(&app, "0900000005", "DK DNC V").await;
    let (_, v) = post(&app, "/v1/check", check("SHOPABC", "0900000005", ad, morning), None).await;
    assert!(!signals_of(&v).contains(&"AD_TO_DNC".to_string()), "{v}");

    // A registered sender without a label, or with a text no copy matches.
    let (_, v) = post(
        &app,
        "/v1/check",
        check(
            "SHOPABC",
            "0900000006",
            "Giam 30% hom nay tai shopabc.vn. Tu choi QC soan TC gui 1234",
            morning,
        ),
        None,
    )
    .await;
    assert!(signals_of(&v).contains(&"AD_NO_LABEL".to_string()), "{v}");
    let (_, v) = post(
        &app,
        "/v1/check",
        check(
            "SHOPABC",
            "0900000007",
            "[QC] Vay tien nhanh lai suat thap giai ngan trong ngay. Tu choi QC soan TC gui 1234",
            morning,
        ),
        None,
    )
    .await;
    assert!(signals_of(&v).contains(&"AD_NO_COPY".to_string()), "{v}");
    // A labelled ad from a brandname nobody registered.
    let (_, v) = post(&app, "/v1/check", check("SHOPXYZ", "0900000008", ad, morning), None).await;
    assert!(signals_of(&v).contains(&"AD_UNREGISTERED_SENDER".to_string()), "{v}");
    // A suspended advertiser's brandname is no longer registered.
    let adv = json!({"code": "QC-1", "name": "Shop ABC", "status": "suspended", "reason": "complaints"});
    assert_eq!(post(&app, "/v1/advertisers", adv, None).await.0, StatusCode::OK);
    let (_, v) = post(&app, "/v1/check", check("SHOPABC", "0900000009", ad, morning), None).await;
    assert!(signals_of(&v).contains(&"AD_UNREGISTERED_SENDER".to_string()), "{v}");
}

/// The SMPP firewall's filter answers the hub's short code itself: the report is stored
/// before the decision, the reply goes back, nothing is checked or forwarded; a sender that
/// is no subscriber number is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smpp_filter_answers_the_short_code_locally() {
    use chanrac_smpp::proxy::{Decision, Filter, SubmitContext};
    let (app, state, _) = server("").await;
    let filter = chanrac_server::smpp::filter(state.clone(), 0x45);
    let ctx = SubmitContext {
        system_id: "smsc-gw",
        session_id: 1,
        command: "submit_sm",
        coding: chanrac_smpp::text::Coding::Gsm7,
        lossy: false,
        unknown_coding: false,
        parts: 1,
        incomplete: false,
    };
    let msg = chanrac_core::Message::text("S 0912345678 Vay tien nhanh")
        .from("84900000001")
        .to("5656");
    let reply = match filter.check(&ctx, &msg) {
        Decision::Local(reply) => reply,
        other => panic!("{other:?}"),
    };
    assert!(reply.contains("Ma phan anh: PA1"), "{reply}");
    let (_, r) = call(&app, "GET", "/v1/reports", None, None).await;
    assert_eq!(r["reports"][0]["via"], "smpp");
    assert_eq!(r["reports"][0]["reporter"], "+84900000001");
    let dnc = chanrac_core::Message::text("DK DNC").from("0900000002").to("5656");
    assert!(matches!(filter.check(&ctx, &dnc), Decision::Local(_)));
    assert_eq!(scrub(&app, &["0900000002"], "sms").await.len(), 1);
    let brand = chanrac_core::Message::text("S x y").from("VIETTEL").to("5656");
    assert_eq!(
        filter.check(&ctx, &brand),
        Decision::Reject(chanrac_smpp::pdu::status::ESME_RINVSRCADR)
    );
    // Anything else is the engine's.
    let other = chanrac_core::Message::text("Mai 7h di da bong nhe")
        .from("0900000003")
        .to("0912345678");
    assert_eq!(filter.check(&ctx, &other), Decision::Forward);
}

/// Two nodes on one store: a DNC change made on one reaches the other's index by catching
/// up with the store's history (the server does it every two seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dnc_change_on_one_node_reaches_the_other() {
    let (a, _, dir) = server("").await;
    let text = format!("[server]\ndata_dir = {:?}\n", dir.display().to_string());
    let config = chanrac_server::Config::from_toml("b.toml", &text, std::iter::empty()).unwrap();
    let b_state = chanrac_server::AppState::new(config).await.unwrap();
    let b = chanrac_server::router(b_state.clone());
    mo(&a, "0912345678", "DK DNC").await;
    mo(&a, "0987654321", "DK DNC S").await;
    mo(&a, "0987654321", "HUY DNC S").await;
    assert!(
        scrub(&b, &["0912345678"], "sms").await.is_empty(),
        "not before catching up"
    );
    assert_eq!(b_state.hub.catch_up(&b_state.records).await.unwrap(), 3);
    assert_eq!(scrub(&b, &["0912345678", "0987654321"], "sms").await, ["0912345678"]);
    // Catching up again re-reads the margin and changes nothing.
    b_state.hub.catch_up(&b_state.records).await.unwrap();
    assert_eq!(b_state.hub.dnc().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_sent_before_a_restart_confirms_after_it() {
    let (app, state, dir) = server("").await;
    let (s, v) = post(
        &app,
        "/v1/dnc/requests",
        json!({"number": "0912 777 888", "action": "register", "scope": "all"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let id = v["request_id"].as_i64().unwrap();
    // The message waits in the store's outbox, not in the process.
    let queued = state.records.outbox_recent(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (queued[0].recipient.as_str(), queued[0].state.as_str()),
        ("+84912777888", "pending")
    );
    assert!(queued[0].expires_at.is_some());
    drop((app, state));

    // A new process on the same data: the gateway takes the password, the subscriber
    // confirms with it.
    let text = format!("[server]\ndata_dir = {:?}\n", dir.display().to_string());
    let config = chanrac_server::Config::from_toml("test.toml", &text, std::iter::empty()).unwrap();
    let state = chanrac_server::AppState::new(config).await.unwrap();
    let app = chanrac_server::router(state.clone());
    let (s, v) = post(&app, "/v1/outbox/take", json!({}), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let messages = v["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{v}");
    assert_eq!(
        (messages[0]["to"].as_str(), messages[0]["from"].as_str()),
        (Some("+84912777888"), Some("5656"))
    );
    let code = otp_code(messages[0]["text"].as_str().unwrap());
    let (s, v) = post(
        &app,
        &format!("/v1/dnc/requests/{id}/confirm"),
        json!({"code": code}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["after"].as_u64(), Some(3));
    assert_eq!(scrub(&app, &["0912777888"], "calls").await, ["0912777888"]);
    let recent = state.records.outbox_recent(10).await.unwrap();
    assert_eq!(recent[0].state, "taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_duplicate_reports_are_grouped_by_their_lsh_bands() {
    let (app, _state, _) = server("").await;
    let base = "Chuc mung quy khach da trung thuong xe may SH tu chuong trinh tri an khach hang, \
                vui long truy cap ngay de nhan giai truoc 17h hom nay";
    let near = "Chuc mung quy khach da trung thuong xe may SH tu chuong trinh tri an khach hang, \
                vui long truy cap ngay de nhan giai thuong truoc 17h hom nay nhe";
    let other = "Lich hop phong ky thuat chuyen sang 9h sang thu hai tai phong 302, moi cac ban \
                 chuan bi bao cao tien do du an va ke hoach quy toi";
    // Three subscribers, three sources: two report the campaign in two wordings.
    let a = mo(&app, "0900000001", &format!("S 0911111111 {base}")).await;
    let b = mo(&app, "0900000002", &format!("S 0922222222 {near}")).await;
    mo(&app, "0900000003", &format!("S 0933333333 {other}")).await;
    let id = |v: &Value| v["ref"].as_str().unwrap()[2..].parse::<i64>().unwrap();
    let (s, v) = call(&app, "GET", &format!("/v1/reports?like={}", id(&b)), None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ids: Vec<i64> = v["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id(&b), id(&a)], "{v}");
    assert_ne!(
        v["reports"][0]["content_key"], v["reports"][1]["content_key"],
        "not the exact key"
    );
    let (s, _) = call(&app, "GET", "/v1/reports?like=999999", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Standard base64, written here so that the test does not share the server's decoder.
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_reports_carry_checked_evidence_files_that_only_analysts_read() {
    let keys = r#"
[hub]
evidence_max_bytes = 2000
evidence_max_files = 2
public_reports_per_reporter_per_minute = 100
[[api_keys]]
name = "regulator"
key = "rrrrrrrrrrrrrrrrrrrr"
roles = ["regulator"]
[[api_keys]]
name = "web"
key = "pppppppppppppppppppp"
roles = ["public"]
"#;
    let (app, _, _) = server(keys).await;
    let (r, p) = (Some("rrrrrrrrrrrrrrrrrrrr"), Some("pppppppppppppppppppp"));
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], &[7u8; 40][..]].concat();
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n".to_vec();
    let report = |evidence: Value| {
        json!({"reporter": "0900000002", "kind": "fraud", "source": "0912345678",
               "content": "goi dien gia danh cong an", "evidence": evidence})
    };
    let (s, v) = post(
        &app,
        "/v1/reports",
        report(
            json!([{"name": "C:\\Users\\me\\screen.png", "data": b64(&png)}, {"name": "bill.pdf", "data": b64(&pdf)}]),
        ),
        p,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let files = v["evidence"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(
        (files[0]["name"].as_str(), files[0]["content_type"].as_str()),
        (Some("screen.png"), Some("image/png"))
    );
    assert_eq!(files[1]["content_type"], "application/pdf");

    // Bad files get a clear refusal and nothing is stored.
    let before = call(&app, "GET", "/v1/reports", None, r).await.1["reports"]
        .as_array()
        .unwrap()
        .len();
    let cases = [
        (
            json!([{"data": b64(b"MZ\x90\0 an executable")}]),
            StatusCode::BAD_REQUEST,
            "evidence_type",
        ),
        (
            json!([{"data": b64(b"just some text, not a picture")}]),
            StatusCode::BAD_REQUEST,
            "evidence_type",
        ),
        (
            json!([{"data": "not base64 !!"}]),
            StatusCode::BAD_REQUEST,
            "invalid_evidence",
        ),
        (json!([{"data": ""}]), StatusCode::BAD_REQUEST, "invalid_evidence"),
        (
            json!([{"data": b64(&[&png[..], &[0u8; 2000][..]].concat())}]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "evidence_too_large",
        ),
        (
            json!([{"data": b64(&png)}, {"data": b64(&png)}, {"data": b64(&png)}]),
            StatusCode::BAD_REQUEST,
            "too_many_files",
        ),
        (
            json!([{"data": b64(&png), "type": "image/png"}]),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
    ];
    for (evidence, status, code) in cases {
        let (s, v) = post(&app, "/v1/reports", report(evidence.clone()), p).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{evidence}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    let after = call(&app, "GET", "/v1/reports", None, r).await.1["reports"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "a refused report stores nothing");

    // Analysts list and download the files, byte for byte; the public cannot.
    let (s, v) = call(&app, "GET", &format!("/v1/reports/{id}/evidence"), None, r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let file_id = v["evidence"][0]["id"].as_i64().unwrap();
    let uri = format!("/v1/reports/{id}/evidence/{file_id}");
    let req = axum::http::Request::get(&uri)
        .header("authorization", "Bearer rrrrrrrrrrrrrrrrrrrr")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"screen.png\""
    );
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], &png[..]);
    assert_eq!(call(&app, "GET", &uri, None, p).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        call(&app, "GET", &format!("/v1/reports/{id}/evidence"), None, p)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/v1/reports/{}/evidence/{file_id}", id + 1000),
            None,
            r
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_role_files_reports_within_its_allowance() {
    let keys = r#"
[hub]
public_reports_per_minute = 4
public_reports_per_reporter_per_minute = 2
[[api_keys]]
name = "web"
key = "pppppppppppppppppppp"
roles = ["public"]
[[api_keys]]
name = "regulator"
key = "rrrrrrrrrrrrrrrrrrrr"
roles = ["regulator"]
"#;
    let (app, _, _) = server(keys).await;
    let (p, r) = (Some("pppppppppppppppppppp"), Some("rrrrrrrrrrrrrrrrrrrr"));
    let report = |reporter: &str| json!({"reporter": reporter, "kind": "spam", "source": "0912345678"});
    // One number: two a minute through the public key.
    assert_eq!(
        post(&app, "/v1/reports", report("0900000001"), p).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        post(&app, "/v1/reports", report("+84900000001"), p).await.0,
        StatusCode::CREATED
    );
    let (s, v) = post(&app, "/v1/reports", report("0900000001"), p).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("2 reports for one number a minute"),
        "{v}"
    );
    // Other numbers until the key's own allowance (4, the refused one counted too).
    assert_eq!(
        post(&app, "/v1/reports", report("0900000002"), p).await.0,
        StatusCode::CREATED
    );
    let (s, v) = post(&app, "/v1/reports", report("0900000004"), p).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(v["message"].as_str().unwrap().contains("4 reports a minute"), "{v}");
    // The regulator is not limited.
    for _ in 0..5 {
        assert_eq!(
            post(&app, "/v1/reports", report("0900000003"), r).await.0,
            StatusCode::CREATED
        );
    }
    let (_, v) = call(&app, "GET", "/v1/reports?limit=100", None, r).await;
    assert_eq!(
        v["reports"].as_array().unwrap().len(),
        8,
        "refused reports are not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertiser_changes_reach_another_node_without_a_restart() {
    let (app, _a, dir) = server("").await;
    // A second node on the same store.
    let text = format!("[server]\ndata_dir = {:?}\n", dir.display().to_string());
    let config = chanrac_server::Config::from_toml("test.toml", &text, std::iter::empty()).unwrap();
    let b = chanrac_server::AppState::new(config).await.unwrap();
    let ad = chanrac_core::Message {
        sender: Some("FPTSHOP".into()),
        recipient: Some("0912345678".into()),
        text: "Sieu sale cuoi tuan giam 50% tai FPT Shop".into(),
        ..Default::default()
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        b.hub.ad_facts(&b.engine(), &ad, now, None).is_none(),
        "not an advertiser yet"
    );
    assert!(!b.hub.refresh_ads(&b.records).await.unwrap(), "nothing changed");
    let (s, v) = post(
        &app,
        "/v1/advertisers",
        json!({"code": "QC-1", "name": "FPT", "reason": "r"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = post(
        &app,
        "/v1/advertisers/QC-1/brandnames",
        json!({"name": "FPTSHOP", "reason": "r"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(b.hub.refresh_ads(&b.records).await.unwrap());
    let facts = b
        .hub
        .ad_facts(&b.engine(), &ad, now, None)
        .expect("an ad of a registered brandname");
    assert!(facts.registered_sender);
    assert_eq!(facts.copy_matches, Some(false));
    // A suspension reaches it too.
    let (s, _) = post(
        &app,
        "/v1/advertisers",
        json!({"code": "QC-1", "name": "FPT", "status": "suspended", "reason": "r"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.hub.refresh_ads(&b.records).await.unwrap());
    assert!(b.hub.ad_facts(&b.engine(), &ad, now, None).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fw_copies_from_an_advertisers_number_carry_its_brandname() {
    let (app, _, _) = server("").await;
    for (code, brands) in [("QC-1", &["SHOPABC"][..]), ("QC-2", &["MEGA1", "MEGA2"][..])] {
        let adv = json!({"code": code, "name": code, "reason": "licence"});
        assert_eq!(post(&app, "/v1/advertisers", adv, None).await.0, StatusCode::CREATED);
        for b in brands {
            let brand = json!({"name": b, "reason": "declared"});
            let uri = format!("/v1/advertisers/{code}/brandnames");
            assert_eq!(post(&app, &uri, brand, None).await.0, StatusCode::CREATED);
        }
    }
    let number = |n: &str| json!({"number": n, "reason": "contract"});
    let (s, v) = post(&app, "/v1/advertisers/QC-1/numbers", number("0912 000 111"), None).await;
    assert_eq!((s, v["number"].as_str()), (StatusCode::OK, Some("+84912000111")), "{v}");
    assert_eq!(
        post(&app, "/v1/advertisers/QC-2/numbers", number("0912000222"), None)
            .await
            .0,
        StatusCode::OK
    );
    let (s, v) = post(&app, "/v1/advertisers/QC-9/numbers", number("0912000333"), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (_, v) = call(&app, "GET", "/v1/advertisers", None, None).await;
    assert_eq!(v["numbers"].as_array().unwrap().len(), 2, "{v}");

    let ad1 = "[QC] Giam 30% toan bo san pham den 30/11 tai shopabc.vn. Tu choi QC soan TC gui 1234";
    let ad2 = "[QC] Dong gia 99k cho moi mat hang tai sieu thi Mega den chu nhat. Tu choi QC soan TC gui 1234";
    let check = |sender: &str, text: &str| json!({"sender": sender, "recipient": "0900000001", "text": text, "received_at": "2026-11-22T10:00:00+07:00"});
    let no_copy = |v: &Value| signals(v).contains(&"AD_NO_COPY".to_string());
    let (_, v) = post(&app, "/v1/check", check("SHOPABC", ad1), None).await;
    assert!(no_copy(&v), "no copy yet: {v}");
    // The advertiser's only brandname; a copy naming one of its brandnames; an unknown
    // sender's copy is kept without one.
    mo(&app, "0912000111", &format!("FW {ad1}")).await;
    mo(&app, "0912000222", &format!("FW mega2 {ad2}")).await;
    mo(&app, "0912000999", &format!("FW {ad2}")).await;
    let (_, v) = post(&app, "/v1/check", check("SHOPABC", ad1), None).await;
    assert!(!no_copy(&v), "the FW copy matches: {v}");
    let (_, v) = post(&app, "/v1/check", check("MEGA2", ad2), None).await;
    assert!(!no_copy(&v), "{v}");
    let (_, v) = post(&app, "/v1/check", check("MEGA1", ad2), None).await;
    assert!(no_copy(&v), "the copy is MEGA2's, not MEGA1's: {v}");
}
