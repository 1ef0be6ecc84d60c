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
use std::sync::Arc;

use chanrac_core::{Action, Category, ListKind};
use serde::Serialize;
use tokio::sync::watch;

use crate::StoreError;

/// Which side of the lists an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ListEntry {
    /// Allow or block.
    pub side: Side,
    /// The kind of entry.
    #[serde(serialize_with = "kind_name", deserialize_with = "kind_parse")]
    pub kind: ListKind,
    /// The canonical value (`+84912345678`, `+84909*`, `VIETCOMBANK`, `evil.xyz`, digits).
    pub value: String,
    /// Why it is listed.
    pub reason: String,
    /// Who added it (the API key's name, `file:PATH` for entries loaded from files).
    pub added_by: String,
    /// When, in Unix milliseconds.
    pub added_at: i64,
    /// Where it comes from: `local` (made on this node), `hub` (an analyst of the hub),
    /// `operator:NAME` (pushed by an operator), `import:NAME` (a third-party list).
    pub source: String,
    /// What supports it: report ids, a campaign, a list's name (free text, may be empty).
    pub evidence: String,
    /// How sure its source is, 0–100.
    pub confidence: u8,
    /// When the source was first seen doing what it is listed for (Unix milliseconds).
    pub first_seen: i64,
    /// When it was last seen (Unix milliseconds).
    pub last_seen: i64,
    /// When the entry stops applying (Unix milliseconds), if ever.
    pub expires_at: Option<i64>,
}

/// The provenance of a new list entry: what [`ListEntry`] carries besides its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// See [`ListEntry::source`].
    pub source: String,
    /// See [`ListEntry::evidence`].
    pub evidence: String,
    /// See [`ListEntry::confidence`] (values above 100 are refused).
    pub confidence: u8,
    /// See [`ListEntry::first_seen`]; `None` for now.
    pub first_seen: Option<i64>,
    /// See [`ListEntry::last_seen`]; `None` for now.
    pub last_seen: Option<i64>,
    /// See [`ListEntry::expires_at`].
    pub expires_at: Option<i64>,
}

impl Provenance {
    /// An entry made on this node by its analyst or its files: source `local`, confidence
    /// 100, seen now, no expiry.
    pub fn local() -> Provenance {
        Provenance {
            source: "local".into(),
            evidence: String::new(),
            confidence: 100,
            first_seen: None,
            last_seen: None,
            expires_at: None,
        }
    }

    /// Refuses a confidence above 100 or a last sighting before the first.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.confidence > 100 {
            return Err(StoreError::Invalid(format!(
                "confidence {} is above 100",
                self.confidence
            )));
        }
        if let (Some(f), Some(l)) = (self.first_seen, self.last_seen)
            && l < f
        {
            return Err(StoreError::Invalid("last_seen is before first_seen".into()));
        }
        if self.source.is_empty() {
            return Err(StoreError::Invalid("an entry needs a source".into()));
        }
        Ok(())
    }
}

/// Whether a change of the lists added or revoked an entry, or installed a rule pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    /// The entry was added.
    Add,
    /// The entry was revoked.
    Remove,
    /// A new version of the hub's keyword rule pack ([`RulePack`]) replaced the previous one.
    Rules,
}

impl ChangeOp {
    fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Add => "add",
            ChangeOp::Remove => "remove",
            ChangeOp::Rules => "rules",
        }
    }

    fn parse(s: &str) -> Result<ChangeOp, StoreError> {
        match s {
            "add" => Ok(ChangeOp::Add),
            "remove" => Ok(ChangeOp::Remove),
            "rules" => Ok(ChangeOp::Rules),
            _ => Err(StoreError::Corrupt(format!("unknown list change {s}"))),
        }
    }
}

/// One change of the lists, as the change log (and the hub's feed) keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ListChange {
    /// The lists version this change made (the feed's cursor).
    pub version: i64,
    /// When, in Unix milliseconds.
    pub at: i64,
    /// Added, revoked, or a rule pack.
    pub op: ChangeOp,
    /// The entry of an addition or a revocation (for a revocation: its value, with the
    /// revocation's reason and actor in `reason` and `added_by`, and the provenance it had).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<ListEntry>,
    /// The whole new rule pack of a [`ChangeOp::Rules`] change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RulePack>,
}

impl ListChange {
    /// The entry of an addition or revocation, or [`StoreError::Invalid`] when it has none.
    pub fn entry(&self) -> Result<&ListEntry, StoreError> {
        self.entry
            .as_ref()
            .ok_or_else(|| StoreError::Invalid(format!("list change {} has no entry", self.version)))
    }

