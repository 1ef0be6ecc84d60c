//! The shared records backend: PostgreSQL, for several `chanrac serve` nodes.
//!
//! A connection pool (deadpool) serves the queries; one more connection `LISTEN`s for list
//! changes, which every writer announces with `NOTIFY` inside its transaction, so that a
//! change made on one node reaches the others as soon as it commits. The listener reconnects
//! by itself; callers should still poll [`Records::lists_version`] now and then, since a
//! notification sent while the listener was reconnecting is lost.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chanrac_core::ListKind;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::watch;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{
    Actor, AuditRecord, ChangeOp, ENTRY_COLUMNS, EntryRow, ListChange, ListEntry, Provenance, Records, RulePack, Side,
    StatsRow, TopKind, TopRow, VerdictQuery, VerdictRecord, canonical, change_from, check_page, entry_from,
    list_target, new_entry, now_ms, pack_from_json, pack_json, pack_target, parse_stats, parse_top, sql, sync_actor,
};
use super::{DimRow, Dimension, SqlParam, check_size, dim_sql};
use crate::StoreError;
use crate::migrations::POSTGRES;

/// Records in PostgreSQL.
#[derive(Clone)]
pub struct PgRecords {
    pub(crate) pool: Pool,
    channel: Arc<str>,
    changes: Arc<watch::Sender<i64>>,
    listener: Arc<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for PgRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgRecords({})", self.channel)
    }
}

impl Drop for PgRecords {
    fn drop(&mut self) {
        // The last clone stops the listener.
        if Arc::strong_count(&self.listener) == 1 {
            self.listener.abort();
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() || e.as_db_error().is_none() {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Backend(Box::new(e))
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl PgRecords {
    /// Connects to `url` (`postgres://user@host/db` or `host=… user=… dbname=…`), brings the
    /// schema up to date and starts listening for list changes.
    pub async fn connect(url: &str) -> Result<PgRecords, StoreError> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("invalid PostgreSQL address {url:?}: {e}")))?;
        Self::connect_config(config).await
    }

    /// [`PgRecords::connect`] with a parsed configuration (to set options such as the
    /// `search_path` of a dedicated schema).
    pub async fn connect_config(mut config: tokio_postgres::Config) -> Result<PgRecords, StoreError> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut client = pool.get().await?;
        migrate(&mut client).await?;
        let schema: String = client.query_one("SELECT current_schema()", &[]).await?.get(0);
        let version: i64 = client
            .query_one("SELECT version FROM lists_version WHERE id = 1", &[])
            .await?
            .get(0);
        drop(client);
        // One channel per schema, so that installations sharing a database (and tests) do
        // not hear each other.
        let channel: Arc<str> = format!(
            "chanrac_lists_{}",
            schema
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        )
        .into();
        let (tx, _) = watch::channel(version);
        let changes = Arc::new(tx);
        let listener = tokio::spawn(listen(config, channel.clone(), changes.clone()));
        Ok(PgRecords {
            pool,
            channel,
            changes,
            listener: Arc::new(listener),
        })
    }
}

/// Keeps a connection that `LISTEN`s on `channel` and publishes the versions it hears,
/// reconnecting with a growing pause when the server goes away.
async fn listen(config: tokio_postgres::Config, channel: Arc<str>, changes: Arc<watch::Sender<i64>>) {
    let mut pause = Duration::from_millis(200);
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (ntx, mut nrx) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(m) = futures_util::StreamExt::next(&mut messages).await {
                        match m {
                            Ok(AsyncMessage::Notification(n)) => {
                                let _ = ntx.send(n.payload().to_string());
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                });
                if client.batch_execute(&format!("LISTEN {channel}")).await.is_ok() {
                    pause = Duration::from_millis(200);
                    // Catch up with what happened while not listening.
                    if let Ok(row) = client
                        .query_one("SELECT version FROM lists_version WHERE id = 1", &[])
                        .await
                    {
                        changes.send_if_modified(|v| {
                            let new: i64 = row.get(0);
                            let grew = new > *v;
                            *v = (*v).max(new);
                            grew
                        });
                    }
                    while let Some(payload) = nrx.recv().await {
                        if let Ok(new) = payload.parse::<i64>() {
                            changes.send_if_modified(|v| {
                                let grew = new > *v;
                                *v = (*v).max(new);
                                grew
                            });
                        }
                    }
                }
                driver.abort();
                tracing::warn!(channel = %channel, "lost the PostgreSQL listener connection; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "cannot connect the PostgreSQL listener; retrying"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Applies the missing migrations under an advisory lock, so that nodes starting together
/// do not race.
async fn migrate(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7250727);
         CREATE TABLE IF NOT EXISTS chanrac_schema (version INTEGER NOT NULL)",
    )
    .await?;
    let have: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM chanrac_schema", &[])
        .await?
        .get(0);
    if have as usize > POSTGRES.len() {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {have}, newer than this chanrac knows ({})",
            POSTGRES.len()
        )));
    }
    for (i, sql) in POSTGRES.iter().enumerate().skip(have as usize) {
        let v = i as i32 + 1;
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Migration(format!("PostgreSQL migration {v}: {e}")))?;
        tx.execute("INSERT INTO chanrac_schema (version) VALUES ($1)", &[&v])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

