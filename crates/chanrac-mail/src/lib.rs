//! chanrac-mail: e-mail (RFC 5322 / MIME) into the engine's [`Message`].
//!
//! [`Reader::read`] parses a raw message with `mail-parser` and returns a [`Message`] whose
//! text is the subject and the decoded text the reader would see (HTML parts converted to
//! text by [`html`], links written with their targets), with the channel set to e-mail, the
//! sender and recipient from `From` and `To`, the time from `Date`, and the e-mail facts
//! ([`EmailFacts`]: display name, Reply-To, links, `Authentication-Results`, problems) that
//! the engine turns into the `EMAIL_*` signals. [`mbox`] splits mbox files.
//!
//! ```
//! use chanrac_core::Engine;
//! use chanrac_mail::Reader;
//!
//! let raw = "From: \"Vietcombank\" <canhbao@vcb-secure.top>\r\n\
//!     Subject: =?UTF-8?B?VMOgaSBraG/huqNuIGLhu4sga2jDs2E=?=\r\n\
//!     Content-Type: text/html; charset=utf-8\r\n\r\n\
//!     <p>Xác minh tại <a href=\"https://vcb-secure.top/x\">www.vietcombank.com.vn</a></p>";
//! let msg = Reader::default().read(raw.as_bytes()).unwrap();
//! assert!(msg.text.starts_with("Tài khoản bị khóa"));
//! let v = Engine::with_defaults().unwrap().check(&msg);
//! assert!(v.reasons.iter().any(|r| &*r.signal == "EMAIL_LINK_MISMATCH"));
//! assert!(v.reasons.iter().any(|r| &*r.signal == "EMAIL_DISPLAY_NAME_BRAND"));
//! ```
//!
//! Invariants:
//! - any bytes are read without panicking; work and memory are bounded by [`Limits`]:
//!   a message is read up to `max_bytes`, at most `max_parts` MIME parts (counted before
//!   parsing, so deep nesting never reaches the parser), text from parts nested at most
//!   `max_depth` deep, each text part up to `max_text_part` bytes, the text handed to the
//!   engine up to `max_text`. Each limit reached is a [`Problem`] (and so a signal), never
//!   an error;
//! - the only error is input that is not an e-mail at all ([`MailError`]);
//! - no I/O: the caller reads files and sockets.

#![deny(missing_docs)]

pub mod auth;
pub mod html;
pub mod mbox;

use chanrac_core::email::{EmailFacts, Mailbox, Problem, ProblemKind};
use chanrac_core::{Channel, Message};
use mail_parser::{Address, MessageParser, MimeHeaders, PartType};

/// Bounds on the work and memory one message may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of a message read (25 MiB); the rest is not (`EMAIL_TRUNCATED`).
    pub max_bytes: usize,
    /// The most MIME parts (256); more is a MIME bomb and the rest is not read.
    pub max_parts: usize,
    /// The deepest nesting of parts whose text is read (16); deeper is a MIME bomb.
    pub max_depth: usize,
    /// The largest text or HTML part read (2 MiB); larger is a MIME bomb, its start is read.
    pub max_text_part: usize,
    /// The most text handed to the engine (128 KiB, twice what the engine reads, so that
    /// the engine's `TEXT_TRUNCATED` still says when it cut).
    pub max_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 25 << 20,
            max_parts: 256,
            max_depth: 16,
            max_text_part: 2 << 20,
            max_text: 2 * chanrac_core::normalize::MAX_TEXT_BYTES,
        }
    }
}

/// Input that is not an e-mail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// Empty input.
    #[error("the message is empty")]
    Empty,
    /// The first line is not a header field.
    #[error("not an e-mail: the first line should be a header field such as `From: …` (found {0:?})")]
    NoHeaders(String),
}

/// Reads e-mails into messages, within its limits.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    limits: Limits,
}

/// The subject, display names and addresses are read up to this many bytes.
const MAX_HEADER_TEXT: usize = 1024;

