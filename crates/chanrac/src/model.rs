//! `chanrac train` and `chanrac eval`: the statistical classifier's command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chanrac_core::features::{FeatureConfig, Featurizer};
use chanrac_core::model::metrics::{Roc, Tally};
use chanrac_core::model::train::{self, Digest, Provenance, group_of};
use chanrac_core::model::{DataFile, Dataset, Label, Model, Report, TrainConfig};
use chanrac_core::{Engine, Message, Scratch};
use clap::Args;
use serde::Serialize;

use crate::input::{Format, Input};

/// Feature and trainer settings shared by `train` and `eval --cv`.
#[derive(Debug, Args, Clone)]
pub struct Settings {
    /// Seed of the shuffles and splits (same data + seed = same model, byte for byte).
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// Passes over the training data.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: u32,
    /// AdaGrad's base learning rate.
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    learning_rate: f32,
    /// L2 penalty per step on the weights a message touches.
    #[arg(long, default_value_t = TrainConfig::default().l2)]
    l2: f32,
    /// Weight of a spam or scam message's error against a ham message's.
    #[arg(long, default_value_t = TrainConfig::default().unwanted_weight)]
    unwanted_weight: f32,
    /// Share held out to calibrate the probabilities and measure the figures stored in the
    /// model (0 = none).
    #[arg(long, default_value_t = TrainConfig::default().holdout)]
    holdout: f32,
    /// NB-SVM scaling: the additive smoothing of the log-count ratios each feature is scaled
    /// by (0 = none).
    #[arg(long, default_value_t = TrainConfig::default().nb_alpha)]
    nb_alpha: f32,
    /// Average the weights over the steps of the last N epochs (0 = the last weights).
    #[arg(long, value_name = "N", default_value_t = TrainConfig::default().average_epochs)]
    average_epochs: u32,
    /// Hash buckets: 2^BITS (10 to 24). The model file holds 3 bytes per bucket.
    #[arg(long, default_value_t = FeatureConfig::default().bits)]
    bits: u8,
    /// Character n-grams of the folded text, MIN-MAX bytes (0 turns them off).
    #[arg(long, value_name = "MIN-MAX", default_value = "4-4", value_parser = parse_range)]
    char_ngrams: (u8, u8),
    /// Character n-grams of words written with diacritics, MIN-MAX letters (0 turns them off).
    #[arg(long, value_name = "MIN-MAX", default_value = "3-3", value_parser = parse_range)]
    diacritic_ngrams: (u8, u8),
    /// Leave out word unigrams.
    #[arg(long)]
    no_words: bool,
    /// Leave out word bigrams.
    #[arg(long)]
    no_bigrams: bool,
    /// Leave out the engine's findings (links, numbers, accounts, amounts, sender kind).
    #[arg(long)]
    no_findings: bool,
}

fn parse_range(s: &str) -> Result<(u8, u8), String> {
    if s.trim() == "0" {
        return Ok((1, 0));
    }
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?} is not a range such as 2-5 (or 0 for none)"))?;
    let n = |x: &str| x.trim().parse::<u8>().map_err(|e| format!("{x:?} in {s:?}: {e}"));
    Ok((n(a)?, n(b)?))
}

impl Settings {
    fn features(&self) -> FeatureConfig {
        FeatureConfig {
            bits: self.bits,
            char_min: self.char_ngrams.0,
            char_max: self.char_ngrams.1,
            diacritic_min: self.diacritic_ngrams.0,
            diacritic_max: self.diacritic_ngrams.1,
            words: !self.no_words,
            bigrams: !self.no_bigrams,
            findings: !self.no_findings,
        }
    }

    fn train(&self) -> TrainConfig {
        TrainConfig {
            seed: self.seed,
            epochs: self.epochs,
            learning_rate: self.learning_rate,
            l2: self.l2,
            unwanted_weight: self.unwanted_weight,
            holdout: self.holdout,
            nb_alpha: self.nb_alpha,
            average_epochs: self.average_epochs,
        }
    }
}

