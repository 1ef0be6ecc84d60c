//! The regulator's hub over HTTP: the short-code line (`POST /v1/mo`), spam reports and the
//! watch list, the Do-Not-Call register (scrub, OTP-confirmed requests, import and export),
//! advertisers, brandnames and ad copies (docs/hub.md).
//!
//! The logic is `chanrac-hub`'s (parsing, replies, the DNC index) and the store's
//! (`HubRecords`: every acknowledged record is committed first); this module checks roles,
//! reads the clock and keeps the in-memory DNC index in step with the store.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chanrac_core::fingerprint::Fingerprinter;
use chanrac_core::phone::SenderId;
use chanrac_core::state::{StateKey, StateOp, StatePlan, Windows};
use chanrac_core::{AdFacts, Engine, ListKind, Message};
use chanrac_hub::ads::AdCopies;
use chanrac_hub::dnc::{self, DncIndex, format_key, msisdn};
use chanrac_hub::mo::{self, DncScope, Mo, ReportKind};
use chanrac_hub::report::{SourceStatus, content_bands, content_key, mask_reporter};
use chanrac_store::hub::{
    AdCopy, Advertiser, Brandname, DncEvent, Evidence, HubRecords, NewAdCopy, NewEvidence, NewOutgoing, NewReport,
    OtpOutcome, OutboxOutcome, Report, ReportLimits, ReportQuery, SourceRecord,
};
use chanrac_store::records::{Actor, AnyRecords, Records, Side};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::Metrics;
use crate::state::AppState;

/// Who feeds the short-code line: the operator's SMSC gateway, or the regulator.
const LINE: &[Role] = &[Role::Operator, Role::Regulator];
/// Who reads reports and the watch list.
const ANALYSTS: &[Role] = &[Role::Regulator, Role::Operator];
/// Who decides and manages the registers.
const REGULATOR: &[Role] = &[Role::Regulator];
/// Who may scrub a list of numbers against the DNC register.
const SCRUBBERS: &[Role] = &[Role::Advertiser, Role::Operator, Role::Regulator];
/// Who may file a report or a DNC request from the web or an app.
const ANYONE: &[Role] = &[Role::Public, Role::Regulator, Role::Operator];
/// Who may submit ad copies.
const ADVERTISERS: &[Role] = &[Role::Advertiser, Role::Regulator];

/// An SMS the hub sends to a subscriber, as a gateway takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Outgoing {
    /// The outbox id.
    pub id: i64,
    /// The number (canonical).
    pub to: String,
    /// The address to send it from (the short code).
    pub from: String,
    /// The text.
    pub text: String,
}

/// How long the SMPP sender holds a claimed outbox message before another node may take it
/// over (a node killed while sending).
const OUTBOX_LEASE_MS: i64 = 60_000;
/// Tries of one outbox message over SMPP before it is given up.
const OUTBOX_MAX_ATTEMPTS: i64 = 5;

/// What the firewall needs of the advertiser register: active brandnames and the copies
/// submitted for them.
#[derive(Debug, Default)]
struct AdRegister {
    /// Active brandnames of active advertisers → the advertiser's code.
    brands: HashMap<String, String>,
    /// Submitted copies by brandname.
    copies: AdCopies,
    /// Numbers of active advertisers → their active brandnames (sorted), for `FW` copies
    /// by SMS.
    numbers: HashMap<String, Vec<String>>,
}

impl AdRegister {
    /// The brandname an `FW` copy from `number` is for, and the copy without it: the
    /// advertiser's only active brandname, or the one the copy starts with (`FW FPTSHOP
    /// …`); `None` when the number is no advertiser's or the brandname is ambiguous.
    fn copy_brand<'t>(&self, number: &str, copy: &'t str) -> (Option<String>, &'t str) {
        let Some(brands) = self.numbers.get(number) else {
            return (None, copy);
        };
        let trimmed = copy.trim_start();
        let (first, rest) = trimmed.split_once(char::is_whitespace).unwrap_or((trimmed, ""));
        if let Some(b) = brands.iter().find(|b| b.eq_ignore_ascii_case(first)) {
            return (Some(b.clone()), rest.trim_start());
        }
        match brands.as_slice() {
            [only] => (Some(only.clone()), copy),
            _ => (None, copy),
        }
    }
}

/// Ads sent per (advertiser, recipient): the times (Unix seconds) within the last 24 hours.
type SentAds = HashMap<(String, u64), VecDeque<i64>>;

/// Entries of [`SentAds`] kept before the stale ones are swept.
const SENT_MAX: usize = 1 << 20;

/// The prefix of an ad cap's shared counter key ([`HubState::plan_ad_cap`]).
const AD_CAP_PREFIX: &str = "ad:";

thread_local! {
    /// Each thread's fingerprinter for matching ads to copies.
    static FINGERPRINTER: RefCell<Fingerprinter> = RefCell::new(Fingerprinter::new(true));
}

/// The hub's part of the server state.
pub struct HubState {
    /// The advertiser register in memory, rebuilt on each change.
    ads: ArcSwap<AdRegister>,
    /// Ads recently let through, for `AD_OVER_CAP`.
    sent: Mutex<SentAds>,
    /// The Do-Not-Call register in memory, swapped whole on each change.
    dnc: ArcSwap<DncIndex>,
    /// One DNC change at a time, so that the index follows the store's order.
    dnc_writes: tokio::sync::Mutex<()>,
    /// The last DNC history id this node's index follows.
    dnc_seen: std::sync::atomic::AtomicI64,
    /// Wakes the SMPP sender when a message enters the outbox.
    outbox_added: tokio::sync::Notify,
    /// Keys the one-time password hashes; kept in the store (`hub_secrets`), so that a
    /// request is confirmed after a restart and on any node.
    otp_key: [u8; 32],
    /// The public role's report allowances (per key, per key and reporter).
    public_reports: crate::auth::MinuteAllowance,
    /// The store's advertiser register stamp the register in memory was built from.
    ads_stamp: Mutex<Vec<i64>>,
}

impl std::fmt::Debug for HubState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HubState({} DNC numbers)", self.dnc.load().len())
    }
}

impl HubState {
    /// Loads the DNC register from the store.
    pub async fn load(records: &AnyRecords) -> Result<HubState, String> {
        // The last change first: what commits while the register is read is caught up.
        let seen = records.dnc_last_event_id().await.map_err(|e| e.to_string())?;
        let entries = records.dnc_entries().await.map_err(|e| e.to_string())?;
        let mut bad = 0;
        let index = DncIndex::new(entries.iter().filter_map(|(n, f)| {
            let k = msisdn(n);
            bad += k.is_none() as usize;
            k.map(|k| (k, *f))
        }));
        if bad > 0 {
            tracing::warn!(bad, "DNC numbers in the store that do not parse were skipped");
        }
        tracing::info!(numbers = index.len(), "Do-Not-Call register loaded");
        let otp_key = otp_key(records).await?;
        // The stamp first: a change made while the register is read reloads it again.
        let ads_stamp = records.ad_register_stamp().await.map_err(|e| e.to_string())?;
        let ads = load_ads(records).await?;
        Ok(HubState {
            ads: ArcSwap::from_pointee(ads),
            sent: Mutex::new(HashMap::new()),
            dnc: ArcSwap::from_pointee(index),
            dnc_writes: tokio::sync::Mutex::new(()),
            dnc_seen: std::sync::atomic::AtomicI64::new(seen),
            outbox_added: tokio::sync::Notify::new(),
            otp_key,
            public_reports: crate::auth::MinuteAllowance::default(),
            ads_stamp: Mutex::new(ads_stamp),
        })
    }

