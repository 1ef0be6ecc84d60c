//! The embedded records backend: one SQLite file (WAL journal, `synchronous = FULL`).
//!
//! One connection behind a mutex, used from Tokio's blocking pool: records are written at
//! the pace of analysts and periodic flushes, not of messages (the verdict log's writer
//! gathers its rows into large transactions), and SQLite serializes writers anyway.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chanrac_core::ListKind;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::watch;

use super::{
    Actor, AuditRecord, ChangeOp, ENTRY_COLUMNS, EntryRow, ListChange, ListEntry, Provenance, Records, RulePack, Side,
    StatsRow, TopKind, TopRow, VerdictQuery, VerdictRecord, canonical, change_from, check_page, entry_from,
    list_target, new_entry, now_ms, pack_from_json, pack_json, pack_target, parse_stats, parse_top, sql, sync_actor,
};
use super::{DimRow, Dimension, SqlParam, check_size, dim_sql};
use crate::StoreError;
use crate::migrations::SQLITE;

/// Records in one SQLite file.
#[derive(Clone)]
pub struct SqliteRecords {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
    pub(crate) changes: Arc<watch::Sender<i64>>,
}

impl std::fmt::Debug for SqliteRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqliteRecords({})", self.path.display())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl SqliteRecords {
    /// Opens (or creates) the file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteRecords, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(format!("{}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        conn.execute_batch(
            // A 64 MiB page cache (SQLite's default is 2 MiB): the verdict log's indexes take
            // rows at random places, and with the pages in cache a large transaction writes
            // each page once (9 µs of CPU per logged row instead of 17, measured with the
            // verdict log's four indexes).
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -65536;",
        )?;
        migrate(&conn)?;
        let version: i64 = conn.query_row("SELECT version FROM lists_version WHERE id = 1", [], |r| r.get(0))?;
        let (tx, _) = watch::channel(version);
        Ok(SqliteRecords {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path.to_path_buf()),
            changes: Arc::new(tx),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| StoreError::Unavailable("the SQLite connection was poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("blocking task failed: {e}")))?
    }
}

/// Applies the migrations the file does not have yet, each in its own transaction.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS chanrac_schema (version INTEGER NOT NULL)")?;
    let have: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM chanrac_schema", [], |r| r.get(0))?;
    if have > SQLITE.len() as i64 {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {have}, newer than this chanrac knows ({})",
            SQLITE.len()
        )));
    }
    for (i, sql) in SQLITE.iter().enumerate().skip(have as usize) {
        let v = i as i64 + 1;
        conn.execute_batch(&format!(
            "BEGIN; {sql}; INSERT INTO chanrac_schema (version) VALUES ({v}); COMMIT;"
        ))
        .map_err(|e| StoreError::Migration(format!("SQLite migration {v}: {e}")))?;
    }
    Ok(())
}

pub(crate) fn bump_version(tx: &rusqlite::Transaction<'_>) -> Result<i64, StoreError> {
    Ok(tx.query_row(
        "UPDATE lists_version SET version = version + 1 WHERE id = 1 RETURNING version",
        [],
        |r| r.get(0),
    )?)
}

/// The SQL shared with PostgreSQL, with SQLite's numbered parameters (`?1` for `$1`).
fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Reads the entry columns ([`ENTRY_COLUMNS`]) starting at column `at`.
fn entry_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<EntryRow> {
    Ok(EntryRow {
        side: r.get(at)?,
        kind: r.get(at + 1)?,
        value: r.get(at + 2)?,
        reason: r.get(at + 3)?,
        added_by: r.get(at + 4)?,
        added_at: r.get(at + 5)?,
        source: r.get(at + 6)?,
        evidence: r.get(at + 7)?,
        confidence: r.get(at + 8)?,
        first_seen: r.get(at + 9)?,
        last_seen: r.get(at + 10)?,
        expires_at: r.get(at + 11)?,
    })
}

fn select_entry(
    tx: &rusqlite::Transaction<'_>,
    side: Side,
    kind: ListKind,
    value: &str,
) -> Result<Option<ListEntry>, StoreError> {
    let row = tx
        .query_row(
            &format!("SELECT {ENTRY_COLUMNS} FROM list_entries WHERE side = ?1 AND kind = ?2 AND value = ?3"),
            params![side.as_str(), kind.name(), value],
            |r| entry_row(r, 0),
        )
        .optional()?;
    row.map(entry_from).transpose()
}

