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
    // 4: provenance of list entries, the change log behind the feed, sync cursors. Entries
    // listed before the log existed enter it as additions numbered up to the current version.
    "ALTER TABLE list_entries ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
     ALTER TABLE list_entries ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
     ALTER TABLE list_entries ADD COLUMN confidence INTEGER NOT NULL DEFAULT 100;
     ALTER TABLE list_entries ADD COLUMN first_seen INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE list_entries ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE list_entries ADD COLUMN expires_at INTEGER;
     UPDATE list_entries SET first_seen = added_at, last_seen = added_at;
     CREATE TABLE list_changes (
        version INTEGER PRIMARY KEY, at INTEGER NOT NULL, op TEXT NOT NULL,
        side TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL,
        added_by TEXT NOT NULL, added_at INTEGER NOT NULL, source TEXT NOT NULL, evidence TEXT NOT NULL,
        confidence INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER);
     INSERT INTO list_changes (version, at, op, side, kind, value, reason, added_by, added_at, source, evidence,
                               confidence, first_seen, last_seen, expires_at)
        SELECT (SELECT version FROM lists_version WHERE id = 1) - (SELECT COUNT(*) FROM list_entries)
                 + ROW_NUMBER() OVER (ORDER BY added_at, side, kind, value),
               added_at, 'add', side, kind, value, reason, added_by, added_at, source, evidence,
               confidence, first_seen, last_seen, expires_at
        FROM list_entries;
     CREATE TABLE sync_cursors (origin TEXT PRIMARY KEY, cursor INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
    // 5: keyword mining: the proposal queue, the rule packs of approved keywords, and the
    // pack a rule-pack change of the feed carries.
    "CREATE TABLE keyword_proposals (
        id INTEGER PRIMARY KEY AUTOINCREMENT, phrase TEXT NOT NULL UNIQUE, label TEXT NOT NULL,
        z REAL NOT NULL, log_odds REAL NOT NULL, unwanted_docs INTEGER NOT NULL, unwanted_total INTEGER NOT NULL,
        ham_docs INTEGER NOT NULL, ham_total INTEGER NOT NULL, ham_rate_upper REAL NOT NULL, adds_docs INTEGER NOT NULL,
        examples TEXT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL, proposed_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL, decided_by TEXT, decided_at INTEGER, reason TEXT);
     CREATE INDEX keyword_proposals_status ON keyword_proposals (status, z);
     CREATE TABLE rule_packs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, at INTEGER NOT NULL, origin TEXT NOT NULL,
        pack TEXT NOT NULL);
     ALTER TABLE list_changes ADD COLUMN rules TEXT",
    // 6: the hub's outbox (SMS to subscribers: one-time passwords) and its secrets (the
    // key of the one-time password hashes, shared by every node of the store); reports'
    // content LSH bands, for grouping near-duplicates; evidence files of reports; the
    // numbers advertisers send from (their `FW` copies by SMS).
    "CREATE TABLE hub_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at INTEGER NOT NULL);
     CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
        text TEXT NOT NULL, kind TEXT NOT NULL, expires_at INTEGER, state TEXT NOT NULL, attempts INTEGER NOT NULL,
        lease_until INTEGER NOT NULL, claimed_by TEXT, done_at INTEGER, message_id TEXT, error TEXT);
     CREATE INDEX outbox_state ON outbox (state, id);
     ALTER TABLE reports ADD COLUMN content_band0 TEXT;
     ALTER TABLE reports ADD COLUMN content_band1 TEXT;
     ALTER TABLE reports ADD COLUMN content_band2 TEXT;
     CREATE INDEX reports_band0 ON reports (content_band0, at);
     CREATE INDEX reports_band1 ON reports (content_band1, at);
     CREATE INDEX reports_band2 ON reports (content_band2, at);
     CREATE TABLE report_evidence (
        id INTEGER PRIMARY KEY AUTOINCREMENT, report_id INTEGER NOT NULL REFERENCES reports (id), name TEXT NOT NULL,
        content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, data BLOB NOT NULL);
     CREATE INDEX report_evidence_report ON report_evidence (report_id, id);
     CREATE TABLE advertiser_numbers (
        number TEXT PRIMARY KEY, advertiser TEXT NOT NULL REFERENCES advertisers (code), updated_at INTEGER NOT NULL)",
    // 7 (issue 8, the ministry's report):
    // statistics by a dimension (the sender's operator, the channel, calls per operator,
    // ad violations per advertiser), additive like `stats`; entries by expiry, for the
    // sweeper.
    "CREATE TABLE stats_by (
        bucket INTEGER NOT NULL, dimension TEXT NOT NULL, key TEXT NOT NULL, action TEXT NOT NULL,
        label TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (bucket, dimension, key, action, label));
     CREATE INDEX stats_by_dimension ON stats_by (dimension, bucket);
     CREATE INDEX list_entries_expiry ON list_entries (expires_at)",
    // 8: a cheaper verdict log. The recipient index goes (a third of a logged row's cost;
    // a search by recipient alone reads the log newest first), and the sender index keeps
    // a sender's rows in log order (SQLite's index entries end with the rowid), so "this
    // sender's newest verdicts" walks it backwards without sorting.
    "DROP INDEX verdicts_recipient;
     DROP INDEX verdicts_sender;
     CREATE INDEX verdicts_sender ON verdicts (sender)",
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
    // 4: provenance of list entries, the change log behind the feed, sync cursors. Entries
    // listed before the log existed enter it as additions numbered up to the current version.
    "ALTER TABLE list_entries ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
     ALTER TABLE list_entries ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
     ALTER TABLE list_entries ADD COLUMN confidence BIGINT NOT NULL DEFAULT 100;
     ALTER TABLE list_entries ADD COLUMN first_seen BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE list_entries ADD COLUMN last_seen BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE list_entries ADD COLUMN expires_at BIGINT;
     UPDATE list_entries SET first_seen = added_at, last_seen = added_at;
     CREATE TABLE list_changes (
        version BIGINT PRIMARY KEY, at BIGINT NOT NULL, op TEXT NOT NULL,
        side TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL,
        added_by TEXT NOT NULL, added_at BIGINT NOT NULL, source TEXT NOT NULL, evidence TEXT NOT NULL,
        confidence BIGINT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, expires_at BIGINT);
     INSERT INTO list_changes (version, at, op, side, kind, value, reason, added_by, added_at, source, evidence,
                               confidence, first_seen, last_seen, expires_at)
        SELECT (SELECT version FROM lists_version WHERE id = 1) - (SELECT COUNT(*) FROM list_entries)
                 + ROW_NUMBER() OVER (ORDER BY added_at, side, kind, value),
               added_at, 'add', side, kind, value, reason, added_by, added_at, source, evidence,
               confidence, first_seen, last_seen, expires_at
        FROM list_entries;
     CREATE TABLE sync_cursors (origin TEXT PRIMARY KEY, cursor BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
    // 5: keyword mining: the proposal queue, the rule packs of approved keywords, and the
    // pack a rule-pack change of the feed carries.
    "CREATE TABLE keyword_proposals (
        id BIGSERIAL PRIMARY KEY, phrase TEXT NOT NULL UNIQUE, label TEXT NOT NULL,
        z DOUBLE PRECISION NOT NULL, log_odds DOUBLE PRECISION NOT NULL, unwanted_docs BIGINT NOT NULL, unwanted_total BIGINT NOT NULL,
        ham_docs BIGINT NOT NULL, ham_total BIGINT NOT NULL, ham_rate_upper DOUBLE PRECISION NOT NULL, adds_docs BIGINT NOT NULL,
        examples TEXT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL, proposed_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL, decided_by TEXT, decided_at BIGINT, reason TEXT);
     CREATE INDEX keyword_proposals_status ON keyword_proposals (status, z);
     CREATE TABLE rule_packs (
        id BIGSERIAL PRIMARY KEY, version BIGINT NOT NULL, at BIGINT NOT NULL, origin TEXT NOT NULL,
        pack TEXT NOT NULL);
     ALTER TABLE list_changes ADD COLUMN rules TEXT",
    // 6: the hub's outbox (SMS to subscribers: one-time passwords) and its secrets (the
    // key of the one-time password hashes, shared by every node of the store); reports'
    // content LSH bands, for grouping near-duplicates; evidence files of reports; the
    // numbers advertisers send from (their `FW` copies by SMS).
    "CREATE TABLE hub_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at BIGINT NOT NULL);
     CREATE TABLE outbox (
        id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
        text TEXT NOT NULL, kind TEXT NOT NULL, expires_at BIGINT, state TEXT NOT NULL, attempts BIGINT NOT NULL,
        lease_until BIGINT NOT NULL, claimed_by TEXT, done_at BIGINT, message_id TEXT, error TEXT);
     CREATE INDEX outbox_state ON outbox (state, id);
     ALTER TABLE reports ADD COLUMN content_band0 TEXT;
     ALTER TABLE reports ADD COLUMN content_band1 TEXT;
     ALTER TABLE reports ADD COLUMN content_band2 TEXT;
     CREATE INDEX reports_band0 ON reports (content_band0, at);
     CREATE INDEX reports_band1 ON reports (content_band1, at);
     CREATE INDEX reports_band2 ON reports (content_band2, at);
     CREATE TABLE report_evidence (
        id BIGSERIAL PRIMARY KEY, report_id BIGINT NOT NULL REFERENCES reports (id), name TEXT NOT NULL,
        content_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL, data BYTEA NOT NULL);
     CREATE INDEX report_evidence_report ON report_evidence (report_id, id);
     CREATE TABLE advertiser_numbers (
        number TEXT PRIMARY KEY, advertiser TEXT NOT NULL REFERENCES advertisers (code), updated_at BIGINT NOT NULL)",
    // 7 (issue 8, the ministry's report):
    // statistics by a dimension (the sender's operator, the channel, calls per operator,
    // ad violations per advertiser), additive like `stats`; entries by expiry, for the
    // sweeper.
    "CREATE TABLE stats_by (
        bucket BIGINT NOT NULL, dimension TEXT NOT NULL, key TEXT NOT NULL, action TEXT NOT NULL,
        label TEXT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (bucket, dimension, key, action, label));
     CREATE INDEX stats_by_dimension ON stats_by (dimension, bucket);
     CREATE INDEX list_entries_expiry ON list_entries (expires_at)",
    // 8: a cheaper verdict log (see SQLite's 8): no recipient index, the sender's rows in
    // log order.
    "DROP INDEX verdicts_recipient;
     DROP INDEX verdicts_sender;
     CREATE INDEX verdicts_sender ON verdicts (sender, id)",
];
