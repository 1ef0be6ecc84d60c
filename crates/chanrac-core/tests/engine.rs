//! Engine behaviour beyond keywords: lists, advertising rules, sender checks, the policy and
//! the shape for stateful detectors.

use std::sync::Arc;

use chanrac_core::signal::SignalInfo;
use chanrac_core::state::{StateDetector, StateInput, StateKey, StateOp, StateSignal, Windows};
use chanrac_core::{Action, AdFacts, Category, Engine, ListKind, Lists, Message, Metadata, Origin, Policy, Scratch};

/// 2026-11-22 10:00 in Hanoi.
const MORNING: i64 = 1_795_316_400;
/// 2026-11-22 23:00 in Hanoi.
const NIGHT: i64 = 1_795_363_200;

fn engine_with(lists: Lists) -> Engine {
    Engine::builder().lists(lists).build().unwrap()
}

#[test]
fn allowlisted_senders_short_circuit() {
    let mut lists = Lists::default();
    lists.allow.add(ListKind::Senders, "0912345678").unwrap();
    lists.allow.add(ListKind::Brandnames, "VCB").unwrap();
    let e = engine_with(lists);
    let scammy = "Chuc mung trung thuong 50tr nhan tai https://bit.ly/x";
    let v = e.check(&Message::text(scammy).from("+84 912 345 678"));
    assert_eq!((v.action, v.category), (Action::Allow, Category::Ham));
    assert!(v.has("SENDER_ALLOWLISTED"));
    assert_eq!(v.reasons.len(), 1);
    let v = e.check(&Message::text(scammy).from("vcb"));
    assert!(v.has("BRANDNAME_ALLOWLISTED"));
    assert!(e.check(&Message::text(scammy).from("0912345679")).action >= Action::Quarantine);
}

#[test]
fn blocklists_block() {
    let mut lists = Lists::default();
    lists.block.add(ListKind::Senders, "0988*").unwrap();
    lists.block.add(ListKind::Brandnames, "VCB-FAKE").unwrap();
    lists.block.add(ListKind::Domains, "evil.com").unwrap();
    lists.block.add(ListKind::Accounts, "0071000123456").unwrap();
    let e = engine_with(lists);
    let v = e.check(&Message::text("hello").from("0988111222"));
    assert!(v.has("SENDER_BLOCKLISTED") && v.action == Action::Block, "{v:?}");
    assert!(
        e.check(&Message::text("hello").from("VCB-FAKE"))
            .has("BRANDNAME_BLOCKLISTED")
    );
    let v = e.check(&Message::text("xem tai https://login.evil.com/a"));
    assert!(
        v.has("DOMAIN_BLOCKLISTED") && v.action == Action::Block && v.category == Category::Scam,
        "{v:?}"
    );
    let v = e.check(&Message::text("Chuyen tien vao STK 0071 000 123456 nhe"));
    assert!(v.has("ACCOUNT_BLOCKLISTED"), "{v:?}");
    let v = e.check(&Message::text("Lien he 0988.111.222 de nhan"));
    assert!(v.has("PHONE_BLOCKLISTED"), "{v:?}");
}

#[test]
fn allowlisted_domains_are_not_look_alikes() {
    let mut lists = Lists::default();
    lists.allow.add(ListKind::Domains, "vcb-digibank.vn").unwrap();
    let e = engine_with(lists);
    let v = e.check(&Message::text("Dang nhap tai https://vcb-digibank.vn"));
    assert!(!v.has("URL_BRAND_LOOKALIKE") && v.has("DOMAIN_ALLOWLISTED"), "{v:?}");
    let v = e.check(&Message::text("Dang nhap tai https://vcb-digibank.top"));
    assert!(v.has("URL_BRAND_LOOKALIKE"), "{v:?}");
}

