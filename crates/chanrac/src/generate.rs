//! `chanrac gen traffic`: labeled synthetic traffic for tests and benchmarks.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chanrac_core::Policy;
use chanrac_traffic::{Corpus, EventKind, Generator, TrafficConfig};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::parse_time;

/// Generate test data.
#[derive(Debug, Args)]
pub struct GenArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Realistic mixed SMS traffic with injected campaigns, SIM farms and bursts, labeled.
    Traffic(TrafficArgs),
    /// Call detail records with injected spam callers of every kind, labeled.
    Calls(crate::calls::GenCallsArgs),
}

/// Generate traffic.
#[derive(Debug, Args)]
#[command(after_help = "\
Output: JSON Lines in time order, one message per line: id, received_at (RFC 3339, Vietnam
time), sender, recipient, text, label (ham, ad, spam, scam), event (`background` or the
injected event, such as `sim_farm-3`), over_threshold (injected messages: whether the event
had passed the policy's threshold for its signal), sim_activated_at (subscriber senders).

Background: personal messages between subscribers, drawn from the Vietnamese and English ham
of the data files, often several in a row to the same contact; brandname OTPs, notices and
properly labelled ads. Injected events (about 4% of messages): sim_farm (CAMPAIGN_BULK),
repeat (CAMPAIGN_REPEAT), burst (SENDER_BURST), flood (RECIPIENT_FLOOD), unrelated
(SENDER_UNRELATED), new_sim (NEW_SIM_BURST). The same seed gives the same file.

Examples:
  chanrac gen traffic --messages 100000 --seed 1 --out traffic.jsonl
  chanrac gen traffic --messages 1000 --seed 2 --out - | head
  chanrac scan traffic.jsonl --stateful")]
pub struct TrafficArgs {
    /// How many messages.
    #[arg(long, value_name = "N")]
    messages: usize,
    /// The seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// The output file; `-` for standard output.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The directory of the data files the texts come from (default: `data`, else the
    /// source tree's).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// When the traffic starts (RFC 3339 or Unix seconds); default 2026-11-22T00:00:00+07:00.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    start: Option<i64>,
    /// How long it lasts, in seconds (default one day).
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    duration: u32,
    /// How many subscribers send the background traffic (default: messages / 5).
    #[arg(long, value_name = "N")]
    subscribers: Option<usize>,
    /// The share of messages in injected events.
    #[arg(long, value_name = "F", default_value_t = 0.04)]
    injected_share: f64,
    /// The policy whose thresholds the `over_threshold` labels follow (default: built-in).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

pub fn run(args: GenArgs) -> Result<ExitCode> {
    match args.what {
        What::Traffic(a) => traffic(a),
        What::Calls(a) => crate::calls::generate(a),
    }
}

/// The data directory: as given, else `./data`, else the one of the source tree.
fn data_dir(given: Option<&Path>) -> PathBuf {
    if let Some(d) = given {
        return d.to_path_buf();
    }
    let here = PathBuf::from("data");
    if here.join("uci_sms_spam_collection_en.tsv").exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

fn traffic(a: TrafficArgs) -> Result<ExitCode> {
    if a.messages == 0 {
        bail!("--messages must be at least 1");
    }
    if !(0.0..=1.0).contains(&a.injected_share) {
        bail!("--injected-share must be between 0 and 1");
    }
    if a.duration < 60 {
        bail!("--duration must be at least 60 seconds");
    }
    let dir = data_dir(a.data.as_deref());
    let corpus = Corpus::load_dir(&dir).with_context(|| format!("cannot read the texts in {}", dir.display()))?;
    let policy = match &a.policy {
        Some(p) => Policy::load(p).context("cannot load the policy")?,
        None => Policy::default(),
    };
    let defaults = TrafficConfig::default();
    let config = TrafficConfig {
        messages: a.messages,
        seed: a.seed,
        start: a.start.unwrap_or(defaults.start),
        duration_secs: a.duration,
        subscribers: a.subscribers,
        injected_share: a.injected_share,
    };
    let mut out: Box<dyn Write> = if a.out.as_os_str() == "-" {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(
            File::create(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?,
        ))
    };
    let progress = if a.out.as_os_str() != "-" && std::io::stderr().is_terminal() {
        let pb = ProgressBar::new(a.messages as u64).with_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} [{bar:30}] {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_draw_target(ProgressDrawTarget::stderr_with_hz(5));
        pb
    } else {
        ProgressBar::hidden()
    };
    let mut injected = [0u64; EventKind::ALL.len()];
    let mut n = 0u64;
    for m in Generator::new(&config, &corpus, &policy) {
        if let Some(k) = EventKind::of_event(&m.event) {
            injected[k as usize] += 1;
        }
        serde_json::to_writer(&mut out, &m).context("cannot write the traffic")?;
        out.write_all(b"\n").context("cannot write the traffic")?;
        n += 1;
        if n.is_multiple_of(4096) {
            progress.set_position(n);
        }
    }
    out.flush().context("cannot write the traffic")?;
    progress.finish_and_clear();
    if a.out.as_os_str() != "-" {
        let total: u64 = injected.iter().sum();
        eprintln!(
            "{n} messages written to {} ({total} in injected events: {})",
            a.out.display(),
            EventKind::ALL
                .iter()
                .map(|k| format!("{} {}", k.as_str(), injected[*k as usize]))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
