//! The statistical classifier: P(ham), P(spam), P(scam) for a message.
//!
//! A multinomial logistic regression over hashed features ([`crate::features`]), trained by
//! AdaGrad on NB-SVM-scaled features (each feature weighed per class by its naive Bayes
//! log-count ratio, folded into the weights afterwards; [`train`]), with one temperature that
//! calibrates its probabilities. The engine
//! uses it as a detector ([`crate::EngineBuilder::model`]): `MODEL_SPAM` and `MODEL_SCAM` fire
//! with the probability as evidence. A multinomial naive Bayes on the same features
//! ([`train::NaiveBayes`]) is the baseline it is measured against.
//!
//! The model file ([`Model::from_bytes`], [`Model::to_bytes`]) is little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `CHANRACM` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 4 | header length *h* |
//! | *h* | header, TOML ([`ModelHeader`]): classes, feature settings, training settings, digest of the training data, evaluation figures |
//! | 4 + 4 | buckets, classes (must agree with the header) |
//! | 4 × 5 | bias of each class, temperature, weight scale |
//! | buckets × classes | weights, `i8` (times the weight scale), bucket-major |
//! | 8 | xxh3-64 of every byte before it |
//!
//! A truncated file, a file of another format version and a corrupted one are refused with
//! [`ModelError`]; nothing in them can make the reader panic or allocate more than the file's
//! own size.
//!
//! The same data, settings and seed give a byte-identical file: training shuffles with its own
//! seeded generator, and nothing depends on time, threads or hash-map order.
//!
//! Online learning, as the hub does it when an analyst confirms a report:
//!
//! ```
//! use chanrac_core::{Engine, Label, Message, Model, Scratch};
//!
//! let engine = Engine::with_defaults().unwrap();
//! let mut model = Model::shipped().unwrap();
//! let msg = Message::text("Ban da trung thuong 50tr, nop phi 500k vao STK 0123456789 de nhan");
//! let (before, after) = model.learn_message(&engine, &msg, Label::Scam, 0.5, &mut Scratch::default());
//! assert!(after > before);
//! let saved = model.to_bytes(); // the caller writes it where it wants
//! assert_eq!(Model::from_bytes(&saved).unwrap().header().online_updates, 1);
//! ```

pub mod metrics;
pub mod train;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::extract::Findings;
use crate::features::{FeatureConfig, FeatureScratch, Featurizer, Sink};
use crate::normalize::Normalized;
use crate::phone::SenderId;
use crate::verdict::Category;

pub use metrics::Report;
pub use train::{Dataset, NaiveBayes, TrainConfig};

/// The version of the model file format this build reads and writes.
///
/// Version 2 (2026-11-23): the header's training settings gained `nb_alpha` and
/// `average_epochs`, and the weights of an NB-SVM model have the log-count ratios folded in;
/// a version-1 file is refused (retrain it with `chanrac train`).
pub const FORMAT_VERSION: u32 = 2;

const MAGIC: &[u8; 8] = b"CHANRACM";

/// The number of classes.
pub const CLASSES: usize = 3;

/// The model shipped with chanrac, trained on the repository's data by the command in
/// `docs/model.md`.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../../model/default.bin");

/// A class the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Wanted: personal, transactional, customer care, lawful advertising.
    Ham,
    /// Unwanted: unlawful advertising and banned content.
    Spam,
    /// Fraud.
    Scam,
}

impl Label {
    /// Every class, in the order of the model's outputs.
    pub const ALL: [Label; CLASSES] = [Label::Ham, Label::Spam, Label::Scam];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        self.category().as_str()
    }

    /// Parses `ham`, `spam` or `scam` (case-insensitive, surrounding space ignored).
    pub fn parse(s: &str) -> Option<Label> {
        Category::parse(s).and_then(Label::from_category)
    }

    /// The class of a verdict category; `None` for `ad`, which the classifier does not
    /// predict (lawful ads are ham to it).
    pub fn from_category(c: Category) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.category() == c)
    }

    /// Spam or scam.
    pub fn is_unwanted(self) -> bool {
        self != Label::Ham
    }

    /// The verdict category of this class.
    pub fn category(self) -> Category {
        match self {
            Label::Ham => Category::Ham,
            Label::Spam => Category::Spam,
            Label::Scam => Category::Scam,
        }
    }
}

