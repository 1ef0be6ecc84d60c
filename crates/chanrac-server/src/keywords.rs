//! Keyword mining at the hub (docs/keywords.md): mining runs over the confirmed reports
//! against a ham baseline (`POST /v1/keywords/mine`, and every `keywords.mine_every` in
//! `serve`), the proposal queue an analyst decides on (`GET /v1/keywords/proposals`,
//! `POST /v1/keywords/proposals/{id}/approve|reject`), and the rule pack of approved
//! keywords (`GET /v1/keywords/pack`).
//!
//! The statistics are the core's ([`Miner`]); the queue, the pack versions and their place in
//! the feed are the store's ([`HubRecords::decide_keyword`]). Every node compiles the pack in
//! effect on top of its own rule packs when its lists version moves (`AppState::refresh_lists`):
//! at the hub right after a decision, at an operator's node when its `[sync]` puller applies
//! the feed's `rules` change: no restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chanrac_core::keywords::{self, KeywordRule, Miner, MinerConfig};
use chanrac_core::{Label, Message, Scratch};
use chanrac_store::hub::{HubRecords, KeywordDecision, KeywordProposal, NewProposal, ProposalsMerged, ReportQuery};
use chanrac_store::records::{Actor, Records, RulePack};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Who mines and decides.
const REGULATOR: &[Role] = &[Role::Regulator];
/// Who reads the queue and the pack.
const READERS: &[Role] = &[Role::Regulator, Role::Operator];
/// The rule id prefix of the hub's keywords (`HUB_KW_ZORBIX_COIN`).
pub const RULE_PREFIX: &str = "HUB_KW_";
/// Examples kept per proposal.
const EXAMPLES: usize = 3;
/// The most confirmed reports one run reads.
const MAX_REPORTS: usize = 200_000;

/// Keyword mining at the hub over the confirmed reports (docs/keywords.md).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KeywordsConfig {
    /// How often `serve` mines the confirmed reports by itself: `"off"` (the default: only
    /// the hub has confirmed reports, so set it there, for example `"24h"`), or a duration
    /// such as `"30m"`, `"24h"`, `"7d"` (`s`, `m`, `h`, `d`; one run at a time, so a short
    /// period only keeps the miner busy). `POST /v1/keywords/mine` runs a mining at any time.
    pub mine_every: String,
    /// The ham baseline: TSV files with a header naming a `text` column; with a `label`
    /// column, only rows labeled `ham` are read. A proposal must fire on at most
    /// `max_ham_rate` of it, so it must be large (3,000 messages at least for 0.1 %).
    #[schema(value_type = Vec<String>)]
    pub ham: Vec<PathBuf>,
    /// Confirmed reports of the last this many days are mined.
    pub window_days: u32,
    /// The weight of each approved keyword's rule (3: weak evidence, which tags a message
    /// only in the company of another signal).
    pub weight: f32,
    /// The fewest confirmed reports a proposal must occur in.
    pub min_docs: u32,
    /// The largest share of the ham baseline a proposal may occur in, judged by the 95 %
    /// upper confidence bound of its rate (0.001 = 0.1 %).
    pub max_ham_rate: f64,
    /// The smallest z-score (log-odds with an informative Dirichlet prior) kept.
    pub min_z: f64,
    /// The longest phrase, in words (1 to 3).
    pub max_words: u8,
    /// The most proposals one run makes.
    pub top: usize,
    /// The strength of the Dirichlet prior, in messages.
    pub prior: f64,
    /// Also propose phrases whose every report the engine already caught.
    pub keep_covered: bool,
}

impl Default for KeywordsConfig {
    fn default() -> Self {
        let m = MinerConfig::default();
        KeywordsConfig {
            mine_every: "off".into(),
            ham: [
                "data/uci_sms_spam_collection_en.tsv",
                "data/vi_smishing_ie403_part_a.tsv",
                "data/vi_spam_ankhanhtran02.tsv",
            ]
            .map(PathBuf::from)
            .to_vec(),
            window_days: 90,
            weight: 3.0,
            min_docs: m.min_docs,
            max_ham_rate: m.max_ham_rate,
            min_z: m.min_z,
            max_words: m.max_words as u8,
            top: m.top,
            prior: m.prior,
            keep_covered: m.keep_covered,
        }
    }
}

