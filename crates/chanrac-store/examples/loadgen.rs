//! Load generator for the counters: messages per second through a backend, with the keys
//! the velocity detector plans for generated traffic.
//!
//! ```text
//! cargo run --release -p chanrac-store --features redis --example loadgen -- \
//!     --backend redis --messages 200000 --batch 256 --inflight 4 [--script]
//! ```
//!
//! `--script` makes every batch go through the server-side Lua script instead of the
//! optimistic transactions.
//!
//! The traffic is generated and planned first (not timed); then batches of `--batch`
//! messages are applied, `--inflight` calls at a time (pipelined on one connection for
//! Redis), and the rate is measured over the whole run. With `--backend redis` the key prefix
//! is unique to the run and the keys are deleted at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chanrac_core::state::StateKey;
use chanrac_core::{Engine, Policy, Scratch};
use chanrac_store::{Counters, EmbeddedCounters, Request};
use chanrac_traffic::{Corpus, Generator, TrafficConfig};

struct Args {
    backend: String,
    url: String,
    messages: usize,
    batch: usize,
    inflight: usize,
    seed: u64,
    script: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        backend: "redis".into(),
        url: std::env::var("CHANRAC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        messages: 200_000,
        batch: 256,
        inflight: 4,
        seed: 1,
        script: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--backend" => a.backend = value()?,
            "--url" => a.url = value()?,
            "--messages" => a.messages = num(value()?)?,
            "--batch" => a.batch = num(value()?)?.max(1),
            "--inflight" => a.inflight = num(value()?)?.max(1),
            "--seed" => a.seed = num(value()?)? as u64,
            "--script" => a.script = true,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let corpus = Corpus::load_dir(&dir).expect("the data files");
    let cfg = TrafficConfig {
        messages: a.messages,
        seed: a.seed,
        ..TrafficConfig::default()
    };
    let engine = Engine::builder().velocity().build().expect("engine");
    let mut scratch = Scratch::default();
    let plans: Vec<(i64, Vec<StateKey>)> = Generator::new(&cfg, &corpus, &Policy::default())
        .map(|m| (m.at, engine.state_plan(&m.message(), &mut scratch).keys))
        .collect();
    let ops: usize = plans.iter().map(|p| p.1.len()).sum();
    println!(
        "{} messages, {ops} operations ({:.1} per message); batch {}, {} in flight",
        plans.len(),
        ops as f64 / plans.len() as f64,
        a.batch,
        a.inflight
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let prefix = format!("chanrac-load:{}:", std::process::id());
    let store: Arc<dyn Counters> = match a.backend.as_str() {
        "embedded" => Arc::new(EmbeddedCounters::default()),
        #[cfg(feature = "redis")]
        "redis" => Arc::new(
            chanrac_store::RedisCounters::new(chanrac_store::RedisConfig {
                url: a.url.clone(),
                prefix: prefix.clone(),
                timeout_ms: 10_000,
                connections: a.inflight,
                atomicity: if a.script {
                    chanrac_store::Atomicity::Script
                } else {
                    chanrac_store::Atomicity::Optimistic
                },
                ..Default::default()
            })
            .expect("redis url"),
        ),
        other => {
            eprintln!("loadgen: unknown backend {other} (embedded, redis with --features redis)");
            std::process::exit(2);
        }
    };
    let plans = Arc::new(plans);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..a.inflight {
            let (store, plans, next) = (store.clone(), plans.clone(), next.clone());
            let batch = a.batch;
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let start = next.fetch_add(batch, Ordering::Relaxed);
                    if start >= plans.len() {
                        return;
                    }
                    let end = (start + batch).min(plans.len());
                    let reqs: Vec<Request<'_>> = plans[start..end]
                        .iter()
                        .map(|(now, ops)| Request { now: *now, ops })
                        .collect();
                    store.apply(&reqs, &mut out).await.expect("apply");
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let st = store.stats();
    println!(
        "{}: {:.0} messages/s, {:.0} operations/s ({:.2} s); {} calls, {} conflicts, {} scripted, {} failed",
        store.name(),
        plans.len() as f64 / secs,
        ops as f64 / secs,
        secs,
        st.calls,
        st.conflicts,
        st.scripted,
        st.failures
    );
    println!(
        "client CPU: {:.2} µs per message ({:.2} s over {:.2} s)",
        cpu * 1e6 / plans.len() as f64,
        cpu,
        secs
    );
    #[cfg(feature = "redis")]
    if a.backend == "redis" {
        rt.block_on(cleanup(&a.url, &prefix));
    }
}

/// CPU time (user + system) of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Reports the memory Redis uses and deletes the run's keys.
#[cfg(feature = "redis")]
async fn cleanup(url: &str, prefix: &str) {
    let client = redis::Client::open(url).expect("url");
    let mut con = client.get_multiplexed_async_connection().await.expect("connect");
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut con)
        .await
        .expect("info");
    let used = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap_or("?")
        .trim()
        .to_string();
    let mut cursor = 0u64;
    let mut keys = 0usize;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut con)
            .await
            .expect("scan");
        keys += batch.len();
        if !batch.is_empty() {
            let _: () = redis::cmd("UNLINK")
                .arg(&batch)
                .query_async(&mut con)
                .await
                .expect("unlink");
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    println!("redis: used_memory {used} bytes with the run's {keys} keys (now deleted)");
}
