//! The keyword automaton: a compact Aho-Corasick DFA for the rule packs' keywords.
//!
//! [`KeywordDfa`] finds every occurrence of every keyword (overlapping, like
//! `aho_corasick`'s standard semantics) in one pass over the folded text, with one table
//! lookup per byte: the next state and whether it ends a keyword come out of the same
//! 32-bit entry. It is built for the folded text's small alphabet: bytes that occur in no
//! keyword share one class, so a row has one entry per distinct keyword byte (about 40 for
//! the built-in pack) plus one for where the state's keywords are listed, and the whole
//! table of the built-in pack is about 1.6 MB, of which a search touches mostly the few
//! shallow states that ordinary words walk through.
//!
//! A DFA grows with the keywords: [`KeywordDfa::new`] refuses to build one larger than a
//! given size, and the caller then walks a smaller (slower) automaton instead.

/// The bit of a transition that says the target state ends at least one keyword.
const MATCH: u32 = 1 << 31;
/// The end of a state's list of keywords.
const END: u32 = u32::MAX;
/// A missing trie edge while building.
const NONE: u32 = u32::MAX;

/// A dense Aho-Corasick DFA over byte classes, with premultiplied state ids.
#[derive(Debug, Clone)]
pub(crate) struct KeywordDfa {
    /// The class of every byte; 0 for bytes in no keyword.
    classes: [u8; 256],
    /// The number of classes; a row is `classes_len + 1` entries.
    classes_len: usize,
    /// Row after row: for each class, the next state's row offset, with [`MATCH`] set when
    /// that state ends a keyword; then the offset of the state's keywords in `outputs`.
    trans: Vec<u32>,
    /// Lists of keyword ids, each ended by [`END`].
    outputs: Vec<u32>,
}

impl KeywordDfa {
    /// Builds the DFA of `patterns` (keyword `i` is reported as `i`), or `None` when its
    /// table would take more than `max_bytes` (or the patterns are empty).
    pub(crate) fn new(patterns: &[impl AsRef<[u8]>], max_bytes: usize) -> Option<KeywordDfa> {
        let mut classes = [0u8; 256];
        let mut classes_len = 1usize;
        for p in patterns {
            for &b in p.as_ref() {
                if classes[b as usize] == 0 {
                    classes[b as usize] = classes_len as u8;
                    classes_len += 1;
                    // One class per byte value: at most 256, and 0 is taken.
                    if classes_len > 255 {
                        return None;
                    }
                }
            }
        }
        let stride = classes_len + 1;
        let fits = |states: usize| states * stride * 4 <= max_bytes && states * stride < MATCH as usize;

        // The trie: rows of `classes_len` child ids (not premultiplied), NONE for no child.
        let mut trie: Vec<u32> = vec![NONE; classes_len];
        let mut own: Vec<Vec<u32>> = vec![Vec::new()];
        for (id, p) in patterns.iter().enumerate() {
            let p = p.as_ref();
            if p.is_empty() {
                continue;
            }
            let mut s = 0usize;
            for &b in p {
                let c = classes[b as usize] as usize;
                let next = trie[s * classes_len + c];
                s = if next == NONE {
                    let n = own.len();
                    if !fits(n + 1) {
                        return None;
                    }
                    trie[s * classes_len + c] = n as u32;
                    trie.extend(std::iter::repeat_n(NONE, classes_len));
                    own.push(Vec::new());
                    n
                } else {
                    next as usize
                };
            }
            own[s].push(id as u32);
        }
        let states = own.len();
        if states == 1 {
            return None;
        }

        // Breadth first: every missing edge takes the failure state's edge (already complete,
        // being shallower), and every state also ends the keywords its failure state ends.
        let mut fail = vec![0u32; states];
        let mut outputs: Vec<Vec<u32>> = own;
        let mut queue = std::collections::VecDeque::new();
        for t in &mut trie[..classes_len] {
            match *t {
                NONE => *t = 0,
                child => queue.push_back(child),
            }
        }
        while let Some(s) = queue.pop_front() {
            let s = s as usize;
            let f = fail[s] as usize;
            for c in 0..classes_len {
                let via_fail = trie[f * classes_len + c];
                match trie[s * classes_len + c] {
                    NONE => trie[s * classes_len + c] = via_fail,
                    child => {
                        let child = child as usize;
                        fail[child] = via_fail;
                        let inherited = outputs[via_fail as usize].clone();
                        outputs[child].extend(inherited);
                        queue.push_back(child as u32);
                    }
                }
            }
        }

        let mut trans = Vec::with_capacity(states * stride);
        let mut flat = Vec::new();
        for s in 0..states {
            for c in 0..classes_len {
                let t = trie[s * classes_len + c] as usize;
                let m = if outputs[t].is_empty() { 0 } else { MATCH };
                trans.push((t * stride) as u32 | m);
            }
            trans.push(flat.len() as u32);
            flat.extend_from_slice(&outputs[s]);
            flat.push(END);
        }
        Some(KeywordDfa {
            classes,
            classes_len,
            trans,
            outputs: flat,
        })
    }

