//! The Do-Not-Call register in memory: which numbers refuse ad messages, ad calls or both.
//!
//! A number is reduced to one `u64`, the digits of its canonical E.164 form
//! (`0912 345 678` → `84912345678`) by [`msisdn`], which reads the same forms as
//! [`chanrac_core::phone::parse_number`] without allocating. [`DncIndex`] keeps the
//! registered numbers with their flags packed in one sorted vector of `u64`, with a bucket
//! table over the keys' range (about eight entries per bucket), so a lookup is one table read
//! and a scan of about one cache line (`cargo bench -p chanrac-hub --bench dnc`; figures in
//! docs/benchmarks.md). Changes go to a
//! small sorted overlay that is merged into the base when it grows, so a registration does
//! not rebuild ten million entries.

use std::sync::Arc;

/// Flag: refuses ad messages.
pub const SMS: u8 = 1;
/// Flag: refuses ad calls.
pub const CALLS: u8 = 2;

/// Changes kept in the overlay before it is merged into the base.
const OVERLAY_MAX: usize = 4096;

/// The digits of a subscriber number's canonical form (`84912345678` for `0912345678`,
/// `14155550123` for `+1 415 555 0123`), or `None` for anything that is not a Vietnamese
/// mobile or fixed number or an international number (short codes and `1900` numbers take
/// no ads registration). Accepts what [`chanrac_core::phone::parse_number`] accepts: spaces,
/// dots, dashes and brackets anywhere, `+84`, `84`, `0084`, `0` prefixes.
pub fn msisdn(s: &str) -> Option<u64> {
    let mut d = [0u8; 15];
    let mut n = 0usize;
    let mut plus = false;
    for (i, &b) in s.trim().as_bytes().iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                if n == 15 {
                    return None;
                }
                d[n] = b - b'0';
                n += 1;
            }
            b'+' if n == 0 => plus |= i == 0,
            b' ' | b'.' | b'-' | b'(' | b')' => {}
            _ => return None,
        }
    }
    let d = &d[..n];
    if d.is_empty() {
        return None;
    }
    if plus {
        if let Some(rest) = d.strip_prefix(&[8, 4]) {
            if rest.first() == Some(&0) {
                return None;
            }
            return national(rest);
        }
        if d.starts_with(&[0, 8, 4]) {
            return None;
        }
        return international(d);
    }
    if let Some(rest) = d.strip_prefix(&[0, 0, 8, 4]) {
        return national(rest);
    }
    if let Some(rest) = d.strip_prefix(&[0, 0]) {
        return international(rest);
    }
    if let Some(rest) = d.strip_prefix(&[0]) {
        return national(rest);
    }
    if let Some(rest) = d.strip_prefix(&[8, 4])
        && let Some(k) = national(rest)
    {
        return Some(k);
    }
    None
}

fn national(rest: &[u8]) -> Option<u64> {
    match (rest.len(), rest.first()) {
        (9, Some(3 | 5 | 7 | 8 | 9)) | (10, Some(2)) => Some(rest.iter().fold(84, |k, &x| k * 10 + x as u64)),
        _ => None,
    }
}

fn international(d: &[u8]) -> Option<u64> {
    if !(8..=15).contains(&d.len()) || d[0] == 0 {
        return None;
    }
    if let Some(rest) = d.strip_prefix(&[8, 4]) {
        return national(rest);
    }
    Some(d.iter().fold(0, |k, &x| k * 10 + x as u64))
}

/// The canonical written form of a key: `+84912345678`.
pub fn format_key(key: u64) -> String {
    format!("+{key}")
}

/// The immutable, merged part of the index.
#[derive(Debug, Default)]
struct Base {
    /// `key << 2 | flags`, sorted: the flags travel in the same cache line as the key.
    packed: Vec<u64>,
    /// `starts[b]..starts[b + 1]` is the range of entries whose `(key - min) >> shift == b`.
    starts: Vec<u32>,
    min: u64,
    shift: u32,
}

