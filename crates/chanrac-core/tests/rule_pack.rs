//! Every rule of the built-in pack fires on its `fires` examples and spares its `spares`
//! look-alikes, through the whole engine (normalization included).

use chanrac_core::{Engine, Message, RuleSet};

#[test]
fn rule_pack_examples_hold() {
    let engine = Engine::with_defaults().expect("the built-in pack compiles");
    let mut failures = Vec::new();
    for rule in engine.rules().rules() {
        if rule.fires.is_empty() {
            failures.push(format!("{}: no `fires` example", rule.id));
        }
        if rule.spares.is_empty() {
            failures.push(format!("{}: no `spares` look-alike", rule.id));
        }
        for text in &rule.fires {
            let v = engine.check(&Message::text(text.as_str()));
            if !v.has(&rule.id) {
                failures.push(format!("{} does not fire on {text:?}", rule.id));
            }
        }
        for text in &rule.spares {
            let v = engine.check(&Message::text(text.as_str()));
            if v.has(&rule.id) {
                failures.push(format!("{} fires on its look-alike {text:?}", rule.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rule_pack_covers_every_category() {
    let rules = RuleSet::default_pack().unwrap();
    for (name, topic) in chanrac_core::rules::Topic::ALL {
        if *name == "advertising" {
            continue; // ad compliance is checked by the AD_* signals, not by keywords
        }
        if name.starts_with("mined_") {
            continue; // the topics of `chanrac keywords` rule packs, written by the operator
        }
        assert!(
            rules.rules().iter().any(|r| r.topic == *topic),
            "no rule in the default pack for category {name}"
        );
    }
}

#[test]
fn bad_packs_are_refused_with_file_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "[[rule]]\nid = \"X_1\"\ncategory = \"gambling\"\nweight = 1.0\nkeywords = [\"a\"]\ncolour = \"red\"\n",
            "pack.toml:6:1: unknown field `colour`",
        ),
        (
            "[[rule]]\nid = \"X_1\"\ncategory = \"nonsense\"\nweight = 1.0\nkeywords = [\"a\"]\n",
            "pack.toml:3:12: unknown category \"nonsense\"",
        ),
        (
            "[[rule]]\nid = \"x-1\"\ncategory = \"gambling\"\nweight = 1.0\nkeywords = [\"a\"]\n",
            "pack.toml:2:6: rule id \"x-1\" must be SCREAMING_SNAKE_CASE",
        ),
        (
            "[[rule]]\nid = \"X_1\"\ncategory = \"gambling\"\nweight = 1.0\nkeywords = [\"a\"]\nregex = '(unclosed'\n",
            "pack.toml:6:9: rule X_1: invalid regex",
        ),
        (
            "[[rule]]\nid = \"X_1\"\ncategory = \"gambling\"\nweight = 1.0\n",
            "pack.toml:2:6: rule X_1 has no keywords",
        ),
        (
            "[[rule]]\nid = \"URL_SHORTENER\"\ncategory = \"gambling\"\nweight = 1.0\nkeywords = [\"a\"]\n",
            "is the name of a built-in signal",
        ),
        ("[[rule]\n", "pack.toml:1:"),
    ];
    for (text, want) in cases {
        let err = RuleSet::from_sources([("pack.toml", *text)]).unwrap_err().to_string();
        assert!(err.contains(want), "pack {text:?}\n  got:  {err}\n  want: {want}");
    }
}

#[test]
fn keywords_match_every_written_form() {
    let pack = "[[rule]]\nid = \"T_LOAN\"\ncategory = \"loan\"\nweight = 5.0\nkeywords = [\"vay tiền\"]\n";
    let rules = RuleSet::from_sources([("t.toml", pack)]).unwrap();
    let engine = Engine::builder().rules(rules).build().unwrap();
    for text in [
        "vay tiền",
        "vay tien",
        "VAY TIỀN",
        "v.a.y t1ền",
        "V A Y T I E N",
        "vaytien",
        "vaytiennhanh",
        "v-a-y t-i-ề-n",
        "Vay Tie\u{0302}\u{0300}n",
        "vаy tiền",
        "ｖａｙ ｔｉｅｎ",
    ] {
        assert!(engine.check(&Message::text(text)).has("T_LOAN"), "{text:?}");
    }
    for text in ["vay", "tiền vay", "xvay tien", "vay tienx", "chovay tien"] {
        assert!(!engine.check(&Message::text(text)).has("T_LOAN"), "{text:?}");
    }
}