    /// Rebuilds the advertiser register in memory from the store.
    pub async fn reload_ads(&self, records: &AnyRecords) -> Result<(), String> {
        let stamp = records.ad_register_stamp().await.map_err(|e| e.to_string())?;
        self.ads.store(Arc::new(load_ads(records).await?));
        if let Ok(mut s) = self.ads_stamp.lock() {
            *s = stamp;
        }
        Ok(())
    }

    /// Reloads the advertiser register when the store's changed (another node registered
    /// an advertiser, a brandname or a copy); returns whether it did. The server calls it
    /// every few seconds.
    pub async fn refresh_ads(&self, records: &AnyRecords) -> Result<bool, String> {
        let stamp = records.ad_register_stamp().await.map_err(|e| e.to_string())?;
        if self.ads_stamp.lock().is_ok_and(|s| *s == stamp) {
            return Ok(false);
        }
        self.reload_ads(records).await?;
        Ok(true)
    }

    /// The hub's facts about a message the firewall checks, when it is an advertisement (it
    /// carries the label, or its sender is a registered advertiser's brandname); `now` in
    /// Unix seconds.
    ///
    /// `shared_sent` is the advertiser's ads to this recipient in the last 24 hours as the
    /// shared counters answered (this one excluded; see [`HubState::plan_ad_cap`]); without
    /// it, this node's own count is used.
    pub fn ad_facts(&self, engine: &Engine, msg: &Message, now: i64, shared_sent: Option<u32>) -> Option<AdFacts> {
        let ads = self.ads.load();
        // Most nodes register no advertiser: then no sender can be one, and the sender is
        // not parsed (an allocation per message on the check path).
        let brand = match ads.brands.is_empty() {
            true => None,
            false => match SenderId::parse(msg.sender.as_deref().unwrap_or("")) {
                SenderId::Brandname(b) => Some(b),
                _ => None,
            },
        };
        let advertiser = brand.as_ref().and_then(|b| ads.brands.get(b));
        if advertiser.is_none() && !engine.has_ad_label(&msg.text) {
            return None;
        }
        let recipient = msg.recipient.as_deref().and_then(msisdn);
        let sent_24h = match (advertiser, recipient) {
            (Some(_), Some(_)) if shared_sent.is_some() => shared_sent.unwrap_or(0),
            (Some(a), Some(r)) => self.sent.lock().map_or(0, |m| {
                m.get(&(a.clone(), r))
                    .map_or(0, |t| t.iter().filter(|&&t| t > now - 86_400).count() as u32)
            }),
            _ => 0,
        };
        let copy_matches = match (&brand, advertiser) {
            (Some(b), Some(_)) => Some(FINGERPRINTER.with(|f| {
                ads.copies
                    .matches(b, &msg.text, Some(msg.received_at.unwrap_or(now)), &mut f.borrow_mut())
            })),
            _ => None,
        };
        Some(AdFacts {
            registered_sender: advertiser.is_some(),
            recipient_dnc: recipient.is_some_and(|r| self.dnc.load().flags(r) & dnc::SMS != 0),
            sent_24h,
            copy_matches,
        })
    }

    /// Adds the shared counter of an ad's cap to a message's counter plan, when the sender
    /// is a registered advertiser's brandname and the recipient a subscriber number: a count
    /// of `ad:<advertiser>:<recipient>` over 24 hours, the plan's last key, so that every
    /// node sharing the counters (Redis) counts the same ads toward the cap.
    pub fn plan_ad_cap(&self, msg: &Message, plan: &mut StatePlan) {
        let ads = self.ads.load();
        if ads.brands.is_empty() {
            return;
        }
        let Some(SenderId::Brandname(b)) = msg.sender.as_deref().map(SenderId::parse) else {
            return;
        };
        let (Some(advertiser), Some(recipient)) = (ads.brands.get(&b), msg.recipient.as_deref().and_then(msisdn))
        else {
            return;
        };
        if let Some(windows) = Windows::new(&[86_400]) {
            plan.keys.push(StateKey {
                key: format!("{AD_CAP_PREFIX}{advertiser}:{recipient}"),
                op: StateOp::Count { windows },
            });
        }
    }

    /// The advertiser's earlier ads to this recipient in the last 24 hours, as the shared
    /// counters answered for the key [`HubState::plan_ad_cap`] added (`None`: no such key,
    /// or no answer).
    pub fn ad_cap_count(plan: &StatePlan, values: Option<&[u64]>) -> Option<u32> {
        plan.keys.last().filter(|k| k.key.starts_with(AD_CAP_PREFIX))?;
        let with_this_one = values?.last().copied()?;
        Some(u32::try_from(with_this_one.saturating_sub(1)).unwrap_or(u32::MAX))
    }

    /// Who an ad is counted against in the statistics: the advertiser's code when the sender
    /// is a registered brandname, else the sender's canonical key (empty when it has none).
    pub fn advertiser_key(&self, msg: &Message) -> String {
        let sender = SenderId::parse(msg.sender.as_deref().unwrap_or(""));
        if let SenderId::Brandname(b) = &sender
            && let Some(a) = self.ads.load().brands.get(b)
        {
            return a.clone();
        }
        sender.key().map(str::to_string).unwrap_or_default()
    }

    /// Counts an ad the firewall let through toward its advertiser's cap for the recipient.
    pub fn count_ad(&self, msg: &Message, now: i64) {
        let Some(SenderId::Brandname(b)) = msg.sender.as_deref().map(SenderId::parse) else {
            return;
        };
        let ads = self.ads.load();
        let (Some(advertiser), Some(r)) = (ads.brands.get(&b), msg.recipient.as_deref().and_then(msisdn)) else {
            return;
        };
        if let Ok(mut m) = self.sent.lock() {
            if m.len() >= SENT_MAX {
                m.retain(|_, t| t.back().is_some_and(|&t| t > now - 86_400));
            }
            let times = m.entry((advertiser.clone(), r)).or_default();
            while times.front().is_some_and(|&t| t <= now - 86_400) {
                times.pop_front();
            }
            times.push_back(now);
        }
    }

    /// Applies the DNC changes committed since the last call (by any node sharing the
    /// store) to the index in effect; returns how many history lines were read. The server
    /// calls it every few seconds.
    pub async fn catch_up(&self, records: &AnyRecords) -> Result<usize, String> {
        use std::sync::atomic::Ordering;
        const PAGE: usize = 10_000;
        // Ids are assigned at insert but committed in any order: re-read a margin.
        const MARGIN: i64 = 1_000;
        let _one = self.dnc_writes.lock().await;
        let mut after = (self.dnc_seen.load(Ordering::Acquire) - MARGIN).max(0);
        let mut read = 0;
        loop {
            let events = records.dnc_events_since(after, PAGE).await.map_err(|e| e.to_string())?;
            let changes: Vec<(u64, u8)> = events
                .iter()
                .filter_map(|e| msisdn(&e.number).map(|k| (k, e.after)))
                .collect();
            if !changes.is_empty() {
                let next = self.dnc.load().with_changes(&changes);
                self.dnc.store(Arc::new(next));
            }
            read += events.len();
            if let Some(last) = events.last() {
                after = last.id;
                self.dnc_seen.fetch_max(last.id, Ordering::AcqRel);
            }
            if events.len() < PAGE {
                return Ok(read);
            }
        }
    }

    /// The DNC register in effect.
    pub fn dnc(&self) -> Arc<DncIndex> {
        self.dnc.load_full()
    }

    /// Queues an SMS to a subscriber in the store's outbox (committed on return); the SMPP
    /// sender, if any, is woken.
    pub async fn send(
        &self,
        records: &AnyRecords,
        from: &str,
        to: &str,
        text: String,
        expires_at: Option<i64>,
    ) -> Result<i64, chanrac_store::StoreError> {
        let m = records
            .outbox_add(&NewOutgoing {
                at: now_ms(),
                sender: from.to_string(),
                recipient: to.to_string(),
                text,
                kind: "otp".into(),
                expires_at,
            })
            .await?;
        self.outbox_added.notify_one();
        Ok(m.id)
    }

