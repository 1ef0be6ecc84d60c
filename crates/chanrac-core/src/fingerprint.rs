//! Near-duplicate fingerprints of message texts, for campaign detection.
//!
//! Spammers send one template from many SIMs with small changes (a name, an amount, a link)
//! so that no two messages are identical. A [`Fingerprint`] survives those changes:
//!
//! 1. **Canonical tokens.** Links, phone numbers and money amounts found by
//!    [`crate::extract`], and runs of one to four capitalized words inside a sentence (a
//!    person's name: `Nguyễn Văn Bình`, `Mary`), are replaced by one placeholder word each,
//!    the text is folded
//!    ([`crate::normalize`]: no case, no diacritics, no look-alike letters), and every run of
//!    digits left becomes `#`. `Nhận 50tr tại https://a.xyz, LH 0912345678` and
//!    `Nhận 30tr tại https://b.top, LH 0987654321` have the same canonical tokens.
//! 2. **Shingles.** Overlapping word pairs of the canonical tokens (single words for texts of
//!    fewer than three tokens), hashed with xxh3.
//! 3. **MinHash + LSH.** A [`BANDS`]×[`ROWS`] MinHash signature of the shingle set, cut into
//!    [`BANDS`] band keys. Two texts whose shingle sets have Jaccard similarity `J` share at
//!    least one band key with probability `1 − (1 − J^ROWS)^BANDS`; unrelated texts almost
//!    never do. A band key is what a counter is keyed by, so campaign counting needs no
//!    pairwise comparison. `docs/fingerprint.md` measures this choice against SimHash.
//! 4. **One-time codes.** A text that mentions a code (`OTP`, `mã xác thực`, `code`, `PIN`,
//!    `mật khẩu`) keeps the exact value of its 4–8 digit numbers: they salt every key, so two
//!    OTP messages of one bank with different codes never share a key, while variants of a
//!    spam template still do.
//!
//! [`Fingerprint::exact`] hashes the whole canonical token sequence: equal for texts that
//! differ only in links, numbers and amounts. [`Fingerprint::simhash`] is kept for callers
//! that prefer a Hamming distance.
//!
//! ```
//! use chanrac_core::fingerprint::Fingerprinter;
//!
//! let mut f = Fingerprinter::default();
//! let a = f.fingerprint("Chúc mừng anh Minh trúng thưởng 50tr, nhận tại https://a.xyz trước 17h hôm nay");
//! let b = f.fingerprint("Chuc mung chi Lan trung thuong 30tr, nhan tai https://b.top truoc 17h hom nay");
//! assert!(a.shares_band(&b));
//! let c = f.fingerprint("Mai 7h đi đá bóng ở sân Mỹ Đình nhé, nhớ mang giày");
//! assert!(!a.shares_band(&c));
//! ```

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::extract::{Findings, extract_numbers, extract_urls};
use crate::normalize::Normalized;

/// LSH bands of the MinHash signature (keys per message for campaign counters).
pub const BANDS: usize = 3;
/// MinHash rows per band.
pub const ROWS: usize = 3;

/// Texts with fewer canonical tokens than this are too short to tell a campaign from a
/// common phrase (`ok`, `cam on`): [`Fingerprint::is_distinctive`] is false for them.
pub const MIN_TOKENS: usize = 6;

/// The fingerprint of one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fingerprint {
    /// Hash of the canonical token sequence (and the one-time codes, if any).
    pub exact: u64,
    /// The LSH band keys; band `i`'s key also encodes `i`, so keys of different bands never
    /// collide by construction.
    pub bands: [u64; BANDS],
    /// The 64-bit SimHash of the same shingles.
    pub simhash: u64,
    /// The number of words of the text (links, numbers and amounts count as one word each;
    /// names count as written).
    pub tokens: u32,
    /// True when the text carried a one-time code that salts the keys.
    pub code: bool,
    /// True when the text asks the reader to act through a channel: a link, a phone
    /// number (any run of 9 digits or more), a short code after "to" or "gửi", a bank
    /// account, or a contact word (`Zalo`, `liên hệ`, `hotline`, `soạn`…).
    pub call_to_action: bool,
}

impl Fingerprint {
    /// True when the text is long enough for campaign counting ([`MIN_TOKENS`]).
    pub fn is_distinctive(&self) -> bool {
        self.tokens as usize >= MIN_TOKENS
    }

    /// True when the text can belong to a campaign: long enough, and with a call to
    /// action. A campaign that pays must send its readers somewhere; canned replies
    /// ("Sorry, I'll call later"), greetings, viral jokes and chain letters, which many
    /// people send word for word, do not.
    pub fn is_campaign_candidate(&self) -> bool {
        self.is_distinctive() && self.call_to_action
    }

