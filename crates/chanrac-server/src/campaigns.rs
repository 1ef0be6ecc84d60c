//! Campaigns: near-duplicate messages sent by many senders, as the verdict log holds them
//! (`GET /v1/campaigns`, the dashboard's top sources page).
//!
//! The counters flag a campaign message by message (`CAMPAIGN_BULK`, `CAMPAIGN_REPEAT`) and
//! keep no list of who took part. This module rebuilds the campaigns from the logged
//! verdicts of a recent period: each logged text is fingerprinted
//! ([`chanrac_core::fingerprint`], the same LSH bands the counters use), texts sharing a
//! band are joined (union-find), and every group in which at least one message carried a
//! campaign signal is a campaign, with its size, its senders and recipients, a sample text
//! and when it ran. Messages the verdict log does not keep (allowed ones, unless
//! `server.log_verdicts = "all"`) are not counted.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chanrac_core::fingerprint::Fingerprinter;
use chanrac_store::records::{Records, VerdictQuery, VerdictRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{OPERATORS, now, rfc3339};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The most logged verdicts read for one answer (newest first).
pub const MAX_SCANNED: usize = 20_000;

/// Senders listed per campaign (the most active first).
const MEMBERS: usize = 20;

/// One campaign.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Campaign {
    /// The campaign's key: the smallest LSH band key of its texts, in hex.
    pub id: String,
    /// Logged messages in it.
    pub messages: u64,
    /// Distinct senders.
    pub senders: u64,
    /// Distinct recipients.
    pub recipients: u64,
    /// Its senders, the most active first (at most 20).
    pub members: Vec<String>,
    /// Its most recent text.
    pub sample: String,
    /// The first and last message, RFC 3339.
    pub first_at: String,
    /// See `first_at`.
    pub last_at: String,
    /// The campaign signals its messages carried.
    pub signals: Vec<String>,
    /// Its messages blocked.
    pub blocked: u64,
}

/// Groups logged verdicts into campaigns, largest first.
pub fn group(records: &[VerdictRecord]) -> Vec<Campaign> {
    let mut fp = Fingerprinter::new(true);
    let mut parent: Vec<usize> = (0..records.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_of_band: HashMap<u64, usize> = HashMap::new();
    let mut keys = vec![u64::MAX; records.len()];
    for (i, r) in records.iter().enumerate() {
        let f = fp.fingerprint(&r.text);
        if !f.is_distinctive() {
            continue;
        }
        keys[i] = *f.bands.iter().min().unwrap_or(&u64::MAX);
        for b in f.bands {
            match first_of_band.get(&b) {
                Some(&j) => {
                    let (a, c) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a.max(c)] = a.min(c);
                }
                None => {
                    first_of_band.insert(b, i);
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, &key) in keys.iter().enumerate() {
        if key != u64::MAX {
            groups.entry(root(&mut parent, i)).or_default().push(i);
        }
    }
    let mut out: Vec<Campaign> = groups
        .into_values()
        .filter_map(|members| {
            let mut signals = BTreeSet::new();
            // Only the reasons that name a campaign signal are parsed.
            for &i in members.iter().filter(|&&i| records[i].reasons.contains("CAMPAIGN_")) {
                let reasons: Vec<serde_json::Value> = serde_json::from_str(&records[i].reasons).unwrap_or_default();
                for r in reasons {
                    if let Some(s) = r["signal"].as_str().filter(|s| s.starts_with("CAMPAIGN_")) {
                        signals.insert(s.to_string());
                    }
                }
            }
            if signals.is_empty() {
                return None;
            }
            let mut by_sender: HashMap<&str, u64> = HashMap::new();
            let mut recipients = BTreeSet::new();
            for &i in &members {
                *by_sender.entry(records[i].sender.as_deref().unwrap_or("")).or_default() += 1;
                if let Some(r) = &records[i].recipient {
                    recipients.insert(r.as_str());
                }
            }
            let mut ranked: Vec<(&str, u64)> = by_sender.into_iter().filter(|(s, _)| !s.is_empty()).collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let latest = members
                .iter()
                .copied()
                .max_by_key(|&i| (records[i].at, records[i].id))?;
            let first = members.iter().map(|&i| records[i].at).min()?;
            Some(Campaign {
                id: format!("{:016x}", members.iter().map(|&i| keys[i]).min()?),
                messages: members.len() as u64,
                senders: ranked.len() as u64,
                recipients: recipients.len() as u64,
                members: ranked.iter().take(MEMBERS).map(|(s, _)| s.to_string()).collect(),
                sample: records[latest].text.clone(),
                first_at: rfc3339(first),
                last_at: rfc3339(records[latest].at),
                signals: signals.into_iter().collect(),
                blocked: members
                    .iter()
                    .filter(|&&i| records[i].action == chanrac_core::Action::Block)
                    .count() as u64,
            })
        })
        .collect();
    out.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.id.cmp(&b.id)));
    out
}

/// Which period.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CampaignsQuery {
    /// The last this many hours (default 24, at most 720).
    pub hours: Option<u32>,
    /// At most this many campaigns (default 20, at most 200).
    pub limit: Option<usize>,
}

/// The campaigns of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignsOut {
    /// Logged verdicts read (newest first, at most 20,000).
    pub scanned: usize,
    /// The campaigns, most messages first.
    pub campaigns: Vec<Campaign>,
}

/// Campaigns of the last hours: near-duplicate messages from many senders, rebuilt from
/// the verdict log (messages it did not keep are not counted).
#[utoipa::path(get, path = "/v1/campaigns", tag = "stats", params(CampaignsQuery),
    responses((status = 200, body = CampaignsOut), (status = 400, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn campaigns(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<CampaignsQuery>, QueryRejection>,
) -> Result<Json<CampaignsOut>, ApiError> {
    caller.require(OPERATORS)?;
    let Query(q) = query?;
    let hours = q.hours.unwrap_or(24);
    if hours == 0 || hours > 720 {
        return Err(ApiError::bad_request("bad_request", "hours must be 1 to 720"));
    }
    state.verdict_log.sync(std::time::Duration::from_secs(5)).await;
    let records = state
        .records
        .find_verdicts(&VerdictQuery {
            from: Some(now() - i64::from(hours) * 3600),
            limit: MAX_SCANNED,
            ..VerdictQuery::default()
        })
        .await?;
    let scanned = records.len();
    let mut campaigns = tokio::task::spawn_blocking(move || group(&records))
        .await
        .map_err(|e| ApiError::internal(format!("grouping failed: {e}")))?;
    campaigns.truncate(q.limit.unwrap_or(20).min(200));
    Ok(Json(CampaignsOut { scanned, campaigns }))
}
