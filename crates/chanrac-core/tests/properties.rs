//! Property tests: normalization and the whole engine never panic, the fold is idempotent,
//! and every evidence span lies inside the original text.

use chanrac_core::normalize::Normalized;
use chanrac_core::{Engine, Message};
use proptest::prelude::*;

#[path = "../benches/support/sms_pieces.rs"]
mod sms_pieces;

/// Texts that look like what spammers send: Vietnamese letters with and without diacritics,
/// decomposed marks, digits, punctuation, look-alikes, invisible characters, emoji.
fn sms_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(sms_pieces::SMS_PIECES.to_vec());
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn fold_is_idempotent_on_sms_like_text(s in sms_like()) {
        let once = Normalized::new(&s);
        let twice = Normalized::new(once.text());
        prop_assert_eq!(once.text(), twice.text());
    }

    #[test]
    fn fold_is_idempotent_on_any_text(s in "\\PC{0,80}") {
        let once = Normalized::new(&s);
        let twice = Normalized::new(once.text());
        prop_assert_eq!(once.text(), twice.text());
    }

    #[test]
    fn spans_stay_inside_the_original(s in sms_like(), a in 0usize..200, b in 0usize..200) {
        let n = Normalized::new(&s);
        let (start, end) = n.source_span(a.min(b), a.max(b));
        prop_assert!(start <= end && end <= s.len());
        prop_assert!(s.is_char_boundary(start) && s.is_char_boundary(end));
    }

    #[test]
    fn spans_walked_with_a_cursor_are_the_spans(s in sms_like(), cuts in prop::collection::vec(0usize..300, 0..40)) {
        let n = Normalized::new(&s);
        // The words of the fold in order (what the fingerprint walks), then the same ranges
        // shuffled by the cuts (out of order, empty, past the end).
        let mut ranges = Vec::new();
        let mut pos = 0;
        for w in n.text().split(' ') {
            ranges.push((pos, pos + w.len()));
            pos += w.len() + 1;
        }
        ranges.extend(cuts.chunks(2).map(|c| (c[0], c.get(1).copied().unwrap_or(c[0]))));
        let mut cursor = 0;
        for (a, b) in ranges {
            prop_assert_eq!(n.source_span_from(&mut cursor, a, b), n.source_span(a, b), "{:?} {}..{}", s, a, b);
        }
    }

    #[test]
    fn engine_never_panics_and_quotes_the_text(s in sms_like(), sender in "[0-9+ A-Za-z.()-]{0,16}") {
        let engine = engine();
        let v = engine.check(&Message::text(s.clone()).from(sender).at(1_795_359_600));
        prop_assert!(v.score.is_finite());
        for r in &v.reasons {
            prop_assert!(r.weight.is_finite());
        }
    }

    #[test]
    fn engine_never_panics_on_any_text(s in "\\PC{0,200}") {
        let v = engine().check(&Message::text(s));
        prop_assert!(v.score.is_finite());
    }
}

fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine::with_defaults().expect("the built-in configuration compiles"))
}

#[test]
fn huge_and_hostile_texts_are_cut_not_fatal() {
    let engine = engine();
    let long = "vay tiền nhanh ".repeat(20_000);
    let v = engine.check(&Message::text(long));
    assert!(v.has("TEXT_TRUNCATED"), "{v:?}");
    let zw = "\u{200B}".repeat(100_000);
    let v = engine.check(&Message::text(zw));
    assert!(v.has("TEXT_TRUNCATED"));
    let digits = "9".repeat(70_000);
    let _ = engine.check(&Message::text(digits));
    let dots = ".".repeat(70_000);
    let _ = engine.check(&Message::text(dots));
}