fn insert_change(
    tx: &rusqlite::Transaction<'_>,
    version: i64,
    at: i64,
    op: ChangeOp,
    e: &ListEntry,
) -> Result<(), StoreError> {
    tx.execute(
        &lite(sql::INSERT_CHANGE),
        params![
            version,
            at,
            op.as_str(),
            e.side.as_str(),
            e.kind.name(),
            e.value,
            e.reason,
            e.added_by,
            e.added_at,
            e.source,
            e.evidence,
            e.confidence as i64,
            e.first_seen,
            e.last_seen,
            e.expires_at
        ],
    )?;
    Ok(())
}

/// Inserts an entry with its audit record, version and change; `None` when it was listed.
fn add_in(tx: &rusqlite::Transaction<'_>, e: &ListEntry) -> Result<Option<i64>, StoreError> {
    let n = tx.execute(
        &lite(sql::INSERT_ENTRY),
        params![
            e.side.as_str(),
            e.kind.name(),
            e.value,
            e.reason,
            e.added_by,
            e.added_at,
            e.source,
            e.evidence,
            e.confidence as i64,
            e.first_seen,
            e.last_seen,
            e.expires_at
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    insert_audit(
        tx,
        e.added_at,
        &e.added_by,
        "list.add",
        &list_target(e.side, e.kind, &e.value),
        &e.reason,
    )?;
    let version = bump_version(tx)?;
    insert_change(tx, version, e.added_at, ChangeOp::Add, e)?;
    Ok(Some(version))
}

/// Removes an entry with its audit record, version and change; `None` when it was not listed.
fn remove_in(
    tx: &rusqlite::Transaction<'_>,
    side: Side,
    kind: ListKind,
    value: &str,
    who: &str,
    why: &str,
) -> Result<Option<i64>, StoreError> {
    let Some(mut e) = select_entry(tx, side, kind, value)? else {
        return Ok(None);
    };
    tx.execute(&lite(sql::DELETE_ENTRY), params![side.as_str(), kind.name(), value])?;
    let at = now_ms();
    insert_audit(tx, at, who, "list.remove", &list_target(side, kind, value), why)?;
    let version = bump_version(tx)?;
    e.reason = why.to_string();
    e.added_by = who.to_string();
    insert_change(tx, version, at, ChangeOp::Remove, &e)?;
    Ok(Some(version))
}

/// Stores a rule pack as the one in effect, with its audit record, a version and its change
/// in the log (which the feed serves); returns the lists version it made.
pub(crate) fn install_pack(
    tx: &rusqlite::Transaction<'_>,
    pack: &RulePack,
    origin: &str,
    actor: &str,
    reason: &str,
) -> Result<i64, StoreError> {
    pack.check()?;
    let json = pack_json(pack);
    tx.execute(&lite(sql::INSERT_PACK), params![pack.version, pack.at, origin, json])?;
    let at = now_ms();
    insert_audit(tx, at, actor, "rules.install", &pack_target(pack.version), reason)?;
    let version = bump_version(tx)?;
    tx.execute(
        &lite(sql::INSERT_RULES_CHANGE),
        params![version, at, pack.version.to_string(), reason, actor, origin, json],
    )?;
    Ok(version)
}

fn insert_audit(
    tx: &rusqlite::Transaction<'_>,
    at: i64,
    actor: &str,
    action: &str,
    target: &str,
    reason: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, target, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, actor, action, target, reason],
    )?;
    Ok(())
}