    /// Takes the queued SMS for good, for a gateway (`by`) that sends them itself; each is
    /// handed out once.
    pub async fn take_outbox(
        &self,
        records: &AnyRecords,
        by: &str,
    ) -> Result<Vec<Outgoing>, chanrac_store::StoreError> {
        let taken = records.outbox_claim(by, now_ms(), None, 1000).await?;
        Ok(taken
            .into_iter()
            .map(|m| Outgoing {
                id: m.id,
                to: m.recipient,
                from: m.sender,
                text: m.text,
            })
            .collect())
    }

    /// The stored form of a one-time password: SHA-256 of the key and the code, so that the
    /// store never holds the code itself.
    fn otp_hash(&self, code: &str) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.otp_key);
        h.update(code.trim().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The key of the one-time password hashes: the store's, made by the first node that
/// needed one.
async fn otp_key(records: &AnyRecords) -> Result<[u8; 32], String> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| format!("no randomness for one-time passwords: {e}"))?;
    let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    let stored = records.hub_secret("otp_key", &fresh).await.map_err(|e| e.to_string())?;
    let mut key = [0u8; 32];
    if stored.len() != 64 || !stored.is_ascii() {
        return Err("the stored one-time password key is damaged (hub_secrets.otp_key)".into());
    }
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&stored[2 * i..2 * i + 2], 16)
            .map_err(|_| "the stored one-time password key is damaged (hub_secrets.otp_key)".to_string())?;
    }
    Ok(key)
}

/// Sends the outbox over the SMPP firewall's upstream binds (submit_sm from the short code),
/// for as long as the server runs: messages are claimed with a lease, so a node killed while
/// sending leaves them to another node (or to itself after a restart), and recorded as sent
/// with the SMSC's message id, retried (after a backoff), or given up after a few refusals
/// or unanswered submits; a message no bind could take is retried until it expires.
pub async fn deliver_outbox(state: AppState, sender: chanrac_smpp::proxy::LocalSender) {
    use std::time::Duration;
    let me = format!("smpp:{}", std::process::id());
    // After a batch with failures, wait before the next claim: 1 s, doubling up to 30 s.
    let mut backoff = Duration::ZERO;
    loop {
        if !backoff.is_zero() {
            tokio::time::sleep(backoff).await;
        }
        let now = now_ms();
        let claimed = state
            .records
            .outbox_claim(&me, now, Some(now + OUTBOX_LEASE_MS), 50)
            .await;
        match claimed {
            Ok(batch) if !batch.is_empty() => {
                let mut failures = false;
                for m in batch {
                    let outcome = outbox_outcome(sender.submit(&m.sender, &m.recipient, &m.text).await, m.attempts);
                    if let OutboxOutcome::Failed(e) | OutboxOutcome::Retry(e) = &outcome {
                        failures = true;
                        tracing::warn!(id = m.id, to = %m.recipient, error = %e, "an outbox SMS was not sent");
                    }
                    if let Err(e) = state.records.outbox_finish(m.id, &outcome, now_ms()).await {
                        Metrics::store_error("outbox_finish");
                        tracing::warn!(id = m.id, error = %e, "an outbox SMS's outcome was not recorded; it will be sent again after its lease");
                    }
                }
                backoff = match failures {
                    true => (backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(30)),
                    false => Duration::ZERO,
                };
                continue;
            }
            Ok(_) => backoff = Duration::ZERO,
            Err(e) => {
                Metrics::store_error("outbox_claim");
                tracing::warn!(error = %e, "the outbox could not be read; retrying");
            }
        }
        // Woken at once by this node's new messages; other nodes' (and retries) within a second.
        let _ = tokio::time::timeout(Duration::from_secs(1), state.hub.outbox_added.notified()).await;
    }
}

/// What a submit's answer makes of an outbox message claimed `attempts` times.
fn outbox_outcome(answer: Result<String, u32>, attempts: i64) -> OutboxOutcome {
    match answer {
        Ok(id) => OutboxOutcome::Sent(id),
        // No bind up, or none with room: it never reached the SMSC, so that does not give it
        // up (an expired password is no longer claimed).
        Err(st) if st == chanrac_smpp::pdu::status::ESME_RTHROTTLED => {
            OutboxOutcome::Retry(format!("SMSC status {st:#x}: no upstream bind could take it"))
        }
        Err(st) if attempts >= OUTBOX_MAX_ATTEMPTS => {
            OutboxOutcome::Failed(format!("SMSC status {st:#x} after {attempts} tries"))
        }
        Err(st) => OutboxOutcome::Retry(format!("SMSC status {st:#x}")),
    }
}

/// Reads the active brandnames of active advertisers and every submitted copy.
async fn load_ads(records: &AnyRecords) -> Result<AdRegister, String> {
    let active: HashSet<String> = records
        .advertisers()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|a| a.status == "active")
        .map(|a| a.code)
        .collect();
    let brands: HashMap<String, String> = records
        .brandnames()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|b| b.status == "active" && active.contains(&b.advertiser))
        .map(|b| (b.name, b.advertiser))
        .collect();
    let mut numbers: HashMap<String, Vec<String>> = HashMap::new();
    for (number, advertiser) in records.advertiser_numbers().await.map_err(|e| e.to_string())? {
        if active.contains(&advertiser) {
            let mut mine: Vec<String> = brands
                .iter()
                .filter(|(_, a)| **a == advertiser)
                .map(|(b, _)| b.clone())
                .collect();
            mine.sort();
            numbers.insert(number, mine);
        }
    }
    let mut copies = AdCopies::new();
    let mut fp = Fingerprinter::new(true);
    for c in records.ad_copies(0, 1_000_000).await.map_err(|e| e.to_string())? {
        if let Some(b) = &c.brandname {
            let window = c.window_from.zip(c.window_to);
            copies.add(b, &c.text, window, &mut fp);
        }
    }
    Ok(AdRegister {
        brands,
        copies,
        numbers,
    })
}

pub(crate) fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// A subscriber number in any written form → its canonical key, or a 400.
fn subscriber(number: &str, field: &str) -> Result<String, ApiError> {
    msisdn(number).map(format_key).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_number",
            format!("{field}: {number:?} is not a subscriber number (0912345678, +84912345678…)"),
        )
    })
}

fn limits(state: &AppState, now: i64) -> ReportLimits {
    let h = &state.config.hub;
    let hour = 3_600_000i64;
    ReportLimits {
        reporter_since: now - h.reporter_window_hours as i64 * hour,
        reporter_max: h.reporter_max_reports,
        group_since: now - h.group_window_hours as i64 * hour,
        watch_at: h.watch_reporters,
        propose_at: h.propose_reporters,
    }
}

/// The reference a subscriber is given for a report.
fn report_ref(id: i64) -> String {
    format!("PA{id}")
}

