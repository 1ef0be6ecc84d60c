//! Precision and recall of the suspects against labeled callers (generated data).

use std::collections::HashMap;

use serde::Serialize;

use crate::cdr::{Cdr, Label};
use crate::detect::Suspect;
use crate::number::Number;
use crate::signal::CallCategory;

/// The callers' labels, gathered from labeled records.
#[derive(Debug, Default, Clone)]
pub struct Scorecard {
    labels: HashMap<Number, Label>,
}

/// One category's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindScore {
    /// The category (`robocall`…), or `unwanted` for all of them together.
    pub kind: &'static str,
    /// Callers labeled with it.
    pub labeled: u64,
    /// Suspects given it.
    pub flagged: u64,
    /// Suspects given it that are labeled with it.
    pub correct: u64,
    /// Callers labeled with it that are suspected, in any category.
    pub detected: u64,
    /// `correct / flagged` (1 when nothing was flagged).
    pub precision: f64,
    /// `correct / labeled` (1 when nothing was labeled).
    pub recall: f64,
}

/// Precision and recall per category and overall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// Labeled callers (ham and unwanted).
    pub callers: u64,
    /// Per category.
    pub kinds: Vec<KindScore>,
    /// Every unwanted category together: a suspect counts as correct when it is labeled
    /// unwanted, whatever the category.
    pub overall: KindScore,
    /// Legitimate callers suspected, with their numbers (at most 20).
    pub false_positives: Vec<String>,
    /// Unwanted callers missed (at most 20), with their labels.
    pub missed: Vec<(String, &'static str)>,
}

impl std::fmt::Display for Accuracy {
    /// A table: one line per category and one for all unwanted callers, then the
    /// legitimate callers suspected and the unwanted ones missed (if any), each line
    /// indented by two spaces.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "  {:<14} {:>8} {:>8} {:>8} {:>10} {:>8}",
            "category", "labeled", "flagged", "correct", "precision", "recall"
        )?;
        for k in self.kinds.iter().chain(std::iter::once(&self.overall)) {
            writeln!(
                f,
                "  {:<14} {:>8} {:>8} {:>8} {:>9.1}% {:>7.1}%",
                k.kind,
                k.labeled,
                k.flagged,
                k.correct,
                k.precision * 100.0,
                k.recall * 100.0
            )?;
        }
        if !self.false_positives.is_empty() {
            writeln!(f, "  legitimate callers suspected: {}", self.false_positives.join(", "))?;
        }
        if !self.missed.is_empty() {
            let m: Vec<String> = self.missed.iter().map(|(n, l)| format!("{n} ({l})")).collect();
            writeln!(f, "  missed: {}", m.join(", "))?;
        }
        Ok(())
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl Scorecard {
    /// Records the caller's label of a labeled record (an unlabeled one is ignored).
    pub fn observe(&mut self, cdr: &Cdr) {
        if let Some(l) = cdr.label {
            self.labels.entry(cdr.caller).or_insert(l);
        }
    }

    /// True when some record was labeled.
    pub fn is_labeled(&self) -> bool {
        !self.labels.is_empty()
    }

    /// Scores the suspects.
    pub fn score(&self, suspects: &[Suspect]) -> Accuracy {
        let flagged: HashMap<Number, CallCategory> = suspects
            .iter()
            .filter_map(|s| Number::parse(&s.number).ok().map(|n| (n, s.category)))
            .collect();
        let mut kinds = Vec::new();
        for kind in CallCategory::ALL {
            let want = Label::Unwanted(kind);
            let labeled = self.labels.values().filter(|l| **l == want).count() as u64;
            let given: Vec<&Number> = flagged.iter().filter(|(_, c)| **c == kind).map(|(n, _)| n).collect();
            let correct = given.iter().filter(|n| self.labels.get(n) == Some(&want)).count() as u64;
            let detected = self
                .labels
                .iter()
                .filter(|(n, l)| **l == want && flagged.contains_key(n))
                .count() as u64;
            kinds.push(KindScore {
                kind: kind.as_str(),
                labeled,
                flagged: given.len() as u64,
                correct,
                detected,
                precision: ratio(correct, given.len() as u64),
                recall: ratio(correct, labeled),
            });
        }
        let unwanted = self.labels.values().filter(|l| **l != Label::Ham).count() as u64;
        let flagged_labeled: Vec<(&Number, &Label)> = flagged
            .keys()
            .filter_map(|n| self.labels.get(n).map(|l| (n, l)))
            .collect();
        let hits = flagged_labeled.iter().filter(|(_, l)| **l != Label::Ham).count() as u64;
        let mut false_positives: Vec<String> = flagged_labeled
            .iter()
            .filter(|(_, l)| **l == Label::Ham)
            .map(|(n, _)| n.to_string())
            .collect();
        false_positives.sort();
        false_positives.truncate(20);
        let mut missed: Vec<(String, &'static str)> = self
            .labels
            .iter()
            .filter(|(n, l)| **l != Label::Ham && !flagged.contains_key(n))
            .map(|(n, l)| (n.to_string(), l.as_str()))
            .collect();
        missed.sort();
        missed.truncate(20);
        Accuracy {
            callers: self.labels.len() as u64,
            kinds,
            overall: KindScore {
                kind: "unwanted",
                labeled: unwanted,
                flagged: flagged_labeled.len() as u64,
                correct: hits,
                detected: hits,
                precision: ratio(hits, flagged_labeled.len() as u64),
                recall: ratio(hits, unwanted),
            },
            false_positives,
            missed,
        }
    }
}
