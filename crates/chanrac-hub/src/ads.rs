//! Advertisers' brandnames and ad copies.
//!
//! A brandname (sender id) has at most 11 characters: Latin letters, digits, `-`, `_`, `.`
//! and spaces, not all digits, case-insensitive ([`is_valid_brandname`],
//! [`canonical_brandname`]). An ad copy is matched to a message by the near-duplicate
//! fingerprint of the core ([`AdCopies`]): the copy and the message sent from it share an
//! LSH band even when a name, link or amount differs.

use std::collections::HashMap;

use chanrac_core::fingerprint::{Fingerprint, Fingerprinter};

/// True when `name` is a possible brandname.
pub fn is_valid_brandname(name: &str) -> bool {
    let n = name.trim();
    !n.is_empty()
        && n.chars().count() <= 11
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c))
        && !n.chars().all(|c| c.is_ascii_digit())
}

/// The canonical form of a brandname (trimmed, upper case), or the reason it is invalid.
pub fn canonical_brandname(name: &str) -> Result<String, String> {
    if is_valid_brandname(name) {
        Ok(name.trim().to_ascii_uppercase())
    } else {
        Err(format!(
            "{name:?} is not a brandname: at most 11 Latin letters, digits, '-', '_', '.' or spaces, not all digits"
        ))
    }
}

/// One submitted copy, as the matcher keeps it.
#[derive(Debug, Clone, Copy)]
struct Copy {
    fp: Fingerprint,
    /// The planned window, Unix seconds (inclusive start, exclusive end); `None`: any time.
    window: Option<(i64, i64)>,
}

/// The submitted ad copies, by brandname, for the `AD_NO_COPY` check.
#[derive(Debug, Clone, Default)]
pub struct AdCopies {
    by_brand: HashMap<String, Vec<Copy>>,
}

impl AdCopies {
    /// No copies.
    pub fn new() -> AdCopies {
        AdCopies::default()
    }

    /// Adds a copy for a brandname (any case), valid in `window` (Unix seconds) or always.
    pub fn add(&mut self, brand: &str, text: &str, window: Option<(i64, i64)>, fp: &mut Fingerprinter) {
        let copy = Copy {
            fp: fp.fingerprint(text),
            window,
        };
        self.by_brand
            .entry(brand.trim().to_ascii_uppercase())
            .or_default()
            .push(copy);
    }

    /// How many copies are kept.
    pub fn len(&self) -> usize {
        self.by_brand.values().map(Vec::len).sum()
    }

    /// True when none.
    pub fn is_empty(&self) -> bool {
        self.by_brand.is_empty()
    }

    /// True when a copy submitted for `brand` matches `text` (same or near-duplicate
    /// content) and its window, if any, contains `at`.
    pub fn matches(&self, brand: &str, text: &str, at: Option<i64>, fp: &mut Fingerprinter) -> bool {
        let Some(copies) = self.by_brand.get(&brand.trim().to_ascii_uppercase()) else {
            return false;
        };
        let m = fp.fingerprint(text);
        copies.iter().any(|c| {
            let in_window = match (c.window, at) {
                (Some((from, to)), Some(t)) => from <= t && t < to,
                _ => true,
            };
            in_window && (c.fp.exact == m.exact || c.fp.shares_band(&m))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brandnames() {
        for ok in ["Vietcombank", "VIETTELCSKH", "BO TTTT", "FPT.Shop", "Dien_may-X"] {
            assert!(is_valid_brandname(ok), "{ok}");
        }
        for bad in ["", "123456", "Vietcombank1", "Ngân hàng", "a/b"] {
            assert!(!is_valid_brandname(bad), "{bad}");
        }
        assert_eq!(canonical_brandname(" fpt.Shop ").unwrap(), "FPT.SHOP");
    }

    #[test]
    fn copies_match_near_duplicates_within_their_window() {
        let mut fp = Fingerprinter::new(true);
        let mut c = AdCopies::new();
        let copy = "[QC] Sieu sale 11.11 giam den 50% tai FPT Shop, mua ngay tai https://fptshop.com.vn. Tu choi QC soan TC gui 1234";
        c.add("fpt.shop", copy, Some((1000, 2000)), &mut fp);
        let sent = "[QC] Sieu sale 11.11 giam den 70% tai FPT Shop, mua ngay tai https://fptshop.com.vn/x. Tu choi QC soan TC gui 1234";
        assert!(c.matches("FPT.SHOP", sent, Some(1500), &mut fp));
        assert!(!c.matches("FPT.SHOP", sent, Some(2000), &mut fp), "after the window");
        assert!(!c.matches("OTHER", sent, Some(1500), &mut fp));
        assert!(!c.matches(
            "FPT.SHOP",
            "[QC] Vay tien nhanh lai suat 0%, giai ngan trong ngay, LH 0912345678",
            Some(1500),
            &mut fp
        ));
        assert_eq!(c.len(), 1);
    }
}