/// A text kept whole up to 64 KiB (an SMS is far shorter: anything longer is cut, never refused).
fn keep(text: &str) -> String {
    let mut end = text.len().min(64 * 1024);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Stores a report and answers its reference.
async fn store_report(
    state: &AppState,
    reporter: &str,
    via: &str,
    kind: &str,
    source: Option<(&str, &str)>,
    (content, raw): (&str, &str),
    evidence: Vec<NewEvidence>,
) -> Result<chanrac_store::hub::ReportAdded, ApiError> {
    let at = now_ms();
    let mut fp = Fingerprinter::new(true);
    let r = NewReport {
        at,
        via: via.into(),
        reporter: reporter.into(),
        kind: kind.into(),
        source: source.map(|s| s.0.to_string()),
        source_key: source.map(|s| s.1.to_string()),
        content: keep(content),
        content_key: content_key(content, &mut fp),
        content_bands: content_bands(content, &mut fp),
        raw: keep(raw),
        evidence,
    };
    let added = state
        .records
        .add_report(&r, limits(state, at))
        .await
        .inspect_err(|_| Metrics::store_error("add_report"))?;
    if let Some(s) = &added.source
        && (s.status == "watch" || s.status == "proposed")
    {
        tracing::info!(source = %s.key, status = %s.status, reporters = s.reporters, "reported source escalated");
    }
    Ok(added)
}

/// Applies a DNC change to the store, then to the index in effect.
async fn dnc_apply(
    state: &AppState,
    number: &str,
    register: bool,
    scope: DncScope,
    via: &str,
) -> Result<DncEvent, ApiError> {
    let _one = state.hub.dnc_writes.lock().await;
    let e = state
        .records
        .dnc_change(number, register, scope.flags(), via, number, now_ms())
        .await
        .inspect_err(|_| Metrics::store_error("dnc_change"))?;
    publish(state, &e);
    Ok(e)
}

/// Puts a stored change into the index in effect.
fn publish(state: &AppState, e: &DncEvent) {
    if e.before != e.after
        && let Some(k) = msisdn(&e.number)
    {
        let next = state.hub.dnc.load().with_change(k, e.after);
        state.hub.dnc.store(Arc::new(next));
    }
}

/// A message to the short code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoIn {
    /// The subscriber's number, in any form.
    pub from: String,
    /// The short code (`5656`).
    pub to: String,
    /// The text as the subscriber wrote it.
    pub text: String,
}

/// What the hub did with a short-code message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoOut {
    /// The SMS text the subscriber gets back.
    pub reply: String,
    /// `report`, `dnc_register`, `dnc_cancel`, `ad_copy` or `unknown`.
    pub kind: &'static str,
    /// The reference given in the reply (`PA12`, `DNC3`, `QC7`).
    #[serde(rename = "ref")]
    pub reference: String,
}

/// Handles one short-code message from a subscriber (already a canonical number): stores
/// it, applies it, and returns the reply. Used by `POST /v1/mo` and the SMPP front.
pub async fn handle_mo(state: &AppState, from: &str, text: &str, via: &str) -> Result<MoOut, ApiError> {
    let cfg = &state.config.hub;
    let m = mo::parse(text, cfg);
    let reference = match &m {
        Mo::Report {
            kind,
            source,
            source_key,
            content,
        } => {
            let added = store_report(
                state,
                from,
                via,
                kind.as_str(),
                Some((source, source_key)),
                (content, text),
                Vec::new(),
            )
            .await?;
            report_ref(added.report.id)
        }
        Mo::Unknown(_) => {
            let added = store_report(state, from, via, "unparsed", None, ("", text), Vec::new()).await?;
            report_ref(added.report.id)
        }
        Mo::DncRegister(scope) | Mo::DncCancel(scope) => {
            let e = dnc_apply(state, from, matches!(m, Mo::DncRegister(_)), *scope, via).await?;
            format!("DNC{}", e.id)
        }
        Mo::AdCopy { text: copy } => {
            // From an advertiser's declared number, the copy is for its brandname, and the
            // firewall matches its ads against it (AD_NO_COPY) from now on.
            let (brandname, copy) = state.hub.ads.load().copy_brand(from, copy);
            let c = state
                .records
                .add_ad_copy(&NewAdCopy {
                    at: now_ms(),
                    via: via.into(),
                    sender: from.into(),
                    brandname: brandname.clone(),
                    text: keep(copy),
                    ..Default::default()
                })
                .await
                .inspect_err(|_| Metrics::store_error("add_ad_copy"))?;
            if brandname.is_some() {
                reload_ads(state).await?;
            }
            format!("QC{}", c.id)
        }
    };
    Ok(MoOut {
        reply: mo::reply(&m, &reference, cfg),
        kind: m.kind(),
        reference,
    })
}

/// A subscriber's message to the hub's short code: a spam report (`S`, `V`, `LD`), a
/// Do-Not-Call registration or cancellation (`DK DNC`, `HUY DNC`, with `S`/`V`), an ad copy
/// (`FW`), or anything else (kept as an unparsed report and answered with the syntax).
/// Answered only once stored.
#[utoipa::path(post, path = "/v1/mo", tag = "hub", request_body = MoIn,
    responses((status = 200, body = MoOut), (status = 400, description = "Not a hub short code, or not a subscriber number", body = ErrorBody),
        (status = 503, description = "Store down: nothing was kept", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn post_mo(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<MoIn>, JsonRejection>,
) -> Result<Json<MoOut>, ApiError> {
    caller.require(LINE)?;
    let Json(m) = body?;
    if !state.config.hub.is_hub_code(&m.to) {
        return Err(ApiError::bad_request(
            "not_hub_code",
            format!(
                "{:?} is not a short code of the hub ({})",
                m.to,
                state.config.hub.short_codes.join(", ")
            ),
        ));
    }
    let from = subscriber(&m.from, "from")?;
    Ok(Json(handle_mo(&state, &from, &m.text, "sms").await?))
}

/// A report filed through the web or an app.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportIn {
    /// The reporter's number.
    pub reporter: String,
    /// `spam` (a message), `call` or `fraud`.
    pub kind: String,
    /// The number, short code or brandname reported.
    pub source: String,
    /// The message, or what the call said.
    #[serde(default)]
    pub content: String,
    /// Files backing the report (screenshots, call recordings): at most
    /// `hub.evidence_max_files`, each at most `hub.evidence_max_bytes` once decoded, of a
    /// type in `hub.evidence_types` (read from the bytes). Served to analysts only.
    #[serde(default)]
    pub evidence: Vec<EvidenceIn>,
}

/// An evidence file, in a JSON report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceIn {
    /// The file's name (`screenshot.png`).
    #[serde(default)]
    pub name: String,
    /// The bytes, in standard base64.
    pub data: String,
}

/// Checks and decodes a report's evidence files: the error names the file and says what
/// is allowed; nothing is stored when one file is refused.
fn evidence_files(cfg: &chanrac_hub::HubConfig, files: &[EvidenceIn]) -> Result<Vec<NewEvidence>, ApiError> {
    use base64::Engine as _;
    use sha2::Digest;
    if files.len() > cfg.evidence_max_files {
        return Err(ApiError::bad_request(
            "too_many_files",
            format!(
                "{} evidence files: at most {} (hub.evidence_max_files)",
                files.len(),
                cfg.evidence_max_files
            ),
        ));
    }
    let mut out = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        // A name is for the analyst's download: no path, printable, at most 100 characters.
        let name: String = f
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        let name = if name.trim().is_empty() {
            format!("evidence-{}", i + 1)
        } else {
            name
        };
        let what = format!("evidence[{i}] ({name:?})");
        // Refuse an oversized file before decoding it: base64 is 4 characters per 3 bytes.
        if f.data.len() / 4 * 3 > cfg.evidence_max_bytes + 3 {
            return Err(evidence_too_large(&what, cfg));
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(f.data.trim())
            .map_err(|e| ApiError::bad_request("invalid_evidence", format!("{what}: data is not base64: {e}")))?;
        if data.len() > cfg.evidence_max_bytes {
            return Err(evidence_too_large(&what, cfg));
        }
        if data.is_empty() {
            return Err(ApiError::bad_request("invalid_evidence", format!("{what} is empty")));
        }
        let content_type = infer::get(&data)
            .map(|t| t.mime_type())
            .filter(|t| cfg.evidence_types.iter().any(|a| a == t))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "evidence_type",
                    format!(
                        "{what} is {}: accepted types are {} (hub.evidence_types)",
                        infer::get(&data).map_or("of an unknown type".into(), |t| t.mime_type().to_string()),
                        cfg.evidence_types.join(", ")
                    ),
                )
            })?;
        let sha256 = sha2::Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect();
        out.push(NewEvidence {
            name,
            content_type: content_type.to_string(),
            data,
            sha256,
        });
    }
    Ok(out)
}

