//! The versioned schema of the records, one list per backend. A migration is appended,
//! never edited: a database records the versions it has (`chanrac_schema`), and start-up
//! applies the missing ones in order, each in its own transaction.

/// SQLite migrations, version 1 first.
pub(crate) const SQLITE: &[&str] = &[
    // 1: lists with their audit log and version, statistics.
    "CREATE TABLE list_entries (
        side TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
        reason TEXT NOT NULL, added_by TEXT NOT NULL, added_at INTEGER NOT NULL,
        PRIMARY KEY (side, kind, value));
     CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, reason TEXT NOT NULL);
     CREATE TABLE lists_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
     INSERT INTO lists_version (id, version) VALUES (1, 0);
     CREATE TABLE stats (
        bucket INTEGER NOT NULL, action TEXT NOT NULL, category TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (bucket, action, category));
     CREATE TABLE stats_top (
        bucket INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (bucket, kind, value))",
];

/// PostgreSQL migrations, version 1 first (the same tables as [`SQLITE`]).
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: &[&str] = &[
    // 1: lists with their audit log and version, statistics.
    "CREATE TABLE list_entries (
        side TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
        reason TEXT NOT NULL, added_by TEXT NOT NULL, added_at BIGINT NOT NULL,
        PRIMARY KEY (side, kind, value));
     CREATE TABLE audit_log (
        id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, reason TEXT NOT NULL);
     CREATE TABLE lists_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
     INSERT INTO lists_version (id, version) VALUES (1, 0);
     CREATE TABLE stats (
        bucket BIGINT NOT NULL, action TEXT NOT NULL, category TEXT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (bucket, action, category));
     CREATE TABLE stats_top (
        bucket BIGINT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (bucket, kind, value))",
];
