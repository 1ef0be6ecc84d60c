//! The configuration of `chanrac serve`: one TOML file, every key optional.
//!
//! The doc comments of these structs are the reference: `chanrac config docs` renders them
//! into `docs/config.md` (a test keeps the file current). An unknown key is an error naming
//! the file and line. Any value can also come from the environment: `CHANRAC_` followed by
//! the section and the key in capitals, joined by a double underscore
//! (`CHANRAC_SERVER__HTTP=0.0.0.0:8080`, `CHANRAC_STORE__POSTGRES_URL=…`); environment values
//! override the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ServerError;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The HTTP listener and its limits.
    pub server: ServerSection,
    /// What the filter is built from: rules, policy, lists. Reloaded by `POST /v1/reload`
    /// and SIGHUP.
    pub engine: EngineSection,
    /// Where records (list entries, audit log, statistics) are kept.
    pub store: StoreSection,
    /// API keys and their roles. With none, the server runs in development mode (no key
    /// needed), which it allows only on a loopback address.
    pub api_keys: Vec<ApiKey>,
    /// Spam and scam calls from call detail records (`POST /v1/calls/batch`, docs/calls.md).
    pub calls: CallsSection,
    /// The limits an e-mail on `POST /v1/check` is read within (docs/email.md).
    pub email: EmailSection,
    /// The SMPP firewall (ESMEs bind here, allowed messages go to the upstream SMSC): off
    /// unless this section is present or `--smpp` / `--upstream` are given. Its keys are
    /// the `[smpp]` reference in `docs/smpp.md`.
    #[serde(skip_serializing)]
    #[schema(value_type = Option<Object>)]
    pub smpp: Option<chanrac_smpp::proxy::FirewallConfig>,
    /// The regulator's hub: the short-code line (`POST /v1/mo`, SMPP), spam reports and
    /// their escalation, the Do-Not-Call register (docs/hub.md).
    pub hub: chanrac_hub::HubConfig,
    /// Pull the shared lists from a hub's signed feed (docs/feed.md): off unless present.
    #[schema(value_type = Option<Object>)]
    pub sync: Option<crate::sync::SyncConfig>,
    /// Keyword mining over the hub's confirmed reports, the proposal queue and the rule
    /// pack of approved keywords (docs/keywords.md).
    pub keywords: crate::keywords::KeywordsConfig,
}

/// The HTTP listener and its limits.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// The address to listen on.
    #[schema(value_type = String)]
    pub http: SocketAddr,
    /// The directory for the embedded store and other files.
    #[schema(value_type = String)]
    pub data_dir: PathBuf,
    /// The largest request body, in bytes (a batch of 10,000 messages is about 2 MB).
    pub max_body_bytes: usize,
    /// The most messages in one `POST /v1/check/batch`.
    pub max_batch: usize,
    /// Requests handled at once; more are refused with 503 and `Retry-After` instead of
    /// queueing without bound.
    pub max_in_flight: usize,
    /// Fraud lookups (`/v1/lookup`, each item of a batch counting one) a key with only
    /// the `public` role may make per minute.
    pub public_lookups_per_minute: u32,
    /// Seconds to let requests in flight finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Seconds between flushes of the statistics to the store.
    pub stats_flush_secs: u64,
    /// Which checked messages are kept in the verdict log (searched by `GET /v1/verdicts`,
    /// "why was this blocked"): `none`, `unwanted` (tagged, quarantined and blocked) or
    /// `all`.
    pub log_verdicts: LogVerdicts,
    /// Days the verdict log keeps a message.
    pub verdict_retention_days: u32,
    /// Seconds between sweeps that revoke list entries past their `expires_at` (audited as
    /// `expiry`, and sent to operators in the feed); 0 turns the sweeper off.
    pub expiry_sweep_secs: u64,
    /// Verdict log entries that may wait to be written. Entries are written after the answer,
    /// by one task that commits everything waiting in one transaction; when this many are
    /// waiting (the store is down or slower than the traffic) new ones are dropped and
    /// counted in `chanrac_verdict_log_dropped_total`, so that checks never wait for the log.
    pub verdict_log_queue: usize,
}

/// Which checked messages go to the verdict log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogVerdicts {
    /// None.
    None,
    /// Tagged, quarantined and blocked messages.
    Unwanted,
    /// Every message.
    All,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            max_body_bytes: 16 * 1024 * 1024,
            max_batch: 10_000,
            max_in_flight: 1024,
            public_lookups_per_minute: 60,
            shutdown_grace_secs: 10,
            stats_flush_secs: 5,
            log_verdicts: LogVerdicts::Unwanted,
            verdict_retention_days: 30,
            expiry_sweep_secs: 60,
            verdict_log_queue: 100_000,
        }
    }
}

