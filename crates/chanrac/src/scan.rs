//! `chanrac scan`: every message of a file, in parallel, in order, in flat memory.
//!
//! The main thread reads batches of rows and hands them to worker threads through a bounded
//! channel; a writer thread puts the results back in input order. Memory stays flat because
//! the channels are bounded: at most a few batches per worker are in flight, whatever the
//! size of the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use chanrac_core::{Action, Category, Message, Metadata, Origin, Scratch, Verdict};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::replay::{EventTally, RowState, StateArgs, StateStage, StateSummary};
use crate::{EngineArgs, parse_time};

/// Rows per batch handed to a worker.
const BATCH: usize = 512;

/// Check every message of a file.
#[derive(Debug, Args)]
#[command(after_help = "\
Input: TSV, CSV or JSON Lines with a header naming at least `text`; optional columns `label`
(ham, ad, spam, scam), `sender`, `recipient`, `received_at` (RFC 3339 or Unix seconds),
`sim_activated_at` (when the sender's SIM was activated), `origin` (domestic or
international), and, in generated traffic (`chanrac gen traffic`), `event` (the injected
event a message belongs to, or `background`) and `over_threshold`.
The format comes from the file name (.tsv, .csv, .jsonl) or, for `-` (standard input), from
the first line.

Output: with --out, one JSON verdict per line in input order, each with its `line` number
and the fields of `check --json`. At the end a summary: counts per action and category and,
when the file has labels, the confusion matrix and precision, recall and false-positive rate
for unwanted (spam or scam) messages. A message counts as predicted unwanted when its
category is spam or scam, that is when its score reached the tag threshold.

With --stateful, chanrac also keeps the frequency, fan-out and campaign counters (the
velocity detector, docs/velocity.md) while it reads, in process or in Redis (--redis URL):
the windows follow each line's `received_at`, so a day of traffic replays as it happened and
the verdicts say what would have been blocked and when. Lines out of order are counted at
each counter's latest time; a line stamped more than --max-jump seconds after the replay
clock is counted at the clock (unless 8 lines in a row agree that time moved on); lines
without a time are counted at the clock. The summary then adds the counters' figures and,
when the file has an `event` column, how many messages of each kind of event were flagged.

Examples:
  chanrac scan data/vi_smishing_ie403_part_a.tsv
  chanrac scan traffic.jsonl --out verdicts.jsonl --jobs 2
  chanrac gen traffic --messages 100000 --seed 1 --out traffic.jsonl
  chanrac scan traffic.jsonl --stateful
  chanrac scan traffic.jsonl --stateful --redis redis://127.0.0.1:6379
  zcat day.tsv.gz | chanrac scan - --format tsv --json")]
pub struct ScanArgs {
    /// The input file; `-` reads standard input.
    #[arg(value_name = "FILE")]
    input: PathBuf,
    /// Write one JSON verdict per line here (`-` for standard output, which moves the
    /// summary to standard error).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The input format (default: from the file name, else from the first line).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Skip rows that are not valid UTF-8 or have a bad field, and count them, instead of
    /// stopping with an error naming the line.
    #[arg(long)]
    skip_invalid: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Never show a progress bar (it is shown only on a terminal anyway).
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    state: StateArgs,
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Tab-separated, no quoting (a tab inside a text is not possible).
    Tsv,
    /// Comma-separated with RFC 4180 quoting.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// One input row.
#[derive(Debug)]
pub struct Row {
    line: u64,
    label: Option<Category>,
    /// The message.
    pub msg: Message,
    /// The injected event it belongs to (generated traffic), or `background`.
    event: Option<String>,
    /// Whether that event had passed its threshold.
    over_threshold: Option<bool>,
    /// The counters' plan and values (with --stateful).
    pub state: Option<RowState>,
}

/// One output line.
#[derive(Serialize)]
struct OutLine<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(flatten)]
    verdict: &'a Verdict,
}

