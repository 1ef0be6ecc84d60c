//! One key's counters as a flat array of `u32` words: the embedded store's entry, and the
//! reference for the Redis script (`counters.lua` implements the same steps over the same
//! layout, with Redis HyperLogLogs in place of the embedded ones).
//!
//! Layout (every number a `u32` word):
//!
//! ```text
//! [expires, touched, header]                 header: bits 0-2 count windows, 3-5 distinct
//!                                            windows, bit 6 history
//! count    [tag, clock, (cur, prev) × n]
//! distinct [tag, clock, (set cur, set prev) × n]
//!          set = [len, fp × len]              len ≤ SMALL_MAX: exact 32-bit fingerprints
//!              | [HLL | estimate, registers × HLL_WORDS]
//! history  [tag, clock, new_cur, new_prev, all_cur, all_prev, n, (fp, last) × n]
//! ```
//!
//! Times are seconds since [`BASE`]; buckets are aligned on multiples of the window since
//! the Unix epoch, so every node and every backend agrees on them.

use chanrac_core::fingerprint::mix;
use chanrac_core::state::{HISTORY_CAPACITY, StateOp, Windows};

/// Stored times count seconds from 2000-01-01T00:00:00Z.
pub const BASE: i64 = 946_684_800;

/// A distinct set holds exact 32-bit fingerprints up to this size, then a HyperLogLog.
pub const SMALL_MAX: usize = 64;

const EXPIRES: usize = 0;
const TOUCHED: usize = 1;
const HEADER: usize = 2;
const FIELDS: usize = 3;

/// Marks a distinct set stored as a HyperLogLog; the low bits hold its estimate.
const HLL: u32 = 0x8000_0000;
/// HyperLogLog precision: 2^10 registers (standard error 1.04/√1024 ≈ 3.3 %), over a
/// 32-bit hash (ranks up to 23: enough for counts far beyond what a window holds).
const HLL_P: u32 = 10;
const HLL_REGS: usize = 1 << HLL_P;
/// Registers are bytes, four to a word.
const HLL_WORDS: usize = HLL_REGS / 4;

/// The 32-bit fingerprint a member is stored as.
#[inline]
pub fn fp32(member: u64) -> u32 {
    (member ^ (member >> 32)) as u32
}

/// How many seconds a key lives after an operation: until every bucket it needs is past.
pub fn ttl(op: &StateOp) -> u32 {
    match op {
        StateOp::Count { windows } | StateOp::Distinct { windows, .. } => windows.max().saturating_mul(2),
        StateOp::History {
            new_window, history, ..
        } => (*history).max(new_window.saturating_mul(2)),
    }
}

/// A tag of an operation's parameters: a field whose tag differs was made with other windows
/// (a policy change) and starts afresh.
pub fn tag(op: &StateOp) -> u32 {
    let (kind, windows, a, b) = match op {
        StateOp::Count { windows } => (1u64, windows, 0, 0),
        StateOp::Distinct { windows, .. } => (2, windows, 0, 0),
        StateOp::History {
            windows,
            new_window,
            history,
            ..
        } => (3, windows, *new_window, *history),
    };
    let mut h = kind;
    for &w in windows.as_slice() {
        h = mix(h ^ w as u64);
    }
    h = mix(h ^ ((a as u64) << 32 | b as u64));
    h as u32
}

/// How many buckets of `w` seconds lie between two times: 0, 1, or 2 for "two or more".
#[inline]
fn shift(old: u32, new: u32, w: u32) -> u8 {
    let ob = (BASE + old as i64) / w as i64;
    let nb = (BASE + new as i64) / w as i64;
    (nb - ob).clamp(0, 2) as u8
}

/// `cur + prev × (w − elapsed) / w`: the two-bucket estimate of the count over the last `w`
/// seconds at time `t`.
#[inline]
pub fn sliding(cur: u64, prev: u64, t: u32, w: u32) -> u64 {
    let elapsed = (BASE + t as i64).rem_euclid(w as i64) as u64;
    cur + prev * (w as u64 - elapsed) / w as u64
}

fn header(words: &[u32]) -> (usize, usize, bool) {
    let h = words[HEADER];
    ((h & 7) as usize, (h >> 3 & 7) as usize, h & 64 != 0)
}

fn set_header(words: &mut [u32], count: usize, distinct: usize, history: bool) {
    words[HEADER] = count as u32 | (distinct as u32) << 3 | if history { 64 } else { 0 };
}

fn set_len(words: &[u32], at: usize) -> usize {
    if words[at] & HLL != 0 {
        1 + HLL_WORDS
    } else {
        1 + words[at] as usize
    }
}

