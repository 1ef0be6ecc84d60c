//! chanrac-store: the shared state of chanrac, behind traits with one conformance suite.
//!
//! - [`records`]: durable records — list entries with their audit log, traffic statistics —
//!   in one SQLite file by default ([`records::sqlite::SqliteRecords`]) or in PostgreSQL for
//!   several nodes ([`records::postgres::PgRecords`], feature `postgres`, on by default).
//!
//! ```no_run
//! # async fn demo() -> Result<(), chanrac_store::StoreError> {
//! use chanrac_core::ListKind;
//! use chanrac_store::records::{Actor, Records, Side, sqlite::SqliteRecords};
//!
//! let store = SqliteRecords::open(std::path::Path::new("data/chanrac.db"))?;
//! let who = Actor { name: "analyst", reason: "reported 40 times" };
//! store.add_list_entry(Side::Block, ListKind::Senders, "0912 345 678", who).await?;
//! assert_eq!(store.list_entries().await?[0].value, "+84912345678");
//! # Ok(()) }
//! ```
//!
//! Invariants: every backend passes [`records::conformance`]; a write is acknowledged only
//! once committed; nothing here decides about messages (that is `chanrac-core`).

#![deny(missing_docs)]

mod migrations;
pub mod records;

/// An error of a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached or opened (the server is down, the file unwritable).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The request is invalid (a list entry of the wrong form).
    #[error("{0}")]
    Invalid(String),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The stored data is not what this version of chanrac expects.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The backend reported an error.
    #[error("store error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}
