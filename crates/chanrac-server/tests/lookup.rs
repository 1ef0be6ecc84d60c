//! Fraud lookup and the feed through the router: answers from the block lists (with their
//! provenance) and the hub's reports, refusals of unreadable input, the public allowance,
//! roles, and the feed's cursor errors.

mod common;

use axum::http::StatusCode;
use chanrac_store::records::Records;
use common::{call, server};
use serde_json::json;

const OP: &str = "operator-key-0123456789";
const BANK: &str = "bank-key-0123456789abc";
const PUBLIC: &str = "public-key-0123456789ab";
const ADS: &str = "advertiser-key-01234567";

fn keys() -> String {
    format!(
        "public_lookups_per_minute = 5\n\
         [[api_keys]]\nname = \"noc\"\nkey = \"{OP}\"\nroles = [\"operator\"]\n\
         [[api_keys]]\nname = \"bank\"\nkey = \"{BANK}\"\nroles = [\"bank\"]\n\
         [[api_keys]]\nname = \"web\"\nkey = \"{PUBLIC}\"\nroles = [\"public\"]\n\
         [[api_keys]]\nname = \"ads\"\nkey = \"{ADS}\"\nroles = [\"advertiser\"]\n"
    )
}

#[tokio::test]
async fn lookups_answer_from_lists_and_reports() {
    // The allowance is a [server] key: the keys' table comes after it.
    let (app, state, _) = server(&keys()).await;
    let (s, v) = call(
        &app,
        "POST",
        "/v1/lists/block/accounts",
        Some(json!({"value": "0071 000 123 456", "reason": "mule account, case 17"})),
        Some(OP),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    call(
        &app,
        "POST",
        "/v1/lists/block/domains",
        Some(json!({"value": "vay-nhanh.xyz", "reason": "phishing"})),
        Some(OP),
    )
    .await;
    for reporter in ["0903000001", "0903000002", "0903000003"] {
        let (s, v) = call(
            &app,
            "POST",
            "/v1/mo",
            Some(json!({"from": reporter, "to": "5656", "text": "S 0912345678 Vay tien nhanh lai 0%"})),
            Some(OP),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    state.lookup.rebuild(&state.records).await.unwrap();

    let get = |q: &str, key| {
        let app = app.clone();
        let uri = format!("/v1/lookup?{q}");
        async move { call(&app, "GET", &uri, None, Some(key)).await }
    };
    let (s, v) = get("phone=%2B84%20912%20345%20678", BANK).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["known"].as_bool(), v["risk"].as_str(), v["report_count"].as_u64()),
        (Some(true), Some("medium"), Some(3)),
        "{v}"
    );
    assert!(v["first_seen"].as_i64().is_some());
    let (_, v) = get("account=0071000123456&bank=VCB", BANK).await;
    assert_eq!(
        (v["known"].as_bool(), v["risk"].as_str(), v["bank"].as_str()),
        (Some(true), Some("high"), Some("VCB")),
        "{v}"
    );
    assert!(v["reasons"][0].as_str().unwrap().contains("mule account"), "{v}");
    let (_, v) = get("url=hxxps%3A%2F%2Fdang-ky.vay-nhanh%5B.%5Dxyz%2Fa", OP).await;
    assert_eq!(
        (v["known"].as_bool(), v["normalized"].as_str()),
        (Some(true), Some("dang-ky.vay-nhanh.xyz")),
        "{v}"
    );
    let (_, v) = get("phone=0987654321", BANK).await;
    assert_eq!(
        (v["known"].as_bool(), v["risk"].as_str()),
        (Some(false), Some("none")),
        "{v}"
    );

    for bad in [
        "phone=12ab",
        "account=12",
        "url=localhost",
        "phone=0912345678&url=x.vn",
        "",
        "bank=VCB&phone=0912345678",
    ] {
        let (s, v) = get(bad, BANK).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_lookup")),
            "{bad}: {v}"
        );
    }
    let (s, _) = get("phone=0912345678", ADS).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, v) = call(
        &app,
        "POST",
        "/v1/lookup/batch",
        Some(json!({"items": [{"phone": "0912345678"}, {"account": "abc"}, {"url": "vay-nhanh.xyz"}]})),
        Some(BANK),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let a = v["answers"].as_array().unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(a[0]["known"], json!(true));
    assert_eq!(a[1]["code"], json!("invalid_lookup"));
    assert_eq!(a[2]["risk"], json!("high"), "a local listing has confidence 100: {v}");

    // The public key: 5 lookups a minute, a batch counting its items.
    let minute = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 60
    };
    let before = minute();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get("phone=0912345678", PUBLIC).await.0);
    }
    if minute() == before {
        assert_eq!(&statuses[..5], [StatusCode::OK; 5]);
        assert_eq!(
            statuses[5],
            StatusCode::TOO_MANY_REQUESTS,
            "the sixth in a minute is refused"
        );
        let (s, v) = get("phone=0912345678", PUBLIC).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
        );
    }
    let (s, v) = get("phone=0912345678", BANK).await;
    assert_eq!(s, StatusCode::OK, "banks are not rate-limited: {v}");
}