/// A model file that cannot be used, or settings that are invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file ends before its declared content.
    #[error("model file is truncated: {needed} bytes needed, {got} present")]
    Truncated {
        /// Bytes the file needs.
        needed: usize,
        /// Bytes it has.
        got: usize,
    },
    /// The file does not start with the magic bytes.
    #[error("not a chanrac model file (bad magic bytes)")]
    NotAModel,
    /// Another format version.
    #[error(
        "model file format version {found} is not supported (this build reads version {FORMAT_VERSION}; retrain the model with `chanrac train`)"
    )]
    Version {
        /// The version in the file.
        found: u32,
    },
    /// The checksum does not match: the file was damaged.
    #[error("model file is corrupted (checksum mismatch)")]
    Checksum,
    /// The content is inconsistent or malformed.
    #[error("model file is corrupted: {0}")]
    Corrupt(String),
    /// Invalid settings or training data.
    #[error("{0}")]
    Invalid(String),
}

/// One training data file, as recorded in the model header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// The file name as given to `chanrac train` (without directories).
    pub name: String,
    /// Rows used.
    pub rows: u64,
    /// xxh3-128 (hex) of the rows used: each label, a tab, the text and a newline.
    pub digest: String,
}

/// How the model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    /// The trainer's settings.
    pub config: TrainConfig,
    /// Rows used.
    pub rows: u64,
    /// Rows per class (ham, spam, scam).
    pub class_rows: [u64; CLASSES],
    /// xxh3-128 (hex) of all rows used, in order (the files' rows one after the other).
    pub data_digest: String,
    /// The files, in order.
    pub files: Vec<DataFile>,
}

/// The readable part of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelHeader {
    /// The classes, in the order of the weights: always `["ham", "spam", "scam"]`.
    pub classes: Vec<String>,
    /// The feature settings the model must be read with.
    pub features: FeatureConfig,
    /// How it was trained.
    pub training: TrainingInfo,
    /// Figures on the held-out part of the training data (see [`TrainConfig::holdout`]),
    /// measured before the final model was trained on everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<Report>,
    /// Messages learned one at a time after training ([`Model::learn`]): when not zero, the
    /// weights no longer match the data digest alone.
    #[serde(default)]
    pub online_updates: u64,
}

/// The weights of a linear model over hashed features.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Linear {
    /// `buckets × CLASSES`, bucket-major.
    pub(crate) w: Vec<f32>,
    pub(crate) bias: [f32; CLASSES],
}

impl Linear {
    pub(crate) fn zeros(buckets: usize) -> Linear {
        Linear {
            w: vec![0.0; buckets * CLASSES],
            bias: [0.0; CLASSES],
        }
    }

    /// The scale of each feature: every message's feature vector has unit length.
    #[inline]
    pub(crate) fn scale(n: usize) -> f32 {
        if n == 0 { 0.0 } else { 1.0 / (n as f32).sqrt() }
    }

    /// Raw scores of the classes with each feature's value per class from `ratios` (NB-SVM
    /// scaling; 1 without).
    #[inline]
    pub(crate) fn logits_scaled(&self, idx: &[u32], ratios: Option<&[f32]>) -> [f32; CLASSES] {
        let Some(r) = ratios else {
            return self.logits(idx);
        };
        let mut sum = [0.0f32; CLASSES];
        for &i in idx {
            let base = i as usize * CLASSES;
            if let (Some(w), Some(r)) = (self.w.get(base..base + CLASSES), r.get(base..base + CLASSES)) {
                sum[0] += w[0] * r[0];
                sum[1] += w[1] * r[1];
                sum[2] += w[2] * r[2];
            }
        }
        let s = Self::scale(idx.len());
        std::array::from_fn(|c| self.bias[c] + s * sum[c])
    }

