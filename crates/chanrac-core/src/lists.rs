//! Allow and block lists of senders, brandnames, domains and bank accounts.
//!
//! Lists are loaded from plain files, one entry per line, `#` starting a comment:
//!
//! ```text
//! lists/
//!   allow/senders.txt      0912345678, +84912345678, 5656, or a prefix: 0909*
//!   allow/brandnames.txt   VIETCOMBANK
//!   allow/domains.txt      vietcombank.com.vn (also matches its subdomains)
//!   allow/accounts.txt     0071000123456
//!   block/…                the same four files
//! ```
//!
//! Every file is optional. Entries are normalized on load (numbers to `+84…`, brandnames to
//! upper case, domains to lower-case punycode), so any written form matches.

use std::collections::HashSet;
use std::path::Path;

use crate::error::ConfigError;
use crate::phone::SenderId;

/// A host and each of its parent domains: `a.b.vn`, `b.vn`, `vn`.
pub(crate) fn parent_domains(host: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(host), |h| h.find('.').map(|p| &h[p + 1..]))
}

/// The kinds of list entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// Sender numbers (exact, or prefixes written with a trailing `*`).
    Senders,
    /// Brandnames (alphanumeric sender ids).
    Brandnames,
    /// Domains, matching themselves and their subdomains.
    Domains,
    /// Bank account numbers.
    Accounts,
}

impl ListKind {
    /// All kinds with their file stems.
    pub const ALL: [(ListKind, &'static str); 4] = [
        (ListKind::Senders, "senders"),
        (ListKind::Brandnames, "brandnames"),
        (ListKind::Domains, "domains"),
        (ListKind::Accounts, "accounts"),
    ];

    /// The file stem / API name.
    pub fn name(self) -> &'static str {
        ListKind::ALL.iter().find(|(k, _)| *k == self).map_or("", |(_, n)| n)
    }

    /// Parses a file stem / API name (`senders`, `brandnames`, `domains`, `accounts`).
    pub fn parse(name: &str) -> Option<ListKind> {
        ListKind::ALL.iter().find(|(_, n)| *n == name).map(|&(k, _)| k)
    }
}

/// One side (allow or block) of the lists.
#[derive(Debug, Clone, Default)]
pub struct ListSet {
    senders: HashSet<String>,
    sender_prefixes: HashSet<String>,
    brandnames: HashSet<String>,
    domains: HashSet<String>,
    accounts: HashSet<String>,
}

impl ListSet {
    /// Adds one entry, normalized (see [`normalize_entry`]). Returns an error message for an
    /// entry that cannot be of this kind.
    pub fn add(&mut self, kind: ListKind, entry: &str) -> Result<(), String> {
        let canonical = normalize_entry(kind, entry)?;
        self.set_mut(kind, &canonical).insert(canonical);
        Ok(())
    }

    /// Removes one entry (in any written form). Returns whether it was there.
    pub fn remove(&mut self, kind: ListKind, entry: &str) -> Result<bool, String> {
        let canonical = normalize_entry(kind, entry)?;
        Ok(self.set_mut(kind, &canonical).remove(&canonical))
    }

    /// The set that holds a canonical entry of this kind.
    fn set_mut(&mut self, kind: ListKind, canonical: &str) -> &mut HashSet<String> {
        match kind {
            ListKind::Senders if canonical.ends_with('*') => &mut self.sender_prefixes,
            ListKind::Senders => &mut self.senders,
            ListKind::Brandnames => &mut self.brandnames,
            ListKind::Domains => &mut self.domains,
            ListKind::Accounts => &mut self.accounts,
        }
    }

    /// True when the sender key (see [`SenderId::key`]) is listed, exactly or by prefix.
    pub fn has_sender(&self, key: &str) -> bool {
        if self.senders.contains(key) {
            return true;
        }
        if self.sender_prefixes.is_empty() {
            return false;
        }
        let mut probe = String::with_capacity(key.len() + 1);
        key.char_indices().any(|(i, c)| {
            probe.truncate(i);
            probe.push(c);
            probe.push('*');
            let hit = self.sender_prefixes.contains(&probe);
            probe.pop();
            hit
        })
    }

    /// True when the brandname is listed (case-insensitive).
    pub fn has_brandname(&self, name: &str) -> bool {
        if name.bytes().all(|b| !b.is_ascii_lowercase()) {
            self.brandnames.contains(name)
        } else {
            self.brandnames.contains(&name.to_ascii_uppercase())
        }
    }

    /// True when the host or one of its parent domains is listed.
    pub fn has_domain(&self, host: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        parent_domains(host).any(|d| self.domains.contains(d))
    }