    /// True when the two fingerprints share an LSH band: the texts are near-duplicates.
    pub fn shares_band(&self, other: &Fingerprint) -> bool {
        self.bands.iter().any(|b| other.bands.contains(b))
    }

    /// Hamming distance between the SimHashes.
    pub fn simhash_distance(&self, other: &Fingerprint) -> u32 {
        (self.simhash ^ other.simhash).count_ones()
    }
}

/// Computes fingerprints, reusing its buffers across texts.
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    mask_names: bool,
    masked: String,
    norm: Normalized,
    findings: Findings,
    spans: Vec<(usize, usize, &'static str)>,
    tokens: Vec<u64>,
    codes: Vec<u64>,
    shingles: Vec<u64>,
    /// A word with its runs of digits made `#`.
    canon: Vec<u8>,
    salt: u64,
    /// Words of the last text before names were collapsed.
    raw_tokens: usize,
    /// The last text gives a number to call or text that extraction does not know.
    number_channel: bool,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Fingerprinter::new(true)
    }
}

/// Placeholders for what varies between copies of one template. They fold to themselves.
const URL: &str = " zqurlzq ";
const PHONE: &str = " zqphonezq ";
const AMOUNT: &str = " zqamountzq ";
const NAME: &str = "zqnamezq";

/// The longest run of capitalized words taken for a name.
const MAX_NAME_WORDS: usize = 4;

/// True when `text[start..end]` is one capitalized word (`Bình`, `Mary`: an upper-case
/// letter, then only lower-case letters) that does not start a sentence, a line or a
/// bracketed header: the shape of a person's name.
fn is_name_like(text: &str, start: usize, end: usize) -> bool {
    let Some(word) = text.get(start..end) else {
        return false;
    };
    let mut chars = word.chars();
    let titled =
        chars.next().is_some_and(char::is_uppercase) && word.chars().nth(1).is_some() && chars.all(char::is_lowercase);
    if !titled {
        return false;
    }
    let before = &text[..start];
    let trimmed = before.trim_end();
    if before[trimmed.len()..].contains('\n') {
        return false;
    }
    !matches!(
        trimmed.chars().next_back(),
        None | Some('.' | '!' | '?' | ':' | ';' | ']' | ')' | '"' | '-' | '|')
    )
}

/// Replaces a run of one to [`MAX_NAME_WORDS`] name-like tokens (the last tokens of
/// `tokens`, from `first`) by one placeholder. Longer runs — a text in Title Case — stay,
/// so that capitals cannot hide a whole text.
fn collapse_name(tokens: &mut Vec<u64>, run: Option<(usize, usize)>, name: u64) {
    if let Some((first, n)) = run
        && n <= MAX_NAME_WORDS
    {
        tokens.truncate(first);
        tokens.push(name);
    }
}

impl Fingerprinter {
    /// A fingerprinter; `mask_names` replaces capitalized words that look like names by one
    /// placeholder (the default; off only to measure what it brings).
    pub fn new(mask_names: bool) -> Fingerprinter {
        Fingerprinter {
            mask_names,
            masked: String::new(),
            norm: Normalized::default(),
            findings: Findings::default(),
            spans: Vec::new(),
            tokens: Vec::new(),
            codes: Vec::new(),
            shingles: Vec::new(),
            canon: Vec::new(),
            salt: 0,
            raw_tokens: 0,
            number_channel: false,
        }
    }

    /// The fingerprint of `text`, running extraction itself.
    pub fn fingerprint(&mut self, text: &str) -> Fingerprint {
        let mut findings = std::mem::take(&mut self.findings);
        findings.clear();
        let text = &text[..crate::engine::s_len(text)];
        extract_numbers(text, &[], &mut findings);
        extract_urls(text, &mut findings);
        let fp = self.fingerprint_with(text, &findings);
        self.findings = findings;
        fp
    }

