//! Properties of the e-mail reader over generated input: any bytes after a header line are
//! read without panicking, within the limits, and the engine checks the result.

use chanrac_core::Engine;
use chanrac_mail::{Limits, Reader};
use proptest::prelude::*;

/// One engine for every case (building one compiles the rule pack).
fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine::builder().no_model().build().unwrap())
}

/// Pieces of MIME syntax, so that generated messages reach the parser's corners.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        Just(b"Content-Type: multipart/mixed; boundary=\"b\"\r\n".to_vec()),
        Just(b"Content-Type: message/rfc822\r\n".to_vec()),
        Just(b"Content-Type: text/html; charset=\"windows-1258\"\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: quoted-printable\r\n".to_vec()),
        Just(b"--b\r\n".to_vec()),
        Just(b"--b--\r\n".to_vec()),
        Just(b"Subject: =?UTF-8?B?w6A=?= =?x?Q?=FF?=\r\n".to_vec()),
        Just(b"Reply-To: \"VCB\" <a@x.top>, <\r\n".to_vec()),
        Just(b"Authentication-Results: mx; dmarc=fail (((; spf=\r\n".to_vec()),
        Just(b"<a href=\"https://x.top\">www.vietcombank.com.vn</a><script>".to_vec()),
        Just(b"=E0=\r\n".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn any_message_is_read_within_limits(parts in prop::collection::vec(piece(), 0..40)) {
        let mut raw = b"From: \"Vietcombank\" <a@b.top>\r\n".to_vec();
        for p in &parts {
            raw.extend_from_slice(p);
        }
        let limits = Limits { max_parts: 8, max_depth: 3, max_text_part: 4096, ..Limits::default() };
        let msg = Reader::new(limits).read(&raw).expect("it starts with a header");
        prop_assert!(msg.text.len() <= limits.max_text + 2048);
        let facts = msg.email.as_ref().expect("facts");
        prop_assert!(facts.links.len() <= chanrac_mail::html::MAX_LINKS);
        let v = engine().check(&msg);
        for r in &v.reasons {
            prop_assert!(!r.signal.is_empty());
        }
    }

    #[test]
    fn anything_else_is_an_error_or_a_message(raw in any::<Vec<u8>>()) {
        // Never a panic: either not an e-mail, or a message.
        let _ = Reader::default().read(&raw);
    }
}
