//! Frequency, fan-out and campaign detectors: the [`Velocity`] stateful detector.
//!
//! The rules ask operators to block spam "by frequency and sending source" and to find the
//! SIMs that spread it. `Velocity` names, for every message, the counters it touches; the
//! caller updates and reads them in one batch (see [`crate::state`]); `Velocity` then
//! compares the values with the limits of the policy's `[velocity]` section
//! ([`VelocityPolicy`]) and emits:
//!
//! | signal | counter | key |
//! |---|---|---|
//! | `SENDER_BURST` | messages per sender per window | `s:<sender>` count |
//! | `SENDER_FANOUT` | distinct recipients per sender per window | `s:<sender>` history |
//! | `NEW_SIM_BURST` | the same, for a SIM activated recently | `s:<sender>` history |
//! | `SENDER_UNRELATED` | share of messages to numbers not messaged before | `s:<sender>` history |
//! | `RECIPIENT_FLOOD` | messages to one recipient from anyone | `t:<recipient>` count |
//! | `CAMPAIGN_BULK` | distinct senders of near-duplicate text | `c:<band>` distinct, one per LSH band |
//! | `CAMPAIGN_REPEAT` | distinct recipients of one text from one sender | `r:<sender, text>` distinct |
//!
//! Per-sender detectors watch subscriber numbers (and malformed or unknown numbers, which
//! are spoofing signs); brandnames and short codes send in bulk by nature and are left out
//! unless `velocity.watch_brandnames` is set. Campaign counters take only texts long enough
//! to be told apart from common phrases ([`crate::fingerprint::MIN_TOKENS`]) and with a
//! call to action (a link, a phone number, an account, a contact word): canned replies,
//! greetings and chain letters are sent word for word by many people, and are not campaigns.

use std::fmt::Write as _;

use serde::Deserialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::ConfigError;
use crate::message::Message;
use crate::phone::{SenderId, parse_number};
use crate::signal::SignalInfo;
use crate::state::{MAX_WINDOW_SECS, StateDetector, StateInput, StateKey, StateOp, StateSignal, Windows};
use crate::verdict::{Action, Category};

pub use crate::state::HISTORY_CAPACITY;

/// The signals of the velocity detector.
pub const SIGNALS: &[SignalInfo] = &[
    SignalInfo {
        id: "SENDER_BURST",
        weight: 2.5,
        category: Category::Spam,
        meaning: "The sender sent more messages in a window than the policy allows (velocity.sender_burst).",
    },
    SignalInfo {
        id: "SENDER_FANOUT",
        weight: 3.0,
        category: Category::Spam,
        meaning: "The sender wrote to more distinct recipients in a window than the policy allows (velocity.sender_fanout).",
    },
    SignalInfo {
        id: "RECIPIENT_FLOOD",
        weight: 4.0,
        category: Category::Spam,
        meaning: "The recipient received more messages, from anyone, in a window than the policy allows (velocity.recipient_flood).",
    },
    SignalInfo {
        id: "CAMPAIGN_BULK",
        weight: 5.0,
        category: Category::Spam,
        meaning: "Near-duplicate text came from more distinct senders in a window than the policy allows: a SIM farm (velocity.campaign_bulk).",
    },
    SignalInfo {
        id: "CAMPAIGN_REPEAT",
        weight: 4.0,
        category: Category::Spam,
        meaning: "The sender sent the same text to more distinct recipients in a window than the policy allows (velocity.campaign_repeat).",
    },
    SignalInfo {
        id: "NEW_SIM_BURST",
        weight: 4.0,
        category: Category::Spam,
        meaning: "A SIM activated in the last days (sender.new_sim_days) wrote to many distinct recipients (velocity.new_sim_fanout).",
    },
    SignalInfo {
        id: "SENDER_UNRELATED",
        weight: 2.0,
        category: Category::Spam,
        meaning: "Most of the sender's recent messages went to numbers it had not messaged before (Circular 22's unrelated ratio, velocity.unrelated).",
    },
];

/// A limit: more than `max` in `window_secs` seconds fires the signal.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// The window, in seconds.
    pub window_secs: u32,
    /// The most allowed in the window; one more fires.
    pub max: u32,
}

const fn limit(window_secs: u32, max: u32) -> Limit {
    Limit { window_secs, max }
}

