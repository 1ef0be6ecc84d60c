//! Keyword mining through the router: confirmed reports mined against a ham baseline into
//! the proposal queue, an analyst's approval making a rule pack the engine uses at once, a
//! revocation taking it out, the pack in the feed, bad input and roles.

use axum::http::StatusCode;
use serde_json::{Value, json};

mod common;
use common::{call, server, signals};

/// The texts of the reports: a made-up brand, `zorbix`, in otherwise harmless sentences
/// that the engine lets through.
pub const ZORBIX: [&str; 12] = [
    "Chao anh, zorbix mo cua hang moi o quan 3",
    "Ban oi zorbix tang qua cho thanh vien",
    "Tin vui: zorbix dang cap nhat phien ban",
    "Nho ghe zorbix cuoi tuan nay",
    "Da co zorbix tren dien thoai chua",
    "Zorbix hen gap ban toi nay",
    "Cung zorbix kham pha the gioi",
    "Ung dung zorbix da san sang",
    "Lien he zorbix de biet them",
    "Zorbix chuc ban mot ngay vui",
    "Thu zorbix ngay hom nay",
    "Hay chia se zorbix voi ban be",
];

fn config() -> String {
    let ham = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/uci_sms_spam_collection_en.tsv");
    format!("[keywords]\nham = [{ham:?}]\n")
}

async fn post(app: &axum::Router, uri: &str, body: Value, key: Option<&str>) -> (StatusCode, Value) {
    call(app, "POST", uri, Some(body), key).await
}