impl PgRecords {
    /// Bumps the lists version and announces it on commit; returns the new version.
    pub(crate) async fn bump(&self, tx: &deadpool_postgres::Transaction<'_>) -> Result<i64, StoreError> {
        let version: i64 = tx
            .query_one(
                "UPDATE lists_version SET version = version + 1 WHERE id = 1 RETURNING version",
                &[],
            )
            .await?
            .get(0);
        tx.execute("SELECT pg_notify($1, $2)", &[&&*self.channel, &version.to_string()])
            .await?;
        Ok(version)
    }

    pub(crate) fn published(&self, version: i64) {
        self.changes.send_if_modified(|v| {
            let grew = version > *v;
            *v = (*v).max(version);
            grew
        });
    }
}

/// Reads the entry columns ([`ENTRY_COLUMNS`]) starting at column `at`.
fn entry_row(r: &tokio_postgres::Row, at: usize) -> EntryRow {
    EntryRow {
        side: r.get(at),
        kind: r.get(at + 1),
        value: r.get(at + 2),
        reason: r.get(at + 3),
        added_by: r.get(at + 4),
        added_at: r.get(at + 5),
        source: r.get(at + 6),
        evidence: r.get(at + 7),
        confidence: r.get(at + 8),
        first_seen: r.get(at + 9),
        last_seen: r.get(at + 10),
        expires_at: r.get(at + 11),
    }
}

async fn select_entry(
    tx: &deadpool_postgres::Transaction<'_>,
    side: Side,
    kind: ListKind,
    value: &str,
) -> Result<Option<ListEntry>, StoreError> {
    let row = tx
        .query_opt(
            &format!("SELECT {ENTRY_COLUMNS} FROM list_entries WHERE side = $1 AND kind = $2 AND value = $3"),
            &[&side.as_str(), &kind.name(), &value],
        )
        .await?;
    row.map(|r| entry_from(entry_row(&r, 0))).transpose()
}

async fn insert_change(
    tx: &deadpool_postgres::Transaction<'_>,
    version: i64,
    at: i64,
    op: ChangeOp,
    e: &ListEntry,
) -> Result<(), StoreError> {
    tx.execute(
        sql::INSERT_CHANGE,
        &[
            &version,
            &at,
            &op.as_str(),
            &e.side.as_str(),
            &e.kind.name(),
            &e.value,
            &e.reason,
            &e.added_by,
            &e.added_at,
            &e.source,
            &e.evidence,
            &(e.confidence as i64),
            &e.first_seen,
            &e.last_seen,
            &e.expires_at,
        ],
    )
    .await?;
    Ok(())
}

impl PgRecords {
    /// Inserts an entry with its audit record, version and change; `None` when it was listed.
    async fn add_in(&self, tx: &deadpool_postgres::Transaction<'_>, e: &ListEntry) -> Result<Option<i64>, StoreError> {
        let n = tx
            .execute(
                sql::INSERT_ENTRY,
                &[
                    &e.side.as_str(),
                    &e.kind.name(),
                    &e.value,
                    &e.reason,
                    &e.added_by,
                    &e.added_at,
                    &e.source,
                    &e.evidence,
                    &(e.confidence as i64),
                    &e.first_seen,
                    &e.last_seen,
                    &e.expires_at,
                ],
            )
            .await?;
        if n == 0 {
            return Ok(None);
        }
        let target = list_target(e.side, e.kind, &e.value);
        tx.execute(
            INSERT_AUDIT,
            &[&e.added_at, &e.added_by, &"list.add", &target, &e.reason],
        )
        .await?;
        let version = self.bump(tx).await?;
        insert_change(tx, version, e.added_at, ChangeOp::Add, e).await?;
        Ok(Some(version))
    }

