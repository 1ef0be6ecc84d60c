//! chanrac-traffic: synthetic, labeled SMS traffic for tests and benchmarks.
//!
//! A [`Generator`] yields a day (by default) of messages in time order: personal messages
//! between subscribers drawn from the shipped collections (`data/`, Vietnamese and
//! English ham), brandname traffic (OTPs, notices, properly labelled ads) and **injected
//! events**, each message labeled with the event it belongs to:
//!
//! | event kind | what happens | the signal meant to catch it |
//! |---|---|---|
//! | `sim_farm` | one template, varied (name, amount, link, phone), from 20–100 fresh SIMs | `CAMPAIGN_BULK` |
//! | `repeat` | one SIM sends one text to 20–80 recipients | `CAMPAIGN_REPEAT` |
//! | `burst` | one SIM sends 25–60 messages in 5–15 minutes | `SENDER_BURST` |
//! | `flood` | 20–50 OTP messages to one victim in minutes (an "SMS bomber") | `RECIPIENT_FLOOD` |
//! | `unrelated` | one SIM writes to 25–45 numbers it never wrote to, slowly, over hours | `SENDER_UNRELATED` |
//! | `new_sim` | a SIM activated days ago writes to 8–18 numbers within the hour | `NEW_SIM_BURST` |
//!
//! Each injected message also says whether its event had already passed the policy's
//! threshold for that signal when it was sent ([`TrafficMessage::over_threshold`], exact
//! sliding windows), so that detection can be measured "once the campaign has passed its
//! threshold".
//!
//! ```
//! use chanrac_traffic::{Corpus, Generator, TrafficConfig};
//!
//! let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
//! let corpus = Corpus::load_dir(&dir).unwrap();
//! let config = TrafficConfig { messages: 2000, seed: 7, ..TrafficConfig::default() };
//! let messages: Vec<_> = Generator::new(&config, &corpus, &Default::default()).collect();
//! assert_eq!(messages.len(), 2000);
//! assert!(messages.windows(2).all(|w| w[0].at <= w[1].at));
//! assert!(messages.iter().any(|m| m.event.starts_with("sim_farm-")));
//! ```
//!
//! Invariants: the output depends only on the configuration, the corpus and the policy
//! (the generator has its own random number generator); memory stays flat whatever the
//! number of messages (background messages are made a minute of traffic at a time).

#![deny(missing_docs)]

pub mod calls;
mod corpus;
pub mod rng;
pub mod templates;

use std::collections::VecDeque;

use chanrac_core::fingerprint::Fingerprinter;
use chanrac_core::{Category, Policy};
use serde::Serialize;

pub use corpus::Corpus;
use rng::{Rng, splitmix};
use templates::{BRANDS, CAMPAIGNS, Slots};

/// The generator's errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrafficError {
    /// A data file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A data file is not what the generator expects.
    #[error("{0}")]
    Corpus(String),
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficConfig {
    /// How many messages: exactly this many are generated.
    pub messages: usize,
    /// The seed: the same seed gives the same traffic.
    pub seed: u64,
    /// The start, Unix seconds. Default: 2026-11-22T00:00:00+07:00.
    pub start: i64,
    /// How long the traffic lasts, in seconds. Default: one day.
    pub duration_secs: u32,
    /// How many subscribers send the background traffic. Default: one per five messages.
    pub subscribers: Option<usize>,
    /// The share of messages that belong to injected events (small traffic gets at least
    /// one event of each kind). Default: 0.04.
    pub injected_share: f64,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            messages: 10_000,
            seed: 1,
            start: 1_795_280_400,
            duration_secs: 86_400,
            subscribers: None,
            injected_share: 0.04,
        }
    }
}

