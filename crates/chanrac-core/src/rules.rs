//! Keyword and pattern rules: the rule-pack format and its compiled form.
//!
//! A rule pack is a TOML file of `[[rule]]` tables (see `docs/rules.md` for the reference
//! and `rules/default.toml` for the shipped pack). Keywords are folded exactly as message
//! texts are ([`crate::normalize`]), so one keyword `vay tiền` matches `vay tien`, `VAY TIỀN`
//! and `v.a.y t1ền`. All keywords of all rules run in one Aho-Corasick automaton over the
//! folded text; a rule's regex runs only when the rule's keywords already matched, so the
//! cost of regexes is paid only on the few messages that need them.

use std::path::Path;
use std::sync::Arc;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{Anchored, MatchKind};

use crate::automaton::KeywordDfa;
use serde::Deserialize;
use toml::Spanned;

use crate::error::ConfigError;
use crate::normalize::Normalized;
use crate::verdict::Category;

/// The default rule pack, compiled into the binary.
pub const DEFAULT_PACK: &str = include_str!("../rules/default.toml");

/// The name the default pack reports in errors.
pub const DEFAULT_PACK_NAME: &str = "<built-in rules/default.toml>";

/// One rule pack as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePack {
    /// Extra cue words for extraction and URL checks. Optional; the built-in pack has them.
    #[serde(default)]
    pub cues: Option<Cues>,
    /// The rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleDef>,
}

/// Word lists that extraction and the URL checks use, kept in the pack so that they can be
/// updated without a new release.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Cues {
    /// Words that announce a bank account number (`stk`, `số tài khoản`, bank names).
    #[serde(default)]
    pub bank: Vec<String>,
    /// URL shortener domains (`bit.ly`).
    #[serde(default)]
    pub shorteners: Vec<String>,
    /// Top-level domains mostly used for throw-away sites (`xyz`, `top`).
    #[serde(default)]
    pub suspicious_tlds: Vec<String>,
    /// Brand tokens that a look-alike domain borrows (`vietcombank`, `vcb`, `momo`).
    #[serde(default)]
    pub brands: Vec<String>,
    /// The brands' real registrable domains, which never count as look-alikes.
    #[serde(default)]
    pub official_domains: Vec<String>,
    /// Words that give the recipient a way to refuse ads (`tu choi`, `huy`, `STOP`).
    #[serde(default)]
    pub ad_optout: Vec<String>,
    /// Free hosting and form services (`sites.google.com`, `web.app`): a host equal to one
    /// or under one gets `URL_FREE_HOSTING`.
    #[serde(default)]
    pub free_hosting: Vec<String>,
    /// Domain suffixes whose registries verify the registrant (`vn`): a host under them
    /// that contains a brand's name is the brand's own site more often than a look-alike, so
    /// `URL_BRAND_LOOKALIKE` does not fire for it.
    #[serde(default)]
    pub trusted_suffixes: Vec<String>,
    /// Names of authorities that scammers sign as (`Bộ Công an`, `Cục Thuế`): an e-mail whose
    /// display name holds one (or a brand) but whose address is not on an official domain
    /// gets `EMAIL_DISPLAY_NAME_BRAND`. Matched on the folded name with spaces removed.
    #[serde(default)]
    pub authorities: Vec<String>,
}

