//! Training: logistic regression by AdaGrad (optionally over NB-SVM-scaled features, and
//! with averaged weights), temperature calibration, the naive Bayes baseline, grouped,
//! stratified, seeded cross-validation, and decision thresholds held at a false-positive
//! limit by a nested cross-validation of the training side.
//!
//! Everything here is deterministic: the only randomness is a SplitMix64 generator seeded
//! from [`TrainConfig::seed`], and rows are visited in an order derived from it alone.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use super::metrics::{Roc, Tally};
use super::{
    CLASSES, DataFile, Label, Linear, Model, ModelError, ModelHeader, Quantized, TrainingInfo, argmax, softmax,
};
use crate::features::{FeatureConfig, Featurizer};

/// The trainer's settings, recorded in the model header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Seed of the shuffles and of the held-out split. Default 42.
    pub seed: u64,
    /// Passes over the training data. Default 8.
    pub epochs: u32,
    /// AdaGrad's base learning rate. Default 0.5.
    pub learning_rate: f32,
    /// L2 penalty on the weights a message touches, per step. Default 1e-6.
    pub l2: f32,
    /// Weight of a spam or scam message's error against a ham message's (1 = equal). Above
    /// 1 the model catches more unwanted messages and blocks more ham. Default 1.
    pub unwanted_weight: f32,
    /// Share of the data held out (whole groups of identical folded texts, stratified by
    /// class) to fit the calibration temperature and measure the figures stored in the
    /// header, before the final model is trained on everything. 0 skips both (temperature
    /// 1). Default 0.2.
    pub holdout: f32,
    /// NB-SVM scaling (Wang & Manning 2012): each feature's value for class *c* is multiplied
    /// by its log-count ratio between the messages of class *c* and the others, estimated on
    /// the training rows with this additive smoothing; the ratios are folded into the
    /// weights after training, so inference is unchanged. 0 turns it off. Default 0.1
    /// (chosen on the development split, see `docs/model.md`).
    pub nb_alpha: f32,
    /// Average the weights over the steps of the last `average_epochs` epochs (averaged
    /// SGD); 0 keeps the last weights. Default 0.
    pub average_epochs: u32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 42,
            epochs: 8,
            learning_rate: 0.5,
            l2: 1e-6,
            unwanted_weight: 1.0,
            holdout: 0.2,
            nb_alpha: 0.1,
            average_epochs: 0,
        }
    }
}

impl TrainConfig {
    fn validate(&self) -> Result<(), ModelError> {
        let ok = self.epochs >= 1
            && self.epochs <= 1000
            && self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.l2.is_finite()
            && self.l2 >= 0.0
            && self.unwanted_weight.is_finite()
            && self.unwanted_weight > 0.0
            && (0.0..0.9).contains(&self.holdout)
            && self.nb_alpha.is_finite()
            && self.nb_alpha >= 0.0
            && self.average_epochs <= self.epochs;
        if ok {
            Ok(())
        } else {
            Err(ModelError::Invalid(format!(
                "invalid training settings: epochs 1..=1000, learning_rate > 0, l2 >= 0, unwanted_weight > 0, 0 <= holdout < 0.9, nb_alpha >= 0, average_epochs <= epochs (got {self:?})"
            )))
        }
    }
}

/// SplitMix64: a small, fast, seedable generator (the same stream on every platform).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher–Yates.
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// The digest of training data: xxh3-128 over each row's label, a tab, its text and a newline.
#[derive(Clone)]
pub struct Digest(Xxh3);

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({})", self.hex())
    }
}

impl Default for Digest {
    fn default() -> Self {
        Digest(Xxh3::new())
    }
}

impl Digest {
    /// Adds one row.
    pub fn update(&mut self, label: Label, text: &str) {
        self.0.update(label.as_str().as_bytes());
        self.0.update(b"\t");
        self.0.update(text.as_bytes());
        self.0.update(b"\n");
    }

    /// The digest so far, as 32 hex digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0.digest128())
    }
}

/// The group of a message for splits: the hash of its folded text, so that copies of one
/// message that differ only in case, diacritics, spacing or punctuation stay together.
pub fn group_of(folded: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(folded.as_bytes())
}

/// Labeled messages as hashed features, stored flat.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    labels: Vec<Label>,
    groups: Vec<u64>,
    offsets: Vec<usize>,
    idx: Vec<u32>,
}

