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
    use chanrac_store::{RedisConfig, RedisCounters};

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

    fn config(prefix: String) -> RedisConfig {
        RedisConfig {
            url: url(),
            prefix,
            // Generous: the suite also runs on loaded CI machines.
            timeout_ms: 2000,
            retry_ms: 100,
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
            let c = RedisCounters::new(config(run_prefix()))?;
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

    #[test]
    fn redis_passes_the_conformance_suite() {
        let Some(rt) = server() else { return };
        let prefix = run_prefix();
        rt.block_on(conformance::run_all(|case| {
            Arc::new(RedisCounters::new(config(format!("{prefix}{case}:"))).unwrap()) as Arc<dyn Counters>
        }));
    }
}