/// One rule as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable SCREAMING_SNAKE id, used as the signal name (`VI_LOAN_FAST`).
    pub id: Spanned<String>,
    /// Topic: one of [`Topic`]'s names (`gambling`, `loan`, `fake_bank`, …).
    pub category: Spanned<String>,
    /// Language of the keywords: `vi`, `en` or `any`. Informational.
    #[serde(default = "any_lang")]
    pub lang: String,
    /// Score added when the rule fires. Negative weights make legitimate-message rules.
    pub weight: f32,
    /// What the rule catches, for analysts.
    #[serde(default)]
    pub description: String,
    /// Phrases, any of which may fire the rule; matched as whole words on the folded text.
    /// A phrase ending in `*` also matches as a word prefix (`casino*` matches `casinos`).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// How many distinct keywords must match (default 1).
    #[serde(default = "one")]
    pub min_matches: usize,
    /// A second group of phrases of which at least one must also match (AND).
    #[serde(default)]
    pub requires: Vec<String>,
    /// Phrases that, when present, stop the rule from firing (legitimate context).
    #[serde(default)]
    pub unless: Vec<String>,
    /// A regular expression over the folded text that must also match. It runs only after
    /// the keywords matched, so a rule with a regex must have keywords.
    #[serde(default)]
    pub regex: Option<Spanned<String>>,
    /// What extraction must also have found in the message for the rule to fire: any of
    /// `url`, `phone`, `account`, `amount` (all that are listed must be present). This is how
    /// a rule says "a bank's name *and a link*" without a regex.
    #[serde(default)]
    pub needs: Vec<Spanned<String>>,
    /// Real-looking texts this rule must fire on (checked by the test suite).
    #[serde(default)]
    pub fires: Vec<String>,
    /// Legitimate look-alikes this rule must not fire on (checked by the test suite).
    #[serde(default)]
    pub spares: Vec<String>,
}

fn any_lang() -> String {
    "any".to_string()
}
fn one() -> usize {
    1
}

/// Fine-grained topics of rules and their verdict category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Betting, casinos, football odds.
    Gambling,
    /// Illegal lottery (`lô đề`) and number predictions.
    Lottery,
    /// Fortune telling, spells.
    Fortune,
    /// Pornography, sex services.
    Porn,
    /// Illegal and predatory loans.
    Loan,
    /// Trading of SIMs and phone numbers.
    SimTrading,
    /// Other unsolicited advertising.
    Advertising,
    /// Impersonated banks and e-wallets.
    FakeBank,
    /// Impersonated police, courts, prosecutors, tax and other authorities.
    FakeAuthority,
    /// Impersonated mobile operators (SIM lock, subscriber "standardisation").
    FakeOperator,
    /// Fake prizes, gifts and lucky draws.
    Prize,
    /// Investment, forex and crypto schemes.
    Investment,
    /// Job and task scams (`việc nhẹ lương cao`).
    Job,
    /// Links that ask for log-in or account details.
    Phishing,
    /// Requests for one-time passwords.
    OtpTheft,
    /// Delivery and parcel scams.
    Delivery,
    /// Illegal goods and services: forged documents and degrees, drugs, weapons.
    Illegal,
    /// Threats and harassment: fake debt collection, blackmail.
    Extortion,
    /// Moving the conversation to a private channel (Zalo, Telegram) where the scam happens.
    Lure,
    /// Signs of a legitimate message (negative weights).
    Legit,
    /// Keywords mined from reported or labeled spam (`chanrac keywords`), approved by an analyst.
    MinedSpam,
    /// Keywords mined from reported or labeled scams (`chanrac keywords`), approved by an analyst.
    MinedScam,
}

