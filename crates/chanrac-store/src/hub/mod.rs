//! Durable records of the regulator's hub: spam reports and the sources they accuse, the
//! Do-Not-Call register with its history and one-time passwords, advertisers, brandnames and
//! ad copies.
//!
//! [`HubRecords`] is the trait; [`SqliteRecords`](crate::records::sqlite::SqliteRecords) and
//! [`PgRecords`](crate::records::postgres::PgRecords) implement it on the same store as the
//! lists (one file or one database), and [`AnyRecords`] forwards to the one in use. Every
//! backend passes [`conformance`].
//!
//! Semantics every backend keeps, on top of those of [`crate::records`]:
//!
//! - **Durability**: a report, a DNC change or an ad copy is committed (fsynced) before the
//!   call returns `Ok`; what was acknowledged survives `kill -9`.
//! - **One transaction per report**: the report, the reporter's rate count and its source's
//!   count and status are written together; a reader never sees a report without its
//!   effect on the source.
//! - **Distinct reporters**: a source's `reporters` is the number of distinct reporters of
//!   counted reports in the window; reports beyond a reporter's allowance are kept
//!   (`counted = false`) but move nothing.
//! - **Escalation only rises**: `reported` → `watch` → `proposed` by the thresholds; an
//!   analyst's `confirmed` or `rejected` stands until an analyst changes it.
//! - **Idempotent DNC**: registering twice changes nothing but adds a history line; the
//!   register holds only numbers with at least one flag.
//! - **One-time passwords** are stored as hashes, used once, void after the expiry or too
//!   many wrong tries; a confirmed password applies its DNC change in the same transaction.
//!   The key of the hashes is a secret kept in the store ([`HubRecords::hub_secret`]), so a
//!   request survives a restart and is confirmed on any node.
//! - **The outbox** (SMS to subscribers) is durable: a message added is committed; a claim
//!   hands each message to one sender at a time (a lease: a sender that dies lets it go
//!   back after the lease), oldest first, never after its expiry; a message ends `sent`,
//!   `taken` (handed to a gateway for good) or `failed`.
//! - **Keyword proposals** are one per phrase: mining again updates the figures of a
//!   proposal still `proposed`, and leaves an `approved` or `rejected` one as the analyst
//!   left it (a rejected phrase never comes back by itself). A decision that changes the
//!   approved set makes a new [`RulePack`] version, installed and put in the feed as one
//!   change, in the same transaction as the decision and its audit record.

pub mod conformance;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

use std::future::Future;

use serde::Serialize;

use crate::StoreError;
use crate::records::{Actor, AnyRecords, PackKeyword, RulePack};

/// A report to store.
#[derive(Debug, Clone, Default)]
pub struct NewReport {
    /// When it arrived, Unix milliseconds.
    pub at: i64,
    /// How it came: `sms` (the short code over HTTP), `smpp`, `api`.
    pub via: String,
    /// The reporter's canonical number (or the API key's name for structured reports).
    pub reporter: String,
    /// `spam`, `call`, `fraud` or `unparsed`.
    pub kind: String,
    /// The reported source as written.
    pub source: Option<String>,
    /// Its canonical key (`+84912345678`, `VAYTIEN`), for grouping.
    pub source_key: Option<String>,
    /// The reported content.
    pub content: String,
    /// The content's fingerprint key, for grouping.
    pub content_key: Option<String>,
    /// The content's LSH band keys (three, or none for a text too short to have reliable
    /// ones): reports sharing one are near-duplicates and group together.
    pub content_bands: Vec<String>,
    /// The whole text as received (for an SMS report), or empty.
    pub raw: String,
    /// Files attached to it (screenshots, recordings), stored with it in its transaction.
    pub evidence: Vec<NewEvidence>,
}

/// A file attached to a report, to store. The caller checks its size and type.
#[derive(Debug, Clone, Default)]
pub struct NewEvidence {
    /// The file name the reporter gave (for the analyst's download).
    pub name: String,
    /// Its MIME type, as read from its bytes.
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// A stored evidence file, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The store's id.
    pub id: i64,
    /// The report it belongs to.
    pub report_id: i64,
    /// The file name.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// The limits and thresholds a report is counted with.
#[derive(Debug, Clone, Copy)]
pub struct ReportLimits {
    /// Reports of the reporter since this time (Unix ms) count toward `reporter_max`.
    pub reporter_since: i64,
    /// Counted reports a reporter may have in its window; beyond, a report is not counted.
    pub reporter_max: u32,
    /// Distinct reporters of a source are counted since this time (Unix ms).
    pub group_since: i64,
    /// Distinct reporters that put a source on the watch list.
    pub watch_at: u32,
    /// Distinct reporters that propose a source for the block list.
    pub propose_at: u32,
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The store's id (the reference is derived from it).
    pub id: i64,
    /// When it arrived, Unix milliseconds.
    pub at: i64,
    /// How it came.
    pub via: String,
    /// Who reported it (visible to analysts only).
    pub reporter: String,
    /// `spam`, `call`, `fraud` or `unparsed`.
    pub kind: String,
    /// The source as written.
    pub source: Option<String>,
    /// The source's canonical key.
    pub source_key: Option<String>,
    /// The content.
    pub content: String,
    /// The content's fingerprint key.
    pub content_key: Option<String>,
    /// The content's LSH band keys (none for a short text).
    pub content_bands: Vec<String>,
    /// The text as received.
    pub raw: String,
    /// False when the reporter had used up its allowance: kept, but not counted.
    pub counted: bool,
    /// `open`, `confirmed` (its source was confirmed: training data) or `rejected`.
    pub status: String,
}

/// What storing a report did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportAdded {
    /// The stored report.
    pub report: Report,
    /// Its source after the report, if it named one.
    pub source: Option<SourceRecord>,
    /// The evidence files stored with it.
    pub evidence: Vec<Evidence>,
    /// Distinct counted reporters of the same or a near-duplicate content (same exact key,
    /// or a shared LSH band) in the window (0 without content).
    pub content_reporters: u32,
}