fn evidence_too_large(what: &str, cfg: &chanrac_hub::HubConfig) -> ApiError {
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "evidence_too_large",
        message: format!(
            "{what} is larger than {} bytes (hub.evidence_max_bytes)",
            cfg.evidence_max_bytes
        ),
    }
}

/// A stored report's reference.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOut {
    /// The reference (`PA12`).
    #[serde(rename = "ref")]
    pub reference: String,
    /// The report's id.
    pub id: i64,
    /// False when the reporter had used up its allowance: kept, not counted.
    pub counted: bool,
    /// The evidence files stored with it.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<Evidence>,
}

/// A structured report's kind and its source's canonical key, or the 400 saying why not.
fn kind_and_source(kind: &str, source: &str) -> Result<(ReportKind, String), ApiError> {
    let kind = ReportKind::parse(kind)
        .ok_or_else(|| ApiError::bad_request("invalid_kind", "kind must be spam, call or fraud"))?;
    let key = mo::source_key(source).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_source",
            format!("source {source:?} is neither a number nor a brandname"),
        )
    })?;
    Ok((kind, key))
}

/// The 201 of a stored report.
fn created(added: &chanrac_store::hub::ReportAdded) -> Response {
    (
        StatusCode::CREATED,
        Json(ReportOut {
            reference: report_ref(added.report.id),
            id: added.report.id,
            counted: added.report.counted,
            evidence: added.evidence.clone(),
        }),
    )
        .into_response()
}

/// File a report with structured fields.
#[utoipa::path(post, path = "/v1/reports", tag = "hub", request_body = ReportIn,
    responses((status = 201, body = ReportOut), (status = 400, body = ErrorBody),
        (status = 413, description = "An evidence file is too large", body = ErrorBody),
        (status = 429, description = "A public key over its allowance (`rate_limited`)", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn post_report(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ReportIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(ANYONE)?;
    let Json(r) = body?;
    let reporter = subscriber(&r.reporter, "reporter")?;
    if !caller.has(Role::Operator) && !caller.has(Role::Regulator) {
        let h = &state.config.hub;
        let allowance = &state.hub.public_reports;
        allowance.take(&caller.name, h.public_reports_per_minute, 1, "reports")?;
        let per_reporter = format!("{}/{reporter}", caller.name);
        allowance.take(
            &per_reporter,
            h.public_reports_per_reporter_per_minute,
            1,
            "reports for one number",
        )?;
    }
    let (kind, key) = kind_and_source(&r.kind, &r.source)?;
    if r.content.chars().count() > state.config.hub.max_text_chars {
        return Err(ApiError::bad_request(
            "too_long",
            "content is longer than hub.max_text_chars",
        ));
    }
    let evidence = evidence_files(&state.config.hub, &r.evidence)?;
    let source = r.source.trim();
    let added = store_report(
        &state,
        &reporter,
        "api",
        kind.as_str(),
        Some((source, &key)),
        (&r.content, ""),
        evidence,
    )
    .await?;
    Ok(created(&added))
}

/// An operator's finding: a source its own systems caught (a blocked sender, a SIM farm).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingIn {
    /// `spam`, `call` or `fraud`.
    pub kind: String,
    /// The number or brandname.
    pub source: String,
    /// What the operator saw (`SIM farm: 400 messages a minute to 12,000 recipients`), and a
    /// sample of the content if there is one.
    pub evidence: String,
}

/// Push a finding to the hub for review. It enters the report queue as a report by
/// `operator:NAME` (via `operator`): it counts as one distinct reporter of the source
/// toward the watch list and block proposals, and an analyst confirms or rejects it there;
/// a confirmed source goes on the block list and out in the feed to every operator.
#[utoipa::path(post, path = "/v1/findings", tag = "hub", request_body = FindingIn,
    responses((status = 201, body = ReportOut), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn post_finding(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<FindingIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator])?;
    let Json(f) = body?;
    let (kind, key) = kind_and_source(&f.kind, &f.source)?;
    if f.evidence.trim().is_empty() || f.evidence.chars().count() > state.config.hub.max_text_chars {
        return Err(ApiError::bad_request(
            "invalid_evidence",
            "evidence is required, at most hub.max_text_chars characters",
        ));
    }
    let reporter = format!("operator:{}", caller.name);
    let added = store_report(
        &state,
        &reporter,
        "operator",
        kind.as_str(),
        Some((f.source.trim(), &key)),
        (&f.evidence, ""),
        Vec::new(),
    )
    .await?;
    Ok(created(&added))
}

/// Which reports.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportsQuery {
    /// About this source (any written form).
    pub source: Option<String>,
    /// `open`, `confirmed` (training data) or `rejected`.
    pub status: Option<String>,
    /// `spam`, `call`, `fraud` or `unparsed`.
    pub kind: Option<String>,
    /// Ids below this (paging backwards).
    pub before: Option<i64>,
    /// Reports whose content is the same as report `like`'s or a near-duplicate of it
    /// (same exact key, or a shared LSH band): the group of a campaign.
    pub like: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// Reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportsOut {
    /// Newest first. Reporters' numbers are masked except for the regulator.
    #[schema(value_type = Vec<Object>)]
    pub reports: Vec<Report>,
}

/// The report queue, newest first.
#[utoipa::path(get, path = "/v1/reports", tag = "hub", params(ReportsQuery),
    responses((status = 200, body = ReportsOut)), security(("api_key" = [])))]
pub async fn get_reports(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ReportsQuery>, QueryRejection>,
) -> Result<Json<ReportsOut>, ApiError> {
    caller.require(ANALYSTS)?;
    let Query(q) = query?;
    let source_key = q
        .source
        .as_deref()
        .map(|s| mo::source_key(s).unwrap_or_else(|| s.to_string()));
    let similar = match q.like {
        None => None,
        Some(id) => {
            let r = state
                .records
                .report(id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no report {id}")))?;
            // A report without content has no group: nothing is like it.
            let Some(key) = r.content_key else {
                return Ok(Json(ReportsOut { reports: Vec::new() }));
            };
            Some((key, r.content_bands))
        }
    };
    let mut reports = state
        .records
        .reports(&ReportQuery {
            source_key,
            status: q.status,
            kind: q.kind,
            before_id: q.before,
            similar,
            limit: q.limit.unwrap_or(100).min(1000),
        })
        .await?;
    if !caller.has(Role::Regulator) {
        for r in &mut reports {
            r.reporter = mask_reporter(&r.reporter);
        }
    }
    Ok(Json(ReportsOut { reports }))
}

/// Which sources.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WatchQuery {
    /// `reported`, `watch`, `proposed`, `confirmed` or `rejected`; by default the watch list
    /// and the proposals.
    pub status: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<usize>,
}

/// Reported sources.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchOut {
    /// Most reporters first.
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<SourceRecord>,
}

/// The watch list and the block proposals: sources reported by many distinct subscribers.
#[utoipa::path(get, path = "/v1/watchlist", tag = "hub", params(WatchQuery),
    responses((status = 200, body = WatchOut)), security(("api_key" = [])))]
pub async fn get_watchlist(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<WatchQuery>, QueryRejection>,
) -> Result<Json<WatchOut>, ApiError> {
    caller.require(ANALYSTS)?;
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(100).min(1000);
    let sources = match q.status.as_deref() {
        Some(s) => {
            SourceStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_status",
                    "status: reported, watch, proposed, confirmed or rejected",
                )
            })?;
            state.records.sources(Some(s), limit).await?
        }
        None => {
            let mut v = state.records.sources(Some("proposed"), limit).await?;
            v.extend(state.records.sources(Some("watch"), limit).await?);
            v.truncate(limit);
            v
        }
    };
    Ok(Json(WatchOut { sources }))
}

