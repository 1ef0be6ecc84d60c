//! Every backend passes the same conformance suite (`chanrac_store::conformance`).
//!
//! The Redis run uses `CHANRAC_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) with a
//! key prefix unique to this run. Without a server it is skipped with a message, except in
//! CI (`CI=true`), where a missing server is a failure.

use std::sync::Arc;

use chanrac_store::conformance::{self, block_on};
use chanrac_store::{Counters, EmbeddedConfig, EmbeddedCounters};

#[test]
fn embedded_passes_the_conformance_suite() {
    block_on(conformance::run_all(|_| {
        Arc::new(EmbeddedCounters::default()) as Arc<dyn Counters>
    }));
}

#[test]
fn embedded_with_one_tiny_shard_passes_too() {
    let config = EmbeddedConfig {
        max_keys: 64,
        shards: 1,
        snapshot: None,
    };
    block_on(conformance::run_all(|_| {
        Arc::new(EmbeddedCounters::new(config.clone())) as Arc<dyn Counters>
    }));
}

#[cfg(feature = "redis")]
mod redis_backend {
    use super::*;
    use chanrac_store::{Atomicity, RedisConfig, RedisCounters};

    fn url() -> String {
        std::env::var("CHANRAC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    fn in_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
    }

    /// A unique key prefix for this run, so that runs never see each other's keys.
    fn run_prefix() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("chanrac-test:{}:{nanos}:", std::process::id())
    }

    fn config(prefix: String, atomicity: Atomicity) -> RedisConfig {
        RedisConfig {
            url: url(),
            prefix,
            // Generous: the suite also runs on loaded CI machines.
            timeout_ms: 5000,
            retry_ms: 100,
            atomicity,
            ..RedisConfig::default()
        }
    }

    /// The runtime, or `None` (skip) when no server answers outside CI.
    fn server() -> Option<tokio::runtime::Runtime> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let probe = rt.block_on(async {
            let c = RedisCounters::new(config(run_prefix(), Atomicity::Optimistic))?;
            c.connect().await
        });
        match probe {
            Ok(()) => Some(rt),
            Err(e) if in_ci() => panic!("CI=true and no Redis at {}: {e}", url()),
            Err(e) => {
                eprintln!("skipping the Redis conformance run: no server at {} ({e})", url());
                None
            }
        }
    }

    fn suite(atomicity: Atomicity) {
        let Some(rt) = server() else { return };
        let prefix = run_prefix();
        rt.block_on(conformance::run_all(|case| {
            Arc::new(RedisCounters::new(config(format!("{prefix}{case}:"), atomicity)).unwrap()) as Arc<dyn Counters>
        }));
    }

    #[test]
    fn redis_optimistic_transactions_pass_the_conformance_suite() {
        suite(Atomicity::Optimistic);
    }

    #[test]
    fn redis_script_passes_the_conformance_suite() {
        suite(Atomicity::Script);
    }

    /// Two nodes (two stores) hammering one hot key: their optimistic transactions
    /// conflict, retry and fall back to the script, and no update is lost.
    #[test]
    fn redis_conflicts_fall_back_without_losing_updates() {
        let Some(rt) = server() else { return };
        let prefix = run_prefix();
        let node = || {
            Arc::new(
                RedisCounters::new(RedisConfig {
                    optimistic_retries: 0,
                    ..config(prefix.clone(), Atomicity::Optimistic)
                })
                .unwrap(),
            )
        };
        let nodes = [node(), node()];
        let ops = [chanrac_core::state::StateKey {
            key: "hot".into(),
            op: chanrac_core::state::StateOp::Count {
                windows: chanrac_core::state::Windows::new(&[3600]).unwrap(),
            },
        }];
        let (tasks, each) = (8, 40);
        rt.block_on(async {
            let mut handles = Vec::new();
            for t in 0..tasks {
                let (store, ops) = (nodes[t % 2].clone(), ops.clone());
                handles.push(tokio::spawn(async move {
                    let mut out = Vec::new();
                    for _ in 0..each {
                        let r = [chanrac_store::Request {
                            now: conformance::T0,
                            ops: &ops,
                        }];
                        store.apply(&r, &mut out).await.unwrap();
                    }
                }));
            }
            for h in handles {
                h.await.unwrap();
            }
            let mut out = Vec::new();
            let r = [chanrac_store::Request {
                now: conformance::T0,
                ops: &ops,
            }];
            nodes[0].apply(&r, &mut out).await.unwrap();
            assert_eq!(out, vec![tasks as u64 * each + 1]);
        });
        let (a, b) = (nodes[0].stats(), nodes[1].stats());
        assert!(
            a.conflicts + b.conflicts > 0 && a.scripted + b.scripted > 0,
            "{a:?} {b:?}"
        );
    }

    /// The script and the optimistic path share one format: a key written by either one,
    /// in turns, holds exactly what the embedded store holds after the same operations
    /// (HyperLogLog registers included).
    #[test]
    fn redis_paths_agree_with_the_embedded_store_bit_for_bit() {
        use chanrac_core::state::{StateKey, StateOp, Windows};
        let Some(rt) = server() else { return };
        let prefix = run_prefix();
        let script = RedisCounters::new(config(prefix.clone(), Atomicity::Script)).unwrap();
        let optimistic = RedisCounters::new(config(prefix, Atomicity::Optimistic)).unwrap();
        let embedded = EmbeddedCounters::default();
        let w = |s: &[u32]| Windows::new(s).unwrap();
        rt.block_on(async {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for i in 0..400u64 {
                let member = chanrac_core::fingerprint::mix(i);
                let ops = [
                    StateKey {
                        key: "d".into(),
                        op: StateOp::Distinct {
                            member,
                            windows: w(&[600, 3600]),
                        },
                    },
                    StateKey {
                        key: "h".into(),
                        op: StateOp::History {
                            member: member % 97,
                            windows: w(&[60, 3600]),
                            new_window: 3600,
                            history: 7200,
                        },
                    },
                    StateKey {
                        key: "h".into(),
                        op: StateOp::Count { windows: w(&[60, 600]) },
                    },
                ];
                let r = [chanrac_store::Request {
                    now: conformance::T0 + 7 * i as i64,
                    ops: &ops,
                }];
                let redis: &dyn Counters = if i % 2 == 0 { &script } else { &optimistic };
                redis.apply(&r, &mut a).await.unwrap();
                embedded.apply_sync(&r, &mut b).unwrap();
                assert_eq!(a, b, "operation {i}");
            }
        });
    }
}