impl Base {
    fn build(mut entries: Vec<(u64, u8)>) -> Base {
        // A stable sort keeps the order of changes to one key: the last one wins.
        entries.sort_by_key(|e| e.0);
        let mut packed: Vec<u64> = Vec::with_capacity(entries.len());
        for (k, f) in entries {
            let e = k << 2 | (f & 3) as u64;
            match packed.last_mut() {
                Some(last) if *last >> 2 == k => *last = e,
                _ => packed.push(e),
            }
        }
        // Drop the keys whose last change removed every flag.
        packed.retain(|e| e & 3 != 0);
        let (min, max) = match (packed.first(), packed.last()) {
            (Some(&a), Some(&b)) => (a >> 2, b >> 2),
            _ => return Base::default(),
        };
        // About eight entries (one cache line) per bucket, at most 2^24 buckets.
        let target = (packed.len() / 8).clamp(1, 1 << 24) as u64;
        let span = max - min + 1;
        let mut shift = 0;
        while (span >> shift) > target {
            shift += 1;
        }
        let nb = ((max - min) >> shift) as usize + 1;
        let mut starts = vec![0u32; nb + 1];
        for &e in &packed {
            starts[(((e >> 2) - min) >> shift) as usize + 1] += 1;
        }
        for b in 0..nb {
            starts[b + 1] += starts[b];
        }
        Base {
            packed,
            starts,
            min,
            shift,
        }
    }

    #[inline]
    fn get(&self, key: u64) -> u8 {
        if key < self.min {
            return 0;
        }
        let b = ((key - self.min) >> self.shift) as usize;
        let (Some(&lo), Some(&hi)) = (self.starts.get(b), self.starts.get(b + 1)) else {
            return 0;
        };
        // A bucket holds a few entries: a linear scan beats a binary search here.
        for &e in &self.packed[lo as usize..hi as usize] {
            if e >> 2 >= key {
                return if e >> 2 == key { (e & 3) as u8 } else { 0 };
            }
        }
        0
    }

    fn entries(&self) -> impl Iterator<Item = (u64, u8)> + '_ {
        self.packed.iter().map(|&e| (e >> 2, (e & 3) as u8))
    }
}

/// Registered numbers and what they refuse. Cheap to clone (the base is shared).
#[derive(Debug, Clone, Default)]
pub struct DncIndex {
    base: Arc<Base>,
    /// Recent changes, sorted by key; a flag value of 0 means "no longer registered".
    overlay: Vec<(u64, u8)>,
}

impl DncIndex {
    /// An index of `entries` (key, flags); a later entry of the same key replaces an
    /// earlier one, and entries with no flags are left out.
    pub fn new(entries: impl IntoIterator<Item = (u64, u8)>) -> DncIndex {
        DncIndex {
            base: Arc::new(Base::build(entries.into_iter().collect())),
            overlay: Vec::new(),
        }
    }

    /// The flags ([`SMS`], [`CALLS`]) of a key; 0 when it is not registered.
    #[inline]
    pub fn flags(&self, key: u64) -> u8 {
        self.overlay_flags(key).unwrap_or_else(|| self.base.get(key))
    }

    /// True when the number (in any written form) refuses what `flag` names.
    #[inline]
    pub fn refuses(&self, number: &str, flag: u8) -> bool {
        msisdn(number).is_some_and(|k| self.flags(k) & flag != 0)
    }

    /// The positions in `numbers` of those that must not be contacted for `flag`, in
    /// order. The numbers are read, sorted by key and merged with the register in one
    /// forward pass, so that memory is read in order instead of at random; a large request
    /// is split over the machine's cores.
    pub fn scrub<S: AsRef<str> + Sync>(&self, numbers: &[S], flag: u8) -> Vec<usize> {
        const PER_THREAD: usize = 64 * 1024;
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(numbers.len() / PER_THREAD)
            .max(1);
        if threads == 1 {
            return self.scrub_part(numbers, 0, flag);
        }
        let chunk = numbers.len().div_ceil(threads);
        std::thread::scope(|s| {
            let parts: Vec<_> = numbers
                .chunks(chunk)
                .enumerate()
                .map(|(i, part)| s.spawn(move || self.scrub_part(part, i * chunk, flag)))
                .collect();
            parts.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
        })
    }