#[test]
fn advertising_rules() {
    let e = Engine::with_defaults().unwrap();
    let ad = "[QC] Giam 30% toan bo san pham den 30/11. Tu choi QC soan TC gui 1234";
    let v = e.check(&Message::text(ad).from("SHOPABC").at(MORNING));
    assert_eq!((v.action, v.category), (Action::Allow, Category::Ad), "{v:?}");
    assert!(v.has("AD_LABEL") && !v.has("AD_NO_OPTOUT"));

    let v = e.check(&Message::text(ad).from("SHOPABC").at(NIGHT));
    assert!(v.has("AD_OUTSIDE_HOURS"), "{v:?}");
    assert!(v.reasons.iter().any(|r| r.evidence.contains("23:xx")), "{v:?}");

    let v = e.check(&Message::text(ad).from("0912345678").at(MORNING));
    assert!(v.has("AD_FROM_NUMBER"));
    assert_eq!(v.category, Category::Spam);
    assert!(v.action >= Action::Tag);

    let v = e.check(&Message::text("[QC] Giam 30% hom nay").from("SHOPABC").at(MORNING));
    assert!(v.has("AD_NO_OPTOUT"));
    // `QC` must be a label, not the start of a word.
    assert!(!e.check(&Message::text("QCVN 2024 ban hanh")).has("AD_LABEL"));
}

/// The hub's facts at their edges: 21:59 and 22:00, the third and the fourth ad in 24 hours,
/// a recipient on the Do-Not-Call register, a registered sender without a label or a copy.
#[test]
fn advertising_rules_with_the_hubs_facts() {
    let e = Engine::with_defaults().unwrap();
    let ad = "[QC] Giam 30% toan bo san pham den 30/11. Tu choi QC soan TC gui 1234";
    // 2026-11-22 21:59:59 and 22:00:00 in Hanoi.
    let (before, at_ten) = (1_795_359_599, 1_795_359_600);
    let registered = AdFacts {
        registered_sender: true,
        copy_matches: Some(true),
        ..AdFacts::default()
    };
    /// Name, text, time, facts, signals expected, signals absent.
    type Case<'a> = (&'a str, &'a str, i64, AdFacts, &'a [&'a str], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "a compliant ad",
            ad,
            before,
            registered,
            &["AD_LABEL"],
            &[
                "AD_OUTSIDE_HOURS",
                "AD_OVER_CAP",
                "AD_TO_DNC",
                "AD_NO_COPY",
                "AD_NO_LABEL",
                "AD_UNREGISTERED_SENDER",
            ],
        ),
        ("at 22:00", ad, at_ten, registered, &["AD_OUTSIDE_HOURS"], &[]),
        (
            "the third ad in 24 h",
            ad,
            before,
            AdFacts {
                sent_24h: 2,
                ..registered
            },
            &[],
            &["AD_OVER_CAP"],
        ),
        (
            "the fourth ad in 24 h",
            ad,
            before,
            AdFacts {
                sent_24h: 3,
                ..registered
            },
            &["AD_OVER_CAP"],
            &[],
        ),
        (
            "to a DNC number",
            ad,
            before,
            AdFacts {
                recipient_dnc: true,
                ..registered
            },
            &["AD_TO_DNC"],
            &[],
        ),
        (
            "no copy matches",
            ad,
            before,
            AdFacts {
                copy_matches: Some(false),
                ..registered
            },
            &["AD_NO_COPY"],
            &[],
        ),
        (
            "copies unknown",
            ad,
            before,
            AdFacts {
                copy_matches: None,
                ..registered
            },
            &[],
            &["AD_NO_COPY"],
        ),
        (
            "registered, no label",
            "Giam 30% hom nay. Tu choi QC soan TC gui 1234",
            before,
            registered,
            &["AD_NO_LABEL"],
            &["AD_LABEL"],
        ),
        (
            "labelled, unregistered",
            ad,
            before,
            AdFacts::default(),
            &["AD_UNREGISTERED_SENDER"],
            &["AD_NO_COPY"],
        ),
        (
            "not an ad at all",
            "Ma OTP cua ban la 123456",
            before,
            AdFacts::default(),
            &[],
            &["AD_NO_LABEL", "AD_TO_DNC", "AD_LABEL"],
        ),
    ];
    let mut scratch = Scratch::default();
    for (name, text, at, facts, want, absent) in cases {
        let msg = Message::text(*text).from("SHOPABC").to("0912345678").at(*at);
        let v = e.check_full(&msg, &mut scratch, None, Some(facts));
        for w in *want {
            assert!(v.has(w), "{name}: {w} missing in {v:?}");
        }
        for a in *absent {
            assert!(!v.has(a), "{name}: {a} present in {v:?}");
        }
    }
    // A DNC recipient alone blocks the ad; evidence says who and why.
    let msg = Message::text(ad).from("SHOPABC").to("0912345678").at(before);
    let v = e.check_full(
        &msg,
        &mut scratch,
        None,
        Some(&AdFacts {
            recipient_dnc: true,
            ..registered
        }),
    );
    assert_eq!(v.action, Action::Block, "{v:?}");
    assert!(v.reasons.iter().any(|r| r.evidence.contains("0912345678")), "{v:?}");
    // The cap is policy.
    let mut p = Policy::default();
    p.ads.max_per_recipient_24h = 5;
    let e5 = Engine::builder().policy(p).build().unwrap();
    let v = e5.check_full(
        &msg,
        &mut scratch,
        None,
        Some(&AdFacts {
            sent_24h: 4,
            ..registered
        }),
    );
    assert!(!v.has("AD_OVER_CAP"), "{v:?}");
    // A number may not advertise: AD_FROM_NUMBER, not AD_UNREGISTERED_SENDER.
    let msg = Message::text(ad).from("0987654321").at(before);
    let v = e.check_full(&msg, &mut scratch, None, Some(&AdFacts::default()));
    assert!(v.has("AD_FROM_NUMBER") && !v.has("AD_UNREGISTERED_SENDER"), "{v:?}");
}