impl Dataset {
    /// An empty dataset.
    pub fn new() -> Self {
        Dataset {
            offsets: vec![0],
            ..Default::default()
        }
    }

    /// Adds a message: its label, its features, and its group (messages of one group, such
    /// as copies of one text, always fall on the same side of a split).
    pub fn push(&mut self, label: Label, features: &[u32], group: u64) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.labels.push(label);
        self.groups.push(group);
        self.idx.extend_from_slice(features);
        self.offsets.push(self.idx.len());
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no message.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The label of message `i`.
    pub fn label(&self, i: usize) -> Label {
        self.labels[i]
    }

    /// The features of message `i`.
    pub fn features(&self, i: usize) -> &[u32] {
        &self.idx[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Messages per class.
    pub fn class_counts(&self) -> [u64; CLASSES] {
        let mut n = [0u64; CLASSES];
        for l in &self.labels {
            n[*l as usize] += 1;
        }
        n
    }

    /// The fold (0..k) of every message: whole groups are assigned, stratified by the
    /// class of their first message, in an order shuffled by `seed`.
    pub fn folds(&self, k: usize, seed: u64) -> Vec<usize> {
        self.folds_of_first(self.len(), k, seed)
    }

    /// [`Dataset::folds`] of the first `n` messages only.
    fn folds_of_first(&self, n: usize, k: usize, seed: u64) -> Vec<usize> {
        self.folds_of(&(0..n).collect::<Vec<_>>(), k, seed)
    }

    /// The fold (0..k) of each of `rows`, as [`Dataset::folds`] makes them.
    fn folds_of(&self, rows: &[usize], k: usize, seed: u64) -> Vec<usize> {
        let k = k.max(1);
        // Groups in order of first appearance, each with its first label.
        let mut first: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
        let mut groups: Vec<(u64, Label)> = Vec::new();
        for &i in rows {
            first.entry(self.groups[i]).or_insert_with(|| {
                groups.push((self.groups[i], self.labels[i]));
                groups.len() - 1
            });
        }
        SplitMix::new(seed ^ 0x5EED_F01D).shuffle(&mut groups);
        groups.sort_by_key(|&(_, l)| l);
        let fold_of: std::collections::BTreeMap<u64, usize> =
            groups.iter().enumerate().map(|(pos, &(g, _))| (g, pos % k)).collect();
        rows.iter().map(|&i| fold_of[&self.groups[i]]).collect()
    }
}

/// P(spam) + P(scam): the score a decision threshold applies to.
pub fn unwanted_score(p: &[f32; CLASSES]) -> f32 {
    p[1] + p[2]
}

/// The lowest threshold on [`unwanted_score`] whose ham false-positive rate is at most
/// `max_fpr` on out-of-fold scores of `rows` (a `k`-fold cross-validation on them alone,
/// grouped and seeded like every other): a decision rule chosen without the data it will be
/// tested on.
pub fn threshold_for_fpr(
    ds: &Dataset,
    rows: &[usize],
    k: usize,
    buckets: usize,
    cfg: &TrainConfig,
    max_fpr: f64,
) -> f32 {
    let folds = ds.folds_of(rows, k, cfg.seed);
    let mut scores = vec![0.0f32; rows.len()];
    for f in 0..k {
        let train_rows: Vec<usize> = rows
            .iter()
            .zip(&folds)
            .filter(|&(_, &g)| g != f)
            .map(|(&r, _)| r)
            .collect();
        if train_rows.is_empty() {
            continue;
        }
        let q = Quantized::new(&fit(ds, &train_rows, buckets, cfg));
        for (pos, &r) in rows.iter().enumerate() {
            if folds[pos] == f {
                scores[pos] = unwanted_score(&softmax(q.logits(ds.features(r)), 1.0));
            }
        }
    }
    let unwanted: Vec<bool> = rows.iter().map(|&r| ds.label(r).is_unwanted()).collect();
    Roc::new(&scores, &unwanted).at_fpr(max_fpr).threshold
}

/// Fits a model on the given rows: the NB-SVM ratios if asked for, the weights by AdaGrad, and
/// the ratios folded into the weights (so that inference is a plain linear model).
pub(crate) fn fit(ds: &Dataset, rows: &[usize], buckets: usize, cfg: &TrainConfig) -> Linear {
    let ratios = (cfg.nb_alpha > 0.0).then(|| nb_ratios(ds, rows, buckets, cfg.nb_alpha));
    let mut lin = fit_linear(ds, rows, buckets, cfg, ratios.as_deref());
    if let Some(r) = &ratios {
        for (w, r) in lin.w.iter_mut().zip(r) {
            *w *= r;
        }
    }
    lin
}

/// The log-count ratio of every bucket and class: ln of the bucket's share of class *c*'s
/// feature occurrences over its share of the other classes' (each message counting a bucket
/// once), smoothed by `alpha`. A class without training rows gets ratio 1 (no scaling).
fn nb_ratios(ds: &Dataset, rows: &[usize], buckets: usize, alpha: f32) -> Vec<f32> {
    let mut counts = vec![0u32; buckets * CLASSES];
    let mut seen: Vec<u32> = Vec::new();
    let mut docs = [0u64; CLASSES];
    for &r in rows {
        let c = ds.label(r) as usize;
        docs[c] += 1;
        seen.clear();
        seen.extend(ds.features(r).iter().filter(|&&i| (i as usize) < buckets));
        seen.sort_unstable();
        seen.dedup();
        for &i in &seen {
            counts[i as usize * CLASSES + c] += 1;
        }
    }
    let alpha = alpha as f64;
    let mut totals = [0f64; CLASSES];
    for (k, &n) in counts.iter().enumerate() {
        totals[k % CLASSES] += n as f64 + alpha;
    }
    let all: f64 = totals.iter().sum();
    let mut r = vec![1.0f32; buckets * CLASSES];
    for (out, n) in r.chunks_exact_mut(CLASSES).zip(counts.chunks_exact(CLASSES)) {
        let sum: f64 = n.iter().map(|&x| x as f64 + alpha).sum();
        for c in 0..CLASSES {
            if docs[c] == 0 {
                continue;
            }
            let p = (n[c] as f64 + alpha) / totals[c];
            let q = (sum - (n[c] as f64 + alpha)) / (all - totals[c]);
            out[c] = (p / q).ln() as f32;
        }
    }
    r
}

/// Fits the weights on the given rows by AdaGrad on the softmax cross-entropy; with
/// `ratios`, feature *i* of class *c* is worth `ratios[i * CLASSES + c]` (NB-SVM).
pub(crate) fn fit_linear(
    ds: &Dataset,
    rows: &[usize],
    buckets: usize,
    cfg: &TrainConfig,
    ratios: Option<&[f32]>,
) -> Linear {
    let mut lin = Linear::zeros(buckets);
    let mut g2 = vec![0.0f32; buckets * CLASSES];
    let mut gb = [0.0f32; CLASSES];
    // Averaging: with the steps Δ_t after averaging starts, the mean of the weights after each
    // step is w_T − (1/T) Σ (t − 1) Δ_t, so only the touched weights' sums move.
    let averaging = cfg.average_epochs > 0;
    let mut u = if averaging {
        vec![0.0f32; buckets * CLASSES]
    } else {
        Vec::new()
    };
    let mut ub = [0.0f32; CLASSES];
    let mut t = 0.0f32;
    let mut order = rows.to_vec();
    let mut rng = SplitMix::new(cfg.seed);
    let (lr, l2) = (cfg.learning_rate, cfg.l2);
    let ones = [1.0f32; CLASSES];
    for epoch in 0..cfg.epochs {
        rng.shuffle(&mut order);
        let avg = averaging && epoch >= cfg.epochs - cfg.average_epochs;
        for &r in &order {
            let x = ds.features(r);
            let p = softmax(lin.logits_scaled(x, ratios), 1.0);
            let y = ds.label(r) as usize;
            let cw = if y == 0 { 1.0 } else { cfg.unwanted_weight };
            let g: [f32; CLASSES] = std::array::from_fn(|c| cw * (p[c] - (c == y) as u32 as f32));
            let s = Linear::scale(x.len());
            let tm1 = t;
            if avg {
                t += 1.0;
            }
            for &i in x {
                let base = i as usize * CLASSES;
                let (Some(w), Some(acc)) = (lin.w.get_mut(base..base + CLASSES), g2.get_mut(base..base + CLASSES))
                else {
                    continue;
                };
                let rc = ratios.map_or(&ones[..], |r| &r[base..base + CLASSES]);
                for c in 0..CLASSES {
                    let grad = g[c] * s * rc[c] + l2 * w[c];
                    acc[c] += grad * grad;
                    let step = lr * grad / (acc[c].sqrt() + 1e-6);
                    w[c] -= step;
                    if avg {
                        u[base + c] -= tm1 * step;
                    }
                }
            }
            for c in 0..CLASSES {
                gb[c] += g[c] * g[c];
                let step = lr * g[c] / (gb[c].sqrt() + 1e-6);
                lin.bias[c] -= step;
                if avg {
                    ub[c] -= tm1 * step;
                }
            }
        }
    }
    if averaging && t > 0.0 {
        for (w, u) in lin.w.iter_mut().zip(&u) {
            *w -= u / t;
        }
        for (b, u) in lin.bias.iter_mut().zip(ub) {
            *b -= u / t;
        }
    }
    lin
}

/// The temperature that minimizes the log-loss of `logits` against `labels` (golden-section
/// search on its logarithm between 0.05 and 20).
pub(crate) fn fit_temperature(logits: &[[f32; CLASSES]], labels: &[Label]) -> f32 {
    if logits.is_empty() {
        return 1.0;
    }
    let loss = |log_t: f64| -> f64 {
        let t = log_t.exp() as f32;
        logits
            .iter()
            .zip(labels)
            .map(|(z, l)| -(softmax(*z, t)[*l as usize].max(1e-12) as f64).ln())
            .sum()
    };
    // ln 0.05, ln 20 and (√5 − 1) / 2 as literals: computed at run time in a debug build but
    // folded by the compiler in a release build, they could differ in the last bit, and a
    // model file must not depend on how chanrac was built.
    let (mut a, mut b) = (-2.995_732_273_553_991_f64, 2.995_732_273_553_991_f64);
    let phi = 0.618_033_988_749_895_f64;
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let (mut fc, mut fd) = (loss(c), loss(d));
    for _ in 0..50 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = loss(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = loss(d);
        }
    }
    ((a + b) / 2.0).exp() as f32
}

/// What the data files were, for the header.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The digest of all rows.
    pub digest: Digest,
    /// Each file.
    pub files: Vec<DataFile>,
}