/// Counts gathered by workers and merged by the writer.
#[derive(Debug, Default, Clone)]
struct Tally {
    rows: u64,
    actions: [u64; 4],
    categories: [u64; 4],
    /// confusion[label][predicted category]
    confusion: [[u64; 4]; 4],
    labeled: u64,
    events: EventTally,
}

impl Tally {
    fn add(&mut self, row: &Row, v: &Verdict) {
        let label = row.label;
        if let Some(e) = &row.event {
            self.events.add(e, row.over_threshold, v);
        }
        self.rows += 1;
        self.actions[v.action as usize] += 1;
        self.categories[v.category as usize] += 1;
        if let Some(l) = label {
            self.labeled += 1;
            self.confusion[l as usize][v.category as usize] += 1;
        }
    }

    fn merge(&mut self, o: &Tally) {
        self.events.merge(&o.events);
        self.rows += o.rows;
        self.labeled += o.labeled;
        for i in 0..4 {
            self.actions[i] += o.actions[i];
            self.categories[i] += o.categories[i];
            for j in 0..4 {
                self.confusion[i][j] += o.confusion[i][j];
            }
        }
    }
}

pub fn run(args: ScanArgs) -> Result<ExitCode> {
    let engine = args.engine.build_with(args.state.stateful)?;
    let mut stage = if args.state.stateful {
        Some(StateStage::new(&args.state)?)
    } else {
        None
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let name = args.input.display().to_string();
    let (reader, size): (Box<dyn Read + Send>, Option<u64>) = if args.input.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = File::open(&args.input).with_context(|| format!("cannot open {name}"))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let format = match args.format.or_else(|| format_from_name(&args.input)) {
        Some(f) => f,
        None => sniff(&mut reader).with_context(|| format!("cannot read {name}"))?,
    };

    let progress = if !args.no_progress && std::io::stderr().is_terminal() {
        let pb = match size {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:30}] {per_sec} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner(),
        };
        pb.set_draw_target(ProgressDrawTarget::stderr_with_hz(5));
        pb
    } else {
        ProgressBar::hidden()
    };

    let out: Option<Box<dyn Write + Send>> = match &args.out {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(Box::new(BufWriter::new(std::io::stdout()))),
        Some(p) => Some(Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
    };
    let summary_to_stderr = args.out.as_deref().is_some_and(|p| p.as_os_str() == "-");

    let started = Instant::now();
    let (job_tx, job_rx) = crossbeam_channel::bounded::<(u64, Vec<Row>)>(jobs * 2);
    let (res_tx, res_rx) = crossbeam_channel::bounded::<(u64, String, Tally)>(jobs * 2);
    let engine = &engine;
    let write_out = out.is_some();

    let (read_result, write_result) = std::thread::scope(|scope| {
        for _ in 0..jobs {
            let job_rx = job_rx.clone();
            let res_tx = res_tx.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                for (seq, rows) in job_rx {
                    let mut tally = Tally::default();
                    let mut buf = String::new();
                    for row in rows {
                        let v = match &row.state {
                            Some(st) => engine.check_with_state(&row.msg, &mut scratch, &st.plan, st.values.as_deref()),
                            None => engine.check_with(&row.msg, &mut scratch),
                        };
                        tally.add(&row, &v);
                        if write_out {
                            let line = OutLine {
                                line: row.line,
                                label: row.label,
                                event: row.event.as_deref(),
                                verdict: &v,
                            };
                            // Serializing plain data into a String cannot fail.
                            if let Ok(s) = serde_json::to_string(&line) {
                                buf.push_str(&s);
                                buf.push('\n');
                            }
                        }
                    }
                    if res_tx.send((seq, buf, tally)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(job_rx);
        drop(res_tx);

        let writer = scope.spawn(move || -> Result<Tally> {
            let mut out = out;
            let mut total = Tally::default();
            let mut pending: BTreeMap<u64, (String, Tally)> = BTreeMap::new();
            let mut next = 0u64;
            for (seq, buf, tally) in res_rx {
                pending.insert(seq, (buf, tally));
                while let Some((buf, tally)) = pending.remove(&next) {
                    if let Some(o) = out.as_mut() {
                        o.write_all(buf.as_bytes()).context("cannot write the verdicts")?;
                    }
                    total.merge(&tally);
                    next += 1;
                }
            }
            if let Some(o) = out.as_mut() {
                o.flush().context("cannot write the verdicts")?;
            }
            Ok(total)
        });

        let stage = &mut stage;
        let read_result = read_rows(reader, format, &name, args.skip_invalid, &progress, |seq, mut rows| {
            if let Some(stage) = stage.as_mut() {
                stage.process(engine, &mut rows);
            }
            job_tx.send((seq, rows)).map_err(|_| anyhow!("the workers stopped"))
        });
        drop(job_tx);
        let write_result = writer
            .join()
            .unwrap_or_else(|_| Err(anyhow!("the writer thread panicked")));
        (read_result, write_result)
    });
    progress.finish_and_clear();
    let skipped = read_result?;
    let tally = write_result?;
    let seconds = started.elapsed().as_secs_f64();

    let state = stage.map(StateStage::finish).transpose()?;
    let summary = Summary::new(&tally, skipped, seconds, jobs, state);
    let mut sink: Box<dyn Write> = if summary_to_stderr {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    if args.json {
        serde_json::to_writer_pretty(&mut sink, &summary)?;
        writeln!(sink)?;
    } else {
        summary.write_human(&mut sink)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn format_from_name(p: &Path) -> Option<Format> {
    match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "tsv" | "tab" => Some(Format::Tsv),
        "csv" => Some(Format::Csv),
        "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
        _ => None,
    }
}

/// Guesses the format from the first line without consuming it.
fn sniff(r: &mut BufReader<Box<dyn Read + Send>>) -> std::io::Result<Format> {
    let buf = r.fill_buf()?;
    let first = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    Ok(if first.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        Format::Jsonl
    } else if first.contains(&b'\t') {
        Format::Tsv
    } else {
        Format::Csv
    })
}

/// Column positions from a header.
struct Columns {
    text: usize,
    label: Option<usize>,
    sender: Option<usize>,
    recipient: Option<usize>,
    received_at: Option<usize>,
    sim_activated_at: Option<usize>,
    origin: Option<usize>,
    event: Option<usize>,
    over_threshold: Option<usize>,
}

impl Columns {
    fn from_header(name: &str, header: &[&str]) -> Result<Columns> {
        let find = |col: &str| {
            header
                .iter()
                .position(|h| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(col))
        };
        let text = find("text").ok_or_else(|| {
            anyhow!(
                "{name}:1: the header has no `text` column (found: {}); the first line must name the columns",
                header.join(", ")
            )
        })?;
        Ok(Columns {
            text,
            label: find("label"),
            sender: find("sender"),
            recipient: find("recipient"),
            received_at: find("received_at"),
            sim_activated_at: find("sim_activated_at"),
            origin: find("origin"),
            event: find("event"),
            over_threshold: find("over_threshold"),
        })
    }
}

/// The optional fields of a row, as strings.
#[derive(Default)]
struct Fields<'a> {
    label: Option<&'a str>,
    sender: Option<&'a str>,
    recipient: Option<&'a str>,
    received_at: Option<&'a str>,
    sim_activated_at: Option<&'a str>,
    origin: Option<&'a str>,
    event: Option<&'a str>,
    over_threshold: Option<&'a str>,
}

/// Builds a row from string fields; an error message says what is wrong.
fn make_row(line: u64, text: &str, f: Fields<'_>) -> Result<Row, String> {
    fn trimmed(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    let label = match trimmed(f.label) {
        None => None,
        Some(l) => {
            Some(Category::parse(l).ok_or_else(|| format!("unknown label {l:?} (expected ham, ad, spam or scam)"))?)
        }
    };
    let time = |s: Option<&str>| trimmed(s).map(parse_time).transpose();
    let origin = match trimmed(f.origin).map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("domestic") => Some(Origin::Domestic),
        Some("international") => Some(Origin::International),
        Some(o) => return Err(format!("unknown origin {o:?} (expected domestic or international)")),
    };
    let over_threshold = match trimmed(f.over_threshold) {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(o) => return Err(format!("over_threshold must be true or false, not {o:?}")),
    };
    let owned = |s: Option<&str>| trimmed(s).map(str::to_string);
    Ok(Row {
        line,
        label,
        msg: Message {
            sender: owned(f.sender),
            recipient: owned(f.recipient),
            text: text.to_string(),
            received_at: time(f.received_at)?,
            meta: Metadata {
                origin,
                sim_activated_at: time(f.sim_activated_at)?,
                ..Default::default()
            },
            ..Default::default()
        },
        event: owned(f.event),
        over_threshold,
        state: None,
    })
}

/// Reads all rows, sending batches to `send`; returns the number of skipped rows.
fn read_rows(
    reader: BufReader<Box<dyn Read + Send>>,
    format: Format,
    name: &str,
    skip_invalid: bool,
    progress: &ProgressBar,
    mut send: impl FnMut(u64, Vec<Row>) -> Result<()>,
) -> Result<u64> {
    let mut skipped = 0u64;
    let mut seq = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    let bad = |line: u64, why: String, skipped: &mut u64| -> Result<()> {
        if skip_invalid {
            *skipped += 1;
            Ok(())
        } else {
            bail!("{name}:{line}: {why} (use --skip-invalid to skip such rows)")
        }
    };
    let mut flush = |batch: &mut Vec<Row>, seq: &mut u64| -> Result<()> {
        if !batch.is_empty() {
            send(*seq, std::mem::replace(batch, Vec::with_capacity(BATCH)))?;
            *seq += 1;
        }
        Ok(())
    };
    match format {
        Format::Tsv | Format::Csv => {
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
                .quoting(format == Format::Csv)
                .has_headers(false)
                .flexible(true)
                .from_reader(reader);
            let mut record = csv::ByteRecord::new();
            let mut columns: Option<Columns> = None;
            loop {
                let more = rdr.read_byte_record(&mut record).map_err(|e| {
                    let line = e.position().map_or(0, |p| p.line());
                    anyhow!("{name}:{line}: {e}")
                })?;
                if !more {
                    break;
                }
                let line = record.position().map_or(0, |p| p.line());
                let fields: Result<Vec<&str>, usize> = record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| std::str::from_utf8(f).map_err(|_| i))
                    .collect();
                let Some(cols) = &columns else {
                    let fields = fields
                        .map_err(|i| anyhow!("{name}:{line}: column {} of the header is not valid UTF-8", i + 1))?;
                    columns = Some(Columns::from_header(name, &fields)?);
                    continue;
                };
                let fields = match fields {
                    Ok(f) => f,
                    Err(i) => {
                        bad(line, format!("field {} is not valid UTF-8", i + 1), &mut skipped)?;
                        continue;
                    }
                };
                if fields.len() == 1 && fields[0].is_empty() {
                    continue; // a blank line
                }
                let get = |i: Option<usize>| i.and_then(|i| fields.get(i).copied());
                let Some(text) = fields.get(cols.text) else {
                    bad(
                        line,
                        format!(
                            "the row has {} fields but `text` is field {}",
                            fields.len(),
                            cols.text + 1
                        ),
                        &mut skipped,
                    )?;
                    continue;
                };
                let fields = Fields {
                    label: get(cols.label),
                    sender: get(cols.sender),
                    recipient: get(cols.recipient),
                    received_at: get(cols.received_at),
                    sim_activated_at: get(cols.sim_activated_at),
                    origin: get(cols.origin),
                    event: get(cols.event),
                    over_threshold: get(cols.over_threshold),
                };
                match make_row(line, text, fields) {
                    Ok(row) => batch.push(row),
                    Err(why) => bad(line, why, &mut skipped)?,
                }
                if batch.len() == BATCH {
                    progress.set_position(record.position().map_or(0, |p| p.byte()));
                    flush(&mut batch, &mut seq)?;
                }
            }
        }
        Format::Jsonl => {
            let mut reader = reader;
            let mut buf = Vec::new();
            let mut line = 0u64;
            let mut bytes = 0u64;
            loop {
                buf.clear();
                let n = reader
                    .read_until(b'\n', &mut buf)
                    .with_context(|| format!("cannot read {name}"))?;
                if n == 0 {
                    break;
                }
                line += 1;
                bytes += n as u64;
                let Ok(s) = std::str::from_utf8(&buf) else {
                    bad(line, "the line is not valid UTF-8".into(), &mut skipped)?;
                    continue;
                };
                if s.trim().is_empty() {
                    continue;
                }
                match parse_json_row(line, s) {
                    Ok(row) => batch.push(row),
                    Err(why) => bad(line, why, &mut skipped)?,
                }
                if batch.len() == BATCH {
                    progress.set_position(bytes);
                    flush(&mut batch, &mut seq)?;
                }
            }
        }
    }
    flush(&mut batch, &mut seq)?;
    Ok(skipped)
}

fn parse_json_row(line: u64, s: &str) -> Result<Row, String> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = v.as_object().ok_or("the line is not a JSON object")?;
    let field = |k: &'static str| -> Result<Option<String>, String> {
        match obj.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(serde_json::Value::Number(n)) if k.ends_with("_at") => Ok(Some(n.to_string())),
            Some(serde_json::Value::Bool(b)) if k == "over_threshold" => Ok(Some(b.to_string())),
            Some(other) => Err(format!("`{k}` must be a string, not {other}")),
        }
    };
    let text = field("text")?.ok_or("the object has no `text`")?;
    let [
        label,
        sender,
        recipient,
        received_at,
        sim_activated_at,
        origin,
        event,
        over_threshold,
    ] = [
        field("label")?,
        field("sender")?,
        field("recipient")?,
        field("received_at")?,
        field("sim_activated_at")?,
        field("origin")?,
        field("event")?,
        field("over_threshold")?,
    ];
    make_row(
        line,
        &text,
        Fields {
            label: label.as_deref(),
            sender: sender.as_deref(),
            recipient: recipient.as_deref(),
            received_at: received_at.as_deref(),
            sim_activated_at: sim_activated_at.as_deref(),
            origin: origin.as_deref(),
            event: event.as_deref(),
            over_threshold: over_threshold.as_deref(),
        },
    )
}