/// A reported source and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    /// The canonical key.
    pub key: String,
    /// `reported`, `watch`, `proposed`, `confirmed` or `rejected`.
    pub status: String,
    /// Distinct counted reporters in the window, as of the last report.
    pub reporters: u32,
    /// Reports ever received about it.
    pub reports: u64,
    /// First report, Unix ms.
    pub first_at: i64,
    /// Last report, Unix ms.
    pub last_at: i64,
    /// The analyst who decided, if any.
    pub decided_by: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// Which reports to list.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    /// Reports about this source key.
    pub source_key: Option<String>,
    /// With this status (`open`, `confirmed`, `rejected`).
    pub status: Option<String>,
    /// Of this kind.
    pub kind: Option<String>,
    /// With an id below this (paging backwards).
    pub before_id: Option<i64>,
    /// Whose content is the same or a near-duplicate of this: (exact key, band keys).
    pub similar: Option<(String, Vec<String>)>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// One change request on the Do-Not-Call register, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncEvent {
    /// The store's id.
    pub id: i64,
    /// When, Unix ms.
    pub at: i64,
    /// The number's canonical key (`+84912345678`).
    pub number: String,
    /// `register` or `cancel`.
    pub action: String,
    /// The flags asked for (1 messages, 2 calls).
    pub scope: u8,
    /// The flags before.
    pub before: u8,
    /// The flags after.
    pub after: u8,
    /// How: `sms`, `smpp`, `api` (after an OTP), `import`.
    pub via: String,
    /// Who: the number itself, or the API key or CLI user of an import.
    pub actor: String,
}

/// The outcome of a one-time password check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OtpOutcome {
    /// Right: the change is applied.
    Confirmed {
        /// The change.
        event: DncEvent,
    },
    /// Wrong code; `left` tries remain.
    Wrong {
        /// Tries left.
        left: u32,
    },
    /// Expired, used, voided by too many tries, or unknown.
    Void,
}

/// An advertiser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advertiser {
    /// The management code the regulator issued.
    pub code: String,
    /// The name.
    pub name: String,
    /// `active`, `suspended` or `revoked`.
    pub status: String,
    /// Last change, Unix ms.
    pub updated_at: i64,
}

/// A brandname (sender id) of an advertiser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Brandname {
    /// The canonical name (upper case).
    pub name: String,
    /// The advertiser's code.
    pub advertiser: String,
    /// The operators it is declared on (`viettel`, `vinaphone`…), comma-separated.
    pub operators: String,
    /// `active`, `suspended` or `revoked`.
    pub status: String,
    /// Last change, Unix ms.
    pub updated_at: i64,
}

/// An ad copy to store.
#[derive(Debug, Clone, Default)]
pub struct NewAdCopy {
    /// When it arrived, Unix ms.
    pub at: i64,
    /// `sms` (`FW` to the short code), `smpp` or `api`.
    pub via: String,
    /// Who sent it: the advertiser's number or the API key's name.
    pub sender: String,
    /// The brandname it will be sent under, if known.
    pub brandname: Option<String>,
    /// The ad text.
    pub text: String,
    /// Planned window, Unix seconds (start inclusive, end exclusive), if given.
    pub window: Option<(i64, i64)>,
    /// Planned number of recipients, if given.
    pub recipients: Option<i64>,
}

/// A stored ad copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdCopy {
    /// The store's id.
    pub id: i64,
    /// When it arrived, Unix ms.
    pub at: i64,
    /// How it came.
    pub via: String,
    /// Who sent it.
    pub sender: String,
    /// The brandname.
    pub brandname: Option<String>,
    /// The ad text.
    pub text: String,
    /// Planned window start, Unix seconds.
    pub window_from: Option<i64>,
    /// Planned window end, Unix seconds.
    pub window_to: Option<i64>,
    /// Planned recipients.
    pub recipients: Option<i64>,
}

/// A keyword proposal as a mining run makes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewProposal {
    /// The phrase in folded form (lower case, no diacritics, single spaces).
    pub phrase: String,
    /// `spam` or `scam`: the class it occurs in more.
    pub label: String,
    /// Its z-score (log-odds with an informative Dirichlet prior).
    pub z: f64,
    /// The log-odds ratio.
    pub log_odds: f64,
    /// Unwanted messages containing it.
    pub unwanted_docs: u32,
    /// Unwanted messages mined.
    pub unwanted_total: u32,
    /// Ham messages containing it.
    pub ham_docs: u32,
    /// Ham messages of the baseline.
    pub ham_total: u32,
    /// The 95 % upper confidence bound of its ham rate.
    pub ham_rate_upper: f64,
    /// Unwanted messages the engine missed that it catches and no better proposal does.
    pub adds_docs: u32,
    /// A few unwanted messages containing it.
    pub examples: Vec<String>,
    /// What mined it: `cli`, `api:KEYNAME`, `scheduled`.
    pub source: String,
}

/// A stored keyword proposal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeywordProposal {
    /// The store's id.
    pub id: i64,
    /// The phrase in folded form.
    pub phrase: String,
    /// `spam` or `scam`.
    pub label: String,
    /// Its z-score, as of the last mining run that updated it.
    pub z: f64,
    /// The log-odds ratio.
    pub log_odds: f64,
    /// Unwanted messages containing it.
    pub unwanted_docs: u32,
    /// Unwanted messages mined.
    pub unwanted_total: u32,
    /// Ham messages containing it.
    pub ham_docs: u32,
    /// Ham messages of the baseline.
    pub ham_total: u32,
    /// The 95 % upper confidence bound of its ham rate.
    pub ham_rate_upper: f64,
    /// The recall it adds (unwanted messages only it catches among the missed ones).
    pub adds_docs: u32,
    /// A few unwanted messages containing it.
    pub examples: Vec<String>,
    /// What mined it last.
    pub source: String,
    /// `proposed`, `approved` or `rejected`.
    pub status: String,
    /// First proposed, Unix ms.
    pub proposed_at: i64,
    /// Last updated by a mining run or a decision, Unix ms.
    pub updated_at: i64,
    /// The analyst who decided, if any.
    pub decided_by: Option<String>,
    /// When, Unix ms.
    pub decided_at: Option<i64>,
    /// Why.
    pub reason: Option<String>,
}

/// What storing a mining run's proposals did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ProposalsMerged {
    /// New phrases, now `proposed`.
    pub added: u32,
    /// Phrases still `proposed` whose figures were updated.
    pub updated: u32,
    /// Phrases already approved or rejected, left as they were.
    pub decided: u32,
}

/// What an analyst's decision on a keyword did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeywordDecision {
    /// The proposal after the decision.
    pub proposal: KeywordProposal,
    /// The new rule pack, when the decision changed the approved set.
    pub pack: Option<RulePack>,
    /// The lists version the new pack made (its place in the feed), if any.
    pub lists_version: Option<i64>,
}

/// An SMS the hub sends to a subscriber, to store.
#[derive(Debug, Clone, Default)]
pub struct NewOutgoing {
    /// When it was queued, Unix ms.
    pub at: i64,
    /// The address it is sent from (the short code).
    pub sender: String,
    /// The subscriber's canonical number.
    pub recipient: String,
    /// The text.
    pub text: String,
    /// What it is: `otp`.
    pub kind: String,
    /// Not sent after this time (Unix ms), if any: a one-time password past its expiry is
    /// worthless.
    pub expires_at: Option<i64>,
}