/// Trains a model: first on all but a held-out share (to fit the temperature and measure the
/// header's figures), then on everything.
pub fn train(
    ds: &Dataset,
    features: FeatureConfig,
    cfg: TrainConfig,
    provenance: &Provenance,
) -> Result<Model, ModelError> {
    cfg.validate()?;
    let featurizer = Featurizer::new(features.clone())?;
    if ds.is_empty() {
        return Err(ModelError::Invalid("no training data".into()));
    }
    let buckets = featurizer.buckets();
    let (mut temperature, mut eval) = (1.0, None);
    if cfg.holdout > 0.0 {
        let k = ((1.0 / cfg.holdout).round() as usize).max(2);
        let folds = ds.folds(k, cfg.seed);
        let (train_rows, held): (Vec<usize>, Vec<usize>) = (0..ds.len()).partition(|&i| folds[i] != 0);
        if !train_rows.is_empty() && !held.is_empty() {
            let q = Quantized::new(&fit(ds, &train_rows, buckets, &cfg));
            let logits: Vec<[f32; CLASSES]> = held.iter().map(|&i| q.logits(ds.features(i))).collect();
            let labels: Vec<Label> = held.iter().map(|&i| ds.label(i)).collect();
            temperature = fit_temperature(&logits, &labels);
            let mut tally = Tally::default();
            for (z, l) in logits.iter().zip(&labels) {
                tally.add(*l, argmax(z));
            }
            eval = Some(tally.report());
        }
    }
    let all: Vec<usize> = (0..ds.len()).collect();
    let linear = fit(ds, &all, buckets, &cfg);
    let header = ModelHeader {
        classes: Label::ALL.iter().map(|l| l.as_str().to_string()).collect(),
        features,
        training: TrainingInfo {
            config: cfg,
            rows: ds.len() as u64,
            class_rows: ds.class_counts(),
            data_digest: provenance.digest.hex(),
            files: provenance.files.clone(),
        },
        eval,
        online_updates: 0,
    };
    Model::new(header, linear, temperature)
}