/// The end-of-scan summary.
#[derive(Debug, Serialize)]
struct Summary {
    rows: u64,
    skipped: u64,
    seconds: f64,
    messages_per_second: f64,
    jobs: usize,
    actions: BTreeMap<&'static str, u64>,
    categories: BTreeMap<&'static str, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<LabelStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<StateSummary>,
}

/// Figures against the file's labels.
#[derive(Debug, Serialize)]
struct LabelStats {
    labeled: u64,
    /// Rows: the labels present; columns: the predicted categories (ham, ad, spam, scam).
    confusion: Confusion,
    unwanted: Unwanted,
}

#[derive(Debug, Serialize)]
struct Confusion {
    labels: Vec<&'static str>,
    predicted: Vec<&'static str>,
    matrix: Vec<Vec<u64>>,
}

/// Unwanted (spam or scam) versus wanted (ham or ad).
#[derive(Debug, Serialize)]
struct Unwanted {
    tp: u64,
    fp: u64,
    #[serde(rename = "fn")]
    fn_: u64,
    tn: u64,
    precision: f64,
    recall: f64,
    f1: f64,
    fpr: f64,
}

impl Summary {
    fn new(t: &Tally, skipped: u64, seconds: f64, jobs: usize, state: Option<StateSummary>) -> Summary {
        let actions = Action::ALL
            .iter()
            .map(|a| (a.as_str(), t.actions[*a as usize]))
            .collect();
        let categories = Category::ALL
            .iter()
            .map(|c| (c.as_str(), t.categories[*c as usize]))
            .collect();
        let labels = (t.labeled > 0).then(|| {
            let present: Vec<Category> = Category::ALL
                .into_iter()
                .filter(|l| t.confusion[*l as usize].iter().sum::<u64>() > 0)
                .collect();
            let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
            for l in Category::ALL {
                for p in Category::ALL {
                    let n = t.confusion[l as usize][p as usize];
                    match (l.is_unwanted(), p.is_unwanted()) {
                        (true, true) => tp += n,
                        (false, true) => fp += n,
                        (true, false) => fn_ += n,
                        (false, false) => tn += n,
                    }
                }
            }
            let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            let precision = ratio(tp, tp + fp);
            let recall = ratio(tp, tp + fn_);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            LabelStats {
                labeled: t.labeled,
                confusion: Confusion {
                    labels: present.iter().map(|c| c.as_str()).collect(),
                    predicted: Category::ALL.iter().map(|c| c.as_str()).collect(),
                    matrix: present.iter().map(|l| t.confusion[*l as usize].to_vec()).collect(),
                },
                unwanted: Unwanted {
                    tp,
                    fp,
                    fn_,
                    tn,
                    precision,
                    recall,
                    f1,
                    fpr: ratio(fp, fp + tn),
                },
            }
        });
        Summary {
            rows: t.rows,
            skipped,
            seconds,
            messages_per_second: if seconds > 0.0 { t.rows as f64 / seconds } else { 0.0 },
            jobs,
            actions,
            categories,
            labels,
            state: state.map(|s| s.with_events(&t.events)),
        }
    }