    /// The fingerprint of `text` from the engine's analysis of it (its fold and its
    /// findings, as [`crate::Engine`] made them for the check): the same fingerprint as
    /// [`Fingerprinter::fingerprint`], without a second extraction and, for a text with no
    /// link, number or amount to mask, without a second fold.
    ///
    /// The analysis differs from the fingerprint's own extraction in two ways, both
    /// handled here: it reads numbers next to bank cue words as accounts (then the
    /// extraction is done again, the fingerprint's way: rare), and it skips the numbers or
    /// the links of a text whose shape cannot hold them (the extractors' own prefilters
    /// confirm that they find nothing there, else the extraction is done again).
    pub fn fingerprint_analysed(&mut self, text: &str, norm: &Normalized, findings: &Findings) -> Fingerprint {
        let text = &text[..crate::engine::s_len(text)];
        let shape = norm.shape();
        let mut skipped = std::mem::take(&mut self.findings);
        skipped.clear();
        if !shape.digits {
            extract_numbers(text, &[], &mut skipped);
        }
        if !shape.link {
            extract_urls(text, &mut skipped);
        }
        let same = findings.accounts.is_empty()
            && skipped.urls.is_empty()
            && skipped.phones.is_empty()
            && skipped.accounts.is_empty()
            && skipped.amounts.is_empty();
        self.findings = skipped;
        if !same {
            return self.fingerprint(text);
        }
        self.fingerprint_from(text, findings, Some(norm))
    }

    /// The fingerprint of `text` given what extraction already found in it.
    pub fn fingerprint_with(&mut self, text: &str, findings: &Findings) -> Fingerprint {
        self.fingerprint_from(text, findings, None)
    }

    /// The fingerprint of `text` given its findings and, when the caller has it, the fold
    /// of the whole text (used when nothing is masked: the masked text is then the text).
    fn fingerprint_from(&mut self, text: &str, findings: &Findings, fold: Option<&Normalized>) -> Fingerprint {
        let contact_cue = self.canonical_tokens(text, findings, fold);
        self.shingle();
        let salt = if self.codes.is_empty() {
            0
        } else {
            self.codes.sort_unstable();
            seq_hash(&self.codes)
        };
        self.salt = salt;
        let exact = seq_hash(&self.tokens) ^ salt;
        let sig = minhash::<{ BANDS * ROWS }>(&self.shingles);
        let mut bands = [0u64; BANDS];
        for (i, band) in bands.iter_mut().enumerate() {
            *band = band_key(i, &sig[i * ROWS..(i + 1) * ROWS]) ^ salt;
        }
        let call_to_action = !findings.urls.is_empty()
            || !findings.phones.is_empty()
            || !findings.accounts.is_empty()
            || self.number_channel
            || contact_cue;
        Fingerprint {
            call_to_action,
            exact,
            bands,
            simhash: simhash(&self.shingles),
            tokens: self.raw_tokens.min(u32::MAX as usize) as u32,
            code: salt != 0,
        }
    }

    /// The deduplicated shingle hashes of the last text fingerprinted (for comparisons of
    /// fingerprint schemes).
    pub fn shingles(&self) -> &[u64] {
        &self.shingles
    }

    /// The salt of the last text's one-time codes (0 without codes).
    pub fn salt(&self) -> u64 {
        self.salt
    }

    /// Fills `self.tokens` (hashes of the canonical tokens) and `self.codes`; returns
    /// whether the text names a contact channel. `fold` is the fold of `text`, if the
    /// caller has it.
    fn canonical_tokens(&mut self, text: &str, findings: &Findings, fold: Option<&Normalized>) -> bool {
        let text = &text[..crate::engine::s_len(text)];
        self.spans.clear();
        self.spans
            .extend(findings.urls.iter().map(|u| (u.span.0, u.span.1, URL)));
        self.spans
            .extend(findings.phones.iter().map(|p| (p.span.0, p.span.1, PHONE)));
        self.spans
            .extend(findings.amounts.iter().map(|a| (a.span.0, a.span.1, AMOUNT)));
        self.spans.sort_unstable_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
        self.masked.clear();
        let mut at = 0;
        for &(start, end, word) in &self.spans {
            // Overlapping findings (an amount inside a link): the first, longest one wins.
            if start < at || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                continue;
            }
            self.masked.push_str(&text[at..start]);
            self.masked.push_str(word);
            at = end;
        }
        self.masked.push_str(&text[at..]);
        // Nothing masked: the caller's fold of the text is the fold of the masked text.
        let norm = match fold {
            Some(fold) if self.masked == text && fold.source_len() == text.len() => fold,
            _ => {
                self.norm.fold(&self.masked);
                &self.norm
            }
        };

