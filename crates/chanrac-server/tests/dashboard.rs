//! The dashboard's routes through the router: the files, their headers and validators, and
//! `GET /ui/session` with keys and roles. (The pages themselves are tested in a real browser
//! by `crates/chanrac/tests/dashboard.rs`.)

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chanrac_server::{AppState, Config, router};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A router over a fresh data directory with the given extra configuration.
async fn app(tag: &str, extra: &str) -> axum::Router {
    let dir = std::env::temp_dir().join(format!("chanrac-dash-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!("[server]\ndata_dir = {:?}\n{extra}", dir.display().to_string());
    let config = Config::from_toml("test.toml", &text, std::iter::empty()).unwrap();
    router(AppState::new(config).await.unwrap())
}

/// GET `uri` with extra headers; the status, the headers and the body as text.
async fn get(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, header::HeaderMap, String) {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

const KEYS: &str = r#"
[[api_keys]]
name = "noc"
key = "operator-key-0123456789"
roles = ["operator"]

[[api_keys]]
name = "analyst"
key = "regulator-key-0123456789"
roles = ["regulator", "bank"]
"#;

#[tokio::test]
async fn the_page_and_its_files_are_served_with_a_strict_policy_and_validators() {
    let app = app("files", KEYS).await;
    // The page needs no key: the data it shows does.
    let (status, headers, body) = get(&app, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(body.contains(r#"<script type="module" src="/ui/app.js">"#), "{body}");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    for (file, ty) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
        ("index.html", "text/html; charset=utf-8"),
    ] {
        let (status, headers, body) = get(&app, &format!("/ui/{file}"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert_eq!(headers[header::CONTENT_TYPE], ty, "{file}");
        assert!(!body.is_empty());
        // Revalidation: the same ETag answers 304 without a body; another one gets the file.
        let etag = headers[header::ETAG].to_str().unwrap().to_string();
        let (status, _, body) = get(&app, &format!("/ui/{file}"), &[("if-none-match", &etag)]).await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""), "{file}");
        let (status, _, _) = get(
            &app,
            &format!("/ui/{file}"),
            &[("if-none-match", "\"0000000000000000\"")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{file}");
    }
    // Anything else under /ui/ is a 404 in the API's error shape, never a file of the disk.
    for uri in ["/ui/nope.js", "/ui/..%2FCargo.toml", "/ui/", "/ui/app.js/x"] {
        let (status, _, body) = get(&app, uri, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(body.contains("\"not_found\""), "{uri}: {body}");
    }
}

#[tokio::test]
async fn the_session_names_the_key_and_its_roles() {
    let app = app("session", KEYS).await;
    let (status, _, body) = get(&app, "/ui/session", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _, _) = get(&app, "/ui/session", &[("authorization", "Bearer wrong-key-0123456789")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _, body) = get(
        &app,
        "/ui/session",
        &[("authorization", "Bearer operator-key-0123456789")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["name"], "noc");
    assert_eq!(v["roles"], serde_json::json!(["operator"]));
    assert_eq!(v["dev"], false);
    assert_eq!(v["store"], "sqlite");
    assert_eq!(v["smpp"], false);
    assert!(v["rules"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["lists_version"], 0);

    let (_, _, body) = get(&app, "/ui/session", &[("x-api-key", "regulator-key-0123456789")]).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["roles"], serde_json::json!(["regulator", "bank"]));
}

#[tokio::test]
async fn in_development_mode_the_session_has_every_role() {
    let app = app("dev", "").await;
    let (status, _, body) = get(&app, "/ui/session", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["name"].as_str(), v["dev"].as_bool()), (Some("dev"), Some(true)));
    assert_eq!(
        v["roles"],
        serde_json::json!(["operator", "regulator", "advertiser", "bank", "public"])
    );
}

#[tokio::test]
async fn the_rules_of_the_engine_in_effect_are_listed_for_operators() {
    let app = app("rules", KEYS).await;
    let (status, _, _) = get(&app, "/ui/rules", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = get(
        &app,
        "/ui/rules",
        &[("authorization", "Bearer operator-key-0123456789")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let defaults = chanrac_core::Policy::default().thresholds;
    assert_eq!(
        v["thresholds"],
        serde_json::json!([defaults.tag, defaults.quarantine, defaults.block])
    );
    let signals = v["signals"].as_array().unwrap();
    let engine = chanrac_core::Engine::builder().build().unwrap();
    assert_eq!(
        signals.len(),
        chanrac_core::signal::BUILTIN.len() + engine.rules().rules().len()
    );
    let rule = &engine.rules().rules()[0];
    let shown = signals.iter().find(|s| s["id"] == *rule.id).unwrap();
    assert_eq!(shown["kind"], "rule");
    assert_eq!(shown["weight"].as_f64().unwrap() as f32, rule.weight);
    assert_eq!(shown["fires"].as_array().unwrap().len(), rule.fires.len());
    assert!(
        signals
            .iter()
            .any(|s| s["kind"] == "builtin" && s["id"] == "URL_SHORTENER")
    );
}

#[tokio::test]
async fn the_rules_show_the_policy_s_weights_and_thresholds() {
    let policy = std::env::temp_dir().join(format!("chanrac-dash-{}-policy.toml", std::process::id()));
    std::fs::write(
        &policy,
        "[thresholds]\ntag = 3.0\nquarantine = 6.0\nblock = 9.5\n[weights]\nURL_SHORTENER = 3.25\n",
    )
    .unwrap();
    let app = app(
        "policy",
        &format!("[engine]\npolicy = {:?}\n", policy.display().to_string()),
    )
    .await;
    let (status, _, body) = get(&app, "/ui/rules", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["thresholds"], serde_json::json!([3.0, 6.0, 9.5]));
    let shortener = v["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "URL_SHORTENER")
        .unwrap();
    let default = chanrac_core::signal::BUILTIN
        .iter()
        .find(|s| s.id == "URL_SHORTENER")
        .unwrap()
        .weight;
    assert_eq!(shortener["weight"], 3.25);
    assert_eq!(shortener["default_weight"].as_f64().unwrap() as f32, default);
}