/// The kinds of injected events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// One template from many fresh SIMs.
    SimFarm,
    /// One SIM, one text, many recipients.
    Repeat,
    /// One SIM, many messages in minutes.
    Burst,
    /// Many messages to one recipient.
    Flood,
    /// One SIM writing to numbers it never wrote to.
    Unrelated,
    /// A new SIM with a high fan-out.
    NewSim,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 6] = [
        EventKind::SimFarm,
        EventKind::Repeat,
        EventKind::Burst,
        EventKind::Flood,
        EventKind::Unrelated,
        EventKind::NewSim,
    ];

    /// The name used in event labels (`sim_farm-3`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SimFarm => "sim_farm",
            EventKind::Repeat => "repeat",
            EventKind::Burst => "burst",
            EventKind::Flood => "flood",
            EventKind::Unrelated => "unrelated",
            EventKind::NewSim => "new_sim",
        }
    }

    /// The kind of an event label (`sim_farm-3` → `SimFarm`).
    pub fn of_event(event: &str) -> Option<EventKind> {
        let kind = event.rsplit_once('-').map_or(event, |(k, _)| k);
        EventKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// The signal meant to catch this kind of event.
    pub fn signal(self) -> &'static str {
        match self {
            EventKind::SimFarm => "CAMPAIGN_BULK",
            EventKind::Repeat => "CAMPAIGN_REPEAT",
            EventKind::Burst => "SENDER_BURST",
            EventKind::Flood => "RECIPIENT_FLOOD",
            EventKind::Unrelated => "SENDER_UNRELATED",
            EventKind::NewSim => "NEW_SIM_BURST",
        }
    }

    /// Its share of the injected messages, and the mean size of one event.
    fn share_and_size(self) -> (f64, f64) {
        match self {
            EventKind::SimFarm => (0.35, 150.0),
            EventKind::Repeat => (0.15, 50.0),
            EventKind::Burst => (0.15, 42.0),
            EventKind::Flood => (0.10, 35.0),
            EventKind::Unrelated => (0.15, 35.0),
            EventKind::NewSim => (0.10, 13.0),
        }
    }
}

/// One generated message.
#[derive(Debug, Clone, Serialize)]
pub struct TrafficMessage {
    /// `m<n>`: the message's position in the traffic, from 1.
    pub id: String,
    /// When it was received, RFC 3339 in Vietnam time.
    pub received_at: String,
    /// The same, Unix seconds.
    #[serde(skip)]
    pub at: i64,
    /// The sender: `+84…` or a brandname.
    pub sender: String,
    /// The recipient, `+84…`.
    pub recipient: String,
    /// The text.
    pub text: String,
    /// What it is: ham, ad, spam or scam.
    pub label: Category,
    /// `background`, or the injected event it belongs to (`sim_farm-3`).
    pub event: String,
    /// For an injected message: whether its event had passed the policy's threshold for
    /// the event's signal (see [`EventKind::signal`]) when it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_threshold: Option<bool>,
    /// When the sender's SIM was activated (RFC 3339), for subscriber senders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_activated_at: Option<String>,
    /// The sender's index in the generator's population (subscribers and injected SIMs),
    /// for benchmarks that count distinct senders; `None` for brandnames.
    #[serde(skip)]
    pub sender_index: Option<u64>,
    /// The SIM activation, Unix seconds.
    #[serde(skip)]
    pub activated_at: Option<i64>,
}

impl TrafficMessage {
    /// The message as the engine sees it.
    pub fn message(&self) -> chanrac_core::Message {
        chanrac_core::Message {
            id: Some(self.id.clone()),
            sender: Some(self.sender.clone()),
            recipient: Some(self.recipient.clone()),
            text: self.text.clone(),
            received_at: Some(self.at),
            meta: chanrac_core::Metadata {
                sim_activated_at: self.activated_at,
                ..Default::default()
            },
            ..Default::default()
        }
    }
}

/// The canonical number of a sender index: a valid Vietnamese mobile number, distinct for
/// every index below 500 million.
pub fn number(idx: u64) -> String {
    let first = [3, 5, 7, 8, 9][(idx % 5) as usize];
    let rest = ((idx / 5).wrapping_mul(7_654_321).wrapping_add(12_345_678)) % 100_000_000;
    format!("+84{first}{rest:08}")
}