        self.tokens.clear();
        self.codes.clear();
        let folded = norm.text();
        let (contact_cue, code_cue) = contact_and_code_cues(folded);
        let name = xxh3_64(NAME.trim().as_bytes());
        // A run of name-like tokens: (its first token's index in `tokens`, its length).
        let mut run: Option<(usize, usize)> = None;
        let mut pos = 0;
        let mut prev_end = 0;
        let mut prev_word = "";
        let mut cursor = 0;
        self.raw_tokens = 0;
        self.number_channel = false;
        // The words between single spaces, as `folded.split(' ')` gives them, found with a
        // plain byte loop: words are a few bytes long, too short for `split`'s searcher to
        // pay for its set-up on each.
        let bytes = folded.as_bytes();
        while pos <= bytes.len() {
            let start = pos;
            let end = bytes[start..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(bytes.len(), |n| start + n);
            let tok = &folded[start..end];
            pos = end + 1;
            if tok.is_empty() {
                continue;
            }
            self.raw_tokens += 1;
            let (os, oe) = norm.source_span_from(&mut cursor, start, start + tok.len());
            // Punctuation between two words ends a name (`Chào Lan, Bạn…`).
            // (Only a run can end: without one there is nothing to look at.)
            if run.is_some() && self.masked.get(prev_end..os).is_some_and(|gap| !gap.trim().is_empty()) {
                collapse_name(&mut self.tokens, run.take(), name);
            }
            prev_end = oe;
            if self.mask_names && is_name_like(&self.masked, os, oe) {
                run = Some(match run {
                    Some((first, n)) => (first, n + 1),
                    None => (self.tokens.len(), 1),
                });
            } else {
                collapse_name(&mut self.tokens, run.take(), name);
            }
            let digits = tok.bytes().filter(u8::is_ascii_digit).count();
            if digits == 0 {
                prev_word = tok;
                self.tokens.push(xxh3_64(tok.as_bytes()));
                continue;
            }
            // A long number (a foreign or premium-rate phone number) or a short code after
            // "send to" is a channel too.
            if digits == tok.len()
                && (digits >= 9 || ((4..=6).contains(&digits) && matches!(prev_word, "to" | "gui" | "den" | "send")))
            {
                self.number_channel = true;
            }
            prev_word = tok;
            if code_cue && digits == tok.len() && (4..=8).contains(&digits) {
                self.codes.push(xxh3_64(tok.as_bytes()));
            }
            // Every run of digits becomes one `#`: `10h30` → `#h#`, `2024` → `#`.
            // Byte by byte: the bytes of a character outside ASCII are never digits, so they
            // are copied as they are.
            self.canon.clear();
            let mut in_digits = false;
            for &c in tok.as_bytes() {
                if c.is_ascii_digit() {
                    if !in_digits {
                        self.canon.push(b'#');
                    }
                    in_digits = true;
                } else {
                    self.canon.push(c);
                    in_digits = false;
                }
            }
            self.tokens.push(xxh3_64(&self.canon));
        }
        collapse_name(&mut self.tokens, run, name);
        contact_cue
    }

    /// Fills `self.shingles` from `self.tokens`: sorted, deduplicated hashes.
    fn shingle(&mut self) {
        self.shingles.clear();
        if self.tokens.len() < 3 {
            self.shingles.extend(self.tokens.iter().copied());
        } else {
            self.shingles
                .extend(self.tokens.windows(2).map(|w| mix(w[0] ^ w[1].rotate_left(29))));
        }
        self.shingles.sort_unstable();
        self.shingles.dedup();
    }
}

/// The contact-channel cue phrases: bits 0 to 15 of [`CUES`].
const CONTACT_PHRASES: [&str; 16] = [
    "zalo", "telegram", "viber", "whatsapp", "inbox", "ib", "hotline", "lien he", "lh", "soan", "dang ky", "tai app",
    "click", "truy cap", "website", "link",
];
/// The one-time-code cue phrases: the bits of [`CUES`] after [`CONTACT_PHRASES`].
const CODE_PHRASES: [&str; 9] = [
    "otp",
    "ma xac thuc",
    "ma xac nhan",
    "ma kich hoat",
    "mat khau",
    "passcode",
    "password",
    "code",
    "pin",
];
/// The bits of [`CUES`] that are contact cues.
const CONTACT: u32 = (1 << CONTACT_PHRASES.len()) - 1;
/// The bits of [`CUES`] that are code cues.
const CODE: u32 = ((1 << CODE_PHRASES.len()) - 1) << CONTACT_PHRASES.len();

/// Both kinds of cue phrases in one set, so that one pass over the text finds both.
static CUES: std::sync::LazyLock<Cues> = std::sync::LazyLock::new(|| {
    let phrases: Vec<&'static str> = CONTACT_PHRASES.iter().chain(&CODE_PHRASES).copied().collect();
    Cues::new(&phrases)
});