/// A stored outbox message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outgoing {
    /// The store's id.
    pub id: i64,
    /// When it was queued, Unix ms.
    pub at: i64,
    /// The address it is sent from.
    pub sender: String,
    /// The subscriber's canonical number.
    pub recipient: String,
    /// The text.
    pub text: String,
    /// What it is.
    pub kind: String,
    /// Not sent after this time, Unix ms.
    pub expires_at: Option<i64>,
    /// `pending`, `claimed`, `sent`, `taken` or `failed`.
    pub state: String,
    /// How many times it was claimed.
    pub attempts: i64,
    /// Who claimed it last (`smpp:NODE`, `gateway:KEY`).
    pub claimed_by: Option<String>,
    /// The SMSC's message id once sent.
    pub message_id: Option<String>,
    /// The last failure.
    pub error: Option<String>,
}

/// How a claimed outbox message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// The SMSC accepted it with this message id.
    Sent(String),
    /// Not sent this time (the reason): claimable again.
    Retry(String),
    /// Given up (the reason).
    Failed(String),
}

/// The hub's durable records. See the module documentation for the semantics.
pub trait HubRecords: Send + Sync + 'static {
    /// Stores a report, counts it against its reporter's allowance and its source's
    /// thresholds, in one transaction.
    fn add_report(
        &self,
        report: &NewReport,
        limits: ReportLimits,
    ) -> impl Future<Output = Result<ReportAdded, StoreError>> + Send;

    /// One report.
    fn report(&self, id: i64) -> impl Future<Output = Result<Option<Report>, StoreError>> + Send;

    /// Reports, newest first.
    fn reports(&self, query: &ReportQuery) -> impl Future<Output = Result<Vec<Report>, StoreError>> + Send;

    /// Reported sources with a status (all when `None`), most reporters first.
    fn sources(
        &self,
        status: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<SourceRecord>, StoreError>> + Send;

    /// An analyst confirms (`confirmed`) or rejects (`rejected`) a source: its open reports
    /// take the same status, and the audit log records it, in one transaction. `None` when
    /// no report ever named the source.
    fn decide_source(
        &self,
        key: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> impl Future<Output = Result<Option<SourceRecord>, StoreError>> + Send;

    /// Registers (`register`) or cancels (`cancel`) the flags of `scope` for a number
    /// (canonical key), at `at` (Unix ms); returns the history line.
    fn dnc_change(
        &self,
        number: &str,
        register: bool,
        scope: u8,
        via: &str,
        actor: &str,
        at: i64,
    ) -> impl Future<Output = Result<DncEvent, StoreError>> + Send;

    /// Sets many numbers' flags at once (an import), in one transaction; returns how many
    /// changed. A flag value of 0 removes the number.
    fn dnc_import(
        &self,
        entries: &[(String, u8)],
        actor: &str,
        at: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Every registered number and its flags.
    fn dnc_entries(&self) -> impl Future<Output = Result<Vec<(String, u8)>, StoreError>> + Send;

    /// The history of a number, oldest first.
    fn dnc_history(&self, number: &str) -> impl Future<Output = Result<Vec<DncEvent>, StoreError>> + Send;

    /// History lines of every number with an id above `after`, in id order, at most
    /// `limit`: how a node follows the changes other nodes make. Ids are assigned at
    /// insert, so a reader should re-read a margin below the last id it saw (changes of
    /// one number are serialized, so replaying them in id order is safe).
    fn dnc_events_since(
        &self,
        after: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DncEvent>, StoreError>> + Send;

    /// The id of the last history line (0 when none).
    fn dnc_last_event_id(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Stores a one-time password request (its hash); returns its id.
    fn otp_create(
        &self,
        number: &str,
        register: bool,
        scope: u8,
        code_hash: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Checks a password for request `id` at `now` (Unix ms); a right one applies the
    /// change (via `api`) in the same transaction.
    fn otp_confirm(
        &self,
        id: i64,
        code_hash: &str,
        now: i64,
        max_attempts: u32,
    ) -> impl Future<Output = Result<OtpOutcome, StoreError>> + Send;

    /// Creates or updates an advertiser (audited); returns it and whether it is new.
    fn put_advertiser(
        &self,
        code: &str,
        name: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> impl Future<Output = Result<(Advertiser, bool), StoreError>> + Send;

    /// Every advertiser.
    fn advertisers(&self) -> impl Future<Output = Result<Vec<Advertiser>, StoreError>> + Send;

    /// Creates or updates a brandname of an existing advertiser (audited). An unknown
    /// advertiser is [`StoreError::Invalid`].
    fn put_brandname(
        &self,
        name: &str,
        advertiser: &str,
        operators: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> impl Future<Output = Result<(Brandname, bool), StoreError>> + Send;

    /// Every brandname.
    fn brandnames(&self) -> impl Future<Output = Result<Vec<Brandname>, StoreError>> + Send;

    /// Stores an ad copy; returns it with its id.
    fn add_ad_copy(&self, copy: &NewAdCopy) -> impl Future<Output = Result<AdCopy, StoreError>> + Send;

    /// Ad copies received at or after `since` (Unix ms), oldest first, at most `limit`.
    fn ad_copies(&self, since: i64, limit: usize) -> impl Future<Output = Result<Vec<AdCopy>, StoreError>> + Send;

    /// What the hub received with `from <= at < to` (Unix ms): reports by kind, way in and
    /// status, reports per bucket of `size` ms starting at `from`, the `top` most reported
    /// sources, DNC requests, ad copies.
    fn activity(
        &self,
        from: i64,
        to: i64,
        size: i64,
        top: usize,
    ) -> impl Future<Output = Result<HubActivity, StoreError>> + Send;

    /// Stores a mining run's proposals at `at` (Unix ms), in one transaction: a new phrase
    /// is `proposed`, a `proposed` one gets the new figures, a decided one is left alone.
    fn propose_keywords(
        &self,
        proposals: &[NewProposal],
        at: i64,
    ) -> impl Future<Output = Result<ProposalsMerged, StoreError>> + Send;

    /// Keyword proposals with a status (all when `None`), best z-score first.
    fn keyword_proposals(
        &self,
        status: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<KeywordProposal>, StoreError>> + Send;

    /// An analyst approves (`approved`) or rejects (`rejected`) a proposal, audited. When the
    /// approved set changes (an approval, or the rejection of an approved keyword), a new
    /// [`RulePack`] of every approved keyword, each with rule weight `weight`, is installed
    /// and put in the feed in the same transaction. `None` when there is no such proposal;
    /// the same decision twice changes nothing.
    fn decide_keyword(
        &self,
        id: i64,
        status: &str,
        actor: Actor<'_>,
        weight: f32,
    ) -> impl Future<Output = Result<Option<KeywordDecision>, StoreError>> + Send;

    /// The secret called `name`: the one stored, or `fresh` when none was (then stored).
    /// Every caller gets the same value, however many race.
    fn hub_secret(&self, name: &str, fresh: &str) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// Queues an SMS to a subscriber (committed on return).
    fn outbox_add(&self, message: &NewOutgoing) -> impl Future<Output = Result<Outgoing, StoreError>> + Send;

    /// Claims at most `limit` messages for `by`, oldest first: those pending, and those
    /// claimed whose lease ended (`lease_until` ≤ `now`), never one past its expiry. With a
    /// `lease_until` they become `claimed` until then (the claimer reports with
    /// [`HubRecords::outbox_finish`]); without, they are `taken` for good (a gateway that
    /// pulls them sends them itself).
    fn outbox_claim(
        &self,
        by: &str,
        now: i64,
        lease_until: Option<i64>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Outgoing>, StoreError>> + Send;

    /// Records how a claimed message ended, at `now` (Unix ms).
    fn outbox_finish(
        &self,
        id: i64,
        outcome: &OutboxOutcome,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The last `limit` outbox messages, newest first.
    fn outbox_recent(&self, limit: usize) -> impl Future<Output = Result<Vec<Outgoing>, StoreError>> + Send;

    /// A stamp of the advertiser register (advertisers, brandnames, ad copies) that changes
    /// with every change to it, whichever node made it: how a node knows to reload it.
    fn ad_register_stamp(&self) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;

    /// Declares the number an advertiser sends from (a canonical number; its `FW` copies
    /// by SMS are its own), audited. A number belongs to one advertiser: declaring it again
    /// moves it. An unknown advertiser is [`StoreError::Invalid`].
    fn put_advertiser_number(
        &self,
        number: &str,
        advertiser: &str,
        actor: Actor<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every declared number and its advertiser, by number.
    fn advertiser_numbers(&self) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;

    /// The evidence files of a report, in the order they were given.
    fn evidence(&self, report_id: i64) -> impl Future<Output = Result<Vec<Evidence>, StoreError>> + Send;

    /// One evidence file of a report with its bytes.
    fn evidence_file(
        &self,
        report_id: i64,
        id: i64,
    ) -> impl Future<Output = Result<Option<(Evidence, Vec<u8>)>, StoreError>> + Send;
}

/// Reports of one kind, way in and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportCount {
    /// `spam`, `call`, `fraud` or `unparsed`.
    pub kind: String,
    /// `sms`, `smpp`, `api`, `operator`.
    pub via: String,
    /// `open`, `confirmed` or `rejected` (what an analyst made of it).
    pub status: String,
    /// How many.
    pub count: u64,
}

/// DNC history lines of one action and way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncCount {
    /// `register` or `cancel`.
    pub action: String,
    /// `sms`, `smpp`, `api`, `import`.
    pub via: String,
    /// Requests (history lines).
    pub requests: u64,
    /// Requests that changed the register (registering twice changes nothing).
    pub changed: u64,
}

/// A source as reported within a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportedSource {
    /// Its canonical key.
    pub key: String,
    /// Reports of it in the period.
    pub reports: u64,
    /// Distinct reporters in the period.
    pub reporters: u64,
    /// Its status now (`reported`, `watch`, `proposed`, `confirmed`, `rejected`).
    pub status: String,
}

/// The hub's activity over a period (the ministry's report): reports and how they were
/// handled, DNC requests, ad copies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HubActivity {
    /// Reports by kind, way in and status.
    pub reports: Vec<ReportCount>,
    /// Reports per bucket: (bucket start in Unix ms, count), buckets without reports left out.
    pub report_series: Vec<(i64, u64)>,
    /// The most reported sources, most reports first.
    pub top_sources: Vec<ReportedSource>,
    /// DNC requests by action and way in.
    pub dnc: Vec<DncCount>,
    /// Ad copies received.
    pub ad_copies: u64,
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

impl HubRecords for AnyRecords {
    async fn add_report(&self, report: &NewReport, limits: ReportLimits) -> Result<ReportAdded, StoreError> {
        any!(self, r => r.add_report(report, limits).await)
    }
    async fn report(&self, id: i64) -> Result<Option<Report>, StoreError> {
        any!(self, r => r.report(id).await)
    }
    async fn reports(&self, query: &ReportQuery) -> Result<Vec<Report>, StoreError> {
        any!(self, r => r.reports(query).await)
    }
    async fn sources(&self, status: Option<&str>, limit: usize) -> Result<Vec<SourceRecord>, StoreError> {
        any!(self, r => r.sources(status, limit).await)
    }
    async fn decide_source(
        &self,
        key: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> Result<Option<SourceRecord>, StoreError> {
        any!(self, r => r.decide_source(key, status, actor).await)
    }
    async fn dnc_change(
        &self,
        number: &str,
        register: bool,
        scope: u8,
        via: &str,
        actor: &str,
        at: i64,
    ) -> Result<DncEvent, StoreError> {
        any!(self, r => r.dnc_change(number, register, scope, via, actor, at).await)
    }
    async fn dnc_import(&self, entries: &[(String, u8)], actor: &str, at: i64) -> Result<u64, StoreError> {
        any!(self, r => r.dnc_import(entries, actor, at).await)
    }
    async fn dnc_entries(&self) -> Result<Vec<(String, u8)>, StoreError> {
        any!(self, r => r.dnc_entries().await)
    }
    async fn dnc_history(&self, number: &str) -> Result<Vec<DncEvent>, StoreError> {
        any!(self, r => r.dnc_history(number).await)
    }
    async fn dnc_events_since(&self, after: i64, limit: usize) -> Result<Vec<DncEvent>, StoreError> {
        any!(self, r => r.dnc_events_since(after, limit).await)
    }
    async fn dnc_last_event_id(&self) -> Result<i64, StoreError> {
        any!(self, r => r.dnc_last_event_id().await)
    }
    async fn otp_create(
        &self,
        number: &str,
        register: bool,
        scope: u8,
        code_hash: &str,
        expires_at: i64,
    ) -> Result<i64, StoreError> {
        any!(self, r => r.otp_create(number, register, scope, code_hash, expires_at).await)
    }
    async fn otp_confirm(
        &self,
        id: i64,
        code_hash: &str,
        now: i64,
        max_attempts: u32,
    ) -> Result<OtpOutcome, StoreError> {
        any!(self, r => r.otp_confirm(id, code_hash, now, max_attempts).await)
    }
    async fn put_advertiser(
        &self,
        code: &str,
        name: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> Result<(Advertiser, bool), StoreError> {
        any!(self, r => r.put_advertiser(code, name, status, actor).await)
    }
    async fn advertisers(&self) -> Result<Vec<Advertiser>, StoreError> {
        any!(self, r => r.advertisers().await)
    }
    async fn put_brandname(
        &self,
        name: &str,
        advertiser: &str,
        operators: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> Result<(Brandname, bool), StoreError> {
        any!(self, r => r.put_brandname(name, advertiser, operators, status, actor).await)
    }
    async fn brandnames(&self) -> Result<Vec<Brandname>, StoreError> {
        any!(self, r => r.brandnames().await)
    }
    async fn add_ad_copy(&self, copy: &NewAdCopy) -> Result<AdCopy, StoreError> {
        any!(self, r => r.add_ad_copy(copy).await)
    }
    async fn ad_copies(&self, since: i64, limit: usize) -> Result<Vec<AdCopy>, StoreError> {
        any!(self, r => r.ad_copies(since, limit).await)
    }
    async fn propose_keywords(&self, proposals: &[NewProposal], at: i64) -> Result<ProposalsMerged, StoreError> {
        any!(self, r => r.propose_keywords(proposals, at).await)
    }
    async fn keyword_proposals(&self, status: Option<&str>, limit: usize) -> Result<Vec<KeywordProposal>, StoreError> {
        any!(self, r => r.keyword_proposals(status, limit).await)
    }
    async fn decide_keyword(
        &self,
        id: i64,
        status: &str,
        actor: Actor<'_>,
        weight: f32,
    ) -> Result<Option<KeywordDecision>, StoreError> {
        any!(self, r => r.decide_keyword(id, status, actor, weight).await)
    }
    async fn hub_secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        any!(self, r => r.hub_secret(name, fresh).await)
    }
    async fn outbox_add(&self, message: &NewOutgoing) -> Result<Outgoing, StoreError> {
        any!(self, r => r.outbox_add(message).await)
    }
    async fn outbox_claim(
        &self,
        by: &str,
        now: i64,
        lease_until: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Outgoing>, StoreError> {
        any!(self, r => r.outbox_claim(by, now, lease_until, limit).await)
    }
    async fn outbox_finish(&self, id: i64, outcome: &OutboxOutcome, now: i64) -> Result<(), StoreError> {
        any!(self, r => r.outbox_finish(id, outcome, now).await)
    }
    async fn outbox_recent(&self, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        any!(self, r => r.outbox_recent(limit).await)
    }
    async fn ad_register_stamp(&self) -> Result<Vec<i64>, StoreError> {
        any!(self, r => r.ad_register_stamp().await)
    }
    async fn put_advertiser_number(&self, number: &str, advertiser: &str, actor: Actor<'_>) -> Result<(), StoreError> {
        any!(self, r => r.put_advertiser_number(number, advertiser, actor).await)
    }
    async fn advertiser_numbers(&self) -> Result<Vec<(String, String)>, StoreError> {
        any!(self, r => r.advertiser_numbers().await)
    }
    async fn evidence(&self, report_id: i64) -> Result<Vec<Evidence>, StoreError> {
        any!(self, r => r.evidence(report_id).await)
    }
    async fn evidence_file(&self, report_id: i64, id: i64) -> Result<Option<(Evidence, Vec<u8>)>, StoreError> {
        any!(self, r => r.evidence_file(report_id, id).await)
    }
    async fn activity(&self, from: i64, to: i64, size: i64, top: usize) -> Result<HubActivity, StoreError> {
        any!(self, r => r.activity(from, to, size, top).await)
    }
}

/// Statuses of keyword proposals.
pub(crate) const PROPOSAL_STATUSES: &[&str] = &["proposed", "approved", "rejected"];

/// Checks a mining run's proposal before it reaches the table.
pub(crate) fn check_proposal(p: &NewProposal) -> Result<(), StoreError> {
    crate::records::check_phrase(&p.phrase)?;
    check_one_of("keyword label", &p.label, &["spam", "scam"])?;
    if !(p.z.is_finite() && p.log_odds.is_finite() && p.ham_rate_upper.is_finite()) {
        return Err(StoreError::Invalid(format!(
            "proposal {:?} has figures that are not numbers",
            p.phrase
        )));
    }
    if p.source.is_empty() {
        return Err(StoreError::Invalid("a proposal needs its source".into()));
    }
    Ok(())
}

/// The examples column (a JSON array of texts).
pub(crate) fn examples_json(examples: &[String]) -> String {
    serde_json::to_string(examples).unwrap_or_else(|_| "[]".into())
}

/// The rule pack of the approved proposals (sorted by phrase) after `last_version`.
pub(crate) fn pack_of(approved: &[KeywordProposal], last_version: i64, weight: f32, at: i64) -> RulePack {
    let mut keywords: Vec<PackKeyword> = approved
        .iter()
        .map(|p| PackKeyword {
            phrase: p.phrase.clone(),
            label: p.label.clone(),
            proposal: p.id,
        })
        .collect();
    keywords.sort_by(|a, b| a.phrase.cmp(&b.phrase));
    RulePack {
        version: last_version + 1,
        at,
        weight,
        keywords,
    }
}

/// The audit target of a proposal: `keyword/12`.
pub(crate) fn proposal_target(id: i64) -> String {
    format!("keyword/{id}")
}

pub(crate) fn evidence_from(r: &impl Cols) -> Result<Evidence, StoreError> {
    Ok(Evidence {
        id: r.int(0)?,
        report_id: r.int(1)?,
        name: r.text(2)?,
        content_type: r.text(3)?,
        size: r.int(4)?,
        sha256: r.text(5)?,
    })
}

/// What a stored evidence file is, from what was stored.
pub(crate) fn evidence_stored(id: i64, report_id: i64, e: &NewEvidence) -> Evidence {
    Evidence {
        id,
        report_id,
        name: e.name.clone(),
        content_type: e.content_type.clone(),
        size: e.data.len() as i64,
        sha256: e.sha256.clone(),
    }
}

/// The state and columns an [`OutboxOutcome`] writes: (state, message_id, error).
pub(crate) fn outbox_outcome(o: &OutboxOutcome) -> (&'static str, Option<&str>, Option<&str>) {
    match o {
        OutboxOutcome::Sent(id) => ("sent", Some(id), None),
        OutboxOutcome::Retry(e) => ("pending", None, Some(e)),
        OutboxOutcome::Failed(e) => ("failed", None, Some(e)),
    }
}

pub(crate) fn outgoing_from(r: &impl Cols) -> Result<Outgoing, StoreError> {
    Ok(Outgoing {
        id: r.int(0)?,
        at: r.int(1)?,
        sender: r.text(2)?,
        recipient: r.text(3)?,
        text: r.text(4)?,
        kind: r.text(5)?,
        expires_at: r.opt_int(6)?,
        state: r.text(7)?,
        attempts: r.int(8)?,
        claimed_by: r.opt_text(9)?,
        message_id: r.opt_text(10)?,
        error: r.opt_text(11)?,
    })
}

/// Checks the closed vocabularies before they reach a table.
pub(crate) fn check_one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), StoreError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{field} {value:?} is not one of {}",
            allowed.join(", ")
        )))
    }
}

/// Statuses of advertisers and brandnames.
pub(crate) const REGISTER_STATUSES: &[&str] = &["active", "suspended", "revoked"];

/// The flags after a register or cancel request.
pub(crate) fn dnc_after(before: u8, register: bool, scope: u8) -> u8 {
    if register { before | scope } else { before & !scope }
}

/// The SQL shared by both backends, with PostgreSQL's `$1` parameters (the SQLite backend
/// reads them as `?1`).
pub(crate) mod sql {
    pub const REPORT_COLUMNS: &str =
        "id, at, via, reporter, kind, source, source_key, content, content_key, raw, counted, status,
         content_band0, content_band1, content_band2";
    pub const SOURCE_COLUMNS: &str = "key, status, reporters, reports, first_at, last_at, decided_by, reason";
    pub const DNC_COLUMNS: &str = "id, at, number, action, scope, before_flags, after_flags, via, actor";
    pub const ADVERTISER_COLUMNS: &str = "code, name, status, updated_at";
    pub const BRANDNAME_COLUMNS: &str = "name, advertiser, operators, status, updated_at";
    pub const COPY_COLUMNS: &str = "id, at, via, sender, brandname, text, window_from, window_to, recipients";

    pub const REPORTER_COUNT: &str = "SELECT COUNT(*) FROM reports WHERE reporter = $1 AND at >= $2 AND counted = 1";
    pub const INSERT_REPORT: &str =
        "INSERT INTO reports (at, via, reporter, kind, source, source_key, content, content_key, raw, counted, status,
                              content_band0, content_band1, content_band2)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12, $13) RETURNING id";
    pub const DISTINCT_BY_SOURCE: &str =
        "SELECT COUNT(DISTINCT reporter) FROM reports WHERE source_key = $1 AND at >= $2 AND counted = 1";
    pub const DISTINCT_BY_CONTENT: &str = "SELECT COUNT(DISTINCT reporter) FROM reports
         WHERE (content_key = $1 OR content_band0 = $3 OR content_band1 = $4 OR content_band2 = $5)
           AND at >= $2 AND counted = 1";
    /// Upserts a source with its new count and raises its status by the thresholds ($4
    /// watch, $5 proposed); a decided source keeps its status.
    pub const UPSERT_SOURCE: &str = "INSERT INTO sources (key, status, reporters, reports, first_at, last_at)
         VALUES ($1, CASE WHEN CAST($2 AS BIGINT) >= CAST($5 AS BIGINT) THEN 'proposed'
                         WHEN CAST($2 AS BIGINT) >= CAST($4 AS BIGINT) THEN 'watch' ELSE 'reported' END,
                 $2, 1, $3, $3)
         ON CONFLICT (key) DO UPDATE SET
           reporters = excluded.reporters, reports = sources.reports + 1, last_at = excluded.last_at,
           status = CASE
             WHEN sources.status IN ('confirmed', 'rejected', 'proposed') THEN sources.status
             WHEN excluded.status = 'reported' THEN sources.status
             ELSE excluded.status END
         RETURNING key, status, reporters, reports, first_at, last_at, decided_by, reason";
    pub const DECIDE_SOURCE: &str = "UPDATE sources SET status = $2, decided_by = $3, reason = $4 WHERE key = $1
         RETURNING key, status, reporters, reports, first_at, last_at, decided_by, reason";
    pub const DECIDE_REPORTS: &str = "UPDATE reports SET status = $2 WHERE source_key = $1 AND status = 'open'";
    pub const INSERT_AUDIT: &str =
        "INSERT INTO audit_log (at, actor, action, target, reason) VALUES ($1, $2, $3, $4, $5)";

    pub const DNC_SINCE: &str = "SELECT id, at, number, action, scope, before_flags, after_flags, via, actor
         FROM dnc_history WHERE id > $1 ORDER BY id LIMIT $2";
    pub const DNC_LAST_ID: &str = "SELECT COALESCE(MAX(id), 0) FROM dnc_history";
    pub const DNC_FLAGS: &str = "SELECT flags FROM dnc WHERE number = $1";
    pub const DNC_UPSERT: &str = "INSERT INTO dnc (number, flags, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (number) DO UPDATE SET flags = excluded.flags, updated_at = excluded.updated_at";
    pub const DNC_DELETE: &str = "DELETE FROM dnc WHERE number = $1";
    pub const DNC_HISTORY_INSERT: &str =
        "INSERT INTO dnc_history (at, number, action, scope, before_flags, after_flags, via, actor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    pub const OTP_INSERT: &str = "INSERT INTO dnc_otp (number, register, scope, code_hash, expires_at, attempts, done)
         VALUES ($1, $2, $3, $4, $5, 0, 0) RETURNING id";
    pub const OTP_GET: &str =
        "SELECT number, register, scope, code_hash, expires_at, attempts, done FROM dnc_otp WHERE id = $1";
    pub const OTP_TRY: &str = "UPDATE dnc_otp SET attempts = attempts + 1, done = $2 WHERE id = $1";

    pub const ADVERTISER_UPSERT: &str = "INSERT INTO advertisers (code, name, status, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, status = excluded.status, updated_at = excluded.updated_at
         RETURNING code, name, status, updated_at";
    pub const ADVERTISER_EXISTS: &str = "SELECT COUNT(*) FROM advertisers WHERE code = $1";
    pub const BRANDNAME_EXISTS: &str = "SELECT COUNT(*) FROM brandnames WHERE name = $1";
    pub const BRANDNAME_UPSERT: &str =
        "INSERT INTO brandnames (name, advertiser, operators, status, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET advertiser = excluded.advertiser, operators = excluded.operators,
           status = excluded.status, updated_at = excluded.updated_at
         RETURNING name, advertiser, operators, status, updated_at";
    pub const PROPOSAL_COLUMNS: &str = "id, phrase, label, z, log_odds, unwanted_docs, unwanted_total, ham_docs, ham_total, ham_rate_upper, adds_docs, examples, source, status, proposed_at, updated_at, decided_by, decided_at, reason";
    /// A new phrase: $1 phrase … $12 source, $13 time.
    pub const PROPOSAL_INSERT: &str = "INSERT INTO keyword_proposals (phrase, label, z, log_odds, unwanted_docs, unwanted_total, ham_docs, ham_total, ham_rate_upper, adds_docs, examples, source, status, proposed_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'proposed', $13, $13) ON CONFLICT (phrase) DO NOTHING";
    /// New figures for a phrase still proposed (same parameters).
    pub const PROPOSAL_UPDATE: &str = "UPDATE keyword_proposals SET label = $2, z = $3, log_odds = $4, unwanted_docs = $5, unwanted_total = $6, ham_docs = $7, ham_total = $8, ham_rate_upper = $9, adds_docs = $10, examples = $11, source = $12, updated_at = $13
         WHERE phrase = $1 AND status = 'proposed'";
    pub const PROPOSAL_DECIDE: &str = "UPDATE keyword_proposals SET status = $2, decided_by = $3, decided_at = $4, reason = $5, updated_at = $4 WHERE id = $1";
    pub const OUTBOX_COLUMNS: &str =
        "id, at, sender, recipient, text, kind, expires_at, state, attempts, claimed_by, message_id, error";
    pub const SECRET_INSERT: &str =
        "INSERT INTO hub_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
    pub const SECRET_GET: &str = "SELECT value FROM hub_secrets WHERE name = $1";
    pub const OUTBOX_INSERT: &str =
        "INSERT INTO outbox (at, sender, recipient, text, kind, expires_at, state, attempts, lease_until)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, 0)
         RETURNING id, at, sender, recipient, text, kind, expires_at, state, attempts, claimed_by, message_id, error";
    /// The messages a claim may take ($1 now, $2 limit).
    pub const OUTBOX_CLAIMABLE: &str = "SELECT id FROM outbox
         WHERE (state = 'pending' OR (state = 'claimed' AND lease_until <= $1))
           AND (expires_at IS NULL OR expires_at > $1)
         ORDER BY id LIMIT $2";
    /// Claims one message ($1 id, $2 state, $3 lease, $4 by, $5 now), if still claimable.
    pub const OUTBOX_CLAIM_ONE: &str = "UPDATE outbox SET state = $2, lease_until = $3, claimed_by = $4,
           attempts = attempts + 1, done_at = CASE WHEN $2 = 'taken' THEN $5 ELSE done_at END
         WHERE id = $1 AND (state = 'pending' OR (state = 'claimed' AND lease_until <= $5))
         RETURNING id, at, sender, recipient, text, kind, expires_at, state, attempts, claimed_by, message_id, error";
    pub const OUTBOX_FINISH: &str = "UPDATE outbox SET state = $2, message_id = COALESCE($3, message_id),
           error = COALESCE($4, error), done_at = $5, lease_until = 0
         WHERE id = $1 AND state = 'claimed'";
    /// Counts and sums of the update times (a sum changes with any update, whatever the
    /// writer's clock), and the last copy (copies are only added).
    pub const AD_STAMP: &str = "SELECT
         (SELECT COUNT(*) FROM advertisers), (SELECT COALESCE(SUM(updated_at), 0) FROM advertisers),
         (SELECT COUNT(*) FROM brandnames), (SELECT COALESCE(SUM(updated_at), 0) FROM brandnames),
         (SELECT COALESCE(MAX(id), 0) FROM ad_copies),
         (SELECT COUNT(*) FROM advertiser_numbers), (SELECT COALESCE(SUM(updated_at), 0) FROM advertiser_numbers)";
    pub const NUMBER_UPSERT: &str =
        "INSERT INTO advertiser_numbers (number, advertiser, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (number) DO UPDATE SET advertiser = excluded.advertiser, updated_at = excluded.updated_at";
    pub const NUMBERS: &str = "SELECT number, advertiser FROM advertiser_numbers ORDER BY number";
    pub const EVIDENCE_COLUMNS: &str = "id, report_id, name, content_type, size, sha256";
    pub const EVIDENCE_INSERT: &str =
        "INSERT INTO report_evidence (report_id, name, content_type, size, sha256, data) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id";
    pub const REPORT_COUNTS: &str = "SELECT kind, via, status, COUNT(*) FROM reports WHERE at >= $1 AND at < $2
         GROUP BY kind, via, status ORDER BY kind, via, status";
    pub const REPORT_SERIES: &str = "SELECT $1 + ((at - $1) / $3) * $3 AS b, COUNT(*) FROM reports
         WHERE at >= $1 AND at < $2 GROUP BY b ORDER BY b";
    pub const TOP_REPORTED: &str = "SELECT r.source_key, COUNT(*) AS n, COUNT(DISTINCT r.reporter),
           COALESCE(MAX(s.status), 'reported')
         FROM reports r LEFT JOIN sources s ON s.key = r.source_key
         WHERE r.at >= $1 AND r.at < $2 AND r.source_key IS NOT NULL
         GROUP BY r.source_key ORDER BY n DESC, r.source_key LIMIT $3";
    pub const DNC_COUNTS: &str = "SELECT action, via, COUNT(*),
           CAST(SUM(CASE WHEN after_flags <> before_flags THEN 1 ELSE 0 END) AS BIGINT)
         FROM dnc_history WHERE at >= $1 AND at < $2 GROUP BY action, via ORDER BY action, via";
    pub const COPY_COUNT: &str = "SELECT COUNT(*) FROM ad_copies WHERE at >= $1 AND at < $2";
    pub const COPY_INSERT: &str =
        "INSERT INTO ad_copies (at, via, sender, brandname, text, window_from, window_to, recipients)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
}

/// Reads a result row's columns, whichever backend it came from.
pub(crate) trait Cols {
    /// An integer column.
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    /// An integer column that may be NULL.
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    /// A text column.
    fn text(&self, i: usize) -> Result<String, StoreError>;
    /// A text column that may be NULL.
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    /// A floating-point column.
    fn float(&self, i: usize) -> Result<f64, StoreError>;
}

pub(crate) fn report_from(r: &impl Cols) -> Result<Report, StoreError> {
    Ok(Report {
        id: r.int(0)?,
        at: r.int(1)?,
        via: r.text(2)?,
        reporter: r.text(3)?,
        kind: r.text(4)?,
        source: r.opt_text(5)?,
        source_key: r.opt_text(6)?,
        content: r.text(7)?,
        content_key: r.opt_text(8)?,
        raw: r.text(9)?,
        counted: r.int(10)? != 0,
        status: r.text(11)?,
        content_bands: [r.opt_text(12)?, r.opt_text(13)?, r.opt_text(14)?]
            .into_iter()
            .flatten()
            .collect(),
    })
}

pub(crate) fn source_from(r: &impl Cols) -> Result<SourceRecord, StoreError> {
    Ok(SourceRecord {
        key: r.text(0)?,
        status: r.text(1)?,
        reporters: r.int(2)?.clamp(0, u32::MAX as i64) as u32,
        reports: r.int(3)?.max(0) as u64,
        first_at: r.int(4)?,
        last_at: r.int(5)?,
        decided_by: r.opt_text(6)?,
        reason: r.opt_text(7)?,
    })
}

pub(crate) fn dnc_from(r: &impl Cols) -> Result<DncEvent, StoreError> {
    Ok(DncEvent {
        id: r.int(0)?,
        at: r.int(1)?,
        number: r.text(2)?,
        action: r.text(3)?,
        scope: r.int(4)? as u8,
        before: r.int(5)? as u8,
        after: r.int(6)? as u8,
        via: r.text(7)?,
        actor: r.text(8)?,
    })
}

pub(crate) fn advertiser_from(r: &impl Cols) -> Result<Advertiser, StoreError> {
    Ok(Advertiser {
        code: r.text(0)?,
        name: r.text(1)?,
        status: r.text(2)?,
        updated_at: r.int(3)?,
    })
}

pub(crate) fn brandname_from(r: &impl Cols) -> Result<Brandname, StoreError> {
    Ok(Brandname {
        name: r.text(0)?,
        advertiser: r.text(1)?,
        operators: r.text(2)?,
        status: r.text(3)?,
        updated_at: r.int(4)?,
    })
}

pub(crate) fn copy_from(r: &impl Cols) -> Result<AdCopy, StoreError> {
    Ok(AdCopy {
        id: r.int(0)?,
        at: r.int(1)?,
        via: r.text(2)?,
        sender: r.text(3)?,
        brandname: r.opt_text(4)?,
        text: r.text(5)?,
        window_from: r.opt_int(6)?,
        window_to: r.opt_int(7)?,
        recipients: r.opt_int(8)?,
    })
}

pub(crate) fn proposal_from(r: &impl Cols) -> Result<KeywordProposal, StoreError> {
    let examples = r.text(11)?;
    Ok(KeywordProposal {
        id: r.int(0)?,
        phrase: r.text(1)?,
        label: r.text(2)?,
        z: r.float(3)?,
        log_odds: r.float(4)?,
        unwanted_docs: r.int(5)?.clamp(0, u32::MAX as i64) as u32,
        unwanted_total: r.int(6)?.clamp(0, u32::MAX as i64) as u32,
        ham_docs: r.int(7)?.clamp(0, u32::MAX as i64) as u32,
        ham_total: r.int(8)?.clamp(0, u32::MAX as i64) as u32,
        ham_rate_upper: r.float(9)?,
        adds_docs: r.int(10)?.clamp(0, u32::MAX as i64) as u32,
        examples: serde_json::from_str(&examples)
            .map_err(|e| StoreError::Corrupt(format!("examples of keyword proposal: {e}")))?,
        source: r.text(12)?,
        status: r.text(13)?,
        proposed_at: r.int(14)?,
        updated_at: r.int(15)?,
        decided_by: r.opt_text(16)?,
        decided_at: r.opt_int(17)?,
        reason: r.opt_text(18)?,
    })
}

/// The query of [`HubRecords::keyword_proposals`] (`$1`: the status, when given).
pub(crate) fn proposals_query(with_status: bool, limit: usize) -> String {
    format!(
        "SELECT {} FROM keyword_proposals{} ORDER BY z DESC, id LIMIT {}",
        sql::PROPOSAL_COLUMNS,
        if with_status { " WHERE status = $1" } else { "" },
        limit.min(10_000)
    )
}

pub(crate) fn report_count_from(r: &impl Cols) -> Result<ReportCount, StoreError> {
    Ok(ReportCount {
        kind: r.text(0)?,
        via: r.text(1)?,
        status: r.text(2)?,
        count: r.int(3)?.max(0) as u64,
    })
}

pub(crate) fn series_from(r: &impl Cols) -> Result<(i64, u64), StoreError> {
    Ok((r.int(0)?, r.int(1)?.max(0) as u64))
}

pub(crate) fn reported_from(r: &impl Cols) -> Result<ReportedSource, StoreError> {
    Ok(ReportedSource {
        key: r.text(0)?,
        reports: r.int(1)?.max(0) as u64,
        reporters: r.int(2)?.max(0) as u64,
        status: r.text(3)?,
    })
}

pub(crate) fn dnc_count_from(r: &impl Cols) -> Result<DncCount, StoreError> {
    Ok(DncCount {
        action: r.text(0)?,
        via: r.text(1)?,
        requests: r.int(2)?.max(0) as u64,
        changed: r.opt_int(3)?.unwrap_or(0).max(0) as u64,
    })
}

/// The WHERE clause and parameters of a report query (`$1`… numbered from 1).
pub(crate) fn report_filter(q: &ReportQuery) -> (String, Vec<ReportParam>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    let mut add = |clause: &str, p: ReportParam| {
        params.push(p);
        clauses.push(format!("{clause} ${}", params.len()));
    };
    if let Some(k) = &q.source_key {
        add("source_key =", ReportParam::Text(k.clone()));
    }
    if let Some(s) = &q.status {
        add("status =", ReportParam::Text(s.clone()));
    }
    if let Some(k) = &q.kind {
        add("kind =", ReportParam::Text(k.clone()));
    }
    if let Some(b) = q.before_id {
        add("id <", ReportParam::Int(b));
    }
    if let Some((key, bands)) = &q.similar {
        let mut any = vec![format!("content_key = ${}", params.len() + 1)];
        params.push(ReportParam::Text(key.clone()));
        for (i, b) in bands.iter().take(3).enumerate() {
            params.push(ReportParam::Text(b.clone()));
            any.push(format!("content_band{i} = ${}", params.len()));
        }
        clauses.push(format!("({})", any.join(" OR ")));
    }
    let mut sql = format!("SELECT {} FROM reports", sql::REPORT_COLUMNS);
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", q.limit.min(10_000)));
    (sql, params)
}

/// One parameter of a report query.
pub(crate) enum ReportParam {
    Text(String),
    Int(i64),
}

/// A report's band keys as the three optional columns.
pub(crate) fn band_columns(bands: &[String]) -> [Option<String>; 3] {
    [bands.first().cloned(), bands.get(1).cloned(), bands.get(2).cloned()]
}

/// Checks what a report may hold.
pub(crate) fn check_report(r: &NewReport) -> Result<(), StoreError> {
    check_one_of("report kind", &r.kind, &["spam", "call", "fraud", "unparsed"])?;
    if r.reporter.trim().is_empty() {
        return Err(StoreError::Invalid("a report needs its reporter".into()));
    }
    Ok(())
}

/// The target of an audit record about a source.
pub(crate) fn source_target(key: &str) -> String {
    format!("source/{key}")
}