/// Circular 22's "unrelated ratio": the share of a sender's messages that go to numbers it
/// had not messaged before.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Unrelated {
    /// The window over which messages are counted: default 86400 (one day).
    pub window_secs: u32,
    /// The ratio is judged only from this many messages in the window: default 10.
    pub min_messages: u32,
    /// The share (0–1) of messages to new numbers at or above which the signal fires:
    /// default 0.8.
    pub ratio: f64,
    /// How long a recipient stays known after the sender's last message to it, in days:
    /// default 30.
    pub history_days: u32,
}

impl Default for Unrelated {
    fn default() -> Self {
        Unrelated {
            window_secs: 86_400,
            min_messages: 10,
            ratio: 0.8,
            history_days: 30,
        }
    }
}

/// The `[velocity]` section of the policy: limits of the frequency, fan-out and campaign
/// detectors. The law sets no numbers; the defaults are the ministry's proposal for
/// ordinary SIMs where there is one (`REGULATION.md`) and chanrac's starting values
/// elsewhere.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VelocityPolicy {
    /// `SENDER_BURST`: messages per sender (at most 4 windows). Default: 5 per 5 min, 20
    /// per hour, 50 per day (the ministry's proposal for ordinary SIMs).
    pub sender_burst: Vec<Limit>,
    /// `SENDER_FANOUT`: distinct recipients per sender. Default: 10 per hour, 30 per day.
    /// Each `max` must be below 64 (the history holds 64 recipients).
    pub sender_fanout: Vec<Limit>,
    /// `RECIPIENT_FLOOD`: messages to one recipient from anyone (at most 4 windows).
    /// Default: 10 per 10 min.
    pub recipient_flood: Vec<Limit>,
    /// `CAMPAIGN_BULK`: distinct senders of near-duplicate text. Default: 10 per hour.
    pub campaign_bulk: Limit,
    /// `CAMPAIGN_REPEAT`: distinct recipients of the same text from one sender. Default: 8
    /// per hour.
    pub campaign_repeat: Limit,
    /// `NEW_SIM_BURST`: distinct recipients of a SIM activated fewer than
    /// `sender.new_sim_days` days before. Default: 5 per hour.
    pub new_sim_fanout: Limit,
    /// `SENDER_UNRELATED`: the unrelated ratio.
    pub unrelated: Unrelated,
    /// Watch brandnames, short codes and service numbers with the per-sender detectors
    /// too: default false (they send in bulk by nature).
    pub watch_brandnames: bool,
    /// The least action taken when the shared state cannot be read (the store is down or
    /// slow): `allow` (default) fails open — the message is judged on its content alone,
    /// with `DETECTOR_FAILED` — while `tag`, `quarantine` or `block` fail closed.
    pub on_state_failure: Action,
}

impl Default for VelocityPolicy {
    fn default() -> Self {
        VelocityPolicy {
            sender_burst: vec![limit(300, 5), limit(3_600, 20), limit(86_400, 50)],
            sender_fanout: vec![limit(3_600, 10), limit(86_400, 30)],
            recipient_flood: vec![limit(600, 10)],
            campaign_bulk: limit(3_600, 10),
            campaign_repeat: limit(3_600, 8),
            new_sim_fanout: limit(3_600, 5),
            unrelated: Unrelated::default(),
            watch_brandnames: false,
            on_state_failure: Action::Allow,
        }
    }
}

