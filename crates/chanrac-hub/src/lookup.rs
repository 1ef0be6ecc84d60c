//! Fraud lookup (docs/feed.md): is this phone number, link or bank account known for spam or
//! fraud? What a bank asks before a transfer and what a public checker page shows.
//!
//! [`LookupIndex`] is built in memory from the block lists (with their provenance) and the
//! hub's reported sources, and answers with [`LookupIndex::lookup`] without I/O. Input is
//! normalized the way list entries are (`0912 345 678` → `+84912345678`, a URL → its host
//! and every parent domain, an account → its digits); input that cannot be read is refused
//! with the reason ([`LookupError`]) — never answered "not known".

use std::collections::HashMap;

use chanrac_core::{ListKind, normalize_entry};
use serde::Serialize;

/// What is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LookupKind {
    /// A phone number.
    Phone,
    /// A link or a domain.
    Url,
    /// A bank account number.
    Account,
}

/// Input that cannot be read as what it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} {given:?}: {reason}")]
pub struct LookupError {
    /// What it was given as.
    pub kind: LookupKind,
    /// The input.
    pub given: String,
    /// Why it cannot be read.
    pub reason: String,
}

/// A block-list entry, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Why it is listed.
    pub reason: String,
    /// Where the listing comes from (`local`, `hub`, `operator:NAME`, …).
    pub source: String,
    /// 0–100.
    pub confidence: u8,
    /// First seen, Unix ms.
    pub first_seen: i64,
    /// Last seen, Unix ms.
    pub last_seen: i64,
}

/// A reported source, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// `reported`, `watch`, `proposed`, `confirmed` or `rejected`.
    pub status: String,
    /// Distinct reporters in the window.
    pub reporters: u32,
    /// Reports ever received.
    pub reports: u64,
    /// First report, Unix ms.
    pub first_at: i64,
    /// Last report, Unix ms.
    pub last_at: i64,
}

/// The answer to one lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// What was looked up.
    pub kind: LookupKind,
    /// The normalized form that was looked up (`+84912345678`, `evil.xyz`, digits).
    pub normalized: String,
    /// Whether anything is known about it.
    pub known: bool,
    /// `none`, `low` (reported, under the watch threshold, or a rejected report), `medium`
    /// (on the watch list or proposed, or listed with confidence below 80), `high` (on the
    /// block list with confidence 80 or more, or confirmed by an analyst).
    pub risk: &'static str,
    /// Why, one line each (the listing's reason and source, the reports' status and count).
    pub reasons: Vec<String>,
    /// Reports received about it.
    pub report_count: u64,
    /// First seen (listing or report), Unix ms.
    pub first_seen: Option<i64>,
    /// Last seen, Unix ms.
    pub last_seen: Option<i64>,
}

/// The block lists and reported sources, keyed by normalized value.
#[derive(Debug, Default, Clone)]
pub struct LookupIndex {
    listed: HashMap<(ListKind, String), Listed>,
    reported: HashMap<String, Reported>,
}

impl LookupIndex {
    /// Adds a block-list entry (its value canonical, as the store keeps it).
    pub fn add_listed(&mut self, kind: ListKind, value: String, listed: Listed) {
        self.listed.insert((kind, value), listed);
    }

    /// Adds a reported source by its canonical key (`+84912345678`, a brandname).
    pub fn add_reported(&mut self, key: String, reported: Reported) {
        self.reported.insert(key, reported);
    }

    /// Entries and sources held.
    pub fn len(&self) -> usize {
        self.listed.len() + self.reported.len()
    }