    /// Raw scores of the classes.
    #[inline]
    pub(crate) fn logits(&self, idx: &[u32]) -> [f32; CLASSES] {
        let mut sum = [0.0f32; CLASSES];
        for &i in idx {
            let base = i as usize * CLASSES;
            if let Some(w) = self.w.get(base..base + CLASSES) {
                sum[0] += w[0];
                sum[1] += w[1];
                sum[2] += w[2];
            }
        }
        let s = Self::scale(idx.len());
        [
            self.bias[0] + s * sum[0],
            self.bias[1] + s * sum[1],
            self.bias[2] + s * sum[2],
        ]
    }
}

/// Softmax of `z / t`.
pub(crate) fn softmax(z: [f32; CLASSES], t: f32) -> [f32; CLASSES] {
    let t = if t > 0.0 { t } else { 1.0 };
    let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let e = z.map(|v| ((v - m) / t).exp());
    let sum: f32 = e.iter().sum();
    e.map(|v| v / sum)
}

/// The index of the largest value (the first on ties).
pub(crate) fn argmax(p: &[f32; CLASSES]) -> Label {
    let mut best = 0;
    for c in 1..CLASSES {
        if p[c] > p[best] {
            best = c;
        }
    }
    Label::ALL[best]
}

/// The weights as the model file stores and inference reads them: one signed byte per
/// class and bucket, times one scale, packed in a `u32` per bucket so that a feature costs one
/// load from a table a quarter the size of the `f32` weights (it stays in cache).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quantized {
    packed: Vec<u32>,
    scale: f32,
    bias: [f32; CLASSES],
}

fn quantize(w: f32, scale: f32) -> i8 {
    (w / scale).round().clamp(-127.0, 127.0) as i8
}

fn pack(q: [i8; CLASSES]) -> u32 {
    (q[0] as u8 as u32) | ((q[1] as u8 as u32) << 8) | ((q[2] as u8 as u32) << 16)
}

fn unpack(v: u32) -> [i8; CLASSES] {
    [v as u8 as i8, (v >> 8) as u8 as i8, (v >> 16) as u8 as i8]
}

impl Quantized {
    /// Quantizes trained weights: the scale maps the largest weight to ±127.
    pub(crate) fn new(lin: &Linear) -> Quantized {
        let max = lin.w.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let packed = lin
            .w
            .chunks_exact(CLASSES)
            .map(|w| pack([quantize(w[0], scale), quantize(w[1], scale), quantize(w[2], scale)]))
            .collect();
        Quantized {
            packed,
            scale,
            bias: lin.bias,
        }
    }

    /// Raw scores of the classes (integer sums, one multiplication at the end).
    #[inline]
    pub(crate) fn logits(&self, idx: &[u32]) -> [f32; CLASSES] {
        let mut acc = [0i32; CLASSES];
        for &i in idx {
            if let Some(&v) = self.packed.get(i as usize) {
                acc[0] += v as u8 as i8 as i32;
                acc[1] += (v >> 8) as u8 as i8 as i32;
                acc[2] += (v >> 16) as u8 as i8 as i32;
            }
        }
        let s = Linear::scale(idx.len()) * self.scale;
        std::array::from_fn(|c| self.bias[c] + s * acc[c] as f32)
    }

    /// Sums features straight into the class scores, without listing them.
    #[inline]
    fn accumulator(&self) -> Accumulator<'_> {
        Accumulator {
            packed: &self.packed,
            acc: [0; CLASSES],
            n: 0,
        }
    }

    /// The `f32` weights these stand for.
    fn dequantize(&self) -> Linear {
        Linear {
            w: self
                .packed
                .iter()
                .flat_map(|&v| unpack(v).map(|q| q as f32 * self.scale))
                .collect(),
            bias: self.bias,
        }
    }
}

/// Running class scores of one message.
struct Accumulator<'a> {
    packed: &'a [u32],
    acc: [i32; CLASSES],
    n: usize,
}

impl Sink for Accumulator<'_> {
    #[inline]
    fn push(&mut self, bucket: u32) {
        self.n += 1;
        if let Some(&v) = self.packed.get(bucket as usize) {
            self.acc[0] += v as u8 as i8 as i32;
            self.acc[1] += (v >> 8) as u8 as i8 as i32;
            self.acc[2] += (v >> 16) as u8 as i8 as i32;
        }
    }
}

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct Model {
    header: ModelHeader,
    featurizer: Featurizer,
    /// What inference reads and the file stores.
    quant: Quantized,
    /// The `f32` weights online learning updates (then re-quantizes what it touched).
    linear: Linear,
    temperature: f32,
}

