//! chanrac-server: `chanrac serve`, the HTTP face of the firewall.
//!
//! [`run`] starts everything from a [`Config`]: the records store (SQLite by default,
//! PostgreSQL for several nodes), the engine (rules, policy, lists), the HTTP API under
//! `/v1/` ([`api`]), the web dashboard at `/` ([`dashboard`]), Prometheus metrics,
//! statistics flushed to the store, reload on
//! `POST /v1/reload`, SIGHUP or file changes, and a graceful stop on SIGTERM. [`router`]
//! builds the same routes for tests, which drive them without a socket.
//!
//! ```no_run
//! # async fn demo() -> Result<(), chanrac_server::ServerError> {
//! let config = chanrac_server::Config::load(None)?; // the defaults: 127.0.0.1:8080, ./data
//! chanrac_server::run(config, std::future::pending()).await
//! # }
//! ```
//!
//! Invariants: no request fails because of a reload (each request keeps the engine it
//! started with); a list change is acknowledged only once stored (and is then in effect on
//! this node); input errors are 4xx with a stable code, never 500; overload is 503 with
//! `Retry-After`, never an unbounded queue; the server refuses to start without API keys on
//! anything but a loopback address.

#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod calls;
pub mod campaigns;
pub mod config;
pub mod counters;
pub mod dashboard;
pub mod email;
pub mod error;
pub mod expiry;
pub mod feed;
pub mod hub;
pub mod keywords;
pub mod lookup;
pub mod metrics;
pub mod push;
pub mod report;
pub mod smpp;
pub mod state;
pub mod stats;
pub mod sync;
pub mod verdict_log;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use utoipa::OpenApi;

pub use config::Config;
pub use error::{ApiError, ServerError};
pub use state::AppState;

/// The OpenAPI document, generated from the handlers and types (so it cannot drift).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "chanrac",
        description = "chặn rác — the SMS anti-spam and anti-scam firewall. Every verdict explains itself: the reasons list each signal with its weight and evidence.",
        license(name = "Apache-2.0")
    ),
    paths(
        api::check, api::check_batch, api::lists, api::add_entry, api::remove_entry, api::audit,
        api::reload, api::stats, report::report, api::verdicts, api::healthz, api::readyz, api::metrics,
        smpp::list, smpp::decide, smpp::status,
        hub::post_mo, hub::post_report, hub::get_reports, hub::report_evidence, hub::report_evidence_file, hub::get_watchlist, hub::decide,
        hub::scrub, hub::dnc_request, hub::dnc_confirm, hub::dnc_number, hub::dnc_stats, hub::dnc_export, hub::dnc_import,
        hub::advertisers, hub::put_advertiser, hub::put_brandname, hub::put_advertiser_number, hub::post_ad_copy, hub::take_outbox,
        calls::batch, calls::suspects, calls::stats, calls::sms_counts, campaigns::campaigns,
        feed::feed, feed::key, lookup::lookup, lookup::batch, lookup::import, hub::post_finding,
        keywords::post_mine, keywords::get_proposals, keywords::decide, keywords::get_pack
    ),
    components(schemas(chanrac_core::Verdict, chanrac_core::Reason, chanrac_core::Action, chanrac_core::Category)),
    modifiers(&SecurityAddon),
    tags(
        (name = "check", description = "Check messages"),
        (name = "lists", description = "Allow and block lists, with the audit log"),
        (name = "stats", description = "Traffic statistics"),
        (name = "smpp", description = "The SMPP firewall: quarantine and binds"),
        (name = "hub", description = "The regulator's hub: the short-code line, spam reports, the watch list"),
        (name = "dnc", description = "The Do-Not-Call register"),
        (name = "advertisers", description = "Advertisers, brandnames and ad copies"),
        (name = "calls", description = "Spam and scam calls from call detail records"),
        (name = "feed", description = "The shared lists' signed change feed, for operators' nodes"),
        (name = "lookup", description = "Fraud lookup: phone numbers, links, bank accounts"),
        (name = "keywords", description = "Keyword mining over confirmed reports, the proposal queue, the rule pack of approved keywords"),
        (name = "admin", description = "Health, metrics, reload")
    )
)]
pub struct ApiDoc;

