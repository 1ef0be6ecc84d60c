//! Durable records: list entries with their audit log, and traffic statistics.
//!
//! [`Records`] is the trait; [`SqliteRecords`](sqlite::SqliteRecords) is the embedded
//! backend (one SQLite file in WAL mode, the default), [`PgRecords`](postgres::PgRecords)
//! the shared one for several nodes. [`AnyRecords`] picks one at run time. Every backend
//! passes the suite in [`conformance`].
//!
//! Semantics every backend keeps:
//!
//! - **Durability**: a write returns `Ok` only once it is committed (SQLite with
//!   `synchronous = FULL`, PostgreSQL with its default synchronous commit); what was
//!   acknowledged survives a crash of the process.
//! - **Atomicity**: a list change and its audit record are written in one transaction,
//!   together with the bump of the lists version; a reader never sees one without the other.
//! - **Canonical entries**: list values are stored in their canonical form
//!   ([`chanrac_core::normalize_entry`]), so `0912 345 678` and `+84912345678` are one entry;
//!   adding an entry twice is not an error and changes nothing (no version bump, no audit).
//! - **Versions**: [`Records::lists_version`] grows by one with every change of the lists,
//!   on every node sharing the store; [`Records::changes`] announces new versions (within the
//!   process at once; from other nodes through PostgreSQL `LISTEN/NOTIFY`).
//! - **Statistics** are additive: [`Records::add_stats`] adds counts to per-minute buckets, so
//!   any number of nodes can flush their counts into one store.

pub mod conformance;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

use std::future::Future;

use chanrac_core::{Action, Category, ListKind};
use serde::Serialize;
use tokio::sync::watch;

use crate::StoreError;

/// Which side of the lists an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Allowlist.
    Allow,
    /// Blocklist.
    Block,
}

impl Side {
    /// The lower-case name (`allow`, `block`).
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Allow => "allow",
            Side::Block => "block",
        }
    }

    /// Parses `allow` or `block`.
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "allow" => Some(Side::Allow),
            "block" => Some(Side::Block),
            _ => None,
        }
    }
}

/// One entry of the allow or block lists, with who put it there and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListEntry {
    /// Allow or block.
    pub side: Side,
    /// The kind of entry.
    #[serde(serialize_with = "kind_name")]
    pub kind: ListKind,
    /// The canonical value (`+84912345678`, `+84909*`, `VIETCOMBANK`, `evil.xyz`, digits).
    pub value: String,
    /// Why it is listed.
    pub reason: String,
    /// Who added it (the API key's name, `file:PATH` for entries loaded from files).
    pub added_by: String,
    /// When, in Unix milliseconds.
    pub added_at: i64,
}

fn kind_name<S: serde::Serializer>(k: &ListKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.name())
}

/// Who makes a change and why: what the audit log records.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The API key's name (or `dev` in development mode, `cli` from the command line).
    pub name: &'a str,
    /// The reason given with the change.
    pub reason: &'a str,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Increasing id.
    pub id: i64,
    /// When, in Unix milliseconds.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What was done (`list.add`, `list.remove`, `reload`).
    pub action: String,
    /// On what (`block/senders/+84912345678`).
    pub target: String,
    /// Why.
    pub reason: String,
}

/// Counts of one action and category in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatsRow {
    /// The minute, as the Unix second it starts at.
    pub bucket: i64,
    /// The action.
    pub action: Action,
    /// The category.
    pub category: Category,
    /// How many messages.
    pub count: u64,
}

/// What the top-sources statistics rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TopKind {
    /// Senders of blocked messages.
    Sender,
    /// Domains in blocked messages.
    Domain,
}

impl TopKind {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TopKind::Sender => "sender",
            TopKind::Domain => "domain",
        }
    }

    fn parse(s: &str) -> Option<TopKind> {
        match s {
            "sender" => Some(TopKind::Sender),
            "domain" => Some(TopKind::Domain),
            _ => None,
        }
    }
}

/// A count of blocked messages for one sender or domain in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopRow {
    /// The minute, as the Unix second it starts at.
    pub bucket: i64,
    /// Sender or domain.
    pub kind: TopKind,
    /// The sender key or the domain.
    pub value: String,
    /// How many blocked messages.
    pub count: u64,
}

