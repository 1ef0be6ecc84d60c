//! `chanrac calls`: spam and scam callers named from call detail records, and
//! `chanrac gen calls`: labeled synthetic records to try it on.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chanrac_calls::cdr::{CSV_HEADER, write_csv};
use chanrac_calls::{Accuracy, CallPolicy, CdrReader, Detector, Inputs, Number, Scorecard, Suspect, parse_number_list};
use chanrac_core::Lists;
use chanrac_traffic::calls::{CallGenerator, CallsConfig};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::parse_time;

/// Name the spam and scam callers in call detail records.
#[derive(Debug, Args)]
#[command(after_help = "\
Input: CSV with a header naming at least
  start_time,caller,displayed_number,callee,duration_s,answered,origin,operator
in any order (start_time RFC 3339, answered true/false, origin domestic, international or
voip; duration_s is the talk time of an answered call and the ringing time of an unanswered
one; other columns are ignored, except `label` in generated files), or JSON Lines with the
same fields. One record per line, in time order as a switch writes them. A line that cannot
be read is counted and reported with its line number; it never stops the run.

Output: the suspected numbers, highest score first, each with its category (robocall,
telemarketing, wangiri, spoofed, scam, sms_source), score and evidence; with --json, one
JSON object per suspect (number, category, score, evidence, calls_made, calls_received,
first_seen, last_seen, flagged_at). A summary goes to standard error: records, bad lines
(the first ones with their line numbers), suspects per category, throughput and, when the
file is labeled (a `label` column, as `chanrac gen calls` writes), precision and recall per
category.

Inputs from outside the records, all optional (one number per line, `#` comments):
--dnc (the Do-Not-Call list), --advertisers (registered advertisers: their calls are ad
calls), --roaming (subscribers abroad: not spoofed when their own number shows on an
international route), --sms-counts (CSV `number,sms_sent`: numbers sending many SMS but
making few calls), --lists (allow/block lists: an allowed caller is never suspected, a
blocked one always is); --inputs DIR reads dnc.txt, advertisers.txt, roaming.txt and
sms_counts.csv from DIR, as `chanrac gen calls --inputs DIR` writes them.

Thresholds and weights: --policy FILE (TOML; docs/calls.md, example config/calls.toml).

Examples:
  chanrac gen calls --records 1000000 --seed 1 --out calls.csv --inputs calls-inputs
  chanrac calls calls.csv --inputs calls-inputs
  chanrac calls calls.csv --inputs calls-inputs --json > suspects.jsonl
  zcat cdr-2026-11-22.csv.gz | chanrac calls - --dnc dnc.txt --policy config/calls.toml")]
pub struct CallsArgs {
    /// The call records (CSV or JSON Lines); `-` reads standard input.
    #[arg(value_name = "FILE")]
    input: PathBuf,
    /// One JSON object per suspect on standard output.
    #[arg(long)]
    json: bool,
    /// A policy file (TOML): thresholds, hours, weights. Built-in defaults otherwise.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// A directory with dnc.txt, advertisers.txt, roaming.txt, sms_counts.csv (each optional).
    #[arg(long, value_name = "DIR")]
    inputs: Option<PathBuf>,
    /// The Do-Not-Call list: one number per line.
    #[arg(long, value_name = "FILE")]
    dnc: Option<PathBuf>,
    /// Registered advertisers' numbers: one per line.
    #[arg(long, value_name = "FILE")]
    advertisers: Option<PathBuf>,
    /// Subscribers roaming abroad: one per line.
    #[arg(long, value_name = "FILE")]
    roaming: Option<PathBuf>,
    /// SMS sent per number, CSV `number,sms_sent`.
    #[arg(long, value_name = "FILE")]
    sms_counts: Option<PathBuf>,
    /// Allow and block lists (the directory `chanrac check --lists` reads).
    #[arg(long, value_name = "DIR")]
    lists: Option<PathBuf>,
    /// How many bad lines to list in the summary.
    #[arg(long, value_name = "N", default_value_t = 10)]
    show_bad: usize,
    /// Never show a progress bar (it is shown only on a terminal anyway).
    #[arg(long)]
    no_progress: bool,
}