impl KeywordsConfig {
    /// Refuses values mining cannot work with.
    pub fn validate(&self) -> Result<(), String> {
        self.every()?;
        if !(self.weight.is_finite() && (0.0..=20.0).contains(&self.weight)) {
            return Err(format!("keywords.weight {} must be between 0 and 20", self.weight));
        }
        if !(self.max_ham_rate > 0.0 && self.max_ham_rate <= 1.0) {
            return Err(format!(
                "keywords.max_ham_rate {} must be a share above 0 and at most 1 (0.001 is 0.1 %)",
                self.max_ham_rate
            ));
        }
        if !(1..=3).contains(&self.max_words) || self.top == 0 || self.window_days == 0 {
            return Err("keywords.max_words must be 1 to 3, keywords.top and keywords.window_days positive".into());
        }
        if !(self.prior.is_finite() && self.prior > 0.0 && self.min_z.is_finite()) {
            return Err("keywords.prior must be positive and keywords.min_z a number".into());
        }
        Ok(())
    }

    /// The period of the scheduled mining, `None` when off.
    pub fn every(&self) -> Result<Option<Duration>, String> {
        let s = self.mine_every.trim();
        if s == "off" {
            return Ok(None);
        }
        let bad = || format!("keywords.mine_every = {s:?}: \"off\" or a duration such as \"30m\", \"24h\", \"7d\"");
        let unit = s.chars().last().ok_or_else(bad)?;
        let n: u64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
        let secs = match unit {
            's' => n,
            'm' => n * 60,
            'h' => n * 3600,
            'd' => n * 86_400,
            _ => return Err(bad()),
        };
        if secs == 0 {
            return Err(format!("keywords.mine_every = {s:?}: at least one second"));
        }
        Ok(Some(Duration::from_secs(secs)))
    }

    fn miner(&self) -> MinerConfig {
        MinerConfig {
            max_words: usize::from(self.max_words),
            min_docs: self.min_docs,
            max_ham_rate: self.max_ham_rate,
            prior: self.prior,
            min_z: self.min_z,
            top: self.top,
            keep_covered: self.keep_covered,
        }
    }
}

/// The ham baseline (read once, at the first mining) and the one-run-at-a-time lock.
#[derive(Default)]
pub struct KeywordsState {
    ham: tokio::sync::OnceCell<Arc<Vec<String>>>,
    running: tokio::sync::Mutex<()>,
}

/// Reads the texts of the ham rows of TSV files (see [`KeywordsConfig::ham`]).
pub fn read_ham(paths: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for path in paths {
        let name = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| format!("keywords.ham: cannot read {name}: {e}"))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let Some(text_col) = header.iter().position(|c| c.trim() == "text") else {
            return Err(format!("keywords.ham: {name} has no `text` column in its header line"));
        };
        let label_col = header.iter().position(|c| c.trim() == "label");
        let before = out.len();
        for line in lines {
            let cols: Vec<&str> = line.split('\t').collect();
            if label_col.is_some_and(|l| cols.get(l).map(|s| s.trim()) != Some("ham")) {
                continue;
            }
            if let Some(t) = cols.get(text_col).filter(|t| !t.trim().is_empty()) {
                out.push((*t).to_string());
            }
        }
        if out.len() == before {
            return Err(format!("keywords.ham: {name} has no ham rows"));
        }
    }
    Ok(out)
}

/// What one mining run did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MineReport {
    /// Confirmed spam reports mined (kinds `spam` and `call`).
    pub spam: u32,
    /// Confirmed fraud reports mined.
    pub scam: u32,
    /// Ham messages of the baseline.
    pub ham: u32,
    /// Distinct phrases counted.
    pub phrases: usize,
    /// Proposals that passed the filters.
    pub proposals: usize,
    /// What the queue did with them.
    #[schema(value_type = Object)]
    pub merged: ProposalsMerged,
}

