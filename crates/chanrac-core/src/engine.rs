//! The engine: one message in, one verdict out.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::error::ConfigError;
use crate::extract::{Findings, extract_numbers, extract_urls};
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::lists::Lists;
use crate::message::{Message, Origin, vietnam_hour};
use crate::normalize::Normalized;
use crate::phone::{PhoneKind, SenderId};
use crate::policy::Policy;
use crate::rules::{Hit, PatternRole, RuleFire, RuleSet};
use crate::signal::{BUILTIN, Builtin};
use crate::state::{StateDetector, StateInput, StatePlan, StateSignal};
use crate::velocity::Velocity;
use crate::verdict::{Action, Category, Reason, Verdict};

/// The compiled filter: rules, lists, policy and detectors. Build once, share as `Arc`,
/// swap whole on reload.
#[derive(Debug)]
pub struct Engine {
    rules: RuleSet,
    rule_weights: Vec<f32>,
    lists: Lists,
    policy: Policy,
    /// Built-in signals: id, weight after the policy, category.
    builtin: Vec<(Arc<str>, f32, Category)>,
    shorteners: HashSet<String>,
    suspicious_tlds: HashSet<String>,
    brands: HashSet<String>,
    long_brands: Vec<String>,
    official: HashSet<String>,
    ad_labels: Vec<String>,
    detectors: Vec<Arc<dyn StateDetector>>,
    detector_weights: Vec<Vec<(Arc<str>, f32, Category)>>,
}

/// Builds an [`Engine`].
#[derive(Debug, Default)]
pub struct EngineBuilder {
    rules: Option<RuleSet>,
    lists: Lists,
    policy: Policy,
    detectors: Vec<Arc<dyn StateDetector>>,
    velocity: bool,
}

impl EngineBuilder {
    /// The rules (default: the built-in pack).
    pub fn rules(mut self, rules: RuleSet) -> Self {
        self.rules = Some(rules);
        self
    }

    /// The allow and block lists (default: empty).
    pub fn lists(mut self, lists: Lists) -> Self {
        self.lists = lists;
        self
    }

    /// The policy (default: built-in).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Adds a stateful detector.
    pub fn detector(mut self, d: Arc<dyn StateDetector>) -> Self {
        self.detectors.push(d);
        self
    }

    /// Adds the frequency, fan-out and campaign detector ([`Velocity`]), configured from
    /// the policy's `[velocity]` section.
    pub fn velocity(mut self) -> Self {
        self.velocity = true;
        self
    }

    /// Compiles the engine. Fails when the policy names a signal that does not exist.
    pub fn build(mut self) -> Result<Engine, ConfigError> {
        if self.velocity {
            self.detectors.push(Arc::new(Velocity::new(&self.policy)));
        }
        let rules = match self.rules {
            Some(r) => r,
            None => RuleSet::default_pack()?,
        };
        let policy = self.policy;
        let mut known: HashSet<&str> = BUILTIN.iter().map(|s| s.id).collect();
        known.extend(rules.rules().iter().map(|r| &*r.id));
        for d in &self.detectors {
            known.extend(d.signals_info().iter().map(|s| s.id));
        }
        if let Some(unknown) = policy.weights.keys().find(|k| !known.contains(k.as_str())) {
            return Err(ConfigError::Invalid(format!(
                "policy sets a weight for {unknown:?}, which is neither a built-in signal nor a rule id"
            )));
        }
        let w = |id: &str, default: f32| policy.weights.get(id).copied().unwrap_or(default);
        let builtin = BUILTIN
            .iter()
            .map(|s| (Arc::from(s.id), w(s.id, s.weight), s.category))
            .collect();
        let rule_weights = rules.rules().iter().map(|r| w(&r.id, r.weight)).collect();
        let detector_weights = self
            .detectors
            .iter()
            .map(|d| {
                d.signals_info()
                    .iter()
                    .map(|s| (Arc::from(s.id), w(s.id, s.weight), s.category))
                    .collect()
            })
            .collect();
        let cues = rules.cues();
        let lower = |v: &[String]| v.iter().map(|s| s.trim().to_ascii_lowercase()).collect::<HashSet<_>>();
        let brands = lower(&cues.brands);
        let long_brands = brands.iter().filter(|b| b.len() >= 5).cloned().collect();
        Ok(Engine {
            shorteners: lower(&cues.shorteners),
            suspicious_tlds: cues
                .suspicious_tlds
                .iter()
                .map(|t| t.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            brands,
            long_brands,
            official: lower(&cues.official_domains),
            ad_labels: policy.ads.labels.iter().map(|l| l.to_ascii_uppercase()).collect(),
            rules,
            rule_weights,
            lists: self.lists,
            policy,
            builtin,
            detectors: self.detectors,
            detector_weights,
        })
    }
}

/// Per-thread working memory for [`Engine::check_with`]: reuse one per thread to keep the
/// per-message path free of allocations beyond the verdict itself.
#[derive(Debug, Default)]
pub struct Scratch {
    norm: Normalized,
    hits: Vec<Hit>,
    fires: Vec<RuleFire>,
    findings: Findings,
    bank_cues: Vec<(usize, usize)>,
    reasons: Vec<(Reason, Category)>,
    state_signals: Vec<StateSignal>,
    fingerprinter: Fingerprinter,
    /// Set when the shared state could not be read for the message being decided.
    state_failed: bool,
}

impl Scratch {
    /// The folded text of the last message checked.
    pub fn normalized(&self) -> &Normalized {
        &self.norm
    }

