//! Extraction: links, phone numbers, bank accounts and money amounts in a message text.
//!
//! Extraction reads the original text (not the folded form), because numbers and links
//! carry their meaning in punctuation (`5.000.000đ`, `https://x.vn/a`). Spans are byte ranges
//! of the original text.

use crate::normalize::fold_letter;
use crate::phone::{Phone, PhoneKind, classify_digits};

/// A link found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlFinding {
    /// Byte range in the original text.
    pub span: (usize, usize),
    /// The host, lower-case ASCII (IDN hosts in punycode).
    pub host: String,
    /// The registrable domain (public suffix list): `vtb-qua.xyz`, `vietcombank.com.vn`.
    pub domain: String,
    /// The top-level label (`xyz`).
    pub tld: String,
    /// For internationalized hosts, the host with every letter folded to the Latin letter
    /// it looks like (`vietcоmbank.com` with a Cyrillic `о` → `vietcombank.com`), for the
    /// look-alike check.
    pub skeleton: Option<String>,
    /// The host is an IPv4 address.
    pub ip: bool,
    /// The host was internationalized (Unicode or `xn--`).
    pub idn: bool,
    /// The link was written to dodge filters (`hxxp`, `[.]`).
    pub obfuscated: bool,
}

/// A phone number in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneFinding {
    /// Byte range in the original text.
    pub span: (usize, usize),
    /// The number.
    pub phone: Phone,
}

/// A bank-account-like number next to a bank word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFinding {
    /// Byte range in the original text.
    pub span: (usize, usize),
    /// The digits.
    pub digits: String,
}

/// A money amount.
#[derive(Debug, Clone, PartialEq)]
pub struct AmountFinding {
    /// Byte range in the original text.
    pub span: (usize, usize),
    /// The amount in Vietnamese đồng (foreign currencies at a rough fixed rate).
    pub vnd: f64,
}

/// Everything extracted from one text. Reuse one value across messages.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// Links.
    pub urls: Vec<UrlFinding>,
    /// Phone numbers.
    pub phones: Vec<PhoneFinding>,
    /// Bank accounts.
    pub accounts: Vec<AccountFinding>,
    /// Money amounts.
    pub amounts: Vec<AmountFinding>,
    /// Working memory of the number scanner.
    digits: String,
    groups: Vec<(usize, usize)>,
}

impl Findings {
    /// Empties the lists, keeping their allocations.
    pub fn clear(&mut self) {
        self.urls.clear();
        self.phones.clear();
        self.accounts.clear();
        self.amounts.clear();
    }
}

/// How far before a number (in bytes) a bank word may stand.
const CUE_BEFORE: usize = 48;
/// How far after a number a bank name may stand (`0123456789 Vietcombank`).
const CUE_AFTER: usize = 24;