/// Mines the confirmed reports of the window against the ham baseline and stores the
/// proposals (one run at a time); `source` names the run (`scheduled`, `api:KEY`).
pub async fn mine(state: &AppState, source: &str) -> Result<MineReport, ApiError> {
    let _one = state.keywords.running.lock().await;
    let cfg = state.config.keywords.clone();
    let paths = cfg.ham.clone();
    let ham = state
        .keywords
        .ham
        .get_or_try_init(|| async move {
            tokio::task::spawn_blocking(move || read_ham(&paths))
                .await
                .map_err(|e| e.to_string())?
                .map(Arc::new)
        })
        .await
        .map_err(|e| ApiError::bad_request("no_ham_baseline", e))?
        .clone();
    let now = crate::hub::now_ms();
    let since = now - i64::from(cfg.window_days) * 86_400_000;
    let mut reports = Vec::new();
    let mut before_id = None;
    'pages: loop {
        let query = ReportQuery {
            status: Some("confirmed".into()),
            before_id,
            limit: 1000,
            ..Default::default()
        };
        let page = state.records.reports(&query).await?;
        let Some(last) = page.last() else { break };
        before_id = Some(last.id);
        for r in page {
            if r.at < since || reports.len() >= MAX_REPORTS {
                break 'pages;
            }
            let label = if r.kind == "fraud" { Label::Scam } else { Label::Spam };
            if !r.content.trim().is_empty() {
                reports.push((label, r.content));
            }
        }
    }
    let engine = state.engine();
    let who = source.to_string();
    let (proposals, report) = tokio::task::spawn_blocking(move || mine_texts(&engine, &reports, &ham, &cfg, &who))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let merged = state.records.propose_keywords(&proposals, now).await?;
    let report = MineReport { merged, ..report };
    let why = format!(
        "{} proposals from {} confirmed reports against {} ham: {} new, {} updated, {} already decided",
        report.proposals,
        report.spam + report.scam,
        report.ham,
        merged.added,
        merged.updated,
        merged.decided
    );
    let actor = Actor {
        name: source,
        reason: &why,
    };
    if let Err(e) = state.records.audit("keywords.mine", "keywords", actor).await {
        tracing::warn!(error = %e, "mined, but the audit record was not written");
    }
    tracing::info!(proposals = report.proposals, added = merged.added, "keywords mined");
    Ok(report)
}

/// The mining itself (blocking): each text as the engine in effect sees it.
fn mine_texts(
    engine: &chanrac_core::Engine,
    unwanted: &[(Label, String)],
    ham: &[String],
    cfg: &KeywordsConfig,
    source: &str,
) -> (Vec<NewProposal>, MineReport) {
    let mut miner = Miner::new(usize::from(cfg.max_words));
    let mut scratch = Scratch::default();
    let mut folded = Vec::with_capacity(unwanted.len());
    for (label, text) in unwanted {
        let caught = engine
            .check_with(&Message::text(text.as_str()), &mut scratch)
            .category
            .is_unwanted();
        miner.add(scratch.normalized(), *label, caught);
        folded.push(format!(" {} ", scratch.normalized().text()));
    }
    for text in ham {
        let caught = engine
            .check_with(&Message::text(text.as_str()), &mut scratch)
            .category
            .is_unwanted();
        miner.add(scratch.normalized(), Label::Ham, caught);
    }
    let (n_ham, n_spam, n_scam) = miner.docs();
    let found = if n_spam + n_scam == 0 {
        Vec::new()
    } else {
        miner.propose(&cfg.miner())
    };
    let proposals: Vec<NewProposal> = found
        .iter()
        .map(|p| {
            let needle = format!(" {} ", p.phrase);
            let first = p.example.map(|i| i as usize);
            let others = folded
                .iter()
                .enumerate()
                .filter(|(i, f)| Some(*i) != first && f.contains(&needle));
            let examples = first
                .into_iter()
                .chain(others.map(|(i, _)| i))
                .take(EXAMPLES)
                .filter_map(|i| unwanted.get(i))
                .map(|(_, t)| t.chars().take(300).collect())
                .collect();
            NewProposal {
                phrase: p.phrase.clone(),
                label: p.label.as_str().to_string(),
                z: p.z,
                log_odds: p.log_odds,
                unwanted_docs: p.unwanted_docs,
                unwanted_total: n_spam + n_scam,
                ham_docs: p.ham_docs,
                ham_total: n_ham,
                ham_rate_upper: p.ham_rate_upper,
                adds_docs: p.adds_docs,
                examples,
                source: source.to_string(),
            }
        })
        .collect();
    let report = MineReport {
        spam: n_spam,
        scam: n_scam,
        ham: n_ham,
        phrases: miner.phrases(),
        proposals: proposals.len(),
        merged: ProposalsMerged::default(),
    };
    (proposals, report)
}

/// The rule pack (TOML) of the hub's approved keywords: one rule per keyword, `HUB_KW_`
/// and the phrase, topic `mined_spam` or `mined_scam`.
pub fn pack_toml(pack: &RulePack) -> String {
    let rules: Vec<KeywordRule> = pack
        .keywords
        .iter()
        .map(|k| KeywordRule {
            id: keywords::rule_id(RULE_PREFIX, &k.phrase),
            phrase: k.phrase.clone(),
            label: if k.label == "scam" { Label::Scam } else { Label::Spam },
            weight: pack.weight,
            description: format!(
                "keyword approved at the hub (proposal {}, pack v{})",
                k.proposal, pack.version
            ),
            example: None,
        })
        .collect();
    keywords::rule_pack(
        &format!(
            "The hub's approved keywords, pack v{} (docs/keywords.md).",
            pack.version
        ),
        &rules,
    )
}

