//! Features for the statistical classifier, hashed into a fixed number of buckets.
//!
//! The classifier reads what the engine already computed for a message, so that training and
//! checking see exactly the same thing:
//!
//! - **character n-grams of the folded text** ([`Normalized::text`]: lower case, no
//!   diacritics, tricks undone), across word boundaries, with one space of padding at each end;
//! - **character n-grams of words written with diacritics**, on a second, light fold of the
//!   original text that keeps the Vietnamese letters (`tiền` and `tiến` differ here, while the
//!   folded form reads `tien` for both). Only words that carry a Vietnamese diacritic produce
//!   them, so a text without diacritics costs nothing here;
//! - **word unigrams and bigrams** of the folded text, word unigrams of the diacritic words,
//!   and the shape of numbers (`num:5` for a five-digit number);
//! - **the engine's findings**: a link and its top-level and registrable domain, IP, IDN and
//!   disguised links, phone numbers and their kind, bank accounts, money amounts (by order of
//!   magnitude), the sender's kind, the obfuscation the fold undid, and the text's length.
//!
//! Every feature is hashed (a multiply-shift hash of the n-gram's bytes, seeded per feature
//! group) into one of `2^bits` buckets; a message becomes the list of its buckets, with
//! repeats. The hot path allocates nothing: [`FeatureScratch`] keeps its buffers.
//!
//! The light fold maps each of the 67 Vietnamese letters with diacritics (in either case) to
//! one byte of its own (`0x80 +` its index), so its n-grams are byte n-grams like the folded
//! ones. Decomposed (NFD) marks are dropped in this view; the folded view handles them.

use serde::{Deserialize, Serialize};

use crate::extract::Findings;
use crate::model::ModelError;
use crate::normalize::{Normalized, fold_letter};
use crate::phone::{PhoneKind, SenderId};
use crate::vi_tables::{VI_ADDITIONAL, VI_ADDITIONAL_FIRST, VI_LATIN, VI_LATIN_FIRST};

/// Which features the classifier uses and how many hash buckets it has. Stored in the model
/// file: a model is always read with the settings it was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureConfig {
    /// Base-2 logarithm of the number of hash buckets, 10 to 24. Default 18 (262,144 buckets).
    pub bits: u8,
    /// Shortest character n-gram (in bytes) of the folded text, 1 to 8. Default 4.
    pub char_min: u8,
    /// Longest character n-gram of the folded text, `char_min` to 8; 0 turns them off.
    /// Default 4 (only 4-grams: as accurate as 2- to 5-grams on a development split, and a
    /// third of the features, see `docs/model.md`).
    pub char_max: u8,
    /// Shortest character n-gram of the words written with diacritics (in letters), 1 to 8.
    /// Default 3.
    pub diacritic_min: u8,
    /// Longest character n-gram of the words written with diacritics; 0 turns them off.
    /// Default 3.
    pub diacritic_max: u8,
    /// Word unigrams: folded words, words with their diacritics, and number shapes.
    /// Default true.
    pub words: bool,
    /// Word bigrams of the folded text. Default true.
    pub bigrams: bool,
    /// The engine's findings: links, phone numbers, accounts, amounts, sender kind,
    /// obfuscation, length. Default true.
    pub findings: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            bits: 18,
            char_min: 4,
            char_max: 4,
            diacritic_min: 3,
            diacritic_max: 3,
            words: true,
            bigrams: true,
            findings: true,
        }
    }
}

impl FeatureConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |what: String| Err(ModelError::Invalid(what));
        if !(10..=24).contains(&self.bits) {
            return bad(format!("features.bits must be between 10 and 24, not {}", self.bits));
        }
        for (name, min, max) in [
            ("char", self.char_min, self.char_max),
            ("diacritic", self.diacritic_min, self.diacritic_max),
        ] {
            if max != 0 && !(1 <= min && min <= max && max <= 8) {
                return bad(format!(
                    "features.{name}_min and {name}_max must satisfy 1 <= min <= max <= 8 (or max = 0), not {min} and {max}"
                ));
            }
        }
        Ok(())
    }
}

/// Reusable buffers for [`Featurizer::extract`].
#[derive(Debug, Default, Clone)]
pub struct FeatureScratch {
    /// The current word of the light (diacritic-keeping) fold.
    light: Vec<u8>,
    /// The buckets of the last message, with repeats.
    idx: Vec<u32>,
}

