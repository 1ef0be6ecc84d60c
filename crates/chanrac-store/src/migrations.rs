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
    // 2: the verdict log.
    "CREATE TABLE verdicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, message_id TEXT, source TEXT NOT NULL,
        sender TEXT, recipient TEXT, text TEXT NOT NULL, action TEXT NOT NULL, category TEXT NOT NULL,
        score REAL NOT NULL, reasons TEXT NOT NULL);
     CREATE INDEX verdicts_at ON verdicts (at);
     CREATE INDEX verdicts_sender ON verdicts (sender, at);
     CREATE INDEX verdicts_recipient ON verdicts (recipient, at);
     CREATE INDEX verdicts_message_id ON verdicts (message_id)",
    // 3: the hub: reports and sources, the Do-Not-Call register, advertisers and ad copies.
    "CREATE TABLE reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, via TEXT NOT NULL, reporter TEXT NOT NULL,
        kind TEXT NOT NULL, source TEXT, source_key TEXT, content TEXT NOT NULL, content_key TEXT,
        raw TEXT NOT NULL, counted INTEGER NOT NULL, status TEXT NOT NULL);
     CREATE INDEX reports_reporter ON reports (reporter, at);
     CREATE INDEX reports_source ON reports (source_key, at);
     CREATE INDEX reports_content ON reports (content_key, at);
     CREATE TABLE sources (
        key TEXT PRIMARY KEY, status TEXT NOT NULL, reporters INTEGER NOT NULL, reports INTEGER NOT NULL,
        first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, decided_by TEXT, reason TEXT);
     CREATE TABLE dnc (number TEXT PRIMARY KEY, flags INTEGER NOT NULL, updated_at INTEGER NOT NULL);
     CREATE TABLE dnc_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, number TEXT NOT NULL, action TEXT NOT NULL,
        scope INTEGER NOT NULL, before_flags INTEGER NOT NULL, after_flags INTEGER NOT NULL, via TEXT NOT NULL,
        actor TEXT NOT NULL);
     CREATE INDEX dnc_history_number ON dnc_history (number, id);
     CREATE TABLE dnc_otp (
        id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL, register INTEGER NOT NULL, scope INTEGER NOT NULL,
        code_hash TEXT NOT NULL, expires_at INTEGER NOT NULL, attempts INTEGER NOT NULL, done INTEGER NOT NULL);
     CREATE TABLE advertisers (code TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, updated_at INTEGER NOT NULL);
     CREATE TABLE brandnames (
        name TEXT PRIMARY KEY, advertiser TEXT NOT NULL REFERENCES advertisers (code), operators TEXT NOT NULL,
        status TEXT NOT NULL, updated_at INTEGER NOT NULL);
     CREATE TABLE ad_copies (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, via TEXT NOT NULL, sender TEXT NOT NULL,
        brandname TEXT, text TEXT NOT NULL, window_from INTEGER, window_to INTEGER, recipients INTEGER);
     CREATE INDEX ad_copies_at ON ad_copies (at)",
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
    // 2: the verdict log.
    "CREATE TABLE verdicts (
        id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, message_id TEXT, source TEXT NOT NULL,
        sender TEXT, recipient TEXT, text TEXT NOT NULL, action TEXT NOT NULL, category TEXT NOT NULL,
        score REAL NOT NULL, reasons TEXT NOT NULL);
     CREATE INDEX verdicts_at ON verdicts (at);
     CREATE INDEX verdicts_sender ON verdicts (sender, at);
     CREATE INDEX verdicts_recipient ON verdicts (recipient, at);
     CREATE INDEX verdicts_message_id ON verdicts (message_id)",
    // 3: the hub: reports and sources, the Do-Not-Call register, advertisers and ad copies.
    "CREATE TABLE reports (
        id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, via TEXT NOT NULL, reporter TEXT NOT NULL,
        kind TEXT NOT NULL, source TEXT, source_key TEXT, content TEXT NOT NULL, content_key TEXT,
        raw TEXT NOT NULL, counted BIGINT NOT NULL, status TEXT NOT NULL);
     CREATE INDEX reports_reporter ON reports (reporter, at);
     CREATE INDEX reports_source ON reports (source_key, at);
     CREATE INDEX reports_content ON reports (content_key, at);
     CREATE TABLE sources (
        key TEXT PRIMARY KEY, status TEXT NOT NULL, reporters BIGINT NOT NULL, reports BIGINT NOT NULL,
        first_at BIGINT NOT NULL, last_at BIGINT NOT NULL, decided_by TEXT, reason TEXT);
     CREATE TABLE dnc (number TEXT PRIMARY KEY, flags BIGINT NOT NULL, updated_at BIGINT NOT NULL);
     CREATE TABLE dnc_history (
        id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, number TEXT NOT NULL, action TEXT NOT NULL,
        scope BIGINT NOT NULL, before_flags BIGINT NOT NULL, after_flags BIGINT NOT NULL, via TEXT NOT NULL,
        actor TEXT NOT NULL);
     CREATE INDEX dnc_history_number ON dnc_history (number, id);
     CREATE TABLE dnc_otp (
        id BIGSERIAL PRIMARY KEY, number TEXT NOT NULL, register BIGINT NOT NULL, scope BIGINT NOT NULL,
        code_hash TEXT NOT NULL, expires_at BIGINT NOT NULL, attempts BIGINT NOT NULL, done BIGINT NOT NULL);
     CREATE TABLE advertisers (code TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, updated_at BIGINT NOT NULL);
     CREATE TABLE brandnames (
        name TEXT PRIMARY KEY, advertiser TEXT NOT NULL REFERENCES advertisers (code), operators TEXT NOT NULL,
        status TEXT NOT NULL, updated_at BIGINT NOT NULL);
     CREATE TABLE ad_copies (
        id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, via TEXT NOT NULL, sender TEXT NOT NULL,
        brandname TEXT, text TEXT NOT NULL, window_from BIGINT, window_to BIGINT, recipients BIGINT);
     CREATE INDEX ad_copies_at ON ad_copies (at)",
];
