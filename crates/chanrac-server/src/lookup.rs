//! Fraud lookup over HTTP (docs/feed.md): `GET /v1/lookup?phone=…|url=…|account=…&bank=…` and
//! `POST /v1/lookup/batch`, answered from an in-memory [`LookupIndex`] of the block lists and
//! the hub's reported sources, rebuilt when the lists change and every
//! [`REFRESH_SECS`] seconds for the reports. The `public` role is rate-limited per key
//! (`server.public_lookups_per_minute`).

use arc_swap::ArcSwap;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use chanrac_hub::lookup::{Answer, Listed, LookupIndex, LookupKind, Reported};
use chanrac_store::hub::HubRecords;
use chanrac_store::records::{Records, Side};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// How often the reported sources are re-read into the index, in seconds.
pub const REFRESH_SECS: u64 = 10;
/// The most items in one batch.
pub const MAX_BATCH: usize = 1000;

const LOOKERS: &[Role] = &[Role::Operator, Role::Regulator, Role::Bank, Role::Public];

/// The index in effect and the public role's allowance.
#[derive(Debug, Default)]
pub struct LookupState {
    index: ArcSwap<LookupIndex>,
    /// Per public key: the lookups made this minute.
    public: crate::auth::MinuteAllowance,
}

impl LookupState {
    /// The index in effect.
    pub fn index(&self) -> std::sync::Arc<LookupIndex> {
        self.index.load_full()
    }

    /// Rebuilds the index from the store.
    pub async fn rebuild<R: Records + HubRecords>(&self, records: &R) -> Result<usize, String> {
        let entries = records.list_entries().await.map_err(|e| e.to_string())?;
        let sources = records
            .sources(None, usize::MAX >> 1)
            .await
            .map_err(|e| e.to_string())?;
        let mut ix = LookupIndex::default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        // Like the engine, the index leaves out expired entries.
        for e in entries
            .into_iter()
            .filter(|e| e.side == Side::Block && e.expires_at.is_none_or(|t| t > now))
        {
            ix.add_listed(
                e.kind,
                e.value,
                Listed {
                    reason: e.reason,
                    source: e.source,
                    confidence: e.confidence,
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                },
            );
        }
        for s in sources {
            ix.add_reported(
                s.key,
                Reported {
                    status: s.status,
                    reporters: s.reporters,
                    reports: s.reports,
                    first_at: s.first_at,
                    last_at: s.last_at,
                },
            );
        }
        let n = ix.len();
        self.index.store(std::sync::Arc::new(ix));
        Ok(n)
    }

    /// Counts `n` lookups of a public-only caller; refuses past the allowance.
    fn allow(&self, caller: &Caller, per_minute: u32, n: u32) -> Result<(), ApiError> {
        if [Role::Operator, Role::Regulator, Role::Bank]
            .iter()
            .any(|r| caller.has(*r))
        {
            return Ok(());
        }
        self.public.take(&caller.name, per_minute, n, "lookups")
    }
}

/// One lookup: exactly one of `phone`, `url`, `account`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// A phone number in any written form.
    pub phone: Option<String>,
    /// A link or domain (`https://…`, `evil.xyz`, defanged `hxxp://evil[.]xyz`).
    pub url: Option<String>,
    /// A bank account number (6–19 digits; spaces, dots, dashes ignored).
    pub account: Option<String>,
    /// The bank of `account` (echoed; accounts are listed by number).
    pub bank: Option<String>,
}

/// The answer: `{kind, normalized, known, risk, reasons, report_count, first_seen, last_seen}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupOut {
    /// The answer.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub answer: Answer,
    /// The bank given with an account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
}

fn one(ix: &LookupIndex, q: &LookupQuery) -> Result<LookupOut, ApiError> {
    let given: Vec<(LookupKind, &str)> = [
        (LookupKind::Phone, q.phone.as_deref()),
        (LookupKind::Url, q.url.as_deref()),
        (LookupKind::Account, q.account.as_deref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let [(kind, value)] = given[..] else {
        return Err(ApiError::bad_request(
            "invalid_lookup",
            "give exactly one of phone, url or account",
        ));
    };
    if q.bank.is_some() && kind != LookupKind::Account {
        return Err(ApiError::bad_request("invalid_lookup", "bank goes with account"));
    }
    let answer = ix
        .lookup(kind, value)
        .map_err(|e| ApiError::bad_request("invalid_lookup", e.to_string()))?;
    Ok(LookupOut {
        answer,
        bank: q.bank.clone(),
    })
}

/// Is a phone number, link or bank account known for spam or fraud?
#[utoipa::path(get, path = "/v1/lookup", tag = "lookup", params(LookupQuery),
    responses((status = 200, body = LookupOut),
        (status = 400, description = "Not exactly one of phone, url, account; or input that cannot be read (`invalid_lookup`, with the reason): never a false \"not known\"", body = ErrorBody),
        (status = 429, description = "A public key over its allowance (`rate_limited`)", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<LookupQuery>, QueryRejection>,
) -> Result<Json<LookupOut>, ApiError> {
    caller.require(LOOKERS)?;
    let Query(q) = query?;
    state
        .lookup
        .allow(&caller, state.config.server.public_lookups_per_minute, 1)?;
    Ok(Json(one(&state.lookup.index(), &q)?))
}

/// A batch of lookups.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchIn {
    /// Up to 1000 lookups.
    pub items: Vec<LookupQuery>,
}

/// One answer of a batch: the answer, or the error of that item.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    /// The answer.
    Answer(LookupOut),
    /// Why this item was refused.
    Error {
        /// `invalid_lookup`.
        code: &'static str,
        /// The reason.
        message: String,
    },
}

/// The answers, in the order of the items.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// One per item.
    pub answers: Vec<BatchItem>,
}

