//! `GET /v1/report` through the router: only the regulator's analysts read it, every format
//! answers with its media type, and the period is checked. (The figures themselves are
//! checked against `/v1/stats` and known inputs by `crates/chanrac/tests/report.rs`.)

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{call, server};
use http_body_util::BodyExt;
use tower::ServiceExt;

const OP: &str = "operator-key-0123456789";
const REG: &str = "regulator-key-0123456789";

async fn app() -> axum::Router {
    let (app, _, _) = server(&format!(
        "[[api_keys]]\nname = \"noc\"\nkey = \"{OP}\"\nroles = [\"operator\"]\n\
         [[api_keys]]\nname = \"mic\"\nkey = \"{REG}\"\nroles = [\"regulator\"]\n"
    ))
    .await;
    app
}

#[tokio::test]
async fn only_the_regulator_reads_the_report() {
    let app = app().await;
    let (s, v) = call(&app, "GET", "/v1/report?quarter=2026Q3", None, Some(OP)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _) = call(&app, "GET", "/v1/report?quarter=2026Q3", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = call(&app, "GET", "/v1/report?quarter=2026Q3", None, Some(REG)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["period"], "2026Q3");
    assert_eq!(v["from"], "2026-07-01T00:00:00+07:00");
    assert_eq!(v["to"], "2026-10-01T00:00:00+07:00");
    assert_eq!(v["messages"]["checked"], 0);
    assert_eq!(v["step"], "week");
    assert_eq!(v["trend"].as_array().unwrap().len(), 14);
    let (_, v) = call(&app, "GET", "/v1/report?half=2026H2&step=day", None, Some(REG)).await;
    assert_eq!(
        (v["days"].as_i64(), v["trend"].as_array().unwrap().len()),
        (Some(184), 184)
    );
}

#[tokio::test]
async fn every_format_has_its_media_type() {
    let app = app().await;
    for (format, media, start) in [
        ("md", "text/markdown; charset=utf-8", "# "),
        ("html", "text/html; charset=utf-8", "<!doctype html>"),
        ("csv", "text/csv; charset=utf-8", "section,key,item,value"),
        ("json", "application/json", "{"),
    ] {
        let req = Request::builder()
            .uri(format!("/v1/report?from=2026-07-01&to=2026-07-31&format={format}"))
            .header(header::AUTHORIZATION, format!("Bearer {REG}"))
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{format}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], media, "{format}");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).starts_with(start), "{format}");
    }
}

#[tokio::test]
async fn bad_periods_are_refused_with_the_reason() {
    let app = app().await;
    for (query, code, says) in [
        ("from=2026-09-30&to=2026-07-01", "invalid_period", "runs backwards"),
        ("from=2026-07-01&to=2026-07-32", "invalid_period", "is not a date"),
        ("to=2026-07-01", "invalid_period", "both from and to"),
        ("quarter=2026H2", "invalid_period", "not a quarter"),
        ("half=2026Q3", "invalid_period", "not a half year"),
        ("quarter=2026Q3&half=2026H2", "invalid_period", "one period"),
        ("", "invalid_period", "give a period"),
        ("quarter=2026Q3&format=xlsx", "bad_request", "md, html, csv or json"),
        ("quarter=2026Q3&step=month", "bad_request", "day or week"),
    ] {
        let (s, v) = call(&app, "GET", &format!("/v1/report?{query}"), None, Some(REG)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert_eq!(v["code"], code, "{query}: {v}");
        assert!(v["message"].as_str().unwrap().contains(says), "{query}: {v}");
    }
    let (_, doc) = call(&app, "GET", "/openapi.json", None, None).await;
    assert!(doc["paths"]["/v1/report"]["get"].is_object());
}