impl FeatureScratch {
    /// The buckets of the last message, with repeats, in a fixed order.
    pub fn indices(&self) -> &[u32] {
        &self.idx
    }

    pub(crate) fn light_buffer(&mut self) -> &mut Vec<u8> {
        &mut self.light
    }
}

/// Where features go: a list of buckets (training) or a model's running sums (inference,
/// without storing the list).
pub(crate) trait Sink {
    /// Takes one feature's bucket.
    fn push(&mut self, bucket: u32);
}

impl Sink for Vec<u32> {
    #[inline]
    fn push(&mut self, bucket: u32) {
        Vec::push(self, bucket);
    }
}

/// Turns a message, as the engine analysed it, into hashed features.
#[derive(Debug, Clone)]
pub struct Featurizer {
    cfg: FeatureConfig,
    shift: u32,
}

// Seeds of the feature groups: the same bytes in two groups land in unrelated buckets.
const SEED_CHAR: u64 = 0x243F_6A88_85A3_08D3;
const SEED_DIACRITIC: u64 = 0x1319_8A2E_0370_7344;
const SEED_WORD: u64 = 0xA409_3822_299F_31D0;
const SEED_BIGRAM: u64 = 0x082E_FA98_EC4E_6C89;
const SEED_DIACRITIC_WORD: u64 = 0x4528_21E6_38D0_1377;
const SEED_TAG: u64 = 0xBE54_66CF_34E9_0C6C;
const SEED_NUMBER: u64 = 0xC0AC_29B7_C97C_50DD;

const M1: u64 = 0x9E37_79B9_7F4A_7C15;
const M2: u64 = 0xD6E8_FEB8_6659_FD93;

/// `MASK[n]` keeps the last `n` bytes of a rolling window.
const MASK: [u64; 9] = {
    let mut m = [0u64; 9];
    let mut n = 1;
    while n < 8 {
        m[n] = (1u64 << (8 * n)) - 1;
        n += 1;
    }
    m[8] = u64::MAX;
    m
};

/// A seed per n-gram length, so that `ab` as a 2-gram and `\0ab` never meet.
const fn gram_seed(group: u64, n: usize) -> u64 {
    group ^ (n as u64).wrapping_mul(M2)
}

/// One multiplication and a shift: spreads a key's bits before it is combined with another.
#[inline]
fn mix(x: u64) -> u64 {
    let x = x.wrapping_mul(M2);
    x ^ (x >> 29)
}

/// The hash of a word or a tag: eight bytes at a time, each block mixed by a multiplication,
/// the length folded in so that trailing zero bytes cannot collide.
#[inline]
fn hash_bytes(bytes: &[u8], seed: u64) -> u64 {
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(M1);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ v).wrapping_mul(M2).rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut v = 0u64;
        for (k, &b) in rest.iter().enumerate() {
            v |= (b as u64) << (8 * k);
        }
        h = (h ^ v).wrapping_mul(M2).rotate_left(31);
    }
    h
}

impl Featurizer {
    /// A featurizer with these settings.
    pub fn new(cfg: FeatureConfig) -> Result<Featurizer, ModelError> {
        cfg.validate()?;
        Ok(Featurizer {
            shift: 64 - cfg.bits as u32,
            cfg,
        })
    }

