//! The hub records conformance suite against the embedded SQLite backend and a real
//! PostgreSQL server (`CHANRAC_TEST_PG_URL`, default `host=127.0.0.1 user=postgres
//! dbname=test`; in CI, `CI=true`, a server that cannot be reached fails the test).

use std::sync::atomic::{AtomicUsize, Ordering};

use chanrac_store::hub::{HubRecords, NewReport, ReportLimits, conformance};
use chanrac_store::records::postgres::PgRecords;
use chanrac_store::records::sqlite::SqliteRecords;

static N: AtomicUsize = AtomicUsize::new(0);

fn temp_db() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chanrac-hub-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("hub-{}.db", N.fetch_add(1, Ordering::SeqCst)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_hub_conformance_suite() {
    conformance::run_all(|| async { SqliteRecords::open(&temp_db()).unwrap() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_reports_and_the_register_after_reopening() {
    let path = temp_db();
    let limits = ReportLimits {
        reporter_since: 0,
        reporter_max: 10,
        group_since: 0,
        watch_at: 1,
        propose_at: 2,
    };
    {
        let s = SqliteRecords::open(&path).unwrap();
        let r = NewReport {
            at: 1,
            via: "sms".into(),
            reporter: "+84900000001".into(),
            kind: "spam".into(),
            source_key: Some("X".into()),
            ..Default::default()
        };
        s.add_report(&r, limits).await.unwrap();
        s.dnc_change("+84912345678", true, 3, "sms", "+84912345678", 1)
            .await
            .unwrap();
    }
    let s = SqliteRecords::open(&path).unwrap();
    assert_eq!(s.sources(Some("watch"), 10).await.unwrap().len(), 1);
    assert_eq!(s.dnc_entries().await.unwrap().len(), 1);
}

mod pg;

/// A fresh PostgreSQL store in a schema of its own.
async fn pg_store() -> Option<PgRecords> {
    pg::pg_fresh(&format!(
        "chanrac_hub_t{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_hub_conformance_suite() {
    if pg_store().await.is_none() {
        return;
    }
    conformance::run_all(|| async { pg_store().await.unwrap() }).await;
}