    /// Removes an entry with its audit record, version and change; `None` when it was not listed.
    async fn remove_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        side: Side,
        kind: ListKind,
        value: &str,
        who: &str,
        why: &str,
    ) -> Result<Option<i64>, StoreError> {
        let Some(mut e) = select_entry(tx, side, kind, value).await? else {
            return Ok(None);
        };
        tx.execute(sql::DELETE_ENTRY, &[&side.as_str(), &kind.name(), &value])
            .await?;
        let at = now_ms();
        let target = list_target(side, kind, value);
        tx.execute(INSERT_AUDIT, &[&at, &who, &"list.remove", &target, &why])
            .await?;
        let version = self.bump(tx).await?;
        e.reason = why.to_string();
        e.added_by = who.to_string();
        insert_change(tx, version, at, ChangeOp::Remove, &e).await?;
        Ok(Some(version))
    }
}

impl PgRecords {
    /// Stores a rule pack as the one in effect, with its audit record, a version and its
    /// change in the log (which the feed serves); returns the lists version it made.
    pub(crate) async fn install_pack(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        pack: &RulePack,
        origin: &str,
        actor: &str,
        reason: &str,
    ) -> Result<i64, StoreError> {
        pack.check()?;
        let json = pack_json(pack);
        tx.execute(sql::INSERT_PACK, &[&pack.version, &pack.at, &origin, &json])
            .await?;
        let at = now_ms();
        let target = pack_target(pack.version);
        tx.execute(INSERT_AUDIT, &[&at, &actor, &"rules.install", &target, &reason])
            .await?;
        let version = self.bump(tx).await?;
        tx.execute(
            sql::INSERT_RULES_CHANGE,
            &[
                &version,
                &at,
                &pack.version.to_string(),
                &reason,
                &actor,
                &origin,
                &json,
            ],
        )
        .await?;
        Ok(version)
    }
}

const INSERT_AUDIT: &str = "INSERT INTO audit_log (at, actor, action, target, reason) VALUES ($1, $2, $3, $4, $5)";