/// An analyst's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// Why: recorded in the audit log. Required.
    pub reason: String,
}

/// A decided source.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOut {
    /// The source after the decision.
    #[schema(value_type = Object)]
    pub source: SourceRecord,
    /// The block-list entry a confirmation added (`senders` or `brandnames`), if any.
    pub blocked: Option<String>,
}

/// Confirm (the source goes on the block list; its reports become training data) or reject
/// a reported source.
#[utoipa::path(post, path = "/v1/watchlist/{source}/{decision}", tag = "hub",
    params(("source" = String, Path, description = "the source, in any written form"), ("decision" = String, Path, description = "confirm or reject")),
    request_body = DecisionIn,
    responses((status = 200, body = DecisionOut), (status = 404, description = "Never reported", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path((source, decision)): Path<(String, String)>,
    body: Result<Json<DecisionIn>, JsonRejection>,
) -> Result<Json<DecisionOut>, ApiError> {
    caller.require(REGULATOR)?;
    let Json(d) = body?;
    let status = match decision.as_str() {
        "confirm" => "confirmed",
        "reject" => "rejected",
        _ => return Err(ApiError::not_found("the decision is confirm or reject")),
    };
    if d.reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "reason_required",
            "a reason is required for the audit log",
        ));
    }
    let key = mo::source_key(&source).unwrap_or_else(|| source.clone());
    let actor = Actor {
        name: &caller.name,
        reason: d.reason.trim(),
    };
    let Some(src) = state.records.decide_source(&key, status, actor).await? else {
        return Err(ApiError::not_found(format!("{source:?} was never reported")));
    };
    let mut blocked = None;
    if status == "confirmed" {
        let kind = if key.starts_with('+') || key.bytes().all(|b| b.is_ascii_digit()) {
            ListKind::Senders
        } else {
            ListKind::Brandnames
        };
        state.records.add_list_entry(Side::Block, kind, &key, actor).await?;
        state
            .refresh_lists(false)
            .await
            .map_err(|e| ApiError::internal(format!("written, but not yet in effect: {e}")))?;
        blocked = Some(kind.name().to_string());
    }
    Ok(Json(DecisionOut { source: src, blocked }))
}

/// Numbers to scrub.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScrubIn {
    /// The numbers, in any written form.
    pub numbers: Vec<String>,
    /// `sms` (default) or `calls`: which advertising.
    pub channel: Option<String>,
}

/// The numbers that must not be contacted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScrubOut {
    /// Those of the request on the register for the channel, as they were given.
    pub do_not_contact: Vec<String>,
    /// How many numbers were checked.
    pub checked: usize,
    /// Those that are not subscriber numbers at all, as given.
    pub invalid: Vec<String>,
}

/// Scrub a list of numbers against the Do-Not-Call register, from memory.
#[utoipa::path(post, path = "/v1/dnc/scrub", tag = "dnc", request_body = ScrubIn,
    responses((status = 200, body = ScrubOut), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn scrub(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ScrubIn>, JsonRejection>,
) -> Result<Json<ScrubOut>, ApiError> {
    caller.require(SCRUBBERS)?;
    let Json(s) = body?;
    let flag = match s.channel.as_deref().unwrap_or("sms") {
        "sms" => dnc::SMS,
        "calls" => dnc::CALLS,
        _ => return Err(ApiError::bad_request("invalid_channel", "channel is sms or calls")),
    };
    let index = state.hub.dnc();
    let refused = index.scrub(&s.numbers, flag);
    let invalid = s.numbers.iter().filter(|n| msisdn(n).is_none()).cloned().collect();
    let checked = s.numbers.len();
    let mut numbers: Vec<Option<String>> = s.numbers.into_iter().map(Some).collect();
    let out = ScrubOut {
        do_not_contact: refused.into_iter().filter_map(|i| numbers[i].take()).collect(),
        checked,
        invalid,
    };
    Ok(Json(out))
}

/// A DNC change asked through the web or an app, to be confirmed by a one-time password
/// sent to the number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DncRequestIn {
    /// The number.
    pub number: String,
    /// `register` or `cancel`.
    pub action: String,
    /// `all` (default), `sms` or `calls`.
    pub scope: Option<String>,
}

/// A pending request.
#[derive(Debug, Serialize, ToSchema)]
pub struct DncRequestOut {
    /// The request's id, to confirm with the password.
    pub request_id: i64,
    /// Seconds the password stays valid.
    pub expires_in: u32,
}

fn parse_scope(s: Option<&str>) -> Result<DncScope, ApiError> {
    DncScope::parse(s.unwrap_or("all"))
        .ok_or_else(|| ApiError::bad_request("invalid_scope", "scope is all, sms or calls"))
}

/// Ask for a DNC registration or cancellation; a one-time password goes to the number.
#[utoipa::path(post, path = "/v1/dnc/requests", tag = "dnc", request_body = DncRequestIn,
    responses((status = 202, body = DncRequestOut), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn dnc_request(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<DncRequestIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(ANYONE)?;
    let Json(r) = body?;
    let number = subscriber(&r.number, "number")?;
    let register = match r.action.as_str() {
        "register" => true,
        "cancel" => false,
        _ => return Err(ApiError::bad_request("invalid_action", "action is register or cancel")),
    };
    let scope = parse_scope(r.scope.as_deref())?;
    let mut raw = [0u8; 4];
    getrandom::fill(&mut raw).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    let code = format!("{:06}", u32::from_le_bytes(raw) % 1_000_000);
    let ttl = state.config.hub.otp_ttl_secs;
    let expires = now_ms() + ttl as i64 * 1000;
    let hash = state.hub.otp_hash(&code);
    let id = state
        .records
        .otp_create(&number, register, scope.flags(), &hash, expires)
        .await?;
    let text = format!(
        "Ma xac nhan {} tu choi quang cao: {code}. Hieu luc {} phut. Khong chia se ma nay.",
        if register { "dang ky" } else { "huy" },
        ttl.div_ceil(60)
    );
    state
        .hub
        .send(
            &state.records,
            &state.config.hub.reply_code,
            &number,
            text,
            Some(expires),
        )
        .await
        .inspect_err(|_| Metrics::store_error("outbox_add"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DncRequestOut {
            request_id: id,
            expires_in: ttl,
        }),
    )
        .into_response())
}

/// The password received by SMS.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpIn {
    /// The six digits.
    pub code: String,
}