/// Spam and scam calls: the call detector fed by `POST /v1/calls/batch` (docs/calls.md).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CallsSection {
    /// A call policy file (thresholds, hours, weights; example `config/calls.toml`); the
    /// built-in call policy when absent.
    #[schema(value_type = Option<String>)]
    pub policy: Option<PathBuf>,
    /// The Do-Not-Call list for ad calls: one number per line.
    #[schema(value_type = Option<String>)]
    pub dnc: Option<PathBuf>,
    /// Registered advertisers' numbers (their calls are ad calls): one per line.
    #[schema(value_type = Option<String>)]
    pub advertisers: Option<PathBuf>,
    /// Subscribers roaming abroad (their own number on an international route is not
    /// spoofed): one per line.
    #[schema(value_type = Option<String>)]
    pub roaming: Option<PathBuf>,
    /// SMS sent per number over the period (CSV `number,sms_sent`, as the SMSC's statistics
    /// give them), read at start for `SMS_MANY_CALLS_FEW`; `POST /v1/calls/sms-counts`
    /// replaces or adds to them while running.
    #[schema(value_type = Option<String>)]
    pub sms_counts: Option<PathBuf>,
    /// The most records in one `POST /v1/calls/batch` (and counts in one
    /// `POST /v1/calls/sms-counts`).
    pub max_batch: usize,
    /// Add suspects to the block list (senders), with an audit record naming the evidence,
    /// so that the SMS filter and every node sharing the lists block them.
    pub block_suspects: bool,
    /// The score from which a suspect is added to the block list.
    pub block_min_score: f64,
}

impl Default for CallsSection {
    fn default() -> Self {
        CallsSection {
            policy: None,
            dnc: None,
            advertisers: None,
            roaming: None,
            sms_counts: None,
            max_batch: 10_000,
            block_suspects: false,
            block_min_score: 10.0,
        }
    }
}

/// The limits an e-mail is read within: past each, the reader stops and says so with a signal
/// (docs/email.md, "MIME bombs and hostile input"). The body limit `server.max_body_bytes`
/// comes first: an e-mail larger than it is refused with 413.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSection {
    /// The most bytes of an e-mail read; past it, `EMAIL_TRUNCATED` and the rest is skipped.
    pub max_bytes: usize,
    /// The most MIME parts; more is `EMAIL_MIME_BOMB` and the message is cut before the next one.
    pub max_parts: usize,
    /// The deepest nesting of parts whose text is read; deeper is `EMAIL_MIME_BOMB`.
    pub max_depth: usize,
    /// The largest text or HTML part read; larger is `EMAIL_MIME_BOMB`, its start is read.
    pub max_part_bytes: usize,
}

impl Default for EmailSection {
    fn default() -> Self {
        let d = chanrac_mail::Limits::default();
        EmailSection {
            max_bytes: d.max_bytes,
            max_parts: d.max_parts,
            max_depth: d.max_depth,
            max_part_bytes: d.max_text_part,
        }
    }
}

impl EmailSection {
    /// The reader's limits.
    pub fn limits(&self) -> chanrac_mail::Limits {
        chanrac_mail::Limits {
            max_bytes: self.max_bytes,
            max_parts: self.max_parts,
            max_depth: self.max_depth,
            max_text_part: self.max_part_bytes,
            ..chanrac_mail::Limits::default()
        }
    }
}

/// What the filter is built from.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// Use the built-in rule pack.
    pub default_rules: bool,
    /// Extra rule packs (TOML), added to the built-in one (`docs/rules.md`).
    #[schema(value_type = Vec<String>)]
    pub rules: Vec<PathBuf>,
    /// A policy file (`docs/policy.md`); the built-in policy when absent.
    #[schema(value_type = Option<String>)]
    pub policy: Option<PathBuf>,
    /// A directory of list files (`docs/lists.md`), imported into the store at start and
    /// on reload. Entries added through the API live in the store only.
    #[schema(value_type = Option<String>)]
    pub lists: Option<PathBuf>,
    /// The statistical classifier: `"shipped"` (the model compiled into chanrac, the
    /// default), `"none"`, or the path of a model file written by `chanrac train`.
    pub model: String,
    /// Reload by itself when a rule pack, the policy, a list file or the model file changes
    /// (checked every two seconds).
    pub watch: bool,
}