/// Extracts numbers: phone numbers, bank accounts (digits near one of `bank_cues`, given as
/// original byte ranges) and money amounts.
pub fn extract_numbers(text: &str, bank_cues: &[(usize, usize)], out: &mut Findings) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    let mut digits = std::mem::take(&mut out.digits);
    // Byte offsets where digit groups end, with the digit count so far.
    let mut groups = std::mem::take(&mut out.groups);
    while i < n {
        // Jump to the next digit or `+` (most of a text has neither).
        match b[i..].iter().position(|&c| c.is_ascii_digit() || c == b'+') {
            Some(p) => i += p,
            None => break,
        }
        let c = b[i];
        let plus = c == b'+' && i + 1 < n && b[i + 1].is_ascii_digit();
        if !(c.is_ascii_digit() || plus) {
            i += 1;
            continue;
        }
        // A digit glued to a preceding letter or digit is part of a word (`iphone15`, `4g`).
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') && !plus {
            while i < n && b[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        let start = i;
        if plus {
            i += 1;
        }
        digits.clear();
        groups.clear();
        // Groups of digits joined by one separator each.
        let mut seps = [0u8; 4];
        let mut sep_count = 0usize;
        loop {
            while i < n && b[i].is_ascii_digit() {
                if digits.len() < 24 {
                    digits.push(b[i] as char);
                }
                i += 1;
            }
            groups.push((i, digits.len()));
            if i + 1 < n && matches!(b[i], b' ' | b'.' | b'-' | b',') && b[i + 1].is_ascii_digit() {
                if sep_count < seps.len() {
                    seps[sep_count] = b[i];
                }
                sep_count += 1;
                i += 1;
            } else {
                break;
            }
        }
        let end = i;

        if let Some((vnd, unit_end)) = money_after(text, end, &digits, &groups, start, plus) {
            out.amounts.push(AmountFinding {
                span: (start, unit_end),
                vnd,
            });
            i = unit_end;
            continue;
        }
        if start > 0 && matches!(text[..start].chars().next_back(), Some('$' | '£' | '€')) {
            let sym = text[..start].chars().next_back().unwrap_or('$');
            let value = parse_value(&digits, &groups, start + plus as usize);
            let rate = match sym {
                '£' => 32_000.0,
                '€' => 27_000.0,
                _ => 25_000.0,
            };
            out.amounts.push(AmountFinding {
                span: (start - sym.len_utf8(), end),
                vnd: value * rate,
            });
            continue;
        }
        let near_cue = bank_cues
            .iter()
            .any(|&(cs, ce)| (ce <= start && start - ce <= CUE_BEFORE) || (cs >= end && cs - end <= CUE_AFTER));
        // Accounts are written in one piece or in groups of three or more digits; a number
        // right after `/` or `:` is part of a date or a time (`26/10/2025 18:18`).
        let part_of_date = start > 0 && matches!(b[start - 1], b'/' | b':');
        let grouped_like_account = groups
            .iter()
            .scan(0, |prev, &(_, c)| {
                let n = c - *prev;
                *prev = c;
                Some(n)
            })
            .all(|n| n >= 3);
        if near_cue && (6..=19).contains(&digits.len()) && !plus && !part_of_date && grouped_like_account {
            out.accounts.push(AccountFinding {
                span: (start, end),
                digits: digits.clone(),
            });
            continue;
        }
        // The longest leading run of groups that reads as a phone number.
        for &(g_end, count) in groups.iter().rev() {
            let d = &digits[..count];
            let phone = if plus {
                crate::phone::parse_number(&text[start..g_end]).ok().flatten()
            } else {
                classify_digits(d)
            };
            if let Some(phone) = phone {
                // Short codes in running text are too ambiguous (`3 ngày`, `2024`).
                if phone.kind != PhoneKind::ShortCode {
                    out.phones.push(PhoneFinding {
                        span: (start, g_end),
                        phone,
                    });
                    // Numbers listed with single spaces (`0858999221 0858999225`) join into
                    // one run: go on reading after this one.
                    i = g_end;
                }
                break;
            }
        }
    }
    out.digits = digits;
    out.groups = groups;
}

/// Reads a value from digit groups: `5.000.000` and `5,000,000` are thousands, `1,5` and
/// `1.5` are decimals, spaces separate thousands.
fn parse_value(digits: &str, groups: &[(usize, usize)], _start: usize) -> f64 {
    let counts: Vec<usize> = {
        let mut prev = 0;
        groups
            .iter()
            .map(|&(_, c)| {
                let n = c - prev;
                prev = c;
                n
            })
            .collect()
    };
    if counts.len() == 2 && counts[1] != 3 {
        // A decimal: 1,5 or 1.25.
        let (a, f) = digits.split_at(counts[0]);
        let whole: f64 = a.parse().unwrap_or(0.0);
        let frac: f64 = format!("0.{f}").parse().unwrap_or(0.0);
        return whole + frac;
    }
    digits.parse().unwrap_or(0.0)
}

/// A money unit after a number: returns the value in đồng and where the unit ends.
fn money_after(
    text: &str,
    end: usize,
    digits: &str,
    groups: &[(usize, usize)],
    start: usize,
    plus: bool,
) -> Option<(f64, usize)> {
    if plus || digits.len() > 15 {
        return None;
    }
    let rest = &text[end..];
    let (skip, rest) = match rest.strip_prefix(' ') {
        Some(r) => (1, r),
        None => (0, rest),
    };
    // Fold the word after the number (at most 6 letters) to ASCII.
    let mut word = [0u8; 6];
    let mut len = 0;
    let mut bytes = 0;
    for c in rest.chars() {
        match fold_letter(c) {
            Some(l) if len < word.len() => {
                word[len] = l;
                len += 1;
                bytes += c.len_utf8();
            }
            Some(_) => return None,
            None => break,
        }
    }
    let unit = &word[..len];
    let factor = match unit {
        b"d" | b"vnd" | b"dong" => 1.0,
        b"k" | b"nghin" | b"ngan" => 1e3,
        b"tr" | b"trieu" | b"cu" => 1e6,
        b"ty" | b"ti" => 1e9,
        b"usd" | b"do" => 25_000.0,
        b"gbp" => 32_000.0,
        b"eur" => 27_000.0,
        b"" if rest.starts_with('₫') || rest.starts_with('$') => {
            let sym = rest.chars().next().map_or(1, char::len_utf8);
            let f = if rest.starts_with('$') { 25_000.0 } else { 1.0 };
            return Some((parse_value(digits, groups, start) * f, end + skip + sym));
        }
        _ => return None,
    };
    // `5d` alone is more often days than đồng: require a big enough number for bare `d`.
    if unit == b"d" && digits.len() < 4 {
        return None;
    }
    Some((parse_value(digits, groups, start) * factor, end + skip + bytes))
}