/// Twenty reporters report one number with the zorbix texts; an analyst confirms it.
async fn confirmed_reports(app: &axum::Router) {
    for i in 0..20 {
        let content = format!("{} {}", ZORBIX[i % ZORBIX.len()], if i < 12 { "" } else { "nhe" });
        let body = json!({"reporter": format!("09000000{i:02}"), "kind": "spam", "source": "0912000111",
                          "content": content.trim()});
        let (s, v) = post(app, "/v1/reports", body, None).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = post(
        app,
        "/v1/watchlist/0912000111/confirm",
        json!({"reason": "zorbix spam"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn proposal<'a>(v: &'a Value, phrase: &str) -> &'a Value {
    v["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phrase"] == phrase)
        .unwrap_or_else(|| panic!("no proposal {phrase:?} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mined_keywords_are_approved_into_the_engine_and_revoked_out_of_it() {
    let (app, state, _) = server(&config()).await;
    let probe = json!({"text": "Moi ban tai zorbix ve may"});
    let (_, v) = post(&app, "/v1/check", probe.clone(), None).await;
    assert!(!signals(&v).iter().any(|s| s.starts_with("HUB_KW_")), "{v}");

    confirmed_reports(&app).await;
    let (s, m) = post(&app, "/v1/keywords/mine", json!({}), None).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!((m["spam"].as_u64(), m["scam"].as_u64()), (Some(20), Some(0)), "{m}");
    assert!(m["ham"].as_u64().unwrap() > 4000, "{m}");
    assert!(m["merged"]["added"].as_u64().unwrap() >= 1, "{m}");

    let (s, q) = call(&app, "GET", "/v1/keywords/proposals?status=proposed", None, None).await;
    assert_eq!(s, StatusCode::OK, "{q}");
    let p = proposal(&q, "zorbix");
    assert_eq!(
        (p["unwanted_docs"].as_u64(), p["ham_docs"].as_u64()),
        (Some(20), Some(0)),
        "{p}"
    );
    assert!(p["ham_rate_upper"].as_f64().unwrap() <= 0.001, "{p}");
    assert!(p["z"].as_f64().unwrap() >= 3.0, "{p}");
    assert_eq!(p["source"], "api:dev");
    assert!(!p["examples"].as_array().unwrap().is_empty(), "{p}");
    let id = p["id"].as_i64().unwrap();

    // Mining again changes no decided proposal and adds no duplicate.
    let (_, m2) = post(&app, "/v1/keywords/mine", json!({}), None).await;
    assert_eq!(m2["merged"]["added"], 0, "{m2}");

    let uri = format!("/v1/keywords/proposals/{id}/approve");
    let (s, e) = post(&app, &uri, json!({"reason": " "}), None).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason_required"))
    );
    let (s, d) = post(&app, &uri, json!({"reason": "made-up brand in 20 reports"}), None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["proposal"]["status"], "approved");
    assert_eq!(d["pack"]["version"], 1);
    assert_eq!(d["pack"]["keywords"][0]["phrase"], "zorbix");

    // In effect at once, on top of the built-in rules.
    let (_, v) = post(&app, "/v1/check", probe.clone(), None).await;
    let reason = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["signal"] == "HUB_KW_ZORBIX");
    assert_eq!(reason.unwrap_or_else(|| panic!("{v}"))["evidence"], "zorbix");
    let (_, pack) = call(&app, "GET", "/v1/keywords/pack", None, None).await;
    assert_eq!(
        (pack["in_effect"].as_i64(), pack["rules"][0].as_str()),
        (Some(1), Some("HUB_KW_ZORBIX")),
        "{pack}"
    );
    assert_eq!(state.pack_version(), 1);

    // The pack is a change of the feed.
    let (_, f) = call(&app, "GET", "/v1/feed?since=0", None, None).await;
    let page: Value = serde_json::from_str(f["payload"].as_str().unwrap()).unwrap();
    let rules: Vec<&Value> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["op"] == "rules")
        .collect();
    assert_eq!(rules.len(), 1, "{page}");
    assert_eq!(rules[0]["rules"]["keywords"][0]["phrase"], "zorbix");

    // A reload keeps the pack.
    let (s, _) = post(&app, "/v1/reload", json!({}), None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = post(&app, "/v1/check", probe.clone(), None).await;
    assert!(signals(&v).contains(&"HUB_KW_ZORBIX".to_string()), "{v}");

    // Revoked: the next version leaves it out, and the engine with it.
    let (s, d) = post(
        &app,
        &format!("/v1/keywords/proposals/{id}/reject"),
        json!({"reason": "brand is real"}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        (
            d["pack"]["version"].as_i64(),
            d["pack"]["keywords"].as_array().map(Vec::len)
        ),
        (Some(2), Some(0))
    );
    let (_, v) = post(&app, "/v1/check", probe, None).await;
    assert!(!signals(&v).iter().any(|s| s.starts_with("HUB_KW_")), "{v}");
    let (_, a) = call(&app, "GET", "/v1/audit", None, None).await;
    let actions: Vec<&str> = a["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for want in ["keywords.mine", "keyword.approve", "keyword.reject", "rules.install"] {
        assert!(actions.contains(&want), "{want}: {actions:?}");
    }
    // A rejected phrase stays rejected when mined again.
    post(&app, "/v1/keywords/mine", json!({}), None).await;
    let (_, q) = call(&app, "GET", "/v1/keywords/proposals", None, None).await;
    assert_eq!(proposal(&q, "zorbix")["status"], "rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_mining_fills_the_queue_by_itself() {
    let (app, state, _) = server(&format!("{}mine_every = \"1s\"\n", config())).await;
    confirmed_reports(&app).await;
    let job = chanrac_server::keywords::spawn(&state).expect("mine_every is set");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let q = loop {
        let (_, q) = call(&app, "GET", "/v1/keywords/proposals", None, None).await;
        if !q["proposals"].as_array().unwrap().is_empty() {
            break q;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled mining within a minute"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    job.abort();
    assert_eq!(proposal(&q, "zorbix")["source"], "scheduled", "{q}");
    let (_, a) = call(&app, "GET", "/v1/audit", None, None).await;
    assert!(a.to_string().contains("keywords.mine"), "{a}");
    let (app, state, _) = server(&config()).await;
    drop(app);
    assert!(chanrac_server::keywords::spawn(&state).is_none(), "off by default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_roles() {
    let keys = "[[api_keys]]\nname = \"ana\"\nkey = \"regulator-key-0001\"\nroles = [\"regulator\"]\n\
                [[api_keys]]\nname = \"op\"\nkey = \"operator-key-00001\"\nroles = [\"operator\"]\n";
    let (app, _, _) = server(&format!("{}{keys}", config())).await;
    let (s, _) = post(&app, "/v1/keywords/mine", json!({}), Some("operator-key-00001")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&app, "GET", "/v1/keywords/proposals", None, Some("operator-key-00001")).await;
    assert_eq!(s, StatusCode::OK, "operators may read the queue");
    let (s, _) = post(
        &app,
        "/v1/keywords/proposals/1/approve",
        json!({"reason": "x"}),
        Some("operator-key-00001"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = call(
        &app,
        "GET",
        "/v1/keywords/proposals?status=maybe",
        None,
        Some("regulator-key-0001"),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_status"))
    );
    for uri in [
        "/v1/keywords/proposals/999/approve",
        "/v1/keywords/proposals/abc/approve",
        "/v1/keywords/proposals/1/maybe",
    ] {
        let (s, _) = post(&app, uri, json!({"reason": "x"}), Some("regulator-key-0001")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
    }
    // No confirmed report: a run proposes nothing.
    let (s, m) = post(&app, "/v1/keywords/mine", json!({}), Some("regulator-key-0001")).await;
    assert_eq!((s, m["proposals"].as_u64()), (StatusCode::OK, Some(0)), "{m}");

    let (app, _, _) = server("[keywords]\nham = [\"/nonexistent/ham.tsv\"]\n").await;
    let (s, e) = post(&app, "/v1/keywords/mine", json!({}), None).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("no_ham_baseline")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("/nonexistent/ham.tsv"), "{e}");

    for bad in [
        "mine_every = \"soon\"",
        "weight = 50.0",
        "max_ham_rate = 0.0",
        "max_words = 4",
        "frequency = 1",
    ] {
        let text = format!("[keywords]\n{bad}\n");
        assert!(
            chanrac_server::Config::from_toml("t.toml", &text, std::iter::empty()).is_err(),
            "{bad}"
        );
    }

    let (_, doc) = call(&app, "GET", "/openapi.json", None, None).await;
    for path in [
        "/v1/keywords/mine",
        "/v1/keywords/proposals",
        "/v1/keywords/proposals/{id}/{decision}",
        "/v1/keywords/pack",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}