    /// What extraction found in the last message checked.
    pub fn findings(&self) -> &Findings {
        &self.findings
    }
}

impl Engine {
    /// A builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The engine with the built-in rules, no lists and the default policy.
    pub fn with_defaults() -> Result<Engine, ConfigError> {
        Engine::builder().build()
    }

    /// The rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The lists.
    pub fn lists(&self) -> &Lists {
        &self.lists
    }

    /// Checks one message with fresh working memory (convenient; prefer
    /// [`Engine::check_with`] in loops).
    pub fn check(&self, msg: &Message) -> Verdict {
        self.check_with(msg, &mut Scratch::default())
    }

    /// Checks one message without stateful detectors.
    pub fn check_with(&self, msg: &Message, scratch: &mut Scratch) -> Verdict {
        self.decide(msg, scratch, None)
    }

    /// True when the engine has stateful detectors (and [`Engine::state_plan`] may name keys).
    pub fn is_stateful(&self) -> bool {
        !self.detectors.is_empty()
    }

    /// The shared state this message touches, for the caller to apply and read in one batch.
    pub fn state_plan(&self, msg: &Message, scratch: &mut Scratch) -> StatePlan {
        let mut plan = StatePlan::default();
        if self.detectors.is_empty() {
            return plan;
        }
        let sender = SenderId::parse(msg.sender.as_deref().unwrap_or(""));
        let fingerprint = scratch.fingerprinter.fingerprint(&msg.text);
        let input = StateInput {
            msg,
            sender: &sender,
            fingerprint: &fingerprint,
        };
        let mut values = 0;
        for d in &self.detectors {
            let start = plan.keys.len();
            d.keys(&input, &mut plan.keys);
            let n: usize = plan.keys[start..].iter().map(|k| k.op.arity()).sum();
            plan.ranges.push((start..plan.keys.len(), values..values + n));
            values += n;
        }
        plan
    }

    /// The near-duplicate fingerprint of a text (what the campaign counters are keyed by).
    pub fn fingerprint(&self, text: &str, scratch: &mut Scratch) -> Fingerprint {
        scratch.fingerprinter.fingerprint(text)
    }

    /// Checks one message with the values the store returned for `plan` (in key order, each
    /// key's [`crate::state::StateOp::arity`] values), or `None` when the store could not
    /// answer: the stateful detectors are then skipped, `DETECTOR_FAILED` says so, and the
    /// action is at least the policy's `velocity.on_state_failure` (fail-open by default).
    pub fn check_with_state(
        &self,
        msg: &Message,
        scratch: &mut Scratch,
        plan: &StatePlan,
        values: Option<&[u64]>,
    ) -> Verdict {
        self.decide(msg, scratch, Some((plan, values)))
    }

    fn push(&self, s: &mut Scratch, b: Builtin, evidence: String) {
        let (id, w, c) = &self.builtin[b as usize];
        s.reasons.push((
            Reason {
                signal: id.clone(),
                weight: *w,
                evidence,
            },
            *c,
        ));
    }

