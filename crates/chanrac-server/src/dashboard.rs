//! The web dashboard: a small static front end (HTML, CSS and plain JavaScript modules, its
//! charts drawn as inline SVG by its own code) compiled into the binary and served at `/`
//! and `/ui/…`, so `chanrac serve` needs no other server and no build step to show it.
//!
//! The pages read the same HTTP API as any client (`/v1/stats`, `/v1/verdicts`, `/v1/lists`,
//! `/v1/quarantine`, …) with the API key the user typed in; the API enforces the roles, and
//! the pages hide what a key's roles may not do. Two read-only routes are added for the
//! dashboard: `GET /ui/session` (who the key belongs to and what the server runs, so that
//! the pages know what to show) and `GET /ui/rules` (the signals and thresholds of the engine
//! in effect). The front end's files are in `crates/chanrac-server/assets/`; see
//! `docs/dashboard.md`.
//!
//! Every answer carries a strict Content-Security-Policy (scripts, styles and connections
//! from this origin only; no inline script, no frames), because the pages display texts
//! written by spammers.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::auth::Caller;
use crate::config::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// One file of the front end.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: &'static str,
}

/// A strong validator computed at compile time (FNV-1a, 64 bits, as 16 hex digits), so a
/// browser revalidates cheaply and never keeps a file of an older build.
const fn fnv1a(bytes: &[u8]) -> [u8; 18] {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    let hex = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut d = 0;
    while d < 16 {
        out[1 + d] = hex[((hash >> (60 - 4 * d)) & 0xf) as usize];
        d += 1;
    }
    out
}

