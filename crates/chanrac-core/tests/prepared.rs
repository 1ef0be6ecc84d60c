//! The two-step check with shared state (`Engine::prepare`, then `Engine::finish`) gives
//! what the one-step path gives (`Engine::state_plan`, then `Engine::check_full`): the same
//! counter keys, the same verdicts with their reasons in the same order, on every text of
//! the shipped data; and the fingerprint made from the check's analysis is the fingerprint.

use chanrac_core::fingerprint::Fingerprinter;
use chanrac_core::{AdFacts, Engine, ListKind, Lists, Message, Scratch};

/// Every text of the data files, with its line number.
fn texts() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");
    let mut out = Vec::new();
    for name in [
        "vi_smishing_ie403_part_a.tsv",
        "uci_sms_spam_collection_en.tsv",
        "vi_spam_ankhanhtran02.tsv",
        "vi_translated_uci_huynhphong385.tsv",
    ] {
        let data = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        out.extend(
            data.lines()
                .skip(1)
                .filter_map(|l| l.split_once('\t'))
                .map(|(_, t)| t.to_string()),
        );
    }
    // Texts that take the rarer ways: bank accounts (numbers next to bank cue words), ads,
    // e-mail-free disguised links, a text over the engine's 64 KiB.
    out.extend(
        [
            "[QC] Vay tiền nhanh lãi 0%, chuyển khoản STK 0123456789 Vietcombank, LH 0987654321",
            "QC: Khuyen mai 50% tai https://shop.vn tu choi nhan tin soan TC gui 9999",
            "Nạp 500k vào tài khoản 1234 5678 9012 ngân hàng ACB để nhận thưởng hxxp://x[.]top",
            "Your OTP is 482913. Do not share this code with anyone. Call 18001234",
            "Chuc mung anh Minh trung thuong 50tr, nhan tai vtb-qua.xyz truoc 17h",
        ]
        .map(str::to_string),
    );
    out.push("trúng thưởng https://a.xyz 0912345678 ".repeat(2_000));
    out
}

fn message(i: usize, text: &str) -> Message {
    // Senders repeat so that the lists and the ad rules meet them; one of them is a
    // brandname and one is allowlisted.
    let sender = match i % 5 {
        0 => "Vietcombank".to_string(),
        1 => "0900000001".to_string(),
        _ => format!("09{:08}", 12_000_000 + i % 97),
    };
    Message {
        id: Some(i.to_string()),
        sender: Some(sender),
        recipient: (!i.is_multiple_of(7)).then(|| format!("09{:08}", 30_000_000 + i % 1_000)),
        text: text.to_string(),
        received_at: Some(1_795_316_400 + (i as i64 % 48) * 1_800),
        ..Message::default()
    }
}

#[test]
fn prepare_and_finish_give_the_plan_and_the_verdict_of_one_check() {
    let mut lists = Lists::default();
    lists.allow.add(ListKind::Senders, "0900000001").unwrap();
    let engine = Engine::builder().lists(lists).velocity().build().unwrap();
    assert!(engine.is_stateful());
    let (mut one, mut two) = (Scratch::default(), Scratch::default());
    let texts = texts();
    let mut keys = 0;
    for (i, text) in texts.iter().enumerate() {
        let msg = message(i, text);
        let plan = engine.state_plan(&msg, &mut one);
        let mut prepared = engine.prepare(&msg, &mut two);
        assert_eq!(prepared.plan.keys, plan.keys, "text {i}: {text:?}");
        keys += plan.keys.len();
        // Values that make the detectors fire now and then, or no answer at all.
        let values: Vec<u64> = (0..plan.values_len()).map(|k| ((i * 31 + k * 7) % 40) as u64).collect();
        let values = (!i.is_multiple_of(11)).then_some(&values[..]);
        let ads = i.is_multiple_of(3).then_some(AdFacts {
            registered_sender: i.is_multiple_of(2),
            recipient_dnc: i.is_multiple_of(4),
            sent_24h: (i % 5) as u32,
            copy_matches: Some(i.is_multiple_of(8)),
        });
        let expected = engine.check_full(&msg, &mut one, Some((&plan, values)), ads.as_ref());
        let got = engine.finish(&msg, &mut prepared, values, ads.as_ref(), &mut two);
        assert_eq!(got, expected, "text {i}: {text:?}");
        let domains: Vec<_> = prepared.urls().iter().map(|u| &u.domain).collect();
        let checked: Vec<_> = one.findings().urls.iter().map(|u| &u.domain).collect();
        if !expected.reasons.iter().any(|r| r.signal.ends_with("ALLOWLISTED")) {
            assert_eq!(domains, checked, "text {i}");
        }
    }
    assert!(keys > texts.len() * 2, "the detectors named keys ({keys})");
}

#[test]
fn the_fingerprint_of_the_analysis_is_the_fingerprint() {
    let engine = Engine::builder().build().unwrap();
    let (mut s, mut own, mut reused) = (Scratch::default(), Fingerprinter::default(), Fingerprinter::default());
    let mut candidates = 0;
    for (i, text) in texts().iter().enumerate() {
        let msg = message(i, text);
        engine.check_with(&msg, &mut s);
        let expected = own.fingerprint(text);
        let got = reused.fingerprint_analysed(text, s.normalized(), s.findings());
        assert_eq!(got, expected, "text {i}: {text:?}");
        candidates += expected.is_campaign_candidate() as usize;
    }
    assert!(candidates > 1_000, "campaign candidates among the texts: {candidates}");
}