/// The probabilities of the classes for one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// P(ham), P(spam), P(scam), summing to 1.
    pub probs: [f32; CLASSES],
}

impl Prediction {
    /// The probability of a class.
    pub fn p(&self, l: Label) -> f32 {
        self.probs[l as usize]
    }

    /// The most probable class.
    pub fn label(&self) -> Label {
        argmax(&self.probs)
    }
}

impl Model {
    /// A model from trained weights (quantized here).
    pub(crate) fn new(header: ModelHeader, linear: Linear, temperature: f32) -> Result<Model, ModelError> {
        let quant = Quantized::new(&linear);
        Model::from_parts(header, quant, temperature)
    }

    fn from_parts(header: ModelHeader, quant: Quantized, temperature: f32) -> Result<Model, ModelError> {
        let featurizer = Featurizer::new(header.features.clone())?;
        if quant.packed.len() != featurizer.buckets() {
            return Err(ModelError::Corrupt(format!(
                "{} buckets, but the header says bits = {}",
                quant.packed.len(),
                header.features.bits
            )));
        }
        Ok(Model {
            linear: quant.dequantize(),
            header,
            featurizer,
            quant,
            temperature,
        })
    }

    /// The model shipped with chanrac ([`DEFAULT_MODEL`]).
    pub fn shipped() -> Result<Model, ModelError> {
        Model::from_bytes(DEFAULT_MODEL)
    }

    /// The header: settings, training data, figures.
    pub fn header(&self) -> &ModelHeader {
        &self.header
    }

    /// The featurizer the model reads its features with.
    pub fn featurizer(&self) -> &Featurizer {
        &self.featurizer
    }

    /// The calibration temperature (probabilities are the softmax of the scores divided by it).
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// The probabilities of the classes for features computed by [`Featurizer::extract`].
    #[inline]
    pub fn predict(&self, features: &FeatureScratch) -> Prediction {
        self.predict_indices(features.indices())
    }

    /// The probabilities of the classes for a message as the engine analysed it (its folded
    /// form, its original text, its findings and sender): the features are summed as they are
    /// computed, never listed. Gives the same result as [`Featurizer::extract`] then
    /// [`Model::predict`]; `scratch` only lends its buffers.
    #[inline]
    pub fn predict_analysed(
        &self,
        norm: &Normalized,
        original: &str,
        findings: &Findings,
        sender: &SenderId,
        scratch: &mut FeatureScratch,
    ) -> Prediction {
        let mut acc = self.quant.accumulator();
        self.featurizer
            .extract_into(norm, original, findings, sender, scratch.light_buffer(), &mut acc);
        let s = Linear::scale(acc.n) * self.quant.scale;
        let logits = std::array::from_fn(|c| self.quant.bias[c] + s * acc.acc[c] as f32);
        Prediction {
            probs: softmax(logits, self.temperature),
        }
    }

    /// The same from bucket indices (out-of-range indices are ignored).
    #[inline]
    pub fn predict_indices(&self, idx: &[u32]) -> Prediction {
        Prediction {
            probs: softmax(self.quant.logits(idx), self.temperature),
        }
    }

    /// Online learning: one step of stochastic gradient descent on one labeled message (a
    /// report an analyst confirmed), with learning rate `rate` (0.1 is a cautious step; the
    /// trainer's own rate is the upper end). Returns the probability of `label` before and
    /// after the step. Save the result with [`Model::to_bytes`].
    pub fn learn(&mut self, features: &FeatureScratch, label: Label, rate: f32) -> (f32, f32) {
        let idx = features.indices();
        let before = self.predict_indices(idx).p(label);
        if !(rate.is_finite() && rate > 0.0) {
            return (before, before);
        }
        let p = softmax(self.quant.logits(idx), 1.0);
        let s = Linear::scale(idx.len());
        let g: [f32; CLASSES] = std::array::from_fn(|c| p[c] - (c == label as usize) as u32 as f32);
        let scale = self.quant.scale;
        for &i in idx {
            let base = i as usize * CLASSES;
            if let (Some(w), Some(q)) = (
                self.linear.w.get_mut(base..base + CLASSES),
                self.quant.packed.get_mut(i as usize),
            ) {
                for c in 0..CLASSES {
                    w[c] -= rate * g[c] * s;
                }
                *q = pack([quantize(w[0], scale), quantize(w[1], scale), quantize(w[2], scale)]);
            }
        }
        for (b, g) in self.linear.bias.iter_mut().zip(g) {
            *b -= rate * g;
        }
        self.quant.bias = self.linear.bias;
        self.header.online_updates += 1;
        (before, self.predict_indices(idx).p(label))
    }

