//! The records conformance suite against the embedded SQLite backend and a real PostgreSQL
//! server (`CHANRAC_TEST_PG_URL`, default `host=127.0.0.1 user=postgres dbname=test`; in CI,
//! `CI=true`, a server that cannot be reached fails the test instead of skipping it).

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use chanrac_core::ListKind;
use chanrac_store::records::postgres::PgRecords;
use chanrac_store::records::sqlite::SqliteRecords;
use chanrac_store::records::{Actor, Records, Side, conformance};

static N: AtomicUsize = AtomicUsize::new(0);

fn temp_db() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chanrac-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("records-{}.db", N.fetch_add(1, Ordering::SeqCst)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_conformance_suite() {
    conformance::run_all(|| async { SqliteRecords::open(&temp_db()).unwrap() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_what_it_acknowledged_after_reopening() {
    let path = temp_db();
    {
        let s = SqliteRecords::open(&path).unwrap();
        let who = Actor {
            name: "analyst",
            reason: "test",
        };
        s.add_list_entry(Side::Block, ListKind::Senders, "0912345678", who)
            .await
            .unwrap();
    }
    let s = SqliteRecords::open(&path).unwrap();
    assert_eq!(s.list_entries().await.unwrap().len(), 1);
    assert_eq!(s.lists_version().await.unwrap(), 1);
    assert_eq!(*s.changes().borrow(), 1);
}

#[test]
fn sqlite_refuses_an_unwritable_place() {
    let err = SqliteRecords::open(std::path::Path::new("/proc/chanrac/records.db")).unwrap_err();
    assert!(err.to_string().starts_with("store unavailable"), "{err}");
}

mod pg;
use pg::{pg_fresh, pg_url};

fn schema_name(tag: &str) -> String {
    format!(
        "chanrac_t{}_{}_{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_conformance_suite() {
    if pg_fresh(&schema_name("probe")).await.is_none() {
        return;
    }
    conformance::run_all(|| async { pg_fresh(&schema_name("c")).await.unwrap() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tells_the_other_node_about_a_change() {
    let schema = schema_name("two");
    let Some(a) = pg_fresh(&schema).await else { return };
    let mut config = tokio_postgres::Config::from_str(&pg_url()).unwrap();
    config.options(format!("-c search_path={schema}"));
    let b = PgRecords::connect_config(config).await.unwrap();
    let mut rx = b.changes();
    rx.borrow_and_update();
    let who = Actor {
        name: "node-a",
        reason: "test",
    };
    a.add_list_entry(Side::Block, ListKind::Domains, "evil.top", who)
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), rx.changed())
        .await
        .expect("node B hears of node A's change within 5 s")
        .unwrap();
    assert_eq!(*rx.borrow(), 1);
    assert_eq!(b.list_entries().await.unwrap()[0].value, "evil.top");
}

#[tokio::test]
async fn postgres_unreachable_is_a_clear_error() {
    let err = PgRecords::connect("host=127.0.0.1 port=1 user=postgres dbname=test connect_timeout=2")
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("store unavailable"), "{err}");
}
