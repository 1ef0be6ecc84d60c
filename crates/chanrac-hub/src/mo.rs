//! Messages to the hub's short code ("MO" messages: mobile-originated) and their replies.
//!
//! The syntaxes (REGULATION.md): `S <source> <content>` reports a spam message, `V <source>
//! <content>` a spam call, `LD <source> <content>` a suspected fraud; `DK DNC` / `HUY DNC`
//! join or leave the Do-Not-Call register for ad messages and calls, `DK DNC S` / `DK DNC V`
//! (and `HUY …`) for messages or calls only; `FW <copy>` is an advertiser's copy of an ad.
//! Keywords are case-insensitive and may come with or without Vietnamese marks (`HỦY`),
//! with extra spaces; the source and the content may be in round brackets.
//!
//! Nothing is refused: what does not parse is [`Mo::Unknown`] with the reason, which the
//! caller stores as an unparsed report and answers with [`reply`], teaching the syntax.

use chanrac_core::normalize::Normalized;
use chanrac_core::phone::SenderId;

use crate::HubConfig;
use crate::ads::is_valid_brandname;

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// A spam message (`S`).
    Spam,
    /// A spam call (`V`).
    Call,
    /// A suspected fraud (`LD`).
    Fraud,
}

impl ReportKind {
    /// `spam`, `call` or `fraud`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Spam => "spam",
            ReportKind::Call => "call",
            ReportKind::Fraud => "fraud",
        }
    }

    /// Parses [`ReportKind::as_str`].
    pub fn parse(s: &str) -> Option<ReportKind> {
        [ReportKind::Spam, ReportKind::Call, ReportKind::Fraud]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    fn keyword(self) -> &'static str {
        match self {
            ReportKind::Spam => "S",
            ReportKind::Call => "V",
            ReportKind::Fraud => "LD",
        }
    }
}

/// Which advertising a Do-Not-Call registration refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DncScope {
    /// Ad messages and ad calls (`DK DNC`).
    All,
    /// Ad messages only (`DK DNC S`).
    Sms,
    /// Ad calls only (`DK DNC V`).
    Calls,
}

impl DncScope {
    /// `all`, `sms` or `calls`.
    pub fn as_str(self) -> &'static str {
        match self {
            DncScope::All => "all",
            DncScope::Sms => "sms",
            DncScope::Calls => "calls",
        }
    }

    /// Parses [`DncScope::as_str`].
    pub fn parse(s: &str) -> Option<DncScope> {
        [DncScope::All, DncScope::Sms, DncScope::Calls]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// The scope as register flags: bit 0 messages, bit 1 calls.
    pub fn flags(self) -> u8 {
        match self {
            DncScope::All => crate::dnc::SMS | crate::dnc::CALLS,
            DncScope::Sms => crate::dnc::SMS,
            DncScope::Calls => crate::dnc::CALLS,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            DncScope::All => "",
            DncScope::Sms => " S",
            DncScope::Calls => " V",
        }
    }

    fn words(self) -> &'static str {
        match self {
            DncScope::All => "tin nhan va cuoc goi",
            DncScope::Sms => "tin nhan",
            DncScope::Calls => "cuoc goi",
        }
    }
}

/// Why a text did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unparsed {
    /// Nothing but spaces.
    Empty,
    /// Longer than `max_text_chars`.
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The first word is no keyword of the line.
    NoKeyword,
    /// A report without its source.
    MissingSource(ReportKind),
    /// A report whose source is neither a number nor a brandname.
    BadSource(ReportKind, String),
    /// A message report (`S`, `LD`) without the reported content.
    MissingContent(ReportKind),
    /// `FW` without the copy.
    EmptyCopy,
    /// `DK` or `HUY` not followed by `DNC` and an optional `S` or `V`.
    BadDnc,
}

impl Unparsed {
    /// A short machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            Unparsed::Empty => "empty",
            Unparsed::TooLong { .. } => "too_long",
            Unparsed::NoKeyword => "no_keyword",
            Unparsed::MissingSource(_) => "missing_source",
            Unparsed::BadSource(..) => "bad_source",
            Unparsed::MissingContent(_) => "missing_content",
            Unparsed::EmptyCopy => "empty_copy",
            Unparsed::BadDnc => "bad_dnc",
        }
    }
}

