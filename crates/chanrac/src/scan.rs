//! `chanrac scan`: every message of a file, in parallel, in order, in flat memory.
//!
//! The main thread reads batches of rows and hands them to worker threads through a bounded
//! channel; a writer thread puts the results back in input order. Memory stays flat because
//! the channels are bounded: at most a few batches per worker are in flight, whatever the
//! size of the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use chanrac_core::{Action, Category, Scratch, Verdict};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::EngineArgs;
use crate::input::{Format, Input, OnInvalid, Row, read_rows};
use crate::replay::{EventTally, StateArgs, StateStage, StateSummary};

/// Check every message of a file.
#[derive(Debug, Args)]
#[command(after_help = "\
Input: TSV, CSV or JSON Lines with a header naming at least `text`, or e-mails: an mbox file
(--format mbox, the default for .mbox names; each message's `line` is its `From ` line) or a
directory of e-mail files (--format eml-dir, the default for a directory; read recursively in
name order, each verdict names its `file`; files under a directory named ham, ad, spam or
scam are labeled so). E-mails are parsed by the workers, in parallel, each up to 25 MiB
(docs/email.md). For CSV/TSV/JSON Lines: optional columns `label`
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
  chanrac gen traffic --messages 100000 --seed 1 --out traffic.jsonl
  chanrac scan traffic.jsonl --stateful
  chanrac scan traffic.jsonl --stateful --redis redis://127.0.0.1:6379
  chanrac scan data/vi_smishing_ie403_part_a.tsv
  chanrac scan traffic.jsonl --out verdicts.jsonl --jobs 2
  zcat day.tsv.gz | chanrac scan - --format tsv --json
  chanrac scan mailbox.mbox --out verdicts.jsonl
  chanrac scan --format eml-dir crates/chanrac-mail/tests/cases")]
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
    mail: crate::mail::MailLimitArgs,
    #[command(flatten)]
    state: StateArgs,
}

/// One output line.
#[derive(Serialize)]
struct OutLine<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
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
    let Input { reader, format, size } = Input::open(&args.input, args.format)?;

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
    let limits = args.mail.limits();

    let (read_result, write_result) = std::thread::scope(|scope| {
        for _ in 0..jobs {
            let job_rx = job_rx.clone();
            let res_tx = res_tx.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                let mail = chanrac_mail::Reader::new(limits);
                for (seq, rows) in job_rx {
                    let mut tally = Tally::default();
                    let mut buf = String::new();
                    for mut row in rows {
                        crate::mail::prepare(&mut row, &mail);
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
                                file: row.file.as_deref(),
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

        let on_invalid = if args.skip_invalid {
            OnInvalid::Skip
        } else {
            OnInvalid::StopSuggestSkip
        };
        let stage = &mut stage;
        let read_result = read_rows(
            reader,
            format,
            &name,
            &limits,
            on_invalid,
            &progress,
            |seq, mut rows| {
                if let Some(stage) = stage.as_mut() {
                    // The counters need each message's sender and text now, in file order.
                    let mail = chanrac_mail::Reader::new(limits);
                    rows.iter_mut().for_each(|r| crate::mail::prepare(r, &mail));
                    stage.process(engine, &mut rows);
                }
                job_tx.send((seq, rows)).map_err(|_| anyhow!("the workers stopped"))
            },
        );
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
