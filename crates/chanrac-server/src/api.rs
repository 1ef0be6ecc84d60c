//! The HTTP API under `/v1/`, with the request and response types that the OpenAPI
//! document (`GET /openapi.json`) is generated from.

use std::cell::RefCell;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chanrac_core::{
    Action, Category, Channel, ListKind, Message, Metadata, Origin, Prepared, Reason, Scratch, Verdict,
};
use chanrac_store::Request;
use chanrac_store::records::{Actor, AuditRecord, ListEntry, Records, Side, TopKind, VerdictQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::Metrics;
use crate::state::{AppState, ReloadReport};
use crate::stats::Tally;
use crate::verdict_log::Entry;

/// Who may check messages and manage the firewall: the roles of an operator's or the
/// regulator's engineers.
pub(crate) const OPERATORS: &[Role] = &[Role::Operator, Role::Regulator];

thread_local! {
    /// Each thread's working memory for the engine.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A time: Unix seconds or RFC 3339 (`2026-11-22T21:30:00+07:00`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TimeIn {
    /// Unix seconds.
    Unix(i64),
    /// RFC 3339.
    Text(String),
}

impl TimeIn {
    fn unix(&self, field: &str) -> Result<i64, String> {
        match self {
            TimeIn::Unix(n) => Ok(*n),
            TimeIn::Text(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|e| format!("{field}: {s:?} is not an RFC 3339 time ({e})")),
        }
    }
}

/// One message to check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    /// Your id for the message, echoed in the verdict.
    pub id: Option<String>,
    /// The sender: a number in any Vietnamese or E.164 form, a short code or a brandname.
    #[schema(example = "0912345678")]
    pub sender: Option<String>,
    /// The recipient number.
    pub recipient: Option<String>,
    /// The text (UTF-8; texts over 64 KiB are checked in their first 64 KiB). Required
    /// unless `email` is given.
    #[schema(example = "Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz")]
    pub text: Option<String>,
    /// A whole e-mail (RFC 5322 / MIME) instead of `text`: its subject and text parts are
    /// checked with the e-mail signals (docs/email.md); `id`, `sender` and `recipient`
    /// default to its Message-ID, From and To, and the channel is `email`.
    pub email: Option<String>,
    /// `sms` (default), `ott` or `email`.
    #[schema(value_type = Option<String>, example = "sms")]
    pub channel: Option<Channel>,
    /// When the message was received; now when absent. Hours rules use Vietnam time.
    pub received_at: Option<TimeIn>,
    /// `domestic` or `international` (the route it came in on).
    #[schema(value_type = Option<String>)]
    pub origin: Option<Origin>,
    /// The sender's operator.
    pub operator: Option<String>,
    /// When the sender's SIM was activated.
    pub sim_activated_at: Option<TimeIn>,
}

impl MessageIn {
    /// The message to check (its `id` is the one its verdict carries: the given id, or an
    /// e-mail's Message-ID).
    fn into_message(self, now: i64, mail: &chanrac_mail::Limits) -> Result<Message, String> {
        let (text, mail) = match (self.text, self.email) {
            (Some(t), None) => (t, None),
            (None, Some(raw)) => (String::new(), Some(crate::email::read(raw.as_bytes(), mail)?)),
            (Some(_), Some(_)) => return Err("give either `text` or `email`, not both".into()),
            (None, None) => return Err("missing field `text` (or `email`)".into()),
        };
        let received_at = match &self.received_at {
            Some(t) => t.unix("received_at")?,
            None => now,
        };
        let sim = self
            .sim_activated_at
            .as_ref()
            .map(|t| t.unix("sim_activated_at"))
            .transpose()?;
        let meta = Metadata {
            operator: self.operator,
            origin: self.origin,
            sim_activated_at: sim,
        };
        if let Some(m) = mail {
            return Ok(crate::email::overlay(
                m,
                self.id,
                self.sender,
                self.recipient,
                received_at,
                meta,
            ));
        }
        Ok(Message {
            id: self.id,
            sender: self.sender,
            recipient: self.recipient,
            text,
            channel: self.channel.unwrap_or_default(),
            received_at: Some(received_at),
            meta,
            email: None,
        })
    }
}

/// A verdict, as `chanrac check --json` prints it, with the message's id when it had one.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictOut<'a> {
    /// The message's id, if it was given one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    /// allow, tag, quarantine or block.
    pub action: Action,
    /// ham, ad, spam or scam.
    pub category: Category,
    /// The sum of the reasons' weights.
    pub score: f32,
    /// Every signal that fired, largest contribution first.
    pub reasons: &'a [Reason],
}

