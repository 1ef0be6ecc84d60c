//! Evaluation figures: per-class precision, recall and F1, and the figures for *unwanted*
//! (spam or scam, in the label and in the prediction alike), from a confusion matrix.

use serde::{Deserialize, Serialize};

use super::{CLASSES, Label};

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassStats {
    /// Share of the messages predicted in the class that are in it (0 when none is predicted).
    pub precision: f64,
    /// Share of the messages in the class that are predicted in it (0 when there are none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Messages labeled with the class.
    pub support: u64,
}

/// The three classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classes {
    /// Ham.
    pub ham: ClassStats,
    /// Spam.
    pub spam: ClassStats,
    /// Scam.
    pub scam: ClassStats,
}

/// Unwanted (spam or scam) against ham.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unwanted {
    /// Share of the messages predicted unwanted that are labeled unwanted.
    pub precision: f64,
    /// Share of the unwanted messages predicted unwanted.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// Share of ham predicted unwanted (the false-positive rate).
    pub fpr: f64,
}

/// The confusion matrix: `matrix[label][predicted]`, both in the order of `labels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confusion {
    /// Always `["ham", "spam", "scam"]`.
    pub labels: Vec<String>,
    /// Rows: the label; columns: the prediction.
    pub matrix: Vec<Vec<u64>>,
}

/// The evaluation figures (the shape `chanrac eval --json` prints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Messages evaluated.
    pub n: u64,
    /// Share predicted in their own class.
    pub accuracy: f64,
    /// Per class.
    pub classes: Classes,
    /// Unwanted against ham.
    pub unwanted: Unwanted,
    /// The confusion matrix.
    pub confusion: Confusion,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

/// Counts predictions against labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// `m[label][predicted]`.
    pub m: [[u64; CLASSES]; CLASSES],
}

impl Tally {
    /// Counts one message.
    pub fn add(&mut self, label: Label, predicted: Label) {
        self.m[label as usize][predicted as usize] += 1;
    }

    /// Adds another tally.
    pub fn merge(&mut self, o: &Tally) {
        for l in 0..CLASSES {
            for p in 0..CLASSES {
                self.m[l][p] += o.m[l][p];
            }
        }
    }

    /// The figures.
    pub fn report(&self) -> Report {
        let m = &self.m;
        let n: u64 = m.iter().flatten().sum();
        let correct: u64 = (0..CLASSES).map(|c| m[c][c]).sum();
        let class = |c: usize| {
            let predicted: u64 = (0..CLASSES).map(|l| m[l][c]).sum();
            let support: u64 = m[c].iter().sum();
            let precision = ratio(m[c][c], predicted);
            let recall = ratio(m[c][c], support);
            ClassStats {
                precision,
                recall,
                f1: f1(precision, recall),
                support,
            }
        };
        let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
        for l in Label::ALL {
            for p in Label::ALL {
                let k = m[l as usize][p as usize];
                match (l.is_unwanted(), p.is_unwanted()) {
                    (true, true) => tp += k,
                    (false, true) => fp += k,
                    (true, false) => fn_ += k,
                    (false, false) => tn += k,
                }
            }
        }
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        Report {
            n,
            accuracy: ratio(correct, n),
            classes: Classes {
                ham: class(0),
                spam: class(1),
                scam: class(2),
            },
            unwanted: Unwanted {
                precision,
                recall,
                f1: f1(precision, recall),
                fpr: ratio(fp, fp + tn),
            },
            confusion: Confusion {
                labels: Label::ALL.iter().map(|l| l.as_str().to_string()).collect(),
                matrix: m.iter().map(|r| r.to_vec()).collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (label, predicted, count) → expected figures, worked out by hand.
    #[test]
    fn figures_from_a_known_matrix() {
        let mut t = Tally::default();
        for (l, p, k) in [
            (Label::Ham, Label::Ham, 90),
            (Label::Ham, Label::Spam, 2),
            (Label::Ham, Label::Scam, 0),
            (Label::Spam, Label::Spam, 6),
            (Label::Spam, Label::Scam, 1),
            (Label::Spam, Label::Ham, 1),
            (Label::Scam, Label::Scam, 0),
        ] {
            for _ in 0..k {
                t.add(l, p);
            }
        }
        let r = t.report();
        assert_eq!(r.n, 100);
        assert!((r.accuracy - 0.96).abs() < 1e-12);
        assert!((r.classes.spam.precision - 0.75).abs() < 1e-12);
        assert!((r.classes.spam.recall - 0.75).abs() < 1e-12);
        assert_eq!(r.classes.scam.support, 0);
        assert_eq!(r.classes.scam.recall, 0.0);
        // Unwanted: tp 7 (spam→spam, spam→scam), fp 2, fn 1, tn 90.
        assert!((r.unwanted.precision - 7.0 / 9.0).abs() < 1e-12);
        assert!((r.unwanted.recall - 7.0 / 8.0).abs() < 1e-12);
        assert!((r.unwanted.fpr - 2.0 / 92.0).abs() < 1e-12);
        assert_eq!(r.confusion.matrix[1], [1, 6, 1]);
    }

    #[test]
    fn empty_tally_has_zero_figures() {
        let r = Tally::default().report();
        assert_eq!(r.n, 0);
        assert_eq!(r.accuracy, 0.0);
        assert_eq!(r.unwanted.f1, 0.0);
    }
}