    fn write_human(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            w,
            "{} messages in {:.2} s ({:.0} messages/s, {} jobs){}",
            self.rows,
            self.seconds,
            self.messages_per_second,
            self.jobs,
            if self.skipped > 0 {
                format!(", {} invalid rows skipped", self.skipped)
            } else {
                String::new()
            }
        )?;
        let pct = |n: u64| {
            if self.rows == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.rows as f64
            }
        };
        writeln!(w, "\nactions:")?;
        for (k, n) in Action::ALL.iter().map(|a| (a.as_str(), self.actions[a.as_str()])) {
            writeln!(w, "  {k:<11} {n:>9}  {:5.1}%", pct(n))?;
        }
        writeln!(w, "\ncategories:")?;
        for (k, n) in Category::ALL.iter().map(|c| (c.as_str(), self.categories[c.as_str()])) {
            writeln!(w, "  {k:<11} {n:>9}  {:5.1}%", pct(n))?;
        }
        if let Some(l) = &self.labels {
            writeln!(
                w,
                "\nconfusion matrix ({} labeled; rows: label, columns: predicted):",
                l.labeled
            )?;
            write!(w, "  {:<8}", "")?;
            for p in &l.confusion.predicted {
                write!(w, " {p:>8}")?;
            }
            writeln!(w)?;
            for (label, row) in l.confusion.labels.iter().zip(&l.confusion.matrix) {
                write!(w, "  {label:<8}")?;
                for n in row {
                    write!(w, " {n:>8}")?;
                }
                writeln!(w)?;
            }
            let u = &l.unwanted;
            writeln!(
                w,
                "\nunwanted (spam or scam): precision {:.4}  recall {:.4}  F1 {:.4}  false-positive rate {:.4}",
                u.precision, u.recall, u.f1, u.fpr
            )?;
            writeln!(w, "  tp {}  fp {}  fn {}  tn {}", u.tp, u.fp, u.fn_, u.tn)?;
        }
        if let Some(s) = &self.state {
            s.write_human(w)?;
        }
        Ok(())
    }
}