fn set_estimate(words: &[u32], at: usize) -> u64 {
    (words[at] & !HLL) as u64
}

/// Where the fields are: (start, length) of count, distinct and history.
#[derive(Debug, Clone, Copy)]
struct Offsets {
    count: (usize, usize),
    distinct: (usize, usize),
    history: (usize, usize),
}

fn offsets(words: &[u32]) -> Offsets {
    let (nc, nd, h) = header(words);
    let count = (FIELDS, if nc > 0 { 2 + 2 * nc } else { 0 });
    let dstart = count.0 + count.1;
    let mut dlen = 0;
    if nd > 0 {
        dlen = 2;
        for _ in 0..2 * nd {
            dlen += set_len(words, dstart + dlen);
        }
    }
    let hstart = dstart + dlen;
    let hlen = if h { 7 + 2 * words[hstart + 6] as usize } else { 0 };
    Offsets {
        count,
        distinct: (dstart, dlen),
        history: (hstart, hlen),
    }
}

/// True when `words` is a well-formed entry (used on snapshot load, so that a damaged file
/// can never make the store index out of bounds).
pub fn is_valid(words: &[u32]) -> bool {
    if words.len() < FIELDS {
        return false;
    }
    let (nc, nd, h) = header(words);
    if nc > 4 || nd > 4 || words[HEADER] >> 7 != 0 {
        return false;
    }
    let mut at = FIELDS + if nc > 0 { 2 + 2 * nc } else { 0 };
    if at > words.len() {
        return false;
    }
    if nd > 0 {
        at += 2;
        for _ in 0..2 * nd {
            let Some(&w) = words.get(at) else {
                return false;
            };
            if w & HLL == 0 && w as usize > SMALL_MAX {
                return false;
            }
            at += set_len(words, at);
        }
    }
    if h {
        let Some(&n) = words.get(at + 6) else {
            return false;
        };
        if n as usize > HISTORY_CAPACITY {
            return false;
        }
        at += 7 + 2 * n as usize;
    }
    at == words.len()
}

/// A fresh, empty entry.
pub fn fresh(now: u32) -> Vec<u32> {
    vec![now, now, 0]
}

/// The last time the entry was touched (for eviction of the coldest keys).
pub fn touched(words: &[u32]) -> u32 {
    words[TOUCHED]
}

/// True when every counter of the entry is past at `now`.
pub fn expired(words: &[u32], now: u32) -> bool {
    now >= words[EXPIRES]
}

/// Applies `op` at `now` (seconds since [`BASE`]) and appends its values to `out`.
pub fn apply(words: &mut Vec<u32>, op: &StateOp, now: u32, out: &mut Vec<u64>) {
    if expired(words, now) && words[HEADER] != 0 {
        *words = fresh(now);
    }
    words[TOUCHED] = words[TOUCHED].max(now);
    words[EXPIRES] = words[EXPIRES].max(now.saturating_add(ttl(op)));
    let tag = tag(op);
    match op {
        StateOp::Count { windows } => count(words, windows, tag, now, out),
        StateOp::Distinct { member, windows } => distinct(words, windows, fp32(*member), tag, now, out),
        StateOp::History {
            member,
            windows,
            new_window,
            history,
        } => history_op(words, windows, fp32(*member), (*new_window, *history), tag, now, out),
    }
}

/// Makes sure the field at `(start, len)` exists with `tag`; replaces it with a blank one
/// (tag, clock `now`, then `zeros` zero words) when it is missing or has another tag.
/// Returns the field's start and its clock.
fn open(words: &mut Vec<u32>, (start, len): (usize, usize), tag: u32, now: u32, zeros: usize) -> (usize, u32) {
    if len == 0 || words[start] != tag {
        let blank = [tag, now].into_iter().chain(std::iter::repeat_n(0, zeros));
        words.splice(start..start + len, blank);
        words.shrink_to_fit();
    }
    (start, words[start + 1])
}

fn count(words: &mut Vec<u32>, windows: &Windows, tag: u32, now: u32, out: &mut Vec<u64>) {
    let n = windows.len();
    let (_, nd, h) = header(words);
    let (s, clock) = open(words, offsets(words).count, tag, now, 2 * n);
    set_header(words, n, nd, h);
    let t = now.max(clock);
    for (i, &w) in windows.as_slice().iter().enumerate() {
        let (c, p) = (s + 2 + 2 * i, s + 3 + 2 * i);
        match shift(clock, t, w) {
            0 => {}
            1 => {
                words[p] = words[c];
                words[c] = 0;
            }
            _ => {
                words[p] = 0;
                words[c] = 0;
            }
        }
        words[c] = words[c].saturating_add(1);
        out.push(sliding(words[c] as u64, words[p] as u64, t, w));
    }
    words[s + 1] = t;
}

