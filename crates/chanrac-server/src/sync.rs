//! The operator's side of the feed (docs/feed.md): with a `[sync]` section, `chanrac serve`
//! pulls the hub's `GET /v1/feed` (long-polling), checks each page's ed25519 signature with
//! the configured public key, and applies it to its own lists with the cursor in one
//! transaction ([`Records::apply_feed`]); the list refresh then puts it in effect at once.
//!
//! A page that does not verify is not applied: the error is logged at `error` level
//! (`ALARM`) and counted in `chanrac_sync_bad_signatures_total`, and the puller retries
//! after a back-off. So is a cursor the hub refuses (`invalid_cursor`: the hub is behind
//! this node, its store replaced), counted in `chanrac_sync_cursor_refused_total`. Network
//! errors and hub restarts back off from 1 s to 60 s. Since the
//! cursor moves only with the page it covers, a change is never applied twice or out of
//! order, whatever stops where.

use std::time::Duration;

use chanrac_store::StoreError;
use chanrac_store::records::Records;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::feed::{FeedPage, SignedPage, verify};
use crate::state::AppState;

/// Pull the shared lists from a hub's signed feed into this node's lists (docs/feed.md). Off unless the section is present; `hub`, `key` and `hub_public_key` are required, `origin` defaults to `hub` and `wait_secs` to 10.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The hub's base URL (`https://hub.example.vn`).
    pub hub: String,
    /// This operator's API key at the hub (role `operator`).
    pub key: String,
    /// The hub's feed public key: 64 hex digits, or a file holding them
    /// (`chanrac feed-key` on the hub prints it; `GET /v1/feed/key` serves it).
    pub hub_public_key: String,
    /// The name the cursor and the entries' `added_by` (`sync:NAME`) carry.
    #[serde(default = "default_origin")]
    pub origin: String,
    /// How long one long-poll waits at the hub for a change, in seconds (1–30).
    #[serde(default = "default_wait")]
    pub wait_secs: u64,
    /// Push this node's own findings to the hub for review: every number or brandname its
    /// analysts or its call detector put on the block list goes to the hub's
    /// `POST /v1/findings` (docs/feed.md). Off by default.
    #[serde(default)]
    pub push_findings: bool,
}

fn default_origin() -> String {
    "hub".into()
}

fn default_wait() -> u64 {
    10
}

/// What one pull did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    /// The cursor after the page.
    pub cursor: i64,
    /// Changes in the page.
    pub changes: usize,
    /// Whether the hub has more after it.
    pub more: bool,
}

/// Pulls feed pages from a hub into a store.
pub struct Puller {
    config: SyncConfig,
    key: VerifyingKey,
    http: reqwest::Client,
}

impl Puller {
    /// Checks the configuration (the public key above all).
    pub fn new(config: SyncConfig) -> Result<Puller, String> {
        let key = crate::feed::parse_public_key(&config.hub_public_key)?;
        let wait = config.wait_secs.clamp(1, crate::feed::MAX_WAIT_SECS);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(wait + 30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Puller {
            config: SyncConfig {
                wait_secs: wait,
                ..config
            },
            key,
            http,
        })
    }

    /// Fetches, verifies and applies one page.
    pub async fn pull_once<R: Records>(&self, records: &R, wait: bool) -> Result<Pulled, String> {
        let origin = &self.config.origin;
        let cursor = records.sync_cursor(origin).await.map_err(|e| e.to_string())?;
        let url = format!("{}/v1/feed", self.config.hub.trim_end_matches('/'));
        let wait_secs = if wait { self.config.wait_secs } else { 0 };
        let resp = self
            .http
            .get(&url)
            .query(&[("since", cursor.to_string()), ("wait", wait_secs.to_string())])
            .bearer_auth(&self.config.key)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| format!("{url}: {e}"))?;
        if status == reqwest::StatusCode::BAD_REQUEST && body.contains("invalid_cursor") {
            // The hub is behind this node (its store replaced or restored from an older
            // backup): nothing can be applied until someone decides what to do.
            metrics::counter!("chanrac_sync_cursor_refused_total").increment(1);
            tracing::error!(hub = %self.config.hub, cursor, answer = %body,
                "ALARM: the hub refuses this node's feed cursor; nothing applied");
            return Err(format!("{url}: the hub refuses cursor {cursor}: {body}"));
        }
        if !status.is_success() {
            return Err(format!("{url}: {status}: {body}"));
        }
        let signed: SignedPage = serde_json::from_str(&body).map_err(|e| format!("{url}: not a feed page: {e}"))?;
        if let Err(e) = verify(&self.key, &signed.payload, &signed.signature) {
            metrics::counter!("chanrac_sync_bad_signatures_total").increment(1);
            tracing::error!(hub = %self.config.hub, error = %e, "ALARM: a feed page failed its signature check; nothing applied");
            return Err(format!("ALARM: {e}"));
        }
        let page: FeedPage = serde_json::from_str(&signed.payload)
            .map_err(|e| format!("{url}: a signed page that does not parse: {e}"))?;
        if page.from != cursor {
            return Err(format!("{url}: asked from {cursor}, got a page from {}", page.from));
        }
        match records.apply_feed(origin, page.from, page.to, &page.changes).await {
            Ok(_) => {}
            // Another node sharing the store applied it first: nothing lost, ask again.
            Err(StoreError::Conflict(m)) => return Err(m),
            Err(e) => return Err(e.to_string()),
        }
        metrics::counter!("chanrac_sync_changes_total").increment(page.changes.len() as u64);
        metrics::gauge!("chanrac_sync_cursor").set(page.to as f64);
        Ok(Pulled {
            cursor: page.to,
            changes: page.changes.len(),
            more: page.to < page.latest,
        })
    }

    /// Pulls for ever, backing off from 1 s to 60 s after an error.
    pub async fn run<R: Records>(&self, records: &R) {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.pull_once(records, true).await {
                Ok(p) => {
                    backoff = Duration::from_secs(1);
                    if p.changes > 0 {
                        tracing::info!(cursor = p.cursor, changes = p.changes, "applied a feed page");
                    }
                }
                Err(e) => {
                    metrics::counter!("chanrac_sync_errors_total").increment(1);
                    tracing::warn!(hub = %self.config.hub, error = %e, retry_in = ?backoff, "feed pull failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }
}

/// Starts the puller of `[sync]`, if configured.
pub fn spawn(state: &AppState) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(config) = state.config.sync.clone() else {
        return Ok(None);
    };
    let puller = Puller::new(config)?;
    let records = state.records.clone();
    Ok(Some(tokio::spawn(async move { puller.run(&records).await })))
}