impl<'a> VerdictOut<'a> {
    /// What a verdict's answer is made of ([`write_verdict`] writes it without this step;
    /// the tests hold the two equal).
    #[cfg(test)]
    fn new(id: Option<&'a str>, v: &'a Verdict) -> Self {
        VerdictOut {
            id,
            action: v.action,
            category: v.category,
            score: v.score,
            reasons: &v.reasons,
        }
    }
}

/// Checks one message with this thread's working memory and counts it in `tally` (the
/// caller merges the tally with [`AppState::merge_checks`] and hands the message to the
/// verdict log once answered, see [`crate::verdict_log`]). `counted` is the
/// message as [`prepare_one`] analysed it and the values the counters returned for its
/// plan (`None`: they could not answer), when the engine is stateful.
pub(crate) fn check_one(
    state: &AppState,
    engine: &chanrac_core::Engine,
    msg: &Message,
    now: i64,
    tally: &mut Tally,
    counted: Option<(&mut Prepared, Option<&[u64]>)>,
) -> Verdict {
    SCRATCH.with(|s| {
        let mut scratch = s.borrow_mut();
        // Advertisements are judged with the hub's registers (DNC, advertisers, copies, caps).
        // With counters, the cap is counted in them (shared by the nodes); without, here.
        let shared_sent = counted
            .as_ref()
            .and_then(|(p, values)| crate::hub::HubState::ad_cap_count(&p.plan, *values));
        let ads = state.hub.ad_facts(engine, msg, now, shared_sent);
        let with_counters = counted.is_some();
        let (v, urls) = match counted {
            Some((prepared, values)) => {
                let v = engine.finish(msg, prepared, values, ads.as_ref(), &mut scratch);
                (v, prepared.urls())
            }
            None => {
                let v = engine.check_full(msg, &mut scratch, None, ads.as_ref());
                (v, &scratch.findings().urls[..])
            }
        };
        if ads.is_some() && !with_counters && v.action < Action::Block {
            state.hub.count_ad(msg, now);
        }
        // Violations are counted per advertiser: its key is made only when there is one.
        let violation = ads.is_some()
            && v.reasons
                .iter()
                .any(|r| chanrac_hub::ministry::is_ad_violation(&r.signal));
        let advertiser = violation.then(|| state.hub.advertiser_key(msg));
        tally.record(
            now,
            msg,
            &v,
            urls.iter().map(|u| u.domain.as_str()),
            advertiser.as_deref(),
        );
        v
    })
}

