//! Hostile e-mails made on the fly (too big to keep as files): MIME bombs are bounded and
//! flagged, and no input makes the reader or the engine panic.

use chanrac_core::email::ProblemKind;
use chanrac_core::{Engine, Message};
use chanrac_mail::{Limits, Reader};

fn problems(m: &Message, kind: ProblemKind) -> Vec<String> {
    m.email
        .as_ref()
        .unwrap()
        .problems
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.detail.clone())
        .collect()
}

fn signals(m: &Message) -> Vec<String> {
    let engine = Engine::with_defaults().unwrap();
    engine.check(m).reasons.iter().map(|r| r.signal.to_string()).collect()
}

/// `levels` nested multipart/mixed parts around one text part.
fn nested(levels: usize) -> Vec<u8> {
    let mut s = String::from("From: bomb@example.com\r\nSubject: nested\r\n");
    for i in 0..levels {
        s.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    s.push_str("Content-Type: text/plain\r\n\r\ndeep text\r\n");
    for i in (0..levels).rev() {
        s.push_str(&format!("--b{i}--\r\n"));
    }
    s.into_bytes()
}

#[test]
fn deep_nesting_is_cut_before_the_parser() {
    let raw = nested(100_000);
    assert!(raw.len() > 5_000_000);
    let m = Reader::default().read(&raw).unwrap();
    assert_eq!(
        problems(&m, ProblemKind::Bomb),
        ["more than 256 MIME parts", "parts nested 255 deep (limit 16)"]
    );
    assert!(signals(&m).contains(&"EMAIL_MIME_BOMB".to_string()));
}

#[test]
fn nesting_within_the_part_limit_is_flagged_by_depth() {
    let m = Reader::default().read(&nested(30)).unwrap();
    assert_eq!(problems(&m, ProblemKind::Bomb), ["parts nested 30 deep (limit 16)"]);
    // The text too deep inside is not read.
    assert!(!m.text.contains("deep text"), "{}", m.text);
    let m = Reader::default().read(&nested(10)).unwrap();
    assert!(problems(&m, ProblemKind::Bomb).is_empty());
    assert!(m.text.contains("deep text"));
}

#[test]
fn nested_messages_are_bounded() {
    let mut s = String::new();
    for _ in 0..5_000 {
        s.push_str("From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\n");
    }
    s.push_str("From: a@example.com\r\nSubject: inner\r\n\r\ninner text\r\n");
    let m = Reader::default().read(s.as_bytes()).unwrap();
    assert!(!problems(&m, ProblemKind::Bomb).is_empty());
}

#[test]
fn oversized_messages_are_cut() {
    let limits = Limits {
        max_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut raw = b"From: big@example.com\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\nhello ".to_vec();
    raw.resize(3 << 20, b'a');
    let m = Reader::new(limits).read(&raw).unwrap();
    assert_eq!(
        problems(&m, ProblemKind::Truncated),
        [format!("read {} of {} bytes", 1 << 20, 3 << 20)]
    );
    assert!(m.text.len() <= limits.max_text + 1024);
    assert!(signals(&m).contains(&"EMAIL_TRUNCATED".to_string()));
    // A message cut before (by the mbox reader) says how long it was.
    let m = Reader::default()
        .read_cut(b"From: a@b.c\r\n\r\nx", Some(99_999_999))
        .unwrap();
    assert_eq!(problems(&m, ProblemKind::Truncated), ["read 16 of 99999999 bytes"]);
}

#[test]
fn huge_text_parts_are_a_bomb() {
    let mut raw = b"From: big@example.com\r\nSubject: big\r\nContent-Type: text/html\r\n\r\n".to_vec();
    for _ in 0..400_000 {
        raw.extend_from_slice(b"<p>spam</p>");
    }
    let m = Reader::default().read(&raw).unwrap();
    let bombs = problems(&m, ProblemKind::Bomb);
    assert_eq!(bombs.len(), 1);
    assert!(bombs[0].starts_with("text part 0 of 4400000 bytes"), "{bombs:?}");
    assert!(m.text.len() <= Limits::default().max_text + 1024);
}

#[test]
fn huge_headers_are_cut() {
    let name = "Vietcombank ".repeat(100_000);
    let raw = format!(
        "From: \"{name}\" <a@x.top>\r\nSubject: {}\r\n\r\nhi",
        "s".repeat(1_000_000)
    );
    let m = Reader::default().read(raw.as_bytes()).unwrap();
    assert!(m.text.len() < 4096);
    let v = Engine::with_defaults().unwrap().check(&m);
    assert!(v.reasons.iter().all(|r| r.evidence.len() < 4096));
    assert!(v.reasons.iter().any(|r| &*r.signal == "EMAIL_DISPLAY_NAME_BRAND"));
}

#[test]
fn not_an_email_is_an_error() {
    for raw in [
        &b""[..],
        b"   \n",
        b"hello world",
        b"\x00\x01\x02",
        b"<html><body>hi</body></html>",
    ] {
        assert!(Reader::default().read(raw).is_err(), "{raw:?}");
    }
}

/// Damaged copies of every case (bytes flipped, cut, repeated) never panic.
#[test]
fn damaged_messages_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files = Vec::new();
    for sub in ["ham", "spam", "scam", "hostile"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            files.push(std::fs::read(e.unwrap().path()).unwrap());
        }
    }
    let engine = Engine::with_defaults().unwrap();
    let reader = Reader::default();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut read = 0;
    for round in 0..3000 {
        let mut m = files[round % files.len()].clone();
        match next() % 4 {
            0 => {
                for _ in 0..1 + next() % 16 {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
            }
            1 => m.truncate((next() as usize) % m.len()),
            2 => {
                let a = (next() as usize) % m.len();
                let b = a + (next() as usize) % (m.len() - a);
                let chunk = m[a..b].to_vec();
                for _ in 0..next() % 8 {
                    m.splice(b..b, chunk.iter().copied());
                }
            }
            _ => {
                let i = (next() as usize) % m.len();
                let junk: &[u8] = [
                    &b"--"[..],
                    b"\r\n\r\n",
                    b"=?UTF-8?B?",
                    b"<a href=",
                    b"\xff",
                    b"boundary=",
                ][(next() as usize) % 6];
                m.splice(i..i, junk.iter().copied());
            }
        }
        if let Ok(msg) = reader.read(&m) {
            read += 1;
            let v = engine.check(&msg);
            for r in &v.reasons {
                assert!(!r.signal.is_empty());
            }
        }
    }
    assert!(read > 2000, "only {read} damaged messages were still e-mails");
}
