//! `chanrac gen traffic` and `chanrac scan --stateful`, run as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args(args)
        .output()
        .expect("run chanrac");
    assert!(
        o.status.success(),
        "chanrac {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chanrac-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Generated traffic, once per test binary.
fn traffic(name: &str, messages: usize, seed: u64) -> PathBuf {
    let path = scratch_dir().join(name);
    if !path.exists() {
        let (n, s) = (messages.to_string(), seed.to_string());
        run(&[
            "gen",
            "traffic",
            "--messages",
            &n,
            "--seed",
            &s,
            "--out",
            path.to_str().unwrap(),
        ]);
    }
    path
}

fn lines(path: &PathBuf) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn summary(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

fn event<'a>(s: &'a Value, kind: &str) -> &'a Value {
    s["state"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {s}"))
}

fn ratio(e: &Value, a: &str, b: &str) -> f64 {
    e[a].as_f64().unwrap() / e[b].as_f64().unwrap().max(1.0)
}

#[test]
fn generated_traffic_is_deterministic_ordered_and_labeled() {
    let a = traffic("a.jsonl", 4000, 5);
    let b = scratch_dir().join("b.jsonl");
    run(&[
        "gen",
        "traffic",
        "--messages",
        "4000",
        "--seed",
        "5",
        "--out",
        b.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let msgs = lines(&a);
    assert_eq!(msgs.len(), 4000);
    let times: Vec<&str> = msgs.iter().map(|m| m["received_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    for kind in ["sim_farm", "repeat", "burst", "flood", "unrelated", "new_sim"] {
        assert!(
            msgs.iter().any(|m| m["event"].as_str().unwrap().starts_with(kind)),
            "{kind}"
        );
    }
    assert!(msgs.iter().all(|m| m["label"].is_string() && m["text"].is_string()));
}

#[test]
fn a_stateful_replay_flags_the_injected_events() {
    let t = traffic("quality.jsonl", 30_000, 9);
    let o = run(&["scan", "--json", "--stateful", t.to_str().unwrap()]);
    let s = summary(&o);
    for kind in ["sim_farm", "repeat", "burst", "flood", "unrelated", "new_sim"] {
        let e = event(&s, kind);
        let caught = ratio(e, "over_signal", "over_threshold");
        assert!(
            caught >= 0.95,
            "{kind}: {caught} of the messages past the threshold flagged: {e}"
        );
    }
    let bg = event(&s, "background");
    assert!(ratio(bg, "velocity", "messages") <= 0.001, "{bg}");
    assert_eq!(s["state"]["failed_batches"], 0);
    // The human summary says the same.
    let o = run(&["scan", "--stateful", t.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("counters (embedded)") && out.contains("CAMPAIGN_BULK"),
        "{out}"
    );
}

#[test]
fn a_snapshot_lets_a_replay_continue_where_it_stopped() {
    let t = traffic("snapshot.jsonl", 6000, 3);
    let text = std::fs::read_to_string(&t).unwrap();
    let all: Vec<&str> = text.lines().collect();
    let dir = scratch_dir();
    let (first, second) = (dir.join("first.jsonl"), dir.join("second.jsonl"));
    std::fs::write(&first, all[..3000].join("\n")).unwrap();
    std::fs::write(&second, all[3000..].join("\n")).unwrap();
    let (full, part) = (dir.join("full.out"), dir.join("part.out"));
    let snap = dir.join("counters.snap");
    let _ = std::fs::remove_file(&snap);
    run(&[
        "scan",
        "--stateful",
        "--out",
        full.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    let s = snap.to_str().unwrap();
    run(&["scan", "--stateful", "--snapshot", s, first.to_str().unwrap()]);
    assert!(snap.exists());
    run(&[
        "scan",
        "--stateful",
        "--snapshot",
        s,
        "--out",
        part.to_str().unwrap(),
        second.to_str().unwrap(),
    ]);
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("line");
        v
    };
    let full: Vec<Value> = lines(&full)[3000..].iter().map(strip).collect();
    let part: Vec<Value> = lines(&part).iter().map(strip).collect();
    assert_eq!(full, part);
}

#[test]
fn the_replay_clock_handles_late_future_and_missing_times() {
    let path = scratch_dir().join("clock.jsonl");
    let rows = [
        r#"{"text":"a b c d e f g","sender":"0912345678","recipient":"0987000001","received_at":"2026-11-22T10:00:00+07:00"}"#,
        r#"{"text":"a b c d e f g","sender":"0912345678","recipient":"0987000002","received_at":"2026-11-22T09:59:00+07:00"}"#,
        r#"{"text":"a b c d e f g","sender":"0912345678","recipient":"0987000003","received_at":"2099-01-01T00:00:00+07:00"}"#,
        r#"{"text":"a b c d e f g","sender":"0912345678","recipient":"0987000004"}"#,
        r#"{"text":"a b c d e f g","sender":"0912345678","recipient":"0987000005","received_at":1795316460}"#,
    ];
    std::fs::write(&path, rows.join("\n")).unwrap();
    let s = summary(&run(&["scan", "--json", "--stateful", path.to_str().unwrap()]));
    let clock = &s["state"]["clock"];
    assert_eq!(
        (
            clock["late"].as_u64(),
            clock["clamped"].as_u64(),
            clock["untimed"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
}

#[test]
fn a_dead_redis_fails_open_and_says_so() {
    let t = traffic("dead.jsonl", 2000, 4);
    let scan_dead = |extra: &[&str]| {
        let mut args = vec!["scan", "--json", "--stateful", "--redis", "redis://127.0.0.1:1"];
        args.extend(["--redis-timeout-ms", "200"]);
        args.extend(extra);
        args.push(t.to_str().unwrap());
        run(&args)
    };
    let out = scratch_dir().join("dead.out");
    let o = scan_dead(&["--out", out.to_str().unwrap()]);
    let s = summary(&o);
    assert!(s["state"]["failed_batches"].as_u64().unwrap() > 0, "{s}");
    assert!(s["state"]["first_error"].as_str().unwrap().contains("redis"), "{s}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning"));
    let verdicts = lines(&out);
    assert!(verdicts.iter().all(|v| {
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["signal"] == "DETECTOR_FAILED")
    }));
    // Fail closed when the policy says so.
    let policy = scratch_dir().join("closed.toml");
    std::fs::write(&policy, "[velocity]\non_state_failure = \"block\"\n").unwrap();
    let o = scan_dead(&["--policy", policy.to_str().unwrap()]);
    assert_eq!(summary(&o)["actions"]["block"], 2000);
}

#[test]
fn redis_and_embedded_replays_agree() {
    let url = std::env::var("CHANRAC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let addr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379");
    if std::net::TcpStream::connect(addr).is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and no Redis at {url}"
        );
        eprintln!("skipping: no Redis at {url}");
        return;
    }
    let t = traffic("agree.jsonl", 5000, 6);
    let dir = scratch_dir();
    let (a, b) = (dir.join("embedded.out"), dir.join("redis.out"));
    run(&["scan", "--stateful", "--out", a.to_str().unwrap(), t.to_str().unwrap()]);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let prefix = format!("chanrac-test-replay:{}:{nanos}:", std::process::id());
    run(&[
        "scan",
        "--stateful",
        "--redis",
        &url,
        "--redis-prefix",
        &prefix,
        "--out",
        b.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    assert_eq!(lines(&a), lines(&b));
}

/// `--subscribers`: the activation date of a sender's SIM from a subscriber file, when the
/// messages carry none, is what `NEW_SIM_BURST` needs.
#[test]
fn a_subscriber_file_gives_new_sims_their_activation_date() {
    let dir = scratch_dir();
    let input = dir.join("new-sim.jsonl");
    let mut lines = String::new();
    for i in 0..8 {
        lines.push_str(&format!(
            "{{\"text\":\"Chao ban, minh moi doi so nhe {i}\",\"sender\":\"0912345678\",\"recipient\":\"09870000{i:02}\",\"received_at\":\"2026-11-22T10:{i:02}:00+07:00\"}}\n"
        ));
    }
    std::fs::write(&input, lines).unwrap();
    let subscribers = dir.join("subscribers.csv");
    std::fs::write(
        &subscribers,
        "number,activated_at\n+84912345678,2026-11-21T09:00:00+07:00\n0900000001,1700000000\n",
    )
    .unwrap();
    let signals = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "scan",
            input.to_str().unwrap(),
            "--stateful",
            "--no-model",
            "--out",
            "-",
        ];
        args.extend(extra);
        let o = run(&args);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with('{') && l.contains("\"line\""))
            .flat_map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["signal"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert!(!signals(&[]).iter().any(|s| s == "NEW_SIM_BURST"));
    let with = signals(&["--subscribers", subscribers.to_str().unwrap()]);
    assert!(with.iter().any(|s| s == "NEW_SIM_BURST"), "{with:?}");

    // A bad line is refused with the file and line.
    std::fs::write(&subscribers, "+84912345678,2026-11-21T09:00:00+07:00\nhello,world\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_chanrac"))
        .args([
            "scan",
            input.to_str().unwrap(),
            "--stateful",
            "--subscribers",
            subscribers.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("subscribers.csv:2") && err.contains("not a phone number"),
        "{err}"
    );
}
