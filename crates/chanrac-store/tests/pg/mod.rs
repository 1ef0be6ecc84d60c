//! The PostgreSQL server of the store tests (shared by `records.rs` and `hub.rs`).

#![allow(dead_code)]

use std::str::FromStr;

use chanrac_store::records::postgres::PgRecords;

/// The PostgreSQL address for tests.
pub fn pg_url() -> String {
    std::env::var("CHANRAC_TEST_PG_URL").unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=test".into())
}

/// A fresh schema of its own for one store, so that tests do not see each other's data.
pub async fn pg_fresh(schema: &str) -> Option<PgRecords> {
    let url = pg_url();
    let config = tokio_postgres::Config::from_str(&url).expect("CHANRAC_TEST_PG_URL parses");
    let (client, conn) = match config.connect(tokio_postgres::NoTls).await {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("CI").is_err(),
                "PostgreSQL at {url:?} is required in CI: {e}"
            );
            eprintln!("skipping: PostgreSQL at {url:?} unreachable: {e}");
            return None;
        }
    };
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    let mut config = config.clone();
    config.options(format!("-c search_path={schema}"));
    Some(PgRecords::connect_config(config).await.unwrap())
}