    fn decide(&self, msg: &Message, s: &mut Scratch, state: Option<(&StatePlan, Option<&[u64]>)>) -> Verdict {
        s.reasons.clear();
        s.state_failed = false;
        let sender = SenderId::parse(msg.sender.as_deref().unwrap_or(""));
        let text = &msg.text[..s_len(&msg.text)];

        // Allowlisted senders short-circuit: nothing else is computed.
        let allowed = match &sender {
            SenderId::Number(p) if self.lists.allow.has_sender(&p.key) => Some(Builtin::SENDER_ALLOWLISTED),
            SenderId::Brandname(b) if self.lists.allow.has_brandname(b) => Some(Builtin::BRANDNAME_ALLOWLISTED),
            _ => None,
        };
        if let Some(b) = allowed {
            self.push(s, b, msg.sender.clone().unwrap_or_default());
            let category = if self.ad_label(text).is_some() {
                Category::Ad
            } else {
                Category::Ham
            };
            return Verdict {
                action: Action::Allow,
                category,
                score: 0.0,
                reasons: s.reasons.drain(..).map(|(r, _)| r).collect(),
            };
        }

        // Normalize, then one automaton pass for every keyword and cue.
        s.norm.fold(&msg.text);
        s.hits.clear();
        self.rules.scan(s.norm.text(), &mut s.hits);
        s.bank_cues.clear();
        let mut optout = false;
        for h in &s.hits {
            match h.role {
                PatternRole::BankCue => s.bank_cues.push(s.norm.source_span(h.start as usize, h.end as usize)),
                PatternRole::OptOut => optout = true,
                PatternRole::Rule { .. } => {}
            }
        }
        s.findings.clear();
        extract_numbers(text, &s.bank_cues, &mut s.findings);
        extract_urls(text, &mut s.findings);
        s.fires.clear();
        self.rules.evaluate(s.norm.text(), &mut s.hits, &mut s.fires);

        self.sender_signals(msg, &sender, s);
        self.text_signals(text, msg.text.len(), s);
        self.ad_signals(msg, text, &sender, optout, s);
        self.rule_signals(text, s);
        if let Some((plan, values)) = state {
            self.state_signals(msg, plan, values, s);
        }
        self.score(s)
    }

    fn sender_signals(&self, msg: &Message, sender: &SenderId, s: &mut Scratch) {
        let evidence = || msg.sender.clone().unwrap_or_default();
        match sender {
            SenderId::Number(p) => {
                if self.lists.block.has_sender(&p.key) {
                    self.push(s, Builtin::SENDER_BLOCKLISTED, evidence());
                }
                if p.kind == PhoneKind::VnMobile && msg.meta.origin == Some(Origin::International) {
                    self.push(
                        s,
                        Builtin::SENDER_FOREIGN_DOMESTIC,
                        format!("{} via an international route", evidence()),
                    );
                }
            }
            SenderId::Brandname(b) => {
                if self.lists.block.has_brandname(b) {
                    self.push(s, Builtin::BRANDNAME_BLOCKLISTED, evidence());
                }
            }
            SenderId::Malformed(raw, why) => {
                self.push(s, Builtin::SENDER_MALFORMED, format!("{raw} ({why:?})"));
            }
            SenderId::OtherNumber(raw) => {
                if self.lists.block.has_sender(raw) {
                    self.push(s, Builtin::SENDER_BLOCKLISTED, evidence());
                }
            }
            SenderId::Unknown => {}
        }
        if let (Some(activated), Some(at)) = (msg.meta.sim_activated_at, msg.received_at) {
            let days = (at - activated) / 86_400;
            if (0..self.policy.sender.new_sim_days as i64).contains(&days) {
                self.push(s, Builtin::SENDER_NEW_SIM, format!("SIM activated {days} days before"));
            }
        }
    }