/// One message analysed for a check with counters, with this thread's working memory: its
/// counter plan (the hub's ad cap included) and the signals that need no counters, from
/// one fold and one extraction of the text.
pub(crate) fn prepare_one(state: &AppState, engine: &chanrac_core::Engine, msg: &Message) -> Prepared {
    let mut prepared = SCRATCH.with(|s| engine.prepare(msg, &mut s.borrow_mut()));
    state.hub.plan_ad_cap(msg, &mut prepared.plan);
    prepared
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Check one message: JSON, or a whole e-mail as `message/rfc822`.
///
/// An e-mail (RFC 5322 / MIME, up to `server.max_body_bytes`) sent with
/// `Content-Type: message/rfc822` is checked on its subject and text parts with the e-mail
/// signals; its Message-ID is the verdict's `id`, From and To are the sender and recipient.
#[utoipa::path(post, path = "/v1/check", tag = "check",
    request_body(content((MessageIn = "application/json"), (String = "message/rfc822"))),
    responses(
        (status = 200, description = "The verdict", body = VerdictOut),
        (status = 400, description = "Malformed message", body = ErrorBody),
        (status = 401, description = "No or unknown API key", body = ErrorBody),
        (status = 503, description = "Overloaded", body = ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<MessageIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(OPERATORS)?;
    let Json(input) = body?;
    let started = Instant::now();
    let now = now();
    let msg = input
        .into_message(now, &state.config.email.limits())
        .map_err(|m| ApiError::bad_request("invalid_message", m))?;
    Ok(check_message(state, msg, started, now).await)
}

/// Checks one message (with the counters when the engine is stateful), counts it and
/// answers its verdict.
pub(crate) async fn check_message(state: AppState, msg: Message, started: Instant, now: i64) -> Response {
    let engine = state.engine();
    let mut tally = Tally::default();
    let v = if engine.is_stateful() {
        // One counter call for the message, on the server's clock.
        let mut prepared = prepare_one(&state, &engine, &msg);
        let mut values = Vec::with_capacity(prepared.plan.values_len());
        let requests = [Request {
            now,
            ops: &prepared.plan.keys,
        }];
        let ok = state.counters.apply(&requests, &mut values).await;
        let values = state.counters.answered(ok, 1).then_some(&values[..]);
        check_one(&state, &engine, &msg, now, &mut tally, Some((&mut prepared, values)))
    } else {
        check_one(&state, &engine, &msg, now, &mut tally, None)
    };
    state.merge_checks(tally);
    let mut body = Vec::with_capacity(256 + 96 * v.reasons.len());
    let out = match write_verdict(&mut body, msg.id.as_deref(), &v) {
        Ok(reasons) => {
            let reasons_json = logged_reasons(&state, &v, &body, reasons);
            // The answer is made: the message and its verdict move to the log's queue,
            // uncopied, with the reasons' JSON of the answer.
            state.verdict_log.push_one(now, "http", msg, v, reasons_json);
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    };
    state.metrics.check_seconds.record(started.elapsed().as_secs_f64());
    out
}

/// Writes a verdict as [`VerdictOut`] serializes it (the same bytes) and returns where its
/// `reasons` array lies in `out`: the verdict log stores that JSON as it is, rather than
/// serializing the reasons again.
fn write_verdict(
    out: &mut Vec<u8>,
    id: Option<&str>,
    v: &Verdict,
) -> Result<std::ops::Range<usize>, serde_json::Error> {
    out.push(b'{');
    if let Some(id) = id {
        out.extend_from_slice(b"\"id\":");
        serde_json::to_writer(&mut *out, id)?;
        out.push(b',');
    }
    out.extend_from_slice(b"\"action\":");
    serde_json::to_writer(&mut *out, &v.action)?;
    out.extend_from_slice(b",\"category\":");
    serde_json::to_writer(&mut *out, &v.category)?;
    out.extend_from_slice(b",\"score\":");
    serde_json::to_writer(&mut *out, &v.score)?;
    out.extend_from_slice(b",\"reasons\":");
    let start = out.len();
    serde_json::to_writer(&mut *out, &v.reasons)?;
    let reasons = start..out.len();
    out.push(b'}');
    Ok(reasons)
}

/// Writes the verdicts of a batch as [`BatchOut`] serializes them (the same bytes), and where
/// each one's `reasons` array lies (see [`write_verdict`]).
fn write_batch<'a>(
    verdicts: impl ExactSizeIterator<Item = (Option<&'a str>, &'a Verdict)>,
) -> Result<(Vec<u8>, Vec<std::ops::Range<usize>>), serde_json::Error> {
    let mut body = Vec::with_capacity(256 * verdicts.len());
    let mut reasons = Vec::with_capacity(verdicts.len());
    body.extend_from_slice(b"{\"verdicts\":[");
    for (i, (id, v)) in verdicts.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        reasons.push(write_verdict(&mut body, id, v)?);
    }
    body.extend_from_slice(b"]}");
    Ok((body, reasons))
}

/// The reasons' JSON that [`write_verdict`] wrote at `at` in `body`, for the verdict log
/// when it keeps this verdict.
fn logged_reasons(state: &AppState, v: &Verdict, body: &[u8], at: std::ops::Range<usize>) -> Option<String> {
    if !state.verdict_log.keeps(v.action) {
        return None;
    }
    body.get(at)
        .and_then(|json| std::str::from_utf8(json).ok())
        .map(str::to_owned)
}

/// Up to `server.max_batch` messages.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchIn {
    /// The messages.
    pub messages: Vec<MessageIn>,
}

/// The verdicts of a batch, in the order of its messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut<'a> {
    /// One verdict per message.
    pub verdicts: Vec<VerdictOut<'a>>,
}