    /// The pack of a rule-pack change, or [`StoreError::Invalid`] when it has none.
    pub fn pack(&self) -> Result<&RulePack, StoreError> {
        self.rules
            .as_ref()
            .ok_or_else(|| StoreError::Invalid(format!("rule-pack change {} has no pack", self.version)))
    }
}

/// One keyword of a [`RulePack`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PackKeyword {
    /// The phrase in folded form (lower case, no diacritics, single spaces), as rules match.
    pub phrase: String,
    /// `spam` or `scam`: which class it marks (its rule's topic is `mined_spam` or
    /// `mined_scam`).
    pub label: String,
    /// The hub's proposal it was approved from.
    pub proposal: i64,
}

/// The hub's rule pack of approved keywords: one version per change of the approved set
/// (an approval, or the rejection of an approved keyword), each the whole set. It reaches
/// operators' nodes through the feed as a [`ChangeOp::Rules`] change, and every node's engine
/// compiles it on top of its own rule packs.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RulePack {
    /// The pack's version: grows by one with every new pack at the hub.
    pub version: i64,
    /// When it was made, Unix milliseconds.
    pub at: i64,
    /// The weight of each keyword's rule.
    pub weight: f32,
    /// The keywords, sorted by phrase.
    pub keywords: Vec<PackKeyword>,
}

impl RulePack {
    /// Refuses a pack that no engine should compile: an empty or unfolded phrase, an
    /// unknown label, a weight that is not a finite number between -20 and 20.
    pub fn check(&self) -> Result<(), StoreError> {
        if !(self.weight.is_finite() && (-20.0..=20.0).contains(&self.weight)) {
            return Err(StoreError::Invalid(format!(
                "rule pack weight {} is out of range",
                self.weight
            )));
        }
        for k in &self.keywords {
            check_phrase(&k.phrase)?;
            if k.label != "spam" && k.label != "scam" {
                return Err(StoreError::Invalid(format!(
                    "keyword label {:?} is not spam or scam",
                    k.label
                )));
            }
        }
        Ok(())
    }
}

/// Refuses a keyword phrase that is not in folded form: empty, over 100 bytes, with upper
/// case, control characters or runs of spaces.
pub(crate) fn check_phrase(p: &str) -> Result<(), StoreError> {
    let folded = !p.is_empty()
        && p.len() <= 100
        && p.trim() == p
        && !p.contains("  ")
        && !p.chars().any(|c| c.is_uppercase() || c.is_control());
    if folded {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "keyword {p:?} is not a folded phrase (lower case, single spaces, at most 100 bytes)"
        )))
    }
}

fn kind_parse<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ListKind, D::Error> {
    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    ListKind::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown list kind {s:?}")))
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

/// What a [`DimRow`] counts: the statistics of [`Records::add_all_stats`] by one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// Checked messages by the sender's operator (`key`; empty when the message did not
    /// say), with the verdict's action and category (`label`).
    Operator,
    /// Checked messages by channel (`key`: `sms`, `ott`, `email`), action and category.
    Channel,
    /// Call detail records by the caller's operator (`key`): `action` is `checked` (one per
    /// record, `label` empty), `suspected` or `blocked` (one per number, when it became so,
    /// `label` its call category).
    Calls,
    /// Advertising rule violations by advertiser (`key`: the advertiser's code, or the
    /// sender when it is not a registered advertiser's): `action` is the message's action,
    /// `label` the `AD_*` signal (every one but `AD_LABEL`).
    Ad,
}

impl Dimension {
    /// Every dimension.
    pub const ALL: [Dimension; 4] = [Dimension::Operator, Dimension::Channel, Dimension::Calls, Dimension::Ad];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Operator => "operator",
            Dimension::Channel => "channel",
            Dimension::Calls => "calls",
            Dimension::Ad => "ad",
        }
    }
}

/// A count by one [`Dimension`] in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DimRow {
    /// The bucket, as the Unix second it starts at (a minute when written).
    pub bucket: i64,
    /// What is counted.
    pub dimension: Dimension,
    /// The operator, channel or advertiser.
    pub key: String,
    /// The action (see [`Dimension`]).
    pub action: String,
    /// The category or signal (see [`Dimension`]).
    pub label: String,
    /// How many.
    pub count: u64,
}

