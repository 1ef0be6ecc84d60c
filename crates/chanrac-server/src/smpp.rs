//! The SMPP firewall inside `chanrac serve`: the engine in effect is its filter, its verdicts
//! count in the same statistics and metrics as the HTTP API's, and analysts release or
//! discard quarantined messages through `/v1/quarantine`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chanrac_core::{Action, Message};
use chanrac_smpp::proxy::{Decision, Filter, Firewall, FirewallConfig, LocalAnswer, Quarantine, SubmitContext};
use chanrac_store::records::{Actor, Records};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::config::Role;
use crate::error::ApiError;
use crate::state::AppState;
use crate::stats::Tally;

/// Checks SMPP messages with the server's engine.
struct EngineFilter {
    state: AppState,
    reject_status: u32,
}

impl EngineFilter {
    /// A message to the hub's short code: stored and answered here, never forwarded. The
    /// store is waited for on this session's thread; when it cannot answer, the message is
    /// refused with a temporary error (`ESME_RX_T_APPN`) so that the sender retries.
    fn hub_line(&self, msg: &Message) -> Decision {
        let Some(from) = msg.sender.as_deref().and_then(chanrac_hub::dnc::msisdn) else {
            return Decision::Reject(chanrac_smpp::pdu::status::ESME_RINVSRCADR);
        };
        let from = chanrac_hub::dnc::format_key(from);
        let handle = tokio::runtime::Handle::current();
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread {
            tracing::warn!("the hub's short code needs a multi-threaded runtime");
            return Decision::Reject(chanrac_smpp::pdu::status::ESME_RX_T_APPN);
        }
        let done = tokio::task::block_in_place(|| {
            handle.block_on(crate::hub::handle_mo(&self.state, &from, &msg.text, "smpp"))
        });
        match done {
            Ok(out) => Decision::Local(out.reply.into()),
            Err(e) => {
                tracing::warn!(error = %e.message, "a short-code message could not be stored; refused for a retry");
                Decision::Reject(chanrac_smpp::pdu::status::ESME_RX_T_APPN)
            }
        }
    }
}

/// The filter `chanrac serve` gives the SMPP firewall: the hub's short codes are answered
/// here, everything else is checked by the engine in effect.
pub fn filter(state: AppState, reject_status: u32) -> impl Filter {
    EngineFilter { state, reject_status }
}

impl Filter for EngineFilter {
    fn serves(&self, dest: &str) -> bool {
        self.state.config.hub.is_hub_code(dest)
    }

    /// An MO message the SMSC delivers to the hub's short code: stored like `POST /v1/mo`
    /// (committed before the future resolves, so before the `deliver_sm_resp`); the reply
    /// goes back to the subscriber from the short code.
    fn deliver_local(&self, msg: &Message) -> LocalAnswer {
        let Some(from) = msg.sender.as_deref().and_then(chanrac_hub::dnc::msisdn) else {
            tracing::info!(
                sender = msg.sender.as_deref().unwrap_or(""),
                "an MO message to the short code from no subscriber number; refused"
            );
            return Box::pin(async { Err(chanrac_smpp::pdu::status::ESME_RINVSRCADR) });
        };
        let from = chanrac_hub::dnc::format_key(from);
        let (state, text) = (self.state.clone(), msg.text.clone());
        Box::pin(async move {
            match crate::hub::handle_mo(&state, &from, &text, "smpp").await {
                Ok(out) => Ok(out.reply.into()),
                Err(e) => {
                    tracing::warn!(error = %e.message, "an MO message to the short code could not be stored; the SMSC will retry");
                    Err(chanrac_smpp::pdu::status::ESME_RX_T_APPN)
                }
            }
        })
    }

    fn check(&self, ctx: &SubmitContext<'_>, msg: &Message) -> Decision {
        if msg
            .recipient
            .as_deref()
            .is_some_and(|to| self.state.config.hub.is_hub_code(to))
        {
            return self.hub_line(msg);
        }
        let engine = self.state.engine();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut tally = Tally::default();
        let v = if engine.is_stateful() {
            // Embedded counters answer at once; Redis is waited for on this session's
            // thread (`block_in_place`), at most `store.redis_timeout_ms`.
            let mut prepared = crate::api::prepare_one(&self.state, &engine, msg);
            let mut values = Vec::with_capacity(prepared.plan.values_len());
            let requests = [chanrac_store::Request {
                now,
                ops: &prepared.plan.keys,
            }];
            let ok = self.state.counters.apply_blocking(&requests, &mut values);
            let values = self.state.counters.answered(ok, 1).then_some(&values[..]);
            crate::api::check_one(
                &self.state,
                &engine,
                msg,
                now,
                &mut tally,
                Some((&mut prepared, values)),
            )
        } else {
            crate::api::check_one(&self.state, &engine, msg, now, &mut tally, None)
        };
        self.state.merge_checks(tally);
        if v.action != Action::Allow {
            tracing::info!(
                account = ctx.system_id,
                sender = msg.sender.as_deref().unwrap_or(""),
                recipient = msg.recipient.as_deref().unwrap_or(""),
                action = v.action.as_str(),
                category = v.category.as_str(),
                score = v.score,
                reasons = %v.reasons.iter().map(|r| &*r.signal).collect::<Vec<_>>().join(","),
                "smpp verdict"
            );
        }
        let decision = match v.action {
            Action::Allow => Decision::Forward,
            Action::Tag => Decision::Tag,
            Action::Quarantine => Decision::Quarantine,
            Action::Block => Decision::Reject(self.reject_status),
        };
        // The firewall keeps its message: the log gets a copy, only when it keeps it.
        if self.state.verdict_log.keeps(v.action) {
            self.state.verdict_log.push_one(now, "smpp", msg.clone(), v, None);
        }
        decision
    }
}