/// Whether the folded text names a contact channel and whether it talks about a one-time
/// code, in one pass over it.
fn contact_and_code_cues(folded: &str) -> (bool, bool) {
    let found = CUES.found(folded, &[CONTACT, CODE]);
    (found & CONTACT != 0, found & CODE != 0)
}

/// True when the folded text names a contact channel.
#[cfg(test)]
fn has_contact_cue(folded: &str) -> bool {
    CUES.found(folded, &[CONTACT]) & CONTACT != 0
}

/// Phrases looked for as whole words, in one pass over the text: only where a word can
/// start (no letter or digit before) is anything compared, and only the phrases that start
/// with the byte there (this runs for every message the counters see).
struct Cues {
    phrases: Vec<&'static [u8]>,
    /// For each byte, the phrases (bit `i`: `phrases[i]`) that start with it.
    starting: [u32; 256],
}

impl Cues {
    /// Cues of up to 32 lower-case ASCII phrases, each starting with a letter.
    fn new(phrases: &[&'static str]) -> Cues {
        assert!(phrases.len() <= 32, "at most 32 cue phrases");
        let mut starting = [0u32; 256];
        for (i, p) in phrases.iter().enumerate() {
            let first = p.as_bytes()[0];
            assert!(first.is_ascii_lowercase(), "a cue phrase starts with a letter: {p:?}");
            starting[first as usize] |= 1 << i;
        }
        Cues {
            phrases: phrases.iter().map(|p| p.as_bytes()).collect(),
            starting,
        }
    }

    /// True when one of the phrases stands as whole words in the folded text (no letter or
    /// digit before it, no letter after it: `otp123` counts, `barcode` does not). Every
    /// phrase is tried at every such place, so that `ib` inside `inbox` does not hide
    /// `inbox`.
    #[cfg(test)]
    fn in_text(&self, folded: &str) -> bool {
        self.found(folded, &[u32::MAX]) != 0
    }

    /// The phrases (bit `i`: `phrases[i]`) that stand as whole words in the folded text, as
    /// [`Cues::in_text`] finds them; the pass ends as soon as each of `groups` (sets of
    /// phrase bits) has a phrase found, so the answer says for each group whether one of
    /// its phrases is in the text, not which ones.
    fn found(&self, folded: &str, groups: &[u32]) -> u32 {
        let b = folded.as_bytes();
        let mut found = 0u32;
        let mut word_before = false;
        for (i, &c) in b.iter().enumerate() {
            let starts = if word_before { 0 } else { self.starting[c as usize] };
            word_before = c.is_ascii_alphanumeric();
            let mut left = starts & !found;
            while left != 0 {
                let bit = left.trailing_zeros();
                let p = self.phrases[bit as usize];
                left &= left - 1;
                if b[i..].starts_with(p) && !b.get(i + p.len()).is_some_and(u8::is_ascii_alphabetic) {
                    found |= 1 << bit;
                    if groups.iter().all(|&g| found & g != 0) {
                        return found;
                    }
                }
            }
        }
        found
    }
}

/// True when the folded text talks about a one-time code.
#[cfg(test)]
fn has_code_cue(folded: &str) -> bool {
    CUES.found(folded, &[CODE]) & CODE != 0
}

/// A hash of a sequence of hashes (order matters).
fn seq_hash(v: &[u64]) -> u64 {
    v.iter()
        .fold(0x51_7c_c1_b7_27_22_0a_95, |h, &x| mix(h.rotate_left(23) ^ x))
}

/// A fast 64-bit mixer (the finalizer of SplitMix64).
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Seeds of the MinHash functions: `h_i(x) = mix(x ^ SEED_i)`.
fn seed(i: usize) -> u64 {
    mix(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1))
}

/// A MinHash signature of `K` values over a set of shingle hashes. An empty set gives a
/// signature of `u64::MAX`, which is still a valid (if common) key: callers skip texts
/// without enough tokens.
pub fn minhash<const K: usize>(shingles: &[u64]) -> [u64; K] {
    let mut sig = [u64::MAX; K];
    let seeds: [u64; K] = std::array::from_fn(seed);
    for &s in shingles {
        for (m, sd) in sig.iter_mut().zip(&seeds) {
            let h = mix(s ^ sd);
            if h < *m {
                *m = h;
            }
        }
    }
    sig
}

/// A MinHash signature of `k` values (the run-time version of [`minhash`], for comparisons).
pub fn minhash_dyn(shingles: &[u64], k: usize) -> Vec<u64> {
    let seeds: Vec<u64> = (0..k).map(seed).collect();
    let mut sig = vec![u64::MAX; k];
    for &s in shingles {
        for (m, sd) in sig.iter_mut().zip(&seeds) {
            *m = (*m).min(mix(s ^ sd));
        }
    }
    sig
}

