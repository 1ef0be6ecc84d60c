//! The server's shared state: the engine in effect (swapped whole on reload), the store,
//! the keys, statistics and metrics.
//!
//! A request takes the engine once ([`AppState::engine`]) and keeps that `Arc` to the end,
//! so a reload in the middle never changes the rules under it, and no request fails
//! because of a reload.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use chanrac_core::{Engine, ListKind, Lists, Policy, RuleSet};
use chanrac_store::records::{Actor, AnyRecords, Records, Side};

use crate::ServerError;
use crate::auth::Keys;
use crate::config::{Config, EngineSection};
use crate::counters::ServerCounters;
use crate::metrics::Metrics;
use crate::stats::Stats;

/// Everything a request handler needs: one `Arc` (axum clones the state several times per
/// request, so a clone is one atomic increment, not one per field). Its fields are
/// [`Shared`]'s.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    inner: Inner,
    /// The API keys.
    pub keys: Arc<Keys>,
    /// The records store.
    pub records: AnyRecords,
    /// The frequency and campaign counters.
    pub counters: ServerCounters,
    /// Statistics not yet flushed.
    pub stats: Arc<Stats>,
    /// The verdict log's queue and writer.
    pub verdict_log: Arc<crate::verdict_log::VerdictLog>,
    /// Metric handles.
    pub metrics: Arc<Metrics>,
    /// Requests in flight, bounded.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The hub: the DNC register in memory, the outbox.
    pub hub: Arc<crate::hub::HubState>,
    /// The call detector (`POST /v1/calls/batch`).
    pub calls: Arc<crate::calls::CallsState>,
    /// The feed's signing key (`<data_dir>/feed.key`).
    pub feed_key: Arc<crate::feed::FeedKey>,
    /// The fraud lookup's index and the public allowance.
    pub lookup: Arc<crate::lookup::LookupState>,
    /// Keyword mining: the ham baseline, one run at a time.
    pub keywords: Arc<crate::keywords::KeywordsState>,
    /// The SMPP firewall, when it runs.
    smpp: Arc<std::sync::Mutex<Option<chanrac_smpp::proxy::Firewall>>>,
}

struct Inner {
    engine: ArcSwap<Engine>,
    /// The lists version the engine in effect was built with.
    lists_version: AtomicI64,
    /// The version of the hub's keyword rule pack the engine in effect was built with (0:
    /// none).
    pack_version: AtomicI64,
    /// One reload or list refresh at a time.
    reloading: tokio::sync::Mutex<()>,
    /// Modification times of the engine's files at the last reload, for `engine.watch`.
    files: std::sync::Mutex<Vec<(PathBuf, Option<SystemTime>)>>,
}

/// What a reload did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReloadReport {
    /// Rules in effect.
    pub rules: usize,
    /// List entries in effect.
    pub list_entries: usize,
    /// The lists version in effect.
    pub lists_version: i64,
    /// List entries imported from the list files by this reload.
    pub imported: usize,
}

/// Opens the records store the configuration names (SQLite in the data directory by
/// default, or PostgreSQL).
pub async fn open_records(config: &Config) -> Result<AnyRecords, ServerError> {
    Ok(match config.store.records {
        crate::config::RecordsBackend::Sqlite => AnyRecords::Sqlite(
            chanrac_store::records::sqlite::SqliteRecords::open(&config.sqlite_path()).map_err(ServerError::Store)?,
        ),
        crate::config::RecordsBackend::Postgres => {
            let url = config.store.postgres_url.as_deref().unwrap_or_default();
            AnyRecords::Postgres(
                chanrac_store::records::postgres::PgRecords::connect(url)
                    .await
                    .map_err(ServerError::Store)?,
            )
        }
    })
}

