//! `Authentication-Results` (RFC 8601): the SPF, DKIM and DMARC results a receiving server
//! recorded.
//!
//! Only the topmost header is read: it is the one the last receiving server (the operator's
//! own) added; headers further down were written by earlier hops, or by the sender, and
//! prove nothing. Only failures become signals, so a forged header claiming `pass` gains a
//! sender nothing.

use chanrac_core::email::{AuthMethod, AuthResult};

/// The evidence of one result is cut at this many bytes.
const MAX_TEXT: usize = 200;

/// The SPF, DKIM and DMARC results of one `Authentication-Results` value.
pub fn parse(value: &str) -> Vec<AuthResult> {
    let clean = strip_comments(value);
    let mut out = Vec::new();
    // The first element is the authserv-id (with an optional version).
    for resinfo in clean.split(';').skip(1) {
        let resinfo = resinfo.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some((method, rest)) = resinfo.split_once('=') else {
            continue;
        };
        let method = match method.trim().to_ascii_lowercase().as_str() {
            "spf" => AuthMethod::Spf,
            "dkim" => AuthMethod::Dkim,
            "dmarc" => AuthMethod::Dmarc,
            _ => continue,
        };
        let result = rest
            .trim_start()
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if result.is_empty() {
            continue;
        }
        let mut text = resinfo.clone();
        if text.len() > MAX_TEXT {
            let mut end = MAX_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        out.push(AuthResult { method, result, text });
    }
    out
}

/// The value without its `( … )` comments (which may nest), and without quoted strings'
/// semicolons counting as separators.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            ';' if quoted => out.push(','),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_results() {
        let r = parse(
            " mx.example.vn;\r\n spf=softfail (domain of x@vcb.top does not designate 1.2.3.4; see) smtp.mailfrom=vcb.top;\r\n \
             dkim=none; dmarc=fail (p=REJECT sp=REJECT) header.from=vietcombank.com.vn; arc=none",
        );
        let got: Vec<(AuthMethod, &str)> = r.iter().map(|r| (r.method, r.result.as_str())).collect();
        assert_eq!(
            got,
            [
                (AuthMethod::Spf, "softfail"),
                (AuthMethod::Dkim, "none"),
                (AuthMethod::Dmarc, "fail")
            ]
        );
        assert_eq!(r[2].text, "dmarc=fail header.from=vietcombank.com.vn");
        assert!(r[0].failed() && r[2].failed() && !r[1].failed());
    }

    #[test]
    fn odd_values() {
        assert!(parse("").is_empty());
        assert!(parse("mx; none").is_empty());
        assert!(parse("mx; spf=").is_empty());
        assert!(parse("(((((").is_empty());
        assert_eq!(parse("mx; DKIM=Pass header.d=\"a;b\"")[0].result, "pass");
        let long = format!("mx; spf=fail {}", "x".repeat(10_000));
        assert!(parse(&long)[0].text.len() < 300);
    }
}
