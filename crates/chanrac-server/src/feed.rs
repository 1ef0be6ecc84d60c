//! The shared lists' feed (docs/feed.md): the hub publishes every change of its lists
//! (additions and revocations, in lists-version order) at `GET /v1/feed?since=CURSOR`,
//! signed with its ed25519 key; an operator's node pulls it ([`crate::sync`]) and applies
//! each page to its own lists together with the cursor.
//!
//! The signed bytes are the `payload` string exactly as sent (a JSON [`FeedPage`]), so a
//! verifier never re-serializes anything before checking.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chanrac_store::records::{ListChange, Records};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::OPERATORS;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::Metrics;
use crate::state::AppState;

/// The most changes in one page, and the default.
pub const MAX_LIMIT: usize = 1000;
/// The longest long-poll a client may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;

/// The hub's signing key: 32 secret bytes in hex in `<data_dir>/feed.key`, made on first
/// start (readable by its owner only).
pub struct FeedKey {
    signing: SigningKey,
}

impl std::fmt::Debug for FeedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FeedKey({})", self.public_hex())
    }
}

impl FeedKey {
    /// The key file in a data directory.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("feed.key")
    }

    /// Reads the key of `data_dir`, or makes one and writes it there.
    pub fn load_or_create(data_dir: &Path) -> Result<FeedKey, String> {
        let path = FeedKey::path(data_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = hex32(text.trim()).map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(FeedKey {
                    signing: SigningKey::from_bytes(&bytes),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for the feed key: {e}"))?;
                std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
                write_private(&path, &to_hex(&bytes)).map_err(|e| format!("{}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), "made the feed's signing key");
                Ok(FeedKey {
                    signing: SigningKey::from_bytes(&bytes),
                })
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// The public key in hex (64 digits): what operators configure as `hub_public_key`.
    pub fn public_hex(&self) -> String {
        to_hex(self.signing.verifying_key().as_bytes())
    }

    /// The signature of `payload`, in hex (128 digits).
    pub fn sign(&self, payload: &[u8]) -> String {
        to_hex(&self.signing.sign(payload).to_bytes())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Reads a hub's public key given as 64 hex digits or as a file holding them.
pub fn parse_public_key(given: &str) -> Result<VerifyingKey, String> {
    let text = if hex32(given.trim()).is_ok() {
        given.trim().to_string()
    } else {
        std::fs::read_to_string(given)
            .map_err(|e| format!("the hub public key {given:?} is neither 64 hex digits nor a readable file: {e}"))?
            .trim()
            .to_string()
    };
    let bytes = hex32(&text).map_err(|e| format!("the hub public key: {e}"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("the hub public key is not an ed25519 key: {e}"))
}

/// Checks that `signature` (hex) signs `payload` with `key`.
pub fn verify(key: &VerifyingKey, payload: &str, signature: &str) -> Result<(), String> {
    let bytes = from_hex(signature.trim()).ok_or("the signature is not hex")?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|_| "the signature is not 64 bytes".to_string())?;
    key.verify(payload.as_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| "the signature does not verify with the hub's public key".to_string())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn hex32(s: &str) -> Result<[u8; 32], String> {
    from_hex(s)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| "expected 64 hex digits".to_string())
}

/// One page of the feed: the changes with `from < version <= to`, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedPage {
    /// The cursor the page starts after (the `since` asked for).
    pub from: i64,
    /// The cursor to ask from next: the last change's version, or `from` when empty.
    pub to: i64,
    /// The hub's lists version when the page was read: more follows while `to < latest`.
    pub latest: i64,
    /// The changes.
    pub changes: Vec<ListChange>,
}

/// A page with its signature.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedPage {
    /// The page as JSON text (`{"from", "to", "latest", "changes": [{"version", "at", "op":
    /// "add|remove", "entry": {side, kind, value, reason, added_by, added_at, source,
    /// evidence, confidence, first_seen, last_seen, expires_at}}]}`): the signed bytes.
    pub payload: String,
    /// The ed25519 signature of `payload`'s UTF-8 bytes, in hex.
    pub signature: String,
    /// The hub's public key, in hex (informative: verify with the key you configured).
    pub key: String,
}

/// The feed's query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The last version already applied (0 for everything).
    pub since: Option<String>,
    /// At most this many changes (1–1000, default 1000).
    pub limit: Option<usize>,
    /// When there is nothing new, wait up to this many seconds (0–30, default 0) for a change.
    pub wait: Option<u64>,
}

/// The changes of the lists after a cursor, signed.
#[utoipa::path(get, path = "/v1/feed", tag = "feed", params(FeedQuery),
    responses((status = 200, body = SignedPage),
        (status = 400, description = "A cursor that is not a number or lies ahead of the hub (`invalid_cursor`), a bad limit", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn feed(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<SignedPage>, ApiError> {
    caller.require(OPERATORS)?;
    let Query(q) = query?;
    let since_text = q.since.as_deref().unwrap_or("0");
    let since: i64 = since_text.parse().ok().filter(|v: &i64| *v >= 0).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_cursor",
            format!("since={since_text:?} is not a cursor: use 0 or the `to` of the last page you applied"),
        )
    })?;
    let limit = q.limit.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("limit={limit}: use 1 to {MAX_LIMIT}"),
        ));
    }
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    let mut changed = state.records.changes();
    let mut latest = state
        .records
        .lists_version()
        .await
        .inspect_err(|_| Metrics::store_error("lists_version"))?;
    if since > latest {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            format!(
                "since={since} lies ahead of this hub, whose lists are at version {latest}: was the hub's store replaced?"
            ),
        ));
    }
    if since == latest && !wait.is_zero() {
        let _ = tokio::time::timeout(wait, changed.wait_for(|v| *v > since)).await;
        latest = state
            .records
            .lists_version()
            .await
            .inspect_err(|_| Metrics::store_error("lists_version"))?;
    }
    let changes = state
        .records
        .list_changes(since, limit)
        .await
        .inspect_err(|_| Metrics::store_error("list_changes"))?;
    let page = FeedPage {
        from: since,
        to: changes.last().map_or(since, |c| c.version),
        latest: latest.max(changes.last().map_or(0, |c| c.version)),
        changes,
    };
    let payload = serde_json::to_string(&page).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(SignedPage {
        signature: state.feed_key.sign(payload.as_bytes()),
        key: state.feed_key.public_hex(),
        payload,
    }))
}

