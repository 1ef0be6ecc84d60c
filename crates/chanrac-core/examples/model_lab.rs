//! Cross-validation sweeps for choosing the classifier's features and settings on a
//! development split (docs/model.md): every setting given is cross-validated on every file and
//! seed, and one line of figures is printed per run.
//!
//! ```text
//! cargo run --release -p chanrac-core --example model_lab -- \
//!     --data data/uci_sms_spam_collection_en.tsv --seeds 1 \
//!     "" "nb_alpha=1" "nb_alpha=1,average_epochs=4" "char=3-5"
//! ```
//!
//! A setting is a comma-separated list of `key=value`: the trainer's (`epochs`,
//! `learning_rate`, `l2`, `unwanted_weight`, `nb_alpha`, `average_epochs`) and the features'
//! (`bits`, `char=MIN-MAX`, `diacritic=MIN-MAX`, `words`, `bigrams`, `findings` as 0/1).

use std::collections::BTreeMap;

use chanrac_core::features::{FeatureConfig, Featurizer};
use chanrac_core::model::metrics::{Roc, Tally};
use chanrac_core::model::train::{self, group_of};
use chanrac_core::model::{Dataset, Label, TrainConfig};
use chanrac_core::{Engine, Message, Scratch};

fn rows(path: &str) -> Vec<(Label, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (label, text) = l.split_once('\t').expect("label<TAB>text");
            (Label::parse(label).expect("label"), text.to_string())
        })
        .collect()
}

fn range(v: &str) -> (u8, u8) {
    if v == "0" {
        return (1, 0);
    }
    let (a, b) = v.split_once('-').expect("MIN-MAX");
    (a.parse().unwrap(), b.parse().unwrap())
}

fn setting(spec: &str) -> (FeatureConfig, TrainConfig) {
    let (mut f, mut t) = (FeatureConfig::default(), TrainConfig::default());
    for kv in spec.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').expect("key=value");
        match k {
            "epochs" => t.epochs = v.parse().unwrap(),
            "learning_rate" | "lr" => t.learning_rate = v.parse().unwrap(),
            "l2" => t.l2 = v.parse().unwrap(),
            "unwanted_weight" | "uw" => t.unwanted_weight = v.parse().unwrap(),
            "nb_alpha" | "nb" => t.nb_alpha = v.parse().unwrap(),
            "average_epochs" | "avg" => t.average_epochs = v.parse().unwrap(),
            "bits" => f.bits = v.parse().unwrap(),
            "char" => (f.char_min, f.char_max) = range(v),
            "diacritic" | "dia" => (f.diacritic_min, f.diacritic_max) = range(v),
            "words" => f.words = v == "1",
            "bigrams" => f.bigrams = v == "1",
            "findings" => f.findings = v == "1",
            _ => panic!("unknown key {k}"),
        }
    }
    (f, t)
}