/// The header field that starts every MIME part (matched case-insensitively at a line start).
const CONTENT_TYPE: &[u8] = b"content-type:";

impl Reader {
    /// A reader with these limits.
    pub fn new(limits: Limits) -> Reader {
        Reader { limits }
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Reads one message (an `mbox` `From ` line at the start is skipped).
    pub fn read(&self, raw: &[u8]) -> Result<Message, MailError> {
        self.read_cut(raw, None)
    }

    /// Reads one message of which only the first bytes are given; `full_len` is its whole
    /// length when it was cut before (by [`mbox::Mbox`] or a bounded file read).
    pub fn read_cut(&self, raw: &[u8], full_len: Option<u64>) -> Result<Message, MailError> {
        let mut problems = Vec::new();
        let raw = check_start(raw)?;
        let full_len = full_len.unwrap_or(raw.len() as u64).max(raw.len() as u64);
        let mut raw = &raw[..raw.len().min(self.limits.max_bytes)];
        if full_len > raw.len() as u64 {
            problems.push(Problem::new(
                ProblemKind::Truncated,
                format!("read {} of {} bytes", raw.len(), full_len),
            ));
        }
        if let Some(cut) = nth_part_start(raw, self.limits.max_parts) {
            problems.push(Problem::new(
                ProblemKind::Bomb,
                format!("more than {} MIME parts", self.limits.max_parts),
            ));
            raw = &raw[..cut];
        }
        // mail-parser panics on some broken multipart structures (0.11.9: "Invalid part ID,
        // could not find multipart", found by tests/properties.rs). A message must never take
        // the reader down: on a panic, the message is read again with its MIME structure
        // switched off (every `Content-Type:` renamed), as one plain text, and flagged.
        let flattened: Vec<u8>;
        let parsed = match std::panic::catch_unwind(|| MessageParser::new().parse(raw)) {
            Ok(parsed) => parsed,
            Err(_) => {
                problems.push(Problem::new(
                    ProblemKind::BadEncoding,
                    "the MIME structure could not be read; read as plain text".to_string(),
                ));
                flattened = without_mime(raw);
                std::panic::catch_unwind(|| MessageParser::new().parse(&flattened[..])).unwrap_or(None)
            }
        }
        .ok_or_else(|| MailError::NoHeaders(first_line(raw)))?;

        let mut facts = EmailFacts {
            from: parsed.from().and_then(first_mailbox),
            reply_to: parsed.reply_to().map(mailboxes).unwrap_or_default(),
            auth: parsed
                .header_raw("Authentication-Results")
                .map(auth::parse)
                .unwrap_or_default(),
            ..Default::default()
        };

        let (depths, deepest) = part_depths(&parsed);
        if deepest > self.limits.max_depth {
            problems.push(Problem::new(
                ProblemKind::Bomb,
                format!("parts nested {deepest} deep (limit {})", self.limits.max_depth),
            ));
        }

        let mut text = String::new();
        if let Some(s) = parsed.subject() {
            text.push_str(cut(s.trim(), MAX_HEADER_TEXT));
        }
        let mut body = String::new();
        let shown = if parsed.html_body.is_empty() {
            &parsed.text_body
        } else {
            &parsed.html_body
        };
        // Parts whose structure the parser gave up on (an unterminated MIME part, a bad
        // encoding) lose their place in the body: a lenient mail client still shows their
        // text, so it is read too.
        let broken = parsed.parts.iter().enumerate().filter_map(|(id, p)| {
            let text = matches!(p.body, PartType::Text(_) | PartType::Html(_));
            (p.is_encoding_problem && text && !shown.contains(&(id as u32))).then_some(id as u32)
        });
        for id in shown.iter().copied().chain(broken) {
            if body.len() >= self.limits.max_text {
                break;
            }
            if depths.get(id as usize).is_some_and(|&d| d > self.limits.max_depth) {
                continue;
            }
            let Some(part) = parsed.part(id) else { continue };
            let (content, is_html) = match &part.body {
                PartType::Text(t) => (t, part.content_type().is_some_and(|c| c.subtype() == Some("html"))),
                PartType::Html(h) => (h, true),
                _ => continue,
            };
            let content = if content.len() > self.limits.max_text_part {
                problems.push(Problem::new(
                    ProblemKind::Bomb,
                    format!(
                        "text part {id} of {} bytes (limit {})",
                        content.len(),
                        self.limits.max_text_part
                    ),
                ));
                cut(content, self.limits.max_text_part)
            } else {
                content
            };
            if !body.is_empty() {
                body.push_str("\n\n");
            }
            if is_html {
                html::to_text(content, &mut body, &mut facts.links, self.limits.max_text);
            } else {
                body.push_str(cut(content, self.limits.max_text.saturating_sub(body.len())));
            }
        }
        for (id, part) in parsed.parts.iter().enumerate() {
            encoding_problems(id, part, &mut problems);
        }
        if !body.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&body);
        }
        facts.problems = problems;
        let address = |a: Option<&Address>| a.and_then(first_mailbox).map(|m| m.address);
        Ok(Message {
            id: parsed.message_id().map(str::to_string),
            sender: facts.from.as_ref().map(|f| f.address.clone()),
            recipient: address(parsed.to()),
            text,
            channel: Channel::Email,
            received_at: parsed.date().map(|d| d.to_timestamp()),
            email: Some(Box::new(facts)),
            ..Default::default()
        })
    }
}