/// Check up to 10,000 messages at once.
///
/// The batch is parsed, checked on every core and answered off the request threads.
#[utoipa::path(post, path = "/v1/check/batch", tag = "check",
    request_body = BatchIn,
    responses(
        (status = 200, description = "The verdicts, in order", body = BatchOut),
        (status = 400, description = "Malformed batch, or too many messages", body = ErrorBody),
        (status = 413, description = "Body over server.max_body_bytes", body = ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn check_batch(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(OPERATORS)?;
    let body = body?;
    let started = Instant::now();
    let st = state.clone();
    let result = tokio::task::spawn_blocking(move || run_batch(&st, &body))
        .await
        .map_err(|e| ApiError::internal(format!("batch task failed: {e}")))??;
    state.metrics.batch_seconds.record(started.elapsed().as_secs_f64());
    Ok(([(header::CONTENT_TYPE, "application/json")], result).into_response())
}

/// Parses, checks (on every core) and serializes a batch.
fn run_batch(state: &AppState, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let batch: BatchIn = serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_data() { "invalid_message" } else { "invalid_json" };
        ApiError::bad_request(code, format!("invalid batch: {e}"))
    })?;
    let max = state.config.server.max_batch;
    if batch.messages.len() > max {
        return Err(ApiError::bad_request(
            "too_many_messages",
            format!("{} messages in one batch; at most {max}", batch.messages.len()),
        ));
    }
    let now = now();
    let limits = state.config.email.limits();
    let mut messages = Vec::with_capacity(batch.messages.len());
    for (i, m) in batch.messages.into_iter().enumerate() {
        messages.push(
            m.into_message(now, &limits)
                .map_err(|why| ApiError::bad_request("invalid_message", format!("messages[{i}]: {why}")))?,
        );
    }
    state.metrics.batch_messages.record(messages.len() as f64);
    let engine = state.engine();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = messages.len().div_ceil(threads).max(256);
    // With counters: analyse every message and plan its counters (in parallel), apply the
    // whole batch in one call (one Redis round trip), then score with each message's values.
    let mut plans: Vec<Prepared> = if engine.is_stateful() {
        let mut plans = Vec::with_capacity(messages.len());
        std::thread::scope(|scope| {
            let handles: Vec<_> = messages
                .chunks(chunk)
                .map(|part| {
                    let engine = &engine;
                    scope.spawn(move || part.iter().map(|m| prepare_one(state, engine, m)).collect::<Vec<_>>())
                })
                .collect();
            for h in handles {
                if let Ok(part) = h.join() {
                    plans.extend(part);
                }
            }
        });
        if plans.len() != messages.len() {
            return Err(ApiError::internal("a batch worker failed"));
        }
        plans
    } else {
        Vec::new()
    };
    let mut values = Vec::new();
    let mut offsets = Vec::with_capacity(plans.len() + 1);
    let mut answered = false;
    if !plans.is_empty() {
        let requests: Vec<Request<'_>> = plans.iter().map(|p| Request { now, ops: &p.plan.keys }).collect();
        let ok = state.counters.apply_blocking(&requests, &mut values);
        answered = state.counters.answered(ok, plans.len() as u64);
        offsets.push(0);
        for p in &plans {
            offsets.push(offsets.last().copied().unwrap_or(0) + p.plan.values_len());
        }
        if answered && offsets.last() != Some(&values.len()) {
            return Err(ApiError::internal("the counters returned the wrong number of values"));
        }
    }
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(messages.len());
    let mut prepared = plans.chunks_mut(chunk);
    std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let (engine, values, offsets) = (&engine, &values, &offsets);
                let mut prepared = prepared.next().map(<[Prepared]>::iter_mut);
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    let out: Vec<Verdict> = part
                        .iter()
                        .enumerate()
                        .map(|(j, m)| {
                            let i = c * chunk + j;
                            let counted = prepared
                                .as_mut()
                                .and_then(Iterator::next)
                                .map(|p| (p, answered.then(|| &values[offsets[i]..offsets[i + 1]])));
                            check_one(state, engine, m, now, &mut tally, counted)
                        })
                        .collect();
                    state.merge_checks(tally);
                    out
                })
            })
            .collect();
        for h in handles {
            if let Ok(part) = h.join() {
                verdicts.extend(part);
            }
        }
    });
    if verdicts.len() != messages.len() {
        return Err(ApiError::internal("a batch worker failed"));
    }
    let (body, reasons) = write_batch(messages.iter().map(|m| m.id.as_deref()).zip(&verdicts))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    // Answered: the messages and their verdicts move to the log's queue, uncopied, with the
    // reasons' JSON of the answer.
    state.verdict_log.push(
        messages
            .into_iter()
            .zip(verdicts)
            .zip(reasons)
            .map(|((msg, verdict), at)| Entry {
                at: now,
                source: "http",
                reasons_json: logged_reasons(state, &verdict, &body, at),
                msg,
                verdict,
            }),
    );
    Ok(body)
}

