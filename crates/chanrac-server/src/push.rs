//! The operator's findings, pushed to the hub (docs/feed.md, "Operators' findings"): with
//! `push_findings = true` in `[sync]`, `chanrac serve` sends every sender or brandname this
//! node puts on its own block list (an analyst's `POST /v1/lists/block/...`, the call
//! detector's suspects with `calls.block_suspects`) to the hub's `POST /v1/findings`, where it
//! enters the report queue for an analyst to confirm or reject.
//!
//! What is pushed: additions to the block list of kind `senders` (one number, not a prefix)
//! or `brandnames` whose source is `local`. Entries that came from the hub (`sync:…`), from a
//! third-party import or from list files (`file:…`) are not this node's findings and stay
//! here. A number the call detector blocked is pushed as kind `call`, anything else as
//! `spam`.
//!
//! The pusher walks the node's change log (the same log the hub's feed serves) with a
//! cursor kept in the store's sync cursors under `push:ORIGIN`, moved after each change it
//! has handled, so a restart resumes where it stopped and a finding the hub acknowledged is
//! not sent again, but for one acknowledged in the instant before the process was killed
//! (at least once; the hub counts a reporter once per source). On its first start it begins at the current version: what was listed
//! before the pusher was turned on is not sent. A finding the hub refuses as invalid (400)
//! is logged and skipped; network errors, 5xx, 429 and a refused key are retried with a
//! back-off from 1 s to 60 s without moving the cursor.

use std::time::Duration;

use chanrac_core::ListKind;
use chanrac_store::records::{ChangeOp, ListChange, Records, Side};
use serde::Serialize;

use crate::state::AppState;
use crate::sync::SyncConfig;

/// The longest evidence sent with a finding, in characters (the hub's default
/// `hub.max_text_chars` is larger).
const MAX_EVIDENCE_CHARS: usize = 480;

/// Changes read from the log at a time.
const PAGE: usize = 200;

/// One finding as the hub's `POST /v1/findings` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `spam` or `call`.
    pub kind: &'static str,
    /// The number or brandname.
    pub source: String,
    /// Why this node listed it.
    pub evidence: String,
}

/// The finding a change of this node's lists makes, if it makes one.
pub fn finding(change: &ListChange) -> Option<Finding> {
    let e = &change.entry;
    if change.op != ChangeOp::Add || e.side != Side::Block || e.source != "local" {
        return None;
    }
    if e.added_by.starts_with("sync:") || e.added_by.starts_with("file:") {
        return None;
    }
    let single_sender = e.kind == ListKind::Senders && !e.value.ends_with('*');
    if !single_sender && e.kind != ListKind::Brandnames {
        return None;
    }
    let kind = if e.added_by.starts_with("calls:") {
        "call"
    } else {
        "spam"
    };
    let mut evidence = format!("blocked by {}: {}", e.added_by, e.reason);
    if !e.evidence.is_empty() {
        evidence.push_str(&format!(" (evidence: {})", e.evidence));
    }
    if evidence.chars().count() > MAX_EVIDENCE_CHARS {
        evidence = evidence.chars().take(MAX_EVIDENCE_CHARS - 1).collect::<String>() + "…";
    }
    Some(Finding {
        kind,
        source: e.value.clone(),
        evidence,
    })
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Findings the hub took.
    pub sent: usize,
    /// Findings the hub refused as invalid (logged, skipped).
    pub refused: usize,
    /// The cursor after the round.
    pub cursor: i64,
}

/// Why a push must be retried.
#[derive(Debug)]
enum Retry {
    /// The hub could not be reached or said to come back later.
    Later(String),
}

/// Pushes this node's findings to the hub.
pub struct Pusher {
    config: SyncConfig,
    http: reqwest::Client,
    cursor_name: String,
}