impl Topic {
    /// All topics with their names in rule packs.
    pub const ALL: &'static [(&'static str, Topic)] = &[
        ("gambling", Topic::Gambling),
        ("lottery", Topic::Lottery),
        ("fortune", Topic::Fortune),
        ("porn", Topic::Porn),
        ("loan", Topic::Loan),
        ("sim_trading", Topic::SimTrading),
        ("advertising", Topic::Advertising),
        ("fake_bank", Topic::FakeBank),
        ("fake_authority", Topic::FakeAuthority),
        ("fake_operator", Topic::FakeOperator),
        ("prize", Topic::Prize),
        ("investment", Topic::Investment),
        ("job", Topic::Job),
        ("phishing", Topic::Phishing),
        ("otp_theft", Topic::OtpTheft),
        ("delivery", Topic::Delivery),
        ("illegal", Topic::Illegal),
        ("extortion", Topic::Extortion),
        ("lure", Topic::Lure),
        ("legit", Topic::Legit),
        ("mined_spam", Topic::MinedSpam),
        ("mined_scam", Topic::MinedScam),
    ];

    /// Parses a topic name.
    pub fn parse(name: &str) -> Option<Topic> {
        Topic::ALL.iter().find(|(n, _)| *n == name).map(|&(_, t)| t)
    }

    /// The verdict category a topic's signals count toward.
    pub fn category(self) -> Category {
        match self {
            Topic::Gambling
            | Topic::Lottery
            | Topic::Fortune
            | Topic::Porn
            | Topic::Loan
            | Topic::SimTrading
            | Topic::Illegal
            | Topic::Advertising
            | Topic::MinedSpam => Category::Spam,
            Topic::Legit => Category::Ham,
            _ => Category::Scam,
        }
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule id, which is also its signal name.
    pub id: Arc<str>,
    /// The topic.
    pub topic: Topic,
    /// Default weight (the policy may override it by id).
    pub weight: f32,
    /// Description for analysts.
    pub description: String,
    /// Language tag.
    pub lang: String,
    min_matches: usize,
    needs_requires: bool,
    /// Findings the message must have ([`Needs`] bits).
    needs: u8,
    regex: Option<regex::Regex>,
    /// Texts it must fire on (tests).
    pub fires: Vec<String>,
    /// Texts it must spare (tests).
    pub spares: Vec<String>,
    /// The phrases as written (keywords, requires, unless), each with whether it has a
    /// Vietnamese marked letter, for the diacritics check.
    written: [Vec<(Box<str>, bool)>; 3],
}

/// Bits of what extraction found in a message, for rules' `needs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs(pub u8);

impl Needs {
    /// A link.
    pub const URL: u8 = 1;
    /// A phone number.
    pub const PHONE: u8 = 2;
    /// A bank account.
    pub const ACCOUNT: u8 = 4;
    /// A money amount.
    pub const AMOUNT: u8 = 8;
    /// The names used in rule packs.
    pub const NAMES: [(&'static str, u8); 4] = [
        ("url", Self::URL),
        ("phone", Self::PHONE),
        ("account", Self::ACCOUNT),
        ("amount", Self::AMOUNT),
    ];

    /// True when every bit of `required` is present.
    pub fn has(self, required: u8) -> bool {
        self.0 & required == required
    }
}

/// What a pattern in the automaton stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatternRole {
    /// Keyword `kw` of rule `rule`, in group `group`.
    Rule { rule: u32, group: Group, kw: u32 },
    /// A bank cue word for extraction.
    BankCue,
    /// An ad opt-out phrase.
    OptOut,
}

/// Which list of a rule a keyword came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    Keywords,
    Requires,
    Unless,
}

/// A keyword hit in the folded text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub role: PatternRole,
    pub start: u32,
    pub end: u32,
}

/// A compiled set of rule packs: one automaton over every keyword and cue.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// The automaton's patterns, by id.
    patterns: Vec<Pattern>,
    /// The automaton of every pattern, walked by hand in [`RuleSet::scan`].
    automaton: Keywords,
    cues: Cues,
}

/// One pattern of the automaton: a folded keyword or cue.
#[derive(Debug, Clone)]
struct Pattern {
    /// What it stands for (several rules may share a keyword).
    roles: Vec<PatternRole>,
    /// It matches as a word prefix (`casino*`, run-together phrases).
    prefix: bool,
    /// Its length in bytes.
    len: usize,
}

/// The keyword automaton: a dense DFA when its table fits in [`DFA_MAX_BYTES`] (the
/// built-in pack's takes about 1.6 MB), else a contiguous NFA, several times smaller and
/// slower (a lookup of the state's kind and failure transitions for every byte).
#[derive(Debug, Clone)]
enum Keywords {
    Dfa(KeywordDfa),
    Nfa {
        nfa: aho_corasick::nfa::contiguous::NFA,
        /// Its unanchored start state.
        start: StateID,
    },
}