/// Which entries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `allow` or `block`.
    pub side: Option<String>,
    /// `senders`, `brandnames`, `domains` or `accounts`.
    pub kind: Option<String>,
}

/// The list entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListsOut {
    /// The lists version in effect on this node.
    pub version: i64,
    /// The entries.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<ListEntry>,
}

fn parse_side(s: &str) -> Result<Side, ApiError> {
    Side::parse(s).ok_or_else(|| ApiError::not_found(format!("no list side {s:?}; use allow or block")))
}

fn parse_kind(s: &str) -> Result<ListKind, ApiError> {
    ListKind::parse(s).ok_or_else(|| {
        ApiError::not_found(format!(
            "no list kind {s:?}; use senders, brandnames, domains or accounts"
        ))
    })
}

/// Read the allow and block lists.
#[utoipa::path(get, path = "/v1/lists", tag = "lists", params(ListQuery),
    responses((status = 200, body = ListsOut)), security(("api_key" = [])))]
pub async fn lists(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ListsOut>, ApiError> {
    caller.require(OPERATORS)?;
    let Query(q) = query?;
    let side = q.side.as_deref().map(parse_side).transpose()?;
    let kind = q.kind.as_deref().map(parse_kind).transpose()?;
    let entries = state
        .records
        .list_entries()
        .await
        .inspect_err(|_| Metrics::store_error("list_entries"))?;
    Ok(Json(ListsOut {
        version: state.lists_version(),
        entries: entries
            .into_iter()
            .filter(|e| side.is_none_or(|s| e.side == s) && kind.is_none_or(|k| e.kind == k))
            .collect(),
    }))
}

/// A list entry to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryIn {
    /// The entry in any written form (`0912 345 678`, `0909*`, `Vietcombank`, `evil.xyz`).
    pub value: String,
    /// Why: recorded in the audit log. Required.
    pub reason: String,
}

/// The outcome of a list change.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryOut {
    /// The stored entry.
    #[schema(value_type = Object)]
    pub entry: ListEntry,
    /// False when it was already there (nothing changed).
    pub created: bool,
    /// The lists version in effect on this node after the change.
    pub version: i64,
}

/// Add an entry to a list. In effect on this node when the answer comes, on the others
/// within seconds.
#[utoipa::path(post, path = "/v1/lists/{side}/{kind}", tag = "lists",
    params(("side" = String, Path, description = "allow or block"), ("kind" = String, Path, description = "senders, brandnames, domains or accounts")),
    request_body = EntryIn,
    responses((status = 201, body = EntryOut), (status = 200, description = "Already listed", body = EntryOut),
        (status = 400, body = ErrorBody), (status = 503, description = "Store down: nothing was written", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn add_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path((side, kind)): Path<(String, String)>,
    body: Result<Json<EntryIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(OPERATORS)?;
    let (side, kind) = (parse_side(&side)?, parse_kind(&kind)?);
    let Json(e) = body?;
    if e.reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "reason_required",
            "a reason is required for the audit log",
        ));
    }
    let actor = Actor {
        name: &caller.name,
        reason: e.reason.trim(),
    };
    let (entry, created) = state
        .records
        .add_list_entry(side, kind, &e.value, actor)
        .await
        .inspect_err(|_| Metrics::store_error("add_list_entry"))?;
    state
        .refresh_lists(false)
        .await
        .map_err(|e| ApiError::internal(format!("written, but not yet in effect: {e}")))?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(EntryOut {
            entry,
            created,
            version: state.lists_version(),
        }),
    )
        .into_response())
}

/// Why an entry is removed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    /// Why: recorded in the audit log. Required.
    pub reason: String,
}

/// The outcome of a removal.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemovedOut {
    /// True when the entry was there.
    pub removed: bool,
    /// The lists version in effect on this node after the change.
    pub version: i64,
}

