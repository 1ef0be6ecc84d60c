//! Phone numbers packed into one `u64`, so that the detector's maps hash and compare
//! integers rather than strings.
//!
//! The meaning of a number (which forms are Vietnamese mobiles, which are spoofing forms)
//! is `chanrac_core::phone`'s: this module only has a non-allocating fast path for the forms
//! a switch writes (`+84912345678`, `0912345678`), and hands every other form to
//! [`chanrac_core::phone::parse_number`]. A test keeps the two in agreement.

use std::fmt;

use chanrac_core::phone::{Malformed, Phone, PhoneKind, parse_number};

/// What kind of number a [`Number`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum NumberKind {
    /// A Vietnamese mobile number (`+84` and 9 digits starting 3, 5, 7, 8 or 9).
    VnMobile = 0,
    /// A Vietnamese fixed line (`+842…`).
    VnFixed = 1,
    /// A `1800`/`1900` service number.
    VnService = 2,
    /// A short code.
    ShortCode = 3,
    /// A number of another country.
    International = 4,
    /// An impossible form used to spoof (`+84069…`, `+084…`).
    Malformed = 5,
    /// Digits of no known form.
    Other = 6,
}

/// A phone number in its canonical form, packed: the kind, the count of digits and the
/// digits (at most 15, as E.164 allows) as an integer. Two written forms of one number
/// (`0912 345 678`, `+84912345678`) give the same `Number`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Number(u64);

const DIGITS_BITS: u32 = 50;
const LEN_SHIFT: u32 = 50;
const KIND_SHIFT: u32 = 56;

/// Why a field is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// The field is empty.
    #[error("empty")]
    Empty,
    /// The field holds something other than digits and separators, or too many digits.
    #[error("{0:?} is not a phone number")]
    NotANumber(String),
}

impl Number {
    fn pack(kind: NumberKind, digits: &[u8]) -> Number {
        let mut v = 0u64;
        for d in digits {
            v = v * 10 + u64::from(d - b'0');
        }
        Number(((kind as u64) << KIND_SHIFT) | ((digits.len() as u64) << LEN_SHIFT) | v)
    }

    /// Parses a number in any form `chanrac_core::phone` knows; digits of an unknown form
    /// become [`NumberKind::Other`], spoofing forms [`NumberKind::Malformed`].
    pub fn parse(s: &str) -> Result<Number, NumberError> {
        let b = s.as_bytes();
        // The fast path: the canonical and national forms of Vietnamese numbers.
        let national = match b {
            [b'+', b'8', b'4', rest @ ..] => Some(rest),
            [b'0', rest @ ..] if rest.first() != Some(&b'0') => Some(rest),
            _ => None,
        };
        if let Some(rest) = national
            && rest.iter().all(u8::is_ascii_digit)
        {
            match (rest.len(), rest.first()) {
                (9, Some(b'3' | b'5' | b'7' | b'8' | b'9')) => return Ok(Number::vn(NumberKind::VnMobile, rest)),
                (10, Some(b'2')) => return Ok(Number::vn(NumberKind::VnFixed, rest)),
                _ => {}
            }
        }
        Number::parse_slow(s)
    }

    fn vn(kind: NumberKind, national: &[u8]) -> Number {
        let mut d = [0u8; 15];
        d[..2].copy_from_slice(b"84");
        d[2..2 + national.len()].copy_from_slice(national);
        Number::pack(kind, &d[..2 + national.len()])
    }

    fn parse_slow(s: &str) -> Result<Number, NumberError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(NumberError::Empty);
        }
        let digits: Vec<u8> = t.bytes().filter(u8::is_ascii_digit).collect();
        let not_a_number = || NumberError::NotANumber(t.chars().take(40).collect());
        match parse_number(t) {
            Ok(Some(Phone { key, kind })) => {
                let kind = match kind {
                    PhoneKind::VnMobile => NumberKind::VnMobile,
                    PhoneKind::VnFixed => NumberKind::VnFixed,
                    PhoneKind::VnService => NumberKind::VnService,
                    PhoneKind::ShortCode => NumberKind::ShortCode,
                    PhoneKind::International => NumberKind::International,
                };
                Ok(Number::pack(kind, key.trim_start_matches('+').as_bytes()))
            }
            Err(Malformed::NationalZeroAfterCountryCode | Malformed::ZeroBeforeCountryCode) => {
                Ok(Number::pack(NumberKind::Malformed, &digits[..digits.len().min(15)]))
            }
            Ok(None) => {
                let plain = t.bytes().all(|c| c.is_ascii_digit() || b" .-()+".contains(&c));
                if !plain || digits.is_empty() || digits.len() > 15 {
                    return Err(not_a_number());
                }
                Ok(Number::pack(NumberKind::Other, &digits))
            }
        }
    }

    /// The kind.
    pub fn kind(self) -> NumberKind {
        match (self.0 >> KIND_SHIFT) & 0xff {
            0 => NumberKind::VnMobile,
            1 => NumberKind::VnFixed,
            2 => NumberKind::VnService,
            3 => NumberKind::ShortCode,
            4 => NumberKind::International,
            5 => NumberKind::Malformed,
            _ => NumberKind::Other,
        }
    }

    /// The digits as an integer (`84912345678` for `+84912345678`): callees dialled in a
    /// numeric run have consecutive values.
    pub fn value(self) -> u64 {
        self.0 & ((1 << DIGITS_BITS) - 1)
    }

    fn len(self) -> usize {
        ((self.0 >> LEN_SHIFT) & 0x3f) as usize
    }

    /// True for a Vietnamese mobile number.
    pub fn is_vn_mobile(self) -> bool {
        self.kind() == NumberKind::VnMobile
    }

    /// The number packed as an integer, for compact storage; see [`Number::from_bits`].
    pub fn to_bits(self) -> u64 {
        self.0
    }

    /// The inverse of [`Number::to_bits`].
    pub fn from_bits(bits: u64) -> Number {
        Number(bits)
    }
}