impl Records for SqliteRecords {
    async fn list_entries(&self) -> Result<Vec<ListEntry>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM list_entries ORDER BY side, kind, value"
            ))?;
            let rows = st.query_map([], |r| entry_row(r, 0))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(entry_from(row?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn expired_entries(&self, now: i64, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare_cached(&lite(&sql::EXPIRED.replace("{}", ENTRY_COLUMNS)))?;
            let rows = st.query_map(params![now, limit.min(100_000) as i64], |r| entry_row(r, 0))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(entry_from(row?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn add_list_entry_with(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
        provenance: Provenance,
    ) -> Result<(ListEntry, bool), StoreError> {
        let value = canonical(kind, value)?;
        provenance.check()?;
        let entry = new_entry(side, kind, value, actor, provenance, now_ms());
        let changes = self.changes.clone();
        self.with(move |c| {
            let tx = c.transaction()?;
            let added = add_in(&tx, &entry)?;
            let Some(version) = added else {
                let existing = select_entry(&tx, side, kind, &entry.value)?
                    .ok_or_else(|| StoreError::Corrupt("an entry vanished inside a transaction".into()))?;
                return Ok((existing, false));
            };
            tx.commit()?;
            changes.send_replace(version);
            Ok((entry, true))
        })
        .await
    }

    async fn remove_list_entry(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
    ) -> Result<bool, StoreError> {
        let value = canonical(kind, value)?;
        let (who, why) = (actor.name.to_string(), actor.reason.to_string());
        let changes = self.changes.clone();
        self.with(move |c| {
            let tx = c.transaction()?;
            let Some(version) = remove_in(&tx, side, kind, &value, &who, &why)? else {
                return Ok(false);
            };
            tx.commit()?;
            changes.send_replace(version);
            Ok(true)
        })
        .await
    }

    async fn list_changes(&self, since: i64, limit: usize) -> Result<Vec<ListChange>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare_cached(&lite(sql::CHANGES))?;
            let rows = st.query_map(params![since, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    entry_row(r, 3)?,
                    r.get::<_, Option<String>>(15)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (version, at, op, e, rules) = row?;
                out.push(change_from(version, at, &op, e, rules)?);
            }
            Ok(out)
        })
        .await
    }

    async fn apply_feed(&self, origin: &str, from: i64, to: i64, changes: &[ListChange]) -> Result<i64, StoreError> {
        check_page(from, to, changes)?;
        let origin = origin.to_string();
        let page = changes.to_vec();
        let notify = self.changes.clone();
        self.with(move |c| {
            let tx = c.transaction()?;
            let cursor: i64 = tx
                .query_row(&lite(sql::CURSOR), params![origin], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            if cursor != from {
                return Err(StoreError::Conflict(format!(
                    "the page from {origin} starts at {from} but this node is at {cursor}"
                )));
            }
            let who = sync_actor(&origin);
            let mut version = None;
            for ch in &page {
                let applied = match ch.op {
                    ChangeOp::Rules => Some(install_pack(&tx, ch.pack()?, &origin, &who, "rule pack from the feed")?),
                    ChangeOp::Add => {
                        let mut e = ch.entry()?.clone();
                        e.value = canonical(e.kind, &e.value)?;
                        e.added_by = who.clone();
                        e.added_at = now_ms();
                        add_in(&tx, &e)?
                    }
                    ChangeOp::Remove => {
                        let e = ch.entry()?;
                        let value = canonical(e.kind, &e.value)?;
                        let by: Option<String> = tx
                            .query_row(
                                &lite(sql::ADDED_BY),
                                params![e.side.as_str(), e.kind.name(), value],
                                |r| r.get(0),
                            )
                            .optional()?;
                        if by.as_deref() == Some(who.as_str()) {
                            remove_in(&tx, e.side, e.kind, &value, &who, &e.reason)?
                        } else {
                            None
                        }
                    }
                };
                version = applied.or(version);
            }
            tx.execute(&lite(sql::SET_CURSOR), params![origin, to, now_ms()])?;
            let now: i64 = tx.query_row("SELECT version FROM lists_version WHERE id = 1", [], |r| r.get(0))?;
            tx.commit()?;
            if let Some(v) = version {
                notify.send_replace(v);
            }
            Ok(now)
        })
        .await
    }

    async fn sync_cursor(&self, origin: &str) -> Result<i64, StoreError> {
        let origin = origin.to_string();
        self.with(move |c| {
            Ok(c.query_row(&lite(sql::CURSOR), params![origin], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        })
        .await
    }

    async fn rule_pack(&self) -> Result<Option<RulePack>, StoreError> {
        self.with(|c| {
            let json: Option<String> = c.query_row(&lite(sql::CURRENT_PACK), [], |r| r.get(0)).optional()?;
            json.as_deref().map(pack_from_json).transpose()
        })
        .await
    }

    async fn lists_version(&self) -> Result<i64, StoreError> {
        self.with(|c| Ok(c.query_row("SELECT version FROM lists_version WHERE id = 1", [], |r| r.get(0))?))
            .await
    }

    fn changes(&self) -> watch::Receiver<i64> {
        self.changes.subscribe()
    }

    async fn audit(&self, action: &str, target: &str, actor: Actor<'_>) -> Result<(), StoreError> {
        let (action, target, who, why) = (
            action.to_string(),
            target.to_string(),
            actor.name.to_string(),
            actor.reason.to_string(),
        );
        self.with(move |c| {
            let tx = c.transaction()?;
            insert_audit(&tx, now_ms(), &who, &action, &target, &why)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, at, actor, action, target, reason FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = st.query_map(params![after, limit as i64], |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    reason: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn add_all_stats(&self, rows: &[StatsRow], top: &[TopRow], dims: &[DimRow]) -> Result<(), StoreError> {
        if rows.is_empty() && top.is_empty() && dims.is_empty() {
            return Ok(());
        }
        let (rows, top, dims) = (rows.to_vec(), top.to_vec(), dims.to_vec());
        self.with(move |c| {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO stats (bucket, action, category, count) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (bucket, action, category) DO UPDATE SET count = count + excluded.count",
                )?;
                for r in &rows {
                    st.execute(params![
                        r.bucket,
                        r.action.as_str(),
                        r.category.as_str(),
                        r.count as i64
                    ])?;
                }
                let mut st = tx.prepare_cached(
                    "INSERT INTO stats_top (bucket, kind, value, count) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (bucket, kind, value) DO UPDATE SET count = count + excluded.count",
                )?;
                for t in &top {
                    st.execute(params![t.bucket, t.kind.as_str(), t.value, t.count as i64])?;
                }
                let mut st = tx.prepare_cached(&lite(dim_sql::ADD))?;
                for r in &dims {
                    st.execute(params![
                        r.bucket,
                        r.dimension.as_str(),
                        r.key,
                        r.action,
                        r.label,
                        r.count as i64
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn stats(&self, from: i64, to: i64) -> Result<Vec<StatsRow>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare_cached(
                "SELECT bucket, action, category, count FROM stats WHERE bucket >= ?1 AND bucket < ?2
                 ORDER BY bucket, action, category",
            )?;
            let rows = st.query_map(params![from, to], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (bucket, a, cat, count) = row?;
                let (action, category) = parse_stats(&a, &cat)?;
                out.push(StatsRow {
                    bucket,
                    action,
                    category,
                    count: count as u64,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn top(&self, kind: TopKind, from: i64, to: i64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare_cached(
                "SELECT kind, value, SUM(count) AS n FROM stats_top WHERE kind = ?1 AND bucket >= ?2 AND bucket < ?3
                 GROUP BY kind, value ORDER BY n DESC, value LIMIT ?4",
            )?;
            let rows = st.query_map(params![kind.as_str(), from, to, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (k, value, n) = row?;
                parse_top(&k)?;
                out.push((value, n as u64));
            }
            Ok(out)
        })
        .await
    }

    async fn dim_stats(&self, dimension: Dimension, from: i64, to: i64, size: i64) -> Result<Vec<DimRow>, StoreError> {
        check_size(size)?;
        self.with(move |c| {
            let mut st = c.prepare_cached(&lite(dim_sql::SUM))?;
            let rows = st.query_map(params![dimension.as_str(), from, to, size], |r| {
                Ok(DimRow {
                    bucket: r.get(0)?,
                    dimension,
                    key: r.get(1)?,
                    action: r.get(2)?,
                    label: r.get(3)?,
                    count: r.get::<_, i64>(4)? as u64,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn add_verdicts(&self, records: Arc<[VerdictRecord]>) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        self.with(move |c| {
            let tx = c.transaction()?;
            let mut rest: &[VerdictRecord] = &records;
            for (&n, sql) in VERDICT_ROWS_PER_INSERT.iter().zip(insert_verdicts_sql()) {
                if rest.len() < n {
                    continue;
                }
                let mut st = tx.prepare_cached(sql)?;
                while rest.len() >= n {
                    let (now, later) = rest.split_at(n);
                    for (i, v) in now.iter().enumerate() {
                        let at = i * VERDICT_COLUMNS;
                        st.raw_bind_parameter(at + 1, v.at)?;
                        st.raw_bind_parameter(at + 2, &v.message_id)?;
                        st.raw_bind_parameter(at + 3, &v.source)?;
                        st.raw_bind_parameter(at + 4, &v.sender)?;
                        st.raw_bind_parameter(at + 5, &v.recipient)?;
                        st.raw_bind_parameter(at + 6, &v.text)?;
                        st.raw_bind_parameter(at + 7, v.action.as_str())?;
                        st.raw_bind_parameter(at + 8, v.category.as_str())?;
                        st.raw_bind_parameter(at + 9, v.score as f64)?;
                        st.raw_bind_parameter(at + 10, &v.reasons)?;
                    }
                    st.raw_execute()?;
                    rest = later;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn find_verdicts(&self, q: &VerdictQuery) -> Result<Vec<VerdictRecord>, StoreError> {
        let q = q.clone();
        self.with(move |c| {
            let (sql, params) = q.sql();
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(params), |r| {
                Ok((
                    (
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                    ),
                    (
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, String>(6)?,
                    ),
                    (
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, f64>(9)?,
                        r.get::<_, String>(10)?,
                    ),
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let ((id, at, message_id, source), (sender, recipient, text), (a, cat, score, reasons)) = row?;
                let (action, category) = parse_stats(&a, &cat)?;
                out.push(VerdictRecord {
                    id,
                    at,
                    message_id,
                    source,
                    sender,
                    recipient,
                    text,
                    action,
                    category,
                    score: score as f32,
                    reasons,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn prune_verdicts(&self, before: i64) -> Result<u64, StoreError> {
        self.with(move |c| Ok(c.execute("DELETE FROM verdicts WHERE at < ?1", params![before])? as u64))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }
}

/// The columns of one verdict row in an `INSERT`.
const VERDICT_COLUMNS: usize = 10;

/// The rows of the verdict log's `INSERT` statements, largest first (the last must be 1):
/// a transaction writes its rows 16 at a time, then 4, then 1, each size through its own
/// cached statement. One statement for many rows pays the statement's start and end (its
/// cursors on the table and the indexes, `AUTOINCREMENT`'s counter) once for all of them.
/// Measured with `examples/verdict_rows.rs` (2026-11-23): 23,700 instructions per row one
/// row per statement, 17,200 with 16, 18,500 with 32 and 19,000 with 64 (binding the texts
/// costs twice as much per row there as with 16).
const VERDICT_ROWS_PER_INSERT: &[usize] = &[16, 4, 1];

/// The `INSERT` of each size of [`VERDICT_ROWS_PER_INSERT`], made once: a transaction of
/// single checks writes one or a few rows, and building the 16-row statement's text for it
/// cost more than the rows.
fn insert_verdicts_sql() -> &'static [String] {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        VERDICT_ROWS_PER_INSERT
            .iter()
            .map(|&n| insert_verdicts_sql_for(n))
            .collect()
    })
}

/// `INSERT INTO verdicts … VALUES (…), (…), …` for `rows` rows, numbered parameters in
/// column order.
fn insert_verdicts_sql_for(rows: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::from(
        "INSERT INTO verdicts (at, message_id, source, sender, recipient, text, action, category, score, reasons) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 1..=VERDICT_COLUMNS {
            let _ = write!(sql, "{}?{}", if c == 1 { "" } else { ", " }, r * VERDICT_COLUMNS + c);
        }
        sql.push(')');
    }
    sql
}

impl rusqlite::ToSql for SqlParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match *self {
            SqlParam::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            SqlParam::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(n)),
        })
    }
}

#[cfg(test)]
mod tests {
    use chanrac_core::Action;

    use super::*;

    /// Searches of the verdict log by id, sender or time go through an index (no scan of
    /// the whole log), and a sender's newest rows come without a sort.
    #[test]
    fn verdict_searches_use_the_indexes() {
        let c = Connection::open_in_memory().unwrap();
        for sql in SQLITE {
            c.execute_batch(sql).unwrap();
        }
        let plan = |q: VerdictQuery| {
            let (sql, params) = q.sql();
            let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = st
                .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3))
                .unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
        };
        let q = |f: &dyn Fn(&mut VerdictQuery)| {
            let mut q = VerdictQuery {
                limit: 50,
                ..Default::default()
            };
            f(&mut q);
            q
        };
        let by_id = plan(q(&|q| q.message_id = Some("m-1".into())));
        assert!(by_id.contains("USING INDEX verdicts_message_id"), "{by_id}");
        let by_sender = plan(q(&|q| {
            q.sender = Some("0912345678".into());
            q.recipient = Some("0987654321".into());
            q.action = Some(Action::Block);
        }));
        assert!(by_sender.contains("USING INDEX verdicts_sender"), "{by_sender}");
        assert!(!by_sender.contains("TEMP B-TREE"), "no sort: {by_sender}");
        let by_time = plan(q(&|q| {
            q.from = Some(1_000);
            q.to = Some(2_000);
        }));
        assert!(
            by_time.contains("INDEX verdicts_at") || by_time.contains("INTEGER PRIMARY KEY"),
            "{by_time}"
        );
    }

    /// A transaction of 37 rows (16 + 16 + 4 + 1: every statement size) stores each row with
    /// its own values, in order.
    #[tokio::test]
    async fn verdict_rows_keep_their_order_and_values_across_statement_sizes() {
        let dir = std::env::temp_dir().join(format!("chanrac-vrows-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = SqliteRecords::open(&dir.join("records.db")).unwrap();
        let rows: Arc<[VerdictRecord]> = (0..37)
            .map(|i| VerdictRecord {
                id: 0,
                at: 1_000 + i,
                message_id: (i % 5 != 0).then(|| format!("m-{i}")),
                source: "http".into(),
                sender: Some(format!("09{i:08}")),
                recipient: (i % 3 != 0).then(|| format!("08{i:08}")),
                text: format!("text {i}"),
                action: Action::Block,
                category: chanrac_core::Category::Spam,
                score: i as f32 / 64.0,
                reasons: format!("[{i}]"),
            })
            .collect();
        s.add_verdicts(rows.clone()).await.unwrap();
        let mut got = s
            .find_verdicts(&VerdictQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        got.reverse();
        assert_eq!(got.len(), rows.len());
        for (i, (g, r)) in got.iter().zip(rows.iter()).enumerate() {
            assert_eq!(g.id, i as i64 + 1);
            let g = VerdictRecord { id: 0, ..g.clone() };
            assert_eq!(format!("{g:?}"), format!("{r:?}"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A store made before the change log existed: its entries enter the log as additions
    /// numbered up to its version, so a feed from 0 gives them all and ends at the version.
    #[tokio::test]
    async fn migration_puts_existing_entries_in_the_change_log() {
        let dir = std::env::temp_dir().join(format!("chanrac-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v3.db");
        let _ = std::fs::remove_file(&path);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE chanrac_schema (version INTEGER NOT NULL)")
                .unwrap();
            for (i, sql) in SQLITE[..3].iter().enumerate() {
                conn.execute_batch(sql).unwrap();
                conn.execute("INSERT INTO chanrac_schema (version) VALUES (?1)", [i as i64 + 1])
                    .unwrap();
            }
            conn.execute_batch(
                "INSERT INTO list_entries VALUES ('block', 'senders', '+84912345678', 'spam', 'a', 20);
                 INSERT INTO list_entries VALUES ('block', 'domains', 'evil.xyz', 'phishing', 'b', 10);
                 UPDATE lists_version SET version = 7",
            )
            .unwrap();
        }
        let s = SqliteRecords::open(&path).unwrap();
        let log = s.list_changes(0, 10).await.unwrap();
        let got: Vec<_> = log
            .iter()
            .map(|c| (c.version, c.op, c.entry().unwrap().value.as_str()))
            .collect();
        assert_eq!(
            got,
            [(6, ChangeOp::Add, "evil.xyz"), (7, ChangeOp::Add, "+84912345678")]
        );
        let e = &s.list_entries().await.unwrap()[0];
        assert_eq!((e.source.as_str(), e.first_seen, e.last_seen), ("local", 10, 10));
        let (_, created) = s
            .add_list_entry(
                Side::Allow,
                ListKind::Brandnames,
                "VIETCOMBANK",
                Actor { name: "x", reason: "y" },
            )
            .await
            .unwrap();
        assert!(created);
        assert_eq!(s.list_changes(7, 10).await.unwrap()[0].version, 8);
    }
}