impl VelocityPolicy {
    /// Checks the limits; errors name the policy file and the key.
    pub fn validate(&self, name: &str) -> Result<(), ConfigError> {
        let bad = |what: String| Err(ConfigError::Invalid(format!("{name}: velocity.{what}")));
        let lists = [
            ("sender_burst", &self.sender_burst),
            ("sender_fanout", &self.sender_fanout),
            ("recipient_flood", &self.recipient_flood),
        ];
        for (key, list) in lists {
            if list.len() > crate::state::MAX_WINDOWS {
                return bad(format!("{key} has {} limits; at most 4", list.len()));
            }
        }
        let singles = [
            ("campaign_bulk", &self.campaign_bulk),
            ("campaign_repeat", &self.campaign_repeat),
            ("new_sim_fanout", &self.new_sim_fanout),
        ];
        let all = lists
            .iter()
            .flat_map(|(k, l)| l.iter().map(move |x| (*k, x)))
            .chain(singles.iter().map(|(k, l)| (*k, *l)));
        for (key, l) in all {
            if l.window_secs == 0 || l.window_secs > MAX_WINDOW_SECS {
                return bad(format!(
                    "{key}: window_secs must be 1..={MAX_WINDOW_SECS}, not {}",
                    l.window_secs
                ));
            }
        }
        for l in self.sender_fanout.iter().chain([&self.new_sim_fanout]) {
            if l.max as usize >= HISTORY_CAPACITY {
                return bad(format!(
                    "sender_fanout / new_sim_fanout: max must be below {HISTORY_CAPACITY}, not {}",
                    l.max
                ));
            }
        }
        if history_windows(self).is_none() {
            return bad("sender_fanout and new_sim_fanout use more than 4 distinct windows".into());
        }
        let u = &self.unrelated;
        if !(u.ratio > 0.0 && u.ratio <= 1.0) {
            return bad(format!("unrelated.ratio must be in (0, 1], not {}", u.ratio));
        }
        if u.window_secs == 0 || u.window_secs > MAX_WINDOW_SECS {
            return bad(format!("unrelated.window_secs must be 1..={MAX_WINDOW_SECS}"));
        }
        if u.history_days == 0 || u.history_days > MAX_WINDOW_SECS / 86_400 {
            return bad("unrelated.history_days must be 1..=90".into());
        }
        Ok(())
    }
}

/// The distinct windows of the sender history: fan-out windows, then the new-SIM window.
fn history_windows(p: &VelocityPolicy) -> Option<Windows> {
    let mut w: Vec<u32> = p.sender_fanout.iter().map(|l| l.window_secs).collect();
    if !w.contains(&p.new_sim_fanout.window_secs) {
        w.push(p.new_sim_fanout.window_secs);
    }
    Windows::new(&w)
}

fn windows_of(limits: &[Limit]) -> Windows {
    Windows::new(&limits.iter().map(|l| l.window_secs).collect::<Vec<_>>()).unwrap_or_default()
}

/// The frequency, fan-out and campaign detector.
#[derive(Debug, Clone)]
pub struct Velocity {
    p: VelocityPolicy,
    new_sim_days: u32,
    burst: Windows,
    history: Windows,
    flood: Windows,
    bulk: Windows,
    repeat: Windows,
}

impl Velocity {
    /// The detector for a policy (validated by [`crate::Policy::from_toml`]; limits beyond
    /// what a store can hold are cut to 4 windows).
    pub fn new(policy: &crate::Policy) -> Velocity {
        let p = policy.velocity.clone();
        Velocity {
            burst: windows_of(&p.sender_burst),
            history: history_windows(&p).unwrap_or_default(),
            flood: windows_of(&p.recipient_flood),
            bulk: windows_of(&[p.campaign_bulk]),
            repeat: windows_of(&[p.campaign_repeat]),
            new_sim_days: policy.sender.new_sim_days,
            p,
        }
    }

    /// The key a sender is counted under, if the per-sender detectors watch it.
    fn sender_key<'a>(&self, sender: &'a SenderId) -> Option<&'a str> {
        match sender {
            SenderId::Unknown => None,
            SenderId::Malformed(..) | SenderId::OtherNumber(_) => sender.key(),
            s if s.is_subscriber() || self.p.watch_brandnames => s.key(),
            _ => None,
        }
    }
}

/// `prefix` and `body` in one string of exactly their size (keys are built for every
/// message: no formatting machinery, one allocation).
fn named(prefix: &str, body: &str) -> String {
    let mut k = String::with_capacity(prefix.len() + body.len());
    k.push_str(prefix);
    k.push_str(body);
    k
}

/// `prefix` and `n` in 16 lower-case hex digits (what `format!("{prefix}{n:016x}")` gives).
fn hex_named(prefix: &str, n: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut k = String::with_capacity(prefix.len() + 16);
    k.push_str(prefix);
    for i in (0..16).rev() {
        k.push(HEX[(n >> (i * 4)) as usize & 15] as char);
    }
    k
}

/// The canonical key of a recipient: its phone key, or the raw field cut to 32 bytes.
fn recipient_key(msg: &Message) -> Option<String> {
    let raw = msg.recipient.as_deref()?.trim();
    if raw.is_empty() {
        return None;
    }
    if let Ok(Some(p)) = parse_number(raw) {
        return Some(p.key);
    }
    let mut end = raw.len().min(32);
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    Some(raw[..end].to_string())
}