/// Train the classifier.
#[derive(Debug, Args)]
#[command(after_help = "\
Input: TSV, CSV or JSON Lines files with `label` (ham, spam or scam) and `text` columns.
Every row is used; an unknown label, a missing column or an empty file stops with the file
and line.

The shipped model is made by exactly this command (see docs/model.md):
  chanrac train --data data/uci_sms_spam_collection_en.tsv --data data/vi_smishing_ie403_part_a.tsv \\
      --out crates/chanrac-core/model/default.bin")]
pub struct TrainArgs {
    /// A labeled data file. Repeatable; rows are used in the order given.
    #[arg(long = "data", value_name = "FILE", required = true)]
    data: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The input format (default: from each file's name).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    settings: Settings,
}

/// Evaluate the classifier.
#[derive(Debug, Args)]
#[command(after_help = "\
Without --model and --cv, the shipped model is evaluated. With --cv K, K models are trained
on K-1 folds each and tested on the remaining fold (folds are seeded, stratified by class,
and copies of one text stay in one fold); the figures pool the K test folds.

Figures: accuracy, per-class precision, recall, F1 and support, and for *unwanted* (spam or
scam, in the label and in the prediction alike) precision, recall, F1 and fpr, the share of
ham predicted unwanted. A message is predicted in its most probable class.

Examples:
  chanrac eval --data data/vi_smishing_ie403_part_a.tsv --cv 5 --json
  chanrac eval --data data/uci_sms_spam_collection_en.tsv --cv 5 --baseline
  chanrac eval --model model.bin --data labeled.tsv --json")]
pub struct EvalArgs {
    /// A labeled data file. Repeatable.
    #[arg(long = "data", value_name = "FILE", required = true)]
    data: Vec<PathBuf>,
    /// The model to evaluate (default: the shipped one).
    #[arg(long, value_name = "FILE", conflicts_with = "cv")]
    model: Option<PathBuf>,
    /// Cross-validate with K folds instead of evaluating a trained model.
    #[arg(long, value_name = "K")]
    cv: Option<usize>,
    /// With --cv: also report the multinomial naive Bayes baseline on the same features.
    #[arg(long, requires = "cv")]
    baseline: bool,
    /// With --cv: also decide by a threshold on P(spam) + P(scam) that holds the ham
    /// false-positive rate at RATE (0.003 = 0.3 %), chosen for each fold by a cross-validation
    /// of its training side alone (never the fold under test); reported as `at_fpr`.
    #[arg(long, value_name = "RATE", requires = "cv")]
    max_fpr: Option<f64>,
    /// With --cv: a labeled file added to the training side of every fold and never tested
    /// (to measure whether more data helps). Repeatable.
    #[arg(long = "extra", value_name = "FILE", requires = "cv")]
    extra: Vec<PathBuf>,
    /// The input format (default: from each file's name).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write every message's prediction here as JSON Lines (file, line, label, predicted,
    /// probabilities): out-of-fold predictions with --cv.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    settings: Settings,
}

/// One line of `eval --predictions`.
#[derive(Serialize)]
struct PredictionLine<'a> {
    file: &'a str,
    line: u64,
    label: Label,
    predicted: Label,
    p_ham: f32,
    p_spam: f32,
    p_scam: f32,
    text: &'a str,
}

/// One labeled message read for training or evaluation.
struct Labeled {
    line: u64,
    label: Label,
    msg: Message,
}

/// Reads a labeled file strictly: every row needs a label among ham, spam and scam.
fn read_labeled(path: &Path, format: Option<Format>) -> Result<Vec<Labeled>> {
    let name = path.display().to_string();
    let rows = Input::open(path, format)?.read_all(&name)?;
    if rows.is_empty() {
        bail!("{name}: no labeled messages (the file is empty or has only a header)");
    }
    rows.into_iter()
        .map(|r| {
            let label = match r.label {
                None => bail!(
                    "{name}:{}: no label (the file needs a `label` column with ham, spam or scam)",
                    r.line
                ),
                Some(c) => Label::from_category(c).with_context(|| {
                    format!(
                        "{name}:{}: label \"{}\" is not a class of the classifier (expected ham, spam or scam)",
                        r.line,
                        c.as_str()
                    )
                })?,
            };
            Ok(Labeled {
                line: r.line,
                label,
                msg: r.msg,
            })
        })
        .collect()
}