/// Confirm a DNC request with its one-time password.
#[utoipa::path(post, path = "/v1/dnc/requests/{id}/confirm", tag = "dnc", request_body = OtpIn,
    params(("id" = i64, Path, description = "the request id")),
    responses((status = 200, description = "Confirmed: the change is in effect", body = Object),
        (status = 400, description = "Wrong code (tries left in the message)", body = ErrorBody),
        (status = 410, description = "Expired, used or too many tries", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn dnc_confirm(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Result<Json<OtpIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(ANYONE)?;
    let Json(o) = body?;
    let _one = state.hub.dnc_writes.lock().await;
    let hash = state.hub.otp_hash(&o.code);
    match state
        .records
        .otp_confirm(id, &hash, now_ms(), state.config.hub.otp_max_attempts)
        .await?
    {
        OtpOutcome::Confirmed { event } => {
            publish(&state, &event);
            Ok(Json(event).into_response())
        }
        OtpOutcome::Wrong { left } => Err(ApiError::bad_request(
            "wrong_code",
            format!("wrong code; {left} tries left"),
        )),
        OtpOutcome::Void => Err(gone()),
    }
}

fn gone() -> ApiError {
    ApiError {
        status: StatusCode::GONE,
        code: "request_void",
        message: "no such request, or it expired, was used or had too many wrong tries".into(),
    }
}

/// A number's standing on the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct DncNumberOut {
    /// The canonical number.
    pub number: String,
    /// Refuses ad messages.
    pub sms: bool,
    /// Refuses ad calls.
    pub calls: bool,
    /// Every request, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<DncEvent>,
}

/// A number's registration and its timestamped history.
#[utoipa::path(get, path = "/v1/dnc/numbers/{number}", tag = "dnc",
    params(("number" = String, Path, description = "the number, in any form")),
    responses((status = 200, body = DncNumberOut), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn dnc_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Json<DncNumberOut>, ApiError> {
    caller.require(ANALYSTS)?;
    let n = subscriber(&number, "number")?;
    let flags = msisdn(&n).map_or(0, |k| state.hub.dnc().flags(k));
    let history = state.records.dnc_history(&n).await?;
    Ok(Json(DncNumberOut {
        number: n,
        sms: flags & dnc::SMS != 0,
        calls: flags & dnc::CALLS != 0,
        history,
    }))
}

/// The register's size.
#[derive(Debug, Serialize, ToSchema)]
pub struct DncStatsOut {
    /// Numbers registered for anything.
    pub registered: usize,
    /// Numbers refusing ad messages.
    pub sms: usize,
    /// Numbers refusing ad calls.
    pub calls: usize,
}

/// How many numbers the register holds.
#[utoipa::path(get, path = "/v1/dnc/stats", tag = "dnc", responses((status = 200, body = DncStatsOut)), security(("api_key" = [])))]
pub async fn dnc_stats(State(state): State<AppState>, caller: Caller) -> Result<Json<DncStatsOut>, ApiError> {
    caller.require(ANALYSTS)?;
    let entries = state.hub.dnc().entries();
    Ok(Json(DncStatsOut {
        registered: entries.len(),
        sms: entries.iter().filter(|e| e.1 & dnc::SMS != 0).count(),
        calls: entries.iter().filter(|e| e.1 & dnc::CALLS != 0).count(),
    }))
}

fn scope_name(flags: u8) -> &'static str {
    match flags {
        dnc::SMS => "sms",
        dnc::CALLS => "calls",
        _ => "all",
    }
}

/// The register as text: one `number,scope` line per number (`scope`: all, sms, calls).
#[utoipa::path(get, path = "/v1/dnc/export", tag = "dnc", responses((status = 200, description = "text/csv lines number,scope")), security(("api_key" = [])))]
pub async fn dnc_export(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(REGULATOR)?;
    let mut out = String::from("number,scope\n");
    for (k, f) in state.hub.dnc().entries() {
        out.push_str(&format!("{},{}\n", format_key(k), scope_name(f)));
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportOut {
    /// Numbers whose registration changed.
    pub changed: u64,
    /// Lines read (without the header and blank lines).
    pub lines: usize,
    /// Lines refused (1-based line numbers with the reason); nothing of them was applied.
    pub refused: Vec<String>,
}

/// Import numbers: lines `number[,scope]` (`scope`: all, sms, calls, none to remove); a
/// header line `number,…` is skipped. One transaction: all lines or none.
#[utoipa::path(post, path = "/v1/dnc/import", tag = "dnc", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportOut), (status = 400, description = "A line is invalid: nothing was imported", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn dnc_import(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<ImportOut>, ApiError> {
    caller.require(REGULATOR)?;
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("invalid_text", "the body is not UTF-8"))?;
    let mut entries = Vec::new();
    let mut refused = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.to_ascii_lowercase().starts_with("number")) {
            continue;
        }
        let (n, scope) = line
            .split_once(',')
            .map_or((line, "all"), |(a, b)| (a.trim(), b.trim()));
        let flags = match scope {
            "none" => Some(0),
            s => DncScope::parse(s).map(DncScope::flags),
        };
        match (msisdn(n), flags) {
            (Some(k), Some(f)) => entries.push((format_key(k), f)),
            (None, _) => refused.push(format!("line {}: {n:?} is not a subscriber number", i + 1)),
            (_, None) => refused.push(format!(
                "line {}: scope {scope:?} is not all, sms, calls or none",
                i + 1
            )),
        }
    }
    if !refused.is_empty() {
        return Err(ApiError::invalid_lines(&refused));
    }
    let _one = state.hub.dnc_writes.lock().await;
    let changed = state.records.dnc_import(&entries, &caller.name, now_ms()).await?;
    // Rebuild the index from the store: an import may be large.
    let fresh = HubState::load(&state.records).await.map_err(ApiError::internal)?;
    state.hub.dnc.store(fresh.dnc.load_full());
    state.hub.dnc_seen.fetch_max(
        fresh.dnc_seen.load(std::sync::atomic::Ordering::Acquire),
        std::sync::atomic::Ordering::AcqRel,
    );
    Ok(Json(ImportOut {
        changed,
        lines: entries.len(),
        refused,
    }))
}

/// An advertiser to create or update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvertiserIn {
    /// The management code.
    pub code: String,
    /// The name.
    pub name: String,
    /// `active` (default), `suspended` or `revoked`.
    pub status: Option<String>,
    /// Why: recorded in the audit log.
    pub reason: String,
}

/// Advertisers and brandnames.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdvertisersOut {
    /// The advertisers.
    #[schema(value_type = Vec<Object>)]
    pub advertisers: Vec<Advertiser>,
    /// Their brandnames.
    #[schema(value_type = Vec<Object>)]
    pub brandnames: Vec<Brandname>,
    /// The numbers they send `FW` copies from, with their advertiser.
    pub numbers: Vec<AdvertiserNumber>,
}

/// A number an advertiser sends from.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdvertiserNumber {
    /// The canonical number.
    pub number: String,
    /// The advertiser's code.
    pub advertiser: String,
}

/// The advertiser register.
#[utoipa::path(get, path = "/v1/advertisers", tag = "advertisers", responses((status = 200, body = AdvertisersOut)), security(("api_key" = [])))]
pub async fn advertisers(State(state): State<AppState>, caller: Caller) -> Result<Json<AdvertisersOut>, ApiError> {
    caller.require(&[Role::Regulator, Role::Operator, Role::Advertiser])?;
    Ok(Json(AdvertisersOut {
        advertisers: state.records.advertisers().await?,
        brandnames: state.records.brandnames().await?,
        numbers: state
            .records
            .advertiser_numbers()
            .await?
            .into_iter()
            .map(|(number, advertiser)| AdvertiserNumber { number, advertiser })
            .collect(),
    }))
}

/// A number an advertiser sends from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberIn {
    /// The number, in any written form.
    pub number: String,
    /// Why: recorded in the audit log.
    pub reason: String,
}