/// Durable records shared by the nodes of one installation. See the module documentation
/// for the semantics every backend keeps.
pub trait Records: Send + Sync + 'static {
    /// Every list entry.
    fn list_entries(&self) -> impl Future<Output = Result<Vec<ListEntry>, StoreError>> + Send;

    /// Adds an entry (normalized first; an invalid one is [`StoreError::Invalid`]). Returns
    /// the stored entry and whether it is new.
    fn add_list_entry(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
    ) -> impl Future<Output = Result<(ListEntry, bool), StoreError>> + Send;

    /// Removes an entry (in any written form). Returns whether it was there.
    fn remove_list_entry(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The number of list changes ever made.
    fn lists_version(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// New lists versions as they become known.
    fn changes(&self) -> watch::Receiver<i64>;

    /// Records an action that is not a list change (a reload, say) in the audit log.
    fn audit(
        &self,
        action: &str,
        target: &str,
        actor: Actor<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Audit records with an id above `after`, oldest first, at most `limit`.
    fn audit_log(&self, after: i64, limit: usize) -> impl Future<Output = Result<Vec<AuditRecord>, StoreError>> + Send;

    /// Adds counts to the statistics (additive: several nodes may flush the same minute).
    fn add_stats(&self, rows: &[StatsRow], top: &[TopRow]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The per-minute counts with `from <= bucket < to` (Unix seconds), oldest first.
    fn stats(&self, from: i64, to: i64) -> impl Future<Output = Result<Vec<StatsRow>, StoreError>> + Send;

    /// The largest counts of one kind summed over `from <= bucket < to`, largest first.
    fn top(
        &self,
        kind: TopKind,
        from: i64,
        to: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(String, u64)>, StoreError>> + Send;

    /// Succeeds when the store answers (readiness).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The records backend chosen at run time.
#[derive(Clone)]
pub enum AnyRecords {
    /// One SQLite file.
    Sqlite(sqlite::SqliteRecords),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgRecords),
}

impl std::fmt::Debug for AnyRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.backend())
    }
}

impl AnyRecords {
    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyRecords::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            AnyRecords::Postgres(_) => "postgres",
        }
    }
}

/// Forwards a call to the chosen backend.
macro_rules! any {
    ($self:ident, $r:ident => $e:expr) => {
        match $self {
            AnyRecords::Sqlite($r) => $e,
            #[cfg(feature = "postgres")]
            AnyRecords::Postgres($r) => $e,
        }
    };
}

impl Records for AnyRecords {
    async fn list_entries(&self) -> Result<Vec<ListEntry>, StoreError> {
        any!(self, r => r.list_entries().await)
    }
    async fn add_list_entry(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
    ) -> Result<(ListEntry, bool), StoreError> {
        any!(self, r => r.add_list_entry(side, kind, value, actor).await)
    }
    async fn remove_list_entry(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
    ) -> Result<bool, StoreError> {
        any!(self, r => r.remove_list_entry(side, kind, value, actor).await)
    }
    async fn lists_version(&self) -> Result<i64, StoreError> {
        any!(self, r => r.lists_version().await)
    }
    fn changes(&self) -> watch::Receiver<i64> {
        any!(self, r => r.changes())
    }
    async fn audit(&self, action: &str, target: &str, actor: Actor<'_>) -> Result<(), StoreError> {
        any!(self, r => r.audit(action, target, actor).await)
    }
    async fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        any!(self, r => r.audit_log(after, limit).await)
    }
    async fn add_stats(&self, rows: &[StatsRow], top: &[TopRow]) -> Result<(), StoreError> {
        any!(self, r => r.add_stats(rows, top).await)
    }
    async fn stats(&self, from: i64, to: i64) -> Result<Vec<StatsRow>, StoreError> {
        any!(self, r => r.stats(from, to).await)
    }
    async fn top(&self, kind: TopKind, from: i64, to: i64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        any!(self, r => r.top(kind, from, to, limit).await)
    }
    async fn ping(&self) -> Result<(), StoreError> {
        any!(self, r => r.ping().await)
    }
}

/// The current time in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The audit target of a list entry: `block/senders/+84912345678`.
pub(crate) fn list_target(side: Side, kind: ListKind, value: &str) -> String {
    format!("{}/{}/{}", side.as_str(), kind.name(), value)
}

/// The canonical value of an entry, or [`StoreError::Invalid`].
pub(crate) fn canonical(kind: ListKind, value: &str) -> Result<String, StoreError> {
    chanrac_core::normalize_entry(kind, value).map_err(StoreError::Invalid)
}

/// Parses the stored names back into the domain types.
pub(crate) fn parse_row(side: &str, kind: &str) -> Result<(Side, ListKind), StoreError> {
    match (Side::parse(side), ListKind::parse(kind)) {
        (Some(s), Some(k)) => Ok((s, k)),
        _ => Err(StoreError::Corrupt(format!("unknown list {side}/{kind} in the store"))),
    }
}

/// Parses a stored action and category.
pub(crate) fn parse_stats(action: &str, category: &str) -> Result<(Action, Category), StoreError> {
    let a = Action::ALL.into_iter().find(|a| a.as_str() == action);
    match (a, Category::parse(category)) {
        (Some(a), Some(c)) => Ok((a, c)),
        _ => Err(StoreError::Corrupt(format!(
            "unknown statistics key {action}/{category}"
        ))),
    }
}

/// Parses a stored top kind.
pub(crate) fn parse_top(kind: &str) -> Result<TopKind, StoreError> {
    TopKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("unknown top kind {kind}")))
}
