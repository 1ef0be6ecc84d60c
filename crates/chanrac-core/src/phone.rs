//! Phone numbers in Vietnamese and international forms, and sender identities.
//!
//! Vietnam's numbering (after the 2018 re-numbering): mobile numbers are `0` + 9 digits with
//! the first digit 3, 5, 7, 8 or 9 (`0912345678`, `+84912345678`, `84912345678`); fixed lines
//! are `02` + 9 digits; `1800`/`1900` service numbers have 8 or 10 digits; short codes such as
//! `5656` have 3 to 6 digits. Every number is reduced to one canonical key (`+84912345678`)
//! so that lists and counters see one sender, whatever form it came in.

/// What kind of number it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// A Vietnamese mobile number.
    VnMobile,
    /// A Vietnamese fixed-line number.
    VnFixed,
    /// A `1800`/`1900` service number.
    VnService,
    /// A short code (3 to 6 digits).
    ShortCode,
    /// A number of another country, written with `+` or `00`.
    International,
}

/// A parsed phone number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    /// The canonical key: `+84…` for Vietnamese and international numbers, the bare digits
    /// for service numbers and short codes.
    pub key: String,
    /// The kind.
    pub kind: PhoneKind,
}

/// Why a number-like sender is impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// `+84` followed by the national `0` (`+84069…`).
    NationalZeroAfterCountryCode,
    /// A `0` before the country code (`+084…`).
    ZeroBeforeCountryCode,
}

/// Parses one number written alone (a sender or recipient field, a list entry), ignoring
/// spaces, dots, dashes and brackets. `Err` for the spoofing forms, `Ok(None)` for anything
/// that is not a number of a known form.
pub fn parse_number(s: &str) -> Result<Option<Phone>, Malformed> {
    let s = s.trim();
    let plus = s.starts_with('+');
    // The digits, on the stack: a number has at most 15 (more is no number, whatever follows).
    let mut buf = [0u8; 15];
    let mut len = 0;
    for &b in s.as_bytes() {
        match b {
            b'0'..=b'9' if len < buf.len() => {
                buf[len] = b;
                len += 1;
            }
            b'0'..=b'9' => return Ok(None),
            b' ' | b'.' | b'-' | b'(' | b')' => {}
            b'+' if len == 0 => {}
            _ => return Ok(None),
        }
    }
    let Ok(digits) = std::str::from_utf8(&buf[..len]) else {
        return Ok(None);
    };
    if digits.is_empty() {
        return Ok(None);
    }
    if plus {
        if let Some(rest) = digits.strip_prefix("84") {
            if rest.starts_with('0') {
                return Err(Malformed::NationalZeroAfterCountryCode);
            }
            return Ok(vn_national(rest));
        }
        if digits.starts_with("084") {
            return Err(Malformed::ZeroBeforeCountryCode);
        }
        return Ok(international(digits));
    }
    Ok(classify_digits(digits))
}

/// Classifies a run of digits with no `+`.
pub fn classify_digits(digits: &str) -> Option<Phone> {
    let b = digits.as_bytes();
    if let Some(rest) = digits.strip_prefix("0084") {
        return vn_national(rest);
    }
    if let Some(rest) = digits.strip_prefix("00") {
        return international(rest);
    }
    if b.first() == Some(&b'0') {
        return vn_national(&digits[1..]);
    }
    if let Some(rest) = digits.strip_prefix("84")
        && let Some(p) = vn_national(rest)
    {
        return Some(p);
    }
    if (digits.starts_with("1800") || digits.starts_with("1900")) && matches!(b.len(), 8 | 10) {
        return Some(Phone {
            key: digits.to_string(),
            kind: PhoneKind::VnService,
        });
    }
    if (3..=6).contains(&b.len()) && b[0] != b'0' {
        return Some(Phone {
            key: digits.to_string(),
            kind: PhoneKind::ShortCode,
        });
    }
    None
}

/// A Vietnamese number without its leading `0` or `84`.
fn vn_national(rest: &str) -> Option<Phone> {
    let b = rest.as_bytes();
    let kind = match (b.len(), b.first()) {
        (9, Some(b'3' | b'5' | b'7' | b'8' | b'9')) => PhoneKind::VnMobile,
        (10, Some(b'2')) => PhoneKind::VnFixed,
        _ => return None,
    };
    let mut key = String::with_capacity(12);
    key.push_str("+84");
    key.push_str(rest);
    Some(Phone { key, kind })
}