/// Declares the assets: name, content type, file under `assets/`.
macro_rules! assets {
    ($(($name:literal, $ty:expr)),* $(,)?) => {
        &[$({
            const BODY: &[u8] = include_bytes!(concat!("../assets/", $name));
            const TAG: [u8; 18] = fnv1a(BODY);
            Asset {
                name: $name,
                content_type: $ty,
                body: BODY,
                etag: match std::str::from_utf8(&TAG) {
                    Ok(s) => s,
                    Err(_) => "\"0\"",
                },
            }
        }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the front end (a test checks that the `assets/` directory holds exactly
/// these).
const ASSETS: &[Asset] = assets![
    ("index.html", "text/html; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
    ("favicon.svg", "image/svg+xml"),
    ("app.js", JS),
    ("api.js", JS),
    ("dom.js", JS),
    ("i18n.js", JS),
    ("charts.js", JS),
    ("verdict.js", JS),
    ("page-overview.js", JS),
    ("page-why.js", JS),
    ("page-sources.js", JS),
    ("page-quarantine.js", JS),
    ("page-lists.js", JS),
    ("page-rules.js", JS),
    ("page-try.js", JS),
    ("page-system.js", JS),
    ("page-hub.js", JS),
    ("page-keywords.js", JS),
];

/// What the pages may load and do.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The dashboard's routes: `/`, `/ui/session`, `/ui/rules` and `/ui/{file}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/ui/session", get(session))
        .route("/ui/rules", get(rules))
        .route("/ui/{file}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve_asset("index.html", &headers)
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve_asset(&file, &headers)
}

fn serve_asset(name: &str, request: &HeaderMap) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == name) else {
        return ApiError::not_found(format!("no such dashboard file: {name:?}")).into_response();
    };
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, a.content_type)], a.body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(a.etag));
    // Always revalidated (the ETag makes that a 304): a new build is picked up at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The roles, in the order the dashboard lists them.
const ROLES: [Role; 5] = [
    Role::Operator,
    Role::Regulator,
    Role::Advertiser,
    Role::Bank,
    Role::Public,
];

/// Who is logged in and what this server runs.
#[derive(Debug, Serialize)]
pub struct SessionOut {
    /// The key's name (`dev` in development mode).
    pub name: String,
    /// The key's roles.
    pub roles: Vec<Role>,
    /// Development mode: no keys configured, everything allowed.
    pub dev: bool,
    /// chanrac's version.
    pub version: &'static str,
    /// The records backend: `sqlite` or `postgres`.
    pub store: &'static str,
    /// True when the SMPP firewall runs in this process.
    pub smpp: bool,
    /// Rules in effect.
    pub rules: usize,
    /// The lists version in effect.
    pub lists_version: i64,
}

/// `GET /ui/session`: the caller's name and roles (401 without a valid key), and what the
/// server runs. Any role may ask.
async fn session(State(state): State<AppState>, caller: Caller) -> Json<SessionOut> {
    Json(SessionOut {
        name: caller.name.to_string(),
        roles: ROLES.into_iter().filter(|r| caller.has(*r)).collect(),
        dev: state.keys.dev,
        version: env!("CARGO_PKG_VERSION"),
        store: state.records.backend(),
        smpp: state.quarantine().is_some(),
        rules: state.engine().rules().rules().len(),
        lists_version: state.lists_version(),
    })
}

/// One signal the engine may emit: a built-in one or a rule of the packs in effect.
#[derive(Debug, Serialize)]
pub struct SignalOut {
    /// The signal id (a rule's id).
    pub id: String,
    /// `builtin` or `rule`.
    pub kind: &'static str,
    /// The verdict category its weight counts toward.
    pub category: &'static str,
    /// A rule's topic (`loan`, `prize`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<&'static str>,
    /// Its weight in effect (the policy's override, else the default).
    pub weight: f32,
    /// Its default weight.
    pub default_weight: f32,
    /// What it means.
    pub description: String,
    /// A rule's examples it must fire on.
    pub fires: Vec<String>,
    /// A rule's look-alikes it must spare.
    pub spares: Vec<String>,
}

/// The signals and thresholds of the engine in effect.
#[derive(Debug, Serialize)]
pub struct RulesOut {
    /// Score thresholds: tag, quarantine, block.
    pub thresholds: [f32; 3],
    /// Every signal, built-in ones first, then the rules in pack order.
    pub signals: Vec<SignalOut>,
}

/// `GET /ui/rules`: the signals of the engine in effect, with their weights after the
/// policy (read-only: rules live in rule-pack files, changed by a reload).
async fn rules(State(state): State<AppState>, caller: Caller) -> Result<Json<RulesOut>, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator])?;
    let engine = state.engine();
    let policy = engine.policy();
    let weight = |id: &str, default: f32| policy.weights.get(id).copied().unwrap_or(default);
    let mut signals: Vec<SignalOut> = chanrac_core::signal::BUILTIN
        .iter()
        .map(|s| SignalOut {
            id: s.id.to_string(),
            kind: "builtin",
            category: s.category.as_str(),
            topic: None,
            weight: weight(s.id, s.weight),
            default_weight: s.weight,
            description: s.meaning.to_string(),
            fires: Vec::new(),
            spares: Vec::new(),
        })
        .collect();
    signals.extend(engine.rules().rules().iter().map(|r| {
        SignalOut {
            id: r.id.to_string(),
            kind: "rule",
            category: r.topic.category().as_str(),
            topic: chanrac_core::rules::Topic::ALL
                .iter()
                .find(|(_, t)| *t == r.topic)
                .map(|(name, _)| *name),
            weight: weight(&r.id, r.weight),
            default_weight: r.weight,
            description: r.description.clone(),
            fires: r.fires.clone(),
            spares: r.spares.clone(),
        }
    }));
    let t = &policy.thresholds;
    Ok(Json(RulesOut {
        thresholds: [t.tag, t.quarantine, t.block],
        signals,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_assets_is_served_and_nothing_else() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = ASSETS.iter().map(|a| a.name.to_string()).collect();
        served.sort();
        assert_eq!(on_disk, served, "assets/ and the ASSETS table differ");
    }

    #[test]
    fn etags_are_quoted_hex_digests_that_differ_per_file() {
        let mut tags: Vec<&str> = ASSETS.iter().map(|a| a.etag).collect();
        for t in &tags {
            assert_eq!(t.len(), 18, "{t}");
            assert!(t.starts_with('"') && t.ends_with('"'), "{t}");
            assert!(t[1..17].bytes().all(|b| b.is_ascii_hexdigit()), "{t}");
        }
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
        // The FNV-1a test vectors.
        assert_eq!(&fnv1a(b""), b"\"cbf29ce484222325\"");
        assert_eq!(&fnv1a(b"a"), b"\"af63dc4c8601ec8c\"");
    }

    #[test]
    fn the_page_loads_only_files_that_are_served() {
        // Every `/ui/NAME` and `./NAME.js` the front end refers to is in the table, so a
        // renamed file cannot leave a page half-loaded.
        for a in ASSETS
            .iter()
            .filter(|a| a.name.ends_with(".js") || a.name.ends_with(".html"))
        {
            let text = std::str::from_utf8(a.body).unwrap();
            for (i, _) in text.match_indices("/ui/").chain(text.match_indices("./")) {
                let start = if text[i..].starts_with("/ui/") { i + 4 } else { i + 2 };
                let name: String = text[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.' || *c == '_')
                    .collect();
                if name.ends_with(".js") || name.ends_with(".css") || name.ends_with(".svg") {
                    assert!(
                        ASSETS.iter().any(|x| x.name == name),
                        "{} refers to {name}, which is not served",
                        a.name
                    );
                }
            }
        }
    }
}