/// Declare the number an advertiser sends `FW` copies from (audited): its copies by SMS
/// then carry its brandname (its only one, or the one the copy starts with). A number
/// belongs to one advertiser; declaring it again moves it.
#[utoipa::path(post, path = "/v1/advertisers/{code}/numbers", tag = "advertisers", request_body = NumberIn,
    params(("code" = String, Path, description = "the advertiser's code")),
    responses((status = 200, body = AdvertiserNumber), (status = 400, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn put_advertiser_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    body: Result<Json<NumberIn>, JsonRejection>,
) -> Result<Json<AdvertiserNumber>, ApiError> {
    caller.require(REGULATOR)?;
    let Json(n) = body?;
    let number = subscriber(&n.number, "number")?;
    let actor = Actor {
        name: &caller.name,
        reason: reason(&n.reason)?,
    };
    state.records.put_advertiser_number(&number, &code, actor).await?;
    reload_ads(&state).await?;
    Ok(Json(AdvertiserNumber {
        number,
        advertiser: code,
    }))
}

fn reason(r: &str) -> Result<&str, ApiError> {
    let r = r.trim();
    if r.is_empty() {
        Err(ApiError::bad_request(
            "reason_required",
            "a reason is required for the audit log",
        ))
    } else {
        Ok(r)
    }
}

/// Create or update an advertiser (audited).
#[utoipa::path(post, path = "/v1/advertisers", tag = "advertisers", request_body = AdvertiserIn,
    responses((status = 201, body = Object), (status = 200, description = "Updated", body = Object), (status = 400, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn put_advertiser(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<AdvertiserIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(REGULATOR)?;
    let Json(a) = body?;
    let actor = Actor {
        name: &caller.name,
        reason: reason(&a.reason)?,
    };
    let (adv, created) = state
        .records
        .put_advertiser(&a.code, &a.name, a.status.as_deref().unwrap_or("active"), actor)
        .await?;
    reload_ads(&state).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(adv)).into_response())
}

/// A brandname to declare.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandnameIn {
    /// The brandname (at most 11 Latin letters, digits, `-_.` or spaces).
    pub name: String,
    /// The operators it is declared on.
    #[serde(default)]
    pub operators: Vec<String>,
    /// `active` (default), `suspended` or `revoked`.
    pub status: Option<String>,
    /// Why: recorded in the audit log.
    pub reason: String,
}

/// Declare or update a brandname of an advertiser (audited).
#[utoipa::path(post, path = "/v1/advertisers/{code}/brandnames", tag = "advertisers", request_body = BrandnameIn,
    params(("code" = String, Path, description = "the advertiser's code")),
    responses((status = 201, body = Object), (status = 200, description = "Updated", body = Object), (status = 400, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn put_brandname(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    body: Result<Json<BrandnameIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(REGULATOR)?;
    let Json(b) = body?;
    let name =
        chanrac_hub::ads::canonical_brandname(&b.name).map_err(|m| ApiError::bad_request("invalid_brandname", m))?;
    let actor = Actor {
        name: &caller.name,
        reason: reason(&b.reason)?,
    };
    let operators: Vec<String> = b.operators.iter().map(|o| o.trim().to_ascii_lowercase()).collect();
    let (brand, created) = state
        .records
        .put_brandname(
            &name,
            &code,
            &operators.join(","),
            b.status.as_deref().unwrap_or("active"),
            actor,
        )
        .await?;
    reload_ads(&state).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(brand)).into_response())
}

/// An ad copy, sent before the ad.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdCopyIn {
    /// The ad text exactly as it will be sent.
    pub content: String,
    /// The brandname it will be sent under.
    pub brandname: String,
    /// Planned start (Unix seconds).
    pub window_from: Option<i64>,
    /// Planned end (Unix seconds).
    pub window_to: Option<i64>,
    /// Planned number of recipients.
    pub recipients: Option<i64>,
}

/// Submit an ad copy; it gets an id.
#[utoipa::path(post, path = "/v1/ads/copies", tag = "advertisers", request_body = AdCopyIn,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn post_ad_copy(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<AdCopyIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(ADVERTISERS)?;
    let Json(c) = body?;
    if c.content.trim().is_empty() {
        return Err(ApiError::bad_request("empty_content", "content is the ad text"));
    }
    if c.content.chars().count() > state.config.hub.max_text_chars {
        return Err(ApiError::bad_request(
            "too_long",
            "content is longer than hub.max_text_chars",
        ));
    }
    let brand = chanrac_hub::ads::canonical_brandname(&c.brandname)
        .map_err(|m| ApiError::bad_request("invalid_brandname", m))?;
    let window = match (c.window_from, c.window_to) {
        (Some(a), Some(b)) if a < b => Some((a, b)),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_window",
                "window_from and window_to go together, from before to",
            ));
        }
    };
    let copy: AdCopy = state
        .records
        .add_ad_copy(&NewAdCopy {
            at: now_ms(),
            via: "api".into(),
            sender: caller.name.to_string(),
            brandname: Some(brand),
            text: c.content,
            window,
            recipients: c.recipients,
        })
        .await?;
    reload_ads(&state).await?;
    Ok((StatusCode::CREATED, Json(copy)).into_response())
}

/// Puts a change of the advertiser register into effect on this node.
async fn reload_ads(state: &AppState) -> Result<(), ApiError> {
    state
        .hub
        .reload_ads(&state.records)
        .await
        .map_err(|e| ApiError::internal(format!("written, but not yet in effect: {e}")))
}

/// SMS the hub wants sent to subscribers.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxOut {
    /// Oldest first; each is handed out once.
    pub messages: Vec<Outgoing>,
}

/// Take the SMS the hub queued for subscribers (one-time passwords of DNC requests), for
/// an operator's SMS gateway to send from the short code. The outbox is in the store; each
/// message is handed out once (to this gateway or to the SMPP firewall of a node, whichever
/// claims it first), never after its password expired.
#[utoipa::path(post, path = "/v1/outbox/take", tag = "hub",
    responses((status = 200, body = OutboxOut)), security(("api_key" = [])))]
pub async fn take_outbox(State(state): State<AppState>, caller: Caller) -> Result<Json<OutboxOut>, ApiError> {
    caller.require(LINE)?;
    let by = format!("gateway:{}", caller.name);
    Ok(Json(OutboxOut {
        messages: state.hub.take_outbox(&state.records, &by).await?,
    }))
}

/// A report's evidence files.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceOut {
    /// In the order they were given (without their bytes).
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<Evidence>,
}

/// The evidence files of a report (analysts only).
#[utoipa::path(get, path = "/v1/reports/{id}/evidence", tag = "hub",
    params(("id" = i64, Path, description = "the report's id")),
    responses((status = 200, body = EvidenceOut), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub async fn report_evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<EvidenceOut>, ApiError> {
    caller.require(ANALYSTS)?;
    if state.records.report(id).await?.is_none() {
        return Err(ApiError::not_found(format!("no report {id}")));
    }
    Ok(Json(EvidenceOut {
        evidence: state.records.evidence(id).await?,
    }))
}

/// One evidence file of a report, as it was given (analysts only). Sent as an attachment
/// with its checked type, never to be rendered by the browser in the API's origin.
#[utoipa::path(get, path = "/v1/reports/{id}/evidence/{file}", tag = "hub",
    params(("id" = i64, Path, description = "the report's id"), ("file" = i64, Path, description = "the file's id")),
    responses((status = 200, description = "the file's bytes"), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub async fn report_evidence_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, file)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    caller.require(ANALYSTS)?;
    let (meta, bytes) = state
        .records
        .evidence_file(id, file)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("report {id} has no evidence file {file}")))?;
    let ascii_name: String = meta
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii_name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chanrac_smpp::pdu::status;

    #[test]
    fn outbox_outcomes_give_up_only_on_the_smscs_refusals() {
        let cases: [(Result<String, u32>, i64, &str); 6] = [
            (Ok("m1".into()), 1, "sent"),
            (Ok("m1".into()), 9, "sent"),
            (Err(status::ESME_RSUBMITFAIL), 1, "retry"),
            (Err(status::ESME_RSYSERR), OUTBOX_MAX_ATTEMPTS, "failed"),
            (Err(status::ESME_RTHROTTLED), 1, "retry"),
            (Err(status::ESME_RTHROTTLED), OUTBOX_MAX_ATTEMPTS + 10, "retry"),
        ];
        for (answer, attempts, want) in cases {
            let got = match outbox_outcome(answer.clone(), attempts) {
                OutboxOutcome::Sent(_) => "sent",
                OutboxOutcome::Retry(_) => "retry",
                OutboxOutcome::Failed(_) => "failed",
            };
            assert_eq!(got, want, "{answer:?} after {attempts} tries");
        }
    }
}
