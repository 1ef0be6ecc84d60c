//! `chanrac`: the command line of the chanrac SMS firewall.

mod calls;
mod check;
mod generate;
mod hub;
mod input;
mod keywords;
mod mail;
mod model;
mod replay;
mod report;
mod scan;
mod serve;
mod smpp;
mod sync;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chanrac_core::{Engine, Lists, Policy, RuleSet};
use clap::{Args, Parser, Subcommand};

/// mimalloc rather than the system's malloc: the server and the scanner allocate a few
/// small buffers per message on every thread (measured in docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// chặn rác — block the spam: an SMS anti-spam and anti-scam firewall for mobile networks.
///
/// chanrac reads each message's text, sender and time, folds away the tricks spammers use
/// (V.A.Y T1ỀN → vay tien), extracts links, phone numbers, bank accounts and amounts,
/// runs keyword rules, allow/block lists and advertising rules, and decides: allow, tag,
/// quarantine or block, with every reason and its evidence.
#[derive(Debug, Parser)]
#[command(name = "chanrac", version, max_term_width = 100)]
#[command(after_help = "\
Examples:
  chanrac serve                                   # HTTP API on 127.0.0.1:8080
  chanrac check --sender 0912345678 \"Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz\"
  chanrac check --json \"V.A.Y T1ỀN nhanh, lãi 0%, giải ngân 5 phút, LH 0987.654.321\"
  chanrac scan data/vi_smishing_ie403_part_a.tsv --out verdicts.jsonl
  chanrac eval --data data/vi_smishing_ie403_part_a.tsv --cv 5 --json
  chanrac gen traffic --messages 100000 --seed 1 --out traffic.jsonl
  chanrac scan traffic.jsonl --stateful
  chanrac keywords --spam reported.tsv --ham baseline.tsv --holdout 0.3 --out-rules mined.toml
  chanrac check --email message.eml               # an e-mail (RFC 5322 / MIME)
  chanrac scan mailbox.mbox                       # every e-mail of an mbox (or --format eml-dir DIR)
  chanrac hub watchlist                           # the regulator's hub, through the server
  chanrac gen calls --records 1000000 --seed 1 --out calls.csv --inputs calls-inputs
  chanrac calls calls.csv --inputs calls-inputs
  chanrac report --quarter 2026Q3 --format html --out q3.html   # the ministry's report

Docs: README.md, docs/signals.md (every signal), docs/rules.md (rule packs), docs/policy.md,\ndocs/model.md (the classifier), docs/email.md (e-mail).")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the firewall's HTTP API (the product's main command).
    Serve(serve::ServeArgs),
    /// Validate a configuration file, or print the configuration reference.
    Config(serve::ConfigArgs),
    /// Check one message and explain the verdict.
    Check(check::CheckArgs),
    /// Check every message of a TSV, CSV or JSON Lines file and summarize; with
    /// --stateful, also count frequencies, fan-out and campaigns (replay).
    Scan(scan::ScanArgs),
    /// Train the statistical classifier on labeled files and write a model file.
    Train(model::TrainArgs),
    /// Measure the classifier: the shipped model, a model file, or K-fold cross-validation.
    Eval(model::EvalArgs),
    /// Run an SMPP firewall in front of an SMSC (temporary: moves under `serve --smpp`).
    SmppFirewall(smpp::FirewallArgs),
    /// Run a small SMSC simulator (acknowledges submits, optionally sends receipts).
    SmscSim(smpp::SimArgs),
    /// Load an SMPP server with submit_sm and measure throughput and latency.
    SmppLoad(smpp::LoadArgs),
    /// Generate test data.
    Gen(generate::GenArgs),
    /// Mine the keywords that mark spam against a ham baseline; measure what they add.
    Keywords(keywords::KeywordsArgs),
    /// The regulator's hub, through a running server: reports and the watch list,
    /// the Do-Not-Call register (import, export, scrub a file), advertisers.
    Hub(hub::HubArgs),
    /// Name the spam and scam callers in call detail records (CSV or JSON Lines).
    Calls(calls::CallsArgs),
    /// Print the hub's feed public key (hex), making the signing key in the data directory
    /// if it has none yet. Give it to operators for their `[sync] hub_public_key`.
    FeedKey(FeedKeyArgs),
    /// The ministry's report over a period (quarter, half year or dates): messages and calls
    /// checked and blocked, top sources, reports, DNC, ad violations, trends (md, html, csv,
    /// json), read from the node's store.
    Report(report::ReportArgs),
    /// Follow a hub's signed list feed into this node's store (or `[sync]` in `serve`'s
    /// configuration): verify each page, apply it with its cursor, never twice.
    Sync(sync::SyncArgs),
}

