//! E-mail through `POST /v1/check` (as `message/rfc822` and as the `email` field of JSON)
//! and `POST /v1/check/batch`, through the router, with the synthetic cases of
//! `crates/chanrac-mail/tests/cases/`.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chanrac_server::{AppState, Config, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

async fn server() -> Router {
    server_with("").await
}

async fn server_with(extra: &str) -> Router {
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("chanrac-email-api-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!("[server]\ndata_dir = {:?}\n{extra}", dir.display().to_string());
    let config = Config::from_toml("test.toml", &text, std::iter::empty()).unwrap();
    router(AppState::new(config).await.unwrap())
}

fn case(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../chanrac-mail/tests/cases")
        .join(name);
    std::fs::read(p).unwrap()
}

async fn post(app: &Router, uri: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn signals(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc822_bodies_are_checked_as_email() {
    let app = server().await;
    let (s, v) = post(
        &app,
        "/v1/check",
        "message/rfc822",
        case("scam/paypal-en-link-mismatch.eml"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["action"], "block");
    assert_eq!(v["category"], "scam");
    for sig in [
        "EMAIL_LINK_MISMATCH",
        "EMAIL_DMARC_FAIL",
        "EMAIL_DISPLAY_NAME_BRAND",
        "URL_IP_HOST",
    ] {
        assert!(signals(&v).contains(&sig.to_string()), "{sig}: {v}");
    }
    // The Message-ID is the verdict's id.
    let (s, v) = post(
        &app,
        "/v1/check",
        "message/rfc822; charset=utf-8",
        case("ham/vcb-statement.eml"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["action"], "allow");
    assert_eq!(v["id"], "stmt-202610@vietcombank.com.vn");
    // A large HTML e-mail (parsed off the request thread).
    let mut big = b"From: a@example.com\r\nSubject: big\r\nContent-Type: text/html\r\n\r\n".to_vec();
    for _ in 0..20_000 {
        big.extend_from_slice(b"<p>Xin chao</p>");
    }
    let (s, v) = post(&app, "/v1/check", "message/rfc822", big).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(signals(&v).contains(&"TEXT_TRUNCATED".to_string()), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_email_is_a_clear_400() {
    let app = server().await;
    let (s, v) = post(&app, "/v1/check", "message/rfc822", b"hello, not an e-mail".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], "invalid_message", "{v}");
    assert!(v["message"].as_str().unwrap().contains("not an e-mail"), "{v}");
    let (s, v) = post(&app, "/v1/check", "message/rfc822", Vec::new()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // JSON: either text or email.
    let both = json!({"text": "hi", "email": "From: a@b.c\r\n\r\nhi"})
        .to_string()
        .into_bytes();
    let (s, v) = post(&app, "/v1/check", "application/json", both).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains("either"), "{v}");
    let neither = json!({"sender": "0912345678"}).to_string().into_bytes();
    let (s, v) = post(&app, "/v1/check", "application/json", neither).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains("text"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_email_field_and_batches() {
    let app = server().await;
    let scam = String::from_utf8(case("scam/vcb-display-name-link-mismatch.eml")).unwrap();
    let ham = String::from_utf8(case("ham/colleague-meeting.eml")).unwrap();
    let body = json!({"id": "e-1", "email": scam}).to_string().into_bytes();
    let (s, v) = post(&app, "/v1/check", "application/json", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"], "e-1");
    assert_eq!(v["action"], "block");
    assert!(signals(&v).contains(&"EMAIL_REPLY_TO_MISMATCH".to_string()), "{v}");

    let batch = json!({"messages": [
        {"email": scam},
        {"text": "Mai 7h đi đá bóng nhé"},
        {"email": ham},
    ]})
    .to_string()
    .into_bytes();
    let (s, v) = post(&app, "/v1/check/batch", "application/json", batch).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let actions: Vec<&str> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["block", "allow", "allow"]);
    assert_eq!(v["verdicts"][2]["id"], "a1@congty-abc.com.vn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_rfc822() {
    let doc: Value = serde_json::from_str(&chanrac_server::openapi_json()).unwrap();
    let content = &doc["paths"]["/v1/check"]["post"]["requestBody"]["content"];
    assert!(content["message/rfc822"].is_object(), "{content}");
    assert!(content["application/json"].is_object(), "{content}");
}

#[tokio::test]
async fn email_limits_come_from_the_configuration() {
    let photos = case("ham/family-photos-attachment.eml");
    let (s, v) = post(&server().await, "/v1/check", "message/rfc822", photos.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!signals(&v).contains(&"EMAIL_MIME_BOMB".to_string()), "{v}");

    let app = server_with("[email]\nmax_parts = 2\nmax_bytes = 4096\n").await;
    let (s, v) = post(&app, "/v1/check", "message/rfc822", photos.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["reasons"].to_string().contains("more than 2 MIME parts"), "{v}");
    // The same limits for the `email` field of JSON, in a batch.
    let body = json!({"messages": [{"email": String::from_utf8(photos).unwrap()}]});
    let (s, v) = post(
        &app,
        "/v1/check/batch",
        "application/json",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["verdicts"][0]["reasons"]
            .to_string()
            .contains("more than 2 MIME parts"),
        "{v}"
    );
    let long = format!("From: a@example.vn\nSubject: dai\n\n{}\n", "Xin chao. ".repeat(1000));
    let (_, v) = post(&app, "/v1/check", "message/rfc822", long.into_bytes()).await;
    assert!(v["reasons"].to_string().contains("read 4096 of"), "{v}");

    for bad in [
        "[email]\nmax_parts = 0\n",
        "[email]\nmax_bytes = 100\n",
        "[email]\nmax_size = 1\n",
    ] {
        let e = Config::from_toml("test.toml", bad, std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(e.contains("email") || e.contains("max_size"), "{bad}: {e}");
    }
}
