//! The e-mail detector: signals from [`EmailFacts`] (display name, Reply-To, links,
//! authentication results, reading problems). It runs only for messages that carry facts.

use super::{Engine, Scratch, join};
use crate::email::{AuthMethod, EmailFacts, ProblemKind};
use crate::extract::{Findings, extract_urls};
use crate::lists::parent_domains;
use crate::normalize::Normalized;
use crate::signal::Builtin;

/// At most this many items are quoted in one signal's evidence.
const MAX_QUOTED: usize = 3;

/// Longer targets are cut in the evidence.
const MAX_HREF_QUOTE: usize = 160;

impl Engine {
    pub(super) fn email_signals(&self, facts: &EmailFacts, s: &mut Scratch) {
        let from_domain = facts.from.as_ref().map(|f| f.domain()).unwrap_or_default();
        let from_registrable = registrable(&from_domain);

        if let Some(from) = &facts.from {
            if !from_domain.is_empty() && self.lists.block.has_domain(&from_domain) {
                self.push(
                    s,
                    Builtin::DOMAIN_BLOCKLISTED,
                    format!("sender address {} (domain {from_registrable})", from.address),
                );
            }
            if let Some(name) = from.name.as_deref()
                && let Some(brand) = self.impersonated(name)
                && !self.official_sender(&from_domain)
            {
                self.push(
                    s,
                    Builtin::EMAIL_DISPLAY_NAME_BRAND,
                    format!("\"{name}\" <{}> names {brand}", from.address),
                );
            }
        }

        if !from_registrable.is_empty()
            && let Some(r) = facts
                .reply_to
                .iter()
                .find(|r| !r.domain().is_empty() && registrable(&r.domain()) != from_registrable)
        {
            self.push(
                s,
                Builtin::EMAIL_REPLY_TO_MISMATCH,
                format!("From {from_registrable}, Reply-To {}", r.address),
            );
        }

        let mut mismatched = String::new();
        let mut n = 0;
        let mut found = Findings::default();
        for link in &facts.links {
            if let Some((shown, target)) = link_mismatch(&link.text, &link.href, &mut found) {
                n += 1;
                if n <= MAX_QUOTED {
                    join(
                        &mut mismatched,
                        &format!("shows {shown}, goes to {}", cut(target, MAX_HREF_QUOTE)),
                    );
                }
            }
        }
        if n > 0 {
            if n > MAX_QUOTED {
                mismatched.push_str(&format!(" (+{} more)", n - MAX_QUOTED));
            }
            self.push(s, Builtin::EMAIL_LINK_MISMATCH, mismatched);
        }

        for (method, b) in [
            (AuthMethod::Spf, Builtin::EMAIL_SPF_FAIL),
            (AuthMethod::Dkim, Builtin::EMAIL_DKIM_FAIL),
            (AuthMethod::Dmarc, Builtin::EMAIL_DMARC_FAIL),
        ] {
            if let Some(r) = facts.auth.iter().find(|r| r.method == method && r.failed()) {
                self.push(s, b, r.text.clone());
            }
        }

        for (kind, b) in [
            (ProblemKind::Bomb, Builtin::EMAIL_MIME_BOMB),
            (ProblemKind::BadEncoding, Builtin::EMAIL_BAD_ENCODING),
            (ProblemKind::Truncated, Builtin::EMAIL_TRUNCATED),
        ] {
            let mut evidence = String::new();
            let mut n = 0;
            for p in facts.problems.iter().filter(|p| p.kind == kind) {
                n += 1;
                if n <= MAX_QUOTED {
                    join(&mut evidence, &p.detail);
                }
            }
            if n > 0 {
                if n > MAX_QUOTED {
                    evidence.push_str(&format!(" (+{} more)", n - MAX_QUOTED));
                }
                self.push(s, b, evidence);
            }
        }
    }

    /// The brand or authority a display name names, if any: a word of the folded name is a
    /// brand (`VCB`), or a few words joined are one (`Vietcom Bank`, `Bộ Công an`), or a
    /// word starts with a long brand (`VietcombankVN`).
    fn impersonated(&self, name: &str) -> Option<String> {
        let folded = Normalized::new(name);
        let words: Vec<&str> = folded
            .text()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let mut joined = String::new();
        for i in 0..words.len() {
            joined.clear();
            for w in &words[i..(i + 4).min(words.len())] {
                joined.push_str(w);
                if self.brands.contains(joined.as_str()) || self.authorities.contains(&joined) {
                    return Some(joined.clone());
                }
            }
            if let Some(b) = self
                .long_brands
                .iter()
                .find(|b| b.len() >= 6 && words[i].len() > b.len() && words[i].starts_with(b.as_str()))
            {
                return Some(b.clone());
            }
        }
        None
    }

    /// True when mail from this domain may carry a brand's or an authority's name: an
    /// official domain (or under one, such as `gov.vn`), an allowlisted one, or one under a
    /// trusted suffix.
    fn official_sender(&self, domain: &str) -> bool {
        !domain.is_empty()
            && (parent_domains(domain).any(|d| self.official.contains(d))
                || self.lists.allow.has_domain(domain)
                || self.under_trusted_suffix(&registrable(domain)))
    }
}

/// The registrable domain of a host (`mail.vcb.com.vn` → `vcb.com.vn`), or the host itself.
fn registrable(host: &str) -> String {
    psl::domain_str(host).unwrap_or(host).to_string()
}

/// When a link's visible text is a web address on another domain than its target: the
/// domain shown and the target.
fn link_mismatch<'a>(text: &str, href: &'a str, found: &mut Findings) -> Option<(String, &'a str)> {
    let href = href.trim();
    let lower = href.get(..8).unwrap_or(href).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.")) {
        return None;
    }
    // An e-mail address shown as the text of a web link is not a web address.
    if text.contains('@') {
        return None;
    }
    found.clear();
    extract_urls(text, found);
    if found.urls.is_empty() {
        return None;
    }
    let shown: Vec<String> = found.urls.iter().map(|u| u.domain.clone()).collect();
    found.clear();
    extract_urls(href, found);
    let target = found.urls.first()?;
    if shown.contains(&target.domain) {
        return None;
    }
    Some((shown.join(", "), href))
}

/// At most `max` bytes of a text, on a character boundary, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
