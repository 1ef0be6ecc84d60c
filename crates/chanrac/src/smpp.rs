//! `chanrac smpp-firewall`, `chanrac smsc-sim`, `chanrac smpp-load`: the SMPP firewall with
//! the engine as its filter, the SMSC simulator and the load generator.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use chanrac_core::{Action, Engine, Message, Scratch};
use chanrac_smpp::proxy::{Account, Decision, Filter, Firewall, FirewallConfig, SubmitContext};
use chanrac_smpp::{load, sim};
use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::EngineArgs;

/// Run the SMPP firewall.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  chanrac smsc-sim --listen 127.0.0.1:2776 --receipts &
  chanrac smpp-firewall --dev --listen 127.0.0.1:2775 --upstream 127.0.0.1:2776
  chanrac smpp-firewall --config chanrac-smpp.toml

ESMEs bind to --listen as if it were the SMSC. Every submit_sm / data_sm is checked (the parts
of a concatenated message together); what the engine allows or tags goes to the upstream
SMSC, what it blocks gets submit_sm_resp with --reject-status (0x45 ESME_RSUBMITFAIL), and
quarantined messages are acknowledged and held. Every verdict other than allow is written to
standard output as one JSON line. The config file is the [smpp] reference in docs/smpp.md.")]
pub struct FirewallArgs {
    /// A TOML file with an [smpp] section (accounts, upstream, windows, limits).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where ESMEs connect (default 127.0.0.1:2775, or the config's).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The SMSC, HOST:PORT (or the config's upstream.address).
    #[arg(long, value_name = "HOST:PORT")]
    upstream: Option<String>,
    /// The system_id the firewall binds to the SMSC with.
    #[arg(long)]
    upstream_system_id: Option<String>,
    /// The password the firewall binds to the SMSC with.
    #[arg(long)]
    upstream_password: Option<String>,
    /// Development mode: any system_id and password may bind.
    #[arg(long)]
    dev: bool,
    /// An account allowed to bind, SYSTEM_ID:PASSWORD[:MAX_TPS]. Repeatable.
    #[arg(long = "account", value_name = "ID:PASSWORD[:TPS]")]
    accounts: Vec<String>,
    /// The command_status of a blocked message (hex with 0x, or decimal).
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    reject_status: Option<u32>,
    /// What to do with a blocked message.
    #[arg(long, value_enum, default_value = "reject")]
    blocked: Blocked,
    #[command(flatten)]
    engine: EngineArgs,
}

/// What the firewall does with a message the engine blocks.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Blocked {
    /// Refuse it with the reject status.
    Reject,
    /// Acknowledge it, do not deliver it, and send an "undeliverable" receipt if asked.
    Drop,
}

fn parse_status(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("{s:?} is not a command_status (0x45 or 69)"))
}

/// The config file: only the `[smpp]` section is read here.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    smpp: FirewallConfig,
}

/// The engine as the firewall's filter; verdicts other than allow are written as JSON lines.
struct EngineFilter {
    engine: Engine,
    reject_status: u32,
    blocked: Blocked,
    log: Mutex<std::io::Stdout>,
}