impl Default for EngineSection {
    fn default() -> Self {
        EngineSection {
            default_rules: true,
            rules: Vec::new(),
            policy: None,
            lists: None,
            model: "shipped".to_string(),
            watch: false,
        }
    }
}

/// Which records backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordsBackend {
    /// One SQLite file in the data directory.
    #[default]
    Sqlite,
    /// PostgreSQL (several nodes share it).
    Postgres,
}

/// Where the frequency and campaign counters live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CountersBackend {
    /// In this process (the default): bounded, sharded, snapshotted at shutdown.
    #[default]
    Embedded,
    /// In Redis: every node counts the same senders and campaigns.
    Redis,
    /// No counters: the frequency, fan-out and campaign detectors do not run.
    None,
}

/// Where records and counters are kept.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// `sqlite` (embedded, the default) or `postgres`.
    pub records: RecordsBackend,
    /// The SQLite file; `<data_dir>/chanrac.db` when absent.
    #[schema(value_type = Option<String>)]
    pub sqlite_path: Option<PathBuf>,
    /// The PostgreSQL address (`postgres://user@host/db` or `host=… user=… dbname=…`),
    /// required with `records = "postgres"`.
    pub postgres_url: Option<String>,
    /// The frequency and campaign counters (`SENDER_BURST`, `CAMPAIGN_BULK`, …; see
    /// docs/velocity.md): `embedded` (in this process, the default), `redis` (shared by
    /// every node) or `none`.
    pub counters: CountersBackend,
    /// The most keys the embedded counters hold; the least recently touched are evicted
    /// beyond (a tracked sender takes one key of about 100–200 bytes).
    pub counters_max_keys: usize,
    /// Save the embedded counters to `<data_dir>/counters.snapshot` at shutdown and load
    /// them at start, so a restart does not forget who was sending.
    pub counters_snapshot: bool,
    /// The Redis server of `counters = "redis"` (`redis://host:6379`, `redis://:password@host/2`).
    pub redis_url: String,
    /// Prefix of every counter key in Redis.
    pub redis_prefix: String,
    /// The longest a counter call may take, in milliseconds, before the message is judged
    /// without the counters (`DETECTOR_FAILED`, or the policy's `velocity.on_state_failure`).
    pub redis_timeout_ms: u64,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            records: RecordsBackend::default(),
            sqlite_path: None,
            postgres_url: None,
            counters: CountersBackend::default(),
            counters_max_keys: 8_000_000,
            counters_snapshot: true,
            redis_url: "redis://127.0.0.1:6379".into(),
            redis_prefix: "chanrac:".into(),
            redis_timeout_ms: 50,
        }
    }
}

/// The roles an API key may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An operator's engineers: check messages, manage lists, reload, read statistics.
    Operator,
    /// The regulator's analysts: everything an operator may do.
    Regulator,
    /// An advertiser: its own brandnames and ad copies.
    Advertiser,
    /// A bank: fraud lookups.
    Bank,
    /// Anyone: public lookups, rate-limited.
    Public,
}

/// One API key.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// A name for the key's holder, recorded in the audit log.
    pub name: String,
    /// The key itself (a long random string). Prefer `key_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The name of an environment variable that holds the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// What the key may do.
    pub roles: Vec<Role>,
}