/// Declares the API-key scheme.
struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document as JSON.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

/// Every route, with the body limit and the in-flight limit.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.server.max_body_bytes;
    Router::new()
        .route("/v1/check", post(email::check))
        .route("/v1/check/batch", post(api::check_batch))
        .route("/v1/lists", get(api::lists))
        .route("/v1/lists/import", post(lookup::import))
        .route("/v1/lists/{side}/{kind}", post(api::add_entry))
        .route("/v1/lists/{side}/{kind}/{value}", delete(api::remove_entry))
        .route("/v1/audit", get(api::audit))
        .route("/v1/reload", post(api::reload))
        .route("/v1/stats", get(api::stats))
        .route("/v1/report", get(report::report))
        .route("/v1/verdicts", get(api::verdicts))
        .route("/v1/quarantine", get(smpp::list))
        .route("/v1/quarantine/{id}/{decision}", post(smpp::decide))
        .route("/v1/smpp", get(smpp::status))
        .route("/v1/mo", post(hub::post_mo))
        .route("/v1/reports", post(hub::post_report).get(hub::get_reports))
        .route("/v1/reports/{id}/evidence", get(hub::report_evidence))
        .route("/v1/reports/{id}/evidence/{file}", get(hub::report_evidence_file))
        .route("/v1/findings", post(hub::post_finding))
        .route("/v1/watchlist", get(hub::get_watchlist))
        .route("/v1/watchlist/{source}/{decision}", post(hub::decide))
        .route("/v1/dnc/scrub", post(hub::scrub))
        .route("/v1/dnc/requests", post(hub::dnc_request))
        .route("/v1/dnc/requests/{id}/confirm", post(hub::dnc_confirm))
        .route("/v1/dnc/numbers/{number}", get(hub::dnc_number))
        .route("/v1/dnc/stats", get(hub::dnc_stats))
        .route("/v1/dnc/export", get(hub::dnc_export))
        .route("/v1/dnc/import", post(hub::dnc_import))
        .route("/v1/advertisers", get(hub::advertisers).post(hub::put_advertiser))
        .route("/v1/advertisers/{code}/brandnames", post(hub::put_brandname))
        .route("/v1/advertisers/{code}/numbers", post(hub::put_advertiser_number))
        .route("/v1/ads/copies", post(hub::post_ad_copy))
        .route("/v1/outbox/take", post(hub::take_outbox))
        .route("/v1/calls/batch", post(calls::batch))
        .route("/v1/calls/sms-counts", post(calls::sms_counts))
        .route("/v1/campaigns", get(campaigns::campaigns))
        .route("/v1/calls/suspects", get(calls::suspects))
        .route("/v1/calls/stats", get(calls::stats))
        .route("/v1/feed", get(feed::feed))
        .route("/v1/feed/key", get(feed::key))
        .route("/v1/lookup", get(lookup::lookup))
        .route("/v1/lookup/batch", post(lookup::batch))
        .route("/v1/keywords/mine", post(keywords::post_mine))
        .route("/v1/keywords/proposals", get(keywords::get_proposals))
        .route("/v1/keywords/proposals/{id}/{decision}", post(keywords::decide))
        .route("/v1/keywords/pack", get(keywords::get_pack))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/openapi.json", get(openapi))
        .merge(dashboard::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), limit_in_flight))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

async fn openapi() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {} {}", req.method(), req.uri().path()))
}

/// Refuses requests beyond `server.max_in_flight` with 503 instead of queueing them, and
/// counts answers by status.
async fn limit_in_flight(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        state.metrics.overloaded.increment(1);
        return ApiError::overloaded().into_response();
    };
    let response = next.run(req).await;
    state.metrics.request(response.status().as_u16());
    response
}

