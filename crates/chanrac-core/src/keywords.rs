//! Keyword mining: the words and phrases that mark spam, ranked against a ham baseline.
//!
//! The rules ask the regulator to "collect the keywords that appear most in spam and update
//! the blocking system". [`Miner`] counts, per document, the word uni-, bi- and trigrams of
//! the folded text (lower case, no diacritics, look-alikes undone: the form rules match
//! on), in unwanted and in ham messages, and [`Miner::propose`] ranks them by the **log-odds
//! ratio with an informative Dirichlet prior** (Monroe, Colaresi and Quinn, *Fightin' Words*,
//! 2008) over document frequencies:
//!
//! ```text
//! α_w  = α₀ · (y_w,u + y_w,h) / (n_u + n_h)          prior from the pooled corpus
//! δ_w  = logit((y_w,u + α_w) / (n_u + α₀)) − logit((y_w,h + α_w) / (n_h + α₀))
//! z_w  = δ_w / sqrt(1 / (y_w,u + α_w) + 1 / (y_w,h + α_w))
//! ```
//!
//! where `y_w,c` is the number of documents of class `c` containing `w` and `n_c` the number
//! of documents. The z-score rewards phrases that are both frequent in spam and rare in ham,
//! and shrinks rare phrases toward the pooled rate, so that a word seen twice does not top
//! the list. A proposal must then pass hard filters: it fires on at most
//! [`MinerConfig::max_ham_rate`] of the ham baseline (0.1 % by default) — judged by the
//! exact one-sided 95 % upper confidence bound of its ham rate, not the observed rate, so
//! that "seen in no ham" on a baseline of 3,000 messages (bound 0.1 %) is not mistaken for
//! "fires on no ham" — and on at least [`MinerConfig::min_docs`] unwanted documents. Then,
//! in rank order, a greedy cover keeps a phrase only when it contains no kept phrase (the
//! shorter one already fires wherever it would) and, unless [`MinerConfig::keep_covered`],
//! when it catches at least one unwanted document that the engine missed and no kept phrase
//! catches: every proposal adds recall, and [`Proposal::adds_docs`] says how much.
//!
//! Pure: the caller folds texts ([`Normalized`]) and decides what "caught" means.
//! [`rule_pack`] writes keywords as a rule pack (TOML), one rule per phrase, for
//! `chanrac keywords --out-rules` and for the hub's pack of approved keywords.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::model::Label;
use crate::normalize::Normalized;

/// Settings of [`Miner::propose`].
#[derive(Debug, Clone, PartialEq)]
pub struct MinerConfig {
    /// The longest phrase, in words (1 to 3).
    pub max_words: usize,
    /// The fewest unwanted documents a proposal must occur in.
    pub min_docs: u32,
    /// The largest share of ham documents a proposal may occur in (0.001 = 0.1 %).
    pub max_ham_rate: f64,
    /// α₀, the strength of the Dirichlet prior (in documents).
    pub prior: f64,
    /// The smallest z-score kept.
    pub min_z: f64,
    /// How many proposals to return at most.
    pub top: usize,
    /// Keep proposals whose every unwanted document was already caught.
    pub keep_covered: bool,
}

impl Default for MinerConfig {
    fn default() -> Self {
        MinerConfig {
            max_words: 3,
            min_docs: 5,
            max_ham_rate: 0.001,
            prior: 100.0,
            min_z: 3.0,
            top: 50,
            keep_covered: false,
        }
    }
}

/// Per-phrase document counts.
#[derive(Debug, Clone, Default)]
struct Counts {
    ham: u32,
    spam: u32,
    scam: u32,
    /// Unwanted documents containing it that the engine did not catch (their indices).
    missed: Vec<u32>,
    /// The first unwanted document containing it (index in insertion order), for an example.
    example: Option<u32>,
}