/// The largest keyword DFA the rule set builds (about 50,000 states, some 4,000 keywords
/// of a dozen letters); larger keyword lists get the NFA.
const DFA_MAX_BYTES: usize = 8 << 20;

/// Where a rule fired and on what.
#[derive(Debug, Clone)]
pub(crate) struct RuleFire {
    pub rule: u32,
    /// Folded-text spans of the matched keywords, in order, deduplicated by keyword.
    pub spans: Vec<(u32, u32)>,
}

impl RuleSet {
    /// Parses and compiles packs given as (name, TOML text). Errors name the pack, the line
    /// and the reason.
    pub fn from_sources<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ConfigError> {
        let mut defs: Vec<(String, String, RuleDef)> = Vec::new();
        let mut cues = Cues::default();
        for (name, text) in sources {
            let pack: RulePack = toml::from_str(text).map_err(|e| ConfigError::parse(name, text, &e))?;
            if let Some(c) = pack.cues {
                cues.bank.extend(c.bank);
                cues.shorteners.extend(c.shorteners);
                cues.suspicious_tlds.extend(c.suspicious_tlds);
                cues.brands.extend(c.brands);
                cues.official_domains.extend(c.official_domains);
                cues.ad_optout.extend(c.ad_optout);
                cues.trusted_suffixes.extend(c.trusted_suffixes);
                cues.free_hosting.extend(c.free_hosting);
                cues.authorities.extend(c.authorities);
            }
            for r in pack.rules {
                defs.push((name.to_string(), text.to_string(), r));
            }
        }
        Self::compile(defs, cues, DFA_MAX_BYTES)
    }

    /// The built-in default pack.
    pub fn default_pack() -> Result<Self, ConfigError> {
        Self::from_sources([(DEFAULT_PACK_NAME, DEFAULT_PACK)])
    }

    /// Loads packs from files; `include_default` puts the built-in pack first.
    pub fn load(paths: &[impl AsRef<Path>], include_default: bool) -> Result<Self, ConfigError> {
        Self::load_with(paths, include_default, &[])
    }

    /// Like [`RuleSet::load`], with more packs given as (name, TOML text) after the files
    /// (`chanrac keywords` measures its mined pack this way).
    pub fn load_with(
        paths: &[impl AsRef<Path>],
        include_default: bool,
        extra: &[(&str, &str)],
    ) -> Result<Self, ConfigError> {
        let mut texts = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
            texts.push((p.display().to_string(), text));
        }
        let mut sources: Vec<(&str, &str)> = Vec::new();
        if include_default {
            sources.push((DEFAULT_PACK_NAME, DEFAULT_PACK));
        }
        sources.extend(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        sources.extend_from_slice(extra);
        Self::from_sources(sources)
    }