    /// Online learning of one message (a report an analyst confirmed): `engine` analyses it
    /// exactly as a check does, then [`Model::learn`] takes one step. Returns the
    /// probability of `label` before and after.
    pub fn learn_message(
        &mut self,
        engine: &crate::Engine,
        msg: &crate::Message,
        label: Label,
        rate: f32,
        scratch: &mut crate::Scratch,
    ) -> (f32, f32) {
        let features = engine.features(msg, &self.featurizer, scratch);
        self.learn(features, label, rate)
    }

    /// The model file.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain data to TOML cannot fail; an empty header would be refused on
        // reading, never silently accepted.
        let header = toml::to_string(&self.header).unwrap_or_default();
        let buckets = self.featurizer.buckets();
        let mut out = Vec::with_capacity(64 + header.len() + buckets * CLASSES);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&(buckets as u32).to_le_bytes());
        out.extend_from_slice(&(CLASSES as u32).to_le_bytes());
        let q = &self.quant;
        for v in q.bias.iter().chain([&self.temperature, &q.scale]) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for &v in &q.packed {
            out.extend(unpack(v).map(|b| b as u8));
        }
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads a model file, checking its version, size, checksum and content.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        let mut r = Reader { bytes, at: 0 };
        if bytes.len() >= MAGIC.len() && &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        r.take(MAGIC.len())?;
        let version = r.u32()?;
        if version != FORMAT_VERSION {
            return Err(ModelError::Version { found: version });
        }
        let header_len = r.u32()? as usize;
        let header_bytes = r.take(header_len)?;
        let buckets = r.u32()? as usize;
        let classes = r.u32()? as usize;
        if classes != CLASSES {
            return Err(ModelError::Corrupt(format!("{classes} classes, expected {CLASSES}")));
        }
        // Check the declared size before reading (or allocating for) the weights.
        let needed = buckets
            .checked_mul(CLASSES)
            .and_then(|w| w.checked_add(r.at + 20 + 8))
            .ok_or_else(|| ModelError::Corrupt(format!("impossible bucket count {buckets}")))?;
        if bytes.len() < needed {
            return Err(ModelError::Truncated {
                needed,
                got: bytes.len(),
            });
        }
        if bytes.len() > needed {
            return Err(ModelError::Corrupt(format!(
                "{} bytes after the end of the model",
                bytes.len() - needed
            )));
        }
        let body_end = needed - 8;
        let sum = u64::from_le_bytes(bytes[body_end..].try_into().unwrap_or_default());
        if xxh3_64(&bytes[..body_end]) != sum {
            return Err(ModelError::Checksum);
        }
        let header_text =
            std::str::from_utf8(header_bytes).map_err(|_| ModelError::Corrupt("the header is not UTF-8".into()))?;
        let header: ModelHeader =
            toml::from_str(header_text).map_err(|e| ModelError::Corrupt(format!("bad header: {}", e.message())))?;
        let names: Vec<&str> = Label::ALL.iter().map(|l| l.as_str()).collect();
        if header.classes != names {
            return Err(ModelError::Corrupt(format!(
                "classes {:?}, expected {names:?}",
                header.classes
            )));
        }
        header.features.validate()?;
        if buckets != 1usize << header.features.bits {
            return Err(ModelError::Corrupt(format!(
                "{buckets} buckets, but the header says bits = {}",
                header.features.bits
            )));
        }
        let bias = [r.f32()?, r.f32()?, r.f32()?];
        let temperature = r.f32()?;
        let scale = r.f32()?;
        for (what, v, positive) in [
            ("temperature", temperature, true),
            ("weight scale", scale, true),
            ("bias", bias[0], false),
            ("bias", bias[1], false),
            ("bias", bias[2], false),
        ] {
            if !v.is_finite() || (positive && v <= 0.0) {
                return Err(ModelError::Corrupt(format!("{what} {v}")));
            }
        }
        let raw = r.take(buckets * CLASSES)?;
        let packed = raw
            .chunks_exact(CLASSES)
            .map(|b| pack([b[0] as i8, b[1] as i8, b[2] as i8]))
            .collect();
        Model::from_parts(header, Quantized { packed, scale, bias }, temperature)
    }
}