/// The hub's public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyOut {
    /// `ed25519`.
    pub algorithm: &'static str,
    /// The public key, 64 hex digits.
    pub public_key: String,
}

/// The public key the feed is signed with.
#[utoipa::path(get, path = "/v1/feed/key", tag = "feed",
    responses((status = 200, body = KeyOut)), security(("api_key" = [])))]
pub async fn key(State(state): State<AppState>, caller: Caller) -> Result<Json<KeyOut>, ApiError> {
    caller.require(OPERATORS)?;
    Ok(Json(KeyOut {
        algorithm: "ed25519",
        public_key: state.feed_key.public_hex(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_its_payload_and_key() {
        let dir = std::env::temp_dir().join(format!("chanrac-feedkey-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let k = FeedKey::load_or_create(&dir).unwrap();
        let again = FeedKey::load_or_create(&dir).unwrap();
        assert_eq!(k.public_hex(), again.public_hex(), "the key is kept across starts");
        let public = parse_public_key(&k.public_hex()).unwrap();
        let from_file = parse_public_key(dir.join("pub").to_str().unwrap());
        assert!(from_file.is_err());
        std::fs::write(dir.join("pub"), format!("{}\n", k.public_hex())).unwrap();
        assert_eq!(parse_public_key(dir.join("pub").to_str().unwrap()).unwrap(), public);
        let sig = k.sign(b"{\"from\":0}");
        verify(&public, "{\"from\":0}", &sig).unwrap();
        assert!(
            verify(&public, "{\"from\":1}", &sig).is_err(),
            "a changed payload fails"
        );
        let mut bad = sig.clone().into_bytes();
        bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
        assert!(verify(&public, "{\"from\":0}", std::str::from_utf8(&bad).unwrap()).is_err());
        assert!(verify(&public, "{\"from\":0}", "zz").is_err());
        let other = SigningKey::from_bytes(&[7u8; 32]);
        assert!(
            verify(&other.verifying_key(), "{\"from\":0}", &sig).is_err(),
            "another key fails"
        );
    }
}