impl AppState {
    /// Opens the store, imports the list files and builds the first engine.
    pub async fn new(config: Config) -> Result<AppState, ServerError> {
        let keys = Keys::new(&config.api_keys).map_err(ServerError::Config)?;
        let records = open_records(&config).await?;
        let counters = ServerCounters::open(&config).await.map_err(ServerError::Engine)?;
        let hub = crate::hub::HubState::load(&records)
            .await
            .map_err(ServerError::Engine)?;
        let feed_key = crate::feed::FeedKey::load_or_create(&config.server.data_dir).map_err(ServerError::Config)?;
        let engine_config = config.engine.clone();
        let velocity = counters.enabled();
        let base = tokio::task::spawn_blocking(move || build_engine(&engine_config, velocity))
            .await
            .map_err(|e| ServerError::Engine(e.to_string()))?
            .map_err(ServerError::Engine)?;
        let calls = crate::calls::CallsState::new(&config.calls).map_err(ServerError::Config)?;
        let verdict_log = Arc::new(crate::verdict_log::VerdictLog::start(
            records.clone(),
            config.server.log_verdicts,
            config.server.verdict_log_queue,
        ));
        let state = AppState(Arc::new(Shared {
            inner: Inner {
                engine: ArcSwap::from_pointee(base),
                lists_version: AtomicI64::new(-1),
                pack_version: AtomicI64::new(0),
                reloading: tokio::sync::Mutex::new(()),
                files: std::sync::Mutex::new(Vec::new()),
            },
            keys: Arc::new(keys),
            records,
            counters,
            stats: Arc::new(Stats::default()),
            verdict_log,
            metrics: Arc::new(Metrics::new()),
            in_flight: Arc::new(tokio::sync::Semaphore::new(config.server.max_in_flight)),
            config: Arc::new(config),
            hub: Arc::new(hub),
            calls: Arc::new(calls),
            feed_key: Arc::new(feed_key),
            lookup: Arc::default(),
            keywords: Arc::default(),
            smpp: Arc::new(std::sync::Mutex::new(None)),
        }));
        state.import_list_files().await.map_err(ServerError::Engine)?;
        state.refresh_lists(true).await.map_err(ServerError::Engine)?;
        state.remember_files();
        state
            .lookup
            .rebuild(&state.records)
            .await
            .map_err(ServerError::Engine)?;
        Ok(state)
    }

    /// Hands the running SMPP firewall to the state (for the quarantine and status
    /// endpoints, and the shutdown).
    pub fn set_smpp(&self, fw: chanrac_smpp::proxy::Firewall) {
        if let Ok(mut s) = self.smpp.lock() {
            *s = Some(fw);
        }
    }

    /// Takes the SMPP firewall back (to shut it down).
    pub fn take_smpp(&self) -> Option<chanrac_smpp::proxy::Firewall> {
        self.smpp.lock().ok().and_then(|mut s| s.take())
    }

    /// The SMPP firewall's quarantine, when it runs.
    pub fn quarantine(&self) -> Option<Arc<chanrac_smpp::proxy::Quarantine>> {
        self.smpp.lock().ok()?.as_ref().map(|f| f.quarantine())
    }

    /// The SMPP firewall's sessions, binds and counters, when it runs.
    pub fn smpp_status(&self) -> Option<serde_json::Value> {
        let guard = self.smpp.lock().ok()?;
        let fw = guard.as_ref()?;
        Some(serde_json::json!({
            "listen": fw.local_addr().to_string(),
            "sessions": fw.sessions(),
            "upstream_bound": fw.upstream_bound(),
            "upstream": self.config.smpp.as_ref().map(|c| c.upstream.address.clone()),
            "counters": serde_json::to_value(fw.stats().snapshot()).unwrap_or_default(),
        }))
    }

    /// The engine in effect. Keep the `Arc` for the whole request.
    pub fn engine(&self) -> Arc<Engine> {
        self.inner.engine.load_full()
    }

    /// Counts the messages a request checked: in the metrics (`chanrac_checks_total`) and
    /// in the statistics.
    pub fn merge_checks(&self, tally: crate::stats::Tally) {
        self.metrics.checked_grid(tally.checked());
        self.stats.merge(tally);
    }

    /// The lists version the engine in effect was built with.
    pub fn lists_version(&self) -> i64 {
        self.inner.lists_version.load(Ordering::Acquire)
    }

    /// The version of the hub's keyword rule pack the engine in effect was built with (0:
    /// none).
    pub fn pack_version(&self) -> i64 {
        self.inner.pack_version.load(Ordering::Acquire)
    }