impl fmt::Display for Number {
    /// The canonical key, as `chanrac_core` lists use it: `+84912345678`, `+14155550123`,
    /// `19001234`, `5656`; a spoofing form as its digits after a `+`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plus = matches!(
            self.kind(),
            NumberKind::VnMobile | NumberKind::VnFixed | NumberKind::International | NumberKind::Malformed
        );
        if plus {
            f.write_str("+")?;
        }
        write!(f, "{:0width$}", self.value(), width = self.len())
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self}, {:?})", self.kind())
    }
}

impl std::str::FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Number, NumberError> {
        Number::parse(s)
    }
}

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Parses a list of numbers, one per line, `#` starting a comment; an entry that is not a
/// number is an error naming its line (`line 3: "abc" is not a phone number`).
pub fn parse_number_list(text: &str) -> Result<std::collections::HashSet<Number>, String> {
    let mut out = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        out.insert(Number::parse(entry).map_err(|e| format!("line {}: {e}", i + 1))?);
    }
    Ok(out)
}

/// Parses SMS counts, one `number,sms_sent` per line (`#` starts a comment, a first line
/// starting with `number` is a header); counts of one number in several forms add up. A
/// bad line is an error naming it (`line 3: want `number,sms_sent``).
pub fn parse_sms_counts(text: &str) -> Result<std::collections::HashMap<Number, u64>, String> {
    let mut out = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || (i == 0 && line.starts_with("number")) {
            continue;
        }
        let bad = |why: String| format!("line {}: want `number,sms_sent` ({why})", i + 1);
        let (n, c) = line.split_once(',').ok_or_else(|| bad("no comma".into()))?;
        let n = Number::parse(n.trim()).map_err(|e| bad(e.to_string()))?;
        let c: u64 = c
            .trim()
            .parse()
            .map_err(|_| bad(format!("{:?} is not a count", c.trim())))?;
        *out.entry(n).or_insert(0) += c;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_counts_add_up_across_forms_and_name_bad_lines() {
        let counts =
            parse_sms_counts("number,sms_sent\n0912345678,40\n+84912345678, 20 # same\n\n0987654321,3\n").unwrap();
        assert_eq!(counts[&Number::parse("0912345678").unwrap()], 60);
        assert_eq!(counts.len(), 2);
        let cases: &[(&str, &str)] = &[
            ("0912345678\n", "line 1: want `number,sms_sent` (no comma)"),
            ("0912345678,1\nabc,2\n", "line 2: want `number,sms_sent`"),
            ("0912345678,many\n", "\"many\" is not a count"),
            ("0912345678,-1\n", "\"-1\" is not a count"),
        ];
        for (text, want) in cases {
            let e = parse_sms_counts(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn parses_every_form_into_one_key() {
        let cases: &[(&str, &str, NumberKind)] = &[
            ("+84912345678", "+84912345678", NumberKind::VnMobile),
            ("0912345678", "+84912345678", NumberKind::VnMobile),
            ("84912345678", "+84912345678", NumberKind::VnMobile),
            ("0912 345 678", "+84912345678", NumberKind::VnMobile),
            ("0084912345678", "+84912345678", NumberKind::VnMobile),
            ("02439876543", "+842439876543", NumberKind::VnFixed),
            ("19001234", "19001234", NumberKind::VnService),
            ("5656", "5656", NumberKind::ShortCode),
            ("+85512345678", "+85512345678", NumberKind::International),
            ("0085512345678", "+85512345678", NumberKind::International),
            ("+840691234567", "+840691234567", NumberKind::Malformed),
            ("+084912345678", "+084912345678", NumberKind::Malformed),
            ("0123", "0123", NumberKind::Other),
        ];
        for (input, key, kind) in cases {
            let n = Number::parse(input).unwrap();
            assert_eq!((n.to_string().as_str(), n.kind()), (*key, *kind), "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        assert_eq!(Number::parse(""), Err(NumberError::Empty));
        assert!(Number::parse("anonymous").is_err());
        assert!(Number::parse("1234567890123456").is_err());
    }

    #[test]
    fn lists_of_numbers() {
        let l = parse_number_list("# DNC\n0912345678\n\n+84987654321 # a comment\n").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(
            parse_number_list("0912345678\nabc\n").unwrap_err(),
            "line 2: \"abc\" is not a phone number"
        );
    }

    #[test]
    fn numeric_runs_have_consecutive_values() {
        let a = Number::parse("0912345678").unwrap();
        let b = Number::parse("+84912345679").unwrap();
        assert_eq!(b.value() - a.value(), 1);
    }
}