fn international(digits: &str) -> Option<Phone> {
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    if let Some(rest) = digits.strip_prefix("84") {
        return vn_national(rest);
    }
    Some(Phone {
        key: format!("+{digits}"),
        kind: PhoneKind::International,
    })
}

/// Who sent a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderId {
    /// No sender given.
    Unknown,
    /// A phone number, short code or service number.
    Number(Phone),
    /// An alphanumeric sender id (brandname), upper-cased.
    Brandname(String),
    /// A number in an impossible form: a spoofing sign.
    Malformed(String, Malformed),
    /// Digits of no known form.
    OtherNumber(String),
}

impl SenderId {
    /// Parses a sender field.
    pub fn parse(s: &str) -> SenderId {
        let t = s.trim();
        if t.is_empty() {
            return SenderId::Unknown;
        }
        let numeric = t
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b' ' | b'.' | b'-' | b'(' | b')' | b'+'));
        if numeric {
            return match parse_number(t) {
                Ok(Some(p)) => SenderId::Number(p),
                Ok(None) => SenderId::OtherNumber(t.chars().filter(|c| c.is_ascii_digit()).collect()),
                Err(m) => SenderId::Malformed(t.to_string(), m),
            };
        }
        SenderId::Brandname(t.to_ascii_uppercase())
    }

    /// The key lists and counters use for this sender.
    pub fn key(&self) -> Option<&str> {
        match self {
            SenderId::Unknown => None,
            SenderId::Number(p) => Some(&p.key),
            SenderId::Brandname(b) => Some(b),
            SenderId::Malformed(s, _) | SenderId::OtherNumber(s) => Some(s),
        }
    }

    /// True for an ordinary subscriber number (which may not advertise).
    pub fn is_subscriber(&self) -> bool {
        matches!(
            self,
            SenderId::Number(Phone {
                kind: PhoneKind::VnMobile | PhoneKind::VnFixed | PhoneKind::International,
                ..
            })
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers() {
        let cases: &[(&str, Option<(&str, PhoneKind)>)] = &[
            ("0912345678", Some(("+84912345678", PhoneKind::VnMobile))),
            ("+84912345678", Some(("+84912345678", PhoneKind::VnMobile))),
            ("84912345678", Some(("+84912345678", PhoneKind::VnMobile))),
            ("0987.654.321", Some(("+84987654321", PhoneKind::VnMobile))),
            ("0987 654 321", Some(("+84987654321", PhoneKind::VnMobile))),
            ("(+84) 912-345-678", Some(("+84912345678", PhoneKind::VnMobile))),
            ("0084912345678", Some(("+84912345678", PhoneKind::VnMobile))),
            ("02439876543", Some(("+842439876543", PhoneKind::VnFixed))),
            ("19001234", Some(("19001234", PhoneKind::VnService))),
            ("5656", Some(("5656", PhoneKind::ShortCode))),
            ("+14155550123", Some(("+14155550123", PhoneKind::International))),
            ("0123", None),
            ("091234567", None),
            ("5.000.000", None),
        ];
        for (input, want) in cases {
            let got = parse_number(input).unwrap().map(|p| (p.key, p.kind));
            let want = want.map(|(k, kind)| (k.to_string(), kind));
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn spots_spoofed_forms() {
        assert_eq!(
            parse_number("+840691234567"),
            Err(Malformed::NationalZeroAfterCountryCode)
        );
        assert_eq!(parse_number("+084912345678"), Err(Malformed::ZeroBeforeCountryCode));
        assert!(matches!(SenderId::parse("+84069123456"), SenderId::Malformed(..)));
    }

    #[test]
    fn parses_senders() {
        assert_eq!(
            SenderId::parse("Vietcombank"),
            SenderId::Brandname("VIETCOMBANK".into())
        );
        assert!(SenderId::parse("0912345678").is_subscriber());
        assert!(!SenderId::parse("5656").is_subscriber());
        assert_eq!(SenderId::parse(" "), SenderId::Unknown);
    }
}
