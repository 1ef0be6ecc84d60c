//! List entries that expire, between two real `chanrac serve` processes: the hub's expiry
//! sweeper revokes an entry once its `expires_at` has passed, the revocation goes out in the
//! feed (audited as `expiry`), the hub's firewall stops blocking, and so does the operator
//! node that follows the feed (whose own sweeper is too slow to be the one acting).

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Node, config_file, free_addr, http, temp, wait_until};

/// `POST /v1/lists/import` with a CSV body.
fn import(node: &Node, csv: &str) -> String {
    let mut s = std::net::TcpStream::connect(node.addr).unwrap();
    write!(
        s,
        "POST /v1/lists/import?source=antiscam&reason=weekly%20list HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{csv}",
        csv.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn expired_entries_are_revoked_through_the_feed() {
    let hub_dir = temp("expiry-hub");
    let public = common::feed_key(&hub_dir);
    let hub_addr = free_addr();
    let hub = Node::start_at(
        hub_addr,
        &[],
        &["--config", &config_file(&hub_dir, "expiry_sweep_secs = 1\n")],
    );

    let soon = time::OffsetDateTime::now_utc() + Duration::from_secs(5);
    let soon = soon.format(&time::format_description::well_known::Rfc3339).unwrap();
    let answer = import(
        &hub,
        &format!(
            "side,kind,value,confidence,evidence,expires_at\nblock,senders,0911111111,90,campaign 7,{soon}\nblock,senders,0922222222,90,campaign 7,\n"
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let op_dir = temp("expiry-op");
    let sync = format!(
        "expiry_sweep_secs = 3600\n[sync]\nhub = \"http://{hub_addr}\"\nkey = \"dev\"\nhub_public_key = \"{public}\"\nwait_secs = 1\n"
    );
    let op = Node::start(&[], &["--config", &config_file(&op_dir, &sync)]);
    let blocked = |node: &Node, sender: &str| node.check(sender, "Xin chao").contains("SENDER_BLOCKLISTED");
    wait_until("the operator has both entries", || {
        blocked(&op, "0911111111") && blocked(&op, "0922222222")
    });
    assert!(blocked(&hub, "0911111111"), "in effect until it expires");

    wait_until("the hub's firewall stops using the expired entry", || {
        !blocked(&hub, "0911111111")
    });
    assert!(blocked(&hub, "0922222222"), "an entry without expiry stays");
    let (status, feed) = http(hub_addr, "GET", "/v1/feed?since=0", None).unwrap();
    assert_eq!(status, 200);
    let feed: serde_json::Value = serde_json::from_str(&feed).unwrap();
    let page: serde_json::Value = serde_json::from_str(feed["payload"].as_str().unwrap()).unwrap();
    let changes = page["changes"].as_array().unwrap();
    let ops: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["op"].as_str().unwrap(),
                c["entry"]["value"].as_str().unwrap(),
                c["entry"]["added_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("add", "+84911111111", "dev"),
            ("add", "+84922222222", "dev"),
            ("remove", "+84911111111", "expiry")
        ],
        "one revocation, by the sweeper, in the feed"
    );
    assert!(
        changes[2]["entry"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("expired at ")
    );

    wait_until("the operator drops the revoked entry", || !blocked(&op, "0911111111"));
    assert!(blocked(&op, "0922222222"));
    let (_, audit) = http(op.addr, "GET", "/v1/audit", None).unwrap();
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    let removals: Vec<(&str, &str)> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "list.remove")
        .map(|r| (r["actor"].as_str().unwrap(), r["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        removals,
        [("sync:hub", "block/senders/+84911111111")],
        "the feed's revocation"
    );
    let (_, m) = http(hub_addr, "GET", "/metrics", None).unwrap();
    assert!(m.contains("chanrac_list_entries_expired_total 1"), "{m}");
    let (_, m) = http(op.addr, "GET", "/metrics", None).unwrap();
    assert!(
        !m.contains("chanrac_list_entries_expired_total"),
        "the operator's own sweeper did not act"
    );
    drop(op);
    drop(hub);
}
