//! Spam and scam calls in `chanrac serve`: `POST /v1/calls/batch` feeds call detail records
//! to one detector (`chanrac-calls`) that lives as long as the process, `GET
//! /v1/calls/suspects` lists the numbers it suspects, and, when `calls.block_suspects` is
//! set, suspects scoring at least `calls.block_min_score` are added to the block list
//! (senders) with an audit record naming the evidence, so that the SMS engine and every
//! node sharing the lists block them too.
//!
//! Every record counts in the statistics (`Dimension::Calls`, by the record's `operator`,
//! in the minute it started), and so does every number the first time it is suspected and
//! when it is blocked, under its category (the ministry's report, docs/report.md).
//!
//! The detector's windows run on the records' own times (a switch's export, replayed in
//! batches, is judged as it happened); the detector is behind one mutex, held only while a
//! batch is pushed (a batch of 10,000 records takes a few milliseconds).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use chanrac_calls::{CallPolicy, Detector, Inputs, Number, Suspect};
use chanrac_core::ListKind;
use chanrac_store::records::{Actor, Dimension, Records, Side};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::config::{CallsSection, Role};
use crate::error::ApiError;
use crate::state::AppState;
use crate::stats::Tally;

/// The detector and what it has fed to the lists.
pub struct CallsState {
    detector: Mutex<Detector>,
    blocked: Mutex<HashSet<Number>>,
    /// Numbers already counted as suspects in the statistics.
    counted: Mutex<HashSet<Number>>,
}

impl std::fmt::Debug for CallsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallsState").finish_non_exhaustive()
    }
}

fn read_list(path: Option<&std::path::Path>, what: &str) -> Result<HashSet<Number>, String> {
    let Some(p) = path else {
        return Ok(HashSet::new());
    };
    let text = std::fs::read_to_string(p).map_err(|e| format!("calls.{what}: cannot read {}: {e}", p.display()))?;
    chanrac_calls::parse_number_list(&text).map_err(|e| format!("calls.{what}: {}: {e}", p.display()))
}

impl CallsState {
    /// Builds the detector from the `[calls]` section: its policy file and input lists.
    pub fn new(c: &CallsSection) -> Result<CallsState, String> {
        let policy = match &c.policy {
            Some(p) => CallPolicy::load(p).map_err(|e| format!("calls.policy: {e}"))?,
            None => CallPolicy::default(),
        };
        let inputs = Inputs {
            dnc: read_list(c.dnc.as_deref(), "dnc")?,
            advertisers: read_list(c.advertisers.as_deref(), "advertisers")?,
            roaming: read_list(c.roaming.as_deref(), "roaming")?,
            sms_sent: match c.sms_counts.as_deref() {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .map_err(|e| format!("calls.sms_counts: cannot read {}: {e}", p.display()))?;
                    chanrac_calls::parse_sms_counts(&text)
                        .map_err(|e| format!("calls.sms_counts: {}: {e}", p.display()))?
                }
                None => Default::default(),
            },
            ..Inputs::default()
        };
        Ok(CallsState {
            detector: Mutex::new(Detector::new(policy, inputs)),
            blocked: Mutex::new(HashSet::new()),
            counted: Mutex::new(HashSet::new()),
        })
    }
}

/// A batch of call detail records.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallBatchIn {
    /// The records, in time order: objects with `start_time` (RFC 3339), `caller`,
    /// `displayed_number` (optional), `callee`, `duration_s`, `answered`, `origin`
    /// (`domestic`, `international` or `voip`) and `operator`; other fields are ignored.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<serde_json::Value>,
}

/// A record that was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedOut {
    /// Its index in `records`, from 0.
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// One line of evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceOut {
    /// The signal id (docs/calls.md).
    pub signal: String,
    /// Its weight.
    pub weight: f64,
    /// What was measured.
    pub detail: String,
}

/// A suspected number.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspectOut {
    /// The calling number, canonical.
    pub number: String,
    /// robocall, telemarketing, wangiri, spoofed, scam or sms_source.
    pub category: String,
    /// The sum of the weights of its signals.
    pub score: f64,
    /// Every signal that fired, largest weight first.
    pub evidence: Vec<EvidenceOut>,
    /// Calls made.
    pub calls_made: u32,
    /// Calls received.
    pub calls_received: u32,
    /// When the first of its signals fired (RFC 3339, Vietnam time).
    pub flagged_at: Option<String>,
}