impl Pusher {
    /// A pusher for the hub of `[sync]`.
    pub fn new(config: SyncConfig) -> Result<Pusher, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let cursor_name = format!("push:{}", config.origin);
        Ok(Pusher {
            config,
            http,
            cursor_name,
        })
    }

    /// The stored cursor: `None` before the first round. The store keeps the version + 1,
    /// since a cursor it has never seen reads as 0.
    async fn cursor<R: Records>(&self, records: &R) -> Result<Option<i64>, String> {
        let stored = records
            .sync_cursor(&self.cursor_name)
            .await
            .map_err(|e| e.to_string())?;
        Ok((stored > 0).then(|| stored - 1))
    }

    /// Moves the stored cursor from `from` (`None`: never stored) to `to`, in one
    /// compare-and-set transaction of the store.
    async fn advance<R: Records>(&self, records: &R, from: Option<i64>, to: i64) -> Result<(), String> {
        let from = from.map_or(0, |v| v + 1);
        if to + 1 > from {
            records
                .apply_feed(&self.cursor_name, from, to + 1, &[])
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Sends one finding; `Ok(false)` when the hub refused it as invalid.
    async fn send(&self, f: &Finding) -> Result<bool, Retry> {
        let url = format!("{}/v1/findings", self.config.hub.trim_end_matches('/'));
        let resp = self
            .http
            .post(&url)
            .bearer_auth(&self.config.key)
            .json(f)
            .send()
            .await
            .map_err(|e| Retry::Later(format!("{url}: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(true);
        }
        let body = resp.text().await.unwrap_or_default();
        if status.is_client_error() && ![401, 403, 408, 429].contains(&status.as_u16()) {
            tracing::warn!(source = %f.source, %status, body = %body, "the hub refused a finding; skipped");
            return Ok(false);
        }
        Err(Retry::Later(format!("{url}: {status}: {body}")))
    }

    /// Sends the findings among the changes after the cursor, moving it past each change
    /// handled. On its very first round it starts at the current version.
    pub async fn push_once<R: Records>(&self, records: &R) -> Result<Pushed, String> {
        let Some(mut cursor) = self.cursor(records).await? else {
            let now = records.lists_version().await.map_err(|e| e.to_string())?;
            self.advance(records, None, now).await?;
            return Ok(Pushed {
                cursor: now,
                ..Pushed::default()
            });
        };
        let mut done = Pushed {
            cursor,
            ..Pushed::default()
        };
        loop {
            let page = records.list_changes(cursor, PAGE).await.map_err(|e| e.to_string())?;
            let Some(last) = page.last().map(|c| c.version) else {
                return Ok(done);
            };
            for change in &page {
                if let Some(f) = finding(change) {
                    match self.send(&f).await {
                        Ok(true) => done.sent += 1,
                        Ok(false) => done.refused += 1,
                        Err(Retry::Later(e)) => return Err(e),
                    }
                    self.advance(records, Some(cursor), change.version).await?;
                    cursor = change.version;
                    done.cursor = cursor;
                }
            }
            self.advance(records, Some(cursor), last).await?;
            cursor = last;
            done.cursor = cursor;
            if page.len() < PAGE {
                return Ok(done);
            }
        }
    }

    /// Pushes for ever: after each change of the lists (or every 30 s), and after an error
    /// with a back-off from 1 s to 60 s.
    pub async fn run<R: Records>(&self, records: &R) {
        let mut changes = records.changes();
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.push_once(records).await {
                Ok(p) => {
                    backoff = Duration::from_secs(1);
                    if p.sent + p.refused > 0 {
                        metrics::counter!("chanrac_findings_pushed_total").increment(p.sent as u64);
                        tracing::info!(
                            sent = p.sent,
                            refused = p.refused,
                            cursor = p.cursor,
                            "pushed findings to the hub"
                        );
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(30), changes.changed()).await;
                }
                Err(e) => {
                    metrics::counter!("chanrac_findings_push_errors_total").increment(1);
                    tracing::warn!(hub = %self.config.hub, error = %e, retry_in = ?backoff, "pushing findings failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }
}

/// Starts the pusher when `[sync]` says `push_findings = true`.
pub fn spawn(state: &AppState) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(config) = state.config.sync.clone().filter(|c| c.push_findings) else {
        return Ok(None);
    };
    let pusher = Pusher::new(config)?;
    let records = state.records.clone();
    Ok(Some(tokio::spawn(async move { pusher.run(&records).await })))
}

#[cfg(test)]
mod tests {
    use chanrac_store::records::ListEntry;

    use super::*;

    fn change(op: ChangeOp, side: Side, kind: ListKind, value: &str, source: &str, by: &str) -> ListChange {
        ListChange {
            version: 7,
            at: 0,
            op,
            entry: ListEntry {
                side,
                kind,
                value: value.into(),
                reason: "400 messages a minute".into(),
                added_by: by.into(),
                added_at: 0,
                source: source.into(),
                evidence: String::new(),
                confidence: 100,
                first_seen: 0,
                last_seen: 0,
                expires_at: None,
            },
        }
    }

    #[test]
    fn only_this_nodes_own_blocks_of_numbers_and_brandnames_are_findings() {
        use ChangeOp::{Add, Remove};
        use ListKind::{Brandnames, Domains, Senders};
        use Side::{Allow, Block};
        let cases: &[(ListChange, Option<&str>)] = &[
            (
                change(Add, Block, Senders, "+84912345678", "local", "noc"),
                Some("spam"),
            ),
            (
                change(Add, Block, Senders, "+84912345678", "local", "calls:noc"),
                Some("call"),
            ),
            (change(Add, Block, Brandnames, "VCB-KM", "local", "noc"), Some("spam")),
            (change(Add, Block, Senders, "+84909*", "local", "noc"), None),
            (change(Add, Block, Domains, "evil.xyz", "local", "noc"), None),
            (change(Add, Allow, Senders, "+84912345678", "local", "noc"), None),
            (change(Remove, Block, Senders, "+84912345678", "local", "noc"), None),
            (change(Add, Block, Senders, "+84912345678", "hub", "sync:hub"), None),
            (
                change(Add, Block, Senders, "+84912345678", "import:antiscam", "noc"),
                None,
            ),
            (
                change(Add, Block, Senders, "+84912345678", "local", "file:lists/block"),
                None,
            ),
        ];
        for (c, want) in cases {
            let got = finding(c);
            assert_eq!(got.as_ref().map(|f| f.kind), *want, "{c:?}");
            if let Some(f) = got {
                assert_eq!(f.source, c.entry.value);
                assert!(f.evidence.starts_with("blocked by "), "{}", f.evidence);
                assert!(f.evidence.contains("400 messages a minute"));
            }
        }
        let mut long = change(Add, Block, Senders, "+84912345678", "local", "noc");
        long.entry.reason = "x".repeat(2000);
        assert_eq!(finding(&long).unwrap().evidence.chars().count(), MAX_EVIDENCE_CHARS);
    }
}