#[test]
fn sender_checks() {
    let e = Engine::with_defaults().unwrap();
    assert!(
        e.check(&Message::text("alo").from("+840691234567"))
            .has("SENDER_MALFORMED")
    );
    let mut m = Message::text("alo").from("0912345678");
    m.meta = Metadata {
        origin: Some(Origin::International),
        ..Default::default()
    };
    assert!(e.check(&m).has("SENDER_FOREIGN_DOMESTIC"));
    m.meta.origin = Some(Origin::Domestic);
    assert!(!e.check(&m).has("SENDER_FOREIGN_DOMESTIC"));
    let mut m = Message::text("alo").from("0912345678").at(MORNING);
    m.meta.sim_activated_at = Some(MORNING - 2 * 86_400);
    assert!(e.check(&m).has("SENDER_NEW_SIM"));
    m.meta.sim_activated_at = Some(MORNING - 200 * 86_400);
    assert!(!e.check(&m).has("SENDER_NEW_SIM"));
}

#[test]
fn policy_overrides_weights_and_thresholds() {
    let text = "Chuc mung trung thuong nhan tai https://bit.ly/x";
    let base = Engine::with_defaults().unwrap().check(&Message::text(text));
    let policy = Policy::from_toml(
        "p.toml",
        "[weights]\nURL_SHORTENER = 0.0\n[thresholds]\ntag = 50\nquarantine = 60\nblock = 70\n",
    )
    .unwrap();
    let e = Engine::builder().policy(policy).build().unwrap();
    let v = e.check(&Message::text(text));
    let shortener = |v: &chanrac_core::Verdict| {
        v.reasons
            .iter()
            .find(|r| &*r.signal == "URL_SHORTENER")
            .map(|r| r.weight)
    };
    assert_eq!(shortener(&v), Some(0.0));
    assert!(shortener(&base).unwrap() > 0.0);
    assert_eq!(v.action, Action::Allow);
    let bad = Policy::from_toml("p.toml", "[weights]\nURL_SHORTNER = 1.0\n").unwrap();
    let err = Engine::builder().policy(bad).build().unwrap_err().to_string();
    assert!(err.contains("URL_SHORTNER"), "{err}");
}