impl Records for PgRecords {
    async fn list_entries(&self) -> Result<Vec<ListEntry>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {ENTRY_COLUMNS} FROM list_entries ORDER BY side, kind, value"),
                &[],
            )
            .await?;
        rows.iter().map(|r| entry_from(entry_row(r, 0))).collect()
    }

    async fn expired_entries(&self, now: i64, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &sql::EXPIRED.replace("{}", ENTRY_COLUMNS),
                &[&now, &(limit.min(100_000) as i64)],
            )
            .await?;
        rows.iter().map(|r| entry_from(entry_row(r, 0))).collect()
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
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(version) = self.add_in(&tx, &entry).await? else {
            let existing = select_entry(&tx, side, kind, &entry.value)
                .await?
                .ok_or_else(|| StoreError::Corrupt("an entry vanished inside a transaction".into()))?;
            return Ok((existing, false));
        };
        tx.commit().await?;
        self.published(version);
        Ok((entry, true))
    }

    async fn remove_list_entry(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
    ) -> Result<bool, StoreError> {
        let value = canonical(kind, value)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(version) = self
            .remove_in(&tx, side, kind, &value, actor.name, actor.reason)
            .await?
        else {
            return Ok(false);
        };
        tx.commit().await?;
        self.published(version);
        Ok(true)
    }

    async fn list_changes(&self, since: i64, limit: usize) -> Result<Vec<ListChange>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(sql::CHANGES, &[&since, &(limit as i64)]).await?;
        rows.iter()
            .map(|r| change_from(r.get(0), r.get(1), r.get(2), entry_row(r, 3), r.get(15)))
            .collect()
    }

    async fn apply_feed(&self, origin: &str, from: i64, to: i64, changes: &[ListChange]) -> Result<i64, StoreError> {
        check_page(from, to, changes)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One page at a time per origin, whatever the number of nodes.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('chanrac_sync:' || $1))",
            &[&origin],
        )
        .await?;
        let cursor: i64 = tx.query_opt(sql::CURSOR, &[&origin]).await?.map_or(0, |r| r.get(0));
        if cursor != from {
            return Err(StoreError::Conflict(format!(
                "the page from {origin} starts at {from} but this node is at {cursor}"
            )));
        }
        let who = sync_actor(origin);
        let mut version = None;
        for ch in changes {
            let applied = match ch.op {
                ChangeOp::Rules => Some(
                    self.install_pack(&tx, ch.pack()?, origin, &who, "rule pack from the feed")
                        .await?,
                ),
                ChangeOp::Add => {
                    let mut e = ch.entry()?.clone();
                    e.value = canonical(e.kind, &e.value)?;
                    e.added_by = who.clone();
                    e.added_at = now_ms();
                    self.add_in(&tx, &e).await?
                }
                ChangeOp::Remove => {
                    let e = ch.entry()?;
                    let value = canonical(e.kind, &e.value)?;
                    let by: Option<String> = tx
                        .query_opt(sql::ADDED_BY, &[&e.side.as_str(), &e.kind.name(), &value])
                        .await?
                        .map(|r| r.get(0));
                    if by.as_deref() == Some(who.as_str()) {
                        self.remove_in(&tx, e.side, e.kind, &value, &who, &e.reason).await?
                    } else {
                        None
                    }
                }
            };
            version = applied.or(version);
        }
        tx.execute(sql::SET_CURSOR, &[&origin, &to, &now_ms()]).await?;
        let now: i64 = tx
            .query_one("SELECT version FROM lists_version WHERE id = 1", &[])
            .await?
            .get(0);
        tx.commit().await?;
        if let Some(v) = version {
            self.published(v);
        }
        Ok(now)
    }

    async fn sync_cursor(&self, origin: &str) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client.query_opt(sql::CURSOR, &[&origin]).await?.map_or(0, |r| r.get(0)))
    }

    async fn rule_pack(&self) -> Result<Option<RulePack>, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_opt(sql::CURRENT_PACK, &[]).await?;
        row.map(|r| pack_from_json(r.get(0))).transpose()
    }

    async fn lists_version(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        let version: i64 = client
            .query_one("SELECT version FROM lists_version WHERE id = 1", &[])
            .await?
            .get(0);
        self.published(version);
        Ok(version)
    }

    fn changes(&self) -> watch::Receiver<i64> {
        self.changes.subscribe()
    }

    async fn audit(&self, action: &str, target: &str, actor: Actor<'_>) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(INSERT_AUDIT, &[&now_ms(), &actor.name, &action, &target, &actor.reason])
            .await?;
        Ok(())
    }

    async fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, at, actor, action, target, reason FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditRecord {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                target: r.get(4),
                reason: r.get(5),
            })
            .collect())
    }

    async fn add_all_stats(&self, rows: &[StatsRow], top: &[TopRow], dims: &[DimRow]) -> Result<(), StoreError> {
        if rows.is_empty() && top.is_empty() && dims.is_empty() {
            return Ok(());
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let st = tx
            .prepare_cached(
                "INSERT INTO stats (bucket, action, category, count) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (bucket, action, category) DO UPDATE SET count = stats.count + excluded.count",
            )
            .await?;
        for r in rows {
            tx.execute(
                &st,
                &[&r.bucket, &r.action.as_str(), &r.category.as_str(), &(r.count as i64)],
            )
            .await?;
        }
        let st = tx
            .prepare_cached(
                "INSERT INTO stats_top (bucket, kind, value, count) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (bucket, kind, value) DO UPDATE SET count = stats_top.count + excluded.count",
            )
            .await?;
        for t in top {
            tx.execute(&st, &[&t.bucket, &t.kind.as_str(), &t.value, &(t.count as i64)])
                .await?;
        }
        let st = tx.prepare_cached(dim_sql::ADD).await?;
        for r in dims {
            tx.execute(
                &st,
                &[
                    &r.bucket,
                    &r.dimension.as_str(),
                    &r.key,
                    &r.action,
                    &r.label,
                    &(r.count as i64),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn stats(&self, from: i64, to: i64) -> Result<Vec<StatsRow>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT bucket, action, category, count FROM stats WHERE bucket >= $1 AND bucket < $2
                 ORDER BY bucket, action, category",
                &[&from, &to],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let (action, category) = parse_stats(r.get(1), r.get(2))?;
                Ok(StatsRow {
                    bucket: r.get(0),
                    action,
                    category,
                    count: r.get::<_, i64>(3) as u64,
                })
            })
            .collect()
    }

    async fn top(&self, kind: TopKind, from: i64, to: i64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT kind, value, SUM(count)::BIGINT AS n FROM stats_top
                 WHERE kind = $1 AND bucket >= $2 AND bucket < $3
                 GROUP BY kind, value ORDER BY n DESC, value LIMIT $4",
                &[&kind.as_str(), &from, &to, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                parse_top(r.get(0))?;
                Ok((r.get(1), r.get::<_, i64>(2) as u64))
            })
            .collect()
    }

    async fn dim_stats(&self, dimension: Dimension, from: i64, to: i64, size: i64) -> Result<Vec<DimRow>, StoreError> {
        check_size(size)?;
        let client = self.pool.get().await?;
        let rows = client
            .query(dim_sql::SUM, &[&dimension.as_str(), &from, &to, &size])
            .await?;
        Ok(rows
            .iter()
            .map(|r| DimRow {
                bucket: r.get(0),
                dimension,
                key: r.get(1),
                action: r.get(2),
                label: r.get(3),
                count: r.get::<_, i64>(4) as u64,
            })
            .collect())
    }

    async fn add_verdicts(&self, records: Arc<[VerdictRecord]>) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One statement per few thousand rows, each column as an array (a round trip per row
        // made the verdict log's large transactions slow), inserted in the given order.
        let st = tx
            .prepare_cached(
                "INSERT INTO verdicts (at, message_id, source, sender, recipient, text, action, category, score, reasons)
                 SELECT at, message_id, source, sender, recipient, text, action, category, score, reasons
                 FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[],
                             $8::TEXT[], $9::REAL[], $10::TEXT[])
                      WITH ORDINALITY AS r (at, message_id, source, sender, recipient, text, action, category, score,
                                            reasons, n)
                 ORDER BY n",
            )
            .await?;
        for part in records.chunks(5_000) {
            let at: Vec<i64> = part.iter().map(|v| v.at).collect();
            let message_id: Vec<Option<&str>> = part.iter().map(|v| v.message_id.as_deref()).collect();
            let source: Vec<&str> = part.iter().map(|v| v.source.as_str()).collect();
            let sender: Vec<Option<&str>> = part.iter().map(|v| v.sender.as_deref()).collect();
            let recipient: Vec<Option<&str>> = part.iter().map(|v| v.recipient.as_deref()).collect();
            let text: Vec<&str> = part.iter().map(|v| v.text.as_str()).collect();
            let action: Vec<&str> = part.iter().map(|v| v.action.as_str()).collect();
            let category: Vec<&str> = part.iter().map(|v| v.category.as_str()).collect();
            let score: Vec<f32> = part.iter().map(|v| v.score).collect();
            let reasons: Vec<&str> = part.iter().map(|v| v.reasons.as_str()).collect();
            tx.execute(
                &st,
                &[
                    &at,
                    &message_id,
                    &source,
                    &sender,
                    &recipient,
                    &text,
                    &action,
                    &category,
                    &score,
                    &reasons,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn find_verdicts(&self, q: &VerdictQuery) -> Result<Vec<VerdictRecord>, StoreError> {
        let client = self.pool.get().await?;
        let (sql, params) = q.sql();
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| match p {
                SqlParam::Text(t) => t as &(dyn ToSql + Sync),
                SqlParam::Int(n) => n,
            })
            .collect();
        let rows = client.query(&sql, &refs).await?;
        rows.iter()
            .map(|r| {
                let (action, category) = parse_stats(r.get(7), r.get(8))?;
                Ok(VerdictRecord {
                    id: r.get(0),
                    at: r.get(1),
                    message_id: r.get(2),
                    source: r.get(3),
                    sender: r.get(4),
                    recipient: r.get(5),
                    text: r.get(6),
                    action,
                    category,
                    score: r.get(9),
                    reasons: r.get(10),
                })
            })
            .collect()
    }

    async fn prune_verdicts(&self, before: i64) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client.execute("DELETE FROM verdicts WHERE at < $1", &[&before]).await?)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.query_one("SELECT 1", &[]).await?;
        Ok(())
    }
}
