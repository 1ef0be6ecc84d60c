//! The ministry's report against a real `chanrac serve`: a known mix of messages (with
//! `received_at` spread over a period, and some before it), call records, reports, DNC
//! requests and ads goes in through the API; `chanrac report --format json` (reading the
//! node's store) and `GET /v1/report` must then agree with each other, with `GET /v1/stats`
//! over the same period, and with what the server answered for each input.

mod common;

use std::collections::BTreeMap;

use common::{Node, config_file, http, pg_schema, temp};
use serde_json::{Value, json};

const DAY: i64 = 86_400;
const VN: i64 = 7 * 3600;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The Vietnam date of a Unix time.
fn vn_date(t: i64) -> String {
    let d = time::OffsetDateTime::from_unix_timestamp((t + VN).div_euclid(DAY) * DAY).unwrap();
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn post(node: &Node, path: &str, body: &Value) -> Value {
    let (status, b) = http(node.addr, "POST", path, Some(&body.to_string())).unwrap();
    assert!((200..300).contains(&status), "{path}: {status} {b}");
    serde_json::from_str(&b).unwrap_or(Value::Null)
}

fn get(node: &Node, path: &str) -> Value {
    let (status, b) = http(node.addr, "GET", path, None).unwrap();
    assert_eq!(status, 200, "{path}: {b}");
    serde_json::from_str(&b).unwrap()
}

/// A GET answered whole: status line, headers and body, as text.
fn raw_get(node: &Node, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(node.addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

#[derive(Default)]
struct Expected {
    checked: u64,
    actions: BTreeMap<String, u64>,
    categories: BTreeMap<String, u64>,
    /// operator → (checked, blocked)
    operators: BTreeMap<String, (u64, u64)>,
    /// day → messages
    days: BTreeMap<String, u64>,
    /// advertiser → violations
    ads: BTreeMap<String, u64>,
}

#[test]
fn the_report_adds_up_with_the_statistics_and_the_inputs() {
    run(None);
}

/// The same with two nodes sharing a PostgreSQL store: each checks half of the messages,
/// and the report counts both.
#[test]
fn the_report_adds_up_across_two_nodes_on_postgres() {
    let Some(url) = pg_schema("report") else { return };
    run(Some(url));
}

fn run(postgres: Option<String>) {
    let dir = temp(if postgres.is_some() { "report-pg" } else { "report" });
    let config = config_file(&dir, "");
    let env: Vec<(&str, String)> = match &postgres {
        Some(url) => vec![
            ("CHANRAC_STORE__RECORDS", "postgres".into()),
            ("CHANRAC_STORE__POSTGRES_URL", url.clone()),
        ],
        None => Vec::new(),
    };
    // `chanrac report` on the node's configuration (and store).
    let report = |args: &[&str]| {
        common::bin()
            .arg("report")
            .args(args)
            .args(["--config", &config])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    };
    let node = Node::start(&env, &["--config", &config]);

    // The period: the ten days up to today (Vietnam time).
    let today = (now() + VN).div_euclid(DAY) * DAY - VN;
    let from = today - 9 * DAY;
    let (from_date, to_date) = (vn_date(from), vn_date(today));

    post(
        &node,
        "/v1/advertisers",
        &json!({"code": "QC-0001", "name": "FPT Retail", "reason": "licence 12/2026"}),
    );
    post(
        &node,
        "/v1/advertisers/QC-0001/brandnames",
        &json!({"name": "FPTSHOP", "operators": ["viettel"], "reason": "declared"}),
    );
    // On PostgreSQL a second node (started after the advertiser register was filled, which
    // a node reads at its start) checks half of the messages.
    let second = postgres
        .as_ref()
        .map(|_| Node::start(&env, &["--config", &config_file(&temp("report-pg-b"), "")]));
    let other = second.as_ref().unwrap_or(&node);

    // Messages: every day of the period but today at noon, plus some two days before it.
    let texts = [
        (
            "0912000001",
            "Vay tien nhanh lai suat 0%, giai ngan trong 5 phut, LH 0987654321",
            "Viettel",
        ),
        (
            "0912000002",
            "Chuc mung ban trung thuong 50tr, nhan tai https://vtb-qua.xyz",
            "mobifone",
        ),
        ("0912000003", "Chieu nay 5h hop lop o nha Lan nhe", ""),
        (
            "FPTSHOP",
            "[QC] Giam 50% tai FPT Shop. Tu choi QC soan TC gui 9029",
            "viettel",
        ),
        (
            "LAMDEP",
            "[QC] Spa Lam Dep giam 30% tuan nay. Tu choi soan TC gui 9029",
            "vinaphone",
        ),
    ];
    let mut messages = Vec::new();
    let mut inside = Vec::new();
    for day in -2..9 {
        for (i, (sender, text, operator)) in texts.iter().enumerate() {
            // The ads of the third day arrive at 23:00, outside the permitted hours.
            let hour = if day == 2 && i >= 3 { 23 } else { 12 };
            let at = from + day * DAY + hour * 3600 + i as i64 * 60;
            let mut m = json!({"sender": sender, "recipient": "0987000001", "text": text, "received_at": at});
            if !operator.is_empty() {
                m["operator"] = json!(operator);
            }
            messages.push(m);
            inside.push(day >= 0);
        }
    }
    let half = messages.len() / 2;
    let mut verdicts = Vec::new();
    for (n, part) in [(&node, &messages[..half]), (other, &messages[half..])] {
        let v = post(n, "/v1/check/batch", &json!({ "messages": part }));
        verdicts.extend(v["verdicts"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(verdicts.len(), messages.len());
    let mut want = Expected::default();
    for ((m, v), inside) in messages.iter().zip(verdicts).zip(&inside) {
        if !inside {
            continue;
        }
        let (action, category) = (v["action"].as_str().unwrap(), v["category"].as_str().unwrap());
        want.checked += 1;
        *want.actions.entry(action.into()).or_default() += 1;
        *want.categories.entry(category.into()).or_default() += 1;
        let op = m["operator"].as_str().map_or("unknown".to_string(), str::to_lowercase);
        let e = want.operators.entry(op).or_default();
        e.0 += 1;
        e.1 += u64::from(action == "block");
        *want
            .days
            .entry(vn_date(m["received_at"].as_i64().unwrap()))
            .or_default() += 1;
        let ads = v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["signal"].as_str().unwrap())
            .filter(|s| s.starts_with("AD_") && *s != "AD_LABEL")
            .count() as u64;
        if ads > 0 {
            let who = if m["sender"] == "FPTSHOP" { "QC-0001" } else { "LAMDEP" };
            *want.ads.entry(who.into()).or_default() += ads;
        }
    }
    assert!(
        want.actions.get("block").copied().unwrap_or(0) > 0,
        "some messages are blocked"
    );
    assert!(want.ads.contains_key("QC-0001"), "the late ads break the hours rule");

    // Call records: a robocaller and ordinary callers, on the fourth day.
    let mut records = Vec::new();
    let start = from + 3 * DAY + 9 * 3600;
    for i in 0..120 {
        records.push(json!({"start_time": rfc3339(start + i * 20), "caller": "0933000001",
            "callee": format!("09870{:05}", 100 + i), "duration_s": 4, "answered": true,
            "origin": "domestic", "operator": "mobifone"}));
    }
    for i in 0..30 {
        records.push(
            json!({"start_time": rfc3339(start + i * 300), "caller": format!("09440000{:02}", i),
            "callee": "0987000002", "duration_s": 120, "answered": true, "origin": "domestic",
            "operator": "viettel"}),
        );
    }
    let calls = post(&node, "/v1/calls/batch", &json!({ "records": records }));
    assert_eq!(calls["accepted"], 150);
    let suspected = calls["suspects"].as_array().unwrap().len() as u64;
    assert!(suspected >= 1, "the robocaller is suspected: {calls}");

    // The hub's line: four reports, DNC requests (one of them changing nothing), a copy.
    for n in 1..=4 {
        post(
            &node,
            "/v1/mo",
            &json!({"from": format!("090300000{n}"), "to": "5656", "text": "S 0912000001 Vay tien nhanh"}),
        );
    }
    for (from_n, text) in [
        ("0903000011", "DK DNC"),
        ("0903000012", "DK DNC S"),
        ("0903000011", "DK DNC"),
        ("0903000012", "HUY DNC"),
    ] {
        post(&node, "/v1/mo", &json!({"from": from_n, "to": "5656", "text": text}));
    }
    post(
        &node,
        "/v1/ads/copies",
        &json!({"content": "[QC] Giam 50% tai FPT Shop. Tu choi QC soan TC gui 9029", "brandname": "FPTSHOP"}),
    );

    // The statistics over the same period (this flushes each node's counts to the store).
    get(other, &format!("/v1/stats?from={from}&to={}", today + DAY));
    let stats = get(
        &node,
        &format!("/v1/stats?from={from}&to={}&bucket=day&top=20", today + DAY),
    );
    let api = get(&node, &format!("/v1/report?from={from_date}&to={to_date}"));
    let out = report(&["--from", &from_date, "--to", &to_date, "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut cli: Value = serde_json::from_slice(&out.stdout).unwrap();

    // The CLI and the endpoint read the same store: the same report.
    let mut api_same = api.clone();
    api_same["generated_at"] = Value::Null;
    cli["generated_at"] = Value::Null;
    assert_eq!(cli, api_same);
    let r = &cli;

    // Messages: the known inputs, /v1/stats and the report agree.
    assert_eq!(stats["totals"]["messages"], want.checked);
    assert_eq!(r["messages"]["checked"], want.checked);
    assert_eq!(counts(&r["messages"]["by_action"]), want.actions);
    assert_eq!(counts(&stats["totals"]["actions"]), want.actions);
    assert_eq!(counts(&r["messages"]["by_category"]), want.categories);
    assert_eq!(counts(&stats["totals"]["categories"]), want.categories);
    assert_eq!(r["messages"]["blocked"], want.actions["block"]);
    let operators: BTreeMap<String, (u64, u64)> = r["by_operator"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap();
            (s["name"].as_str().unwrap().to_string(), (n("checked"), n("blocked")))
        })
        .collect();
    assert_eq!(operators, want.operators);
    let channels = r["by_channel"].as_array().unwrap();
    assert_eq!((channels.len(), &channels[0]["name"]), (1, &json!("sms")));
    assert_eq!(channels[0]["checked"], want.checked);
    let days: BTreeMap<String, u64> = r["trend"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["messages"].as_u64().unwrap() > 0)
        .map(|t| {
            (
                t["start"].as_str().unwrap().to_string(),
                t["messages"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(days, want.days);
    assert_eq!(
        r["trend"].as_array().unwrap().len(),
        10,
        "one row per day, empty days too"
    );
    let ranked = |v: &Value| -> Vec<(String, u64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| (x["value"].as_str().unwrap().to_string(), x["count"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(ranked(&r["top_senders"]), ranked(&stats["top_senders"]));
    assert_eq!(ranked(&r["top_domains"]), ranked(&stats["top_domains"]));
    assert!(ranked(&r["top_domains"]).contains(&("vtb-qua.xyz".to_string(), 9)));

    // Calls: every record of the batch, by operator; the suspects the batch named.
    assert_eq!(r["calls"]["checked"], 150);
    let call_ops: BTreeMap<String, u64> = r["calls"]["by_operator"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["checked"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        call_ops,
        BTreeMap::from([("mobifone".into(), 120), ("viettel".into(), 30)])
    );
    assert_eq!(r["calls"]["suspected"], suspected);
    assert_eq!(r["trend"][3]["calls"], 150);

    // The hub: four reports of one source, the DNC requests, the copy, the ad violations.
    assert_eq!(r["reports"]["received"], 4);
    assert_eq!(counts(&r["reports"]["by_status"]), BTreeMap::from([("open".into(), 4)]));
    assert_eq!(r["reports"]["top_sources"][0]["value"], "+84912000001");
    assert_eq!(r["reports"]["top_sources"][0]["reporters"], 4);
    assert_eq!(r["trend"][9]["reports"], 4, "reported today");
    assert_eq!(
        (
            &r["dnc"]["registrations"],
            &r["dnc"]["cancellations"],
            &r["dnc"]["unchanged"]
        ),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!(r["ads"]["copies"], 1);
    let ads: BTreeMap<String, u64> = r["ads"]["by_advertiser"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["advertiser"].as_str().unwrap().to_string(),
                a["violations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ads, want.ads);

    // The other formats carry the same figures; HTML has its charts.
    for (format, needle) in [
        ("md", format!("| Đã kiểm tra / Checked | {} |", want.checked)),
        ("csv", format!("messages,all,checked,{}\n", want.checked)),
        ("html", "<svg".to_string()),
    ] {
        let file = dir.join(format!("report.{format}"));
        let out = report(&[
            "--from",
            &from_date,
            "--to",
            &to_date,
            "--format",
            format,
            "--out",
            file.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&needle), "{format}: {needle:?} in {text}");
    }
    let html = raw_get(&node, &format!("/v1/report?from={from_date}&to={to_date}&format=html"));
    assert!(html.starts_with("HTTP/1.1 200"), "{html}");
    assert!(html.contains("content-type: text/html"), "{html}");
    assert!(html.contains("<svg") && !html.contains("<script"));

    // Bad input: clear errors, from the endpoint and from the command.
    for (query, code) in [
        (format!("from={to_date}&to={from_date}"), "invalid_period"),
        ("from=2026-13-01&to=2026-12-31".to_string(), "invalid_period"),
        ("quarter=2026Q5".to_string(), "invalid_period"),
        ("from=2026-07-01".to_string(), "invalid_period"),
        (String::new(), "invalid_period"),
        ("quarter=2026Q3&format=pdf".to_string(), "bad_request"),
        ("quarter=2026Q3&colour=red".to_string(), "bad_request"),
    ] {
        let (status, body) = http(node.addr, "GET", &format!("/v1/report?{query}"), None).unwrap();
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(code), "{query}: {body}");
    }
    for (args, want) in [
        (vec!["--from", "2026-09-30", "--to", "2026-07-01"], "runs backwards"),
        (vec!["--from", "2026-07-01", "--to", "30/09/2026"], "is not a date"),
        (vec!["--quarter", "2026Q3", "--format", "pdf"], "md, html, csv or json"),
        (vec!["--half", "2026H3"], "not a period"),
    ] {
        let out = report(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    if postgres.is_some() {
        return;
    }
    let out = common::bin()
        .args([
            "report",
            "--quarter",
            "2026Q3",
            "--data-dir",
            dir.join("nothing").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));
}
