//! The engine: one message in, one verdict out.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::error::ConfigError;
use crate::extract::{Findings, extract_numbers, extract_urls};
use crate::features::{FeatureScratch, Featurizer};
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::lists::{Lists, parent_domains};
use crate::message::{AdFacts, Message, Origin, vietnam_hour};
use crate::model::{Label, Model};
use crate::normalize::Normalized;
use crate::phone::{PhoneKind, SenderId};
use crate::policy::Policy;
use crate::rules::{Hit, Needs, PatternRole, RuleFire, RuleSet};
use crate::signal::{BUILTIN, Builtin};
use crate::state::{StateDetector, StateInput, StatePlan, StateSignal};
use crate::velocity::Velocity;
use crate::verdict::{Action, Category, Reason, Verdict};

mod email;

/// The compiled filter: rules, lists, policy and detectors. Build once, share as `Arc`,
/// swap whole on reload. Cloning is cheap: the compiled rules are shared.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Arc<RuleSet>,
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
    free_hosting: HashSet<String>,
    trusted_suffixes: Vec<String>,
    ad_labels: Vec<String>,
    /// The rule pack's authorities, folded, spaces removed (`bocongan`).
    authorities: Vec<String>,
    detectors: Vec<Arc<dyn StateDetector>>,
    detector_weights: Vec<Vec<(Arc<str>, f32, Category)>>,
    model: Option<Arc<Model>>,
}

/// Builds an [`Engine`].
#[derive(Debug, Default)]
pub struct EngineBuilder {
    rules: Option<RuleSet>,
    lists: Lists,
    policy: Policy,
    detectors: Vec<Arc<dyn StateDetector>>,
    model: ModelChoice,
    velocity: bool,
}

/// Which statistical classifier the engine uses.
#[derive(Debug, Default)]
enum ModelChoice {
    /// The model shipped in the binary.
    #[default]
    Shipped,
    /// None.
    Off,
    /// This one.
    Given(Arc<Model>),
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

    /// The statistical classifier (default: the shipped model, [`Model::shipped`]).
    pub fn model(mut self, model: Arc<Model>) -> Self {
        self.model = ModelChoice::Given(model);
        self
    }