/// Starts the server and runs it until `shutdown` completes (or SIGTERM / Ctrl-C), then
/// drains requests in flight and flushes the statistics.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
    let addr = config.server.http;
    if config.api_keys.is_empty() {
        if !addr.ip().is_loopback() {
            return Err(ServerError::Config(format!(
                "no API keys are configured: refusing to listen on {addr}, which is not a loopback address \
                 (add [[api_keys]] to the configuration, or listen on 127.0.0.1)"
            )));
        }
        tracing::warn!(%addr, "development mode: no API keys configured, every request is allowed");
    }
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| ServerError::Io {
        addr: addr.to_string(),
        source: e,
    })?;
    let state = AppState::new(config).await?;
    tracing::info!(
        %addr,
        store = state.records.backend(),
        counters = state.counters.name(),
        rules = state.engine().rules().rules().len(),
        lists_version = state.lists_version(),
        "chanrac serve is ready"
    );
    let mut outbox_task = None;
    if let Some(smpp_config) = state.config.smpp.clone() {
        let fw = smpp::start(state.clone(), smpp_config)
            .await
            .map_err(ServerError::Config)?;
        // The hub's outbox (one-time passwords) goes out over the firewall's upstream binds.
        let sender = fw.sender();
        state.set_smpp(fw);
        outbox_task = Some(tokio::spawn(hub::deliver_outbox(state.clone(), sender)));
    }
    let mut tasks = spawn_background(state.clone());
    tasks.extend(sync::spawn(&state).map_err(|e| ServerError::Config(format!("[sync]: {e}")))?);
    tasks.extend(push::spawn(&state).map_err(|e| ServerError::Config(format!("[sync]: {e}")))?);
    tasks.extend(keywords::spawn(&state));
    let grace = Duration::from_secs(state.config.server.shutdown_grace_secs);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = shutdown => {},
            _ = terminate() => {},
        }
        let _ = stop_tx.send(true);
    });
    let mut stop = stop_rx.clone();
    let serve = axum::serve(listener, router(state.clone())).with_graceful_shutdown(async move {
        let _ = stop.wait_for(|s| *s).await;
        tracing::info!("shutting down: draining requests in flight");
    });
    let mut stop2 = stop_rx;
    let result = tokio::select! {
        r = serve => r.map_err(|e| ServerError::Io { addr: addr.to_string(), source: e }),
        _ = async { let _ = stop2.wait_for(|s| *s).await; tokio::time::sleep(grace).await; } => {
            tracing::warn!("requests still in flight after the grace period; stopping anyway");
            Ok(())
        }
    };
    for t in tasks.into_iter().chain(outbox_task) {
        t.abort();
    }
    if let Some(fw) = state.take_smpp() {
        tracing::info!("unbinding the SMPP sessions");
        fw.shutdown().await;
    }
    if let Err(e) = state.stats.flush(&state.records).await {
        tracing::error!(error = %e, "could not flush the last statistics");
    }
    state.verdict_log.close(grace).await;
    let (counters, config) = (state.counters.clone(), state.config.clone());
    match tokio::task::spawn_blocking(move || counters.save(&config)).await {
        Ok(Err(e)) => tracing::error!(error = %e, "counters not saved"),
        Err(e) => tracing::error!(error = %e, "counters not saved"),
        Ok(Ok(())) => {}
    }
    result
}