    fn text_signals(&self, text: &str, full_len: usize, s: &mut Scratch) {
        let flags = s.norm.flags();
        if flags.truncated {
            self.push(
                s,
                Builtin::TEXT_TRUNCATED,
                format!("{} bytes checked of {full_len}", s.norm.source_len()),
            );
        }
        if flags.obfuscated() {
            let mut e = String::new();
            for (n, what) in [
                (flags.leet, "digits or symbols as letters"),
                (flags.split, "split letters"),
                (flags.confusable, "look-alike letters"),
                (flags.styled, "styled letters"),
                (flags.invisible, "invisible characters"),
            ] {
                if n > 0 {
                    if !e.is_empty() {
                        e.push_str(", ");
                    }
                    let _ = write!(e, "{what} ×{n}");
                }
            }
            self.push(s, Builtin::TEXT_OBFUSCATED, e);
        }

        // Links.
        let urls = std::mem::take(&mut s.findings.urls);
        if !urls.is_empty() {
            let quote = |u: &crate::extract::UrlFinding| text[u.span.0..u.span.1].to_string();
            self.push(s, Builtin::URL_PRESENT, quote(&urls[0]));
            let mut all_allowed = true;
            let mut flagged = [false; 7];
            for u in &urls {
                let allowed = self.lists.allow.has_domain(&u.host);
                all_allowed &= allowed;
                let checks = [
                    (self.lists.block.has_domain(&u.host), Builtin::DOMAIN_BLOCKLISTED),
                    (
                        !allowed && (self.shorteners.contains(&u.domain) || self.shorteners.contains(&u.host)),
                        Builtin::URL_SHORTENER,
                    ),
                    (
                        !allowed && !u.tld.is_empty() && self.suspicious_tlds.contains(&u.tld),
                        Builtin::URL_SUSPICIOUS_TLD,
                    ),
                    (u.ip, Builtin::URL_IP_HOST),
                    (!allowed && u.idn, Builtin::URL_IDN),
                    (!allowed && self.lookalike(u), Builtin::URL_BRAND_LOOKALIKE),
                    (u.obfuscated, Builtin::URL_OBFUSCATED),
                ];
                for (k, (hit, b)) in checks.into_iter().enumerate() {
                    if hit && !flagged[k] {
                        flagged[k] = true;
                        let e = if b == Builtin::URL_BRAND_LOOKALIKE || b == Builtin::DOMAIN_BLOCKLISTED {
                            format!("{} (domain {})", quote(u), u.domain)
                        } else {
                            quote(u)
                        };
                        self.push(s, b, e);
                    }
                }
            }
            if all_allowed {
                self.push(
                    s,
                    Builtin::DOMAIN_ALLOWLISTED,
                    urls.iter().map(|u| u.domain.as_str()).collect::<Vec<_>>().join(", "),
                );
            }
        }
        s.findings.urls = urls;

        // Numbers.
        if !s.findings.phones.is_empty() {
            let mut blocked = String::new();
            let mut listed = String::new();
            for p in &s.findings.phones {
                let q = &text[p.span.0..p.span.1];
                if self.lists.block.has_sender(&p.phone.key) {
                    join(&mut blocked, q);
                }
                join(&mut listed, q);
            }
            if !blocked.is_empty() {
                self.push(s, Builtin::PHONE_BLOCKLISTED, blocked);
            }
            self.push(s, Builtin::PHONE_IN_TEXT, listed);
        }
        if !s.findings.accounts.is_empty() {
            let mut blocked = String::new();
            let mut listed = String::new();
            for a in &s.findings.accounts {
                let q = &text[a.span.0..a.span.1];
                if self.lists.block.has_account(&a.digits) {
                    join(&mut blocked, q);
                }
                join(&mut listed, q);
            }
            if !blocked.is_empty() {
                self.push(s, Builtin::ACCOUNT_BLOCKLISTED, blocked);
            }
            self.push(s, Builtin::BANK_ACCOUNT_IN_TEXT, listed);
        }
        if !s.findings.amounts.is_empty() {
            let mut listed = String::new();
            for a in &s.findings.amounts {
                join(&mut listed, &text[a.span.0..a.span.1]);
            }
            self.push(s, Builtin::MONEY_AMOUNT, listed);
        }
    }

    /// True when a link's host borrows a brand's name but is not the brand's domain.
    fn lookalike(&self, u: &crate::extract::UrlFinding) -> bool {
        if u.ip || self.official.contains(&u.domain) || self.brands.is_empty() {
            return false;
        }
        let host = &u.host;
        let label_end = host.len() - (u.tld.len() + 1).min(host.len());
        let name = &host[..label_end];
        name.split(|c: char| c == '.' || c == '-' || c == '_' || c.is_ascii_digit())
            .any(|t| self.brands.contains(t))
            || self.long_brands.iter().any(|b| name.contains(b.as_str()))
    }