/// Finds links, with or without a scheme, and undoes the usual disguises (`hxxp`, `[.]`).
pub fn extract_urls(text: &str, out: &mut Findings) {
    // Cheap prefilter: a link needs a dot (or a disguised one), and a disguise needs a
    // bracket or the letters `hxxp`.
    let bytes = text.as_bytes();
    // A disguise needs a bracket or the letters `hxxp`.
    let bracket = bytes.iter().any(|&b| matches!(b, b'[' | b'(' | b'{'));
    let disguised = (bracket && ["[.]", "(.)", "{.}", "[dot]", "(dot)"].iter().any(|d| text.contains(d)))
        || (bytes.contains(&b'x') && text.contains("hxxp"));
    // A host has a dot between two letters or digits (`x.vn`); a full stop is followed by a
    // space. Most texts have no such dot and skip the link finder.
    let mut dot = false;
    let mut from = 1;
    while let Some(p) = bytes.get(from..).and_then(|rest| rest.iter().position(|&b| b == b'.')) {
        let k = from + p;
        if k + 1 < bytes.len()
            && (bytes[k - 1].is_ascii_alphanumeric() || bytes[k - 1] >= 0x80)
            && bytes[k + 1].is_ascii_alphanumeric()
        {
            dot = true;
            break;
        }
        from = k + 1;
    }
    if !dot && !disguised {
        return;
    }
    if disguised {
        let (clean, map) = undisguise(text);
        find_links(&clean, |s, e| (map[s], map[e.saturating_sub(1)] + 1), true, out);
    } else {
        find_links(text, |s, e| (s, e), false, out);
    }
}

fn find_links(text: &str, to_orig: impl Fn(usize, usize) -> (usize, usize), disguised: bool, out: &mut Findings) {
    let mut finder = linkify::LinkFinder::new();
    finder.url_must_have_scheme(false);
    finder.kinds(&[linkify::LinkKind::Url]);
    for link in finder.links(text) {
        let s = link.as_str();
        let Some(mut u) = parse_host(s) else { continue };
        let (os, oe) = to_orig(link.start(), link.end());
        u.span = (os, oe);
        u.obfuscated = disguised;
        out.urls.push(u);
    }
}

/// Parses the host of a link and checks it against the public suffix list.
fn parse_host(link: &str) -> Option<UrlFinding> {
    let after_scheme = match link.find("://") {
        Some(p) => &link[p + 3..],
        None => link,
    };
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = host_port.split(':').next().unwrap_or("").trim_end_matches('.');
    if host.is_empty() {
        return None;
    }
    let ip = host.split('.').count() == 4
        && host
            .split('.')
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    if ip {
        return Some(UrlFinding {
            span: (0, 0),
            host: host.to_string(),
            domain: host.to_string(),
            tld: String::new(),
            skeleton: None,
            ip: true,
            idn: false,
            obfuscated: false,
        });
    }
    let mut idn = !host.is_ascii();
    let host = if idn {
        idna::domain_to_ascii(host).ok()?
    } else {
        host.to_ascii_lowercase()
    };
    if host.split('.').any(|l| l.starts_with("xn--")) {
        idn = true;
    }
    let suffix = psl::suffix(host.as_bytes())?;
    if !suffix.is_known() || suffix.as_bytes().len() >= host.len() {
        return None;
    }
    // A host made of numbers and a known suffix is a money amount or a version, not a link.
    let label = &host[..host.len() - suffix.as_bytes().len() - 1];
    if label.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let domain = psl::domain_str(&host).unwrap_or(&host).to_string();
    let tld = host.rsplit('.').next().unwrap_or("").to_string();
    let skeleton = idn.then(|| {
        let (unicode, _) = idna::domain_to_unicode(&host);
        unicode
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c
                } else {
                    crate::normalize::skeleton_char(c).map_or(c, char::from)
                }
            })
            .collect()
    });
    Some(UrlFinding {
        span: (0, 0),
        host,
        domain,
        tld,
        skeleton,
        ip: false,
        idn,
        obfuscated: false,
    })
}