    fn compile(defs: Vec<(String, String, RuleDef)>, cues: Cues, dfa_max_bytes: usize) -> Result<Self, ConfigError> {
        let mut rules = Vec::with_capacity(defs.len());
        let mut pattern_index: std::collections::HashMap<(String, bool), usize> = Default::default();
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut fold = Normalized::default();
        let mut add = |raw: &str, role: PatternRole, texts: &mut Vec<String>, fold: &mut Normalized| -> bool {
            let (raw, prefix) = match raw.strip_suffix('*') {
                Some(r) => (r, true),
                None => (raw, false),
            };
            fold.fold(raw);
            let folded = fold.text().to_string();
            if folded.is_empty() {
                return false;
            }
            // Spammers also write multi-word phrases run together (`vaytien`), which matches
            // as a prefix too (`vaytiennhanh`); letter by letter with spaces (`V A Y T I E N`)
            // folds to the same run-together word.
            let compact: String = folded.chars().filter(|c| *c != ' ').collect();
            let mut variants = vec![(folded.clone(), prefix)];
            if compact != folded && compact.len() >= 6 {
                variants.push((compact.clone(), true));
            }
            for key in variants {
                let idx = *pattern_index.entry(key.clone()).or_insert_with(|| {
                    texts.push(key.0.clone());
                    patterns.push(Pattern {
                        roles: Vec::new(),
                        prefix: key.1,
                        len: key.0.len(),
                    });
                    patterns.len() - 1
                });
                if !patterns[idx].roles.contains(&role) {
                    patterns[idx].roles.push(role);
                }
            }
            true
        };

        let mut seen_ids = std::collections::HashSet::new();
        for (ri, (pack, text, def)) in defs.into_iter().enumerate() {
            let at = |span: std::ops::Range<usize>, msg: String| ConfigError::at(&pack, &text, span.start, msg);
            let id = def.id.get_ref().clone();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(at(
                    def.id.span(),
                    format!("rule id {id:?} must be SCREAMING_SNAKE_CASE"),
                ));
            }
            if crate::signal::builtin(&id).is_some() {
                return Err(at(
                    def.id.span(),
                    format!("rule id {id:?} is the name of a built-in signal"),
                ));
            }
            if !seen_ids.insert(id.clone()) {
                return Err(at(def.id.span(), format!("rule id {id:?} is defined twice")));
            }
            let topic = Topic::parse(def.category.get_ref()).ok_or_else(|| {
                let names: Vec<&str> = Topic::ALL.iter().map(|(n, _)| *n).collect();
                at(
                    def.category.span(),
                    format!(
                        "unknown category {:?}; expected one of {}",
                        def.category.get_ref(),
                        names.join(", ")
                    ),
                )
            })?;
            if def.keywords.is_empty() {
                return Err(at(def.id.span(), format!("rule {id} has no keywords")));
            }
            if def.min_matches == 0 || def.min_matches > def.keywords.len() {
                return Err(at(
                    def.id.span(),
                    format!("rule {id}: min_matches must be between 1 and the number of keywords"),
                ));
            }
            if !def.weight.is_finite() {
                return Err(at(def.id.span(), format!("rule {id}: weight must be a finite number")));
            }
            let regex = match &def.regex {
                Some(r) => Some(
                    // The folded text is almost all ASCII: ASCII word boundaries let the
                    // lazy DFA run instead of the much slower PikeVM that Unicode `\b` needs.
                    regex::RegexBuilder::new(&ascii_word_boundaries(r.get_ref()))
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| at(r.span(), format!("rule {id}: invalid regex: {e}")))?,
                ),
                None => None,
            };
            let mut needs = 0u8;
            for n in &def.needs {
                let bit = Needs::NAMES
                    .iter()
                    .find(|(name, _)| name == n.get_ref())
                    .map(|&(_, b)| b)
                    .ok_or_else(|| {
                        at(
                            n.span(),
                            format!(
                                "rule {id}: unknown need {:?}; expected url, phone, account or amount",
                                n.get_ref()
                            ),
                        )
                    })?;
                needs |= bit;
            }
            let rule_no = ri as u32;
            for (group, list) in [
                (Group::Keywords, &def.keywords),
                (Group::Requires, &def.requires),
                (Group::Unless, &def.unless),
            ] {
                for (k, kw) in list.iter().enumerate() {
                    let role = PatternRole::Rule {
                        rule: rule_no,
                        group,
                        kw: k as u32,
                    };
                    if !add(kw, role, &mut texts, &mut fold) {
                        return Err(at(
                            def.id.span(),
                            format!("rule {id}: keyword {kw:?} is empty after folding"),
                        ));
                    }
                }
            }
            rules.push(Rule {
                id: Arc::from(id.as_str()),
                topic,
                weight: def.weight,
                description: def.description,
                lang: def.lang,
                min_matches: def.min_matches,
                needs_requires: !def.requires.is_empty(),
                needs,
                regex,
                fires: def.fires,
                spares: def.spares,
                written: [&def.keywords, &def.requires, &def.unless].map(|list| {
                    list.iter()
                        .map(|k| {
                            let k = k.strip_suffix('*').unwrap_or(k);
                            (Box::from(k), k.chars().any(is_marked_latin))
                        })
                        .collect()
                }),
            });
        }
        for cue in &cues.bank {
            add(cue, PatternRole::BankCue, &mut texts, &mut fold);
        }
        for cue in &cues.ad_optout {
            add(cue, PatternRole::OptOut, &mut texts, &mut fold);
        }
        let automaton = Self::keyword_automaton(&texts, dfa_max_bytes)?;
        Ok(RuleSet {
            rules,
            patterns,
            automaton,
            cues,
        })
    }

    /// The automaton of the folded keywords: the DFA when it fits in `dfa_max_bytes`.
    fn keyword_automaton(texts: &[String], dfa_max_bytes: usize) -> Result<Keywords, ConfigError> {
        if let Some(dfa) = KeywordDfa::new(texts, dfa_max_bytes) {
            return Ok(Keywords::Dfa(dfa));
        }
        let nfa = aho_corasick::nfa::contiguous::Builder::new()
            .match_kind(MatchKind::Standard)
            .build(texts)
            .map_err(|e| ConfigError::Invalid(format!("keyword automaton: {e}")))?;
        let start = nfa
            .start_state(Anchored::No)
            .map_err(|e| ConfigError::Invalid(format!("keyword automaton: {e}")))?;
        Ok(Keywords::Nfa { nfa, start })
    }

    /// The compiled rules, in pack order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The keyword automaton's size: patterns and heap bytes.
    pub fn automaton_size(&self) -> (usize, usize) {
        let bytes = match &self.automaton {
            Keywords::Dfa(dfa) => dfa.memory_usage(),
            Keywords::Nfa { nfa, .. } => nfa.memory_usage(),
        };
        (self.patterns.len(), bytes)
    }

    /// The cue lists.
    pub fn cues(&self) -> &Cues {
        &self.cues
    }

    /// Finds every keyword and cue in the folded text, whole words only (prefix patterns
    /// need a word boundary at the start only).
    pub(crate) fn scan(&self, folded: &str, hits: &mut Vec<Hit>) {
        // One pass of the automaton over the bytes: with standard match semantics every state
        // lists all the patterns that end at this position, so this finds every
        // (overlapping) keyword, like `find_overlapping_iter` but without its per-match
        // restart overhead.
        let bytes = folded.as_bytes();
        let mut found = |pid: usize, e: usize, len: usize| {
            let s = e - len;
            let Pattern { roles, prefix, .. } = &self.patterns[pid];
            if s > 0 && is_word(bytes[s - 1]) && is_word(bytes[s]) {
                return;
            }
            if !*prefix && e < bytes.len() && is_word(bytes[e]) && is_word(bytes[e - 1]) {
                return;
            }
            for &role in roles {
                hits.push(Hit {
                    role,
                    start: s as u32,
                    end: e as u32,
                });
            }
        };
        match &self.automaton {
            Keywords::Dfa(dfa) => dfa.for_each_match(bytes, |pid, e| found(pid, e, self.patterns[pid].len)),
            Keywords::Nfa { nfa, start } => {
                let mut sid = *start;
                for (i, &b) in bytes.iter().enumerate() {
                    sid = nfa.next_state(Anchored::No, sid, b);
                    if !nfa.is_special(sid) || !nfa.is_match(sid) {
                        continue;
                    }
                    for k in 0..nfa.match_len(sid) {
                        let pid = nfa.match_pattern(sid, k);
                        found(pid.as_usize(), i + 1, nfa.pattern_len(pid));
                    }
                }
            }
        }
    }

    /// The keyword of a hit as the rule pack wrote it, when it has a Vietnamese marked letter
    /// (only those hits need [`RuleSet::diacritics_agree`]).
    pub(crate) fn marked_keyword(&self, role: PatternRole) -> Option<&str> {
        let PatternRole::Rule { rule, group, kw } = role else {
            return None;
        };
        let (written, marked) = self
            .rules
            .get(rule as usize)
            .and_then(|r| r.written[group as usize].get(kw as usize))?;
        marked.then_some(&**written)
    }

    /// False when a keyword hit contradicts the keyword's diacritics: the original text wrote
    /// a marked Vietnamese letter where the keyword (`written`, from
    /// [`RuleSet::marked_keyword`]) has a different marked letter (`danh để` is not `đánh
    /// đề`, `tại` is not `tải`). A letter written without marks agrees with any mark, so
    /// diacritic-free text still matches; when the letters cannot be paired one to one
    /// (obfuscation, ligatures) the hit is kept.
    pub(crate) fn diacritics_agree(written: &str, original: &str) -> bool {
        if original.is_ascii() {
            return true;
        }
        let mut letters = written.chars().filter(|&c| is_letterish(c));
        let mut agree = true;
        for o in original.chars().filter(|&c| is_letterish(c)) {
            let Some(k) = letters.next() else {
                return true;
            };
            if is_marked_latin(o) && is_marked_latin(k) && vietnamese_lower(o) != vietnamese_lower(k) {
                agree = false;
            }
        }
        // Letters that cannot be paired one to one prove nothing.
        agree || letters.next().is_some()
    }

    /// Evaluates the rules on the hits of one message, given what extraction found in it.
    /// `hits` is reordered.
    pub(crate) fn evaluate(&self, folded: &str, found: Needs, hits: &mut [Hit], out: &mut Vec<RuleFire>) {
        hits.sort_unstable_by_key(|h| match h.role {
            PatternRole::Rule { rule, group, kw } => (0, rule, group as u32, kw, h.start),
            _ => (1, 0, 0, 0, h.start),
        });
        let mut i = 0;
        while i < hits.len() {
            let PatternRole::Rule { rule, .. } = hits[i].role else {
                break;
            };
            let mut j = i;
            let mut distinct = 0usize;
            let mut requires = false;
            let mut unless = false;
            let mut last_kw = u32::MAX;
            while j < hits.len() {
                match hits[j].role {
                    PatternRole::Rule { rule: r, group, kw } if r == rule => {
                        match group {
                            Group::Keywords if kw != last_kw => {
                                distinct += 1;
                                last_kw = kw;
                            }
                            Group::Requires => requires = true,
                            Group::Unless => unless = true,
                            _ => {}
                        }
                        j += 1;
                    }
                    _ => break,
                }
            }
            let r = &self.rules[rule as usize];
            let fired = distinct >= r.min_matches
                && (!r.needs_requires || requires)
                && !unless
                && found.has(r.needs)
                && r.regex.as_ref().is_none_or(|re| re.is_match(folded));
            if fired {
                let mut spans: Vec<(u32, u32)> = Vec::new();
                let mut last = u32::MAX;
                for h in &hits[i..j] {
                    if let PatternRole::Rule { group, kw, .. } = h.role {
                        if group != Group::Unless && kw != last {
                            spans.push((h.start, h.end));
                        }
                        if group == Group::Keywords {
                            last = kw;
                        }
                    }
                }
                spans.sort_unstable();
                spans.dedup();
                out.push(RuleFire { rule, spans });
            }
            i = j;
        }
    }
}

