//! The velocity detector end to end: the engine plans, the embedded store counts, the
//! engine scores. Each scenario is a sequence of messages and the first message from which
//! a signal must fire (and keep firing), with the default policy.

use chanrac_core::{Action, Engine, Message, Policy, Scratch, Verdict};
use chanrac_store::{EmbeddedCounters, Request};

/// 2026-11-22 10:00 in Hanoi.
const T0: i64 = 1_795_316_400;

struct Msg {
    from: String,
    to: String,
    text: String,
    /// Seconds after T0.
    at: i64,
    sim_activated: Option<i64>,
}

fn msg(from: &str, to: &str, text: &str, at: i64) -> Msg {
    Msg {
        from: from.into(),
        to: to.into(),
        text: text.into(),
        at,
        sim_activated: None,
    }
}

/// Checks each message with the velocity detector and fresh embedded counters.
fn run(engine: &Engine, msgs: &[Msg]) -> Vec<Verdict> {
    let store = EmbeddedCounters::default();
    let mut scratch = Scratch::default();
    let mut values = Vec::new();
    msgs.iter()
        .map(|m| {
            let mut message = Message::text(m.text.as_str())
                .from(m.from.as_str())
                .to(m.to.as_str())
                .at(T0 + m.at);
            message.meta.sim_activated_at = m.sim_activated;
            let plan = engine.state_plan(&message, &mut scratch);
            let r = [Request {
                now: T0 + m.at,
                ops: &plan.keys,
            }];
            store.apply_sync(&r, &mut values).unwrap();
            engine.check_with_state(&message, &mut scratch, &plan, Some(&values))
        })
        .collect()
}

fn subscriber(i: usize) -> String {
    format!("09{:08}", 12_345_000 + i)
}

/// Messages of the scenarios, by name: (name, messages, signal, first index that fires it
/// or `None` for never).
fn scenarios() -> Vec<(&'static str, Vec<Msg>, &'static str, Option<usize>)> {
    let text = |i: usize| format!("Tin nhan so {i} gui ban, hen gap lai sau nhe ban oi");
    let template = [
        "Chúc mừng anh Minh đã trúng thưởng 50tr, nhận tại https://vtb-qua.xyz trước 17h hôm nay",
        "Chuc mung chi Lan da trung thuong 30tr, nhan tai https://vcb-tri-an.top truoc 17h hom nay",
        "Chúc mừng bạn Hùng đã trúng thưởng 20.000.000đ, nhận tại http://bit.ly/3xYz trước 17h hôm nay",
    ];
    vec![
        (
            "a burst of eight messages in four minutes",
            (0..8)
                .map(|i| msg(&subscriber(0), &subscriber(100 + i), &text(i), 30 * i as i64))
                .collect(),
            "SENDER_BURST",
            Some(5),
        ),
        (
            "a SIM farm: twelve SIMs, one template varied",
            (0..12)
                .map(|i| {
                    msg(
                        &subscriber(200 + i),
                        &subscriber(300 + i),
                        template[i % 3],
                        60 * i as i64,
                    )
                })
                .collect(),
            "CAMPAIGN_BULK",
            Some(10),
        ),
        (
            "a bank's OTPs to thirty customers",
            (0..30)
                .map(|i| {
                    let code = 100_000 + 7919 * i;
                    let t =
                        format!("Ma OTP cua Quy khach la {code}. Ma co hieu luc trong 5 phut. Khong chia se ma OTP.");
                    msg("Vietcombank", &subscriber(400 + i), &t, 20 * i as i64)
                })
                .collect(),
            "CAMPAIGN_BULK",
            None,
        ),
        (
            "one SIM, one text, ten recipients",
            (0..10)
                .map(|i| msg(&subscriber(1), &subscriber(500 + i), template[0], 400 * i as i64))
                .collect(),
            "CAMPAIGN_REPEAT",
            Some(8),
        ),
        (
            "eleven recipients in an hour, five minutes apart",
            (0..12)
                .map(|i| msg(&subscriber(2), &subscriber(600 + i), &text(i), 300 * i as i64))
                .collect(),
            "SENDER_FANOUT",
            Some(10),
        ),
        (
            "twelve senders to one recipient in ten minutes",
            (0..12)
                .map(|i| msg(&subscriber(700 + i), &subscriber(3), &text(i), 40 * i as i64))
                .collect(),
            "RECIPIENT_FLOOD",
            Some(10),
        ),
        (
            "a SIM activated yesterday writes to seven numbers in the hour",
            (0..7)
                .map(|i| Msg {
                    sim_activated: Some(T0 - 86_400),
                    ..msg(&subscriber(4), &subscriber(800 + i), &text(i), 480 * i as i64)
                })
                .collect(),
            "NEW_SIM_BURST",
            Some(5),
        ),
        (
            "a SIM activated a year ago does not burst as new",
            (0..7)
                .map(|i| Msg {
                    sim_activated: Some(T0 - 365 * 86_400),
                    ..msg(&subscriber(5), &subscriber(900 + i), &text(i), 480 * i as i64)
                })
                .collect(),
            "NEW_SIM_BURST",
            None,
        ),
        (
            "ten new numbers over a day: the unrelated ratio",
            (0..12)
                .map(|i| msg(&subscriber(6), &subscriber(1000 + i), &text(i), 5000 * i as i64))
                .collect(),
            "SENDER_UNRELATED",
            Some(9),
        ),
        (
            "twelve messages to two friends over a day",
            (0..12)
                .map(|i| msg(&subscriber(7), &subscriber(1100 + i % 2), &text(i), 5000 * i as i64))
                .collect(),
            "SENDER_UNRELATED",
            None,
        ),
        (
            "out-of-order times do not reset the window",
            (0..8)
                .map(|i| {
                    let at = if i % 2 == 0 { 30 * i as i64 } else { 30 * i as i64 - 200 };
                    msg(&subscriber(8), &subscriber(1200 + i), &text(i), at)
                })
                .collect(),
            "SENDER_BURST",
            Some(5),
        ),
    ]
}