    /// The settings.
    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }

    /// The number of buckets (`2^bits`).
    pub fn buckets(&self) -> usize {
        1 << self.cfg.bits
    }

    /// Multiply-shift: the top `bits` bits of the key times an odd constant. Every key here
    /// is already seeded per group and n-gram length.
    #[inline]
    fn bucket(&self, h: u64) -> u32 {
        ((h ^ (h >> 32)).wrapping_mul(M1) >> self.shift) as u32
    }

    /// Computes the features of one message: its folded form, its original text (the same
    /// prefix the fold read), what extraction found in it, and its sender.
    pub fn extract(
        &self,
        norm: &Normalized,
        original: &str,
        findings: &Findings,
        sender: &SenderId,
        out: &mut FeatureScratch,
    ) {
        out.idx.clear();
        let mut idx = std::mem::take(&mut out.idx);
        self.extract_into(norm, original, findings, sender, &mut out.light, &mut idx);
        out.idx = idx;
    }

    /// [`Featurizer::extract`] into any sink; `light` is a reusable buffer.
    #[inline]
    pub(crate) fn extract_into(
        &self,
        norm: &Normalized,
        original: &str,
        findings: &Findings,
        sender: &SenderId,
        light: &mut Vec<u8>,
        out: &mut impl Sink,
    ) {
        let folded = norm.text().as_bytes();
        let cfg = &self.cfg;
        if cfg.char_max > 0 {
            self.char_grams(folded, cfg.char_min as usize, cfg.char_max as usize, SEED_CHAR, out);
        }
        if cfg.words || cfg.bigrams {
            self.words(folded, out);
        }
        if (cfg.diacritic_max > 0 || cfg.words) && !original.is_ascii() {
            let original = original.get(..norm.source_len()).unwrap_or(original);
            self.diacritic_words(original, light, out);
        }
        if cfg.findings {
            self.findings(norm, findings, sender, out);
        }
    }

    /// Byte n-grams of `text` padded with one space at each end, every length from `min` to
    /// `max`, through a rolling 64-bit window.
    #[inline]
    fn char_grams(&self, text: &[u8], min: usize, max: usize, group: u64, out: &mut impl Sink) {
        let mut window = b' ' as u64;
        let mut len = 1usize;
        if min == 4 && max == 4 && text.len() >= 3 {
            // The default: the leading gram (with the padding space), every 4-byte window of
            // the text read as one big-endian word (the same key the rolling window makes),
            // and the trailing gram.
            let seed = gram_seed(group, 4);
            let key = |w: [u8; 4]| u32::from_be_bytes(w) as u64;
            out.push(self.bucket(key([b' ', text[0], text[1], text[2]]) ^ seed));
            for w in text.windows(4) {
                out.push(self.bucket(key([w[0], w[1], w[2], w[3]]) ^ seed));
            }
            let n = text.len();
            out.push(self.bucket(key([text[n - 3], text[n - 2], text[n - 1], b' ']) ^ seed));
            return;
        }
        if min == max {
            // One length: no inner loop.
            let (mask, seed) = (MASK[min], gram_seed(group, min));
            for &b in text.iter().chain(std::iter::once(&b' ')) {
                window = (window << 8) | b as u64;
                len += 1;
                if len >= min {
                    out.push(self.bucket((window & mask) ^ seed));
                }
            }
            return;
        }
        for &b in text.iter().chain(std::iter::once(&b' ')) {
            window = (window << 8) | b as u64;
            len += 1;
            let top = max.min(len);
            for (n, mask) in MASK.iter().enumerate().take(top + 1).skip(min) {
                out.push(self.bucket((window & mask) ^ gram_seed(group, n)));
            }
        }
    }

    /// Folded words and bigrams, and the shape of numbers.
    fn words(&self, folded: &[u8], out: &mut impl Sink) {
        let mut prev: Option<u64> = None;
        for w in folded.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            let h = hash_bytes(w, SEED_WORD);
            if self.cfg.words {
                out.push(self.bucket(h));
                if w.iter().all(u8::is_ascii_digit) {
                    out.push(self.bucket(SEED_NUMBER ^ (w.len().min(16) as u64)));
                }
            }
            if self.cfg.bigrams
                && let Some(p) = prev
            {
                out.push(self.bucket(mix(p.rotate_left(23) ^ h ^ SEED_BIGRAM)));
            }
            prev = Some(h);
        }
    }

    /// Words of the original text that carry a Vietnamese diacritic, in the light fold: their
    /// character n-grams and the word itself.
    fn diacritic_words<S: Sink>(&self, original: &str, light: &mut Vec<u8>, out: &mut S) {
        light.clear();
        let mut vietnamese = false;
        let emit = |light: &mut Vec<u8>, vietnamese: &mut bool, idx: &mut S| {
            if *vietnamese && !light.is_empty() {
                if self.cfg.diacritic_max > 0 {
                    let (min, max) = (self.cfg.diacritic_min as usize, self.cfg.diacritic_max as usize);
                    self.char_grams(light, min, max, SEED_DIACRITIC, idx);
                }
                if self.cfg.words {
                    idx.push(self.bucket(hash_bytes(light, SEED_DIACRITIC_WORD)));
                }
            }
            light.clear();
            *vietnamese = false;
        };
        for c in original.chars() {
            if c.is_ascii() {
                if c.is_ascii_alphanumeric() {
                    light.push((c as u8).to_ascii_lowercase());
                } else {
                    emit(light, &mut vietnamese, out);
                }
                continue;
            }
            let code = vietnamese_code(c);
            if code != 0 {
                light.push(code);
                vietnamese = true;
            } else if matches!(c as u32, 0x0300..=0x036F) {
                // A decomposed mark: dropped in this view.
            } else if let Some(b) = fold_letter(c) {
                light.push(b);
            } else if c.is_alphanumeric() {
                light.push(0xFF);
            } else {
                emit(light, &mut vietnamese, out);
            }
        }
        emit(light, &mut vietnamese, out);
    }

    fn tag(&self, name: &[u8], value: u64, out: &mut impl Sink) {
        out.push(self.bucket(hash_bytes(name, SEED_TAG) ^ value.wrapping_mul(M2)));
    }

    /// The engine's findings as tags.
    fn findings(&self, norm: &Normalized, f: &Findings, sender: &SenderId, out: &mut impl Sink) {
        if !f.urls.is_empty() {
            self.tag(b"url", f.urls.len().min(3) as u64, out);
            for u in f.urls.iter().take(4) {
                out.push(self.bucket(hash_bytes(u.tld.as_bytes(), SEED_TAG ^ 1)));
                out.push(self.bucket(hash_bytes(u.domain.as_bytes(), SEED_TAG ^ 2)));
                for (on, name) in [(u.ip, &b"url_ip"[..]), (u.idn, b"url_idn"), (u.obfuscated, b"url_obf")] {
                    if on {
                        self.tag(name, 0, out);
                    }
                }
            }
        }
        if !f.phones.is_empty() {
            self.tag(b"phone", f.phones.len().min(3) as u64, out);
            for p in f.phones.iter().take(4) {
                self.tag(b"phone_kind", phone_kind(p.phone.kind), out);
            }
        }
        if !f.accounts.is_empty() {
            self.tag(b"account", f.accounts.len().min(3) as u64, out);
        }
        for a in f.amounts.iter().take(4) {
            let magnitude = if a.vnd >= 1.0 { a.vnd.log10().floor() as u64 } else { 0 };
            self.tag(b"amount", magnitude.min(15), out);
        }
        let sender_kind = match sender {
            SenderId::Unknown => 0,
            SenderId::Number(p) => 1 + phone_kind(p.kind),
            SenderId::Brandname(_) => 10,
            SenderId::Malformed(..) => 11,
            SenderId::OtherNumber(_) => 12,
        };
        self.tag(b"sender", sender_kind, out);
        let flags = norm.flags();
        for (n, name) in [
            (flags.leet, &b"obf_leet"[..]),
            (flags.split, b"obf_split"),
            (flags.confusable, b"obf_confusable"),
            (flags.styled, b"obf_styled"),
            (flags.invisible, b"obf_invisible"),
        ] {
            if n > 0 {
                self.tag(name, 0, out);
            }
        }
        let len = norm.text().len();
        let len_bucket = match len {
            0..20 => 0,
            20..50 => 1,
            50..100 => 2,
            100..160 => 3,
            160..320 => 4,
            _ => 5,
        };
        self.tag(b"length", len_bucket, out);
    }
}