/// `chanrac feed-key`.
#[derive(Debug, Args)]
pub struct FeedKeyArgs {
    /// The hub's data directory (`server.data_dir`), where `feed.key` lives.
    #[arg(long, value_name = "DIR", default_value = "data")]
    data_dir: std::path::PathBuf,
}

/// Where the engine's configuration comes from; shared by every command that checks messages.
#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// An extra rule pack (TOML), added to the built-in pack. Repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Leave out the built-in rule pack (use only the --rules files).
    #[arg(long)]
    pub no_default_rules: bool,
    /// A policy file (TOML): thresholds, weight overrides, ad hours. Built-in defaults otherwise.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A directory of allow/block lists (allow/senders.txt, block/domains.txt, …).
    #[arg(long, value_name = "DIR")]
    pub lists: Option<PathBuf>,
    /// A model file (`chanrac train`) instead of the shipped statistical classifier.
    #[arg(long, value_name = "FILE", conflicts_with = "no_model")]
    pub model: Option<PathBuf>,
    /// Leave out the statistical classifier (MODEL_SPAM and MODEL_SCAM never fire).
    #[arg(long)]
    pub no_model: bool,
}

impl EngineArgs {
    /// Builds the engine, with errors that name the file and line.
    pub fn build(&self) -> Result<Engine> {
        self.build_with(false)
    }

    /// Builds the engine, with the velocity detector when `stateful`.
    pub fn build_with(&self, stateful: bool) -> Result<Engine> {
        self.assemble(stateful, None)
    }

    /// Builds the engine with one more rule pack, given as (name, TOML text).
    pub fn build_with_pack(&self, extra: Option<(&str, &str)>) -> Result<Engine> {
        self.assemble(false, extra)
    }

    fn assemble(&self, stateful: bool, extra: Option<(&str, &str)>) -> Result<Engine> {
        if self.no_default_rules && self.rules.is_empty() && extra.is_none() {
            anyhow::bail!("--no-default-rules needs at least one --rules FILE");
        }
        let rules = RuleSet::load_with(&self.rules, !self.no_default_rules, extra.as_slice())
            .context("cannot load the rule packs")?;
        let policy = match &self.policy {
            Some(p) => Policy::load(p).context("cannot load the policy")?,
            None => Policy::default(),
        };
        let lists = match &self.lists {
            Some(d) => Lists::load_dir(d).context("cannot load the lists")?,
            None => Lists::default(),
        };
        let mut builder = Engine::builder().rules(rules).policy(policy).lists(lists);
        if self.no_model {
            builder = builder.no_model();
        } else if let Some(path) = &self.model {
            builder = builder.model(std::sync::Arc::new(model::load_model(path)?));
        }
        if stateful {
            builder = builder.velocity();
        }
        Ok(builder.build()?)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Config(args) => serve::config(args),
        Command::Check(args) => check::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Train(args) => model::run_train(args),
        Command::Eval(args) => model::run_eval(args),
        Command::SmppFirewall(args) => smpp::firewall(args),
        Command::SmscSim(args) => smpp::sim(args),
        Command::SmppLoad(args) => smpp::load(args),
        Command::Gen(args) => generate::run(args),
        Command::Keywords(args) => keywords::run(args),
        Command::Hub(args) => hub::run(args),
        Command::Calls(args) => calls::run(args),
        Command::Sync(args) => sync::run(args),
        Command::Report(args) => report::run(args),
        Command::FeedKey(args) => chanrac_server::feed::FeedKey::load_or_create(&args.data_dir)
            .map(|k| {
                println!("{}", k.public_hex());
                ExitCode::SUCCESS
            })
            .map_err(anyhow::Error::msg),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`chanrac scan … | head`) is not an error worth a message.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("chanrac: error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

/// Logs to standard error; `CHANRAC_LOG=debug` shows more, `CHANRAC_LOG=warn` less.
pub fn init_logs() {
    let level = match std::env::var("CHANRAC_LOG").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("warn") => tracing::Level::WARN,
        Ok("error") => tracing::Level::ERROR,
        Ok("trace") => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Parses an RFC 3339 time (`2026-11-22T21:30:00+07:00`) or Unix seconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("{s:?} is not an RFC 3339 time such as 2026-11-22T21:30:00+07:00 ({e})"))
}