fn main() {
    let mut data = Vec::new();
    let mut extra = Vec::new();
    let mut seeds = vec![1u64];
    let mut max_fpr = None;
    let mut dump = None;
    let mut train_out = None;
    let mut specs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data.push(args.next().expect("file")),
            "--extra" => extra.push(args.next().expect("file")),
            "--dump" => dump = Some(args.next().expect("file")),
            "--train" => train_out = Some(args.next().expect("file")),
            "--max-fpr" => max_fpr = Some(args.next().expect("rate").parse::<f64>().unwrap()),
            "--seeds" => {
                seeds = args
                    .next()
                    .expect("seeds")
                    .split(',')
                    .map(|s| s.parse().unwrap())
                    .collect()
            }
            _ => specs.push(a),
        }
    }
    if specs.is_empty() {
        specs.push(String::new());
    }
    let engine = Engine::builder().no_model().build().expect("engine");
    let mut scratch = Scratch::default();
    if let Some(out) = &train_out {
        // What `chanrac train` does with the default settings, timed from reading the files
        // to the model's bytes (to compare a release build's file with the shipped one).
        let started = std::time::Instant::now();
        let featurizer = Featurizer::new(FeatureConfig::default()).expect("features");
        let mut ds = Dataset::new();
        let mut provenance = train::Provenance::default();
        for file in &data {
            let rows = rows(file);
            let mut digest = train::Digest::default();
            for (label, text) in &rows {
                digest.update(*label, text);
                provenance.digest.update(*label, text);
                engine.features(&Message::text(text.clone()), &featurizer, &mut scratch);
                ds.push(
                    *label,
                    scratch.features().indices(),
                    group_of(scratch.normalized().text()),
                );
            }
            provenance.files.push(chanrac_core::model::DataFile {
                name: std::path::Path::new(file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                rows: rows.len() as u64,
                digest: digest.hex(),
            });
        }
        let model = train::train(&ds, FeatureConfig::default(), TrainConfig::default(), &provenance).expect("train");
        let bytes = model.to_bytes();
        println!(
            "trained on {} messages in {:.2} s",
            ds.len(),
            started.elapsed().as_secs_f64()
        );
        std::fs::write(out, bytes).expect("write");
        return;
    }
    let mut cache: BTreeMap<(String, String), (Dataset, usize)> = BTreeMap::new();
    println!(
        "{:<40} {:<28} {:>4} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>5}",
        "setting",
        "data",
        "seed",
        "F1",
        "prec",
        "recall",
        "FPR%",
        "AUC",
        "R@.1%",
        "R@.3%",
        "R@1%",
        "R@2%",
        "F1@.3",
        "feat"
    );
    for spec in &specs {
        let (fc, tc) = setting(spec);
        let featurizer = Featurizer::new(fc.clone()).expect("features");
        for file in &data {
            let key = (format!("{fc:?}"), file.clone());
            let (ds, tested) = cache.entry(key).or_insert_with(|| {
                let mut ds = Dataset::new();
                for f in std::iter::once(file).chain(&extra) {
                    for (label, text) in rows(f) {
                        let msg = Message::text(text);
                        engine.features(&msg, &featurizer, &mut scratch);
                        ds.push(
                            label,
                            scratch.features().indices(),
                            group_of(scratch.normalized().text()),
                        );
                    }
                }
                let tested = rows(file).len();
                (ds, tested)
            });
            let nfeat: usize = (0..*tested).map(|i| ds.features(i).len()).sum::<usize>() / *tested;
            for &seed in &seeds {
                let tc = TrainConfig { seed, ..tc.clone() };
                let cv = train::cross_validate_extra(ds, *tested, 5, &fc, &tc, false, max_fpr).expect("cv");
                let mut t = Tally::default();
                let mut scores = Vec::new();
                let mut unwanted = Vec::new();
                for (i, p) in cv.probs.iter().enumerate() {
                    let pred = Label::ALL[(0..3).max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a))).unwrap()];
                    t.add(ds.label(i), pred);
                    scores.push(p[1] + p[2]);
                    unwanted.push(ds.label(i).is_unwanted());
                }
                let r = t.report();
                if let Some(path) = &dump {
                    // label, P(unwanted), line in the file (header = line 1), for reading errors.
                    let lines: String = (0..*tested)
                        .map(|i| format!("{}\t{:.5}\t{}\n", ds.label(i).as_str(), scores[i], i + 2))
                        .collect();
                    std::fs::write(path, lines).expect("dump");
                }
                let mut nested = Tally::default();
                for i in 0..cv.probs.len() {
                    nested.add(ds.label(i), cv.predicted(i));
                }
                let nested = nested.report();
                let roc = Roc::new(&scores, &unwanted);
                let name = std::path::Path::new(file).file_name().unwrap().to_string_lossy();
                println!(
                    "{:<40} {:<28.28} {:>4} {:>6.4} {:>6.4} {:>6.4} {:>6.3} {:>6.4} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.4} {:>5} {}",
                    if spec.is_empty() { "(default)" } else { spec },
                    name,
                    seed,
                    r.unwanted.f1,
                    r.unwanted.precision,
                    r.unwanted.recall,
                    100.0 * r.unwanted.fpr,
                    roc.auc(),
                    roc.at_fpr(0.001).recall,
                    roc.at_fpr(0.003).recall,
                    roc.at_fpr(0.01).recall,
                    roc.at_fpr(0.02).recall,
                    roc.best_f1(0.003).map_or(0.0, |p| p.f1),
                    nfeat,
                    if max_fpr.is_some() {
                        format!(
                            "nested: F1 {:.4} recall {:.4} FPR {:.3}%",
                            nested.unwanted.f1,
                            nested.unwanted.recall,
                            100.0 * nested.unwanted.fpr
                        )
                    } else {
                        String::new()
                    },
                );
            }
        }
    }
}
