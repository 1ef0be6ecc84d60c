//! `chanrac keywords`: mine spam keywords against a ham baseline and measure what they add.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chanrac_core::keywords::{self, KeywordRule, Miner, MinerConfig, Proposal};
use chanrac_core::{Category, Engine, Label, Message, Scratch};
use clap::Args;
use serde_json::json;

use crate::EngineArgs;
use crate::input::{Format, Input};

/// Arguments of `chanrac keywords`.
#[derive(Debug, Args)]
#[command(after_help = "\
Ranks the words and phrases (up to --max-words words, on the folded form: lower case, no
diacritics, look-alikes undone) that mark unwanted messages, by the log-odds ratio with an
informative Dirichlet prior (Monroe et al. 2008) between the --spam and the --ham documents,
and keeps only proposals that fire on at most --max-ham-rate of ham (0.1 % by default, judged
by the 95 % upper confidence bound of the rate: a small ham baseline proves little) and on at
least --min-docs unwanted messages. In rank order, a phrase is kept when it contains no kept
phrase and catches an unwanted message that the engine missed and no kept phrase catches, so
that each proposal adds recall (--keep-covered keeps those that add none).

--spam files give their rows labeled spam or scam (all rows when the file has no label
column); --ham files their rows labeled ham (all rows when unlabeled). One labeled file may be
given to both.

With --holdout F, a deterministic share F of the messages (by a seeded hash of the folded
text, so repeated texts stay on one side) is held back: the proposals are mined on the rest,
then the engine alone and the engine plus the proposals (as rules of weight --weight) are
measured on the held-back messages: unwanted recall and ham false-positive rate, before and
after. --out-rules writes the proposals as a rule pack for `--rules` (docs/keywords.md).

Examples:
  chanrac keywords --spam data/vi_smishing_ie403_part_a.tsv --ham data/vi_smishing_ie403_part_a.tsv
  chanrac keywords --spam reported.tsv --ham ham_baseline.tsv --top 100 --out-rules mined.toml
  chanrac keywords --spam data/uci_sms_spam_collection_en.tsv --ham data/uci_sms_spam_collection_en.tsv \\
      --holdout 0.3 --no-model --json")]
pub struct KeywordsArgs {
    /// Files of unwanted messages (TSV, CSV or JSON Lines with a `text` column). Repeatable.
    #[arg(long = "spam", value_name = "FILE", required = true)]
    spam: Vec<PathBuf>,
    /// Files of wanted messages, the ham baseline. Repeatable.
    #[arg(long = "ham", value_name = "FILE", required = true)]
    ham: Vec<PathBuf>,
    /// The input format (default: from the file name, else guessed from the first line).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// How many proposals to keep at most.
    #[arg(long, default_value_t = 50)]
    top: usize,
    /// The longest phrase, in words (1 to 3).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
    max_words: u8,
    /// The fewest unwanted messages a proposal must occur in.
    #[arg(long, default_value_t = 5)]
    min_docs: u32,
    /// The largest share of ham a proposal may occur in (0.001 = 0.1 %).
    #[arg(long, default_value_t = 0.001)]
    max_ham_rate: f64,
    /// The strength of the Dirichlet prior, in documents.
    #[arg(long, default_value_t = 100.0)]
    prior: f64,
    /// The smallest z-score kept.
    #[arg(long, default_value_t = 3.0)]
    min_z: f64,
    /// Keep proposals whose every unwanted message the engine already catches.
    #[arg(long)]
    keep_covered: bool,
    /// Hold back this share of the messages and measure the proposals on it (0 < F < 1).
    #[arg(long, value_name = "F")]
    holdout: Option<f64>,
    /// The seed of the hold-back split.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The weight of each proposal as a rule (in the rule pack and the measurement). The
    /// default, 3, is weak evidence: a mined keyword alone does not tag a message.
    #[arg(long, default_value_t = 3.0)]
    weight: f32,
    /// Write the proposals as a rule pack (TOML) to this file.
    #[arg(long, value_name = "FILE")]
    out_rules: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

/// One message of the mining set.
struct Doc {
    label: Label,
    msg: Message,
}

/// Reads the rows of `files` whose label is one of `want` (all rows when a file has no label).
fn read_docs(files: &[PathBuf], format: Option<Format>, unwanted: bool) -> Result<Vec<Doc>> {
    let mut out = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let rows = Input::open(path, format)?.read_all(&name)?;
        let before = out.len();
        for r in rows {
            let label = match r.label {
                None if unwanted => Label::Spam,
                None => Label::Ham,
                Some(Category::Spam) if unwanted => Label::Spam,
                Some(Category::Scam) if unwanted => Label::Scam,
                Some(Category::Ham) if !unwanted => Label::Ham,
                Some(_) => continue,
            };
            out.push(Doc { label, msg: r.msg });
        }
        if out.len() == before {
            let what = if unwanted { "spam or scam" } else { "ham" };
            bail!("{name}: no {what} messages (labeled rows of another class only, or an empty file)");
        }
    }
    Ok(out)
}