/// One proposed keyword.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The phrase, in folded form (lower case, no diacritics, single spaces).
    pub phrase: String,
    /// Its z-score (see the module documentation).
    pub z: f64,
    /// The log-odds ratio δ.
    pub log_odds: f64,
    /// Whether it points to spam or to scam (the larger of the two document counts).
    pub label: Label,
    /// Unwanted (spam + scam) documents containing it.
    pub unwanted_docs: u32,
    /// Of those, the ones the engine had not caught.
    pub missed_docs: u32,
    /// Of those, the ones no better-ranked proposal covers: the recall this one adds.
    pub adds_docs: u32,
    /// Ham documents containing it.
    pub ham_docs: u32,
    /// Its share of the unwanted documents.
    pub unwanted_rate: f64,
    /// Its share of the ham documents.
    pub ham_rate: f64,
    /// The one-sided 95 % upper confidence bound of its ham rate (exact binomial): what
    /// [`MinerConfig::max_ham_rate`] is compared with, so that a phrase seen in no ham of a
    /// small baseline is not taken for one that fires on no ham at all.
    pub ham_rate_upper: f64,
    /// The index (in the order documents were added) of an unwanted document containing it.
    pub example: Option<u32>,
}

/// Counts phrases over documents; see the module documentation.
#[derive(Debug, Default)]
pub struct Miner {
    max_words: usize,
    counts: HashMap<Box<str>, Counts>,
    /// Documents per class: ham, spam, scam.
    docs: [u32; 3],
    /// Unwanted documents added so far (the example index).
    unwanted_seen: u32,
    /// Scratch: the phrases of the current document, to count each once.
    seen: Vec<(usize, usize)>,
    words: Vec<(usize, usize)>,
}

impl Miner {
    /// A miner of phrases up to `max_words` words (clamped to 1..=3).
    pub fn new(max_words: usize) -> Self {
        Miner {
            max_words: max_words.clamp(1, 3),
            ..Miner::default()
        }
    }

    /// Documents added per class (ham, spam, scam).
    pub fn docs(&self) -> (u32, u32, u32) {
        (self.docs[0], self.docs[1], self.docs[2])
    }

    /// Distinct phrases counted so far.
    pub fn phrases(&self) -> usize {
        self.counts.len()
    }

    /// Adds one document: its folded form, its label, and whether the engine already
    /// catches it (for unwanted documents; ignored for ham).
    pub fn add(&mut self, folded: &Normalized, label: Label, caught: bool) {
        let text = folded.text();
        self.words.clear();
        let mut start = None;
        for (i, b) in text.bytes().enumerate().chain(std::iter::once((text.len(), b' '))) {
            if b.is_ascii_alphanumeric() {
                start.get_or_insert(i);
            } else if let Some(s) = start.take() {
                self.words.push((s, i));
            }
        }
        // Phrases never cross a number (amounts, codes, phone numbers are template-specific)
        // or a one-letter word.
        let usable = |&(s, e): &(usize, usize)| e - s >= 2 && !text[s..e].bytes().any(|b| b.is_ascii_digit());
        self.seen.clear();
        for i in 0..self.words.len() {
            for n in 1..=self.max_words {
                if i + n > self.words.len() || !self.words[i..i + n].iter().all(usable) {
                    break;
                }
                self.seen.push((self.words[i].0, self.words[i + n - 1].1));
            }
        }
        // Each phrase once per document, however often it occurs.
        self.seen.sort_unstable_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
        self.seen.dedup_by(|a, b| text[a.0..a.1] == text[b.0..b.1]);
        let class = label as usize;
        self.docs[class] += 1;
        let example = (label != Label::Ham).then_some(self.unwanted_seen);
        if example.is_some() {
            self.unwanted_seen += 1;
        }
        for &(s, e) in &self.seen {
            let phrase = &text[s..e];
            // Look up before inserting: a known phrase costs no allocation.
            if !self.counts.contains_key(phrase) {
                self.counts.insert(phrase.into(), Counts::default());
            }
            let Some(c) = self.counts.get_mut(phrase) else {
                continue;
            };
            match label {
                Label::Ham => c.ham += 1,
                Label::Spam => c.spam += 1,
                Label::Scam => c.scam += 1,
            }
            if label != Label::Ham {
                if !caught {
                    c.missed.push(self.unwanted_seen - 1);
                }
                if c.example.is_none() {
                    c.example = example;
                }
            }
        }
    }