fn phone_kind(k: PhoneKind) -> u64 {
    match k {
        PhoneKind::VnMobile => 0,
        PhoneKind::VnFixed => 1,
        PhoneKind::VnService => 2,
        PhoneKind::ShortCode => 3,
        PhoneKind::International => 4,
    }
}

/// The one-byte code of a Vietnamese letter with diacritics (either case), or 0.
fn vietnamese_code(c: char) -> u8 {
    let cp = c as u32;
    if let Some(i) = cp.checked_sub(VI_LATIN_FIRST)
        && let Some(&code) = VI_LATIN.get(i as usize)
    {
        return code;
    }
    if let Some(i) = cp.checked_sub(VI_ADDITIONAL_FIRST)
        && let Some(&code) = VI_ADDITIONAL.get(i as usize)
    {
        return code;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{extract_numbers, extract_urls};

    fn features(f: &Featurizer, text: &str, sender: &str) -> Vec<u32> {
        let norm = Normalized::new(text);
        let mut findings = Findings::default();
        extract_numbers(text, &[], &mut findings);
        extract_urls(text, &mut findings);
        let mut s = FeatureScratch::default();
        f.extract(&norm, text, &findings, &SenderId::parse(sender), &mut s);
        s.indices().to_vec()
    }

    fn sorted(mut v: Vec<u32>) -> Vec<u32> {
        v.sort_unstable();
        v
    }

    #[test]
    fn vietnamese_codes_cover_both_cases() {
        assert_eq!(vietnamese_code('ề'), vietnamese_code('Ề'));
        assert_ne!(vietnamese_code('ề'), 0);
        assert_ne!(vietnamese_code('ề'), vietnamese_code('ế'));
        assert_eq!(vietnamese_code('đ'), vietnamese_code('Đ'));
        assert_eq!(vietnamese_code('e'), 0);
        assert_eq!(vietnamese_code('ç'), 0);
        let all = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ";
        let mut codes: Vec<u8> = all.chars().map(vietnamese_code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 67);
        assert!(codes.iter().all(|&c| c >= 0x80));
    }

    #[test]
    fn indices_stay_in_range_and_are_deterministic() {
        let f = Featurizer::new(FeatureConfig {
            bits: 10,
            ..FeatureConfig::default()
        })
        .unwrap();
        let text = "Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz LH 0987.654.321";
        let a = features(&f, text, "0912345678");
        assert!(!a.is_empty());
        assert!(a.iter().all(|&i| i < 1024));
        assert_eq!(a, features(&f, text, "0912345678"));
    }

    #[test]
    fn diacritics_add_features_that_the_folded_form_lacks() {
        let f = Featurizer::new(FeatureConfig::default()).unwrap();
        let with = features(&f, "Vay tiền nhanh", "");
        let without = features(&f, "Vay tien nhanh", "");
        // Same folded text, so every feature of the bare text is also in the accented one.
        let w = sorted(with.clone());
        assert!(without.iter().all(|i| w.binary_search(i).is_ok()));
        assert!(with.len() > without.len());
        // `tiền` and `tiến` fold alike but differ in the diacritic view.
        assert_ne!(sorted(with), sorted(features(&f, "Vay tiến nhanh", "")));
    }

    #[test]
    fn every_group_can_be_turned_off() {
        let off = FeatureConfig {
            char_max: 0,
            diacritic_max: 0,
            words: false,
            bigrams: false,
            findings: false,
            ..FeatureConfig::default()
        };
        let f = Featurizer::new(off).unwrap();
        assert!(features(&f, "Vay tiền nhanh 0912345678", "VCB").is_empty());
        let only_findings = Featurizer::new(FeatureConfig {
            findings: true,
            ..f.config().clone()
        })
        .unwrap();
        // A phone tag, its kind, the sender, the length.
        assert_eq!(features(&only_findings, "goi 0912345678", "VCB").len(), 4);
    }

    #[test]
    fn findings_and_sender_change_the_features() {
        let f = Featurizer::new(FeatureConfig::default()).unwrap();
        let text = "xem tai vtb-qua.xyz";
        assert_ne!(features(&f, text, ""), features(&f, text, "VCB"));
        assert_ne!(features(&f, text, "0912345678"), features(&f, text, "VCB"));
    }

    #[test]
    fn the_four_gram_fast_path_matches_the_rolling_window() {
        let f = Featurizer::new(FeatureConfig::default()).unwrap();
        for text in ["abc", "abcd", "vay tien nhanh 0912345678", "chuc mung ban trung thuong"] {
            let (mut fast, mut rolling) = (Vec::new(), Vec::new());
            f.char_grams(text.as_bytes(), 4, 4, SEED_CHAR, &mut fast);
            // The general path, one length at a time, gives the same keys.
            let mut window = b' ' as u64;
            for (len, &b) in text.as_bytes().iter().chain(std::iter::once(&b' ')).enumerate() {
                window = (window << 8) | b as u64;
                if len + 2 >= 4 {
                    rolling.push(f.bucket((window & MASK[4]) ^ gram_seed(SEED_CHAR, 4)));
                }
            }
            assert_eq!(fast, rolling, "{text}");
        }
    }

    #[test]
    fn rejects_bad_settings() {
        for cfg in [
            FeatureConfig {
                bits: 9,
                ..FeatureConfig::default()
            },
            FeatureConfig {
                char_min: 6,
                char_max: 5,
                ..FeatureConfig::default()
            },
            FeatureConfig {
                diacritic_max: 9,
                ..FeatureConfig::default()
            },
        ] {
            assert!(Featurizer::new(cfg).is_err());
        }
    }
}