    /// [`DncIndex::scrub`] of one slice whose first number is at `offset`.
    fn scrub_part<S: AsRef<str>>(&self, numbers: &[S], offset: usize, flag: u8) -> Vec<usize> {
        // Key and position in one u64 when they fit (every Vietnamese number does), so that
        // the sort moves 8 bytes per number instead of 16.
        const POS_BITS: u32 = 20;
        let packable = numbers.len() < 1 << POS_BITS;
        let mut keyed: Vec<u64> = Vec::with_capacity(numbers.len());
        let mut wide: Vec<(u64, u32)> = Vec::new();
        for (i, n) in numbers.iter().enumerate() {
            if let Some(k) = msisdn(n.as_ref()) {
                if packable && k < 1 << (64 - POS_BITS) {
                    keyed.push(k << POS_BITS | i as u64);
                } else {
                    wide.push((k, i as u32));
                }
            }
        }
        keyed.sort_unstable();
        wide.sort_unstable();
        let mask = (1u64 << POS_BITS) - 1;
        let mut out = Vec::new();
        let mut merge = |pairs: &mut dyn Iterator<Item = (u64, usize)>| {
            let packed = &self.base.packed;
            let mut at = 0usize;
            for (key, i) in pairs {
                let f = if let Some(o) = self.overlay_flags(key) {
                    o
                } else {
                    // Gallop forward from the last position, then search the last step.
                    let mut step = 1;
                    while at + step < packed.len() && packed[at + step] >> 2 < key {
                        at += step;
                        step *= 2;
                    }
                    let end = (at + step + 1).min(packed.len());
                    at += packed[at..end].partition_point(|&e| e >> 2 < key);
                    match packed.get(at) {
                        Some(&e) if e >> 2 == key => (e & 3) as u8,
                        _ => 0,
                    }
                };
                if f & flag != 0 {
                    out.push(offset + i);
                }
            }
        };
        merge(&mut keyed.iter().map(|&e| (e >> POS_BITS, (e & mask) as usize)));
        merge(&mut wide.iter().map(|&(k, i)| (k, i as usize)));
        out.sort_unstable();
        out
    }

    #[inline]
    fn overlay_flags(&self, key: u64) -> Option<u8> {
        if self.overlay.is_empty() {
            return None;
        }
        self.overlay
            .binary_search_by_key(&key, |e| e.0)
            .ok()
            .map(|i| self.overlay[i].1)
    }

    /// The index with a change applied: `flags` is the key's new state (0: not registered).
    pub fn with_change(&self, key: u64, flags: u8) -> DncIndex {
        self.with_changes(&[(key, flags)])
    }

    /// The index with changes applied in order (a later change of a key wins).
    pub fn with_changes(&self, changes: &[(u64, u8)]) -> DncIndex {
        if changes.len() > OVERLAY_MAX {
            let entries = self.entries_with_zeros().chain(changes.iter().copied()).collect();
            return DncIndex {
                base: Arc::new(Base::build(entries)),
                overlay: Vec::new(),
            };
        }
        let mut overlay = self.overlay.clone();
        for &(key, flags) in changes {
            match overlay.binary_search_by_key(&key, |e| e.0) {
                Ok(i) => overlay[i].1 = flags,
                Err(i) => overlay.insert(i, (key, flags)),
            }
        }
        if overlay.len() <= OVERLAY_MAX {
            return DncIndex {
                base: self.base.clone(),
                overlay,
            };
        }
        let entries = self.base.entries().chain(overlay).collect();
        DncIndex {
            base: Arc::new(Base::build(entries)),
            overlay: Vec::new(),
        }
    }