/// Rewrites `\b` and `\B` in a rule's regex as their ASCII forms (`(?-u:\b)`), leaving
/// escaped backslashes alone.
fn ascii_word_boundaries(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 16);
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(b @ ('b' | 'B')) => {
                out.push_str("(?-u:\\");
                out.push(b);
                out.push(')');
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A character that stands for a letter of a keyword: ASCII letters and digits, the symbols
/// spammers use for letters, and any character that folds to a Latin letter (cheap table
/// lookups for Vietnamese, no Unicode property search).
fn is_letterish(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || matches!(c, '@' | '$' | '!' | '|')
    } else {
        crate::normalize::skeleton_char(c).is_some()
    }
}

/// A letter of the Vietnamese alphabet that carries a diacritic, in either case. Other
/// marked letters (`ä`, `å`, `ü`) are not Vietnamese: spammers use them to disguise words,
/// so they agree with anything.
fn is_marked_latin(c: char) -> bool {
    let l = vietnamese_lower(c) as u32;
    matches!(
        l,
        0xE0..=0xE3 | 0xE8..=0xEA | 0xEC | 0xED | 0xF2..=0xF5 | 0xF9 | 0xFA | 0xFD | 0x103 | 0x111 | 0x129 | 0x169
            | 0x1A1 | 0x1B0
    ) || ((0x1EA1..=0x1EF9).contains(&l) && l % 2 == 1)
}

