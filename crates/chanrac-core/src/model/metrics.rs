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

/// One point of a ROC curve: messages scoring at least `threshold` are called unwanted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocPoint {
    /// The lowest score called unwanted.
    pub threshold: f32,
    /// Share of the unwanted messages called unwanted.
    pub recall: f64,
    /// Share of ham called unwanted.
    pub fpr: f64,
    /// Precision and recall's harmonic mean at this point.
    pub f1: f64,
}

/// The ROC curve of scores (such as P(spam) + P(scam)) against unwanted-or-not labels: one
/// point per distinct score, from the highest.
#[derive(Debug, Clone, Default)]
pub struct Roc {
    points: Vec<RocPoint>,
    auc: f64,
}

impl Roc {
    /// The curve of `scores` (`true` in `unwanted` for spam or scam); NaN scores count as the
    /// lowest.
    pub fn new(scores: &[f32], unwanted: &[bool]) -> Roc {
        let mut order: Vec<(f32, bool)> = scores
            .iter()
            .map(|&s| if s.is_nan() { f32::NEG_INFINITY } else { s })
            .zip(unwanted.iter().copied())
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        let pos = unwanted.iter().filter(|&&u| u).count() as u64;
        let neg = order.len() as u64 - pos;
        let (mut tp, mut fp) = (0u64, 0u64);
        let mut points = Vec::new();
        let mut auc = 0.0;
        let mut i = 0;
        while i < order.len() {
            let threshold = order[i].0;
            let (tp0, fp0) = (tp, fp);
            while i < order.len() && order[i].0 == threshold {
                if order[i].1 {
                    tp += 1;
                } else {
                    fp += 1;
                }
                i += 1;
            }
            // Trapezoid between the previous point and this one (ties make a diagonal).
            auc += (fp - fp0) as f64 * (tp + tp0) as f64 / 2.0;
            let (recall, fpr) = (ratio(tp, pos), ratio(fp, neg));
            points.push(RocPoint {
                threshold,
                recall,
                fpr,
                f1: f1(ratio(tp, tp + fp), recall),
            });
        }
        Roc {
            points,
            auc: if pos == 0 || neg == 0 {
                0.0
            } else {
                auc / (pos * neg) as f64
            },
        }
    }

    /// The area under the curve (0 when one side is empty).
    pub fn auc(&self) -> f64 {
        self.auc
    }

    /// The point of highest recall whose FPR is at most `max_fpr` (recall 0 when none is).
    pub fn at_fpr(&self, max_fpr: f64) -> RocPoint {
        self.points
            .iter()
            .take_while(|p| p.fpr <= max_fpr)
            .last()
            .copied()
            .unwrap_or(RocPoint {
                threshold: f32::INFINITY,
                recall: 0.0,
                fpr: 0.0,
                f1: 0.0,
            })
    }

    /// The point of highest F1 whose FPR is at most `max_fpr`.
    pub fn best_f1(&self, max_fpr: f64) -> Option<RocPoint> {
        self.points
            .iter()
            .take_while(|p| p.fpr <= max_fpr)
            .copied()
            .max_by(|a, b| a.f1.total_cmp(&b.f1))
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
    fn roc_points_and_area_by_hand() {
        // Scores high to low: u, h, u, (u, h tied), h.
        let scores = [0.9, 0.8, 0.7, 0.5, 0.5, 0.1];
        let unwanted = [true, false, true, true, false, false];
        let roc = Roc::new(&scores, &unwanted);
        // Area: the (unwanted, ham) pairs ranked right, a tie counting half: of 9 pairs,
        // 3 (for 0.9) + 2 (for 0.7) + 1.5 (for 0.5) = 6.5.
        assert!((roc.auc() - 6.5 / 9.0).abs() < 1e-12, "{}", roc.auc());
        let p = roc.at_fpr(0.0);
        assert_eq!((p.threshold, p.recall, p.fpr), (0.9, 1.0 / 3.0, 0.0));
        let p = roc.at_fpr(0.34);
        assert_eq!(p.threshold, 0.7);
        assert!((p.recall - 2.0 / 3.0).abs() < 1e-12);
        let p = roc.at_fpr(0.7);
        assert_eq!(p.threshold, 0.5);
        assert_eq!(p.recall, 1.0);
        let best = roc.best_f1(1.0).unwrap();
        assert_eq!(best.threshold, 0.5);
        assert!((best.f1 - 0.75).abs() < 1e-12);
        assert_eq!(Roc::new(&[0.5], &[true]).auc(), 0.0);
    }

    #[test]
    fn empty_tally_has_zero_figures() {
        let r = Tally::default().report();
        assert_eq!(r.n, 0);
        assert_eq!(r.accuracy, 0.0);
        assert_eq!(r.unwanted.f1, 0.0);
    }
}