impl From<Suspect> for SuspectOut {
    fn from(s: Suspect) -> Self {
        SuspectOut {
            number: s.number,
            category: s.category.as_str().to_string(),
            score: s.score,
            evidence: s
                .evidence
                .into_iter()
                .map(|e| EvidenceOut {
                    signal: e.signal.to_string(),
                    weight: e.weight,
                    detail: e.detail,
                })
                .collect(),
            calls_made: s.calls_made,
            calls_received: s.calls_received,
            flagged_at: s.flagged_at,
        }
    }
}

/// What a batch did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallBatchOut {
    /// Records taken into account.
    pub accepted: usize,
    /// Records refused, with their index and reason (the others are still counted).
    pub rejected: Vec<RejectedOut>,
    /// The callers of this batch that are now suspected.
    pub suspects: Vec<SuspectOut>,
    /// Numbers added to the block list by this batch (`calls.block_suspects`).
    pub blocked: Vec<String>,
}

/// Feed call detail records to the call detector.
#[utoipa::path(post, path = "/v1/calls/batch", tag = "calls", request_body = CallBatchIn,
    responses((status = 200, body = CallBatchOut), (status = 400, description = "Not a batch", body = crate::error::ErrorBody),
        (status = 403, description = "Not an operator", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CallBatchOut>, ApiError> {
    caller.require(&[Role::Operator])?;
    let body = body?;
    let batch: CallBatchIn = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid call batch: {e}")))?;
    let max = state.config.calls.max_batch;
    if batch.records.len() > max {
        return Err(ApiError::bad_request(
            "too_many_records",
            format!("{} records in one batch; at most {max}", batch.records.len()),
        ));
    }
    let st = state.clone();
    let (accepted, rejected, suspects, seen) = tokio::task::spawn_blocking(move || {
        let mut rejected = Vec::new();
        let mut callers = Vec::new();
        let mut cdrs = Vec::with_capacity(batch.records.len());
        let mut tally = Tally::default();
        // Each caller's operator and latest start in this batch, for its suspect count.
        let mut seen: HashMap<Number, (String, i64)> = HashMap::new();
        for (index, v) in batch.records.iter().enumerate() {
            match chanrac_calls::cdr::from_json_value(v) {
                Ok(c) => {
                    let operator = v.get("operator").and_then(|o| o.as_str()).unwrap_or("");
                    let operator = operator.trim().to_lowercase();
                    let minute = c.start.div_euclid(60) * 60;
                    tally.dim(minute, Dimension::Calls, &operator, "checked", "", 1);
                    let last = seen.entry(c.caller).or_insert_with(|| (String::new(), c.start));
                    if c.start >= last.1 {
                        *last = (operator, c.start);
                    }
                    cdrs.push(c);
                }
                Err(reason) => rejected.push(RejectedOut { index, reason }),
            }
        }
        st.stats.merge(tally);
        let mut d = st.calls.detector.lock().unwrap_or_else(|p| p.into_inner());
        d.push_all(&cdrs);
        callers.extend(cdrs.iter().map(|c| c.caller));
        callers.sort_unstable();
        callers.dedup();
        let engine = st.engine();
        let suspects: Vec<Suspect> = callers
            .into_iter()
            .filter_map(|n| d.suspect(n))
            .filter(|s| !engine.lists().allow.has_sender(&s.number))
            .collect();
        (cdrs.len(), rejected, suspects, seen)
    })
    .await
    .map_err(|e| ApiError::internal(format!("call batch failed: {e}")))?;

    // Suspects and blocked numbers count once each, under the operator of their latest
    // record, in the minute it started.
    let mut tally = Tally::default();
    let where_of = |number: &str| {
        Number::parse(number)
            .ok()
            .and_then(|n| seen.get(&n).map(|(op, at)| (n, op.clone(), at.div_euclid(60) * 60)))
    };
    for s in &suspects {
        let Some((n, operator, minute)) = where_of(&s.number) else {
            continue;
        };
        if state.calls.counted.lock().unwrap_or_else(|p| p.into_inner()).insert(n) {
            tally.dim(minute, Dimension::Calls, &operator, "suspected", s.category.as_str(), 1);
        }
    }
    state.stats.merge(std::mem::take(&mut tally));
    let mut blocked = Vec::new();
    let cfg = &state.config.calls;
    if cfg.block_suspects {
        for s in suspects.iter().filter(|s| s.score >= cfg.block_min_score) {
            let Ok(n) = Number::parse(&s.number) else { continue };
            if !state.calls.blocked.lock().unwrap_or_else(|p| p.into_inner()).insert(n) {
                continue;
            }
            let why: Vec<String> = s
                .evidence
                .iter()
                .take(3)
                .map(|e| format!("{}: {}", e.signal, e.detail))
                .collect();
            let reason = format!(
                "call detector: {} (score {:.1}); {}",
                s.category.as_str(),
                s.score,
                why.join("; ")
            );
            let actor = Actor {
                name: &format!("calls:{}", caller.name),
                reason: &reason,
            };
            state
                .records
                .add_list_entry(Side::Block, ListKind::Senders, &s.number, actor)
                .await?;
            if let Some((_, operator, minute)) = where_of(&s.number) {
                tally.dim(minute, Dimension::Calls, &operator, "blocked", s.category.as_str(), 1);
            }
            blocked.push(s.number.clone());
        }
        if !blocked.is_empty() {
            state
                .refresh_lists(false)
                .await
                .map_err(|e| ApiError::internal(format!("written, but not yet in effect: {e}")))?;
        }
    }
    state.stats.merge(tally);
    Ok(Json(CallBatchOut {
        accepted,
        rejected,
        suspects: suspects.into_iter().map(SuspectOut::from).collect(),
        blocked,
    }))
}

/// SMS counts per number from the operator's SMSC, for `SMS_MANY_CALLS_FEW`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsCountsIn {
    /// The counts: `{"number":"0912345678","sms_sent":420}`, a number in any form.
    pub counts: Vec<SmsCountIn>,
    /// `replace` (the default): these are the counts of the new period, older counts are
    /// forgotten; `add`: they add to the counts already held.
    #[serde(default)]
    pub mode: SmsCountsMode,
}

/// One number's SMS count.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsCountIn {
    /// The sending number.
    pub number: String,
    /// SMS it sent over the period.
    pub sms_sent: u64,
}