impl Config {
    /// Reads a configuration file, then applies `CHANRAC_…` environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Config, ServerError> {
        let (name, text) = match path {
            Some(p) => (
                p.display().to_string(),
                std::fs::read_to_string(p)
                    .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", p.display())))?,
            ),
            None => ("<defaults>".to_string(), String::new()),
        };
        Self::from_toml(&name, &text, std::env::vars())
    }

    /// Parses a configuration with the given environment (for tests).
    pub fn from_toml(
        name: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ServerError> {
        // The file alone first, so that its errors carry a line and column.
        let from_file: Config = toml::from_str(text).map_err(|e| config_error(name, text, &e))?;
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| config_error(name, text, &e))?;
        let mut overridden = false;
        for (k, v) in env {
            let Some(path) = k.strip_prefix("CHANRAC_") else {
                continue;
            };
            let Some((section, key)) = path.split_once("__") else {
                continue;
            };
            let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
            // A value that parses as TOML (a number, a boolean, an array) is taken as such;
            // anything else is a string.
            let value = toml::from_str::<toml::Table>(&format!("v = {v}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(v));
            doc.entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| ServerError::Config(format!("{k}: {path} is not a section")))?
                .insert(key, value);
            overridden = true;
        }
        let config: Config = if overridden {
            doc.try_into().map_err(|e: toml::de::Error| {
                ServerError::Config(format!(
                    "{name} with the CHANRAC_ environment overrides: {}",
                    e.message().trim_end_matches('.')
                ))
            })?
        } else {
            from_file
        };
        config.validate(name)?;
        Ok(config)
    }

    fn validate(&self, name: &str) -> Result<(), ServerError> {
        self.hub
            .validate()
            .map_err(|e| ServerError::Config(format!("{name}: {e}")))?;
        self.keywords
            .validate()
            .map_err(|e| ServerError::Config(format!("{name}: {e}")))?;
        let e = &self.email;
        if e.max_bytes < 1024 || e.max_part_bytes < 1024 || e.max_parts == 0 || e.max_depth == 0 {
            return Err(ServerError::Config(format!(
                "{name}: email.max_bytes and email.max_part_bytes must be at least 1024, email.max_parts and email.max_depth positive"
            )));
        }
        let s = &self.server;
        if s.max_batch == 0 || s.max_in_flight == 0 || s.max_body_bytes < 1024 {
            return Err(ServerError::Config(format!(
                "{name}: server.max_batch and server.max_in_flight must be positive and max_body_bytes at least 1024"
            )));
        }
        if self.store.records == RecordsBackend::Postgres && self.store.postgres_url.is_none() {
            return Err(ServerError::Config(format!(
                "{name}: store.records = \"postgres\" needs store.postgres_url"
            )));
        }
        if self.store.counters_max_keys < 1024 || self.store.redis_timeout_ms == 0 {
            return Err(ServerError::Config(format!(
                "{name}: store.counters_max_keys must be at least 1024 and store.redis_timeout_ms positive"
            )));
        }
        for k in &self.api_keys {
            if k.key.is_none() == k.key_env.is_none() {
                return Err(ServerError::Config(format!(
                    "{name}: API key {:?} needs exactly one of `key` and `key_env`",
                    k.name
                )));
            }
            if k.roles.is_empty() {
                return Err(ServerError::Config(format!(
                    "{name}: API key {:?} has no roles",
                    k.name
                )));
            }
        }
        Ok(())
    }

    /// The SQLite file the embedded store uses.
    pub fn sqlite_path(&self) -> PathBuf {
        self.store
            .sqlite_path
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("chanrac.db"))
    }
}

/// A TOML error with the file, line and column.
fn config_error(name: &str, text: &str, e: &toml::de::Error) -> ServerError {
    let offset = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ServerError::Config(format!("{name}:{line}:{column}: {}", e.message().trim_end_matches('.')))
}