impl StateDetector for Velocity {
    fn name(&self) -> &'static str {
        "velocity"
    }

    fn signals_info(&self) -> &'static [SignalInfo] {
        SIGNALS
    }

    fn keys(&self, input: &StateInput<'_>, out: &mut Vec<StateKey>) {
        let sender = self.sender_key(input.sender);
        let recipient = recipient_key(input.msg);
        let r_hash = recipient.as_deref().map(|r| xxh3_64(r.as_bytes()));
        if let Some(s) = sender {
            let key = named("s:", s);
            if !self.burst.is_empty() {
                out.push(StateKey {
                    key: key.clone(),
                    op: StateOp::Count { windows: self.burst },
                });
            }
            if let Some(member) = r_hash {
                out.push(StateKey {
                    key,
                    op: StateOp::History {
                        member,
                        windows: self.history,
                        new_window: self.p.unrelated.window_secs,
                        history: self.p.unrelated.history_days * 86_400,
                    },
                });
            }
        }
        if let Some(r) = &recipient
            && !self.flood.is_empty()
        {
            out.push(StateKey {
                key: named("t:", r),
                op: StateOp::Count { windows: self.flood },
            });
        }
        let fp = input.fingerprint;
        if let Some(s) = sender
            && fp.is_campaign_candidate()
        {
            let s_hash = xxh3_64(s.as_bytes());
            for band in fp.bands {
                out.push(StateKey {
                    key: hex_named("c:", band),
                    op: StateOp::Distinct {
                        member: s_hash,
                        windows: self.bulk,
                    },
                });
            }
            if let Some(member) = r_hash {
                let pair = crate::fingerprint::mix(s_hash ^ fp.exact.rotate_left(17));
                out.push(StateKey {
                    key: hex_named("r:", pair),
                    op: StateOp::Distinct {
                        member,
                        windows: self.repeat,
                    },
                });
            }
        }
    }

    fn signals(&self, msg: &Message, keys: &[StateKey], values: &[u64], out: &mut Vec<StateSignal>) {
        let mut at = 0;
        let mut bulk = 0u64;
        for k in keys {
            let n = k.op.arity();
            let Some(v) = values.get(at..at + n) else {
                return;
            };
            at += n;
            match (k.key.as_bytes().first(), &k.op) {
                (Some(b's'), StateOp::Count { .. }) => {
                    if let Some(e) = worst(&self.p.sender_burst, v, "messages") {
                        out.push(StateSignal {
                            id: "SENDER_BURST",
                            evidence: e,
                        });
                    }
                }
                (Some(b's'), StateOp::History { windows, .. }) => self.history_signals(msg, windows, v, out),
                (Some(b't'), _) => {
                    if let Some(e) = worst(&self.p.recipient_flood, v, "messages to this recipient") {
                        out.push(StateSignal {
                            id: "RECIPIENT_FLOOD",
                            evidence: e,
                        });
                    }
                }
                (Some(b'c'), _) => bulk = bulk.max(v[0]),
                (Some(b'r'), _) => {
                    if let Some(e) = worst(&[self.p.campaign_repeat], v, "recipients of the same text") {
                        out.push(StateSignal {
                            id: "CAMPAIGN_REPEAT",
                            evidence: e,
                        });
                    }
                }
                _ => {}
            }
        }
        if let Some(e) = worst(&[self.p.campaign_bulk], &[bulk], "senders of near-duplicate text") {
            out.push(StateSignal {
                id: "CAMPAIGN_BULK",
                evidence: e,
            });
        }
    }
}

