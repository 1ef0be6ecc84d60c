//! Operators' findings pushed to the hub, between two real `chanrac serve` processes: what
//! the operator's analyst or call detector blocks reaches the hub's report queue once, even
//! across a restart of either side; what came from the hub is not sent back.

mod common;

use std::time::Duration;

use common::{Node, config_file, feed_key, free_addr, http, temp, wait_until};

/// The hub's reports about a source, as JSON.
fn reports(hub: std::net::SocketAddr, source: &str) -> Vec<serde_json::Value> {
    let (status, body) = http(hub, "GET", &format!("/v1/reports?source={source}"), None).unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["reports"].as_array().unwrap().clone()
}

fn block(node: std::net::SocketAddr, value: &str, reason: &str) {
    let body = format!(r#"{{"value":"{value}","reason":"{reason}"}}"#);
    let (status, b) = http(node, "POST", "/v1/lists/block/senders", Some(&body)).unwrap();
    assert_eq!(status, 201, "{b}");
}

#[test]
fn an_operator_pushes_its_findings_to_the_hub() {
    let hub_dir = temp("push-hub");
    let public = feed_key(&hub_dir);
    let hub_addr = free_addr();
    let hub_config = config_file(&hub_dir, "");
    let hub = Node::start_at(hub_addr, &[], &["--config", &hub_config]);
    // Listed at the hub before the operator starts: it comes down the feed, never back up.
    block(hub_addr, "0944444444", "hub analyst: 12 reports");

    let op_dir = temp("push-op");
    let op_config = config_file(
        &op_dir,
        &format!(
            "[calls]\nblock_suspects = true\n[sync]\nhub = \"http://{hub_addr}\"\nkey = \"dev\"\n\
             hub_public_key = \"{public}\"\nwait_secs = 1\npush_findings = true\n"
        ),
    );
    let op = Node::start(&[], &["--config", &op_config]);
    wait_until("the hub's entry reaches the operator", || {
        op.check("0944444444", "Xin chao").contains("SENDER_BLOCKLISTED")
    });

    // The operator's analyst blocks a SIM farm: the hub gets it as a finding.
    block(op.addr, "0933333333", "SIM farm: 400 messages a minute");
    wait_until("the analyst's block reaches the hub", || {
        !reports(hub_addr, "0933333333").is_empty()
    });
    let r = &reports(hub_addr, "0933333333")[0];
    assert_eq!(r["kind"], "spam", "{r}");
    assert!(
        r["content"]
            .as_str()
            .unwrap()
            .contains("SIM farm: 400 messages a minute"),
        "{r}"
    );
    assert_eq!(
        (r["via"].as_str(), r["reporter"].as_str()),
        (Some("operator"), Some("operator:dev")),
        "{r}"
    );

    // The call detector blocks a robocaller: the hub gets it as a call finding.
    let records: Vec<String> = (0..40)
        .map(|i| {
            format!(
                r#"{{"start_time":"2026-11-22T09:{:02}:{:02}+07:00","caller":"0912000003","callee":"09870000{i:02}","duration_s":3,"answered":true,"origin":"domestic","operator":"viettel"}}"#,
                i * 8 / 60,
                i * 8 % 60
            )
        })
        .collect();
    let body = format!(r#"{{"records":[{}]}}"#, records.join(","));
    let (status, b) = http(op.addr, "POST", "/v1/calls/batch", Some(&body)).unwrap();
    assert_eq!(status, 200, "{b}");
    assert!(b.contains("\"blocked\":[\"+84912000003\"]"), "{b}");
    wait_until("the call suspect reaches the hub", || {
        !reports(hub_addr, "0912000003").is_empty()
    });
    assert_eq!(reports(hub_addr, "0912000003")[0]["kind"], "call");

    // Restarts on both sides: nothing is sent twice, and what is blocked while the hub is
    // down arrives when it is back.
    let metric = |node: &Node, name: &str| -> Option<u64> {
        let (_, m) = http(node.addr, "GET", "/metrics", None).ok()?;
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} "))?.trim().parse().ok())
    };
    // The cursor moves right after the hub's answer: wait for it before killing the node.
    wait_until("the operator counts both findings sent", || {
        metric(&op, "chanrac_findings_pushed_total") == Some(2)
    });
    drop(op);
    let op = Node::start(&[], &["--config", &op_config]);
    drop(hub);
    block(op.addr, "0955555555", "sent while the hub was down");
    wait_until("the operator counts the failed push", || {
        metric(&op, "chanrac_findings_push_errors_total").is_some_and(|n| n >= 1)
    });
    let hub = Node::start_at(hub_addr, &[], &["--config", &hub_config]);
    wait_until("the finding made during the outage arrives", || {
        !reports(hub_addr, "0955555555").is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(reports(hub_addr, "0933333333").len(), 1);
    assert_eq!(reports(hub_addr, "0912000003").len(), 1);
    assert_eq!(reports(hub_addr, "0955555555").len(), 1);
    assert!(
        reports(hub_addr, "0944444444").is_empty(),
        "the hub's own entry came back"
    );
    drop(hub);
}