/// A checked message and its verdict, as kept in the verdict log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictRecord {
    /// The store's id (0 before it is stored).
    pub id: i64,
    /// When it was checked, in Unix seconds.
    pub at: i64,
    /// The caller's id for the message, if any.
    pub message_id: Option<String>,
    /// Where it came from: `http`, `smpp`.
    pub source: String,
    /// The sender as given.
    pub sender: Option<String>,
    /// The recipient as given.
    pub recipient: Option<String>,
    /// The text.
    pub text: String,
    /// The action.
    pub action: Action,
    /// The category.
    pub category: Category,
    /// The score.
    pub score: f32,
    /// The reasons, as the JSON array of the verdict.
    pub reasons: String,
}

/// Which verdicts to find (every given field must match).
#[derive(Debug, Clone, Default)]
pub struct VerdictQuery {
    /// The caller's message id.
    pub message_id: Option<String>,
    /// The sender, exactly as given.
    pub sender: Option<String>,
    /// The recipient, exactly as given.
    pub recipient: Option<String>,
    /// The action.
    pub action: Option<Action>,
    /// Checked at or after (Unix seconds).
    pub from: Option<i64>,
    /// Checked before (Unix seconds).
    pub to: Option<i64>,
    /// Records with a store id below this (to page backwards).
    pub before_id: Option<i64>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// A parameter of a verdict search's SQL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SqlParam<'a> {
    Text(&'a str),
    Int(i64),
}

impl VerdictQuery {
    /// The search as SQL naming only the fields given (parameters `$1`, `$2`… in order,
    /// which SQLite binds by position too), with its parameters. Written once for every
    /// search (`?1 IS NULL OR sender = ?1`), the conditions kept SQLite from using any
    /// index (its plan is made before the values are known), so every search read the log
    /// from its newest row until it had `limit` matches. Spelled out, an id is found by
    /// `verdicts_message_id`, a sender's newest rows by `verdicts_sender` and a time range
    /// by `verdicts_at`; a search by recipient or action alone still reads the log newest
    /// first.
    pub(crate) fn sql(&self) -> (String, Vec<SqlParam<'_>>) {
        use std::fmt::Write;
        let mut sql = String::from(
            "SELECT id, at, message_id, source, sender, recipient, text, action, category, score, reasons \
             FROM verdicts WHERE TRUE",
        );
        let conditions = [
            ("message_id =", self.message_id.as_deref().map(SqlParam::Text)),
            ("sender =", self.sender.as_deref().map(SqlParam::Text)),
            ("recipient =", self.recipient.as_deref().map(SqlParam::Text)),
            ("action =", self.action.map(|a| SqlParam::Text(a.as_str()))),
            ("at >=", self.from.map(SqlParam::Int)),
            ("at <", self.to.map(SqlParam::Int)),
            ("id <", self.before_id.map(SqlParam::Int)),
        ];
        let mut params = Vec::with_capacity(conditions.len() + 1);
        for (condition, value) in conditions {
            if let Some(v) = value {
                params.push(v);
                let _ = write!(sql, " AND {condition} ${}", params.len());
            }
        }
        params.push(SqlParam::Int(i64::try_from(self.limit).unwrap_or(i64::MAX)));
        let _ = write!(sql, " ORDER BY id DESC LIMIT ${}", params.len());
        (sql, params)
    }
}

/// Durable records shared by the nodes of one installation. See the module documentation
/// for the semantics every backend keeps.
pub trait Records: Send + Sync + 'static {
    /// Every list entry.
    fn list_entries(&self) -> impl Future<Output = Result<Vec<ListEntry>, StoreError>> + Send;