/// How new SMS counts combine with the ones held.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmsCountsMode {
    /// The counts of a new period.
    #[default]
    Replace,
    /// Added to the counts held.
    Add,
}

/// What the detector now holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmsCountsOut {
    /// Counts taken from this request.
    pub accepted: usize,
    /// Numbers with an SMS count now.
    pub numbers: usize,
    /// Suspects after the update whose evidence includes `SMS_MANY_CALLS_FEW`.
    pub sms_sources: usize,
}

/// Sets the SMS counts per number (for `SMS_MANY_CALLS_FEW`: many SMS, few calls). The
/// whole request is refused, and nothing changed, if one number is not a phone number.
#[utoipa::path(
    post,
    path = "/v1/calls/sms-counts",
    tag = "calls",
    request_body = SmsCountsIn,
    responses(
        (status = 200, description = "Counts taken", body = SmsCountsOut),
        (status = 400, description = "Invalid JSON, a bad number, or too many counts", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown API key", body = crate::error::ErrorBody),
        (status = 403, description = "Role not allowed", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn sms_counts(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SmsCountsOut>, ApiError> {
    caller.require(&[Role::Operator])?;
    let body = body?;
    let req: SmsCountsIn = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid SMS counts: {e}")))?;
    let max = state.config.calls.max_batch;
    if req.counts.len() > max {
        return Err(ApiError::bad_request(
            "too_many_records",
            format!("{} counts in one request; at most {max}", req.counts.len()),
        ));
    }
    let mut parsed = Vec::with_capacity(req.counts.len());
    for (i, c) in req.counts.iter().enumerate() {
        let n = Number::parse(&c.number)
            .map_err(|e| ApiError::bad_request("invalid_number", format!("counts[{i}].number {:?}: {e}", c.number)))?;
        parsed.push((n, c.sms_sent));
    }
    let accepted = parsed.len();
    let mut d = state.calls.detector.lock().unwrap_or_else(|p| p.into_inner());
    d.set_sms_sent(parsed, matches!(req.mode, SmsCountsMode::Replace));
    let sms_sources = d
        .suspects()
        .iter()
        .filter(|s| s.evidence.iter().any(|e| e.signal == "SMS_MANY_CALLS_FEW"))
        .count();
    Ok(Json(SmsCountsOut {
        accepted,
        numbers: d.sms_numbers(),
        sms_sources,
    }))
}

/// Which suspects to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuspectsQuery {
    /// Only this category (robocall, telemarketing, wangiri, spoofed, scam, sms_source).
    pub category: Option<String>,
    /// At most this many, highest score first (default 100, at most 10,000).
    pub limit: Option<usize>,
}

/// The suspected numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspectsOut {
    /// Records taken into account since the start.
    pub records: u64,
    /// Numbers tracked.
    pub tracked: usize,
    /// How many numbers are suspected (before `limit`).
    pub total: usize,
    /// The suspects, highest score first.
    pub suspects: Vec<SuspectOut>,
}

/// The numbers the call detector suspects.
#[utoipa::path(get, path = "/v1/calls/suspects", tag = "calls", params(SuspectsQuery),
    responses((status = 200, body = SuspectsOut), (status = 403, description = "Not an operator or regulator", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn suspects(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<SuspectsQuery>, QueryRejection>,
) -> Result<Json<SuspectsOut>, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator])?;
    let Query(q) = query?;
    if let Some(c) = &q.category
        && !chanrac_calls::CallCategory::ALL.iter().any(|k| k.as_str() == c)
    {
        return Err(ApiError::bad_request(
            "invalid_category",
            format!("{c:?} is not a call category"),
        ));
    }
    let limit = q.limit.unwrap_or(100).min(10_000);
    let st = state.clone();
    let out = tokio::task::spawn_blocking(move || {
        let d = st.calls.detector.lock().unwrap_or_else(|p| p.into_inner());
        let engine = st.engine();
        let all: Vec<Suspect> = d
            .suspects()
            .into_iter()
            .filter(|s| q.category.as_deref().is_none_or(|c| s.category.as_str() == c))
            .filter(|s| !engine.lists().allow.has_sender(&s.number))
            .collect();
        SuspectsOut {
            records: d.records(),
            tracked: d.tracked(),
            total: all.len(),
            suspects: all.into_iter().take(limit).map(SuspectOut::from).collect(),
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("suspects failed: {e}")))?;
    Ok(Json(out))
}

/// Suspects of one category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCount {
    /// The category.
    pub category: String,
    /// Suspects in it.
    pub suspects: usize,
}

/// The call detector's figures (the dashboard's calls card).
#[derive(Debug, Serialize, ToSchema)]
pub struct CallStatsOut {
    /// Records taken into account since the start.
    pub records: u64,
    /// Numbers tracked.
    pub tracked: usize,
    /// Numbers suspected (the allow list hides none here).
    pub suspects: usize,
    /// Numbers this node added to the block list.
    pub blocked: usize,
    /// Suspects per category, every category listed.
    pub categories: Vec<CategoryCount>,
}

/// The call detector's figures: records, numbers, suspects per category.
#[utoipa::path(get, path = "/v1/calls/stats", tag = "calls",
    responses((status = 200, body = CallStatsOut), (status = 403, description = "Not an operator or regulator", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn stats(State(state): State<AppState>, caller: Caller) -> Result<Json<CallStatsOut>, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator])?;
    let st = state.clone();
    let out = tokio::task::spawn_blocking(move || {
        let d = st.calls.detector.lock().unwrap_or_else(|p| p.into_inner());
        let all = d.suspects();
        CallStatsOut {
            records: d.records(),
            tracked: d.tracked(),
            suspects: all.len(),
            blocked: st.calls.blocked.lock().map(|b| b.len()).unwrap_or(0),
            categories: chanrac_calls::CallCategory::ALL
                .iter()
                .map(|c| CategoryCount {
                    category: c.as_str().to_string(),
                    suspects: all.iter().filter(|s| s.category == *c).count(),
                })
                .collect(),
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("call stats failed: {e}")))?;
    Ok(Json(out))
}
