//! What an e-mail says besides its text: the facts the `chanrac-mail` crate reads from the
//! headers and the MIME structure, and which the engine turns into the `EMAIL_*` signals.
//!
//! The core never parses RFC 5322 or MIME itself: a caller (the `chanrac-mail` crate) turns
//! a raw message into a [`crate::Message`] whose text is the subject and the decoded text
//! parts, with these facts in [`crate::Message::email`]. The engine then runs as for any
//! text, plus the e-mail checks:
//!
//! - the display name names a bank, operator or authority, but the address is not on one of
//!   their official domains (`EMAIL_DISPLAY_NAME_BRAND`);
//! - replies go to another domain than the sender's (`EMAIL_REPLY_TO_MISMATCH`);
//! - a link shows one domain and goes to another (`EMAIL_LINK_MISMATCH`);
//! - the receiving server recorded an SPF, DKIM or DMARC failure (`EMAIL_SPF_FAIL`,
//!   `EMAIL_DKIM_FAIL`, `EMAIL_DMARC_FAIL`);
//! - the message went beyond the parser's limits or could not be decoded
//!   (`EMAIL_MIME_BOMB`, `EMAIL_BAD_ENCODING`, `EMAIL_TRUNCATED`).

use serde::{Deserialize, Serialize};

/// The facts of one e-mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailFacts {
    /// The `From` mailbox (the first one when there are several).
    pub from: Option<Mailbox>,
    /// The `Reply-To` mailboxes.
    pub reply_to: Vec<Mailbox>,
    /// The links of the HTML parts, with the text they show.
    pub links: Vec<Link>,
    /// The results of the topmost `Authentication-Results` header (the one the receiving
    /// server added last), in the order written.
    pub auth: Vec<AuthResult>,
    /// What went wrong while reading the message: limits reached, undecodable parts.
    pub problems: Vec<Problem>,
}

/// A mailbox: an optional display name and an address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// The display name (`Vietcombank` in `"Vietcombank" <no-reply@vcb.top>`), decoded.
    pub name: Option<String>,
    /// The address (`no-reply@vcb.top`).
    pub address: String,
}

impl Mailbox {
    /// The address's domain, lower case (empty when the address has no `@`).
    pub fn domain(&self) -> String {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| {
                d.trim()
                    .trim_end_matches('>')
                    .trim_end_matches('.')
                    .to_ascii_lowercase()
            })
            .unwrap_or_default()
    }
}

/// A link of an HTML part: the text it shows and where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The visible text of the anchor, whitespace collapsed.
    pub text: String,
    /// The `href` target.
    pub href: String,
}

/// An authentication method of `Authentication-Results` (RFC 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// Sender Policy Framework (RFC 7208).
    Spf,
    /// DomainKeys Identified Mail (RFC 6376).
    Dkim,
    /// Domain-based Message Authentication, Reporting and Conformance (RFC 7489).
    Dmarc,
}

impl AuthMethod {
    /// The method's name as written in the header.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Spf => "spf",
            AuthMethod::Dkim => "dkim",
            AuthMethod::Dmarc => "dmarc",
        }
    }
}

/// One result of `Authentication-Results`: `dmarc=fail (p=reject) header.from=x.vn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResult {
    /// The method.
    pub method: AuthMethod,
    /// The result, lower case (`pass`, `fail`, `softfail`, `neutral`, `none`, …).
    pub result: String,
    /// The result as written (for evidence), at most a few hundred bytes.
    pub text: String,
}

impl AuthResult {
    /// True when the result is a failure of the method: `fail` (and `softfail` for SPF).
    pub fn failed(&self) -> bool {
        self.result == "fail" || (self.method == AuthMethod::Spf && self.result == "softfail")
    }
}

/// What kind of problem a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A limit meant against MIME bombs was reached (nesting, parts, a huge text part); the
    /// rest was not read.
    Bomb,
    /// A part could not be decoded (invalid base64 or quoted-printable, an unknown
    /// charset, invalid UTF-8); what could be read was checked.
    BadEncoding,
    /// The message was longer than the size limit; only its start was read.
    Truncated,
}

/// A problem met while reading a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Its kind.
    pub kind: ProblemKind,
    /// What exactly, for the evidence (`nesting deeper than 16 levels`).
    pub detail: String,
}

impl Problem {
    /// A problem.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_domains() {
        let m = |a: &str| Mailbox {
            name: None,
            address: a.into(),
        };
        assert_eq!(m("No-Reply@VCB.Top").domain(), "vcb.top");
        assert_eq!(m("a@b@evil.xyz.").domain(), "evil.xyz");
        assert_eq!(m("nobody").domain(), "");
    }

    #[test]
    fn failures() {
        let r = |method, result: &str| AuthResult {
            method,
            result: result.into(),
            text: String::new(),
        };
        assert!(r(AuthMethod::Spf, "softfail").failed());
        assert!(!r(AuthMethod::Dkim, "softfail").failed());
        assert!(r(AuthMethod::Dmarc, "fail").failed());
        assert!(!r(AuthMethod::Dmarc, "pass").failed());
    }
}