#[test]
fn reasons_are_sorted_by_contribution() {
    let e = Engine::with_defaults().unwrap();
    let v = e.check(&Message::text(
        "Chuc mung trung thuong 50tr nhan tai https://vtb-qua.xyz LH 0987654321",
    ));
    assert!(v.reasons.windows(2).all(|w| w[0].weight >= w[1].weight), "{v:?}");
    let sum: f32 = v.reasons.iter().map(|r| r.weight).sum();
    assert!((sum - v.score).abs() < 0.01);
    // Evidence quotes the original text.
    let lookalike = v.reasons.iter().find(|r| &*r.signal == "URL_BRAND_LOOKALIKE").unwrap();
    assert!(lookalike.evidence.contains("https://vtb-qua.xyz"));
}

/// A detector that counts messages per sender, to exercise the state plan.
#[derive(Debug)]
struct Burst;

impl StateDetector for Burst {
    fn name(&self) -> &'static str {
        "burst"
    }
    fn signals_info(&self) -> &'static [SignalInfo] {
        &[SignalInfo {
            id: "TEST_BURST",
            weight: 11.0,
            category: Category::Spam,
            meaning: "test",
        }]
    }
    fn keys(&self, input: &StateInput<'_>, out: &mut Vec<StateKey>) {
        if let Some(k) = input.sender.key() {
            out.push(StateKey {
                key: format!("sender:{k}"),
                op: StateOp::Count {
                    windows: Windows::new(&[60]).unwrap(),
                },
            });
        }
    }
    fn signals(&self, _msg: &Message, _keys: &[StateKey], values: &[u64], out: &mut Vec<StateSignal>) {
        if values.first().is_some_and(|&n| n > 5) {
            out.push(StateSignal {
                id: "TEST_BURST",
                evidence: format!("{} messages in 60 s", values[0]),
            });
        }
    }
}

#[test]
fn stateful_detectors_get_their_values_back() {
    let e = Engine::builder().detector(Arc::new(Burst)).build().unwrap();
    let m = Message::text("hello").from("0912345678");
    let mut scratch = Default::default();
    let plan = e.state_plan(&m, &mut scratch);
    assert_eq!(plan.keys.len(), 1);
    assert_eq!(plan.keys[0].key, "sender:+84912345678");
    let v = e.check_with_state(&m, &mut scratch, &plan, Some(&[9]));
    assert!(v.has("TEST_BURST") && v.action == Action::Block, "{v:?}");
    let v = e.check_with_state(&m, &mut scratch, &plan, Some(&[1]));
    assert!(!v.has("TEST_BURST"));
    // The store is down: fail open, and say so.
    let v = e.check_with_state(&m, &mut scratch, &plan, None);
    assert!(v.has("DETECTOR_FAILED") && v.action == Action::Allow, "{v:?}");
    // Values that do not match the plan count as no values.
    let v = e.check_with_state(&m, &mut scratch, &plan, Some(&[9, 9]));
    assert!(v.has("DETECTOR_FAILED") && !v.has("TEST_BURST"), "{v:?}");
    // A policy may weigh the detector's signal.
    let policy = Policy::from_toml("p.toml", "[weights]\nTEST_BURST = 1.0\n").unwrap();
    let e = Engine::builder()
        .detector(Arc::new(Burst))
        .policy(policy)
        .build()
        .unwrap();
    let v = e.check_with_state(&m, &mut scratch, &plan, Some(&[9]));
    assert_eq!(v.action, Action::Allow);
}