/// The name the engine gives the pack's rules in errors.
pub fn pack_name(pack: &RulePack) -> String {
    format!("<hub keywords v{}>", pack.version)
}

/// Runs the scheduled mining every `keywords.mine_every`, when set.
pub fn spawn(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    let every = state.config.keywords.every().ok().flatten()?;
    let st = state.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            match mine(&st, "scheduled").await {
                Ok(r) => tracing::info!(
                    proposals = r.proposals,
                    added = r.merged.added,
                    reports = r.spam + r.scam,
                    "scheduled keyword mining"
                ),
                Err(e) => tracing::error!(error = %e.message, "scheduled keyword mining failed"),
            }
        }
    }))
}

/// Mine now: the confirmed reports of the last `keywords.window_days` against the ham
/// baseline; the proposals join the queue (a pending phrase gets the new figures, a decided
/// one is left as it is).
#[utoipa::path(post, path = "/v1/keywords/mine", tag = "keywords",
    responses((status = 200, body = MineReport), (status = 400, description = "No ham baseline", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn post_mine(State(state): State<AppState>, caller: Caller) -> Result<Json<MineReport>, ApiError> {
    caller.require(REGULATOR)?;
    Ok(Json(mine(&state, &format!("api:{}", caller.name)).await?))
}

/// Which proposals.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProposalsQuery {
    /// `proposed`, `approved` or `rejected`; all when absent.
    pub status: Option<String>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<usize>,
}

/// The queue and the pack in effect.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalsOut {
    /// Best z-score first.
    #[schema(value_type = Vec<Object>)]
    pub proposals: Vec<KeywordProposal>,
    /// The rule pack in effect on this node, if any.
    #[schema(value_type = Option<Object>)]
    pub pack: Option<RulePack>,
}

/// The keyword proposal queue.
#[utoipa::path(get, path = "/v1/keywords/proposals", tag = "keywords", params(ProposalsQuery),
    responses((status = 200, body = ProposalsOut), (status = 400, description = "Unknown status", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_proposals(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ProposalsQuery>, QueryRejection>,
) -> Result<Json<ProposalsOut>, ApiError> {
    caller.require(READERS)?;
    let Query(q) = query?;
    if let Some(s) = q.status.as_deref()
        && !["proposed", "approved", "rejected"].contains(&s)
    {
        return Err(ApiError::bad_request(
            "invalid_status",
            format!("status {s:?} is not one of proposed, approved, rejected"),
        ));
    }
    let limit = q.limit.unwrap_or(200).min(1000);
    let proposals = state.records.keyword_proposals(q.status.as_deref(), limit).await?;
    let pack = state.records.rule_pack().await?;
    Ok(Json(ProposalsOut { proposals, pack }))
}

/// An analyst's decision on a keyword.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeywordDecisionIn {
    /// Why: recorded in the audit log. Required.
    pub reason: String,
}

/// The decided proposal and, when the approved set changed, the new pack.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeywordDecisionOut {
    /// The proposal after the decision.
    #[schema(value_type = Object)]
    pub proposal: KeywordProposal,
    /// The new rule pack (now in effect here and in the feed), if the decision made one.
    #[schema(value_type = Option<Object>)]
    pub pack: Option<RulePack>,
    /// The feed version of the new pack.
    pub lists_version: Option<i64>,
}

/// Approve (the keyword joins a new rule-pack version, in effect here at once and sent to
/// operators through the feed) or reject a proposal; rejecting an approved keyword revokes
/// it (a new version without it).
#[utoipa::path(post, path = "/v1/keywords/proposals/{id}/{decision}", tag = "keywords",
    params(("id" = i64, Path, description = "the proposal's id"), ("decision" = String, Path, description = "approve or reject")),
    request_body = KeywordDecisionIn,
    responses((status = 200, body = KeywordDecisionOut), (status = 404, description = "No such proposal", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, decision)): Path<(String, String)>,
    body: Result<Json<KeywordDecisionIn>, JsonRejection>,
) -> Result<Json<KeywordDecisionOut>, ApiError> {
    caller.require(REGULATOR)?;
    let Json(d) = body?;
    let status = match decision.as_str() {
        "approve" => "approved",
        "reject" => "rejected",
        _ => return Err(ApiError::not_found("the decision is approve or reject")),
    };
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found(format!("no keyword proposal {id:?}")));
    };
    if d.reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "reason_required",
            "a reason is required for the audit log",
        ));
    }
    let actor = Actor {
        name: &caller.name,
        reason: d.reason.trim(),
    };
    let weight = state.config.keywords.weight;
    let Some(KeywordDecision {
        proposal,
        pack,
        lists_version,
    }) = state.records.decide_keyword(id, status, actor, weight).await?
    else {
        return Err(ApiError::not_found(format!("no keyword proposal {id}")));
    };
    if pack.is_some() {
        state
            .refresh_lists(false)
            .await
            .map_err(|e| ApiError::internal(format!("decided, but the new pack is not yet in effect: {e}")))?;
    }
    Ok(Json(KeywordDecisionOut {
        proposal,
        pack,
        lists_version,
    }))
}