/// Checks that the input starts like an e-mail and drops a leading mbox `From ` line.
pub fn check_start(raw: &[u8]) -> Result<&[u8], MailError> {
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(MailError::Empty)?;
    let mut raw = &raw[start..];
    if raw.starts_with(b"From ") {
        raw = match raw.iter().position(|&b| b == b'\n') {
            Some(i) => &raw[i + 1..],
            None => &[],
        };
    }
    // A header field: printable ASCII without a colon or a space, then a colon.
    let name_len = raw.iter().take_while(|&&b| b.is_ascii_graphic() && b != b':').count();
    if name_len == 0 || raw.get(name_len) != Some(&b':') {
        return Err(MailError::NoHeaders(first_line(raw)));
    }
    Ok(raw)
}

/// The first line of the input, for error messages.
fn first_line(raw: &[u8]) -> String {
    let line = raw.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let s = String::from_utf8_lossy(&line[..line.len().min(60)]);
    s.trim_end().to_string()
}

/// Where the `n+1`-th `Content-Type:` line starts, if there are more than `n`: the parser
/// gets the message up to there, so no nesting or number of parts can grow past `n`.
fn nth_part_start(raw: &[u8], n: usize) -> Option<usize> {
    content_type_lines(raw).nth(n)
}

/// The offsets of the lines that start with a `Content-Type:` field (case-insensitively).
fn content_type_lines(raw: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let starts = std::iter::once(0).chain(raw.iter().enumerate().filter(|&(_, &b)| b == b'\n').map(|(i, _)| i + 1));
    starts.filter(move |&at| {
        let line = &raw[at..];
        line.len() >= CONTENT_TYPE.len() && line[..CONTENT_TYPE.len()].eq_ignore_ascii_case(CONTENT_TYPE)
    })
}

/// The nesting depth of every part (the top part is at depth 0) and the deepest nesting in
/// the message, nested messages included. Children come after their parent in
/// `mail-parser`'s list, so one pass suffices: a deep tree cannot overflow the stack.
fn part_depths(msg: &mail_parser::Message<'_>) -> (Vec<usize>, usize) {
    let mut depth = vec![0usize; msg.parts.len()];
    let mut deepest = 0usize;
    for (id, part) in msg.parts.iter().enumerate() {
        deepest = deepest.max(depth[id]);
        match &part.body {
            PartType::Multipart(children) => {
                let here = depth[id];
                for &c in children {
                    if c as usize > id
                        && let Some(d) = depth.get_mut(c as usize)
                    {
                        *d = here + 1;
                    }
                }
            }
            // Nested messages are few: mail-parser decodes at most 3 levels of encoded ones,
            // and the part count bounds the others.
            PartType::Message(nested) => deepest = deepest.max(depth[id] + 1 + part_depths(nested).1),
            _ => {}
        }
    }
    (depth, deepest)
}