/// One parsed short-code message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mo {
    /// A spam, spam-call or fraud report.
    Report {
        /// What is reported.
        kind: ReportKind,
        /// The reported source as written (brackets removed).
        source: String,
        /// The canonical key of the source (`+84912345678`, `VAYTIEN`), for grouping.
        source_key: String,
        /// The reported content (may be empty for a call report).
        content: String,
    },
    /// `DK DNC…`: join the Do-Not-Call register.
    DncRegister(DncScope),
    /// `HUY DNC…`: leave it.
    DncCancel(DncScope),
    /// `FW <copy>`: an advertiser's copy of an ad.
    AdCopy {
        /// The copy.
        text: String,
    },
    /// Anything else: stored as an unparsed report, answered with the syntax.
    Unknown(Unparsed),
}

impl Mo {
    /// The kind the API names: `report`, `dnc_register`, `dnc_cancel`, `ad_copy` or
    /// `unknown`.
    pub fn kind(&self) -> &'static str {
        match self {
            Mo::Report { .. } => "report",
            Mo::DncRegister(_) => "dnc_register",
            Mo::DncCancel(_) => "dnc_cancel",
            Mo::AdCopy { .. } => "ad_copy",
            Mo::Unknown(_) => "unknown",
        }
    }
}

/// Folds a keyword: lower case, no Vietnamese marks, nothing but letters and digits.
fn fold(word: &str) -> String {
    Normalized::new(word)
        .text()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Parses a text sent to the short code.
pub fn parse(text: &str, config: &HubConfig) -> Mo {
    let t = text.trim();
    if t.is_empty() {
        return Mo::Unknown(Unparsed::Empty);
    }
    let chars = t.chars().count();
    if chars > config.max_text_chars {
        return Mo::Unknown(Unparsed::TooLong { chars });
    }
    let end = t
        .find(|c: char| c.is_whitespace() || c == '(' || c == ':')
        .unwrap_or(t.len());
    let (word, rest) = t.split_at(end);
    let rest = rest.trim_start_matches(':').trim();
    match fold(word).as_str() {
        "s" => report(ReportKind::Spam, rest),
        "v" => report(ReportKind::Call, rest),
        "ld" => report(ReportKind::Fraud, rest),
        "fw" => {
            let copy = unbracket(rest);
            if copy.is_empty() {
                Mo::Unknown(Unparsed::EmptyCopy)
            } else {
                Mo::AdCopy { text: copy.to_string() }
            }
        }
        w if w.starts_with("dk") || w.starts_with("huy") => dnc(t),
        _ => Mo::Unknown(Unparsed::NoKeyword),
    }
}

fn dnc(t: &str) -> Mo {
    // Spaces may be anywhere or nowhere: `DK DNC S`, `dkdnc s`, `HỦY  DNC`.
    let compact = fold(t);
    let (register, rest) = if let Some(r) = compact.strip_prefix("dkdnc") {
        (true, r)
    } else if let Some(r) = compact.strip_prefix("huydnc") {
        (false, r)
    } else {
        return Mo::Unknown(Unparsed::BadDnc);
    };
    let scope = match rest {
        "" => DncScope::All,
        "s" => DncScope::Sms,
        "v" => DncScope::Calls,
        _ => return Mo::Unknown(Unparsed::BadDnc),
    };
    if register {
        Mo::DncRegister(scope)
    } else {
        Mo::DncCancel(scope)
    }
}

/// Removes one pair of round brackets around the whole text.
fn unbracket(s: &str) -> &str {
    let s = s.trim();
    match s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(inner) if balanced(inner) => inner.trim(),
        _ => s,
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

fn report(kind: ReportKind, rest: &str) -> Mo {
    let (source, content) = if let Some(inner) = rest.strip_prefix('(') {
        match inner.find(')') {
            Some(i) => (inner[..i].trim(), inner[i + 1..].trim()),
            None => (inner.trim(), ""),
        }
    } else {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        (&rest[..end], rest[end..].trim())
    };
    if source.is_empty() {
        return Mo::Unknown(Unparsed::MissingSource(kind));
    }
    let Some(source_key) = source_key(source) else {
        return Mo::Unknown(Unparsed::BadSource(kind, source.to_string()));
    };
    let content = unbracket(content);
    if content.is_empty() && kind != ReportKind::Call {
        return Mo::Unknown(Unparsed::MissingContent(kind));
    }
    Mo::Report {
        kind,
        source: source.to_string(),
        source_key,
        content: content.to_string(),
    }
}

/// The canonical key of a reported source: a number's canonical form (`+84912345678`,
/// `5656`, `19001234`; an impossible form such as `+84069…` is kept as written, since it is
/// a spoofing sign worth reporting), or a brandname in capitals. `None` for anything else.
pub fn source_key(source: &str) -> Option<String> {
    match SenderId::parse(source) {
        SenderId::Number(p) => Some(p.key),
        SenderId::Malformed(s, _) => Some(s.split_whitespace().collect()),
        SenderId::Brandname(b) if is_valid_brandname(&b) => Some(b),
        SenderId::Brandname(_) | SenderId::OtherNumber(_) | SenderId::Unknown => None,
    }
}

/// Cuts `s` to at most `n` characters for an echo in a reply, marking the cut, with
/// anything outside ASCII as `?` (so that the reply stays GSM 7-bit).
fn clip(s: &str, n: usize) -> String {
    let mut out: String = s
        .chars()
        .take(n)
        .map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' })
        .collect();
    if s.chars().nth(n).is_some() {
        out.push_str("...");
    }
    out
}

/// The SMS reply to a short-code message, once it is stored under `reference`. Replies are
/// in Vietnamese without marks, so that they fit GSM 7-bit SMS; an error reply says what was
/// wrong and teaches the syntax.
pub fn reply(mo: &Mo, reference: &str, config: &HubConfig) -> String {
    let code = &config.reply_code;
    match mo {
        Mo::Report { kind, source, .. } => {
            let what = match kind {
                ReportKind::Spam => "tin nhan rac",
                ReportKind::Call => "cuoc goi rac",
                ReportKind::Fraud => "dau hieu lua dao",
            };
            format!(
                "Cam on Quy khach da phan anh {what} tu {}. Ma phan anh: {reference}. Phan anh se duoc xu ly theo quy dinh.",
                clip(source, 20)
            )
        }
        Mo::DncRegister(scope) => format!(
            "Quy khach da dang ky tu choi nhan quang cao ({}). De huy, soan HUY DNC{} gui {code}. Ma: {reference}.",
            scope.words(),
            scope.suffix()
        ),
        Mo::DncCancel(scope) => format!(
            "Quy khach da huy tu choi nhan quang cao ({}). De dang ky lai, soan DK DNC{} gui {code}. Ma: {reference}.",
            scope.words(),
            scope.suffix()
        ),
        Mo::AdCopy { .. } => format!("Da nhan ban sao tin quang cao. Ma: {reference}."),
        Mo::Unknown(why) => {
            let problem = match why {
                Unparsed::Empty => "Tin nhan trong.".to_string(),
                Unparsed::TooLong { .. } => "Tin nhan qua dai.".to_string(),
                Unparsed::NoKeyword => "Sai cu phap.".to_string(),
                Unparsed::MissingSource(k) => format!("Thieu so dien thoai hoac ten nguoi gui sau {}.", k.keyword()),
                Unparsed::BadSource(k, s) => format!(
                    "\"{}\" sau {} khong phai so dien thoai hay ten thuong hieu.",
                    clip(s, 20),
                    k.keyword()
                ),
                Unparsed::MissingContent(k) => format!("Thieu noi dung tin nhan sau {} <nguon>.", k.keyword()),
                Unparsed::EmptyCopy => format!("Thieu noi dung quang cao. Soan FW <noi dung> gui {code}."),
                Unparsed::BadDnc => format!(
                    "Sai cu phap DNC. Soan DK DNC (tin nhan va cuoc goi), DK DNC S (tin nhan), DK DNC V (cuoc goi); huy: HUY DNC gui {code}."
                ),
            };
            format!(
                "{problem} Phan anh tin rac: S <so/ten gui> <noi dung>; cuoc goi rac: V <so goi> <noi dung>; lua dao: LD <so> <noi dung>. Tu choi quang cao: DK DNC. Gui {code}, mien phi. Ma: {reference}."
            )
        }
    }
}