fn distinct(words: &mut Vec<u32>, windows: &Windows, fp: u32, tag: u32, now: u32, out: &mut Vec<u64>) {
    let n = windows.len();
    let (nc, _, h) = header(words);
    let (s, clock) = open(words, offsets(words).distinct, tag, now, 2 * n);
    set_header(words, nc, n, h);
    let t = now.max(clock);
    words[s + 1] = t;
    let mut at = s + 2;
    for &w in windows.as_slice() {
        let cur_len = set_len(words, at);
        let prev_len = set_len(words, at + cur_len);
        match shift(clock, t, w) {
            0 => {}
            1 => {
                // The current set becomes the previous one; a new empty set comes first.
                words.drain(at + cur_len..at + cur_len + prev_len);
                words.insert(at, 0);
                words.shrink_to_fit();
            }
            _ => {
                words.splice(at..at + cur_len + prev_len, [0, 0]);
                words.shrink_to_fit();
            }
        }
        set_insert(words, at, fp);
        let cur_len = set_len(words, at);
        let cur = set_estimate(words, at);
        let prev = set_estimate(words, at + cur_len);
        out.push(sliding(cur, prev, t, w));
        at += cur_len + set_len(words, at + cur_len);
    }
}

/// Adds `fp` to the set at `at`.
fn set_insert(words: &mut Vec<u32>, at: usize, fp: u32) {
    let head = words[at];
    if head & HLL != 0 {
        if hll_add(&mut words[at + 1..at + 1 + HLL_WORDS], fp) {
            words[at] = HLL | hll_estimate(&words[at + 1..at + 1 + HLL_WORDS]).min(!HLL as u64) as u32;
        }
        return;
    }
    let len = head as usize;
    if words[at + 1..at + 1 + len].contains(&fp) {
        return;
    }
    if len < SMALL_MAX {
        words.reserve_exact(1);
        words.insert(at + 1 + len, fp);
        words[at] += 1;
        return;
    }
    // Too many members for an exact set: promote to a HyperLogLog.
    let mut regs = vec![0u32; HLL_WORDS];
    for &m in words[at + 1..at + 1 + len].iter().chain([&fp]) {
        hll_add(&mut regs, m);
    }
    let est = hll_estimate(&regs).min(!HLL as u64) as u32;
    words.splice(at..at + 1 + len, std::iter::once(HLL | est).chain(regs));
    words.shrink_to_fit();
}

/// The 32-bit hash of a member for the HyperLogLog: MurmurHash3's finalizer, which the Redis
/// script computes the same way with 16-bit halves.
pub fn hll_hash(fp: u32) -> u32 {
    let mut h = fp ^ 0x9e37_79b9;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Adds a fingerprint to packed registers; true when a register changed.
fn hll_add(regs: &mut [u32], fp: u32) -> bool {
    let h = hll_hash(fp);
    let j = (h >> (32 - HLL_P)) as usize;
    let rank = ((h << HLL_P) | (1 << (HLL_P - 1))).leading_zeros() + 1;
    let (w, shift) = (j / 4, (j % 4) * 8);
    let old = regs[w] >> shift & 0xff;
    if rank > old {
        regs[w] = regs[w] & !(0xff << shift) | rank << shift;
        true
    } else {
        false
    }
}

/// The HyperLogLog estimate (with linear counting for small cardinalities).
fn hll_estimate(regs: &[u32]) -> u64 {
    let m = HLL_REGS as f64;
    let (mut sum, mut zeros) = (0.0f64, 0u32);
    for &w in regs {
        for k in 0..4 {
            let r = w >> (k * 8) & 0xff;
            sum += 2f64.powi(-(r as i32));
            zeros += (r == 0) as u32;
        }
    }
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let e = alpha * m * m / sum;
    let e = if e <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        e
    };
    e.round() as u64
}