    /// The entries whose `expires_at` is at or before `now` (Unix ms), soonest expired first,
    /// at most `limit` (what the expiry sweeper revokes).
    fn expired_entries(
        &self,
        now: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ListEntry>, StoreError>> + Send;

    /// Adds an entry (normalized first; an invalid one is [`StoreError::Invalid`]) with the
    /// provenance [`Provenance::local`]. Returns the stored entry and whether it is new.
    fn add_list_entry(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
    ) -> impl Future<Output = Result<(ListEntry, bool), StoreError>> + Send {
        self.add_list_entry_with(side, kind, value, actor, Provenance::local())
    }

    /// Adds an entry with its provenance; like [`Records::add_list_entry`] otherwise (an
    /// entry already listed is returned as it is and nothing changes).
    fn add_list_entry_with(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
        provenance: Provenance,
    ) -> impl Future<Output = Result<(ListEntry, bool), StoreError>> + Send;

    /// The changes of the lists with a version above `since`, oldest first, at most `limit`.
    /// Every version from the first change of the log to [`Records::lists_version`] is in
    /// it exactly once, so a reader that resumes from the last version it saw misses nothing.
    fn list_changes(
        &self,
        since: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ListChange>, StoreError>> + Send;

    /// Applies a page of another store's changes (a hub's feed) in one transaction together
    /// with the cursor of `origin`: the page must start where the stored cursor is (`from`),
    /// else [`StoreError::Conflict`] and nothing is applied; afterwards the cursor is `to`.
    /// An addition is stored with `added_by = sync:ORIGIN` and the upstream provenance
    /// (an entry this node listed itself stays as it is); a revocation removes only an entry
    /// that came from `origin`; a rule pack replaces the one in effect ([`Records::rule_pack`]).
    /// Each effective change is audited and versioned locally.
    /// Returns the local lists version after the page.
    fn apply_feed(
        &self,
        origin: &str,
        from: i64,
        to: i64,
        changes: &[ListChange],
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The rule pack in effect on this node: the last one made here (at the hub) or
    /// installed from a feed, `None` before any.
    fn rule_pack(&self) -> impl Future<Output = Result<Option<RulePack>, StoreError>> + Send;

    /// The cursor of `origin`'s feed stored by [`Records::apply_feed`] (0 before any page).
    fn sync_cursor(&self, origin: &str) -> impl Future<Output = Result<i64, StoreError>> + Send;

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
    fn add_stats(&self, rows: &[StatsRow], top: &[TopRow]) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.add_all_stats(rows, top, &[])
    }

    /// Adds counts to the statistics, the top lists and the counts by dimension in one
    /// transaction (additive), so that the breakdowns of a flush land with its totals or
    /// not at all.
    fn add_all_stats(
        &self,
        rows: &[StatsRow],
        top: &[TopRow],
        dims: &[DimRow],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

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

    /// The counts of `dimension` with `from <= bucket < to`, summed into buckets of `size`
    /// seconds that start at `from` (`from + k * size`; one bucket when `size >= to - from`),
    /// ordered by bucket, key, action and label.
    fn dim_stats(
        &self,
        dimension: Dimension,
        from: i64,
        to: i64,
        size: i64,
    ) -> impl Future<Output = Result<Vec<DimRow>, StoreError>> + Send;

    /// Appends checked messages to the verdict log, in the given order. The rows are
    /// shared: a writer that retries a failed write keeps them, and a store that writes
    /// from another thread (SQLite's blocking pool) takes them there, without copying them.
    fn add_verdicts(&self, records: Arc<[VerdictRecord]>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Finds logged verdicts, newest first.
    fn find_verdicts(
        &self,
        query: &VerdictQuery,
    ) -> impl Future<Output = Result<Vec<VerdictRecord>, StoreError>> + Send;

    /// Deletes logged verdicts checked before `before` (Unix seconds); returns how many.
    fn prune_verdicts(&self, before: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;

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
    async fn expired_entries(&self, now: i64, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        any!(self, r => r.expired_entries(now, limit).await)
    }
    async fn add_list_entry_with(
        &self,
        side: Side,
        kind: ListKind,
        value: &str,
        actor: Actor<'_>,
        provenance: Provenance,
    ) -> Result<(ListEntry, bool), StoreError> {
        any!(self, r => r.add_list_entry_with(side, kind, value, actor, provenance).await)
    }
    async fn list_changes(&self, since: i64, limit: usize) -> Result<Vec<ListChange>, StoreError> {
        any!(self, r => r.list_changes(since, limit).await)
    }
    async fn apply_feed(&self, origin: &str, from: i64, to: i64, changes: &[ListChange]) -> Result<i64, StoreError> {
        any!(self, r => r.apply_feed(origin, from, to, changes).await)
    }
    async fn sync_cursor(&self, origin: &str) -> Result<i64, StoreError> {
        any!(self, r => r.sync_cursor(origin).await)
    }
    async fn rule_pack(&self) -> Result<Option<RulePack>, StoreError> {
        any!(self, r => r.rule_pack().await)
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
    async fn add_all_stats(&self, rows: &[StatsRow], top: &[TopRow], dims: &[DimRow]) -> Result<(), StoreError> {
        any!(self, r => r.add_all_stats(rows, top, dims).await)
    }
    async fn stats(&self, from: i64, to: i64) -> Result<Vec<StatsRow>, StoreError> {
        any!(self, r => r.stats(from, to).await)
    }
    async fn top(&self, kind: TopKind, from: i64, to: i64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        any!(self, r => r.top(kind, from, to, limit).await)
    }
    async fn dim_stats(&self, dimension: Dimension, from: i64, to: i64, size: i64) -> Result<Vec<DimRow>, StoreError> {
        any!(self, r => r.dim_stats(dimension, from, to, size).await)
    }
    async fn add_verdicts(&self, records: Arc<[VerdictRecord]>) -> Result<(), StoreError> {
        any!(self, r => r.add_verdicts(records).await)
    }
    async fn find_verdicts(&self, query: &VerdictQuery) -> Result<Vec<VerdictRecord>, StoreError> {
        any!(self, r => r.find_verdicts(query).await)
    }
    async fn prune_verdicts(&self, before: i64) -> Result<u64, StoreError> {
        any!(self, r => r.prune_verdicts(before).await)
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

/// The columns of a list entry, in the order [`entry_from`] reads them.
pub(crate) const ENTRY_COLUMNS: &str =
    "side, kind, value, reason, added_by, added_at, source, evidence, confidence, first_seen, last_seen, expires_at";

/// The stored values of one entry or change, in the order of [`ENTRY_COLUMNS`] (plus the
/// change's version, time and operation where there is one).
pub(crate) struct EntryRow {
    pub side: String,
    pub kind: String,
    pub value: String,
    pub reason: String,
    pub added_by: String,
    pub added_at: i64,
    pub source: String,
    pub evidence: String,
    pub confidence: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub expires_at: Option<i64>,
}

/// Turns stored values into an entry.
pub(crate) fn entry_from(r: EntryRow) -> Result<ListEntry, StoreError> {
    let (side, kind) = parse_row(&r.side, &r.kind)?;
    Ok(ListEntry {
        side,
        kind,
        value: r.value,
        reason: r.reason,
        added_by: r.added_by,
        added_at: r.added_at,
        source: r.source,
        evidence: r.evidence,
        confidence: r.confidence.clamp(0, 100) as u8,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        expires_at: r.expires_at,
    })
}

/// Turns stored values into a change (`rules`: the pack of a rule-pack change, as JSON).
pub(crate) fn change_from(
    version: i64,
    at: i64,
    op: &str,
    r: EntryRow,
    rules: Option<String>,
) -> Result<ListChange, StoreError> {
    let op = ChangeOp::parse(op)?;
    if op == ChangeOp::Rules {
        let pack = rules.ok_or_else(|| StoreError::Corrupt(format!("rule-pack change {version} has no pack")))?;
        return Ok(ListChange {
            version,
            at,
            op,
            entry: None,
            rules: Some(pack_from_json(&pack)?),
        });
    }
    Ok(ListChange {
        version,
        at,
        op,
        entry: Some(entry_from(r)?),
        rules: None,
    })
}

/// A stored rule pack.
pub(crate) fn pack_from_json(json: &str) -> Result<RulePack, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("stored rule pack: {e}")))
}

/// A rule pack to store.
pub(crate) fn pack_json(pack: &RulePack) -> String {
    // A pack is plain data (strings and numbers): it always serializes.
    serde_json::to_string(pack).unwrap_or_default()
}

/// The audit target of a rule pack: `rules/v3`.
pub(crate) fn pack_target(version: i64) -> String {
    format!("rules/v{version}")
}

/// A new entry as stored.
pub(crate) fn new_entry(
    side: Side,
    kind: ListKind,
    value: String,
    actor: Actor<'_>,
    p: Provenance,
    at: i64,
) -> ListEntry {
    let first_seen = p.first_seen.unwrap_or(at);
    ListEntry {
        side,
        kind,
        value,
        reason: actor.reason.to_string(),
        added_by: actor.name.to_string(),
        added_at: at,
        source: p.source,
        evidence: p.evidence,
        confidence: p.confidence,
        first_seen,
        last_seen: p.last_seen.unwrap_or(first_seen.max(at)),
        expires_at: p.expires_at,
    }
}

/// The `added_by` of entries applied from `origin`'s feed.
pub(crate) fn sync_actor(origin: &str) -> String {
    format!("sync:{origin}")
}

/// Refuses a page whose changes are not in strictly increasing order within `from..=to`.
pub(crate) fn check_page(from: i64, to: i64, changes: &[ListChange]) -> Result<(), StoreError> {
    if to < from {
        return Err(StoreError::Invalid(format!(
            "a feed page from {from} to {to} goes backwards"
        )));
    }
    let mut last = from;
    for c in changes {
        if c.version <= last || c.version > to {
            return Err(StoreError::Invalid(format!(
                "change {} is out of order in the page {from}..{to}",
                c.version
            )));
        }
        last = c.version;
    }
    Ok(())
}

/// The SQL of the change log and the sync cursors, shared by both backends (PostgreSQL's
/// `$n` parameters; SQLite reads them as `?n`).
pub(crate) mod sql {
    /// Appends one change.
    pub const INSERT_CHANGE: &str = "INSERT INTO list_changes (version, at, op, side, kind, value, reason, added_by, added_at, source, evidence, confidence, first_seen, last_seen, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
    /// Inserts one entry.
    pub const INSERT_ENTRY: &str = "INSERT INTO list_entries (side, kind, value, reason, added_by, added_at, source, evidence, confidence, first_seen, last_seen, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (side, kind, value) DO NOTHING";
    /// The changes after a version (the rule pack, if any, in column 15).
    pub const CHANGES: &str = "SELECT version, at, op, side, kind, value, reason, added_by, added_at, source, evidence, confidence, first_seen, last_seen, expires_at, rules FROM list_changes WHERE version > $1 ORDER BY version LIMIT $2";
    /// Appends a rule-pack change: $1 version, $2 time, $3 the pack's version, $4 reason,
    /// $5 actor, $6 source, $7 the pack as JSON.
    pub const INSERT_RULES_CHANGE: &str = "INSERT INTO list_changes (version, at, op, side, kind, value, reason, added_by, added_at, source, evidence, confidence, first_seen, last_seen, expires_at, rules) VALUES ($1, $2, 'rules', '', 'rules', $3, $4, $5, $2, $6, '', 100, $2, $2, NULL, $7)";
    /// Stores a rule pack: $1 its version, $2 time, $3 origin (`local` or the feed's), $4 JSON.
    pub const INSERT_PACK: &str = "INSERT INTO rule_packs (version, at, origin, pack) VALUES ($1, $2, $3, $4)";
    /// The pack in effect: the last stored.
    pub const CURRENT_PACK: &str = "SELECT pack FROM rule_packs ORDER BY id DESC LIMIT 1";
    /// The highest pack version stored.
    pub const LAST_PACK_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM rule_packs";
    /// One origin's cursor.
    pub const CURSOR: &str = "SELECT cursor FROM sync_cursors WHERE origin = $1";
    /// Stores one origin's cursor.
    pub const SET_CURSOR: &str = "INSERT INTO sync_cursors (origin, cursor, updated_at) VALUES ($1, $2, $3) ON CONFLICT (origin) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";
    /// Who added an entry (to decide whether a revocation from a feed applies).
    pub const ADDED_BY: &str = "SELECT added_by FROM list_entries WHERE side = $1 AND kind = $2 AND value = $3";
    /// The expired entries, soonest expired first (`ENTRY_COLUMNS` inserted).
    pub const EXPIRED: &str = "SELECT {} FROM list_entries WHERE expires_at IS NOT NULL AND expires_at <= $1
         ORDER BY expires_at, side, kind, value LIMIT $2";
    /// Removes one entry.
    pub const DELETE_ENTRY: &str = "DELETE FROM list_entries WHERE side = $1 AND kind = $2 AND value = $3";
}

/// The SQL of the statistics by dimension, shared by both backends.
pub(crate) mod dim_sql {
    /// Adds one count.
    pub const ADD: &str =
        "INSERT INTO stats_by (bucket, dimension, key, action, label, count) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (bucket, dimension, key, action, label) DO UPDATE SET count = stats_by.count + excluded.count";
    /// Sums one dimension into buckets of `$4` seconds from `$2`.
    pub const SUM: &str = "SELECT $2 + ((bucket - $2) / $4) * $4 AS b, key, action, label, CAST(SUM(count) AS BIGINT)
         FROM stats_by WHERE dimension = $1 AND bucket >= $2 AND bucket < $3
         GROUP BY b, key, action, label ORDER BY b, key, action, label";
}

/// Refuses a bucket size that is not positive.
pub(crate) fn check_size(size: i64) -> Result<(), StoreError> {
    if size <= 0 {
        return Err(StoreError::Invalid(format!("bucket size {size} is not positive")));
    }
    Ok(())
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