/// SIGTERM or Ctrl-C.
async fn terminate() {
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Metrics upkeep, statistics flushes, list refreshes (store notifications and a poll),
/// SIGHUP and file watching.
fn spawn_background(state: AppState) -> Vec<tokio::task::JoinHandle<()>> {
    use chanrac_store::records::Records;
    let mut tasks = Vec::new();
    let st = state.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            st.metrics.upkeep();
            st.counters.publish();
            metrics::Metrics::verdict_log_pending(st.verdict_log.pending());
        }
    }));
    // DNC and advertiser register changes committed by other nodes sharing the store.
    let st = state.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            if let Err(e) = st.hub.catch_up(&st.records).await {
                tracing::warn!(error = %e, "DNC changes of other nodes not read; retrying");
            }
            match st.hub.refresh_ads(&st.records).await {
                Ok(true) => tracing::info!("advertiser register changed in the store: reloaded"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "advertiser register not refreshed; retrying"),
            }
        }
    }));
    // Expired embedded counters are dropped once a minute (eviction bounds them anyway).
    if let counters::ServerCounters::Embedded(_) = &state.counters {
        let st = state.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let (c, now) = (st.counters.clone(), time::OffsetDateTime::now_utc().unix_timestamp());
                let _ = tokio::task::spawn_blocking(move || c.sweep(now)).await;
            }
        }));
    }
    let st = state.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(st.config.server.stats_flush_secs.max(1)));
        let mut last_prune = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            tick.tick().await;
            if let Err(e) = st.stats.flush(&st.records).await {
                metrics::Metrics::store_error("add_stats");
                tracing::warn!(error = %e, "statistics not flushed; kept for the next try");
            }
            // The verdict log keeps `verdict_retention_days`; pruned once an hour.
            if last_prune.elapsed() >= Duration::from_secs(3600) {
                last_prune = std::time::Instant::now();
                let days = i64::from(st.config.server.verdict_retention_days);
                let before = time::OffsetDateTime::now_utc().unix_timestamp() - days * 86_400;
                if let Err(e) = st.records.prune_verdicts(before).await {
                    tracing::warn!(error = %e, "verdict log not pruned");
                }
            }
        }
    }));
    // Expired list entries become revocations (in the feed, out of the firewall).
    if state.config.server.expiry_sweep_secs > 0 {
        let st = state.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(st.config.server.expiry_sweep_secs));
            loop {
                tick.tick().await;
                let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
                if let Err(e) = expiry::sweep(&st.records, now).await {
                    metrics::Metrics::store_error("expiry_sweep");
                    tracing::warn!(error = %e, "expired list entries not revoked; retrying");
                }
            }
        }));
    }
    // Lists changed by this node or (through the store) by another.
    let st = state.clone();
    tasks.push(tokio::spawn(async move {
        let mut changes = st.records.changes();
        let mut poll = tokio::time::interval(Duration::from_secs(2));
        let mut last_lookup = std::time::Instant::now();
        loop {
            let notified = tokio::select! {
                r = changes.changed() => {
                    if r.is_err() {
                        changes = st.records.changes();
                    }
                    true
                }
                _ = poll.tick() => false,
            };
            let changed = match st.refresh_lists(false).await {
                Ok(changed) => changed,
                Err(e) => {
                    metrics::Metrics::store_error("refresh_lists");
                    tracing::warn!(error = %e, "lists not refreshed");
                    false
                }
            };
            // The lookup index follows the lists at once (a change notified here may already
            // be in effect: the endpoint that made it refreshed the lists itself) and the
            // reports every few seconds.
            if changed || notified || last_lookup.elapsed() >= Duration::from_secs(lookup::REFRESH_SECS) {
                last_lookup = std::time::Instant::now();
                if let Err(e) = st.lookup.rebuild(&st.records).await {
                    tracing::warn!(error = %e, "lookup index not rebuilt");
                }
            }
        }
    }));
    #[cfg(unix)]
    {
        let st = state.clone();
        tasks.push(tokio::spawn(async move {
            let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                reload_logged(&st, "SIGHUP").await;
            }
        }));
    }
    if state.config.engine.watch {
        let st = state;
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tick.tick().await;
                if st.files_changed() {
                    reload_logged(&st, "file change").await;
                }
            }
        }));
    }
    tasks
}

async fn reload_logged(state: &AppState, why: &str) {
    match state.reload_audited("system", why).await {
        Ok(r) => tracing::info!(
            trigger = why,
            rules = r.rules,
            list_entries = r.list_entries,
            "reloaded"
        ),
        Err(e) => tracing::error!(
            trigger = why,
            error = %e,
            "reload failed; the previous configuration stays in effect"
        ),
    }
}