/// Whether a message goes to the held-back side.
fn held_back(scratch: &Scratch, seed: u64, share: f64) -> bool {
    let h = xxhash_rust::xxh3::xxh3_64_with_seed(scratch.normalized().text().as_bytes(), seed);
    (h % 1_000_000) as f64 / 1_000_000.0 < share
}

/// Unwanted recall and ham false-positive rate of an engine on a set of messages.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    unwanted: u64,
    caught: u64,
    ham: u64,
    false_positives: u64,
}

impl Measure {
    fn recall(&self) -> f64 {
        ratio(self.caught, self.unwanted)
    }
    fn fpr(&self) -> f64 {
        ratio(self.false_positives, self.ham)
    }
    fn json(&self) -> serde_json::Value {
        json!({"unwanted": self.unwanted, "caught": self.caught, "recall": self.recall(),
               "ham": self.ham, "false_positives": self.false_positives, "fpr": self.fpr()})
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn measure(engine: &Engine, docs: &[&Doc], scratch: &mut Scratch) -> Measure {
    let mut m = Measure::default();
    for d in docs {
        let flagged = engine.check_with(&d.msg, scratch).category.is_unwanted();
        if d.label == Label::Ham {
            m.ham += 1;
            m.false_positives += u64::from(flagged);
        } else {
            m.unwanted += 1;
            m.caught += u64::from(flagged);
        }
    }
    m
}

/// Runs `chanrac keywords`.
pub fn run(args: KeywordsArgs) -> Result<ExitCode> {
    if let Some(h) = args.holdout
        && !(h > 0.0 && h < 1.0)
    {
        bail!("--holdout {h}: the held-back share must be between 0 and 1 (for example 0.3)");
    }
    if !(0.0..=1.0).contains(&args.max_ham_rate) {
        bail!(
            "--max-ham-rate {}: a share between 0 and 1 (0.001 is 0.1 %)",
            args.max_ham_rate
        );
    }
    if args.prior.is_nan() || args.prior <= 0.0 {
        bail!("--prior {}: the prior's strength must be positive", args.prior);
    }
    let engine = args.engine.build()?;
    let mut docs = read_docs(&args.spam, args.format, true)?;
    docs.extend(read_docs(&args.ham, args.format, false)?);

    let mut scratch = Scratch::default();
    let mut miner = Miner::new(usize::from(args.max_words));
    let mut train_docs: Vec<&Doc> = Vec::new();
    let mut test_docs: Vec<&Doc> = Vec::new();
    for d in &docs {
        let caught = engine.check_with(&d.msg, &mut scratch).category.is_unwanted();
        if let Some(share) = args.holdout
            && held_back(&scratch, args.seed, share)
        {
            test_docs.push(d);
            continue;
        }
        miner.add(scratch.normalized(), d.label, caught);
        train_docs.push(d);
    }
    let (n_ham, n_spam, n_scam) = miner.docs();
    if n_ham == 0 || n_spam + n_scam == 0 {
        bail!(
            "nothing to compare: {} unwanted and {n_ham} ham messages in the mining set",
            n_spam + n_scam
        );
    }
    let cfg = MinerConfig {
        max_words: usize::from(args.max_words),
        min_docs: args.min_docs,
        max_ham_rate: args.max_ham_rate,
        prior: args.prior,
        min_z: args.min_z,
        top: args.top,
        keep_covered: args.keep_covered,
    };
    let proposals = miner.propose(&cfg);
    let unwanted_train: Vec<&Doc> = train_docs.iter().copied().filter(|d| d.label != Label::Ham).collect();
    let pack = rule_pack(&proposals, &unwanted_train, args.weight, n_spam + n_scam, n_ham);
    if let Some(path) = &args.out_rules {
        std::fs::write(path, &pack).with_context(|| format!("cannot write {}", path.display()))?;
    }

    let holdout = if args.holdout.is_some() {
        let extra: Option<(&str, &str)> = (!proposals.is_empty()).then_some(("<mined keywords>", pack.as_str()));
        let with = args
            .engine
            .build_with_pack(extra)
            .context("the mined rule pack does not compile")?;
        Some((
            measure(&engine, &test_docs, &mut scratch),
            measure(&with, &test_docs, &mut scratch),
        ))
    } else {
        None
    };

    let mut out = std::io::stdout().lock();
    if args.json {
        let value = json!({
            "mining_set": {"ham": n_ham, "spam": n_spam, "scam": n_scam, "phrases": miner.phrases()},
            "settings": {"max_words": cfg.max_words, "min_docs": cfg.min_docs, "max_ham_rate": cfg.max_ham_rate,
                         "prior": cfg.prior, "min_z": cfg.min_z, "top": cfg.top, "keep_covered": cfg.keep_covered,
                         "holdout": args.holdout, "seed": args.seed, "weight": args.weight},
            "proposals": proposals.iter().map(|p| json!({
                "phrase": p.phrase, "z": p.z, "log_odds": p.log_odds, "label": p.label,
                "unwanted_docs": p.unwanted_docs, "missed_docs": p.missed_docs, "adds_docs": p.adds_docs,
                "ham_docs": p.ham_docs, "unwanted_rate": p.unwanted_rate, "ham_rate": p.ham_rate,
                "ham_rate_upper": p.ham_rate_upper,
            })).collect::<Vec<_>>(),
            "holdout": holdout.map(|(before, after)| json!({"engine": before.json(), "with_proposals": after.json()})),
        });
        serde_json::to_writer(&mut out, &value)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "Mined {} phrases from {} unwanted ({n_spam} spam, {n_scam} scam) and {n_ham} ham messages{}.",
            miner.phrases(),
            n_spam + n_scam,
            args.holdout
                .map_or(String::new(), |h| format!(" ({:.0} % held back)", h * 100.0)),
        )?;
        if n_ham < 1000 {
            writeln!(
                out,
                "warning: a ham baseline of {n_ham} messages cannot show a rate of {:.2} %; give more ham.",
                args.max_ham_rate * 100.0
            )?;
        }
        writeln!(
            out,
            "{} proposals (z ≥ {}, ham ≤ {:.2} %, ≥ {} unwanted):",
            proposals.len(),
            args.min_z,
            args.max_ham_rate * 100.0,
            args.min_docs
        )?;
        writeln!(
            out,
            "{:>4}  {:>6}  {:<28} {:>8} {:>6} {:>4} {:>4} {:>7}  label",
            "#", "z", "phrase", "unwanted", "missed", "adds", "ham", "ham≤"
        )?;
        for (i, p) in proposals.iter().enumerate() {
            writeln!(
                out,
                "{:>4}  {:>6.2}  {:<28} {:>8} {:>6} {:>4} {:>4} {:>6.3}%  {}",
                i + 1,
                p.z,
                p.phrase,
                p.unwanted_docs,
                p.missed_docs,
                p.adds_docs,
                p.ham_docs,
                p.ham_rate_upper * 100.0,
                p.label.as_str()
            )?;
        }
        writeln!(
            out,
            "(unwanted/ham: messages containing it; missed: unwanted ones the engine did not catch; adds: missed\n\
             ones no better-ranked proposal catches; ham≤: 95 % upper bound of its ham rate)"
        )?;
        if let Some((before, after)) = holdout {
            writeln!(out, "\nheld back: {} unwanted, {} ham", before.unwanted, before.ham)?;
            writeln!(out, "                     recall   ham false-positive rate")?;
            writeln!(
                out,
                "  engine             {:.4}   {:.3} %",
                before.recall(),
                before.fpr() * 100.0
            )?;
            writeln!(
                out,
                "  engine + proposals {:.4}   {:.3} %",
                after.recall(),
                after.fpr() * 100.0
            )?;
            writeln!(
                out,
                "  change             {:+.4}   {:+.3} points",
                after.recall() - before.recall(),
                (after.fpr() - before.fpr()) * 100.0
            )?;
        }
        if let Some(path) = &args.out_rules {
            writeln!(out, "\nrule pack written to {} (use it with --rules)", path.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The proposals as a rule pack (TOML), one rule per phrase (`MINED_` and the phrase).
fn rule_pack(proposals: &[Proposal], unwanted: &[&Doc], weight: f32, n_unwanted: u32, n_ham: u32) -> String {
    let rules: Vec<KeywordRule> = proposals
        .iter()
        .map(|p| KeywordRule {
            id: keywords::rule_id("MINED_", &p.phrase),
            phrase: p.phrase.clone(),
            label: p.label,
            weight,
            description: format!(
                "mined: z {:.1}, in {} of {n_unwanted} unwanted ({} not caught before) and {} of {n_ham} ham",
                p.z, p.unwanted_docs, p.missed_docs, p.ham_docs
            ),
            example: p
                .example
                .and_then(|i| unwanted.get(i as usize))
                .map(|d| d.msg.text.clone()),
        })
        .collect();
    keywords::rule_pack(
        "Keywords mined by `chanrac keywords` (docs/keywords.md). Review each rule before use:\n\
         the statistics say where a phrase occurs, not why.",
        &rules,
    )
}