/// Multinomial naive Bayes on the same hashed features: the baseline.
#[derive(Debug, Clone)]
pub struct NaiveBayes {
    /// log P(feature | class), bucket-major.
    logp: Vec<f32>,
    prior: [f32; CLASSES],
}

impl NaiveBayes {
    /// Fits on the given rows with Laplace smoothing `alpha`.
    pub fn fit(ds: &Dataset, rows: &[usize], buckets: usize, alpha: f32) -> NaiveBayes {
        let mut counts = vec![0u32; buckets * CLASSES];
        let mut totals = [0u64; CLASSES];
        let mut docs = [0u64; CLASSES];
        for &r in rows {
            let c = ds.label(r) as usize;
            docs[c] += 1;
            for &i in ds.features(r) {
                if let Some(n) = counts.get_mut(i as usize * CLASSES + c) {
                    *n += 1;
                    totals[c] += 1;
                }
            }
        }
        let denom: [f64; CLASSES] = std::array::from_fn(|c| totals[c] as f64 + alpha as f64 * buckets as f64);
        let logp = counts
            .iter()
            .enumerate()
            .map(|(k, &n)| ((n as f64 + alpha as f64) / denom[k % CLASSES]).ln() as f32)
            .collect();
        let n: u64 = docs.iter().sum();
        let prior = std::array::from_fn(|c| ((docs[c] as f64 + 1.0) / (n as f64 + CLASSES as f64)).ln() as f32);
        NaiveBayes { logp, prior }
    }