/// Starts the firewall with the engine of `state` as its filter.
pub async fn start(state: AppState, mut config: FirewallConfig) -> Result<Firewall, String> {
    // In development mode (no API keys, loopback) any ESME may bind.
    config.dev_mode |= state.keys.dev;
    let filter = filter(state, config.reject_status);
    let upstream = config.upstream.address.clone();
    let fw = Firewall::start(config, Arc::new(filter))
        .await
        .map_err(|e| format!("{e}"))?;
    tracing::info!(smpp = %fw.local_addr(), %upstream, "SMPP firewall listening");
    Ok(fw)
}

/// A message held for an analyst.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldOut {
    /// The quarantine id (also the message_id the ESME was given).
    pub id: String,
    /// The ESME account that sent it.
    pub system_id: String,
    /// The sender.
    pub source: String,
    /// The recipient.
    pub dest: String,
    /// The text as checked.
    pub text: String,
}

/// The quarantine and the state of the SMPP firewall.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuarantineOut {
    /// Held messages, oldest first.
    pub held: Vec<HeldOut>,
}

fn quarantine(state: &AppState) -> Result<Arc<Quarantine>, ApiError> {
    state
        .quarantine()
        .ok_or_else(|| ApiError::not_found("the SMPP firewall is not running (no [smpp] section)"))
}

/// Messages held by the SMPP firewall for an analyst.
#[utoipa::path(get, path = "/v1/quarantine", tag = "smpp",
    responses((status = 200, body = QuarantineOut), (status = 404, description = "SMPP is not running")),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<QuarantineOut>, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator])?;
    let q = quarantine(&state)?;
    Ok(Json(QuarantineOut {
        held: q
            .list()
            .into_iter()
            .map(|h| HeldOut {
                id: h.id,
                system_id: h.system_id,
                source: h.source,
                dest: h.dest,
                text: h.text,
            })
            .collect(),
    }))
}

/// The outcome of a quarantine decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecidedOut {
    /// The message.
    pub id: String,
    /// `released` (forwarded to the SMSC) or `discarded`.
    pub outcome: &'static str,
}

/// Release (forward to the SMSC) or discard a quarantined message; recorded in the audit log.
#[utoipa::path(post, path = "/v1/quarantine/{id}/{decision}", tag = "smpp",
    params(("id" = String, Path, description = "the quarantine id"), ("decision" = String, Path, description = "release or discard")),
    responses((status = 200, body = DecidedOut), (status = 404, description = "not held (or no upstream bind can take it now)")),
    security(("api_key" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, decision)): Path<(String, String)>,
) -> Result<Json<DecidedOut>, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator])?;
    let q = quarantine(&state)?;
    let (done, outcome) = match decision.as_str() {
        "release" => (q.release(&id), "released"),
        "discard" => (q.discard(&id), "discarded"),
        other => return Err(ApiError::not_found(format!("{other:?}: use release or discard"))),
    };
    if !done {
        return Err(ApiError::not_found(format!(
            "message {id:?} is not held{}",
            if outcome == "released" {
                ", or no upstream bind can take it now"
            } else {
                ""
            }
        )));
    }
    let actor = Actor {
        name: &caller.name,
        reason: outcome,
    };
    if let Err(e) = state.records.audit(&format!("quarantine.{decision}"), &id, actor).await {
        tracing::warn!(error = %e, "quarantine decision not audited");
    }
    Ok(Json(DecidedOut { id, outcome }))
}

/// The SMPP firewall's counters and binds.
#[utoipa::path(get, path = "/v1/smpp", tag = "smpp",
    responses((status = 200, description = "sessions, upstream binds and counters"), (status = 404, description = "SMPP is not running")),
    security(("api_key" = [])))]
pub async fn status(State(state): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator])?;
    let s = state
        .smpp_status()
        .ok_or_else(|| ApiError::not_found("the SMPP firewall is not running (no [smpp] section)"))?;
    Ok(Json(s))
}