/// The decoding problems of one part.
fn encoding_problems(id: usize, part: &mail_parser::MessagePart<'_>, out: &mut Vec<Problem>) {
    if part.is_encoding_problem {
        let detail = match part.content_transfer_encoding() {
            Some(how) => format!("part {id}: its {how} could not be decoded"),
            None => format!("part {id}: unterminated or malformed"),
        };
        out.push(Problem::new(ProblemKind::BadEncoding, detail));
        return;
    }
    let text = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t,
        _ => return,
    };
    if let Some(cs) = part.content_type().and_then(|ct| ct.attribute("charset")) {
        let known = mail_parser::decoders::charsets::map::charset_decoder(cs.as_bytes()).is_some()
            || ["utf-8", "utf8", "us-ascii"]
                .iter()
                .any(|u| cs.trim().eq_ignore_ascii_case(u));
        if !known {
            out.push(Problem::new(
                ProblemKind::BadEncoding,
                format!("part {id}: unknown charset {:?}", cut(cs, 40)),
            ));
            return;
        }
    }
    if text.contains('\u{fffd}') {
        out.push(Problem::new(
            ProblemKind::BadEncoding,
            format!("part {id}: invalid characters for its charset"),
        ));
    }
}

fn first_mailbox(a: &Address<'_>) -> Option<Mailbox> {
    mailboxes(a).into_iter().next()
}

fn mailboxes(a: &Address<'_>) -> Vec<Mailbox> {
    a.iter()
        .filter_map(|m| {
            Some(Mailbox {
                name: m
                    .name()
                    .map(|n| cut(n.trim(), MAX_HEADER_TEXT).to_string())
                    .filter(|n| !n.is_empty()),
                address: cut(m.address()?.trim(), MAX_HEADER_TEXT).to_string(),
            })
        })
        .take(16)
        .collect()
}

/// At most `max` bytes of `s`, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The message with every `Content-Type:` field at a line start renamed (`X-ontent-Type:`, the
/// same length), so that a parser reads it as one plain-text part.
fn without_mime(raw: &[u8]) -> Vec<u8> {
    let mut out = raw.to_vec();
    for at in content_type_lines(raw) {
        out[at] = b'X';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_of_an_email() {
        assert_eq!(check_start(b" \r\n"), Err(MailError::Empty));
        assert!(
            check_start(b"From x@y Mon\nSubject: a\n\nb")
                .unwrap()
                .starts_with(b"Subject")
        );
        assert!(matches!(check_start(b"hello world\n"), Err(MailError::NoHeaders(_))));
        assert!(matches!(check_start(b": x\n"), Err(MailError::NoHeaders(_))));
        assert!(check_start(b"X-Anything:1").is_ok());
    }

    #[test]
    fn counts_parts_before_parsing() {
        let raw = b"Content-Type: a\nx\ncontent-TYPE: b\nContent-Type: c\n";
        assert_eq!(nth_part_start(raw, 2), Some(34));
        assert_eq!(nth_part_start(raw, 3), None);
    }

    #[test]
    fn a_structure_the_parser_panics_on_is_read_as_plain_text() {
        // Found by tests/properties.rs: mail-parser 0.11.9 panics on this message.
        let raw = b"From: \"Vietcombank\" <a@b.top>\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
                    Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n\r\n--b--\r\n";
        let msg = Reader::default().read(raw).expect("read, not refused");
        let facts = msg.email.expect("facts");
        assert!(
            facts
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::BadEncoding && p.detail.contains("MIME structure")),
            "{:?}",
            facts.problems
        );
        assert_eq!(
            without_mime(b"content-type: a\nX: content-type: b\n"),
            b"Xontent-type: a\nX: content-type: b\n"
        );
    }
}
