//! Spam reports: how they are grouped and when a reported source is escalated.
//!
//! Reports about the same source share its canonical key ([`crate::mo::source_key`]);
//! reports of the same content share its fingerprint's exact key ([`content_key`]: links,
//! numbers, amounts and names are placeholders, so a campaign's variants group together),
//! and near-duplicates (a word changed, a sentence added) share one of its LSH band keys
//! ([`content_bands`]).
//! A source reported by `watch_reporters` distinct subscribers within the window goes on the
//! watch list, by `propose_reporters` it is proposed for the block list (the store applies
//! the thresholds in the report's transaction); only an analyst confirms or rejects.

use chanrac_core::fingerprint::Fingerprinter;

/// Where a reported source stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceStatus {
    /// Reported, below the thresholds.
    Reported,
    /// On the watch list.
    Watch,
    /// Proposed for the block list, waiting for an analyst.
    Proposed,
    /// An analyst rejected the proposal.
    Rejected,
    /// An analyst confirmed it: the source is on the block list and its reports' content
    /// is training data.
    Confirmed,
}

impl SourceStatus {
    /// Every status, in order.
    pub const ALL: [SourceStatus; 5] = [
        SourceStatus::Reported,
        SourceStatus::Watch,
        SourceStatus::Proposed,
        SourceStatus::Rejected,
        SourceStatus::Confirmed,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Reported => "reported",
            SourceStatus::Watch => "watch",
            SourceStatus::Proposed => "proposed",
            SourceStatus::Rejected => "rejected",
            SourceStatus::Confirmed => "confirmed",
        }
    }

    /// Parses [`SourceStatus::as_str`].
    pub fn parse(s: &str) -> Option<SourceStatus> {
        SourceStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// True once an analyst decided: reports no longer move it.
    pub fn is_decided(self) -> bool {
        matches!(self, SourceStatus::Rejected | SourceStatus::Confirmed)
    }
}

/// The grouping key of a reported content: the hex of its fingerprint's exact key, or
/// `None` for an empty content.
pub fn content_key(content: &str, fingerprinter: &mut Fingerprinter) -> Option<String> {
    if content.trim().is_empty() {
        return None;
    }
    Some(format!("{:016x}", fingerprinter.fingerprint(content).exact))
}

/// The LSH band keys of a reported content, as hex: reports sharing one (in the same
/// position) are near-duplicates. None for a text too short to have reliable bands
/// ([`chanrac_core::fingerprint::MIN_TOKENS`]): such texts group by their exact key only.
pub fn content_bands(content: &str, fingerprinter: &mut Fingerprinter) -> Vec<String> {
    let fp = fingerprinter.fingerprint(content);
    if !fp.is_distinctive() {
        return Vec::new();
    }
    fp.bands.iter().map(|b| format!("{b:016x}")).collect()
}

/// A reporter's number as shown to anyone but an analyst: `+84912***678`.
pub fn mask_reporter(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 6 {
        return "***".into();
    }
    let keep_end = 3;
    let keep_start = (chars.len() - keep_end).min(6).min(chars.len() / 2);
    let mut out: String = chars[..keep_start].iter().collect();
    out.push_str("***");
    out.extend(&chars[chars.len() - keep_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in SourceStatus::ALL {
            assert_eq!(SourceStatus::parse(s.as_str()), Some(s));
        }
        assert!(SourceStatus::Confirmed.is_decided() && !SourceStatus::Proposed.is_decided());
    }

    #[test]
    fn variants_of_a_campaign_share_a_content_key() {
        let mut f = Fingerprinter::new(true);
        let a = content_key("Vay tien nhanh 50 trieu, lai 0%, LH 0912345678 ngay hom nay", &mut f);
        let b = content_key("Vay tien nhanh 80 trieu, lai 0%, LH 0987654321 ngay hom nay", &mut f);
        let c = content_key("Mai 7h di da bong nhe, nho mang giay va ao", &mut f);
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(content_key("  ", &mut f), None);
    }

    #[test]
    fn near_duplicates_share_a_band_and_unrelated_texts_none() {
        let mut f = Fingerprinter::new(true);
        let base = "Chuc mung quy khach da trung thuong xe may SH tu chuong trinh tri an khach hang, \
                    vui long truy cap ngay de nhan giai truoc 17h hom nay";
        let near = "Chuc mung quy khach da trung thuong xe may SH tu chuong trinh tri an khach hang, \
                    vui long truy cap ngay de nhan giai thuong truoc 17h hom nay nhe";
        let other = "Lich hop phong ky thuat chuyen sang 9h sang thu hai tai phong 302, moi cac ban \
                     chuan bi bao cao tien do du an va ke hoach quy toi";
        let (a, b, c) = (
            content_bands(base, &mut f),
            content_bands(near, &mut f),
            content_bands(other, &mut f),
        );
        assert_eq!((a.len(), b.len(), c.len()), (3, 3, 3));
        assert_ne!(
            content_key(base, &mut f),
            content_key(near, &mut f),
            "not the same exact key"
        );
        assert!(a.iter().zip(&b).any(|(x, y)| x == y), "{a:?} {b:?}");
        assert!(a.iter().zip(&c).all(|(x, y)| x != y));
        assert!(content_bands("S 0912345678", &mut f).is_empty(), "too short for bands");
    }

    #[test]
    fn masks_reporters() {
        assert_eq!(mask_reporter("+84912345678"), "+84912***678");
        assert_eq!(mask_reporter("5656"), "***");
    }
}