    /// Ranks and filters the phrases (see the module documentation), best first.
    pub fn propose(&self, cfg: &MinerConfig) -> Vec<Proposal> {
        let n_ham = f64::from(self.docs[0]);
        let n_unw = f64::from(self.docs[1] + self.docs[2]);
        if n_ham == 0.0 || n_unw == 0.0 {
            return Vec::new();
        }
        let logit = |p: f64| (p / (1.0 - p)).ln();
        let mut all: Vec<Proposal> = self
            .counts
            .iter()
            .filter_map(|(phrase, c)| {
                let y_u = f64::from(c.spam + c.scam);
                let y_h = f64::from(c.ham);
                let ham_rate = y_h / n_ham;
                if c.spam + c.scam < cfg.min_docs || ham_rate > cfg.max_ham_rate {
                    return None;
                }
                if !cfg.keep_covered && c.missed.is_empty() {
                    return None;
                }
                let ham_rate_upper = binomial_upper(c.ham, self.docs[0], 0.05);
                if ham_rate_upper > cfg.max_ham_rate {
                    return None;
                }
                let alpha = cfg.prior * (y_u + y_h) / (n_unw + n_ham);
                let p_u = (y_u + alpha) / (n_unw + cfg.prior);
                let p_h = (y_h + alpha) / (n_ham + cfg.prior);
                let delta = logit(p_u) - logit(p_h);
                let z = delta / (1.0 / (y_u + alpha) + 1.0 / (y_h + alpha)).sqrt();
                (z.is_finite() && z >= cfg.min_z).then(|| Proposal {
                    phrase: phrase.to_string(),
                    z,
                    log_odds: delta,
                    label: if c.scam > c.spam { Label::Scam } else { Label::Spam },
                    unwanted_docs: c.spam + c.scam,
                    missed_docs: c.missed.len() as u32,
                    adds_docs: 0,
                    ham_docs: c.ham,
                    unwanted_rate: y_u / n_unw,
                    ham_rate,
                    ham_rate_upper,
                    example: c.example,
                })
            })
            .collect();
        all.sort_by(|a, b| b.z.total_cmp(&a.z).then_with(|| a.phrase.cmp(&b.phrase)));
        // Greedy cover: in rank order, keep a phrase when it contains no kept phrase and
        // (unless `keep_covered`) catches a missed document no kept phrase catches.
        let mut covered = vec![false; self.unwanted_seen as usize];
        let mut out: Vec<Proposal> = Vec::new();
        for mut p in all {
            if out.len() >= cfg.top {
                break;
            }
            if out.iter().any(|q| contains_phrase(&p.phrase, &q.phrase)) {
                continue;
            }
            let missed = &self.counts[p.phrase.as_str()].missed;
            p.adds_docs = missed.iter().filter(|&&i| !covered[i as usize]).count() as u32;
            if p.adds_docs == 0 && !cfg.keep_covered {
                continue;
            }
            for &i in missed {
                covered[i as usize] = true;
            }
            out.push(p);
        }
        out
    }
}

/// The one-sided upper confidence bound (level `1 - alpha`) of a binomial rate after `x`
/// successes in `n` trials (Clopper-Pearson): the `p` at which `P(X ≤ x) = alpha`, found by
/// bisection on the CDF computed in log space (no underflow for millions of trials).
pub fn binomial_upper(x: u32, n: u32, alpha: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    if x >= n {
        return 1.0;
    }
    let cdf = |p: f64| -> f64 {
        let (n, lp, lq) = (f64::from(n), p.ln(), (1.0 - p).ln());
        let mut log_term = n * lq;
        let mut total = log_term.exp();
        for k in 0..x {
            let k = f64::from(k);
            log_term += ((n - k) / (k + 1.0)).ln() + lp - lq;
            total += log_term.exp();
        }
        total
    };
    let (mut lo, mut hi) = (f64::from(x) / f64::from(n), 1.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) > alpha { lo = mid } else { hi = mid }
    }
    hi
}

/// Whether `phrase` contains `part` as whole words.
fn contains_phrase(phrase: &str, part: &str) -> bool {
    phrase.match_indices(part).any(|(i, _)| {
        let before = i == 0 || phrase.as_bytes()[i - 1] == b' ';
        let end = i + part.len();
        let after = end == phrase.len() || phrase.as_bytes()[end] == b' ';
        before && after
    })
}

/// One keyword as a rule of a pack written by [`rule_pack`].
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordRule {
    /// The rule's id, for example from [`rule_id`].
    pub id: String,
    /// The phrase in folded form.
    pub phrase: String,
    /// Spam or scam: the rule's topic is `mined_spam` or `mined_scam`.
    pub label: Label,
    /// The rule's weight.
    pub weight: f32,
    /// Its description.
    pub description: String,
    /// A message it occurs in, written as a comment (first 120 characters).
    pub example: Option<String>,
}

