//! Short-code messages as data: every case in `tests/mo_cases.toml` is parsed and answered,
//! and must give its kind, fields and reply; malformed and hostile texts are answered too.

use chanrac_hub::HubConfig;
use chanrac_hub::mo::{self, Mo};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    text: String,
    kind: String,
    report: Option<String>,
    source: Option<String>,
    source_key: Option<String>,
    content: Option<String>,
    scope: Option<String>,
    reason: Option<String>,
    copy: Option<String>,
    #[serde(default)]
    reply: Vec<String>,
}

#[test]
fn every_case_parses_and_is_answered_as_written() {
    let file: File = toml::from_str(include_str!("mo_cases.toml")).expect("mo_cases.toml parses");
    let cfg = HubConfig::default();
    assert!(file.case.len() >= 25);
    for c in &file.case {
        let m = mo::parse(&c.text, &cfg);
        assert_eq!(m.kind(), c.kind, "{:?}: {m:?}", c.text);
        match &m {
            Mo::Report {
                kind,
                source,
                source_key,
                content,
            } => {
                assert_eq!(Some(kind.as_str()), c.report.as_deref(), "{:?}", c.text);
                assert_eq!(Some(source.as_str()), c.source.as_deref(), "{:?}", c.text);
                assert_eq!(Some(source_key.as_str()), c.source_key.as_deref(), "{:?}", c.text);
                assert_eq!(Some(content.as_str()), c.content.as_deref(), "{:?}", c.text);
            }
            Mo::DncRegister(s) | Mo::DncCancel(s) => {
                assert_eq!(Some(s.as_str()), c.scope.as_deref(), "{:?}", c.text)
            }
            Mo::AdCopy { text } => assert_eq!(Some(text.as_str()), c.copy.as_deref(), "{:?}", c.text),
            Mo::Unknown(why) => assert_eq!(Some(why.code()), c.reason.as_deref(), "{:?}", c.text),
        }
        let reply = mo::reply(&m, "R1", &cfg);
        for want in &c.reply {
            assert!(
                reply.contains(want.as_str()),
                "{:?}: reply {reply:?} lacks {want:?}",
                c.text
            );
        }
        assert!(reply.contains("R1"), "every reply gives the reference: {reply:?}");
        assert!(reply.is_ascii(), "replies fit GSM 7-bit: {reply:?}");
    }
}

#[test]
fn hostile_texts_get_a_reply_that_teaches_the_syntax() {
    let cfg = HubConfig::default();
    let long = format!("S 0912345678 {}", "a".repeat(10 * 1024));
    let cases = [
        long.as_str(),
        "\u{0}\u{1}\u{2}",
        "S (((((",
        "S ()",
        "S (0912345678",
        "LD \u{200b}0912345678 x",
        "FW ()",
        "💣💣💣",
        "DK DNC DNC DNC",
    ];
    for text in cases {
        let m = mo::parse(text, &cfg);
        let reply = mo::reply(&m, "R9", &cfg);
        assert!(reply.contains("R9"), "{text:?}");
        if let Mo::Unknown(_) = m {
            assert!(reply.contains("S <so/ten gui> <noi dung>"), "{text:?}: {reply}");
        }
        assert!(
            reply.chars().count() < 400,
            "{text:?}: a reply of {} characters",
            reply.len()
        );
        assert!(reply.is_ascii(), "{text:?}: {reply}");
    }
    assert!(matches!(
        mo::parse(&long, &cfg),
        Mo::Unknown(mo::Unparsed::TooLong { .. })
    ));
}

#[test]
fn keywords_follow_the_configuration() {
    let cfg = HubConfig {
        reply_code: "156".into(),
        ..HubConfig::default()
    };
    let reply = mo::reply(&mo::parse("nonsense", &cfg), "R2", &cfg);
    assert!(reply.contains("Gui 156"), "{reply}");
}