/// RFC 3339 in Vietnam time.
pub fn rfc3339(at: i64) -> String {
    let offset = time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.to_offset(offset)
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

/// Relative weight of each hour of the day (Vietnam time) in the background traffic.
const HOURLY: [f64; 24] = [
    0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.8, 1.8, 1.7, 1.7, 1.6, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.0, 1.8, 1.5, 1.0,
    0.5,
];

fn hourly_weight(at: i64) -> f64 {
    HOURLY[chanrac_core::message::vietnam_hour(at) as usize]
}

/// The thresholds the `over_threshold` labels are computed against.
#[derive(Debug, Clone)]
struct Limits {
    bulk: (i64, usize),
    repeat: (i64, usize),
    burst: Vec<(i64, usize)>,
    flood: Vec<(i64, usize)>,
    unrelated: (i64, usize),
    new_sim: (i64, usize),
}

impl Limits {
    fn of(p: &Policy) -> Limits {
        let v = &p.velocity;
        let l = |l: &chanrac_core::velocity::Limit| (l.window_secs as i64, l.max as usize);
        Limits {
            bulk: l(&v.campaign_bulk),
            repeat: l(&v.campaign_repeat),
            burst: v.sender_burst.iter().map(l).collect(),
            flood: v.recipient_flood.iter().map(l).collect(),
            unrelated: (v.unrelated.window_secs as i64, v.unrelated.min_messages as usize),
            new_sim: l(&v.new_sim_fanout),
        }
    }
}

/// The content of an event's messages.
#[derive(Debug, Clone)]
enum Content {
    /// A handwritten template: every slot varies per message.
    Template(usize),
    /// A template whose name stays and whose link and amount vary (one sender's repeats).
    Fixed(usize, Slots),
    /// A real spam text, digits varied, sometimes with a greeting; with a channel (a lead
    /// word, then a phone number or a link, new in each copy) when the text has none.
    Real(usize, Option<&'static str>),
    /// A different real spam text for each message.
    Mixed,
    /// OTP messages from brandnames (an SMS bomber).
    Otp,
}

#[derive(Debug, Clone)]
struct Event {
    kind: EventKind,
    name: String,
    label: Category,
    content: Content,
    rng: Rng,
    /// Sender index of each message in order (for one-SIM events, all equal).
    senders: Vec<u64>,
    /// Recipient index of each message in order.
    recipients: Vec<u64>,
    /// SIM activation of the event's SIMs, if known.
    activated: Option<i64>,
    /// What was sent so far: (time, sender, recipient).
    sent: Vec<(i64, u64, u64)>,
}

impl Event {
    /// Whether the event is over its signal's threshold once the message at `at` is sent
    /// (the message itself counted), with exact sliding windows.
    fn over(&self, limits: &Limits, at: i64) -> bool {
        let within = |w: i64| self.sent.iter().filter(move |(t, ..)| *t > at - w);
        let distinct = |w: i64, by: fn(&(i64, u64, u64)) -> u64| {
            let mut v: Vec<u64> = within(w).map(by).collect();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        match self.kind {
            EventKind::SimFarm => distinct(limits.bulk.0, |m| m.1) > limits.bulk.1,
            EventKind::Repeat => distinct(limits.repeat.0, |m| m.2) > limits.repeat.1,
            EventKind::Burst => limits.burst.iter().any(|&(w, max)| within(w).count() > max),
            EventKind::Flood => limits.flood.iter().any(|&(w, max)| within(w).count() > max),
            EventKind::Unrelated => within(limits.unrelated.0).count() >= limits.unrelated.1,
            EventKind::NewSim => distinct(limits.new_sim.0, |m| m.2) > limits.new_sim.1,
        }
    }
}

/// Yields the traffic, in time order.
#[derive(Debug)]
pub struct Generator<'a> {
    cfg: TrafficConfig,
    corpus: &'a Corpus,
    limits: Limits,
    rng: Rng,
    population: u64,
    end: i64,
    chunk: i64,
    background_total: usize,
    background_done: usize,
    carry: f64,
    weight_sum: f64,
    events: Vec<Event>,
    /// (time, event, message index), sorted.
    schedule: Vec<(i64, u32, u32)>,
    next_scheduled: usize,
    buffer: VecDeque<TrafficMessage>,
    seq: u64,
}

/// Seconds of traffic made at a time.
const CHUNK: i64 = 60;

impl<'a> Generator<'a> {
    /// A generator; `policy` gives the thresholds of the `over_threshold` labels.
    pub fn new(cfg: &TrafficConfig, corpus: &'a Corpus, policy: &Policy) -> Generator<'a> {
        let duration = cfg.duration_secs.max(60) as i64;
        let population = cfg.subscribers.unwrap_or(cfg.messages / 5).max(200) as u64;
        let mut g = Generator {
            cfg: cfg.clone(),
            corpus,
            limits: Limits::of(policy),
            rng: Rng::new(cfg.seed, 0),
            population,
            end: cfg.start + duration,
            chunk: cfg.start,
            background_total: 0,
            background_done: 0,
            carry: 0.0,
            weight_sum: 0.0,
            events: Vec::new(),
            schedule: Vec::new(),
            next_scheduled: 0,
            buffer: VecDeque::new(),
            seq: 0,
        };
        g.plan_events();
        g.background_total = cfg.messages - g.schedule.len();
        let mut t = cfg.start;
        while t < g.end {
            g.weight_sum += hourly_weight(t);
            t += CHUNK;
        }
        g
    }

    /// Plans every injected event and schedules its messages.
    fn plan_events(&mut self) {
        let injected = (self.cfg.messages as f64 * self.cfg.injected_share.clamp(0.0, 1.0)).round();
        let mut plan_rng = Rng::new(self.cfg.seed, 1);
        let mut next_sim = self.population;
        let mut budget = self.cfg.messages;
        for kind in EventKind::ALL {
            let (share, size) = kind.share_and_size();
            let n = ((share * injected / size).round() as usize).max(1);
            for i in 0..n {
                let stream = 1000 + self.events.len() as u64;
                let mut e = self.plan_event(kind, i, &mut plan_rng, &mut next_sim, Rng::new(self.cfg.seed, stream));
                let times = self.times(kind, &mut plan_rng, e.senders.len());
                if times.len() > budget {
                    continue;
                }
                budget -= times.len();
                let idx = self.events.len() as u32;
                for (j, t) in times.into_iter().enumerate() {
                    self.schedule.push((t, idx, j as u32));
                }
                e.sent.reserve(e.senders.len());
                self.events.push(e);
            }
        }
        self.schedule.sort_unstable();
    }

    /// When an event's `n` messages are sent, in order.
    fn times(&self, kind: EventKind, r: &mut Rng, n: usize) -> Vec<i64> {
        let minutes = |lo: u64, hi: u64, r: &mut Rng| r.range(lo, hi) as i64 * 60;
        let span = self.end - self.cfg.start;
        let d = match kind {
            EventKind::SimFarm => minutes(15, 45, r),
            EventKind::Repeat => minutes(20, 50, r),
            EventKind::Burst => minutes(5, 15, r),
            EventKind::Flood => minutes(5, 10, r),
            EventKind::Unrelated => minutes(8 * 60, 14 * 60, r),
            EventKind::NewSim => minutes(30, 55, r),
        }
        .min(span - 1)
        .max(1);
        let start = self.cfg.start + r.range(0, (span - d).max(0) as u64) as i64;
        let mut t: Vec<i64> = match kind {
            // Slow and even, so that no burst limit is reached.
            EventKind::Unrelated => (0..n)
                .map(|i| start + d * i as i64 / n as i64 + r.range(0, 60) as i64)
                .collect(),
            _ => (0..n).map(|_| start + r.range(0, d as u64) as i64).collect(),
        };
        t.sort_unstable();
        t
    }

    fn plan_event(&self, kind: EventKind, i: usize, r: &mut Rng, next_sim: &mut u64, rng: Rng) -> Event {
        let mut sim = || {
            *next_sim += 1;
            *next_sim - 1
        };
        let pop = self.population;
        let unwanted = self.corpus.unwanted.len();
        let subscriber = |r: &mut Rng| r.range(0, pop - 1);
        // One SIM writing to `n` random subscribers.
        let fan_out = |s: u64, n: u64, r: &mut Rng| (vec![s; n as usize], (0..n).map(|_| subscriber(r)).collect());
        let mut senders = Vec::new();
        let recipients: Vec<u64>;
        let mut activated = None;
        let mut label = Category::Spam;
        let content;
        match kind {
            EventKind::SimFarm => {
                let sims: Vec<u64> = (0..r.range(20, 100)).map(|_| sim()).collect();
                for &s in &sims {
                    for _ in 0..r.range(1, 4) {
                        senders.push(s);
                    }
                }
                // Shuffle, so that new SIMs keep joining during the campaign.
                for k in (1..senders.len()).rev() {
                    senders.swap(k, r.below(k + 1));
                }
                recipients = senders.iter().map(|_| subscriber(r)).collect();
                if r.chance(0.7) {
                    activated = Some(self.cfg.start - r.range(0, 3 * 86_400) as i64);
                }
                if r.chance(0.6) || unwanted == 0 {
                    let t = r.below(CAMPAIGNS.len());
                    label = CAMPAIGNS[t].1;
                    content = Content::Template(t);
                } else {
                    let t = r.below(unwanted);
                    label = self.corpus.unwanted[t].1;
                    // A campaign gives its readers a way to reach it: a real spam text
                    // without one (a rant, a chain letter) gets one, as a SIM farm would add.
                    let text = &self.corpus.unwanted[t].0;
                    let has_channel = Fingerprinter::default().fingerprint(text).call_to_action;
                    let lead = (!has_channel).then(|| *r.pick(&["LH", "Zalo", "Chi tiet:", "Call"]).unwrap_or(&"LH"));
                    content = Content::Real(t, lead);
                }
            }
            EventKind::Repeat => {
                (senders, recipients) = fan_out(sim(), r.range(20, 80), r);
                let t = r.below(CAMPAIGNS.len());
                label = CAMPAIGNS[t].1;
                content = Content::Fixed(t, Slots::random(r));
                if r.chance(0.3) {
                    activated = Some(self.cfg.start - r.range(0, 5 * 86_400) as i64);
                }
            }
            EventKind::Burst => {
                let n = r.range(25, 60);
                let targets: Vec<u64> = (0..r.range(3, 30)).map(|_| subscriber(r)).collect();
                senders = vec![sim(); n as usize];
                recipients = (0..n).map(|_| *r.pick(&targets).unwrap_or(&0)).collect();
                content = Content::Mixed;
            }
            EventKind::Flood => {
                let victim = subscriber(r);
                let n = r.range(20, 50);
                senders = vec![u64::MAX; n as usize];
                recipients = vec![victim; n as usize];
                content = Content::Otp;
            }
            EventKind::Unrelated => {
                (senders, recipients) = fan_out(sim(), r.range(25, 45), r);
                content = Content::Mixed;
            }
            EventKind::NewSim => {
                (senders, recipients) = fan_out(sim(), r.range(8, 18), r);
                activated = Some(self.cfg.start - r.range(0, 2 * 86_400) as i64);
                content = Content::Mixed;
            }
        }
        Event {
            kind,
            name: format!("{}-{i}", kind.as_str()),
            label,
            content,
            rng,
            senders,
            recipients,
            activated,
            sent: Vec::new(),
        }
    }

    /// The text of an event's next message.
    fn event_text(corpus: &Corpus, e: &mut Event) -> (String, Option<&'static str>) {
        let r = &mut e.rng;
        match &e.content {
            Content::Template(t) => (Slots::random(r).fill(CAMPAIGNS[*t].0), None),
            Content::Fixed(t, slots) => {
                let mut s = slots.clone();
                s.link = templates::link(r);
                (s.fill(CAMPAIGNS[*t].0), None)
            }
            Content::Real(t, lead) => {
                let greet = r.chance(0.5).then(|| *r.pick(templates::NAMES).unwrap_or(&"ban"));
                let mut text = templates::vary_real(&corpus.unwanted[*t].0, r, greet);
                if let Some(lead) = lead {
                    let channel = if r.chance(0.5) {
                        templates::phone_text(r)
                    } else {
                        templates::link(r)
                    };
                    text = format!("{text} {lead} {channel}");
                }
                (text, None)
            }
            Content::Mixed => {
                let t = r.below(corpus.unwanted.len());
                let text = corpus.unwanted.get(t).map_or("", |u| u.0.as_str());
                (templates::vary_real(text, r, None), None)
            }
            Content::Otp => {
                let brand = *r.pick(BRANDS).unwrap_or(&"Vietcombank");
                (templates::otp(brand, r), Some(brand))
            }
        }
    }

    /// When a subscriber's SIM was activated: long ago for most, in the last days for one
    /// in two hundred.
    fn activation(&self, idx: u64) -> i64 {
        let h = splitmix(idx ^ 0xac71_7a7e);
        if h.is_multiple_of(200) {
            self.cfg.start - (h >> 8) as i64 % (6 * 86_400)
        } else {
            self.cfg.start - (30 + (h >> 8) as i64 % 3000) * 86_400
        }
    }

    fn event_message(&mut self, at: i64, e: u32, j: u32) -> TrafficMessage {
        let (text, brand) = Self::event_text(self.corpus, &mut self.events[e as usize]);
        let limits = self.limits.clone();
        let ev = &mut self.events[e as usize];
        let (s, r) = (ev.senders[j as usize], ev.recipients[j as usize]);
        ev.sent.push((at, s, r));
        let over = ev.over(&limits, at);
        let known = ev.activated;
        let activated = brand.is_none().then(|| known.unwrap_or_else(|| self.activation(s)));
        let ev = &self.events[e as usize];
        TrafficMessage {
            id: String::new(),
            received_at: rfc3339(at),
            at,
            sender: brand.map_or_else(|| number(s), str::to_string),
            recipient: number(r),
            text,
            label: ev.label,
            event: ev.name.clone(),
            over_threshold: Some(over),
            sim_activated_at: activated.map(rfc3339),
            sender_index: brand.is_none().then_some(s),
            activated_at: activated,
        }
    }

    /// Makes the next minute of traffic.
    fn fill(&mut self) {
        let (start, end) = (self.chunk, (self.chunk + CHUNK).min(self.end));
        self.chunk = end;
        let last = end >= self.end;
        let mut n = if last {
            self.background_total - self.background_done
        } else {
            self.carry += self.background_total as f64 * hourly_weight(start) / self.weight_sum;
            let n = self.carry.floor();
            self.carry -= n;
            (n as usize).min(self.background_total - self.background_done)
        };
        self.background_done += n;
        let mut out: Vec<TrafficMessage> = Vec::with_capacity(n + 8);
        while n > 0 {
            let at = start + self.rng.range(0, (end - start - 1).max(0) as u64) as i64;
            let made = self.background(at, end, n, &mut out);
            n -= made;
        }
        while let Some(&(t, e, j)) = self.schedule.get(self.next_scheduled)
            && (t < end || last)
        {
            self.next_scheduled += 1;
            let m = self.event_message(t, e, j);
            out.push(m);
        }
        out.sort_by_key(|m| m.at);
        self.buffer.extend(out);
    }

    /// Makes up to `budget` background messages starting at `at`; returns how many.
    fn background(&mut self, at: i64, end: i64, budget: usize, out: &mut Vec<TrafficMessage>) -> usize {
        let r = &mut self.rng;
        if r.chance(0.25) {
            let brand = *r.pick(BRANDS).unwrap_or(&"Vietcombank");
            let to = r.range(0, self.population - 1);
            let hour = chanrac_core::message::vietnam_hour(at);
            let (text, label) = match r.below(20) {
                0..=7 => (templates::otp(brand, r), Category::Ham),
                8..=13 => (templates::notice(brand, r), Category::Ham),
                14..=16 if (8..21).contains(&hour) => (templates::ad(brand, r), Category::Ad),
                _ => {
                    let t = r.pick(&self.corpus.brand).cloned().unwrap_or_default();
                    (t, Category::Ham)
                }
            };
            out.push(TrafficMessage {
                id: String::new(),
                received_at: rfc3339(at),
                at,
                sender: brand.to_string(),
                recipient: number(to),
                text,
                label,
                event: "background".into(),
                over_threshold: None,
                sim_activated_at: None,
                sender_index: None,
                activated_at: None,
            });
            return 1;
        }
        // A subscriber writes to one of their contacts, sometimes a few messages in a row.
        let pop = self.population;
        let from = ((pop as f64) * r.f64().powf(1.3)) as u64 % pop;
        let contacts = 3 + splitmix(from) % 25;
        let k = ((contacts as f64) * r.f64() * r.f64()) as u64;
        let mut to = splitmix(from ^ splitmix(k + 1)) % pop;
        if to == from {
            to = (to + 1) % pop;
        }
        let follow_ups = if r.chance(0.2) { r.range(1, 2) as usize } else { 0 };
        let count = (1 + follow_ups).min(budget);
        let activated_at = self.activation(from);
        let activated = Some(rfc3339(activated_at));
        let mut t = at;
        for _ in 0..count {
            let r = &mut self.rng;
            let vi = r.chance(0.55);
            let pool = if vi { &self.corpus.ham_vi } else { &self.corpus.ham_en };
            let mut text = r.pick(pool).cloned().unwrap_or_default();
            if text.len() < 40 && r.chance(0.4) {
                text.push(' ');
                text.push_str(r.pick(pool).map_or("", String::as_str));
            }
            out.push(TrafficMessage {
                id: String::new(),
                received_at: rfc3339(t),
                at: t,
                sender: number(from),
                recipient: number(to),
                text,
                label: Category::Ham,
                event: "background".into(),
                over_threshold: None,
                sim_activated_at: activated.clone(),
                sender_index: Some(from),
                activated_at: Some(activated_at),
            });
            t = (t + self.rng.range(15, 100) as i64).min(end - 1);
        }
        count
    }
}

impl Iterator for Generator<'_> {
    type Item = TrafficMessage;

    fn next(&mut self) -> Option<TrafficMessage> {
        loop {
            if let Some(mut m) = self.buffer.pop_front() {
                self.seq += 1;
                m.id = format!("m{}", self.seq);
                return Some(m);
            }
            if self.chunk >= self.end {
                return None;
            }
            self.fill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Corpus {
        Corpus::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")).unwrap()
    }

    #[test]
    fn numbers_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000 {
            let n = number(i);
            assert!(seen.insert(n.clone()), "{n}");
            let p = chanrac_core::phone::parse_number(&n).unwrap().unwrap();
            assert_eq!(p.kind, chanrac_core::phone::PhoneKind::VnMobile);
            assert_eq!(p.key, n);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_traffic() {
        let c = corpus();
        let policy = Policy::default();
        let lines = |seed| -> Vec<String> {
            let cfg = TrafficConfig {
                messages: 3000,
                seed,
                ..TrafficConfig::default()
            };
            Generator::new(&cfg, &c, &policy)
                .map(|m| serde_json::to_string(&m).unwrap())
                .collect()
        };
        assert_eq!(lines(42), lines(42));
        assert_ne!(lines(42), lines(43));
    }

    #[test]
    fn traffic_is_ordered_labeled_and_complete() {
        let c = corpus();
        let cfg = TrafficConfig {
            messages: 20_000,
            seed: 3,
            ..TrafficConfig::default()
        };
        let all: Vec<TrafficMessage> = Generator::new(&cfg, &c, &Policy::default()).collect();
        assert_eq!(all.len(), 20_000);
        assert!(all.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(all.iter().all(|m| m.at >= cfg.start && m.at < cfg.start + 86_400));
        for kind in EventKind::ALL {
            let msgs: Vec<&TrafficMessage> = all
                .iter()
                .filter(|m| EventKind::of_event(&m.event) == Some(kind))
                .collect();
            assert!(!msgs.is_empty(), "{kind:?}");
            // Every event starts below its threshold and ends above it.
            assert_eq!(msgs[0].over_threshold, Some(false), "{kind:?}");
            assert!(msgs.iter().any(|m| m.over_threshold == Some(true)), "{kind:?}");
            assert!(msgs.iter().all(|m| m.label.is_unwanted()), "{kind:?}");
        }
        let background = all.iter().filter(|m| m.event == "background").count();
        let injected = all.len() - background;
        assert!(injected > 500 && injected < 2000, "{injected}");
        assert!(all.iter().any(|m| m.label == Category::Ad));
        assert_eq!(
            all.iter().filter(|m| m.event == "background").map(|m| m.label).max(),
            Some(Category::Ad)
        );
    }

    #[test]
    fn event_labels_parse() {
        assert_eq!(EventKind::of_event("sim_farm-12"), Some(EventKind::SimFarm));
        assert_eq!(EventKind::of_event("new_sim-0"), Some(EventKind::NewSim));
        assert_eq!(EventKind::of_event("background"), None);
    }
}