/// The engine that analyses messages for the classifier: the built-in rules' cue words, no
/// model (the features do not depend on any model).
fn analyzer() -> Result<Engine> {
    Ok(Engine::builder().no_model().build()?)
}

/// Adds messages to a dataset with the featurizer's features.
fn featurize(ds: &mut Dataset, rows: &[Labeled], engine: &Engine, featurizer: &Featurizer, scratch: &mut Scratch) {
    for r in rows {
        engine.features(&r.msg, featurizer, scratch);
        let group = group_of(scratch.normalized().text());
        ds.push(r.label, scratch.features().indices(), group);
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

#[derive(Serialize)]
struct TrainSummary<'a> {
    out: String,
    bytes: usize,
    rows: u64,
    class_rows: [u64; 3],
    data_digest: &'a str,
    temperature: f32,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    holdout: Option<&'a Report>,
}

pub fn run_train(args: TrainArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let features = args.settings.features();
    let featurizer = Featurizer::new(features.clone())?;
    let engine = analyzer()?;
    let mut scratch = Scratch::default();
    let mut ds = Dataset::new();
    let mut provenance = Provenance::default();
    for path in &args.data {
        let rows = read_labeled(path, args.format)?;
        let mut digest = Digest::default();
        for r in &rows {
            digest.update(r.label, &r.msg.text);
            provenance.digest.update(r.label, &r.msg.text);
        }
        provenance.files.push(DataFile {
            name: file_name(path),
            rows: rows.len() as u64,
            digest: digest.hex(),
        });
        featurize(&mut ds, &rows, &engine, &featurizer, &mut scratch);
    }
    let model = train::train(&ds, features, args.settings.train(), &provenance)?;
    let bytes = model.to_bytes();
    write_atomically(&args.out, &bytes)?;
    let h = model.header();
    let summary = TrainSummary {
        out: args.out.display().to_string(),
        bytes: bytes.len(),
        rows: h.training.rows,
        class_rows: h.training.class_rows,
        data_digest: &h.training.data_digest,
        temperature: model.temperature(),
        seconds: started.elapsed().as_secs_f64(),
        holdout: h.eval.as_ref(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "trained on {} messages (ham {}, spam {}, scam {}) in {:.2} s",
            summary.rows, summary.class_rows[0], summary.class_rows[1], summary.class_rows[2], summary.seconds
        )?;
        writeln!(
            out,
            "wrote {} ({} bytes), data digest {}, temperature {:.3}",
            summary.out, summary.bytes, summary.data_digest, summary.temperature
        )?;
        if let Some(r) = summary.holdout {
            writeln!(out, "\nheld-out share ({} messages), before the final training:", r.n)?;
            write_report(&mut out, r)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// `eval --json`: the figures, plus what was evaluated.
#[derive(Serialize)]
struct EvalOutput {
    #[serde(flatten)]
    report: Report,
    /// `shipped`, the model file, or `cv`.
    model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    folds: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Report>,
    /// The ranking: ROC area and recall at fixed ham false-positive rates, of P(spam) +
    /// P(scam) (points read off the curve: they describe the ranking, no threshold is chosen).
    roc: RocSummary,
    /// With --max-fpr: the figures when deciding by each fold's threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    at_fpr: Option<AtFpr>,
    /// Per data file, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileReport>,
    seconds: f64,
}

#[derive(Serialize)]
struct RocSummary {
    auc: f64,
    /// `(max_fpr, recall)` pairs.
    recall_at_fpr: Vec<(f64, f64)>,
}

impl RocSummary {
    const RATES: [f64; 4] = [0.001, 0.003, 0.01, 0.02];

    fn new(probs: &[[f32; 3]], labels: &[Label]) -> RocSummary {
        let scores: Vec<f32> = probs.iter().map(train::unwanted_score).collect();
        let unwanted: Vec<bool> = labels.iter().map(|l| l.is_unwanted()).collect();
        let roc = Roc::new(&scores, &unwanted);
        RocSummary {
            auc: roc.auc(),
            recall_at_fpr: Self::RATES.iter().map(|&r| (r, roc.at_fpr(r).recall)).collect(),
        }
    }
}

#[derive(Serialize)]
struct AtFpr {
    max_fpr: f64,
    /// Each fold's threshold on P(spam) + P(scam).
    thresholds: Vec<f32>,
    #[serde(flatten)]
    report: Report,
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    #[serde(flatten)]
    report: Report,
}

pub fn run_eval(args: EvalArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let engine = analyzer()?;
    let mut scratch = Scratch::default();
    let mut files = Vec::new();
    for path in &args.data {
        files.push((file_name(path), read_labeled(path, args.format)?));
    }
    // Which file each message came from, for per-file figures.
    let file_of: Vec<usize> = files
        .iter()
        .enumerate()
        .flat_map(|(i, (_, rows))| std::iter::repeat_n(i, rows.len()))
        .collect();
    let mut baseline = None;
    let mut at_fpr = None;
    let labels: Vec<Label> = files
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|r| r.label))
        .collect();
    let (probs, name, folds): (Vec<[f32; 3]>, String, Option<usize>) = if let Some(k) = args.cv {
        let features = args.settings.features();
        let featurizer = Featurizer::new(features.clone())?;
        let mut ds = Dataset::new();
        for (_, rows) in &files {
            featurize(&mut ds, rows, &engine, &featurizer, &mut scratch);
        }
        let tested = ds.len();
        for path in &args.extra {
            featurize(
                &mut ds,
                &read_labeled(path, args.format)?,
                &engine,
                &featurizer,
                &mut scratch,
            );
        }
        let cv = train::cross_validate_extra(
            &ds,
            tested,
            k,
            &features,
            &args.settings.train(),
            args.baseline,
            args.max_fpr,
        )?;
        if let Some(nb) = &cv.baseline {
            baseline = Some(tally(&ds, &nb[..tested], None).report());
        }
        if let (Some(max_fpr), Some(thresholds)) = (args.max_fpr, &cv.thresholds) {
            let predicted: Vec<Label> = (0..tested).map(|i| cv.predicted(i)).collect();
            at_fpr = Some(AtFpr {
                max_fpr,
                thresholds: thresholds.clone(),
                report: tally_labels(&labels, &predicted, None).report(),
            });
        }
        (cv.probs, "cv".to_string(), Some(k))
    } else {
        let (model, name) = match &args.model {
            Some(p) => (load_model(p)?, p.display().to_string()),
            None => (
                Model::shipped().context("cannot load the shipped model")?,
                "shipped".into(),
            ),
        };
        let probs = files
            .iter()
            .flat_map(|(_, rows)| rows.iter())
            .map(|r| {
                let f = engine.features(&r.msg, model.featurizer(), &mut scratch);
                model.predict(f).probs
            })
            .collect();
        (probs, name, None)
    };
    let predicted: Vec<Label> = probs.iter().map(argmax).collect();
    if let Some(path) = &args.predictions {
        write_predictions(path, &files, &probs)?;
    }
    let report = tally_labels(&labels, &predicted, None).report();
    let per_file = if files.len() > 1 {
        files
            .iter()
            .enumerate()
            .map(|(i, (name, _))| FileReport {
                file: name.clone(),
                report: tally_labels(&labels, &predicted, Some((&file_of, i))).report(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let output = EvalOutput {
        report,
        model: name,
        folds,
        baseline,
        roc: RocSummary::new(&probs, &labels),
        at_fpr,
        files: per_file,
        seconds: started.elapsed().as_secs_f64(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &output)?;
        writeln!(out)?;
    } else {
        let what = match output.folds {
            Some(k) => format!("{k}-fold cross-validation"),
            None => format!("model {}", output.model),
        };
        writeln!(out, "{what}, {} messages, {:.2} s", output.report.n, output.seconds)?;
        write_report(&mut out, &output.report)?;
        let roc = &output.roc;
        write!(out, "  ranking: ROC area {:.4}, recall", roc.auc)?;
        for (rate, recall) in &roc.recall_at_fpr {
            write!(out, " {recall:.3} at ham FPR <= {:.1} %,", 100.0 * rate)?;
        }
        writeln!(out)?;
        if let Some(a) = &output.at_fpr {
            writeln!(
                out,
                "\ndeciding by a threshold chosen on each fold's training side for ham FPR <= {:.2} %:",
                100.0 * a.max_fpr
            )?;
            write_report(&mut out, &a.report)?;
        }
        if let Some(b) = &output.baseline {
            writeln!(out, "\nbaseline (multinomial naive Bayes, same features and folds):")?;
            write_report(&mut out, b)?;
        }
        for f in &output.files {
            writeln!(out, "\n{}:", f.file)?;
            write_report(&mut out, &f.report)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn argmax(p: &[f32; 3]) -> Label {
    let mut best = 0;
    for c in 1..3 {
        if p[c] > p[best] {
            best = c;
        }
    }
    Label::ALL[best]
}

fn write_predictions(path: &Path, files: &[(String, Vec<Labeled>)], probs: &[[f32; 3]]) -> Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let rows = files
        .iter()
        .flat_map(|(name, rows)| rows.iter().map(move |r| (name, r)));
    for ((file, r), p) in rows.zip(probs) {
        let line = PredictionLine {
            file,
            line: r.line,
            label: r.label,
            predicted: argmax(p),
            p_ham: p[0],
            p_spam: p[1],
            p_scam: p[2],
            text: &r.msg.text,
        };
        serde_json::to_writer(&mut w, &line)?;
        writeln!(w)?;
    }
    w.flush().with_context(|| format!("cannot write {}", path.display()))
}

fn tally(ds: &Dataset, predicted: &[Label], only: Option<(&[usize], usize)>) -> Tally {
    let labels: Vec<Label> = (0..predicted.len()).map(|i| ds.label(i)).collect();
    tally_labels(&labels, predicted, only)
}

fn tally_labels(labels: &[Label], predicted: &[Label], only: Option<(&[usize], usize)>) -> Tally {
    let mut t = Tally::default();
    for (i, (l, p)) in labels.iter().zip(predicted).enumerate() {
        if only.is_none_or(|(file_of, f)| file_of[i] == f) {
            t.add(*l, *p);
        }
    }
    t
}

/// Reads a model file.
pub fn load_model(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the model {}", path.display()))?;
    Model::from_bytes(&bytes).with_context(|| format!("cannot load the model {}", path.display()))
}

fn write_report(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "  accuracy {:.4}", r.accuracy)?;
    writeln!(
        out,
        "  {:<9} {:>9} {:>9} {:>9} {:>9}",
        "class", "precision", "recall", "f1", "support"
    )?;
    for (name, c) in [
        ("ham", &r.classes.ham),
        ("spam", &r.classes.spam),
        ("scam", &r.classes.scam),
    ] {
        writeln!(
            out,
            "  {name:<9} {:>9.4} {:>9.4} {:>9.4} {:>9}",
            c.precision, c.recall, c.f1, c.support
        )?;
    }
    let u = &r.unwanted;
    writeln!(
        out,
        "  unwanted  precision {:.4}  recall {:.4}  F1 {:.4}  ham FPR {:.4} ({:.2} %)",
        u.precision,
        u.recall,
        u.f1,
        u.fpr,
        100.0 * u.fpr
    )?;
    writeln!(out, "  confusion (rows: label, columns: predicted ham spam scam):")?;
    for (l, row) in r.confusion.labels.iter().zip(&r.confusion.matrix) {
        writeln!(out, "    {l:<5} {:>7} {:>7} {:>7}", row[0], row[1], row[2])?;
    }
    Ok(())
}