impl Velocity {
    fn history_signals(&self, msg: &Message, windows: &Windows, v: &[u64], out: &mut Vec<StateSignal>) {
        let nw = windows.len();
        let distinct = |w: u32| windows.as_slice().iter().position(|&x| x == w).map(|i| v[i]);
        let fanout: Vec<u64> = self
            .p
            .sender_fanout
            .iter()
            .map(|l| distinct(l.window_secs).unwrap_or(0))
            .collect();
        if let Some(e) = worst(&self.p.sender_fanout, &fanout, "recipients") {
            out.push(StateSignal {
                id: "SENDER_FANOUT",
                evidence: e,
            });
        }
        if let (Some(activated), Some(at)) = (msg.meta.sim_activated_at, msg.received_at) {
            let days = (at - activated).div_euclid(86_400);
            let l = self.p.new_sim_fanout;
            if (0..self.new_sim_days as i64).contains(&days)
                && let Some(e) = worst(&[l], &[distinct(l.window_secs).unwrap_or(0)], "recipients")
            {
                out.push(StateSignal {
                    id: "NEW_SIM_BURST",
                    evidence: format!("SIM activated {days} days before; {e}"),
                });
            }
        }
        let (new, total) = (v[nw], v[nw + 1]);
        let u = &self.p.unrelated;
        if total >= u.min_messages as u64 && new as f64 >= u.ratio * total as f64 {
            out.push(StateSignal {
                id: "SENDER_UNRELATED",
                evidence: format!(
                    "{new} of {total} messages in {} to numbers not messaged in the {} days before (limit {:.0}%)",
                    duration(u.window_secs),
                    u.history_days,
                    u.ratio * 100.0
                ),
            });
        }
    }
}

/// The evidence for the limit exceeded the most (by ratio), if any.
fn worst(limits: &[Limit], values: &[u64], what: &str) -> Option<String> {
    let (l, v) = limits
        .iter()
        .zip(values)
        .filter(|(l, v)| **v > l.max as u64)
        .max_by(|(la, va), (lb, vb)| {
            let ra = **va as f64 / (la.max as f64 + 1.0);
            let rb = **vb as f64 / (lb.max as f64 + 1.0);
            ra.total_cmp(&rb)
        })?;
    let mut e = String::new();
    let _ = write!(e, "{v} {what} in {} (limit {})", duration(l.window_secs), l.max);
    Some(e)
}

/// `300` → `5 min`, `3600` → `1 h`, `86400` → `24 h`.
fn duration(secs: u32) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_bodies() {
        assert_eq!(named("s:", "+84912345678"), "s:+84912345678");
        for n in [0, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(hex_named("c:", n), format!("c:{n:016x}"));
        }
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(300), "5 min");
        assert_eq!(duration(3600), "1 h");
        assert_eq!(duration(86_400), "24 h");
        assert_eq!(duration(90), "90 s");
    }

    #[test]
    fn worst_picks_the_largest_excess() {
        let limits = [limit(300, 5), limit(3600, 20)];
        assert_eq!(worst(&limits, &[5, 20], "messages"), None);
        assert_eq!(
            worst(&limits, &[6, 40], "messages").as_deref(),
            Some("40 messages in 1 h (limit 20)")
        );
    }

    #[test]
    fn default_policy_is_valid() {
        VelocityPolicy::default().validate("p").unwrap();
    }

    #[test]
    fn invalid_limits_are_refused() {
        type Break = fn(&mut VelocityPolicy);
        let cases: &[(Break, &str)] = &[
            (|p| p.sender_fanout[0].max = 64, "below 64"),
            (|p| p.unrelated.ratio = 1.5, "ratio"),
            (|p| p.unrelated.history_days = 0, "history_days"),
            (|p| p.sender_burst = vec![limit(1, 1); 5], "at most 4"),
            (|p| p.campaign_bulk.window_secs = 0, "window_secs"),
            (
                |p| p.recipient_flood[0].window_secs = MAX_WINDOW_SECS + 1,
                "window_secs",
            ),
            (
                |p| p.sender_fanout = vec![limit(1, 1), limit(2, 1), limit(3, 1), limit(4, 1)],
                "4 distinct windows",
            ),
        ];
        for (i, (f, want)) in cases.iter().enumerate() {
            let mut p = VelocityPolicy::default();
            f(&mut p);
            let e = p.validate("p.toml").unwrap_err().to_string();
            assert!(e.starts_with("p.toml: velocity.") && e.contains(want), "case {i}: {e}");
        }
    }

    #[test]
    fn recipients_are_canonical() {
        let m = Message::text("x").to("0912 345 678");
        assert_eq!(recipient_key(&m).as_deref(), Some("+84912345678"));
        let m = Message::text("x").to("  ");
        assert_eq!(recipient_key(&m), None);
        let long = "ạ".repeat(40);
        let m = Message::text("x").to(long.as_str());
        assert!(recipient_key(&m).unwrap().len() <= 32);
    }
}