/// The key of band `i` made of `rows` MinHash values.
pub fn band_key(i: usize, rows: &[u64]) -> u64 {
    let mut h = i as u64;
    for &r in rows {
        h = mix(h ^ r).wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
    xxh3_64_with_seed(&h.to_le_bytes(), i as u64)
}

/// The 64-bit SimHash of a set of shingle hashes (each shingle weighs 1): bit `b` is set
/// when more than half of the shingles' mixed hashes have it (their votes of +1 and -1 sum
/// above zero).
pub fn simhash(shingles: &[u64]) -> u64 {
    // Each shingle's bits are counted eight positions per word, one per byte: byte `k` of
    // `lanes[j]` counts bit `8k + j`. A byte holds up to 255 before it is added up.
    const LOW: u64 = 0x0101_0101_0101_0101;
    let mut ones = [0u64; 64];
    for part in shingles.chunks(255) {
        let mut lanes = [0u64; 8];
        for &s in part {
            let h = mix(s);
            for (j, lane) in lanes.iter_mut().enumerate() {
                *lane += h >> j & LOW;
            }
        }
        for (j, lane) in lanes.iter().enumerate() {
            for k in 0..8 {
                ones[8 * k + j] += lane >> (8 * k) & 0xff;
            }
        }
    }
    let n = shingles.len() as u64;
    ones.iter()
        .enumerate()
        .fold(0u64, |acc, (bit, &c)| if 2 * c > n { acc | 1 << bit } else { acc })
}

/// The Jaccard similarity of two sorted, deduplicated sets.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> Fingerprint {
        Fingerprinter::default().fingerprint(text)
    }

    /// Variants of one template: a name, an amount, a link, a phone number changed.
    const TEMPLATES: &[&[&str]] = &[
        &[
            "Chúc mừng anh Minh đã trúng thưởng 50.000.000đ từ chương trình tri ân khách hàng, nhận thưởng tại https://vtb-qua.xyz trước 17h hôm nay",
            "Chuc mung chi Lan da trung thuong 30.000.000d tu chuong trinh tri an khach hang, nhan thuong tai https://vcb-tri-an.top truoc 17h hom nay",
            "Chúc mừng bạn Hùng đã trúng thưởng 20tr từ chương trình tri ân khách hàng, nhận thưởng tại http://bit.ly/3xYz trước 17h hôm nay",
        ],
        &[
            "[TB] Ho so vay 50 trieu cua quy khach da duoc duyet, lai suat 0%, giai ngan trong 5 phut. Lien he 0912345678 de nhan tien",
            "[TB] Hồ sơ vay 80 triệu của quý khách đã được duyệt, lãi suất 0%, giải ngân trong 5 phút. Liên hệ 0987.654.321 để nhận tiền",
            "[TB] Ho so vay 120 trieu cua quy khach da duoc duyet, lai suat 0%, giai ngan trong 10 phut. Lien he 0355 111 222 de nhan tien",
        ],
        &[
            "Your parcel could not be delivered. Pay the 1.99 USD redelivery fee at https://post-vn.top/p/8812 within 24 hours",
            "Your parcel could not be delivered. Pay the 2.49 USD redelivery fee at https://vnpost-care.xyz/a/11 within 24 hours",
            "Your parcel could not be delivered. Pay the 1.50 USD redelivery fee at hxxp://parcel-fee[.]icu within 48 hours",
        ],
    ];

    #[test]
    fn variants_of_a_template_share_a_band() {
        for variants in TEMPLATES {
            let fps: Vec<Fingerprint> = variants.iter().map(|t| fp(t)).collect();
            for (i, a) in fps.iter().enumerate() {
                assert!(a.is_distinctive(), "{}", variants[i]);
                for (j, b) in fps.iter().enumerate().skip(i + 1) {
                    assert!(a.shares_band(b), "{:?} / {:?}", variants[i], variants[j]);
                }
            }
        }
    }

    #[test]
    fn different_templates_do_not_share_bands() {
        let firsts: Vec<Fingerprint> = TEMPLATES.iter().map(|v| fp(v[0])).collect();
        for (i, a) in firsts.iter().enumerate() {
            for b in &firsts[i + 1..] {
                assert!(!a.shares_band(b));
                assert_ne!(a.exact, b.exact);
            }
        }
    }

    #[test]
    fn otps_of_one_bank_do_not_cluster() {
        let codes = ["482913", "105377", "993020", "271154", "640018", "358862"];
        let texts: Vec<String> = codes
            .iter()
            .map(|c| {
                format!(
                    "Ma OTP cua Quy khach la {c}. Ma co hieu luc trong 5 phut. Vietcombank KHONG BAO GIO yeu cau cung cap ma OTP."
                )
            })
            .collect();
        let fps: Vec<Fingerprint> = texts.iter().map(|t| fp(t)).collect();
        for (i, a) in fps.iter().enumerate() {
            assert!(a.code);
            for b in &fps[i + 1..] {
                assert!(!a.shares_band(b));
                assert_ne!(a.exact, b.exact);
            }
        }
        // The same code twice is the same message.
        assert_eq!(fp(&texts[0]), fp(&texts[0]));
    }

    #[test]
    fn masking_makes_link_and_amount_variants_exact() {
        let a = fp("Nhận ngay 500k khi đăng ký tại https://a.xyz/r/1, gọi 0912345678");
        let b = fp("Nhan ngay 200.000d khi dang ky tai https://zz.top/q, goi 0987654321");
        assert_eq!(a.exact, b.exact);
        assert_eq!(a.bands, b.bands);
        assert_eq!(a.simhash, b.simhash);
    }

    /// SimHash as the vote it is defined as: +1 per shingle with the bit, -1 per shingle
    /// without it.
    fn simhash_by_votes(shingles: &[u64]) -> u64 {
        let mut votes = [0i64; 64];
        for &s in shingles {
            let h = mix(s);
            for (bit, v) in votes.iter_mut().enumerate() {
                *v += if h >> bit & 1 == 1 { 1 } else { -1 };
            }
        }
        votes
            .iter()
            .enumerate()
            .fold(0u64, |acc, (bit, &v)| if v > 0 { acc | 1 << bit } else { acc })
    }

    #[test]
    fn simhash_is_the_majority_vote_of_the_bits() {
        // Sizes around the 255-shingle parts the counting works in, and ties (even sizes
        // where a bit is set in exactly half).
        for n in [0usize, 1, 2, 3, 8, 40, 254, 255, 256, 511, 600, 1000] {
            for seed in 0..4u64 {
                let shingles: Vec<u64> = (0..n as u64).map(|i| mix(i ^ seed << 40)).collect();
                assert_eq!(simhash(&shingles), simhash_by_votes(&shingles), "n = {n}, seed {seed}");
            }
        }
        // One value many times over: every bit of its hash, and nothing else.
        let same = vec![12345u64; 700];
        assert_eq!(simhash(&same), mix(12345));
        assert_eq!(simhash(&same), simhash_by_votes(&same));
    }

    /// Every occurrence of every phrase, overlapping ones too, with the same whole-word
    /// test: what [`Cues::in_text`] must answer.
    fn cue_by_search(phrases: &[&str], folded: &str) -> bool {
        let b = folded.as_bytes();
        phrases.iter().any(|p| {
            (0..b.len()).any(|i| {
                b[i..].starts_with(p.as_bytes())
                    && !i.checked_sub(1).is_some_and(|j| b[j].is_ascii_alphanumeric())
                    && !b.get(i + p.len()).is_some_and(u8::is_ascii_alphabetic)
            })
        })
    }

    #[test]
    fn cues_are_found_as_whole_words_wherever_they_stand() {
        let phrases = [
            "zalo",
            "ib",
            "inbox",
            "lien he",
            "lh",
            "link",
            "otp",
            "code",
            "ma xac thuc",
        ];
        let cues = Cues::new(&phrases);
        let cases = [
            ("", false),
            ("ib", true),
            ("inbox ngay", true),
            ("xinbox", false),
            ("ibx", false),
            ("ib2", true),
            ("otp123", true),
            ("2otp", false),
            ("barcode", false),
            ("code.", true),
            ("a.zalo.me", true),
            ("lien hee", false),
            ("lien he", true),
            ("vui long lien he 0912", true),
            ("linkk lh", true),
            ("ma xac thu", false),
            ("ma xac thuc", true),
            ("ma xac thucx ma xac thuc", true),
            ("zaloo zalo9", true),
            ("tiếng việt zalo", true),
        ];
        for (text, want) in cases {
            assert_eq!(cues.in_text(text), want, "{text:?}");
            assert_eq!(cue_by_search(&phrases, text), want, "{text:?} (reference)");
        }
        // Every text of the data files and their folds, against the reference.
        let mut norm = Normalized::default();
        let mut seen = 0;
        for name in ["vi_smishing_ie403_part_a.tsv", "uci_sms_spam_collection_en.tsv"] {
            let path = format!("{}/../../data/{name}", env!("CARGO_MANIFEST_DIR"));
            let data = std::fs::read_to_string(&path).unwrap();
            for line in data.lines().skip(1) {
                let text = line.split_once('\t').map_or(line, |(_, t)| t);
                norm.fold(text);
                for t in [norm.text(), text] {
                    assert_eq!(cues.in_text(t), cue_by_search(&phrases, t), "{t:?}");
                    seen += cue_by_search(&phrases, t) as usize;
                }
            }
        }
        assert!(seen > 100, "the data holds cue words ({seen})");
    }

    #[test]
    fn short_texts_are_not_distinctive() {
        assert!(!fp("ok").is_distinctive());
        assert!(!fp("").is_distinctive());
        assert!(!fp("Cảm ơn bạn nhé").is_distinctive());
        assert_eq!(fp("").tokens, 0);
    }

    #[test]
    fn names_are_masked_but_not_title_case_texts() {
        let same = |a: &str, b: &str| fp(a).exact == fp(b).exact;
        assert!(same(
            "Chúc mừng anh Nguyễn Văn Bình đã trúng thưởng lớn hôm nay",
            "Chuc mung anh Le Thi Thu da trung thuong lon hom nay"
        ));
        assert!(same(
            "Dear Mary, your parcel is waiting",
            "Dear John, your parcel is waiting"
        ));
        // The first word of a sentence or after a header is not a name.
        assert!(!same("[TB] Ma OTP la 123456 nhe", "[TB] Xin OTP la 123456 nhe"));
        assert!(!same("Hello there. Please call", "Hello there. Kindly call"));
        // A whole text in Title Case is not one name.
        assert!(!same(
            "Chúc Mừng Bạn Đã Trúng Thưởng Lớn Hôm Nay",
            "Chúc Mừng Bạn Đã Trúng Giải Lớn Hôm Nay"
        ));
        // Capitals are not names.
        assert!(!same(
            "vay TIEN nhanh ngay hom nay nhe",
            "vay VON nhanh ngay hom nay nhe"
        ));
    }

    #[test]
    fn campaigns_need_a_call_to_action() {
        assert!(fp("Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz hôm nay").is_campaign_candidate());
        assert!(fp("Ho tro vay von lai suat thap, lien he 0912345678 ngay hom nay").is_campaign_candidate());
        assert!(fp("Viec nhe luong cao cho sinh vien, ib Zalo de duoc tu van ngay").is_campaign_candidate());
        assert!(
            fp("Free entry in a weekly comp to win FA Cup final tickets. Text FA to 87121").is_campaign_candidate()
        );
        assert!(fp("You are awarded a SiPix Digital Camera! call 09061221066 from landline").is_campaign_candidate());
        // Canned replies and greetings are sent word for word by many people.
        assert!(!fp("Xin lỗi, tôi sẽ gọi lại sau nhé").is_campaign_candidate());
        assert!(!fp("Wife. How she knew the time of murder exactly, no calls, no messages").is_campaign_candidate());
        assert!(!fp("Chúc mừng năm mới, an khang thịnh vượng, vạn sự như ý").is_campaign_candidate());
        assert!(fp("Chúc mừng năm mới, an khang thịnh vượng, vạn sự như ý").is_distinctive());
    }

    #[test]
    fn code_cues_need_word_boundaries() {
        assert!(has_code_cue("ma otp cua ban la 123456"));
        assert!(has_code_cue("your code 1234"));
        assert!(!has_code_cue("barcode scanner 1234"));
        assert!(!has_code_cue("pinky 1234"));
        assert!(has_code_cue("otp123456"), "digits may follow a cue");
        assert!(!has_code_cue("1234pin"), "but not come before it");
    }

    #[test]
    fn contact_cues_need_word_boundaries() {
        // Each phrase as a word, at either end, and inside a longer word (not a cue).
        for (text, cue) in [
            ("nhan tin zalo 0912", true),
            ("inbox ngay", true),
            ("lien he ngay", true),
            ("goi lh", true),
            ("ibis hotel", false),
            ("flinkt", false),
            ("clicks", false),
            ("", false),
        ] {
            assert_eq!(has_contact_cue(text), cue, "{text:?}");
        }
    }

    #[test]
    fn jaccard_and_simhash_basics() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard(&[], &[]), 1.0);
        let s = [1u64, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(simhash(&s), simhash(&s));
        assert_eq!(minhash::<4>(&s).to_vec(), minhash_dyn(&s, 4));
    }
}