#[test]
fn velocity_scenarios() {
    let engine = Engine::builder().velocity().build().unwrap();
    for (name, msgs, signal, from) in scenarios() {
        let verdicts = run(&engine, &msgs);
        for (i, v) in verdicts.iter().enumerate() {
            let want = from.is_some_and(|f| i >= f);
            assert_eq!(
                v.has(signal),
                want,
                "{name}: message {i} {} {signal}: {:?}",
                if want { "should have" } else { "should not have" },
                v.reasons
            );
        }
    }
}

#[test]
fn evidence_says_how_many_and_the_limit() {
    let engine = Engine::builder().velocity().build().unwrap();
    let msgs: Vec<Msg> = (0..7)
        .map(|i| {
            msg(
                &subscriber(0),
                &subscriber(100 + i),
                "xin chao ban, hom nay the nao roi",
                10 * i as i64,
            )
        })
        .collect();
    let v = run(&engine, &msgs);
    let burst = v[6].reasons.iter().find(|r| &*r.signal == "SENDER_BURST").unwrap();
    assert_eq!(burst.evidence, "7 messages in 5 min (limit 5)");
}

#[test]
fn unavailable_counters_fail_open_or_closed_by_policy() {
    let m = Message::text("Mai 7h di da bong nhe")
        .from(subscriber(0))
        .to(subscriber(1))
        .at(T0);
    let mut scratch = Scratch::default();
    let open = Engine::builder().velocity().build().unwrap();
    let plan = open.state_plan(&m, &mut scratch);
    assert!(!plan.is_empty());
    let v = open.check_with_state(&m, &mut scratch, &plan, None);
    assert_eq!(v.action, Action::Allow);
    let failed = v.reasons.iter().find(|r| &*r.signal == "DETECTOR_FAILED").unwrap();
    assert_eq!(failed.evidence, "velocity: shared state unavailable");

    let policy = Policy::from_toml("p.toml", "[velocity]\non_state_failure = \"quarantine\"\n").unwrap();
    let closed = Engine::builder().policy(policy).velocity().build().unwrap();
    let v = closed.check_with_state(&m, &mut scratch, &plan, None);
    assert_eq!(v.action, Action::Quarantine, "{v:?}");
    // With the counters, the same message is allowed.
    let store = EmbeddedCounters::default();
    let mut values = Vec::new();
    store
        .apply_sync(
            &[Request {
                now: T0,
                ops: &plan.keys,
            }],
            &mut values,
        )
        .unwrap();
    assert_eq!(
        closed.check_with_state(&m, &mut scratch, &plan, Some(&values)).action,
        Action::Allow
    );
}

#[test]
fn brandnames_are_watched_only_when_the_policy_says_so() {
    let msgs: Vec<Msg> = (0..8)
        .map(|i| {
            msg(
                "SHOPABC",
                &subscriber(100 + i),
                "[QC] Giam gia 30% hom nay. Tu choi QC soan TC gui 199",
                i as i64,
            )
        })
        .collect();
    let default = Engine::builder().velocity().build().unwrap();
    assert!(run(&default, &msgs).iter().all(|v| !v.has("SENDER_BURST")));
    let policy = Policy::from_toml("p.toml", "[velocity]\nwatch_brandnames = true\n").unwrap();
    let watching = Engine::builder().policy(policy).velocity().build().unwrap();
    assert!(run(&watching, &msgs)[7].has("SENDER_BURST"));
}