#[tokio::test]
async fn the_feed_refuses_bad_cursors_and_checks_roles() {
    let (app, _, _) = server(&keys()).await;
    for (q, code) in [
        ("since=abc", "invalid_cursor"),
        ("since=-3", "invalid_cursor"),
        ("since=5", "invalid_cursor"),
        ("since=0&limit=0", "bad_request"),
        ("since=0&limit=5000", "bad_request"),
    ] {
        let (s, v) = call(&app, "GET", &format!("/v1/feed?{q}"), None, Some(OP)).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{q}: {v}"
        );
    }
    let (s, _) = call(&app, "GET", "/v1/feed?since=0", None, Some(BANK)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    call(
        &app,
        "POST",
        "/v1/lists/block/senders",
        Some(json!({"value": "0912345678", "reason": "x"})),
        Some(OP),
    )
    .await;
    let (s, v) = call(&app, "GET", "/v1/feed?since=0", None, Some(OP)).await;
    assert_eq!(s, StatusCode::OK);
    let page: serde_json::Value = serde_json::from_str(v["payload"].as_str().unwrap()).unwrap();
    assert_eq!(
        (page["from"].as_i64(), page["to"].as_i64(), page["latest"].as_i64()),
        (Some(0), Some(1), Some(1))
    );
    assert_eq!(page["changes"][0]["entry"]["value"], json!("+84912345678"));
    let (_, key) = call(&app, "GET", "/v1/feed/key", None, Some(OP)).await;
    let public = chanrac_server::feed::parse_public_key(key["public_key"].as_str().unwrap()).unwrap();
    chanrac_server::feed::verify(
        &public,
        v["payload"].as_str().unwrap(),
        v["signature"].as_str().unwrap(),
    )
    .unwrap();
    let doc = chanrac_server::openapi_json();
    for path in ["/v1/feed", "/v1/feed/key", "/v1/lookup", "/v1/lookup/batch"] {
        assert!(doc.contains(&format!("\"{path}\"")), "{path} in the OpenAPI document");
    }
}