    /// No statistical classifier: `MODEL_SPAM` and `MODEL_SCAM` never fire.
    pub fn no_model(mut self) -> Self {
        self.model = ModelChoice::Off;
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
        let model = match self.model {
            ModelChoice::Shipped => Some(Arc::new(
                Model::shipped().map_err(|e| ConfigError::Invalid(format!("the shipped model: {e}")))?,
            )),
            ModelChoice::Off => None,
            ModelChoice::Given(m) => Some(m),
        };
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
        // Top-level domains and suffixes may be written with a leading dot.
        let suffixes = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|t| t.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect()
        };
        let brands = lower(&cues.brands);
        let long_brands = brands.iter().filter(|b| b.len() >= 5).cloned().collect();
        Ok(Engine {
            shorteners: lower(&cues.shorteners),
            suspicious_tlds: suffixes(&cues.suspicious_tlds).into_iter().collect(),
            brands,
            long_brands,
            official: lower(&cues.official_domains),
            free_hosting: lower(&cues.free_hosting),
            trusted_suffixes: suffixes(&cues.trusted_suffixes),
            authorities: cues
                .authorities
                .iter()
                .map(|a| Normalized::new(a).text().replace(' ', ""))
                .filter(|a| !a.is_empty())
                .collect(),
            ad_labels: policy.ads.labels.iter().map(|l| l.to_ascii_uppercase()).collect(),
            rules: Arc::new(rules),
            rule_weights,
            lists: self.lists,
            policy,
            builtin,
            detectors: self.detectors,
            detector_weights,
            model,
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
    features: FeatureScratch,
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

    /// The classifier's features of the last message checked (or passed to
    /// [`Engine::features`]).
    pub fn features(&self) -> &FeatureScratch {
        &self.features
    }
}

/// A message analysed for a check with shared state, waiting for the counters' values:
/// its counter plan and every signal that needs neither the counters nor the hub's facts.
/// [`Engine::prepare`] makes it from one fold and one extraction of the text (the plan's
/// fingerprint reuses them); [`Engine::finish`] adds the ad and stateful signals and
/// scores. The verdict is the one [`Engine::check_full`] gives for the same message and
/// values, with the same reasons in the same order.
#[derive(Debug)]
pub struct Prepared {
    /// The shared state the message touches; the caller may add keys of its own after the
    /// engine's (the detectors read only their own ranges).
    pub plan: StatePlan,
    /// The reasons found so far; from `rules_at` on, those of the rules, which come after
    /// the ad signals.
    reasons: Vec<(Reason, Category)>,
    rules_at: usize,
    /// An ad opt-out instruction was seen.
    optout: bool,
    /// The text's only contacts are service numbers and short codes.
    service_contacts_only: bool,
    sender: SenderId,
    /// The links extraction found (their domains feed the caller's statistics).
    urls: Vec<crate::extract::UrlFinding>,
    /// The verdict of an allowlisted sender: decided, whatever the counters say.
    decided: Option<Verdict>,
}

impl Prepared {
    /// The links extraction found in the message (what [`Scratch::findings`] holds after a
    /// check), in the order found.
    pub fn urls(&self) -> &[crate::extract::UrlFinding] {
        &self.urls
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

    /// The statistical classifier, if any.
    pub fn model(&self) -> Option<&Arc<Model>> {
        self.model.as_ref()
    }

    /// The classifier's features of a message, computed from the same analysis as
    /// [`Engine::check_with`] (fold, cue words, extraction): what training and online
    /// learning feed the model.
    pub fn features<'s>(&self, msg: &Message, featurizer: &Featurizer, s: &'s mut Scratch) -> &'s FeatureScratch {
        let text = &msg.text[..s_len(&msg.text)];
        self.analyze(msg, text, s);
        let sender = SenderId::parse(msg.sender.as_deref().unwrap_or(""));
        featurizer.extract(&s.norm, text, &s.findings, &sender, &mut s.features);
        &s.features
    }

    /// The same engine with other lists, sharing the compiled rules: what a list change
    /// costs without recompiling the keyword automaton.
    pub fn with_lists(&self, lists: Lists) -> Engine {
        Engine { lists, ..self.clone() }
    }

    /// Checks one message with fresh working memory (convenient; prefer
    /// [`Engine::check_with`] in loops).
    pub fn check(&self, msg: &Message) -> Verdict {
        self.check_with(msg, &mut Scratch::default())
    }

    /// Checks one message without stateful detectors.
    pub fn check_with(&self, msg: &Message, scratch: &mut Scratch) -> Verdict {
        self.decide(msg, scratch, None, None)
    }

    /// Checks one message with everything the caller knows: the counter values for `state`
    /// (as in [`Engine::check_with_state`]) and the hub's facts about an advertising
    /// message (`AD_TO_DNC`, `AD_OVER_CAP`, `AD_NO_LABEL`, `AD_UNREGISTERED_SENDER`,
    /// `AD_NO_COPY`).
    pub fn check_full(
        &self,
        msg: &Message,
        scratch: &mut Scratch,
        state: Option<(&StatePlan, Option<&[u64]>)>,
        ads: Option<&AdFacts>,
    ) -> Verdict {
        self.decide(msg, scratch, state, ads)
    }

    /// True when the text starts with an advertising label of the policy.
    pub fn has_ad_label(&self, text: &str) -> bool {
        self.ad_label(text).is_some()
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
        self.plan_into(msg, &sender, &fingerprint, &mut plan);
        plan
    }

    /// Every detector's keys for a message, with their ranges.
    fn plan_into(&self, msg: &Message, sender: &SenderId, fingerprint: &Fingerprint, plan: &mut StatePlan) {
        let input = StateInput {
            msg,
            sender,
            fingerprint,
        };
        let mut values = 0;
        for d in &self.detectors {
            let start = plan.keys.len();
            d.keys(&input, &mut plan.keys);
            let n: usize = plan.keys[start..].iter().map(|k| k.op.arity()).sum();
            plan.ranges.push((start..plan.keys.len(), values..values + n));
            values += n;
        }
    }

    /// Analyses a message once for a check with shared state: the counter plan (its
    /// fingerprint made from the check's own fold and extraction) and the signals that need
    /// no shared state. Give the counters' values to [`Engine::finish`]. Without stateful
    /// detectors the plan is empty.
    pub fn prepare(&self, msg: &Message, s: &mut Scratch) -> Prepared {
        s.reasons.clear();
        s.state_failed = false;
        let sender = SenderId::parse(msg.sender.as_deref().unwrap_or(""));
        let text = &msg.text[..s_len(&msg.text)];
        let allowed = self.allowlisted(&sender);
        // An allowlisted sender's verdict needs no analysis, but its counters do (it is
        // counted like any other sender).
        let optout = (allowed.is_none() || !self.detectors.is_empty()) && self.analyze(msg, text, s);
        let mut plan = StatePlan::default();
        if !self.detectors.is_empty() {
            let fingerprint = s.fingerprinter.fingerprint_analysed(&msg.text, &s.norm, &s.findings);
            self.plan_into(msg, &sender, &fingerprint, &mut plan);
        }
        if let Some(b) = allowed {
            return Prepared {
                plan,
                reasons: Vec::new(),
                rules_at: 0,
                optout,
                service_contacts_only: false,
                sender,
                urls: Vec::new(),
                decided: Some(self.allowed_verdict(msg, text, b, s)),
            };
        }
        self.stateless_signals(msg, text, &sender, s);
        let rules_at = s.reasons.len();
        self.rule_signals(text, s);
        Prepared {
            plan,
            reasons: s.reasons.drain(..).collect(),
            rules_at,
            optout,
            service_contacts_only: service_contacts_only(&s.findings),
            sender,
            urls: std::mem::take(&mut s.findings.urls),
            decided: None,
        }
    }

    /// Decides a prepared message with the values the store returned for its plan (`None`
    /// when the store could not answer, as in [`Engine::check_with_state`]) and the hub's
    /// facts about an advertising message (as in [`Engine::check_full`]).
    pub fn finish(
        &self,
        msg: &Message,
        prepared: &mut Prepared,
        values: Option<&[u64]>,
        ads: Option<&AdFacts>,
        s: &mut Scratch,
    ) -> Verdict {
        if let Some(v) = prepared.decided.take() {
            return v;
        }
        let text = &msg.text[..s_len(&msg.text)];
        s.state_failed = false;
        std::mem::swap(&mut s.reasons, &mut prepared.reasons);
        // The ad signals go before the rules' reasons, where a check finds them.
        let before = s.reasons.len();
        self.ad_signals(msg, text, &prepared.sender, prepared.optout, ads, s);
        self.compliant_ad(before, prepared.service_contacts_only, s);
        let added = s.reasons.len() - before;
        s.reasons[prepared.rules_at..].rotate_right(added);
        self.state_signals(msg, &prepared.plan, values, s);
        self.score(s)
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
        self.decide(msg, scratch, Some((plan, values)), None)
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

    fn decide(
        &self,
        msg: &Message,
        s: &mut Scratch,
        state: Option<(&StatePlan, Option<&[u64]>)>,
        ads: Option<&AdFacts>,
    ) -> Verdict {
        s.reasons.clear();
        s.state_failed = false;
        let sender = SenderId::parse(msg.sender.as_deref().unwrap_or(""));
        let text = &msg.text[..s_len(&msg.text)];

        // Allowlisted senders short-circuit: nothing else is computed.
        if let Some(b) = self.allowlisted(&sender) {
            return self.allowed_verdict(msg, text, b, s);
        }

        let optout = self.analyze(msg, text, s);
        self.stateless_signals(msg, text, &sender, s);
        let ad_start = s.reasons.len();
        self.ad_signals(msg, text, &sender, optout, ads, s);
        let contacts = service_contacts_only(&s.findings);
        self.compliant_ad(ad_start, contacts, s);
        self.rule_signals(text, s);
        if let Some((plan, values)) = state {
            self.state_signals(msg, plan, values, s);
        }
        self.score(s)
    }

    /// The allowlist signal of a sender on an allow list.
    fn allowlisted(&self, sender: &SenderId) -> Option<Builtin> {
        match sender {
            SenderId::Number(p) if self.lists.allow.has_sender(&p.key) => Some(Builtin::SENDER_ALLOWLISTED),
            SenderId::Brandname(b) if self.lists.allow.has_brandname(b) => Some(Builtin::BRANDNAME_ALLOWLISTED),
            _ => None,
        }
    }

    /// The verdict of an allowlisted sender: allowed, an ad when labelled as one.
    fn allowed_verdict(&self, msg: &Message, text: &str, b: Builtin, s: &mut Scratch) -> Verdict {
        s.reasons.clear();
        self.push(s, b, msg.sender.clone().unwrap_or_default());
        let category = if self.ad_label(text).is_some() {
            Category::Ad
        } else {
            Category::Ham
        };
        Verdict {
            action: Action::Allow,
            category,
            score: 0.0,
            reasons: s.reasons.drain(..).map(|(r, _)| r).collect(),
        }
    }

    /// The signals of an analysed message that need neither shared state nor the hub's
    /// facts nor the rules' reasons: the model, the rules' evaluation, the sender, the
    /// e-mail and the text.
    fn stateless_signals(&self, msg: &Message, text: &str, sender: &SenderId, s: &mut Scratch) {
        self.model_signals(text, sender, s);
        let f = &s.findings;
        // Links to the brands' own domains or to allowlisted ones do not count for rules
        // that need a link: those rules are about links to unknown places.
        let untrusted_url = f.urls.iter().any(|u| !self.trusted_domain(u));
        let found = Needs(
            (untrusted_url as u8 * Needs::URL)
                | (!f.phones.is_empty() as u8 * Needs::PHONE)
                | (!f.accounts.is_empty() as u8 * Needs::ACCOUNT)
                | (!f.amounts.is_empty() as u8 * Needs::AMOUNT),
        );
        s.fires.clear();
        self.rules.evaluate(s.norm.text(), found, &mut s.hits, &mut s.fires);

        self.sender_signals(msg, sender, s);
        if let Some(facts) = &msg.email {
            self.email_signals(facts, s);
        }
        self.text_signals(text, msg.text.len(), s);
    }

    /// Normalizes, runs the automaton for every keyword and cue, and extracts numbers and
    /// links. Returns whether an ad opt-out instruction was seen.
    fn analyze(&self, msg: &Message, text: &str, s: &mut Scratch) -> bool {
        s.norm.fold(&msg.text);
        s.hits.clear();
        self.rules.scan(s.norm.text(), &mut s.hits);
        // Texts without Vietnamese marks cannot contradict a keyword's marks.
        if s.norm.shape().marked {
            let (norm, rules) = (&s.norm, &self.rules);
            s.hits.retain(|h| {
                // Most keywords have no marks to disagree with: no span lookup for them.
                rules.marked_keyword(h.role).is_none_or(|written| {
                    let (a, b) = norm.source_span(h.start as usize, h.end as usize);
                    RuleSet::diacritics_agree(written, &text[a..b])
                })
            });
        }
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
        // The fold noticed whether the text has digits or anything like a host name; most
        // texts lack one or the other, and extraction skips them.
        let shape = s.norm.shape();
        if shape.digits {
            extract_numbers(text, &s.bank_cues, &mut s.findings);
        }
        if shape.link {
            extract_urls(text, &mut s.findings);
        }
        optout
    }

    /// The statistical classifier: `MODEL_SPAM` / `MODEL_SCAM` with the probability as
    /// evidence, weighted by it.
    fn model_signals(&self, text: &str, sender: &SenderId, s: &mut Scratch) {
        let Some(model) = &self.model else { return };
        let p = model.predict_analysed(&s.norm, text, &s.findings, sender, &mut s.features);
        let mp = &self.policy.model;
        for (label, threshold, b) in [
            (Label::Spam, mp.spam_threshold, Builtin::MODEL_SPAM),
            (Label::Scam, mp.scam_threshold, Builtin::MODEL_SCAM),
        ] {
            let prob = p.p(label);
            if prob >= threshold {
                let (id, w, c) = &self.builtin[b as usize];
                s.reasons.push((
                    Reason {
                        signal: id.clone(),
                        weight: (w * prob * 100.0).round() / 100.0,
                        evidence: format!("P({}) = {prob:.3}", label.as_str()),
                    },
                    *c,
                ));
            }
        }
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
        // Letters read from digits inside links (`/on4G`, `?id=a1b`) are noise, not tricks.
        let urls = &s.findings.urls;
        let leet = s
            .norm
            .leet_offsets()
            .iter()
            .filter(|&&at| !urls.iter().any(|u| (u.span.0..u.span.1).contains(&(at as usize))))
            .count();
        if leet > 0 || flags.split > 0 || flags.confusable > 0 || flags.styled > 0 || flags.invisible > 0 {
            let mut e = String::new();
            for (n, what) in [
                (leet, "digits or symbols as letters"),
                (flags.split as usize, "split letters"),
                (flags.confusable as usize, "look-alike letters"),
                (flags.styled as usize, "styled letters"),
                (flags.invisible as usize, "invisible characters"),
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
            let mut all_trusted = true;
            let mut flagged = [false; 8];
            for u in &urls {
                let allowed = self.lists.allow.has_domain(&u.host);
                all_allowed &= allowed;
                let trusted = self.trusted_domain(u);
                all_trusted &= trusted;
                let checks = [
                    (self.lists.block.has_domain(&u.host), Builtin::DOMAIN_BLOCKLISTED),
                    (
                        !trusted && (self.shorteners.contains(&u.domain) || self.shorteners.contains(&u.host)),
                        Builtin::URL_SHORTENER,
                    ),
                    (
                        !trusted && !u.tld.is_empty() && self.suspicious_tlds.contains(&u.tld),
                        Builtin::URL_SUSPICIOUS_TLD,
                    ),
                    (u.ip, Builtin::URL_IP_HOST),
                    (!trusted && u.idn, Builtin::URL_IDN),
                    (!trusted && self.lookalike(u), Builtin::URL_BRAND_LOOKALIKE),
                    (u.obfuscated, Builtin::URL_OBFUSCATED),
                    (!allowed && self.free_hosting(u), Builtin::URL_FREE_HOSTING),
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
            if all_allowed || all_trusted {
                let domains = urls.iter().map(|u| u.domain.as_str()).collect::<Vec<_>>().join(", ");
                let b = if all_allowed {
                    Builtin::DOMAIN_ALLOWLISTED
                } else {
                    Builtin::URL_OFFICIAL
                };
                self.push(s, b, domains);
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
            let distinct = distinct_count(s.findings.phones.iter().map(|p| p.phone.key.as_str()));
            if distinct >= PHONE_LIST_MIN {
                self.push(s, Builtin::PHONE_LIST, format!("{distinct} numbers: {listed}"));
            } else {
                self.push(s, Builtin::PHONE_IN_TEXT, listed);
            }
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

    /// True when a link goes to a brand's official domain (or a subdomain of an official
    /// suffix such as `gov.vn`).
    fn official_domain(&self, u: &crate::extract::UrlFinding) -> bool {
        parent_domains(&u.domain).any(|d| self.official.contains(d))
    }

    /// True when a link goes to an allowlisted domain or to an official one.
    fn trusted_domain(&self, u: &crate::extract::UrlFinding) -> bool {
        self.official_domain(u) || self.lists.allow.has_domain(&u.host)
    }

    /// True when a registrable domain lies under a suffix whose registry verifies the
    /// registrant (the rule pack's `trusted_suffixes`).
    fn under_trusted_suffix(&self, domain: &str) -> bool {
        let d = domain.as_bytes();
        self.trusted_suffixes.iter().any(|t| {
            let t = t.as_bytes();
            d == t || (d.len() > t.len() && d.ends_with(t) && d[d.len() - t.len() - 1] == b'.')
        })
    }

    /// True when a link's host borrows a brand's name but is not the brand's domain (nor
    /// registered under a suffix whose registry verifies the registrant).
    fn lookalike(&self, u: &crate::extract::UrlFinding) -> bool {
        if u.ip || self.official_domain(u) || self.brands.is_empty() {
            return false;
        }
        if self.under_trusted_suffix(&u.domain) {
            return false;
        }
        let host = u.skeleton.as_deref().unwrap_or(&u.host);
        let label_end = host.len() - (u.tld.len() + 1).min(host.len());
        let name = host.get(..label_end).unwrap_or(host);
        // Digits for letters (`sh0pee`, `vietc0mbank`) and one-letter typos (`vietcombamk`).
        let unleet: String = name
            .chars()
            .map(|c| match c {
                '0' => 'o',
                '1' => 'i',
                '3' => 'e',
                '4' => 'a',
                '5' => 's',
                _ => c,
            })
            .collect();
        [name, unleet.as_str()].into_iter().any(|n| {
            n.split(|c: char| c == '.' || c == '-' || c == '_' || c.is_ascii_digit())
                .any(|t| self.brands.contains(t) || self.long_brands.iter().any(|b| b.len() >= 6 && one_edit(t, b)))
                || self.long_brands.iter().any(|b| n.contains(b.as_str()))
        })
    }

    /// True when a link goes to a free hosting or form service.
    fn free_hosting(&self, u: &crate::extract::UrlFinding) -> bool {
        parent_domains(&u.host).any(|h| self.free_hosting.contains(h))
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

    /// `COMPLIANT_AD` for a labelled ad whose only signal among those [`Self::ad_signals`]
    /// pushed from `start` on is `AD_LABEL` (it breaks none of the advertising rules) and
    /// that sends the reader only to a brand's official site. Runs after the link and
    /// number signals.
    fn compliant_ad(&self, start: usize, service_contacts_only: bool, s: &mut Scratch) {
        // Legal when labelled, sent by the rules and pointing only to the brand's own
        // domain (REGULATION.md): the topics such ads carry (loans from licensed lenders,
        // promotions) are not spam there. A contact a scammer could own (a mobile or
        // fixed number, a bank account) keeps the discount away.
        let is = |r: &(Reason, Category), b: Builtin| Arc::ptr_eq(&r.0.signal, &self.builtin[b as usize].0);
        let labelled_only = s.reasons.len() == start + 1 && is(&s.reasons[start], Builtin::AD_LABEL);
        if !labelled_only || !service_contacts_only {
            return;
        }
        let official = s.reasons[..start]
            .iter()
            .find(|r| is(r, Builtin::URL_OFFICIAL) || is(r, Builtin::DOMAIN_ALLOWLISTED));
        if let Some(links) = official {
            let e = format!("labelled, refusal instructions, links only to {}", links.0.evidence);
            self.push(s, Builtin::COMPLIANT_AD, e);
        }
    }

    /// The advertising rules. A message is an ad when it carries the label, or when the
    /// hub's facts say its sender is a registered advertiser.
    fn ad_signals(
        &self,
        msg: &Message,
        text: &str,
        sender: &SenderId,
        optout: bool,
        facts: Option<&AdFacts>,
        s: &mut Scratch,
    ) {
        let label = self.ad_label(text);
        let registered = facts.is_some_and(|f| f.registered_sender);
        match label {
            Some(label) => self.push(s, Builtin::AD_LABEL, label.to_string()),
            None if registered => self.push(
                s,
                Builtin::AD_NO_LABEL,
                format!(
                    "{} is a registered advertiser",
                    msg.sender.as_deref().unwrap_or_default()
                ),
            ),
            None => return,
        }
        if sender.is_subscriber() {
            self.push(s, Builtin::AD_FROM_NUMBER, msg.sender.clone().unwrap_or_default());
        } else if let (Some(_), SenderId::Brandname(b)) = (facts, sender)
            && !registered
        {
            self.push(
                s,
                Builtin::AD_UNREGISTERED_SENDER,
                format!("{b} is not in the advertiser register"),
            );
        }
        let ads = &self.policy.ads;
        if let Some(at) = msg.received_at {
            let h = vietnam_hour(at);
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
        let Some(f) = facts else {
            return;
        };
        if f.recipient_dnc {
            let to = msg.recipient.as_deref().unwrap_or_default();
            self.push(s, Builtin::AD_TO_DNC, format!("{to} refuses ad messages (Do-Not-Call)"));
        }
        if f.sent_24h >= ads.max_per_recipient_24h {
            self.push(
                s,
                Builtin::AD_OVER_CAP,
                format!(
                    "ad number {} to this recipient in 24 h; at most {}",
                    f.sent_24h as u64 + 1,
                    ads.max_per_recipient_24h
                ),
            );
        }
        if registered && f.copy_matches == Some(false) {
            self.push(s, Builtin::AD_NO_COPY, "no submitted ad copy matches".to_string());
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

/// True when the only contacts a text gives are service numbers and short codes: no bank
/// account, no mobile or fixed number (what [`Engine::compliant_ad`] allows).
fn service_contacts_only(f: &Findings) -> bool {
    f.accounts.is_empty()
        && f.phones
            .iter()
            .all(|p| matches!(p.phone.kind, PhoneKind::VnService | PhoneKind::ShortCode))
}

/// How many distinct phone numbers make a list of numbers (number trading).
const PHONE_LIST_MIN: usize = 4;

/// The number of distinct items in a short sequence (no allocation).
fn distinct_count<'a>(items: impl Iterator<Item = &'a str> + Clone) -> usize {
    let mut n = 0;
    for (i, a) in items.clone().enumerate() {
        if !items.clone().take(i).any(|b| b == a) {
            n += 1;
        }
    }
    n
}

/// True when two words of the same length differ by one substituted letter or one swap of
/// neighbouring letters.
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a == b {
        return false;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).take(3).collect();
    match diff[..] {
        [_] => true,
        [i, j] => j == i + 1 && a[i] == b[j] && a[j] == b[i],
        _ => false,
    }
}

fn join(out: &mut String, item: &str) {
    if !out.is_empty() {
        out.push_str(", ");
    }
    out.push_str(item);
}