/// Renders the configuration reference (`docs/config.md`) from the doc comments of the
/// configuration structs and the built-in defaults.
pub fn reference() -> String {
    use utoipa::PartialSchema;
    use utoipa::openapi::{RefOr, Schema};

    let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated by `chanrac config docs` from the doc comments in \
         crates/chanrac-server/src/config.rs; do not edit by hand. -->\n\n\
         `chanrac serve --config FILE` reads one TOML file; every key is optional and an unknown \
         key is an error naming the file and line. `chanrac config check FILE` validates a file \
         without starting anything. Any key can also be set in the environment as \
         `CHANRAC_<SECTION>__<KEY>` (for example `CHANRAC_SERVER__HTTP=0.0.0.0:8080`), which \
         overrides the file.\n",
    );
    let RefOr::T(Schema::Object(root)) = Config::schema() else {
        return out;
    };
    let described = |r: &RefOr<Schema>| match r {
        RefOr::T(Schema::Object(o)) => o.description.clone(),
        RefOr::T(Schema::Array(a)) => a.description.clone(),
        // An enum field is `oneOf: [{$ref, description}]`.
        RefOr::T(Schema::OneOf(o)) => o.items.iter().find_map(|i| match i {
            RefOr::Ref(r) if !r.description.is_empty() => Some(r.description.clone()),
            _ => None,
        }),
        _ => None,
    };
    for (section, prop) in &root.properties {
        let _ = prop;
        let fields = match section.as_str() {
            "server" => ServerSection::schema(),
            "engine" => EngineSection::schema(),
            "store" => StoreSection::schema(),
            "hub" => chanrac_hub::HubConfig::schema(),
            "calls" => CallsSection::schema(),
            "sync" => crate::sync::SyncConfig::schema(),
            "keywords" => crate::keywords::KeywordsConfig::schema(),
            "api_keys" => ApiKey::schema(),
            // `[smpp]` is described below, from its own reference.
            _ => continue,
        };
        let RefOr::T(Schema::Object(obj)) = fields else {
            continue;
        };
        let heading = if section == "api_keys" {
            "[[api_keys]]".to_string()
        } else {
            format!("[{section}]")
        };
        out.push_str(&format!(
            "\n## `{heading}`\n\n{}\n",
            obj.description.as_deref().unwrap_or_default().trim()
        ));
        if section == "api_keys" {
            out.push_str(
                "\n```toml\n[[api_keys]]\nname = \"noc-hanoi\"\nkey_env = \"CHANRAC_KEY_NOC\"\nroles = [\"operator\"]\n```\n",
            );
        }
        out.push_str("\n| key | default | meaning |\n|---|---|---|\n");
        let section_defaults = defaults.get(section).and_then(|v| v.as_table());
        for (key, schema) in &obj.properties {
            let default = section_defaults
                .and_then(|t| t.get(key))
                .map_or("—".to_string(), |v| format!("`{v}`"));
            let doc = described(schema).unwrap_or_default().replace('\n', " ");
            out.push_str(&format!("| `{key}` | {default} | {} |\n", doc.trim()));
        }
    }
    out.push_str(
        "\n## `[smpp]`\n\nThe SMPP firewall: ESMEs bind to `listen` as if it were the SMSC; every \
         `submit_sm` is checked by the engine in effect and allowed messages go to \
         `upstream.address`. Off unless the section is present (or `chanrac serve --smpp ADDR \
         --upstream HOST:PORT`). Every key, with its default, is in [smpp.md](smpp.md). In \
         development mode (no API keys, loopback) any `system_id` and password may bind.\n",
    );
    out.push_str(
        "\nRoles: `operator` and `regulator` may check messages, read and change lists, read \
         statistics and the audit log, and reload; `advertiser`, `bank` and `public` are for the \
         hub's endpoints.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ServerError> {
        Config::from_toml(
            "chanrac.toml",
            text,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn no_file_means_defaults() {
        let c = parse("", &[]).unwrap();
        assert_eq!(c.server.http.to_string(), "127.0.0.1:8080");
        assert!(c.api_keys.is_empty());
        assert_eq!(c.sqlite_path(), PathBuf::from("data/chanrac.db"));
    }

    #[test]
    fn unknown_keys_name_file_and_line() {
        let err = parse("[server]\nhttp = \"127.0.0.1:9000\"\nmax_bach = 3\n", &[]).unwrap_err();
        assert!(err.to_string().contains("chanrac.toml:3:1"), "{err}");
        assert!(err.to_string().contains("max_bach"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let c = parse(
            "[server]\nhttp = \"127.0.0.1:9000\"\n",
            &[
                ("CHANRAC_SERVER__HTTP", "0.0.0.0:8088"),
                ("CHANRAC_SERVER__MAX_BATCH", "500"),
                ("CHANRAC_STORE__RECORDS", "postgres"),
                ("CHANRAC_STORE__POSTGRES_URL", "host=127.0.0.1 user=postgres"),
                ("HOME", "/root"),
            ],
        )
        .unwrap();
        assert_eq!(c.server.http.to_string(), "0.0.0.0:8088");
        assert_eq!(c.server.max_batch, 500);
        assert_eq!(c.store.records, RecordsBackend::Postgres);
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        assert!(parse("[store]\nrecords = \"postgres\"\n", &[]).is_err());
        assert!(parse("[[api_keys]]\nname = \"x\"\nroles = [\"operator\"]\n", &[]).is_err());
        assert!(parse("[[api_keys]]\nname = \"x\"\nkey = \"k\"\nroles = []\n", &[]).is_err());
        assert!(parse("[[api_keys]]\nname = \"x\"\nkey = \"k\"\nroles = [\"root\"]\n", &[]).is_err());
        assert!(parse("[server]\nmax_batch = 0\n", &[]).is_err());
    }

    #[test]
    fn the_example_configuration_parses() {
        let text = include_str!("../../../config/chanrac.toml");
        parse(text, &[]).unwrap();
    }

    /// `docs/config.md` is what `chanrac config docs` renders.
    #[test]
    fn the_reference_is_current() {
        let want = reference();
        let have = include_str!("../../../docs/config.md");
        assert!(
            have == want,
            "docs/config.md is out of date: run `cargo run -- config docs > docs/config.md`"
        );
    }
}