fn history_op(
    words: &mut Vec<u32>,
    windows: &Windows,
    fp: u32,
    (new_window, history): (u32, u32),
    tag: u32,
    now: u32,
    out: &mut Vec<u64>,
) {
    let (nc, nd, _) = header(words);
    let (s, clock) = open(words, offsets(words).history, tag, now, 5);
    set_header(words, nc, nd, true);
    let t = now.max(clock);
    words[s + 1] = t;
    match shift(clock, t, new_window) {
        0 => {}
        1 => {
            words[s + 3] = words[s + 2];
            words[s + 5] = words[s + 4];
            words[s + 2] = 0;
            words[s + 4] = 0;
        }
        _ => words[s + 2..s + 6].fill(0),
    }
    // Forget members not touched within the history.
    let n = words[s + 6] as usize;
    let members = s + 7;
    let alive = |last: u32| last as i64 > t as i64 - history as i64;
    let mut kept = 0;
    for i in 0..n {
        let (f, last) = (words[members + 2 * i], words[members + 2 * i + 1]);
        if alive(last) {
            words[members + 2 * kept] = f;
            words[members + 2 * kept + 1] = last;
            kept += 1;
        }
    }
    if kept < n {
        words.drain(members + 2 * kept..members + 2 * n);
        words.shrink_to_fit();
    }
    let mut n = kept;
    let known = (0..n).find(|&i| words[members + 2 * i] == fp);
    match known {
        Some(i) => words[members + 2 * i + 1] = words[members + 2 * i + 1].max(t),
        None => {
            if n == HISTORY_CAPACITY {
                // Full: the member touched longest ago makes room.
                let oldest = (0..n).min_by_key(|&i| words[members + 2 * i + 1]).unwrap_or(0);
                words.drain(members + 2 * oldest..members + 2 * oldest + 2);
                n -= 1;
            }
            words.reserve_exact(2);
            words.splice(members + 2 * n..members + 2 * n, [fp, t]);
            n += 1;
        }
    }
    words[s + 6] = n as u32;
    if known.is_none() {
        words[s + 2] = words[s + 2].saturating_add(1);
    }
    words[s + 4] = words[s + 4].saturating_add(1);
    for &w in windows.as_slice() {
        let within = (0..n)
            .filter(|&i| words[members + 2 * i + 1] as i64 > t as i64 - w as i64)
            .count();
        out.push(within as u64);
    }
    out.push(sliding(words[s + 2] as u64, words[s + 3] as u64, t, new_window));
    out.push(sliding(words[s + 4] as u64, words[s + 5] as u64, t, new_window));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &[u32]) -> Windows {
        Windows::new(s).unwrap()
    }

    #[test]
    fn fields_live_side_by_side() {
        let mut e = fresh(1000);
        let mut out = Vec::new();
        let c = StateOp::Count {
            windows: w(&[60, 3600]),
        };
        let d = StateOp::Distinct {
            member: 7,
            windows: w(&[60]),
        };
        let h = StateOp::History {
            member: 9,
            windows: w(&[3600]),
            new_window: 86_400,
            history: 30 * 86_400,
        };
        apply(&mut e, &c, 1000, &mut out);
        apply(&mut e, &h, 1000, &mut out);
        apply(&mut e, &d, 1000, &mut out);
        apply(&mut e, &c, 1001, &mut out);
        assert!(is_valid(&e), "{e:?}");
        assert_eq!(out, vec![1, 1, 1, 1, 1, 1, 2, 2]);
    }

    #[test]
    fn distinct_promotes_to_hll_and_stays_valid() {
        let mut e = fresh(0);
        let mut out = Vec::new();
        for i in 0..5000u64 {
            out.clear();
            let op = StateOp::Distinct {
                member: mix(i),
                windows: w(&[86_400]),
            };
            apply(&mut e, &op, 10, &mut out);
        }
        assert!(is_valid(&e));
        let est = out[0] as f64;
        assert!((est - 5000.0).abs() / 5000.0 < 0.1, "{est}");
    }

    #[test]
    fn validation_refuses_damage() {
        assert!(is_valid(&fresh(0)));
        assert!(!is_valid(&[0, 0]));
        assert!(!is_valid(&[0, 0, 1]));
        assert!(!is_valid(&[0, 0, 128]));
        let mut e = fresh(0);
        let mut out = Vec::new();
        let op = StateOp::Count { windows: w(&[60]) };
        apply(&mut e, &op, 0, &mut out);
        assert!(is_valid(&e));
        e.push(0);
        assert!(!is_valid(&e));
    }

    #[test]
    fn tags_differ_by_parameters() {
        let a = StateOp::Count { windows: w(&[60]) };
        let b = StateOp::Count { windows: w(&[61]) };
        let c = StateOp::Distinct {
            member: 0,
            windows: w(&[60]),
        };
        assert_ne!(tag(&a), tag(&b));
        assert_ne!(tag(&a), tag(&c));
    }
}