    /// The most probable class.
    pub fn predict(&self, idx: &[u32]) -> Label {
        let mut s = self.prior;
        for &i in idx {
            let base = i as usize * CLASSES;
            if let Some(lp) = self.logp.get(base..base + CLASSES) {
                for c in 0..CLASSES {
                    s[c] += lp[c];
                }
            }
        }
        argmax(&s)
    }
}

/// Out-of-fold predictions of a K-fold cross-validation.
#[derive(Debug, Clone)]
pub struct CrossValidation {
    /// The fold of each message.
    pub folds: Vec<usize>,
    /// Each message's probabilities from the model trained without its fold (uncalibrated:
    /// temperature 1, which does not change the most probable class).
    pub probs: Vec<[f32; CLASSES]>,
    /// Each message's naive Bayes class, when the baseline was asked for.
    pub baseline: Option<Vec<Label>>,
    /// With a false-positive limit: each fold's threshold on [`unwanted_score`], chosen by
    /// [`threshold_for_fpr`] on that fold's training side alone.
    pub thresholds: Option<Vec<f32>>,
}

impl CrossValidation {
    /// The predicted class of message `i`: the most probable one, or, with thresholds,
    /// unwanted when its [`unwanted_score`] reaches its fold's threshold (then the more
    /// probable of spam and scam) and ham otherwise.
    pub fn predicted(&self, i: usize) -> Label {
        let p = &self.probs[i];
        match &self.thresholds {
            None => argmax(p),
            Some(t) if unwanted_score(p) >= t[self.folds[i]] => {
                if p[2] > p[1] {
                    Label::Scam
                } else {
                    Label::Spam
                }
            }
            Some(_) => Label::Ham,
        }
    }
}

/// K-fold cross-validation (grouped, stratified, seeded by `cfg.seed`).
pub fn cross_validate(
    ds: &Dataset,
    k: usize,
    features: &FeatureConfig,
    cfg: &TrainConfig,
    baseline: bool,
) -> Result<CrossValidation, ModelError> {
    cross_validate_extra(ds, ds.len(), k, features, cfg, baseline, None)
}