/// A bounds-checked little-endian reader.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(ModelError::Truncated {
                needed: self.at.saturating_add(n),
                got: self.bytes.len(),
            })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self) -> Result<f32, ModelError> {
        Ok(f32::from_bits(self.u32()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Model {
        let header = ModelHeader {
            classes: Label::ALL.iter().map(|l| l.as_str().to_string()).collect(),
            features: FeatureConfig {
                bits: 10,
                ..FeatureConfig::default()
            },
            training: TrainingInfo {
                config: TrainConfig::default(),
                rows: 0,
                class_rows: [0; CLASSES],
                data_digest: String::new(),
                files: vec![],
            },
            eval: None,
            online_updates: 0,
        };
        let mut linear = Linear::zeros(1024);
        for (i, w) in linear.w.iter_mut().enumerate() {
            *w = (i % 7) as f32 * 0.25 - 0.5;
        }
        linear.bias = [0.5, -0.25, 0.125];
        Model::new(header, linear, 1.5).unwrap()
    }

    #[test]
    fn round_trips_byte_for_byte() {
        let m = tiny();
        let bytes = m.to_bytes();
        let back = Model::from_bytes(&bytes).unwrap();
        assert_eq!(back.header, m.header);
        assert_eq!(back.quant, m.quant);
        assert_eq!(back.temperature, m.temperature);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn refuses_truncated_files_at_every_length() {
        let bytes = tiny().to_bytes();
        for n in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
            let err = Model::from_bytes(&bytes[..n]).unwrap_err();
            assert!(matches!(err, ModelError::Truncated { .. }), "length {n}: {err}");
        }
    }

    #[test]
    fn refuses_other_versions_magic_and_corruption() {
        let bytes = tiny().to_bytes();
        for other in [1u8, 3] {
            let mut v = bytes.clone();
            v[8] = other;
            let err = Model::from_bytes(&v).unwrap_err();
            assert!(
                matches!(err, ModelError::Version { found } if found == other as u32),
                "{err}"
            );
            assert!(err.to_string().contains("retrain"), "{err}");
        }
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert!(matches!(Model::from_bytes(&magic), Err(ModelError::NotAModel)));
        // Flip one bit anywhere after the fixed prefix: always refused, never a panic.
        for at in (16..bytes.len()).step_by(61) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(Model::from_bytes(&bad).is_err(), "flip at {at} accepted");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(Model::from_bytes(&longer), Err(ModelError::Corrupt(_))));
        let msg = Model::from_bytes(&bytes[..100]).unwrap_err().to_string();
        assert!(msg.starts_with("model file is truncated"), "{msg}");
    }

    #[test]
    fn online_learning_moves_toward_the_label() {
        let mut m = tiny();
        let mut fs = FeatureScratch::default();
        let f = m.featurizer.clone();
        let text = "Chuc mung ban trung thuong";
        let norm = crate::normalize::Normalized::new(text);
        f.extract(
            &norm,
            text,
            &crate::extract::Findings::default(),
            &crate::phone::SenderId::Unknown,
            &mut fs,
        );
        let (before, after) = m.learn(&fs, Label::Scam, 0.5);
        assert!(after > before, "{before} -> {after}");
        assert_eq!(m.header.online_updates, 1);
        let back = Model::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back.header.online_updates, 1);
        assert_eq!(back.predict(&fs), m.predict(&fs));
    }

    #[test]
    fn the_shipped_model_loads() {
        let m = Model::shipped().unwrap();
        assert_eq!(m.header().classes, ["ham", "spam", "scam"]);
        assert!(m.header().training.rows > 0);
    }
}