#[derive(Serialize)]
struct Record<'a> {
    system_id: &'a str,
    session: u64,
    command: &'a str,
    sender: Option<&'a str>,
    recipient: Option<&'a str>,
    text: &'a str,
    parts: usize,
    incomplete: bool,
    coding: &'a str,
    unknown_coding: bool,
    decision: &'a str,
    verdict: &'a chanrac_core::Verdict,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Filter for EngineFilter {
    fn check(&self, ctx: &SubmitContext<'_>, msg: &Message) -> Decision {
        let verdict = SCRATCH.with(|s| self.engine.check_with(msg, &mut s.borrow_mut()));
        let decision = match verdict.action {
            Action::Allow => return Decision::Forward,
            Action::Tag => Decision::Tag,
            Action::Quarantine => Decision::Quarantine,
            Action::Block => match self.blocked {
                Blocked::Reject => Decision::Reject(self.reject_status),
                Blocked::Drop => Decision::Drop,
            },
        };
        let record = Record {
            system_id: ctx.system_id,
            session: ctx.session_id,
            command: ctx.command,
            sender: msg.sender.as_deref(),
            recipient: msg.recipient.as_deref(),
            text: &msg.text,
            parts: ctx.parts,
            incomplete: ctx.incomplete,
            coding: ctx.coding.name(),
            unknown_coding: ctx.unknown_coding,
            decision: match decision {
                Decision::Tag => "tag",
                Decision::Quarantine => "quarantine",
                Decision::Drop => "drop",
                _ => "reject",
            },
            verdict: &verdict,
        };
        if let Ok(line) = serde_json::to_string(&record) {
            let mut out = self.log.lock().expect("log lock");
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        decision
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    crate::init_logs();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn firewall(args: FirewallArgs) -> Result<ExitCode> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<ConfigFile>(&text)
                .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?
                .smpp
        }
        None => FirewallConfig::default(),
    };
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    if let Some(u) = args.upstream {
        cfg.upstream.address = u;
    }
    if let Some(s) = args.upstream_system_id {
        cfg.upstream.system_id = s;
    }
    if let Some(p) = args.upstream_password {
        cfg.upstream.password = p;
    }
    if let Some(s) = args.reject_status {
        cfg.reject_status = s;
    }
    cfg.dev_mode |= args.dev;
    for a in &args.accounts {
        let mut it = a.splitn(3, ':');
        let (Some(id), Some(pw)) = (it.next(), it.next()) else {
            anyhow::bail!("--account {a:?} is not SYSTEM_ID:PASSWORD[:MAX_TPS]");
        };
        let max_tps = it
            .next()
            .map(|t| {
                t.parse()
                    .with_context(|| format!("--account {a:?}: {t:?} is not a number"))
            })
            .transpose()?;
        cfg.accounts.push(Account {
            system_id: id.to_string(),
            password: pw.to_string(),
            max_tps,
        });
    }
    let filter = EngineFilter {
        engine: args.engine.build()?,
        reject_status: cfg.reject_status,
        blocked: args.blocked,
        log: Mutex::new(std::io::stdout()),
    };
    runtime()?.block_on(async move {
        let fw = Firewall::start(cfg.clone(), Arc::new(filter)).await?;
        eprintln!(
            "chanrac: SMPP firewall on {} → upstream {} ({} binds){}",
            fw.local_addr(),
            cfg.upstream.address,
            cfg.upstream.binds,
            if cfg.dev_mode {
                ", development mode: any account may bind"
            } else {
                ""
            }
        );
        shutdown_signal().await;
        eprintln!("chanrac: unbinding and stopping");
        let stats = fw.stats();
        fw.shutdown().await;
        eprintln!(
            "chanrac: {}",
            serde_json::to_string(&stats.snapshot()).unwrap_or_default()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Run the SMSC simulator.
#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  chanrac smsc-sim --listen 127.0.0.1:2776 --receipts

Accepts any bind; answers submit_sm, data_sm and submit_multi with a fresh message_id; with
--receipts sends a stat:DELIVRD delivery receipt for each submit_sm that asks for one.")]
pub struct SimArgs {
    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2776")]
    listen: String,
    /// Send delivery receipts.
    #[arg(long)]
    receipts: bool,
}

pub fn sim(args: SimArgs) -> Result<ExitCode> {
    runtime()?.block_on(async move {
        let s = sim::Smsc::start(sim::SimConfig {
            listen: args.listen.clone(),
            receipts: args.receipts,
            keep: 0,
        })
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
        eprintln!("chanrac: SMSC simulator on {}", s.local_addr());
        shutdown_signal().await;
        eprintln!("chanrac: {} submits accepted", s.submits());
        Ok(ExitCode::SUCCESS)
    })
}

/// Load an SMPP server.
#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  chanrac smpp-load --target 127.0.0.1:2775 --messages 300000 --window 100 --connections 4

Prints the throughput (responses per second) and the submit_sm → submit_sm_resp latency
percentiles; --json prints them as one JSON object.")]
pub struct LoadArgs {
    /// The server, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:2775")]
    target: String,
    /// Total submit_sm to send.
    #[arg(long, default_value_t = 100_000)]
    messages: u64,
    /// Outstanding submit_sm per connection.
    #[arg(long, default_value_t = 100)]
    window: usize,
    /// Parallel binds.
    #[arg(long, default_value_t = 2)]
    connections: usize,
    /// The system_id.
    #[arg(long, default_value = "load")]
    system_id: String,
    /// The password.
    #[arg(long, default_value = "load")]
    password: String,
    /// The message text.
    #[arg(
        long,
        default_value = "Hen gap ban luc 7h toi nay o quan cafe nhe, nho mang theo tai lieu"
    )]
    text: String,
    /// Send the texts of this file in turn instead (TSV with a `text` column, as in data/, or
    /// one text per line).
    #[arg(long, value_name = "FILE")]
    texts: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Send at this many submit_sm per second in total (default: as fast as the window allows).
    #[arg(long)]
    rate: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// The texts of a TSV file with a `text` column (or of a plain file, one per line).
fn read_texts(path: &std::path::Path) -> Result<Vec<String>> {
    let data = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = data.lines();
    let header: Vec<&str> = lines.clone().next().unwrap_or("").split('\t').collect();
    let column = header.iter().position(|h| *h == "text");
    if column.is_some() {
        lines.next();
    }
    let texts: Vec<String> = lines
        .filter_map(|l| l.split('\t').nth(column.unwrap_or(0)))
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string)
        .collect();
    anyhow::ensure!(!texts.is_empty(), "{} has no texts", path.display());
    Ok(texts)
}

pub fn load(args: LoadArgs) -> Result<ExitCode> {
    let texts = match &args.texts {
        Some(p) => read_texts(p)?,
        None => vec![args.text],
    };
    let cfg = load::LoadConfig {
        target: args.target,
        system_id: args.system_id,
        password: args.password,
        connections: args.connections,
        window: args.window,
        messages: args.messages,
        texts,
        timeout: Duration::from_secs(args.timeout),
        rate: args.rate,
    };
    let report = runtime()?.block_on(load::run(cfg))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} submit_sm in {:.2} s: {:.0}/s, {} ok, errors {:?}\nlatency µs: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            report.sent,
            report.seconds,
            report.per_second,
            report.ok,
            report.errors,
            report.p50_us,
            report.p90_us,
            report.p99_us,
            report.p999_us,
            report.max_us
        );
    }
    Ok(ExitCode::SUCCESS)
}