/// Reads a list of numbers, one per line; a bad entry is an error naming the line.
fn read_numbers(path: &Path) -> Result<HashSet<Number>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_number_list(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Reads `number,sms_sent` lines (a header line is skipped).
fn read_sms_counts(path: &Path) -> Result<HashMap<Number, u64>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    chanrac_calls::parse_sms_counts(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

impl CallsArgs {
    fn inputs(&self) -> Result<Inputs> {
        let pick = |given: &Option<PathBuf>, name: &str| -> Option<PathBuf> {
            given
                .clone()
                .or_else(|| self.inputs.as_ref().map(|d| d.join(name)).filter(|p| p.exists()))
        };
        if let Some(d) = &self.inputs
            && !d.is_dir()
        {
            bail!("--inputs {}: not a directory", d.display());
        }
        let numbers = |p: Option<PathBuf>| p.map(|p| read_numbers(&p)).transpose().map(Option::unwrap_or_default);
        Ok(Inputs {
            lists: match &self.lists {
                Some(d) => Lists::load_dir(d).context("cannot load the lists")?,
                None => Lists::default(),
            },
            dnc: numbers(pick(&self.dnc, "dnc.txt"))?,
            advertisers: numbers(pick(&self.advertisers, "advertisers.txt"))?,
            roaming: numbers(pick(&self.roaming, "roaming.txt"))?,
            sms_sent: pick(&self.sms_counts, "sms_counts.csv")
                .map(|p| read_sms_counts(&p))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// Counts the bytes read, for the progress bar.
struct Counted<R> {
    inner: R,
    progress: ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Runs `chanrac calls`.
pub fn run(args: CallsArgs) -> Result<ExitCode> {
    let policy = match &args.policy {
        Some(p) => CallPolicy::load(p).context("cannot load the call policy")?,
        None => CallPolicy::default(),
    };
    let inputs = args.inputs()?;
    let stdin = args.input.as_os_str() == "-";
    let (source, size): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = File::open(&args.input).with_context(|| format!("cannot open {}", args.input.display()))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let progress = if !args.no_progress && std::io::stderr().is_terminal() {
        let style = match size {
            Some(_) => "{spinner} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec}, {eta} left",
            None => "{spinner} {bytes} read, {bytes_per_sec}",
        };
        ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr_with_hz(5)).with_style(
            ProgressStyle::with_template(style)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        )
    } else {
        ProgressBar::hidden()
    };
    let input = BufReader::with_capacity(
        1 << 16,
        Counted {
            inner: source,
            progress: progress.clone(),
        },
    );
    let started = Instant::now();
    let mut reader = CdrReader::new(input).max_bad_kept(args.show_bad.max(1));
    let mut detector = Detector::new(policy, inputs);
    let mut card = Scorecard::default();
    let name = args.input.display().to_string();
    while let Some(cdr) = reader.next_cdr().with_context(|| format!("cannot read {name}"))? {
        card.observe(&cdr);
        detector.push(&cdr);
    }
    let suspects = detector.suspects();
    let elapsed = started.elapsed();
    progress.finish_and_clear();

    let mut out = BufWriter::new(std::io::stdout().lock());
    if args.json {
        for s in &suspects {
            serde_json::to_writer(&mut out, s)?;
            out.write_all(b"\n")?;
        }
    } else {
        print_suspects(&mut out, &suspects)?;
    }
    out.flush()?;

    let mut err = std::io::stderr().lock();
    let records = reader.records();
    writeln!(
        err,
        "{records} records from {name} in {:.2} s ({:.0} records/s), {} numbers seen, {} suspected",
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64().max(1e-9),
        detector.tracked(),
        suspects.len()
    )?;
    let mut by_category: Vec<(&str, usize)> = chanrac_calls::CallCategory::ALL
        .iter()
        .map(|c| (c.as_str(), suspects.iter().filter(|s| s.category == *c).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    by_category.sort_by_key(|b| std::cmp::Reverse(b.1));
    if !by_category.is_empty() {
        let parts: Vec<String> = by_category.iter().map(|(c, n)| format!("{c} {n}")).collect();
        writeln!(err, "suspects: {}", parts.join(", "))?;
    }
    if reader.bad_count() > 0 {
        writeln!(err, "{} bad lines (skipped):", reader.bad_count())?;
        for b in reader.bad_lines().iter().take(args.show_bad) {
            writeln!(err, "  line {}: {}", b.line, b.reason)?;
        }
    }
    if card.is_labeled() {
        print_accuracy(&mut err, &card.score(&suspects))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_suspects(out: &mut impl Write, suspects: &[Suspect]) -> Result<()> {
    if suspects.is_empty() {
        writeln!(out, "no suspected numbers")?;
        return Ok(());
    }
    writeln!(out, "{:<16} {:<14} {:>6}  EVIDENCE", "NUMBER", "CATEGORY", "SCORE")?;
    for s in suspects {
        for (i, e) in s.evidence.iter().enumerate() {
            let head = if i == 0 {
                format!("{:<16} {:<14} {:>6.2}", s.number, s.category.as_str(), s.score)
            } else {
                " ".repeat(38)
            };
            writeln!(out, "{head}  {:+.1} {:<22} {}", e.weight, e.signal, e.detail)?;
        }
    }
    Ok(())
}

fn print_accuracy(err: &mut impl Write, a: &Accuracy) -> Result<()> {
    write!(
        err,
        "accuracy on {} labeled callers (a suspect is correct when its category is its label):\n{a}",
        a.callers
    )?;
    Ok(())
}

/// Generate call records.
#[derive(Debug, Args)]
#[command(after_help = "\
Output: CSV with the header
  start_time,caller,displayed_number,callee,duration_s,answered,origin,operator,label
in time order (RFC 3339 in Vietnam time), or JSON Lines with --format jsonl. `label` is the
caller's: ham, or the kind of unwanted caller it was injected as: robocall (junk SIMs with
autodialers), telemarketing (unregistered agents calling through lists with DNC numbers;
registered advertisers calling outside 08-17, DNC subscribers or one recipient twice),
wangiri (one-ring calls from abroad), spoofed (international routes showing Vietnamese
mobile numbers), scam (long conversations from VoIP or abroad), sms_source (SIMs sending
hundreds of SMS and making a call or two). Legitimate look-alikes are in the background:
delivery drivers, registered advertisers keeping the rules, subscribers roaming abroad,
relatives calling from abroad. The same seed gives the same file.

With --inputs DIR, also writes what `chanrac calls --inputs DIR` needs: dnc.txt,
advertisers.txt, roaming.txt and sms_counts.csv.

Examples:
  chanrac gen calls --records 1000000 --seed 1 --out calls.csv --inputs calls-inputs
  chanrac calls calls.csv --inputs calls-inputs")]
pub struct GenCallsArgs {
    /// How many records.
    #[arg(long, value_name = "N")]
    records: usize,
    /// The seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// The output file; `-` for standard output.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// csv or jsonl.
    #[arg(long, value_name = "FORMAT", default_value = "csv", value_parser = ["csv", "jsonl"])]
    format: String,
    /// Also write the DNC list, advertisers, roaming numbers and SMS counts here.
    #[arg(long, value_name = "DIR")]
    inputs: Option<PathBuf>,
    /// When the records start (RFC 3339 or Unix seconds); default 2026-11-22T00:00:00+07:00.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    start: Option<i64>,
    /// How long they last, in seconds (at least an hour; default one day).
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    duration: u32,
}

/// Runs `chanrac gen calls`.
pub fn generate(a: GenCallsArgs) -> Result<ExitCode> {
    if a.records == 0 {
        bail!("--records must be at least 1");
    }
    if a.duration < 3600 {
        bail!("--duration must be at least 3600 seconds");
    }
    let defaults = CallsConfig::default();
    let generator = CallGenerator::new(&CallsConfig {
        records: a.records,
        seed: a.seed,
        start: a.start.unwrap_or(defaults.start),
        duration_secs: a.duration,
    });
    if let Some(dir) = &a.inputs {
        write_inputs(dir, generator.world())?;
    }
    let to_stdout = a.out.as_os_str() == "-";
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(
            File::create(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?,
        ))
    };
    let json = a.format == "jsonl";
    if !json {
        writeln!(out, "{CSV_HEADER}").context("cannot write the records")?;
    }
    let mut line = String::with_capacity(160);
    let mut labels: HashMap<&'static str, HashSet<Number>> = HashMap::new();
    let mut n = 0u64;
    for c in generator {
        let operator = CallGenerator::operator(&c);
        line.clear();
        if json {
            let v = serde_json::json!({
                "start_time": chanrac_calls::cdr::rfc3339_vietnam(c.start),
                "caller": c.caller,
                "displayed_number": c.displayed,
                "callee": c.callee,
                "duration_s": c.duration_s,
                "answered": c.answered,
                "origin": c.origin,
                "operator": operator,
                "label": c.label.map(|l| l.as_str()),
            });
            line.push_str(&v.to_string());
            line.push('\n');
        } else {
            write_csv(&mut line, &c, operator);
        }
        out.write_all(line.as_bytes()).context("cannot write the records")?;
        if let Some(l) = c.label.filter(|l| *l != chanrac_calls::Label::Ham) {
            labels.entry(l.as_str()).or_default().insert(c.caller);
        }
        n += 1;
    }
    out.flush().context("cannot write the records")?;
    if !to_stdout {
        let mut kinds: Vec<String> = labels.iter().map(|(k, v)| format!("{k} {}", v.len())).collect();
        kinds.sort();
        eprintln!(
            "{n} records written to {} (injected callers: {})",
            a.out.display(),
            kinds.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write_inputs(dir: &Path, w: &chanrac_traffic::calls::CallWorld) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, text: String| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    let list = |nums: &[Number], what: &str| -> String {
        let mut s = format!("# {what}, generated by chanrac gen calls\n");
        for n in nums {
            s.push_str(&n.to_string());
            s.push('\n');
        }
        s
    };
    write("dnc.txt", list(&w.dnc, "The Do-Not-Call list"))?;
    write("advertisers.txt", list(&w.advertisers, "Registered advertisers"))?;
    write("roaming.txt", list(&w.roaming, "Subscribers roaming abroad"))?;
    let mut sms = String::from("number,sms_sent\n");
    for (n, c) in &w.sms {
        sms.push_str(&format!("{n},{c}\n"));
    }
    write("sms_counts.csv", sms)
}