#[tokio::test]
async fn a_third_party_list_is_imported_with_its_provenance() {
    let (app, state, _) = server(&keys()).await;
    let post = |uri: &str, csv: &str| {
        let req = axum::http::Request::post(uri)
            .header(axum::http::header::AUTHORIZATION, format!("Bearer {OP}"))
            .header(axum::http::header::CONTENT_TYPE, "text/csv")
            .body(axum::body::Body::from(csv.to_string()))
            .unwrap();
        let app = app.clone();
        async move { common::raw(&app, req).await }
    };
    let bad = "side,kind,value,confidence,evidence,expires_at\n\
               block,senders,0912345678,70,,\n\
               block,accounts,12ab,70,,\n\
               block,domains,evil.xyz,170,,\n";
    let (s, v) = post("/v1/lists/import?source=antiscam&reason=weekly%20list", bad).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_lines")),
        "{v}"
    );
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("line 3") && msg.contains("line 4") && !msg.contains("line 2"),
        "{msg}"
    );
    assert_eq!(state.records.lists_version().await.unwrap(), 0, "nothing imported");
    let (s, _) = post("/v1/lists/import?source=antiscam", "side,kind,value\n").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a reason is required");

    let good = "side,kind,value,confidence,evidence,expires_at\n\
                block,senders,0912 345 678,70,\"case 12, case 19\",2099-01-01T00:00:00Z\n\
                block,domains,evil.xyz,,,\n\
                block,domains,old-scam.xyz,90,,2020-01-01T00:00:00Z\n";
    let (s, v) = post("/v1/lists/import?source=antiscam&reason=weekly%20list", good).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["added"].as_u64(), v["existing"].as_u64()), (Some(3), Some(0)));
    let (_, v) = post("/v1/lists/import?source=antiscam&reason=weekly%20list", good).await;
    assert_eq!(
        (v["added"].as_u64(), v["existing"].as_u64()),
        (Some(0), Some(3)),
        "idempotent"
    );
    let entries = state.records.list_entries().await.unwrap();
    let e = entries.iter().find(|e| e.value == "+84912345678").unwrap();
    assert_eq!(
        (e.source.as_str(), e.evidence.as_str(), e.confidence, e.expires_at),
        ("import:antiscam", "case 12, case 19", 70, Some(4_070_908_800_000))
    );
    state.lookup.rebuild(&state.records).await.unwrap();
    let (_, v) = call(&app, "GET", "/v1/lookup?url=evil.xyz", None, Some(BANK)).await;
    assert_eq!(v["risk"], json!("medium"), "confidence 50 by default: {v}");
    let (_, v) = call(&app, "GET", "/v1/lookup?url=old-scam.xyz", None, Some(BANK)).await;
    assert_eq!(v["known"], json!(false), "an expired entry no longer applies: {v}");
    let (_, v) = call(&app, "GET", "/v1/feed?since=0", None, Some(OP)).await;
    assert!(
        v["payload"].as_str().unwrap().contains("import:antiscam"),
        "imports are in the feed"
    );
}

#[tokio::test]
async fn an_operator_finding_goes_to_review_then_out_in_the_feed() {
    const REG: &str = "regulator-key-0123456789";
    let (app, _, _) = server(&format!(
        "{}[[api_keys]]\nname = \"mic\"\nkey = \"{REG}\"\nroles = [\"regulator\"]\n",
        keys()
    ))
    .await;
    let finding = json!({"kind": "spam", "source": "0912 345 678", "evidence": "SIM farm: 400 messages a minute"});
    let (s, v) = call(&app, "POST", "/v1/findings", Some(finding.clone()), Some(BANK)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = call(
        &app,
        "POST",
        "/v1/findings",
        Some(json!({"kind": "spam", "source": "??", "evidence": "x"})),
        Some(OP),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_source"))
    );
    let (s, v) = call(&app, "POST", "/v1/findings", Some(finding), Some(OP)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = call(&app, "GET", "/v1/reports?source=0912345678", None, Some(REG)).await;
    let r = &v["reports"][0];
    assert_eq!(
        (r["via"].as_str(), r["reporter"].as_str()),
        (Some("operator"), Some("operator:noc")),
        "{v}"
    );
    let (s, v) = call(
        &app,
        "POST",
        "/v1/watchlist/0912345678/confirm",
        Some(json!({"reason": "operator finding checked"})),
        Some(REG),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = call(&app, "GET", "/v1/feed?since=0", None, Some(OP)).await;
    assert!(
        v["payload"].as_str().unwrap().contains("+84912345678"),
        "the confirmed finding is in the feed: {v}"
    );
}