    /// Whether the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks one value up.
    pub fn lookup(&self, kind: LookupKind, given: &str) -> Result<Answer, LookupError> {
        let refuse = |reason: String| LookupError {
            kind,
            given: given.to_string(),
            reason,
        };
        let (normalized, candidates): (String, Vec<(ListKind, String)>) = match kind {
            LookupKind::Phone => {
                if given.contains('*') {
                    return Err(refuse("a lookup takes one number, not a prefix".into()));
                }
                let n = normalize_entry(ListKind::Senders, given).map_err(refuse)?;
                let digits = n.strip_prefix('+').unwrap_or(&n);
                if !(3..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(refuse(
                        "not a phone number (3 to 15 digits, optionally +country)".into(),
                    ));
                }
                (n.clone(), vec![(ListKind::Senders, n)])
            }
            LookupKind::Url => {
                let host = url_host(given).ok_or_else(|| refuse("no host name in it".into()))?;
                let d = normalize_entry(ListKind::Domains, &host).map_err(refuse)?;
                // The domain and every parent with a dot: a listed domain covers its subdomains.
                let mut c = vec![(ListKind::Domains, d.clone())];
                let mut rest = d.as_str();
                while let Some((_, parent)) = rest.split_once('.') {
                    if !parent.contains('.') {
                        break;
                    }
                    c.push((ListKind::Domains, parent.to_string()));
                    rest = parent;
                }
                (d, c)
            }
            LookupKind::Account => {
                let a = normalize_entry(ListKind::Accounts, given).map_err(refuse)?;
                (a.clone(), vec![(ListKind::Accounts, a)])
            }
        };
        let mut answer = Answer {
            kind,
            normalized,
            known: false,
            risk: "none",
            reasons: Vec::new(),
            report_count: 0,
            first_seen: None,
            last_seen: None,
        };
        let mut level = 0u8;
        let seen = |a: &mut Answer, first: i64, last: i64| {
            a.first_seen = Some(a.first_seen.map_or(first, |f| f.min(first)));
            a.last_seen = Some(a.last_seen.map_or(last, |l| l.max(last)));
        };
        for key in &candidates {
            if let Some(l) = self.listed.get(key) {
                answer.known = true;
                level = level.max(if l.confidence >= 80 { 3 } else { 2 });
                answer.reasons.push(format!(
                    "block-listed {} ({}, source {}, confidence {})",
                    key.1, l.reason, l.source, l.confidence
                ));
                seen(&mut answer, l.first_seen, l.last_seen);
            }
        }
        if let Some(r) = self.reported.get(&candidates[0].1) {
            answer.known = true;
            answer.report_count = r.reports;
            level = level.max(match r.status.as_str() {
                "confirmed" => 3,
                "watch" | "proposed" => 2,
                _ => 1,
            });
            answer.reasons.push(format!(
                "reported {} times by {} subscribers (status {})",
                r.reports, r.reporters, r.status
            ));
            seen(&mut answer, r.first_at, r.last_at);
        }
        answer.risk = ["none", "low", "medium", "high"][level as usize];
        Ok(answer)
    }
}

/// The host of a link as people write it: with or without a scheme, defanged (`hxxp`,
/// `[.]`), with a port, a path, a query or user info.
fn url_host(given: &str) -> Option<String> {
    let s = given.trim().replace("[.]", ".").replace("(.)", ".");
    let s = match s.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        None => s,
    };
    let host = s.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?.trim();
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> LookupIndex {
        let mut ix = LookupIndex::default();
        let listed = |confidence| Listed {
            reason: "loan scam".into(),
            source: "hub".into(),
            confidence,
            first_seen: 100,
            last_seen: 200,
        };
        ix.add_listed(ListKind::Senders, "+84912345678".into(), listed(100));
        ix.add_listed(ListKind::Domains, "vay-nhanh.xyz".into(), listed(60));
        ix.add_listed(ListKind::Accounts, "0071000123456".into(), listed(90));
        ix.add_reported(
            "+84912345678".into(),
            Reported {
                status: "proposed".into(),
                reporters: 6,
                reports: 9,
                first_at: 50,
                last_at: 300,
            },
        );
        ix.add_reported(
            "+84987654321".into(),
            Reported {
                status: "reported".into(),
                reporters: 1,
                reports: 1,
                first_at: 10,
                last_at: 10,
            },
        );
        ix
    }

    #[test]
    fn answers_by_normalized_form() {
        let ix = index();
        let cases: &[(LookupKind, &str, bool, &str, u64)] = &[
            (LookupKind::Phone, "0912 345 678", true, "high", 9),
            (LookupKind::Phone, "+84-912-345-678", true, "high", 9),
            (LookupKind::Phone, "84912345678", true, "high", 9),
            (LookupKind::Phone, "0987654321", true, "low", 1),
            (LookupKind::Phone, "0900000000", false, "none", 0),
            (LookupKind::Url, "https://vay-nhanh.xyz/dang-ky?id=1", true, "medium", 0),
            (LookupKind::Url, "hxxps://app.vay-nhanh[.]xyz", true, "medium", 0),
            (LookupKind::Url, "VAY-NHANH.XYZ:8080", true, "medium", 0),
            (LookupKind::Url, "vietcombank.com.vn", false, "none", 0),
            (LookupKind::Account, "0071 000 123 456", true, "high", 0),
            (LookupKind::Account, "0071-000-123-457", false, "none", 0),
        ];
        for &(kind, given, known, risk, reports) in cases {
            let a = ix.lookup(kind, given).unwrap();
            assert_eq!(
                (a.known, a.risk, a.report_count),
                (known, risk, reports),
                "{given}: {a:?}"
            );
        }
        let a = ix.lookup(LookupKind::Phone, "0912345678").unwrap();
        assert_eq!((a.first_seen, a.last_seen), (Some(50), Some(300)));
        assert_eq!(a.reasons.len(), 2);
    }

    #[test]
    fn unreadable_input_is_refused_not_unknown() {
        let ix = index();
        for (kind, given) in [
            (LookupKind::Phone, ""),
            (LookupKind::Phone, "0912*"),
            (LookupKind::Phone, "VIETCOMBANK"),
            (LookupKind::Phone, "12"),
            (LookupKind::Url, "https:///path"),
            (LookupKind::Url, "localhost"),
            (LookupKind::Account, "12ab34567"),
            (LookupKind::Account, "123"),
        ] {
            let e = ix.lookup(kind, given).unwrap_err();
            assert!(!e.reason.is_empty(), "{given}");
        }
    }
}