/// The lower case of a Vietnamese letter, by table arithmetic (`char::to_lowercase` searches
/// Unicode tables; this runs for every marked letter of every keyword hit). Other characters
/// are returned as they are.
fn vietnamese_lower(c: char) -> char {
    let u = c as u32;
    let l = match u {
        0xC0..=0xDE if u != 0xD7 => u + 0x20,
        0x100..=0x17F if u.is_multiple_of(2) => u + 1,
        0x1A0 => 0x1A1,
        0x1AF => 0x1B0,
        0x1EA0..=0x1EF9 if u.is_multiple_of(2) => u + 1,
        _ => u,
    };
    char::from_u32(l).unwrap_or(c)
}

/// True for bytes that belong to words in the folded text: ASCII letters and digits, and
/// every byte of a non-ASCII character (other scripts are kept as they are).
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in pack with the NFA in place of the DFA.
    fn default_pack_nfa() -> RuleSet {
        let pack: RulePack = toml::from_str(DEFAULT_PACK).unwrap();
        let defs = pack
            .rules
            .into_iter()
            .map(|r| (DEFAULT_PACK_NAME.to_string(), DEFAULT_PACK.to_string(), r))
            .collect();
        RuleSet::compile(defs, pack.cues.unwrap(), 0).unwrap()
    }

    #[test]
    fn the_dfa_and_the_nfa_find_the_same_hits() {
        let dfa = RuleSet::default_pack().unwrap();
        let nfa = default_pack_nfa();
        assert!(matches!(dfa.automaton, Keywords::Dfa(_)));
        assert!(matches!(nfa.automaton, Keywords::Nfa { .. }));
        let mut texts: Vec<String> = dfa
            .rules()
            .iter()
            .flat_map(|r| r.fires.iter().chain(&r.spares))
            .cloned()
            .collect();
        texts.extend(
            [
                "V.A.Y T1ỀN nhanh, lãi 0%, giải ngân 5 phút, LH 0987.654.321",
                "vaytiennhanh casinos STK 0071000123456 Vietcombank, tu choi QC soan TC gui 9xxx",
                "",
                "a",
                "%%% $$$ +84 @@",
            ]
            .map(String::from),
        );
        let hits = |rules: &RuleSet, folded: &str| {
            let mut hits = Vec::new();
            rules.scan(folded, &mut hits);
            let mut hits: Vec<String> = hits.iter().map(|h| format!("{h:?}")).collect();
            hits.sort();
            hits
        };
        let mut found = 0;
        for t in &texts {
            let folded = Normalized::new(t);
            let want = hits(&nfa, folded.text());
            found += want.len();
            assert_eq!(hits(&dfa, folded.text()), want, "{t:?}");
        }
        assert!(found > texts.len(), "the texts should hit keywords: {found}");
    }

    #[test]
    fn vietnamese_marks_are_recognized_in_both_cases() {
        const MARKED: &str = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ";
        for c in MARKED.chars() {
            let upper: String = c.to_uppercase().collect();
            let u = upper.chars().next().unwrap();
            assert!(is_marked_latin(c) && is_marked_latin(u), "{c} {u}");
            assert_eq!(vietnamese_lower(u), c, "{u}");
            assert_eq!(vietnamese_lower(c), c);
        }
        for c in "aeiouyAEd×äåüñÄø".chars() {
            assert!(!is_marked_latin(c), "{c}");
        }
    }
}
