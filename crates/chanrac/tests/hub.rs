//! The hub as a real `chanrac serve` process: reports streamed to the short-code line while
//! the server is killed with SIGKILL; after a restart every acknowledged report is there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;
use common::{Node, http, temp};

#[test]
fn every_acknowledged_report_survives_a_sigkill() {
    let dir = temp("hub-kill");
    let env = [("CHANRAC_SERVER__DATA_DIR", dir.display().to_string())];
    let node = Node::start(&env, &[]);
    let addr = node.addr;
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let text = format!("S 0912345678 tin rac {w}-{i}");
                    let body = format!(r#"{{"from":"09000000{w:02}","to":"5656","text":"{text}"}}"#);
                    match http(addr, "POST", "/v1/mo", Some(&body)) {
                        Ok((200, v)) => {
                            let v: serde_json::Value = serde_json::from_str(&v).unwrap();
                            let reference = v["ref"].as_str().unwrap().to_string();
                            acked.lock().unwrap().push((reference, text));
                        }
                        // The server is gone: what was not answered was not promised.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let the stream run, then kill the server in the middle of it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 200 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    node.signal("-KILL");
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    drop(node);
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200, "only {} reports were acknowledged", acked.len());

    let node = Node::start(&env, &[]);
    let mut stored = std::collections::HashMap::new();
    let mut before = i64::MAX;
    loop {
        let (status, v) = http(
            node.addr,
            "GET",
            &format!("/v1/reports?limit=1000&before={before}"),
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{v}");
        let v: serde_json::Value = serde_json::from_str(&v).unwrap();
        let page = v["reports"].as_array().unwrap();
        if page.is_empty() {
            break;
        }
        for r in page {
            let id = r["id"].as_i64().unwrap();
            stored.insert(format!("PA{id}"), r["raw"].as_str().unwrap().to_string());
            before = before.min(id);
        }
    }
    for (reference, text) in &acked {
        assert_eq!(
            stored.get(reference),
            Some(text),
            "acknowledged report {reference} was lost"
        );
    }
    // Reports in flight at the kill may be stored without an answer, never the reverse.
    assert!(stored.len() >= acked.len());
    eprintln!("{} acknowledged, {} stored after SIGKILL", acked.len(), stored.len());
}