    /// The advertising label at the start of the text, if any.
    fn ad_label<'t>(&self, text: &'t str) -> Option<&'t str> {
        let t = text.trim_start();
        for label in &self.ad_labels {
            let n = label.len();
            if t.len() >= n && t.is_char_boundary(n) && t[..n].eq_ignore_ascii_case(label) {
                let alnum_label = label.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
                let next = t[n..].chars().next();
                if alnum_label && next.is_some_and(|c| c.is_alphanumeric()) {
                    continue;
                }
                return Some(&t[..n]);
            }
        }
        None
    }

    fn ad_signals(&self, msg: &Message, text: &str, sender: &SenderId, optout: bool, s: &mut Scratch) {
        let Some(label) = self.ad_label(text) else {
            return;
        };
        self.push(s, Builtin::AD_LABEL, label.to_string());
        if sender.is_subscriber() {
            self.push(s, Builtin::AD_FROM_NUMBER, msg.sender.clone().unwrap_or_default());
        }
        if let Some(at) = msg.received_at {
            let h = vietnam_hour(at);
            let ads = &self.policy.ads;
            if h < ads.start_hour || h >= ads.end_hour {
                self.push(
                    s,
                    Builtin::AD_OUTSIDE_HOURS,
                    format!(
                        "received {h:02}:xx Vietnam time; ads allowed {:02}:00–{:02}:00",
                        ads.start_hour, ads.end_hour
                    ),
                );
            }
        }
        if !optout {
            self.push(s, Builtin::AD_NO_OPTOUT, "no refusal instructions found".to_string());
        }
    }

    fn rule_signals(&self, text: &str, s: &mut Scratch) {
        for f in &s.fires {
            let rule = &self.rules.rules()[f.rule as usize];
            let mut evidence = String::new();
            for &(a, b) in &f.spans {
                let (os, oe) = s.norm.source_span(a as usize, b as usize);
                let q = text[os..oe].trim();
                if !evidence.split(", ").any(|e| e == q) {
                    join(&mut evidence, q);
                }
            }
            s.reasons.push((
                Reason {
                    signal: rule.id.clone(),
                    weight: self.rule_weights[f.rule as usize],
                    evidence,
                },
                rule.topic.category(),
            ));
        }
    }

    fn state_signals(&self, msg: &Message, plan: &StatePlan, values: Option<&[u64]>, s: &mut Scratch) {
        // Values that do not match the plan are as good as none.
        let values = values.filter(|v| v.len() == plan.values_len());
        for (i, d) in self.detectors.iter().enumerate() {
            let Some((range, vrange)) = plan.ranges.get(i).cloned() else {
                continue;
            };
            if range.is_empty() {
                continue;
            }
            let vals = values.and_then(|v| v.get(vrange));
            let Some(vals) = vals else {
                s.state_failed = true;
                self.push(
                    s,
                    Builtin::DETECTOR_FAILED,
                    format!("{}: shared state unavailable", d.name()),
                );
                continue;
            };
            s.state_signals.clear();
            d.signals(msg, &plan.keys[range], vals, &mut s.state_signals);
            for sig in s.state_signals.drain(..) {
                let Some((id, w, c)) = self.detector_weights[i].iter().find(|(id, ..)| &**id == sig.id) else {
                    continue;
                };
                s.reasons.push((
                    Reason {
                        signal: id.clone(),
                        weight: *w,
                        evidence: sig.evidence,
                    },
                    *c,
                ));
            }
        }
    }

    fn score(&self, s: &mut Scratch) -> Verdict {
        let mut score = 0.0f32;
        let (mut spam, mut scam) = (0.0f32, 0.0f32);
        let mut ad = false;
        for (r, c) in &s.reasons {
            score += r.weight;
            match c {
                Category::Spam if r.weight > 0.0 => spam += r.weight,
                Category::Scam if r.weight > 0.0 => scam += r.weight,
                Category::Ad => ad = true,
                _ => {}
            }
        }
        let score = (score * 100.0).round() / 100.0;
        let t = &self.policy.thresholds;
        let mut action = if score >= t.block {
            Action::Block
        } else if score >= t.quarantine {
            Action::Quarantine
        } else if score >= t.tag {
            Action::Tag
        } else {
            Action::Allow
        };
        if s.state_failed {
            // Fail closed when the policy says so: the shared state was not available.
            action = action.max(self.policy.velocity.on_state_failure);
        }
        let category = match action {
            Action::Allow if ad => Category::Ad,
            Action::Allow => Category::Ham,
            _ if scam >= spam && scam > 0.0 => Category::Scam,
            _ => Category::Spam,
        };
        let mut reasons: Vec<Reason> = s.reasons.drain(..).map(|(r, _)| r).collect();
        // Largest contribution first; ties keep the order signals were found in.
        reasons.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        Verdict {
            action,
            category,
            score,
            reasons,
        }
    }
}

/// The length of the prefix of `text` the engine reads (the rest is cut, see
/// [`crate::normalize::MAX_TEXT_BYTES`]).
pub(crate) fn s_len(text: &str) -> usize {
    if text.len() <= crate::normalize::MAX_TEXT_BYTES {
        return text.len();
    }
    let mut cut = crate::normalize::MAX_TEXT_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

fn join(out: &mut String, item: &str) {
    if !out.is_empty() {
        out.push_str(", ");
    }
    out.push_str(item);
}