/// Rewrites `hxxp` → `http` and `[.]`, `(.)`, `{.}`, `[dot]`, `(dot)` → `.`, with a map from
/// each byte of the result to its byte in the original.
fn undisguise(text: &str) -> (String, Vec<usize>) {
    const SUBS: &[(&str, &str)] = &[
        ("hxxp", "http"),
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
    ];
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        for (from, to) in SUBS {
            if text[i..].starts_with(from) {
                for (k, b) in to.bytes().enumerate() {
                    out.push(b as char);
                    map.push(i + k.min(from.len() - 1));
                }
                i += from.len();
                continue 'outer;
            }
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        for k in 0..c.len_utf8() {
            map.push(i + k);
        }
        out.push(c);
        i += c.len_utf8();
    }
    map.push(text.len());
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(text: &str, cues: &[(usize, usize)]) -> Findings {
        let mut f = Findings::default();
        extract_numbers(text, cues, &mut f);
        f
    }

    fn urls(text: &str) -> Vec<(String, String)> {
        let mut f = Findings::default();
        extract_urls(text, &mut f);
        f.urls
            .into_iter()
            .map(|u| (text[u.span.0..u.span.1].to_string(), u.domain))
            .collect()
    }

    #[test]
    fn finds_phones() {
        let f = numbers("LH 0987.654.321 hoac +84 912 345 678, goi 19001234 nhe", &[]);
        let keys: Vec<&str> = f.phones.iter().map(|p| p.phone.key.as_str()).collect();
        assert_eq!(keys, ["+84987654321", "+84912345678", "19001234"]);
        let text = "LH 0987.654.321";
        assert_eq!(&text[f.phones[0].span.0..f.phones[0].span.1], "0987.654.321");
        // A phone number followed by other digits still reads as a phone number.
        let f = numbers("goi 0912345678 5 lan", &[]);
        assert_eq!(f.phones.len(), 1);
        // Numbers listed one after another with single spaces are each found.
        let f = numbers("dong gia 0858999221 0858999225 0858999236", &[]);
        assert_eq!(f.phones.len(), 3, "{f:?}");
    }

    #[test]
    fn finds_amounts() {
        let cases: &[(&str, f64)] = &[
            ("trúng 50tr ngay", 50e6),
            ("nhận 5.000.000đ", 5e6),
            ("5,000,000 VND", 5e6),
            ("vay 1,5 triệu", 1.5e6),
            ("thưởng 500k", 5e5),
            ("lãi 2 tỷ", 2e9),
            ("win £1000 cash", 1000.0 * 32_000.0),
            ("100 USD", 100.0 * 25_000.0),
        ];
        for (text, want) in cases {
            let f = numbers(text, &[]);
            assert_eq!(f.amounts.len(), 1, "{text}: {f:?}");
            assert!((f.amounts[0].vnd - want).abs() < 1.0, "{text}: {}", f.amounts[0].vnd);
        }
        assert!(numbers("mạng 4g, iphone15, 3 ngày", &[]).amounts.is_empty());
    }

    #[test]
    fn finds_accounts_near_cues() {
        let text = "Chuyen khoan STK 0071000123456 Vietcombank";
        let cue = text.find("STK").unwrap();
        let f = numbers(text, &[(cue, cue + 3)]);
        assert_eq!(f.accounts.len(), 1);
        assert_eq!(f.accounts[0].digits, "0071000123456");
        assert!(f.phones.is_empty());
    }

    #[test]
    fn finds_urls() {
        assert_eq!(
            urls("nhận tại https://vtb-qua.xyz ngay"),
            [("https://vtb-qua.xyz".to_string(), "vtb-qua.xyz".to_string())]
        );
        assert_eq!(
            urls("vao vietcombank.com.vn/login"),
            [("vietcombank.com.vn/login".to_string(), "vietcombank.com.vn".to_string())]
        );
        assert_eq!(
            urls("hxxps://evil[.]top/a"),
            [("hxxps://evil[.]top/a".to_string(), "evil.top".to_string())]
        );
        assert!(urls("số tiền 5.000.000 đồng. Cảm ơn").is_empty());
        assert!(urls("xin chao.ban khoe khong").is_empty());
        let mut f = Findings::default();
        extract_urls("http://1.2.3.4/x", &mut f);
        assert!(f.urls[0].ip);
        let mut f = Findings::default();
        extract_urls("https://vietcombаnk.com", &mut f); // Cyrillic а
        assert!(f.urls[0].idn, "{f:?}");
    }
}
