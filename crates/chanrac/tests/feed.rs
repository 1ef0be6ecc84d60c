//! The shared lists' feed between two real `chanrac serve` processes: a hub and an
//! operator node with `[sync]`. The operator's firewall blocks what the hub lists, forgets
//! what the hub revokes, keeps pulling across a hub restart, and applies nothing from a
//! hub whose signature does not verify with the configured key.

mod common;

use std::io::Read;
use std::time::Duration;

use common::{Node, config_file, free_addr, http, temp, wait_until};

const SPAM: &str = "Xin chao";

#[test]
fn an_operator_node_follows_the_hub_feed() {
    let hub_dir = temp("feed-hub");
    let key_out = common::bin()
        .args(["feed-key", "--data-dir", hub_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(key_out.status.success());
    let public = String::from_utf8(key_out.stdout).unwrap().trim().to_string();
    assert_eq!(public.len(), 64);

    let hub_addr = free_addr();
    let hub_config = config_file(&hub_dir, "");
    let hub = Node::start_at(hub_addr, &[], &["--config", &hub_config]);
    let (status, body) = http(hub_addr, "GET", "/v1/feed/key", None).unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(&public),
        "the server signs with the key the CLI printed: {body}"
    );
    for bad in ["/v1/feed?since=abc", "/v1/feed?since=-1", "/v1/feed?since=99999"] {
        let (status, body) = http(hub_addr, "GET", bad, None).unwrap();
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("invalid_cursor"), "{body}");
    }
    let add = |value: &str| {
        let body = format!(r#"{{"value":"{value}","reason":"hub analyst: 9 reports"}}"#);
        let (status, b) = http(hub_addr, "POST", "/v1/lists/block/senders", Some(&body)).unwrap();
        assert_eq!(status, 201, "{b}");
    };
    add("0911111111");

    let op_dir = temp("feed-op");
    let sync =
        format!("[sync]\nhub = \"http://{hub_addr}\"\nkey = \"dev\"\nhub_public_key = \"{public}\"\nwait_secs = 2\n");
    let op_config = config_file(&op_dir, &sync);
    let op = Node::start(&[], &["--config", &op_config]);
    let blocked = |node: &Node, sender: &str| node.check(sender, SPAM).contains("SENDER_BLOCKLISTED");
    wait_until("the first entry reaches the operator", || blocked(&op, "0911111111"));
    assert!(!blocked(&op, "0922222222"));

    // The hub restarts; the operator keeps pulling and catches up.
    drop(hub);
    std::thread::sleep(Duration::from_secs(1));
    let hub = Node::start_at(hub_addr, &[], &["--config", &hub_config]);
    add("0922222222");
    let (status, b) = http(
        hub_addr,
        "DELETE",
        "/v1/lists/block/senders/0911111111?reason=false%20positive",
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{b}");
    wait_until("the operator follows the hub after its restart", || {
        blocked(&op, "0922222222") && !blocked(&op, "0911111111")
    });
    // Applied once each, in order: the operator's own log has add, add, remove... exactly.
    let (_, audit) = http(op.addr, "GET", "/v1/audit", None).unwrap();
    let actions: Vec<&str> = audit
        .match_indices("\"action\":\"list.")
        .map(|(i, _)| &audit[i + 10..i + 21])
        .collect();
    assert_eq!(actions, ["list.add\",\"", "list.add\",\"", "list.remove"], "{audit}");

    // `chanrac sync --once` into another node's data directory: everything once, then nothing.
    let cli_dir = temp("feed-cli");
    let sync_once = |key: &str| {
        common::bin()
            .args(["sync", "--once", "--hub", &format!("http://{hub_addr}"), "--key", "dev"])
            .args(["--hub-public-key", key, "--data-dir", cli_dir.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let out = sync_once(&public);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "applied 3 changes; cursor 3"
    );
    let out = sync_once(&public);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "applied 0 changes; cursor 3"
    );
    let out = sync_once(&"ab".repeat(32));
    assert!(
        !out.status.success(),
        "a key that is no ed25519 point or does not verify fails"
    );

    // An operator configured with another key: every page fails its check, nothing applied.
    let bad_dir = temp("feed-bad");
    let wrong = common::bin()
        .args(["feed-key", "--data-dir", bad_dir.join("k").to_str().unwrap()])
        .output()
        .unwrap();
    let wrong = String::from_utf8(wrong.stdout).unwrap().trim().to_string();
    assert_ne!(wrong, public);
    let sync =
        format!("[sync]\nhub = \"http://{hub_addr}\"\nkey = \"dev\"\nhub_public_key = \"{wrong}\"\nwait_secs = 1\n");
    let bad_config = config_file(&bad_dir, &sync);
    let mut bad = Node::start(&[], &["--config", &bad_config]);
    wait_until("the bad signature is counted", || {
        http(bad.addr, "GET", "/metrics", None).is_ok_and(|(_, m)| m.contains("chanrac_sync_bad_signatures_total 2"))
    });
    assert!(
        !blocked(&bad, "0922222222"),
        "a page that does not verify is not applied"
    );
    let _ = bad.child.kill();
    let mut err = String::new();
    bad.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains("ALARM"), "the alarm is in the log: {err}");
    drop(hub);
}

/// Made-up brand texts the engine lets through (the same as the server's router test).
const ZORBIX: [&str; 12] = [
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

/// Issue 8's loop between two processes: reports confirmed at the hub are mined, an analyst
/// approves a keyword, and the operator's running firewall fires on it through the feed —
/// then forgets it when the hub revokes it — without a restart.
#[test]
fn an_approved_keyword_reaches_the_operator_firewall_through_the_feed() {
    let hub_dir = temp("kw-hub");
    let key_out = common::bin()
        .args(["feed-key", "--data-dir", hub_dir.to_str().unwrap()])
        .output()
        .unwrap();
    let public = String::from_utf8(key_out.stdout).unwrap().trim().to_string();
    let ham = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/uci_sms_spam_collection_en.tsv");
    let hub_config = config_file(&hub_dir, &format!("[keywords]\nham = [{ham:?}]\n"));
    let hub = Node::start(&[], &["--config", &hub_config]);
    let post = |path: &str, body: &str| {
        let (status, b) = http(hub.addr, "POST", path, Some(body)).unwrap();
        assert!((200..300).contains(&status), "{path}: {status} {b}");
        serde_json::from_str::<serde_json::Value>(&b).unwrap()
    };
    for i in 0..20 {
        let text = format!("{}{}", ZORBIX[i % ZORBIX.len()], if i < 12 { "" } else { " nhe" });
        let body = serde_json::json!({"reporter": format!("09000000{i:02}"), "kind": "spam",
                                      "source": "0912000111", "content": text});
        post("/v1/reports", &body.to_string());
    }
    post(
        "/v1/watchlist/0912000111/confirm",
        r#"{"reason":"zorbix spam, 20 reporters"}"#,
    );
    let mined = post("/v1/keywords/mine", "{}");
    assert!(mined["merged"]["added"].as_u64().unwrap() >= 1, "{mined}");
    let (_, q) = http(hub.addr, "GET", "/v1/keywords/proposals?status=proposed", None).unwrap();
    let q: serde_json::Value = serde_json::from_str(&q).unwrap();
    let id = q["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phrase"] == "zorbix")
        .unwrap_or_else(|| panic!("zorbix is proposed: {q}"))["id"]
        .as_i64()
        .unwrap();

    let op_dir = temp("kw-op");
    let sync = format!(
        "[sync]\nhub = \"http://{}\"\nkey = \"dev\"\nhub_public_key = \"{public}\"\nwait_secs = 2\n",
        hub.addr
    );
    let op_config = config_file(&op_dir, &sync);
    let op = Node::start(&[], &["--config", &op_config]);
    let probe = "Moi ban tai zorbix ve may";
    let fires = |node: &Node| node.check("0987000001", probe).contains("HUB_KW_ZORBIX");
    assert!(!fires(&op) && !fires(&hub));

    // The analyst's command line: the queue, then the approval.
    let hub_cli = |args: &[&str]| {
        let out = common::bin()
            .args(["hub", "--server", &format!("http://{}", hub.addr), "keywords"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = hub_cli(&["list"]);
    assert!(
        listed.lines().any(|l| l.starts_with(&format!("{id}\tzorbix\tspam\t"))),
        "{listed}"
    );
    let approved = hub_cli(&["approve", &id.to_string(), "--reason", "made-up brand in 20 reports"]);
    assert_eq!(
        approved.trim(),
        "zorbix is approved; rule pack v1 is in effect and in the feed"
    );
    assert!(fires(&hub), "in effect at the hub at once");
    wait_until("the approved keyword fires at the operator", || fires(&op));
    let (_, pack) = http(op.addr, "GET", "/v1/keywords/pack", None).unwrap();
    assert!(pack.contains("\"in_effect\":1"), "{pack}");

    post(
        &format!("/v1/keywords/proposals/{id}/reject"),
        r#"{"reason":"the brand is real"}"#,
    );
    wait_until("the revoked keyword leaves the operator", || !fires(&op));
    let (_, pack) = http(op.addr, "GET", "/v1/keywords/pack", None).unwrap();
    assert!(pack.contains("\"in_effect\":2"), "{pack}");
    // The operator's process was never restarted: its audit log shows both installs.
    let (_, audit) = http(op.addr, "GET", "/v1/audit", None).unwrap();
    assert_eq!(audit.matches("rules.install").count(), 2, "{audit}");
    drop(op);
    drop(hub);
}
