//! The e-mail detector in the core, from hand-made facts (no parsing): which facts raise
//! which `EMAIL_*` signal, and which look-alikes do not.

use chanrac_core::email::{AuthMethod, AuthResult, EmailFacts, Link, Mailbox, Problem, ProblemKind};
use chanrac_core::{Channel, Engine, ListKind, Lists, Message};

fn mailbox(name: Option<&str>, address: &str) -> Mailbox {
    Mailbox {
        name: name.map(str::to_string),
        address: address.to_string(),
    }
}

fn check(engine: &Engine, facts: EmailFacts) -> Vec<String> {
    let msg = Message {
        text: "Thông báo".into(),
        channel: Channel::Email,
        email: Some(Box::new(facts)),
        ..Default::default()
    };
    engine
        .check(&msg)
        .reasons
        .iter()
        .map(|r| r.signal.to_string())
        .collect()
}

fn from(name: &str, address: &str) -> EmailFacts {
    EmailFacts {
        from: Some(mailbox(Some(name), address)),
        ..Default::default()
    }
}

#[test]
fn display_names() {
    let engine = Engine::builder().no_model().build().unwrap();
    // (display name, address, fires)
    let cases = [
        ("Vietcombank", "canhbao@vcb-secure.top", true),
        ("VCB Digibank", "no-reply@gmail.com", true),
        ("Vietcom Bank", "x@mail.ru", true),
        ("VietcombankVN", "x@mail.ru", true),
        ("Bộ Công An", "thongbao@gmail.com", true),
        ("Cục Thuế TP.HCM", "hoanthue@thue.online", true),
        ("support@vietcombank.com.vn", "x@evil.xyz", true),
        // The brand's own domains, an authority's gov.vn, a .vn registrant.
        ("Vietcombank", "no-reply@vietcombank.com.vn", false),
        ("Bộ Công An", "tin@bocongan.gov.vn", false),
        ("Cục Thuế", "hotro@gdt.gov.vn", false),
        ("Shopee", "news@mail.shopee.vn", false),
        // Names that are not brands.
        ("Nguyễn Văn An", "an@gmail.com", false),
        ("Công ty An Phát", "sales@anphat.com", false),
        ("Pineapple Café", "hi@pineapple.cafe", false),
    ];
    for (name, address, fires) in cases {
        let got = check(&engine, from(name, address));
        assert_eq!(
            got.iter().any(|s| s == "EMAIL_DISPLAY_NAME_BRAND"),
            fires,
            "{name} <{address}>: {got:?}"
        );
    }
}

#[test]
fn sender_domains_on_the_lists() {
    let mut lists = Lists::default();
    lists.allow.add(ListKind::Domains, "partner.example").unwrap();
    lists.block.add(ListKind::Domains, "vcb-secure.top").unwrap();
    let engine = Engine::builder().no_model().lists(lists).build().unwrap();
    // An allowlisted sender domain may carry a brand's name.
    let got = check(&engine, from("Vietcombank", "ads@mail.partner.example"));
    assert!(!got.contains(&"EMAIL_DISPLAY_NAME_BRAND".into()), "{got:?}");
    let got = check(&engine, from("Thông báo", "x@vcb-secure.top"));
    assert!(got.contains(&"DOMAIN_BLOCKLISTED".into()), "{got:?}");
}

#[test]
fn reply_to_links_auth_and_problems() {
    let engine = Engine::builder().no_model().build().unwrap();
    let mut f = from("Lan", "lan@congty.com.vn");
    f.reply_to = vec![mailbox(None, "lan@mail.congty.com.vn")];
    assert!(!check(&engine, f.clone()).contains(&"EMAIL_REPLY_TO_MISMATCH".into()));
    f.reply_to.push(mailbox(None, "lan.nguyen@gmail.com"));
    assert!(check(&engine, f).contains(&"EMAIL_REPLY_TO_MISMATCH".into()));

    let link = |text: &str, href: &str| Link {
        text: text.into(),
        href: href.into(),
    };
    let mut f = from("Lan", "lan@congty.com.vn");
    f.links = vec![
        link("Bấm vào đây", "https://x.top/a"),
        link("https://tiki.vn/sach", "https://tiki.vn/sach?utm=1"),
        link("www.tiki.vn", "https://news.tiki.vn/x"),
        link("lan@congty.com.vn", "https://congty.com.vn"),
        link("https://x.top", "mailto:a@b.vn"),
    ];
    assert!(!check(&engine, f.clone()).contains(&"EMAIL_LINK_MISMATCH".into()));
    f.links
        .push(link("https://www.paypal.com/signin", "http://193.0.2.15/login"));
    assert!(check(&engine, f).contains(&"EMAIL_LINK_MISMATCH".into()));

    let auth = |method, result: &str| AuthResult {
        method,
        result: result.into(),
        text: format!("{}={result}", method.as_str()),
    };
    let mut f = from("Lan", "lan@congty.com.vn");
    f.auth = vec![
        auth(AuthMethod::Spf, "pass"),
        auth(AuthMethod::Dkim, "none"),
        auth(AuthMethod::Dmarc, "bestguesspass"),
    ];
    let got = check(&engine, f.clone());
    assert!(!got.iter().any(|s| s.ends_with("_FAIL")), "{got:?}");
    f.auth = vec![
        auth(AuthMethod::Spf, "softfail"),
        auth(AuthMethod::Dkim, "fail"),
        auth(AuthMethod::Dmarc, "fail"),
    ];
    let got = check(&engine, f);
    for s in ["EMAIL_SPF_FAIL", "EMAIL_DKIM_FAIL", "EMAIL_DMARC_FAIL"] {
        assert!(got.contains(&s.to_string()), "{s}: {got:?}");
    }

    let f = EmailFacts {
        problems: (0..5)
            .map(|i| Problem::new(ProblemKind::BadEncoding, format!("part {i}: bad")))
            .chain([Problem::new(ProblemKind::Bomb, "parts nested 40 deep (limit 16)")])
            .collect(),
        ..Default::default()
    };
    let msg = Message {
        text: "x".into(),
        email: Some(Box::new(f)),
        ..Default::default()
    };
    let v = engine.check(&msg);
    let bad = v.reasons.iter().find(|r| &*r.signal == "EMAIL_BAD_ENCODING").unwrap();
    assert_eq!(bad.evidence, "part 0: bad, part 1: bad, part 2: bad (+2 more)");
    assert!(v.reasons.iter().any(|r| &*r.signal == "EMAIL_MIME_BOMB"));
}

#[test]
fn sms_are_untouched() {
    let engine = Engine::builder().no_model().build().unwrap();
    let v = engine.check(&Message::text("Vietcombank: tai khoan cua ban"));
    assert!(v.reasons.iter().all(|r| !r.signal.starts_with("EMAIL_")));
}