    /// The base's entries followed by the overlay's (with its removals), for a rebuild.
    fn entries_with_zeros(&self) -> impl Iterator<Item = (u64, u8)> + '_ {
        self.base.entries().chain(self.overlay.iter().copied())
    }

    /// Every registered key and its flags, in key order.
    pub fn entries(&self) -> Vec<(u64, u8)> {
        let mut all: std::collections::BTreeMap<u64, u8> = self.base.entries().collect();
        for &(k, f) in &self.overlay {
            all.insert(k, f);
        }
        all.into_iter().filter(|e| e.1 != 0).collect()
    }

    /// How many numbers are registered (for any scope).
    pub fn len(&self) -> usize {
        let mut n = self.base.packed.len();
        for &(k, f) in &self.overlay {
            let before = self.base.get(k) != 0;
            match (before, f != 0) {
                (false, true) => n += 1,
                (true, false) => n -= 1,
                _ => {}
            }
        }
        n
    }

    /// True when no number is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use chanrac_core::phone::{PhoneKind, parse_number};

    use super::*;

    /// What `parse_number` says, as a key, for the kinds the register takes.
    fn reference(s: &str) -> Option<u64> {
        match parse_number(s) {
            Ok(Some(p))
                if matches!(
                    p.kind,
                    PhoneKind::VnMobile | PhoneKind::VnFixed | PhoneKind::International
                ) =>
            {
                p.key[1..].parse().ok()
            }
            _ => None,
        }
    }

    #[test]
    fn reads_numbers_like_the_core() {
        let cases = [
            ("0912345678", Some(84912345678)),
            ("+84912345678", Some(84912345678)),
            ("84912345678", Some(84912345678)),
            ("0084 912 345 678", Some(84912345678)),
            ("(+84) 912-345-678", Some(84912345678)),
            ("0912.345.678", Some(84912345678)),
            ("02439876543", Some(842439876543)),
            ("+14155550123", Some(14155550123)),
            ("+840912345678", None),
            ("+084912345678", None),
            ("5656", None),
            ("19001234", None),
            ("091234567", None),
            ("0912345678x", None),
            ("", None),
            ("+", None),
            ("1234567890123456", None),
        ];
        for (s, want) in cases {
            assert_eq!(msisdn(s), want, "{s}");
            assert_eq!(msisdn(s), reference(s), "{s} differs from parse_number");
        }
    }

    #[test]
    fn agrees_with_parse_number_on_random_forms() {
        // A fixed pseudo-random stream of strings over the characters numbers are written
        // with, biased toward realistic prefixes.
        let alphabet = b"0123456789+ .-()84x";
        let prefixes = ["", "0", "+84", "84", "0084", "00", "+", "+840", "+084"];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200_000 {
            let mut s = String::from(prefixes[(next() % prefixes.len() as u64) as usize]);
            let len = next() % 14;
            for _ in 0..len {
                let r = next();
                let c = if r % 5 == 0 {
                    alphabet[(r / 5 % alphabet.len() as u64) as usize]
                } else {
                    b'0' + (r / 5 % 10) as u8
                };
                s.push(c as char);
            }
            assert_eq!(msisdn(&s), reference(&s), "{s:?}");
        }
    }

    #[test]
    fn looks_up_flags_with_changes_and_merges() {
        let idx = DncIndex::new([(84912345678, SMS), (84987654321, SMS | CALLS), (84911111111, CALLS)]);
        assert!(idx.refuses("0912 345 678", SMS));
        assert!(!idx.refuses("0912345678", CALLS));
        assert!(idx.refuses("+84987654321", CALLS));
        assert!(!idx.refuses("0900000000", SMS));
        assert!(!idx.refuses("not a number", SMS));
        assert_eq!(idx.len(), 3);
        let idx2 = idx.with_change(84912345678, 0).with_change(84900000000, SMS);
        assert!(!idx2.refuses("0912345678", SMS));
        assert!(idx2.refuses("0900000000", SMS));
        assert!(idx.refuses("0912345678", SMS), "the old index is unchanged");
        assert_eq!(idx2.len(), 3);
        // Enough changes to force a merge into the base.
        let mut big = idx2.clone();
        for i in 0..(OVERLAY_MAX as u64 + 10) {
            big = big.with_change(84_300_000_000 + i * 7, SMS);
        }
        assert!(big.overlay.len() < OVERLAY_MAX);
        assert_eq!(big.len(), 3 + OVERLAY_MAX + 10);
        assert!(big.refuses("0300000007", SMS));
        assert!(big.refuses("0900000000", SMS));
        assert!(!big.refuses("0912345678", SMS));
        assert_eq!(big.entries().len(), big.len());
        // A batch larger than the overlay is merged at once, removals included.
        let batch: Vec<(u64, u8)> = (0..(OVERLAY_MAX as u64 + 10))
            .map(|i| (84_300_000_000 + i * 7, 0))
            .collect();
        let emptied = big.with_changes(&batch);
        assert!(emptied.overlay.is_empty());
        assert_eq!(emptied.len(), 3);
        assert!(emptied.refuses("0900000000", SMS) && emptied.refuses("0987654321", CALLS));
        assert!(!emptied.refuses("0300000007", SMS));
        let pos = big.scrub(&["0912345678", "0300000014", "hello", "+84 987 654 321"], SMS);
        assert_eq!(pos, vec![1, 3]);
    }

    #[test]
    fn every_key_of_a_large_index_is_found_and_neighbours_are_not() {
        let keys: Vec<u64> = (0..100_000u64).map(|i| 84_300_000_000 + i * i % 699_999_999).collect();
        let idx = DncIndex::new(keys.iter().map(|&k| (k, SMS)));
        let set: std::collections::HashSet<u64> = keys.iter().copied().collect();
        for &k in &keys {
            assert_eq!(idx.flags(k), SMS);
            for n in [k - 1, k + 1] {
                assert_eq!(idx.flags(n) != 0, set.contains(&n), "{n}");
            }
        }
        assert_eq!(idx.len(), set.len());
        // The sorted scrub agrees with one lookup per number, duplicates and order included.
        let asked: Vec<String> = (0..20_000u64)
            .map(|i| {
                format!(
                    "0{}",
                    keys[(i * 7919 % keys.len() as u64) as usize] - 84_000_000_000 + i % 3
                )
            })
            .collect();
        let want: Vec<usize> = (0..asked.len()).filter(|&i| idx.refuses(&asked[i], SMS)).collect();
        assert!(!want.is_empty() && want.len() < asked.len());
        assert_eq!(idx.scrub(&asked, SMS), want);
        // Split over threads, and with international numbers too long to pack.
        let many: Vec<String> = asked
            .iter()
            .cycle()
            .take(300_000)
            .cloned()
            .chain(["+123456789012345".to_string()])
            .collect();
        let want_many: Vec<usize> = (0..many.len()).filter(|&i| idx.refuses(&many[i], SMS)).collect();
        assert_eq!(idx.scrub(&many, SMS), want_many);
        let intl = DncIndex::new([(123456789012345, SMS)]);
        assert_eq!(intl.scrub(&["+123456789012345", "0912345678"], SMS), [0]);
        let changed = idx.with_change(msisdn(&asked[want[0]]).unwrap(), 0);
        assert_eq!(
            changed.scrub(&asked, SMS).len(),
            want.len() - asked.iter().filter(|a| **a == asked[want[0]]).count()
        );
        assert_eq!(DncIndex::default().flags(84912345678), 0);
        // A later entry of a key replaces an earlier one; no flags is no entry.
        let idx = DncIndex::new([
            (84912345678, SMS),
            (84912345678, 0),
            (84900000000, CALLS),
            (84900000000, SMS),
        ]);
        assert_eq!((idx.flags(84912345678), idx.flags(84900000000), idx.len()), (0, SMS, 1));
    }
}