/// The rule pack in effect.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackOut {
    /// The pack in the store (the hub's last, or the last installed from the feed).
    #[schema(value_type = Option<Object>)]
    pub pack: Option<RulePack>,
    /// The version the engine in effect was built with (0: none).
    pub in_effect: i64,
    /// The rule ids it adds (`HUB_KW_…`).
    pub rules: Vec<String>,
}

/// The rule pack of approved keywords in effect on this node.
#[utoipa::path(get, path = "/v1/keywords/pack", tag = "keywords",
    responses((status = 200, body = PackOut)), security(("api_key" = [])))]
pub async fn get_pack(State(state): State<AppState>, caller: Caller) -> Result<Json<PackOut>, ApiError> {
    caller.require(READERS)?;
    let pack = state.records.rule_pack().await?;
    let rules = state
        .engine()
        .rules()
        .rules()
        .iter()
        .filter(|r| r.id.starts_with(RULE_PREFIX))
        .map(|r| r.id.to_string())
        .collect();
    Ok(Json(PackOut {
        pack,
        in_effect: state.pack_version(),
        rules,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mine_every_reads_durations_and_refuses_the_rest() {
        let every = |s: &str| {
            KeywordsConfig {
                mine_every: s.into(),
                ..Default::default()
            }
            .every()
        };
        assert_eq!(every("off"), Ok(None));
        assert_eq!(every("24h"), Ok(Some(Duration::from_secs(86_400))));
        assert_eq!(every("30m"), Ok(Some(Duration::from_secs(1_800))));
        assert_eq!(every("7d"), Ok(Some(Duration::from_secs(604_800))));
        assert_eq!(every("10s"), Ok(Some(Duration::from_secs(10))));
        for bad in ["", "24", "h", "1.5h", "0s", "-1h", "24 hours"] {
            assert!(every(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_ham_reader_takes_ham_rows_and_names_bad_files() {
        let dir = std::env::temp_dir().join(format!("chanrac-kw-ham-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let labeled = dir.join("labeled.tsv");
        std::fs::write(
            &labeled,
            "label\ttext\nham\thello there\nspam\twin now\nham\t\nham\tsee you\n",
        )
        .unwrap();
        let plain = dir.join("plain.tsv");
        std::fs::write(&plain, "text\nmorning\n").unwrap();
        let bad = dir.join("bad.tsv");
        std::fs::write(&bad, "message\nx\n").unwrap();
        assert_eq!(
            read_ham(&[labeled.clone(), plain]).unwrap(),
            ["hello there", "see you", "morning"]
        );
        assert!(read_ham(&[bad]).unwrap_err().contains("no `text` column"));
        assert!(
            read_ham(&[dir.join("missing.tsv")])
                .unwrap_err()
                .contains("cannot read")
        );
        let spam_only = dir.join("spam.tsv");
        std::fs::write(&spam_only, "label\ttext\nspam\twin\n").unwrap();
        assert!(read_ham(&[spam_only]).unwrap_err().contains("no ham rows"));
    }

    #[test]
    fn a_pack_compiles_into_one_rule_per_keyword() {
        let pack = RulePack {
            version: 4,
            at: 0,
            weight: 3.0,
            keywords: vec![
                chanrac_store::records::PackKeyword {
                    phrase: "zorbix coin".into(),
                    label: "spam".into(),
                    proposal: 7,
                },
                chanrac_store::records::PackKeyword {
                    phrase: "nap vi".into(),
                    label: "scam".into(),
                    proposal: 9,
                },
            ],
        };
        let text = pack_toml(&pack);
        let rules = chanrac_core::RuleSet::from_sources(vec![(pack_name(&pack).as_str(), text.as_str())]).unwrap();
        let got: Vec<(String, f32)> = rules.rules().iter().map(|r| (r.id.to_string(), r.weight)).collect();
        assert_eq!(got, [("HUB_KW_ZORBIX_COIN".into(), 3.0), ("HUB_KW_NAP_VI".into(), 3.0)]);
    }
}