/// Remove an entry from a list.
#[utoipa::path(delete, path = "/v1/lists/{side}/{kind}/{value}", tag = "lists",
    params(("side" = String, Path, description = "allow or block"), ("kind" = String, Path, description = "senders, brandnames, domains or accounts"),
        ("value" = String, Path, description = "the entry, in any written form"), RemoveQuery),
    responses((status = 200, body = RemovedOut), (status = 404, description = "Not listed", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn remove_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path((side, kind, value)): Path<(String, String, String)>,
    query: Result<Query<RemoveQuery>, QueryRejection>,
) -> Result<Json<RemovedOut>, ApiError> {
    caller.require(OPERATORS)?;
    let (side, kind) = (parse_side(&side)?, parse_kind(&kind)?);
    let Query(q) =
        query.map_err(|_| ApiError::bad_request("reason_required", "a ?reason= is required for the audit log"))?;
    if q.reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "reason_required",
            "a reason is required for the audit log",
        ));
    }
    let actor = Actor {
        name: &caller.name,
        reason: q.reason.trim(),
    };
    let removed = state
        .records
        .remove_list_entry(side, kind, &value, actor)
        .await
        .inspect_err(|_| Metrics::store_error("remove_list_entry"))?;
    if !removed {
        return Err(ApiError::not_found(format!(
            "{value:?} is not on the {} {} list",
            side.as_str(),
            kind.name()
        )));
    }
    state
        .refresh_lists(false)
        .await
        .map_err(|e| ApiError::internal(format!("written, but not yet in effect: {e}")))?;
    Ok(Json(RemovedOut {
        removed,
        version: state.lists_version(),
    }))
}

/// Which audit records.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Records with an id above this (for paging); 0 by default.
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// The audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    /// Oldest first.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<AuditRecord>,
}

/// Read the audit log: who changed what, when and why.
#[utoipa::path(get, path = "/v1/audit", tag = "lists", params(AuditQuery),
    responses((status = 200, body = AuditOut)), security(("api_key" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditOut>, ApiError> {
    caller.require(OPERATORS)?;
    let Query(q) = query?;
    let records = state
        .records
        .audit_log(q.after.unwrap_or(0), q.limit.unwrap_or(100).min(1000))
        .await?;
    Ok(Json(AuditOut { records }))
}

/// Reload rules, policy and lists from their files and the store, without a restart.
/// Requests in flight finish with the previous configuration.
#[utoipa::path(post, path = "/v1/reload", tag = "admin",
    responses((status = 200, body = ReloadReport), (status = 400, description = "A file is invalid; nothing changed", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn reload(State(state): State<AppState>, caller: Caller) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(OPERATORS)?;
    state
        .reload_audited(&caller.name, "POST /v1/reload")
        .await
        .map(Json)
        .map_err(|e| ApiError::bad_request("invalid_config", format!("nothing changed: {e}")))
}

/// The period and granularity of statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Start (RFC 3339 or Unix seconds); one hour ago by default.
    pub from: Option<String>,
    /// End, exclusive; now by default.
    pub to: Option<String>,
    /// `minute`, `hour` (default) or `day`.
    pub bucket: Option<String>,
    /// How many top senders and domains (default 10, at most 100).
    pub top: Option<usize>,
}

/// Counts by action and by category.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Counts {
    /// Messages.
    pub messages: u64,
    /// Per action.
    #[schema(value_type = Object)]
    pub actions: std::collections::BTreeMap<&'static str, u64>,
    /// Per category.
    #[schema(value_type = Object)]
    pub categories: std::collections::BTreeMap<&'static str, u64>,
    /// Per action and category (`block/scam`).
    #[schema(value_type = Object)]
    pub by_action_category: std::collections::BTreeMap<String, u64>,
}

impl Counts {
    fn add(&mut self, action: Action, category: Category, n: u64) {
        self.messages += n;
        *self.actions.entry(action.as_str()).or_default() += n;
        *self.categories.entry(category.as_str()).or_default() += n;
        *self
            .by_action_category
            .entry(format!("{}/{}", action.as_str(), category.as_str()))
            .or_default() += n;
    }
}

/// One time bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct Bucket {
    /// Its start (RFC 3339, UTC).
    pub start: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// A ranked source.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ranked {
    /// The sender key or domain.
    pub value: String,
    /// Blocked messages.
    pub count: u64,
}

/// Statistics over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    /// Start (RFC 3339).
    pub from: String,
    /// End, exclusive (RFC 3339).
    pub to: String,
    /// The bucket size.
    pub bucket: String,
    /// The whole period.
    pub totals: Counts,
    /// Per bucket, oldest first (buckets without messages are left out).
    pub series: Vec<Bucket>,
    /// Senders with the most blocked messages.
    pub top_senders: Vec<Ranked>,
    /// Domains in the most blocked messages.
    pub top_domains: Vec<Ranked>,
}

pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn parse_when(s: &str, field: &str) -> Result<i64, ApiError> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    TimeIn::Text(s.to_string())
        .unix(field)
        .map_err(|m| ApiError::bad_request("bad_request", m))
}

/// Counts per action and category over time, and the top blocked senders and domains
/// (every node's messages, once flushed; this node's are flushed first).
#[utoipa::path(get, path = "/v1/stats", tag = "stats", params(StatsQuery),
    responses((status = 200, body = StatsOut), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<StatsOut>, ApiError> {
    caller.require(OPERATORS)?;
    let Query(q) = query?;
    let now = now();
    let to =
        q.to.as_deref()
            .map(|s| parse_when(s, "to"))
            .transpose()?
            .unwrap_or(now + 1);
    let from = q
        .from
        .as_deref()
        .map(|s| parse_when(s, "from"))
        .transpose()?
        .unwrap_or(to - 3600);
    if from >= to {
        return Err(ApiError::bad_request("bad_request", "from must be before to"));
    }
    let (bucket_name, size) = match q.bucket.as_deref().unwrap_or("hour") {
        "minute" => ("minute", 60),
        "hour" => ("hour", 3600),
        "day" => ("day", 86_400),
        other => {
            return Err(ApiError::bad_request(
                "bad_request",
                format!("bucket {other:?}: use minute, hour or day"),
            ));
        }
    };
    let top_n = q.top.unwrap_or(10).min(100);
    state
        .stats
        .flush(&state.records)
        .await
        .inspect_err(|_| Metrics::store_error("add_stats"))?;
    // Whole minutes: the first minute that starts at or after `from`.
    let from_minute = from.div_euclid(60) * 60 + if from % 60 == 0 { 0 } else { 60 };
    let rows = state.records.stats(from_minute, to).await?;
    let mut totals = Counts::default();
    let mut series: std::collections::BTreeMap<i64, Counts> = Default::default();
    for r in rows {
        totals.add(r.action, r.category, r.count);
        series
            .entry(r.bucket.div_euclid(size) * size)
            .or_default()
            .add(r.action, r.category, r.count);
    }
    let rank = |v: Vec<(String, u64)>| v.into_iter().map(|(value, count)| Ranked { value, count }).collect();
    let top_senders = rank(state.records.top(TopKind::Sender, from_minute, to, top_n).await?);
    let top_domains = rank(state.records.top(TopKind::Domain, from_minute, to, top_n).await?);
    Ok(Json(StatsOut {
        from: rfc3339(from_minute),
        to: rfc3339(to),
        bucket: bucket_name.to_string(),
        totals,
        series: series
            .into_iter()
            .map(|(start, counts)| Bucket {
                start: rfc3339(start),
                counts,
            })
            .collect(),
        top_senders,
        top_domains,
    }))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "admin", responses((status = 200, description = "alive")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the engine is loaded and the store answers.
#[utoipa::path(get, path = "/readyz", tag = "admin",
    responses((status = 200, description = "ready"), (status = 503, description = "the store does not answer", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.records.ping().await.map_err(|e| {
        Metrics::store_error("ping");
        ApiError::from(e)
    })?;
    Ok("ready\n")
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "admin", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Which logged verdicts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VerdictsQuery {
    /// The message id the caller gave.
    pub id: Option<String>,
    /// The sender, as given.
    pub sender: Option<String>,
    /// The recipient, as given.
    pub recipient: Option<String>,
    /// allow, tag, quarantine or block.
    pub action: Option<String>,
    /// Checked at or after (RFC 3339 or Unix seconds).
    pub from: Option<String>,
    /// Checked before.
    pub to: Option<String>,
    /// Records with a log id below this (the `log_id` of the last record of the previous
    /// page).
    pub before: Option<i64>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<usize>,
}

/// A logged verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedVerdict {
    /// The log's id.
    pub log_id: i64,
    /// When it was checked (RFC 3339).
    pub at: String,
    /// The caller's message id.
    pub id: Option<String>,
    /// `http` or `smpp`.
    pub source: String,
    /// The sender.
    pub sender: Option<String>,
    /// The recipient.
    pub recipient: Option<String>,
    /// The text; every evidence string is a piece of it.
    pub text: String,
    /// The action.
    pub action: Action,
    /// The category.
    pub category: Category,
    /// The score.
    pub score: f32,
    /// The reasons, largest contribution first.
    #[schema(value_type = Vec<Reason>)]
    pub reasons: serde_json::Value,
}

/// The verdict log.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictsOut {
    /// Newest first.
    pub verdicts: Vec<LoggedVerdict>,
}

/// Find checked messages and their verdicts ("why was this blocked"). Which messages are
/// kept is `server.log_verdicts` (tagged, quarantined and blocked ones by default).
#[utoipa::path(get, path = "/v1/verdicts", tag = "check", params(VerdictsQuery),
    responses((status = 200, body = VerdictsOut), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn verdicts(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<VerdictsQuery>, QueryRejection>,
) -> Result<Json<VerdictsOut>, ApiError> {
    caller.require(OPERATORS)?;
    let Query(q) = query?;
    let action = match q.action.as_deref() {
        Some(a) => Some(Action::ALL.into_iter().find(|x| x.as_str() == a).ok_or_else(|| {
            ApiError::bad_request(
                "bad_request",
                format!("action {a:?}: use allow, tag, quarantine or block"),
            )
        })?),
        None => None,
    };
    // Entries of answers sent before this request, unless the store is far behind.
    state.verdict_log.sync(std::time::Duration::from_secs(5)).await;
    let found = state
        .records
        .find_verdicts(&VerdictQuery {
            message_id: q.id,
            sender: q.sender,
            recipient: q.recipient,
            action,
            from: q.from.as_deref().map(|s| parse_when(s, "from")).transpose()?,
            to: q.to.as_deref().map(|s| parse_when(s, "to")).transpose()?,
            before_id: q.before,
            limit: q.limit.unwrap_or(50).min(500),
        })
        .await?;
    Ok(Json(VerdictsOut {
        verdicts: found
            .into_iter()
            .map(|r| LoggedVerdict {
                log_id: r.id,
                at: rfc3339(r.at),
                id: r.message_id,
                source: r.source,
                sender: r.sender,
                recipient: r.recipient,
                text: r.text,
                action: r.action,
                category: r.category,
                score: r.score,
                reasons: serde_json::from_str(&r.reasons).unwrap_or_default(),
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chanrac_core::{Action, Category, Reason, Verdict};

    use super::{BatchOut, VerdictOut, write_batch, write_verdict};

    fn verdict(action: Action, score: f32, reasons: &[(&str, f32, &str)]) -> Verdict {
        Verdict {
            action,
            category: Category::Scam,
            score,
            reasons: reasons
                .iter()
                .map(|&(signal, weight, evidence)| Reason {
                    signal: Arc::from(signal),
                    weight,
                    evidence: evidence.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn verdicts_are_written_as_their_types_serialize_them() {
        let cases = [
            (
                Some("m-1"),
                verdict(Action::Block, 12.5, &[("VI_PRIZE", 5.0, "trúng thưởng")]),
            ),
            (None, verdict(Action::Allow, 0.0, &[])),
            (
                Some("quote \" backslash \\ newline \n tab \t nul \u{0}"),
                verdict(
                    Action::Tag,
                    -1.25,
                    &[
                        ("MODEL_SPAM", 0.333_333_34, "P(spam) = 0.712"),
                        ("A", 1e-7, "\u{1F600} </script>"),
                    ],
                ),
            ),
            (
                Some(""),
                verdict(Action::Quarantine, f32::NAN, &[("X", f32::INFINITY, "")]),
            ),
            (
                Some("tiếng Việt"),
                verdict(Action::Block, 3.4e38, &[("URL_SHORTENER", 2.0, "bit.ly/x")]),
            ),
        ];
        for (id, v) in &cases {
            let mut out = Vec::new();
            let at = write_verdict(&mut out, *id, v).unwrap();
            assert_eq!(
                String::from_utf8(out.clone()).unwrap(),
                serde_json::to_string(&VerdictOut::new(*id, v)).unwrap()
            );
            assert_eq!(&out[at], serde_json::to_string(&v.reasons).unwrap().as_bytes());
        }
        for n in [0, 1, cases.len()] {
            let (body, at) = write_batch(cases[..n].iter().map(|(id, v)| (*id, v))).unwrap();
            let want = BatchOut {
                verdicts: cases[..n].iter().map(|(id, v)| VerdictOut::new(*id, v)).collect(),
            };
            assert_eq!(
                String::from_utf8(body.clone()).unwrap(),
                serde_json::to_string(&want).unwrap()
            );
            for ((_, v), at) in cases.iter().zip(at) {
                assert_eq!(&body[at], serde_json::to_string(&v.reasons).unwrap().as_bytes());
            }
        }
    }
}