/// A rule id for a phrase: `prefix` and the phrase in upper case, every character that is
/// not an ASCII letter or digit as `_` (`rule_id("MINED_", "your mobile")` is
/// `MINED_YOUR_MOBILE`). Stable across runs; [`rule_pack`] makes ids unique.
pub fn rule_id(prefix: &str, phrase: &str) -> String {
    let mut id = String::from(prefix);
    id.extend(phrase.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    id
}

/// Keywords as a rule pack (TOML) that [`crate::RuleSet`] loads: one rule per keyword, with
/// `header` as its leading comment (each line prefixed with `# `). Two keywords with the same
/// id (phrases that differ only in characters an id cannot hold) get `_2`, `_3`… suffixes.
pub fn rule_pack(header: &str, rules: &[KeywordRule]) -> String {
    let mut s = String::new();
    for line in header.lines() {
        let _ = writeln!(s, "# {line}");
    }
    let mut ids = HashSet::new();
    for r in rules {
        let mut id = r.id.clone();
        let mut n = 1;
        while !ids.insert(id.clone()) {
            n += 1;
            id = format!("{}_{n}", r.id);
        }
        let topic = if r.label == Label::Scam {
            "mined_scam"
        } else {
            "mined_spam"
        };
        let _ = write!(
            s,
            "\n[[rule]]\nid = {id}\ncategory = {topic}\nweight = {weight:.1}\ndescription = {description}\n\
             keywords = [{phrase}]\nfires = [{phrase}]\n",
            id = toml_string(&id),
            topic = toml_string(topic),
            weight = r.weight,
            description = toml_string(&r.description),
            phrase = toml_string(&r.phrase),
        );
        if let Some(e) = &r.example {
            let e: String = e
                .chars()
                .take(120)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let _ = writeln!(s, "# seen in: {e}");
        }
    }
    s
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miner(docs: &[(&str, Label, bool)]) -> Miner {
        let mut m = Miner::new(3);
        let mut n = Normalized::default();
        for (text, label, caught) in docs {
            n.fold(text);
            m.add(&n, *label, *caught);
        }
        m
    }

    fn loose() -> MinerConfig {
        MinerConfig {
            min_docs: 2,
            max_ham_rate: 0.2,
            min_z: 0.0,
            ..MinerConfig::default()
        }
    }

    #[test]
    fn ranks_spam_words_over_shared_ones_and_folds_them() {
        let mut docs = Vec::new();
        for i in 0..10 {
            docs.push(("Nhận QUÀ TẶNG miễn phí hôm nay", Label::Spam, i % 2 == 0));
            docs.push(("hôm nay đi học nhé", Label::Ham, false));
            docs.push(("hôm nay ăn gì", Label::Ham, false));
        }
        let m = miner(&docs);
        assert_eq!(m.docs(), (20, 10, 0));
        let p = m.propose(&loose());
        assert!(!p.is_empty());
        // Folded, diacritic-free; the shared phrase never comes up.
        assert!(p.iter().all(|p| !p.phrase.contains("hom nay")), "{p:?}");
        let spam_words = ["nhan", "qua", "tang", "mien", "phi"];
        assert!(
            p.iter().all(|p| p.phrase.split(' ').all(|w| spam_words.contains(&w))),
            "{p:?}"
        );
        // Longer phrases that contain a better proposal are dropped.
        for a in &p {
            for b in &p {
                assert!(
                    a.phrase == b.phrase || !contains_phrase(&a.phrase, &b.phrase),
                    "{a:?} contains {b:?}"
                );
            }
        }
        assert!(
            p.iter()
                .all(|p| p.unwanted_docs == 10 && p.missed_docs == 5 && p.ham_docs == 0)
        );
        // They all catch the same five missed documents: only the first adds recall.
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].adds_docs, 5);
    }

    #[test]
    fn the_ham_bound_is_exact() {
        // The rule of three: no success in n trials bounds the rate near 3/n at 95 %.
        let u = binomial_upper(0, 3000, 0.05);
        assert!((u - 2.995 / 3000.0).abs() < 1e-5, "{u}");
        // Known Clopper-Pearson one-sided values: x=1, n=100 → 0.0466; x=5, n=1000 → 0.0105.
        assert!((binomial_upper(1, 100, 0.05) - 0.0466).abs() < 1e-3);
        assert!((binomial_upper(5, 1000, 0.05) - 0.0105).abs() < 2e-4);
        // Millions of trials do not underflow.
        let big = binomial_upper(10, 10_000_000, 0.05);
        assert!(big > 1e-6 && big < 2e-6, "{big}");
        assert_eq!(binomial_upper(0, 0, 0.05), 1.0);
    }

    #[test]
    fn the_ham_filter_and_the_coverage_filter_hold() {
        let mut docs = Vec::new();
        for _ in 0..20 {
            docs.push(("vay tien nhanh lai thap", Label::Spam, true));
            docs.push(("khuyen mai dac biet", Label::Scam, false));
        }
        for i in 0..100 {
            docs.push((if i < 5 { "lai thap qua" } else { "di choi khong" }, Label::Ham, false));
        }
        let m = miner(&docs);
        let strict = MinerConfig {
            min_z: 0.0,
            max_ham_rate: 0.05,
            ..MinerConfig::default()
        };
        let p = m.propose(&strict);
        // Everything from the loan text was caught already; "lai thap" is also in 5 % of ham.
        assert!(
            p.iter().all(|p| !p.phrase.contains("vay") && !p.phrase.contains("lai")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|p| "khuyen mai dac biet".contains(p.phrase.as_str()) && p.label == Label::Scam),
            "{p:?}"
        );
        let all = m.propose(&MinerConfig {
            keep_covered: true,
            ..strict.clone()
        });
        assert!(all.iter().any(|p| p.phrase.contains("vay")), "{all:?}");
        assert!(all.iter().all(|p| p.ham_rate_upper <= 0.05));
    }

    #[test]
    fn numbers_and_single_letters_break_phrases() {
        let m = miner(&[("goi 0912345678 ngay a b nhan", Label::Spam, false)]);
        let p = m.propose(&MinerConfig {
            min_docs: 1,
            max_ham_rate: 1.0,
            min_z: f64::MIN,
            ..MinerConfig::default()
        });
        // No ham at all: nothing can be ranked.
        assert!(p.is_empty());
        assert!(m.counts.keys().all(|k| !k.bytes().any(|b| b.is_ascii_digit())));
        assert!(!m.counts.contains_key("goi ngay") && !m.counts.contains_key("a b"));
        assert!(m.counts.contains_key("goi") && m.counts.contains_key("nhan"));
    }

    #[test]
    fn a_phrase_repeated_in_one_document_counts_once() {
        let m = miner(&[
            ("free free free prize", Label::Spam, false),
            ("hello there", Label::Ham, false),
        ]);
        assert_eq!(m.counts["free"].spam, 1);
        assert_eq!(m.counts["free free"].spam, 1);
    }

    #[test]
    fn whole_word_containment() {
        assert!(contains_phrase("vay tien nhanh", "tien"));
        assert!(!contains_phrase("vay tienmat", "tien"));
        assert!(contains_phrase("tien", "tien"));
    }

    #[test]
    fn a_rule_pack_loads_with_unique_ids_and_escaped_text() {
        let rule = |phrase: &str, label| KeywordRule {
            id: rule_id("HUB_KW_", phrase),
            phrase: phrase.to_string(),
            label,
            weight: 3.0,
            description: "approved \"by\" the hub".to_string(),
            example: Some("line one\nline two".to_string()),
        };
        assert_eq!(rule_id("MINED_", "your mobile"), "MINED_YOUR_MOBILE");
        assert_eq!(rule_id("HUB_KW_", "nạp ví"), "HUB_KW_N_P_V_");
        let pack = rule_pack(
            "header\nsecond line",
            &[
                rule("zorbix coin", Label::Spam),
                rule("zorbix-coin", Label::Scam),
                rule("vong quay", Label::Spam),
            ],
        );
        let rules = crate::RuleSet::from_sources(vec![("hub", pack.as_str())]).unwrap();
        let ids: Vec<String> = rules.rules().iter().map(|r| r.id.to_string()).collect();
        assert_eq!(ids, ["HUB_KW_ZORBIX_COIN", "HUB_KW_ZORBIX_COIN_2", "HUB_KW_VONG_QUAY"]);
        assert!(pack.starts_with("# header\n# second line\n"));
        assert!(pack.contains("# seen in: line one line two"));
    }
}