    /// True when the account number is listed.
    pub fn has_account(&self, digits: &str) -> bool {
        self.accounts.contains(digits)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.senders.len()
            + self.sender_prefixes.len()
            + self.brandnames.len()
            + self.domains.len()
            + self.accounts.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The canonical form of a list entry, as lists store and compare it: numbers as `+84…`
/// (prefixes keep their trailing `*`), brandnames in upper case, domains in lower-case
/// punycode without a leading `*.`, accounts as bare digits. An error says why the entry
/// cannot be of this kind.
pub fn normalize_entry(kind: ListKind, entry: &str) -> Result<String, String> {
    let e = entry.trim();
    if e.is_empty() {
        return Err("empty entry".into());
    }
    match kind {
        ListKind::Senders => {
            if let Some(prefix) = e.strip_suffix('*') {
                return Ok(format!("{}*", normalize_prefix(prefix)?));
            }
            match SenderId::parse(e) {
                SenderId::Brandname(_) => Err(format!("{e:?} is not a number (put brandnames in brandnames.txt)")),
                other => Ok(other.key().unwrap_or(e).to_string()),
            }
        }
        ListKind::Brandnames => {
            if e.chars().count() > 11 || !e.chars().all(|c| c.is_ascii_alphanumeric() || " -_.".contains(c)) {
                return Err(format!(
                    "{e:?} is not a brandname (at most 11 of A-Z, 0-9, space, - _ .)"
                ));
            }
            Ok(e.to_ascii_uppercase())
        }
        ListKind::Domains => {
            let d = e.trim_start_matches("*.").trim_end_matches('.');
            let ascii = idna::domain_to_ascii(d).map_err(|_| format!("{e:?} is not a domain name"))?;
            if !ascii.contains('.') {
                return Err(format!("{e:?} is not a domain name"));
            }
            Ok(ascii)
        }
        ListKind::Accounts => {
            let digits: String = e.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
            if !(6..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{e:?} is not an account number (6 to 19 digits)"));
            }
            Ok(digits)
        }
    }
}

fn normalize_prefix(p: &str) -> Result<String, String> {
    let digits: String = p
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let (plus, rest) = match digits.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, digits.as_str()),
    };
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{p:?}* is not a number prefix"));
    }
    Ok(if plus {
        format!("+{rest}")
    } else if let Some(national) = rest.strip_prefix('0').filter(|r| !r.starts_with('0')) {
        format!("+84{national}")
    } else if rest.starts_with("84") && rest.len() > 2 {
        format!("+{rest}")
    } else {
        rest.to_string()
    })
}

/// The allow and block lists.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    /// Entries that short-circuit to allow (senders, brandnames) or lower the score (domains).
    pub allow: ListSet,
    /// Entries that raise the score to blocking.
    pub block: ListSet,
}

impl Lists {
    /// Loads `allow/*.txt` and `block/*.txt` from a directory; missing files are empty lists.
    /// An invalid entry is an error naming the file and line.
    pub fn load_dir(dir: &Path) -> Result<Lists, ConfigError> {
        if !dir.is_dir() {
            return Err(ConfigError::Invalid(format!(
                "list directory {} does not exist",
                dir.display()
            )));
        }
        let mut lists = Lists::default();
        for (side, set) in [("allow", &mut lists.allow), ("block", &mut lists.block)] {
            for (kind, stem) in ListKind::ALL {
                let path = dir.join(side).join(format!("{stem}.txt"));
                if !path.exists() {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
                set.load_text(kind, &path.display().to_string(), &text)?;
            }
        }
        Ok(lists)
    }
}

impl ListSet {
    /// Adds every entry of a list file's text (one per line, `#` comments).
    pub fn load_text(&mut self, kind: ListKind, name: &str, text: &str) -> Result<(), ConfigError> {
        for (n, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            self.add(kind, entry).map_err(|reason| ConfigError::At {
                file: name.to_string(),
                line: n + 1,
                column: 1,
                reason,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_entries() {
        let mut s = ListSet::default();
        s.add(ListKind::Senders, "0912 345 678").unwrap();
        s.add(ListKind::Senders, "0909*").unwrap();
        s.add(ListKind::Brandnames, "Vietcombank").unwrap();
        s.add(ListKind::Domains, "Evil.XYZ").unwrap();
        s.add(ListKind::Accounts, "0071 000 123456").unwrap();
        assert!(s.has_sender("+84912345678"));
        assert!(s.has_sender("+84909111222"));
        assert!(!s.has_sender("+84919111222"));
        assert!(s.has_brandname("VIETCOMBANK"));
        assert!(s.has_brandname("vietcombank"));
        assert!(s.has_domain("login.evil.xyz"));
        assert!(!s.has_domain("notevil.xyz"));
        assert!(s.has_account("0071000123456"));
        assert_eq!(s.remove(ListKind::Senders, "+84 912 345 678"), Ok(true));
        assert!(!s.has_sender("+84912345678"));
        assert_eq!(s.remove(ListKind::Senders, "0909*"), Ok(true));
        assert!(!s.has_sender("+84909111222"));
        assert_eq!(normalize_entry(ListKind::Senders, "0909*").as_deref(), Ok("+84909*"));
    }

    #[test]
    fn rejects_bad_entries_with_line() {
        let mut s = ListSet::default();
        let err = s
            .load_text(ListKind::Accounts, "block/accounts.txt", "# ok\n0071000123456\nabc\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "block/accounts.txt:3:1: \"abc\" is not an account number (6 to 19 digits)"
        );
        assert!(s.add(ListKind::Brandnames, "THIS IS TOO LONG").is_err());
        assert!(s.add(ListKind::Senders, "Vietcombank").is_err());
    }
}

#[cfg(test)]
mod example_dir {
    /// The example lists shipped in `config/lists` load.
    #[test]
    fn example_lists_load() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/lists");
        super::Lists::load_dir(&dir).unwrap();
        assert!(super::Lists::load_dir(&dir.join("missing")).is_err());
    }
}