    /// Builds an engine without lists from the files and the hub's keyword rule pack in the
    /// store (blocking part on the blocking pool); returns it with the pack's version.
    async fn build_with_pack(&self) -> Result<(Engine, i64), String> {
        let pack = self.records.rule_pack().await.map_err(|e| e.to_string())?;
        let version = pack.as_ref().map_or(0, |p| p.version);
        let source = pack
            .as_ref()
            .map(|p| (crate::keywords::pack_name(p), crate::keywords::pack_toml(p)));
        let engine_config = self.config.engine.clone();
        let velocity = self.counters.enabled();
        let engine = tokio::task::spawn_blocking(move || {
            let extra = source.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
            build_engine_with(&engine_config, velocity, extra)
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok((engine, version))
    }

    /// Rebuilds the engine from the files (rules, policy, list files), the hub's keyword
    /// rule pack and the store's lists, and swaps it in. On any error the engine in effect
    /// stays.
    pub async fn reload(&self) -> Result<ReloadReport, String> {
        let _one = self.inner.reloading.lock().await;
        let (base, pack_version) = self.build_with_pack().await?;
        let imported = self.import_list_files().await?;
        let (lists, version, entries) = self.store_lists().await?;
        let engine = base.with_lists(lists);
        let rules = engine.rules().rules().len();
        self.inner.engine.store(Arc::new(engine));
        self.inner.lists_version.store(version, Ordering::Release);
        self.inner.pack_version.store(pack_version, Ordering::Release);
        Metrics::lists(version, entries);
        self.remember_files();
        Ok(ReloadReport {
            rules,
            list_entries: entries,
            lists_version: version,
            imported,
        })
    }

    /// [`AppState::reload`], counted in the metrics and, when it worked, recorded in the
    /// audit log as done by `who` because of `why`.
    pub async fn reload_audited(&self, who: &str, why: &str) -> Result<ReloadReport, String> {
        let result = self.reload().await;
        Metrics::reload(result.is_ok());
        if result.is_ok() {
            let actor = Actor { name: who, reason: why };
            if let Err(e) = self.records.audit("reload", "rules, policy, lists", actor).await {
                tracing::warn!(error = %e, "reloaded, but the audit record was not written");
            }
        }
        result
    }

    /// Rebuilds the engine's lists from the store when its version moved (or always with
    /// `force`), keeping the compiled rules — unless the hub's keyword rule pack changed
    /// too (a `rules` change of the feed moves the lists version), in which case the rules
    /// are compiled again (from the configured rule files, like a reload) with the new pack.
    /// Rules that do not compile with it leave the rules in effect (logged as an `ALARM`);
    /// the lists are refreshed anyway.
    pub async fn refresh_lists(&self, force: bool) -> Result<bool, String> {
        let _one = self.inner.reloading.lock().await;
        let current = self.records.lists_version().await.map_err(|e| e.to_string())?;
        if !force && current == self.lists_version() {
            return Ok(false);
        }
        let (lists, version, entries) = self.store_lists().await?;
        let stored_pack = self
            .records
            .rule_pack()
            .await
            .map_err(|e| e.to_string())?
            .map_or(0, |p| p.version);
        let base = if stored_pack == self.pack_version() {
            self.engine()
        } else {
            match self.build_with_pack().await {
                Ok((engine, pack)) => {
                    self.inner.pack_version.store(pack, Ordering::Release);
                    tracing::info!(pack, "keyword rule pack in effect");
                    Arc::new(engine)
                }
                Err(e) => {
                    // Not retried until the next pack: the same pack fails the same way.
                    self.inner.pack_version.store(stored_pack, Ordering::Release);
                    tracing::error!(pack = stored_pack, error = %e, "ALARM: the rules do not compile with the new keyword rule pack (the error names the pack or file); the rules in effect stay");
                    self.engine()
                }
            }
        };
        let engine = base.with_lists(lists);
        self.inner.engine.store(Arc::new(engine));
        self.inner.lists_version.store(version, Ordering::Release);
        Metrics::lists(version, entries);
        tracing::info!(lists_version = version, entries, "lists in effect");
        Ok(true)
    }

    /// Reads every list entry from the store.
    async fn store_lists(&self) -> Result<(Lists, i64, usize), String> {
        // The version first: entries read after it are at least that new, so a change
        // racing with this read is picked up by the next refresh.
        let version = self.records.lists_version().await.map_err(|e| e.to_string())?;
        let entries = self.records.list_entries().await.map_err(|e| e.to_string())?;
        let mut lists = Lists::default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        // An expired entry stops applying at the first refresh after its expiry.
        for e in entries.iter().filter(|e| e.expires_at.is_none_or(|t| t > now)) {
            let set = match e.side {
                Side::Allow => &mut lists.allow,
                Side::Block => &mut lists.block,
            };
            set.add(e.kind, &e.value).map_err(|why| {
                format!(
                    "stored entry {}/{}/{} is invalid: {why}",
                    e.side.as_str(),
                    e.kind.name(),
                    e.value
                )
            })?;
        }
        Ok((lists, version, entries.len()))
    }

    /// Imports the entries of the configured list files into the store (idempotent).
    async fn import_list_files(&self) -> Result<usize, String> {
        let Some(dir) = self.config.engine.lists.clone() else {
            return Ok(0);
        };
        let files = tokio::task::spawn_blocking(move || read_list_files(&dir))
            .await
            .map_err(|e| e.to_string())??;
        let mut imported = 0;
        for (side, kind, path, entries) in files {
            let who = format!("file:{}", path.display());
            for value in entries {
                let actor = Actor {
                    name: &who,
                    reason: "imported from the list files",
                };
                let (_, new) = self
                    .records
                    .add_list_entry(side, kind, &value, actor)
                    .await
                    .map_err(|e| format!("{}: {value:?}: {e}", path.display()))?;
                imported += new as usize;
            }
        }
        Ok(imported)
    }

    /// Notes the modification times of the engine's files.
    fn remember_files(&self) {
        let snapshot = engine_files(&self.config.engine);
        if let Ok(mut f) = self.inner.files.lock() {
            *f = snapshot;
        }
    }

    /// True when one of the engine's files changed since the last reload.
    pub fn files_changed(&self) -> bool {
        let now = engine_files(&self.config.engine);
        self.inner.files.lock().map(|f| *f != now).unwrap_or(false)
    }
}

/// The files an engine is built from, with their modification times.
fn engine_files(c: &EngineSection) -> Vec<(PathBuf, Option<SystemTime>)> {
    let mut paths: Vec<PathBuf> = c.rules.clone();
    paths.extend(c.policy.clone());
    if !matches!(c.model.as_str(), "shipped" | "none") {
        paths.push(PathBuf::from(&c.model));
    }
    if let Some(dir) = &c.lists {
        for side in ["allow", "block"] {
            for (_, stem) in ListKind::ALL {
                paths.push(dir.join(side).join(format!("{stem}.txt")));
            }
        }
    }
    paths
        .into_iter()
        .map(|p| {
            let t = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
            (p, t)
        })
        .collect()
}

/// Builds an engine without lists from the rule packs and the policy (blocking: compiling
/// the keyword automaton takes a moment).
///
/// With `velocity`, the engine also runs the frequency, fan-out and campaign detectors
/// (the server has counters to feed them).
pub fn build_engine(c: &EngineSection, velocity: bool) -> Result<Engine, String> {
    build_engine_with(c, velocity, None)
}

/// [`build_engine`] with one more rule pack (a name and its TOML text): the hub's keywords.
pub fn build_engine_with(c: &EngineSection, velocity: bool, extra: Option<(&str, &str)>) -> Result<Engine, String> {
    if !c.default_rules && c.rules.is_empty() {
        return Err("engine.default_rules = false needs at least one file in engine.rules".into());
    }
    let rules = RuleSet::load_with(&c.rules, c.default_rules, extra.as_slice()).map_err(|e| e.to_string())?;
    let policy = match &c.policy {
        Some(p) => Policy::load(p).map_err(|e| e.to_string())?,
        None => Policy::default(),
    };
    let builder = Engine::builder().rules(rules).policy(policy);
    let builder = if velocity { builder.velocity() } else { builder };
    let builder = match c.model.as_str() {
        "shipped" => builder,
        "none" => builder.no_model(),
        path => {
            let bytes = std::fs::read(path).map_err(|e| format!("engine.model = {path:?}: {e}"))?;
            let model =
                chanrac_core::model::Model::from_bytes(&bytes).map_err(|e| format!("engine.model = {path:?}: {e}"))?;
            builder.model(Arc::new(model))
        }
    };
    builder.build().map_err(|e| e.to_string())
}

/// Reads the list files of a directory, validated (an invalid entry names its file and line).
type ListFile = (Side, ListKind, PathBuf, Vec<String>);

fn read_list_files(dir: &std::path::Path) -> Result<Vec<ListFile>, String> {
    // Validate the whole directory first with the core's loader, which names file and line.
    Lists::load_dir(dir).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (side_name, side) in [("allow", Side::Allow), ("block", Side::Block)] {
        for (kind, stem) in ListKind::ALL {
            let path = dir.join(side_name).join(format!("{stem}.txt"));
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let entries = text
                .lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            out.push((side, kind, path, entries));
        }
    }
    Ok(out)
}