/// Many lookups at once (a bank's batch of transfers); each item is answered or refused alone.
#[utoipa::path(post, path = "/v1/lookup/batch", tag = "lookup", request_body = BatchIn,
    responses((status = 200, body = BatchOut), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<BatchIn>, JsonRejection>,
) -> Result<Json<BatchOut>, ApiError> {
    caller.require(LOOKERS)?;
    let Json(b) = body?;
    if b.items.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "too_many_messages",
            format!("{} items: at most {MAX_BATCH} in one batch", b.items.len()),
        ));
    }
    state.lookup.allow(
        &caller,
        state.config.server.public_lookups_per_minute,
        b.items.len() as u32,
    )?;
    let ix = state.lookup.index();
    let answers = b
        .items
        .iter()
        .map(|q| match one(&ix, q) {
            Ok(a) => BatchItem::Answer(a),
            Err(e) => BatchItem::Error {
                code: e.code,
                message: e.message,
            },
        })
        .collect();
    Ok(Json(BatchOut { answers }))
}

/// The import's query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The list's name: entries get the source `import:NAME`.
    pub source: String,
    /// Why these entries are listed (the audit log's reason), for example the list's
    /// licence or date.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListImportOut {
    /// Lines read (without the header).
    pub lines: usize,
    /// New entries.
    pub added: usize,
    /// Entries that were already listed (left as they were).
    pub existing: usize,
    /// The lists version after the import.
    pub version: i64,
}

/// Import a third-party list (CSV, with a header): `side,kind,value[,confidence][,evidence][,expires_at]`,
/// where `side` is `block` or `allow`, `kind` one of senders, brandnames, domains, accounts,
/// `confidence` 0–100 (default 50), `expires_at` RFC 3339 or empty. Every line is checked
/// first: one bad line refuses the file, naming the lines, and nothing is imported. Each entry
/// is then its own change (audited, in the feed); importing the same file again changes nothing.
#[utoipa::path(post, path = "/v1/lists/import", tag = "lists", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ListImportOut), (status = 400, description = "A line is invalid (`invalid_lines`): nothing was imported", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ImportQuery>, QueryRejection>,
    body: axum::body::Bytes,
) -> Result<Json<ListImportOut>, ApiError> {
    caller.require(&[Role::Regulator, Role::Operator])?;
    let Query(q) = query?;
    if q.reason.trim().is_empty() || q.source.trim().is_empty() {
        return Err(ApiError::bad_request(
            "reason_required",
            "?source=NAME&reason=… are required for the provenance and the audit log",
        ));
    }
    let rows = parse_import(&body, &q.source)?;
    let (mut added, mut existing) = (0, 0);
    let actor = chanrac_store::records::Actor {
        name: &caller.name,
        reason: &q.reason,
    };
    for (side, kind, value, p) in &rows {
        let (_, created) = state
            .records
            .add_list_entry_with(*side, *kind, value, actor, p.clone())
            .await?;
        if created {
            added += 1;
        } else {
            existing += 1;
        }
    }
    let version = state.records.lists_version().await?;
    Ok(Json(ListImportOut {
        lines: rows.len(),
        added,
        existing,
        version,
    }))
}

type ImportRow = (Side, chanrac_core::ListKind, String, chanrac_store::records::Provenance);

/// Reads and checks every line of an import.
fn parse_import(body: &[u8], source: &str) -> Result<Vec<ImportRow>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let r = match record {
            Ok(r) => r,
            Err(e) => {
                refused.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let field = |n: usize| r.get(n).unwrap_or("");
        let side = Side::parse(field(0));
        let kind = chanrac_core::ListKind::parse(field(1));
        let (Some(side), Some(kind)) = (side, kind) else {
            refused.push(format!(
                "line {line}: side must be block or allow and kind senders, brandnames, domains or accounts"
            ));
            continue;
        };
        let value = match chanrac_core::normalize_entry(kind, field(2)) {
            Ok(v) => v,
            Err(e) => {
                refused.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let confidence = match field(3) {
            "" => Some(50),
            c => c.parse::<u8>().ok().filter(|c| *c <= 100),
        };
        let expires_at = match field(5) {
            "" => Some(None),
            t => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| Some((t.unix_timestamp_nanos() / 1_000_000) as i64)),
        };
        let (Some(confidence), Some(expires_at)) = (confidence, expires_at) else {
            refused.push(format!(
                "line {line}: confidence must be 0-100 and expires_at RFC 3339 or empty"
            ));
            continue;
        };
        rows.push((
            side,
            kind,
            value,
            chanrac_store::records::Provenance {
                source: format!("import:{source}"),
                evidence: field(4).to_string(),
                confidence,
                first_seen: None,
                last_seen: None,
                expires_at,
            },
        ));
    }
    if !refused.is_empty() {
        return Err(ApiError::invalid_lines(&refused));
    }
    Ok(rows)
}