/// K-fold cross-validation of the first `tested` messages; the others only ever join the
/// training side (except those whose group, that is whose folded text, is in the fold under
/// test). The results cover the first `tested` messages. With `max_fpr`, each fold also gets
/// a decision threshold chosen on its training side ([`threshold_for_fpr`]).
pub fn cross_validate_extra(
    ds: &Dataset,
    tested: usize,
    k: usize,
    features: &FeatureConfig,
    cfg: &TrainConfig,
    baseline: bool,
    max_fpr: Option<f64>,
) -> Result<CrossValidation, ModelError> {
    let tested = tested.min(ds.len());
    cfg.validate()?;
    let buckets = Featurizer::new(features.clone())?.buckets();
    if !(2..=100).contains(&k) {
        return Err(ModelError::Invalid(format!("--cv needs 2 to 100 folds, not {k}")));
    }
    if tested < k {
        return Err(ModelError::Invalid(format!(
            "{tested} messages are too few for {k} folds"
        )));
    }
    let folds = ds.folds_of_first(tested, k, cfg.seed);
    let mut probs = vec![[0.0; CLASSES]; tested];
    let mut nb = baseline.then(|| vec![Label::Ham; tested]);
    let mut thresholds = max_fpr.map(|_| vec![f32::INFINITY; k]);
    for f in 0..k {
        let (mut train_rows, test): (Vec<usize>, Vec<usize>) = (0..tested).partition(|&i| folds[i] != f);
        let test_groups: std::collections::BTreeSet<u64> = test.iter().map(|&i| ds.groups[i]).collect();
        train_rows.extend((tested..ds.len()).filter(|&i| !test_groups.contains(&ds.groups[i])));
        if train_rows.is_empty() || test.is_empty() {
            continue;
        }
        // Tested as shipped: with the quantized weights.
        let q = Quantized::new(&fit(ds, &train_rows, buckets, cfg));
        for &i in &test {
            probs[i] = softmax(q.logits(ds.features(i)), 1.0);
        }
        if let (Some(t), Some(max)) = (thresholds.as_mut(), max_fpr) {
            t[f] = threshold_for_fpr(ds, &train_rows, k, buckets, cfg, max);
        }
        if let Some(out) = nb.as_mut() {
            let m = NaiveBayes::fit(ds, &train_rows, buckets, 0.1);
            for &i in &test {
                out[i] = m.predict(ds.features(i));
            }
        }
    }
    Ok(CrossValidation {
        folds,
        probs,
        baseline: nb,
        thresholds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy problem: feature 1 means spam, 2 means scam, 3 means ham, plus noise features.
    fn toy(n: usize) -> Dataset {
        let mut ds = Dataset::new();
        let mut rng = SplitMix::new(7);
        for i in 0..n {
            let label = Label::ALL[i % 3];
            let signal = [3u32, 1, 2][i % 3];
            let noise: Vec<u32> = (0..5).map(|_| 10 + (rng.next() % 50) as u32).collect();
            let mut f = vec![signal];
            f.extend(noise);
            ds.push(label, &f, i as u64);
        }
        ds
    }

    fn small() -> FeatureConfig {
        FeatureConfig {
            bits: 10,
            ..FeatureConfig::default()
        }
    }

    #[test]
    fn learns_a_separable_problem_and_is_deterministic() {
        let ds = toy(300);
        let m = train(&ds, small(), TrainConfig::default(), &Provenance::default()).unwrap();
        for (f, want) in [(3u32, Label::Ham), (1, Label::Spam), (2, Label::Scam)] {
            assert_eq!(m.predict_indices(&[f, 20, 30]).label(), want);
        }
        let report = m.header().eval.as_ref().unwrap();
        assert!(report.accuracy > 0.95, "{report:?}");
        let again = train(&ds, small(), TrainConfig::default(), &Provenance::default()).unwrap();
        assert_eq!(m.to_bytes(), again.to_bytes());
        let other_seed = TrainConfig {
            seed: 1,
            ..TrainConfig::default()
        };
        let other = train(&ds, small(), other_seed, &Provenance::default()).unwrap();
        assert_ne!(m.to_bytes(), other.to_bytes());
    }

    #[test]
    fn nb_scaling_and_averaging_learn_the_toy_deterministically() {
        let ds = toy(300);
        for cfg in [
            TrainConfig {
                nb_alpha: 0.1,
                ..TrainConfig::default()
            },
            TrainConfig {
                nb_alpha: 0.0,
                average_epochs: 4,
                ..TrainConfig::default()
            },
            TrainConfig {
                nb_alpha: 1.0,
                average_epochs: 8,
                ..TrainConfig::default()
            },
        ] {
            let m = train(&ds, small(), cfg.clone(), &Provenance::default()).unwrap();
            for (f, want) in [(3u32, Label::Ham), (1, Label::Spam), (2, Label::Scam)] {
                assert_eq!(m.predict_indices(&[f, 20, 30]).label(), want, "{cfg:?}");
            }
            let again = train(&ds, small(), cfg.clone(), &Provenance::default()).unwrap();
            assert_eq!(m.to_bytes(), again.to_bytes(), "{cfg:?}");
        }
        // Averaging more epochs than are trained is refused.
        let bad = TrainConfig {
            average_epochs: 9,
            ..TrainConfig::default()
        };
        assert!(train(&ds, small(), bad, &Provenance::default()).is_err());
    }

    #[test]
    fn nb_ratios_favour_the_features_of_each_class() {
        let ds = toy(300);
        let rows: Vec<usize> = (0..ds.len()).collect();
        let r = nb_ratios(&ds, &rows, 1024, 0.1);
        // Feature 1 is in every spam message and no other: a large positive ratio for spam,
        // negative for ham and scam; a noise feature stays near 0 for every class.
        assert!(r[CLASSES + 1] > 3.0, "{:?}", &r[CLASSES..2 * CLASSES]);
        assert!(r[CLASSES] < -1.0 && r[CLASSES + 2] < -1.0);
        assert!(
            r[20 * CLASSES..21 * CLASSES].iter().all(|x| x.abs() < 1.0),
            "{:?}",
            &r[60..63]
        );
        // Only ham: the classes without rows are not scaled.
        let ham: Vec<usize> = rows.iter().copied().filter(|&i| ds.label(i) == Label::Ham).collect();
        let r = nb_ratios(&ds, &ham, 1024, 0.1);
        assert_eq!(r[CLASSES + 1], 1.0);
    }

    #[test]
    fn nested_thresholds_are_chosen_per_fold() {
        let ds = toy(300);
        let cv = cross_validate_extra(&ds, ds.len(), 5, &small(), &TrainConfig::default(), false, Some(0.01)).unwrap();
        let t = cv.thresholds.as_ref().unwrap();
        assert_eq!(t.len(), 5);
        assert!(t.iter().all(|t| t.is_finite() && *t > 0.0 && *t <= 1.0), "{t:?}");
        let mut tally = Tally::default();
        for i in 0..ds.len() {
            tally.add(ds.label(i), cv.predicted(i));
        }
        assert!(tally.report().accuracy > 0.95);
        assert!(
            cross_validate(&ds, 5, &small(), &TrainConfig::default(), false)
                .unwrap()
                .thresholds
                .is_none()
        );
    }

    #[test]
    fn folds_keep_groups_together_and_balance_classes() {
        let mut ds = Dataset::new();
        for i in 0..100u64 {
            // Pairs share a group.
            ds.push(Label::ALL[(i / 2 % 2) as usize], &[1], i / 2);
        }
        let folds = ds.folds(5, 3);
        for i in (0..100).step_by(2) {
            assert_eq!(folds[i], folds[i + 1]);
        }
        for f in 0..5 {
            let n = folds.iter().filter(|&&x| x == f).count();
            assert_eq!(n, 20, "fold {f}");
        }
        assert_eq!(folds, ds.folds(5, 3));
        assert_ne!(folds, ds.folds(5, 4));
    }

    #[test]
    fn cross_validation_and_baseline_learn_the_toy() {
        let ds = toy(300);
        let cv = cross_validate(&ds, 5, &small(), &TrainConfig::default(), true).unwrap();
        let mut lr = Tally::default();
        let mut nb = Tally::default();
        for i in 0..ds.len() {
            lr.add(ds.label(i), argmax(&cv.probs[i]));
            nb.add(ds.label(i), cv.baseline.as_ref().unwrap()[i]);
        }
        assert!(lr.report().accuracy > 0.95);
        assert!(nb.report().accuracy > 0.95);
        assert!(cross_validate(&ds, 1, &small(), &TrainConfig::default(), false).is_err());
    }

    #[test]
    fn temperature_softens_overconfident_scores() {
        // Scores that are right only 3 times out of 4 but very confident: T > 1.
        let logits = vec![[10.0, 0.0, 0.0]; 4];
        let labels = [Label::Ham, Label::Ham, Label::Ham, Label::Spam];
        assert!(fit_temperature(&logits, &labels) > 2.0);
        assert!(train(&Dataset::new(), small(), TrainConfig::default(), &Provenance::default()).is_err());
    }
}