    /// The heap bytes of the tables.
    pub(crate) fn memory_usage(&self) -> usize {
        (self.trans.len() + self.outputs.len()) * 4
    }

    /// Calls `found(keyword, end)` for every occurrence of every keyword in `haystack`, in
    /// order of their end, where `end` is the byte offset just after the occurrence.
    #[inline]
    pub(crate) fn for_each_match(&self, haystack: &[u8], mut found: impl FnMut(usize, usize)) {
        let mut at = (0, 0);
        while let Some((sid, end)) = self.next_match(haystack, at) {
            let mut k = self.trans[sid + self.classes_len] as usize;
            while let Some(&id) = self.outputs.get(k)
                && id != END
            {
                found(id as usize, end);
                k += 1;
            }
            at = (sid, end);
        }
    }

    /// Runs from state `sid` at offset `i` to the next state that ends a keyword: that
    /// state and the offset after it. The hot loop, kept apart from the callers' work so
    /// that it runs in registers: one class and one transition load per byte.
    #[inline(never)]
    fn next_match(&self, haystack: &[u8], (mut sid, i): (usize, usize)) -> Option<(usize, usize)> {
        let (classes, trans) = (&self.classes, &self.trans[..]);
        for (k, &b) in haystack.get(i..)?.iter().enumerate() {
            let t = trans[sid + classes[b as usize] as usize];
            sid = (t & !MATCH) as usize;
            if t & MATCH != 0 {
                return Some((sid, i + k + 1));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (keyword, end) pair by brute force, sorted.
    fn naive(patterns: &[&str], hay: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for e in 1..=hay.len() {
            for (id, p) in patterns.iter().enumerate() {
                if !p.is_empty() && hay.as_bytes()[..e].ends_with(p.as_bytes()) {
                    out.push((id, e));
                }
            }
        }
        out.sort_unstable();
        out
    }

    fn dfa(patterns: &[&str], hay: &str) -> Vec<(usize, usize)> {
        let d = KeywordDfa::new(patterns, 1 << 20).expect("fits");
        let mut out = Vec::new();
        d.for_each_match(hay.as_bytes(), |id, e| out.push((id, e)));
        out.sort_unstable();
        out
    }

    #[test]
    fn finds_every_overlapping_occurrence() {
        let patterns = [
            "he", "she", "his", "hers", "vay tien", "vaytien", "tien", "a", "aa", "vay", "ay t", "", "v",
        ];
        for hay in [
            "ushers",
            "she sells his hers",
            "vay tien nhanh vaytien vay  tien",
            "aaaa",
            "",
            "xyz 123",
            "vvay tienn",
            "中文 vay",
        ] {
            assert_eq!(dfa(&patterns, hay), naive(&patterns, hay), "{hay:?}");
        }
    }

    #[test]
    fn the_same_keyword_twice_is_reported_twice() {
        assert_eq!(dfa(&["ab", "ab"], "xab"), [(0, 3), (1, 3)]);
    }

    #[test]
    fn refuses_tables_over_the_limit() {
        assert!(KeywordDfa::new(&["vay tien nhanh"], 64).is_none());
        assert!(KeywordDfa::new(&[""; 3], 1 << 20).is_none());
        assert!(KeywordDfa::new(&["vay tien nhanh"], 1 << 20).is_some());
    }
}
