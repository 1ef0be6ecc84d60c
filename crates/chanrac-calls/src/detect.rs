//! Per-caller detection over sliding windows.
//!
//! For every caller the detector keeps the calls of the last `window_secs` in a ring (start
//! time and a byte of flags each) with running sums of the flags, so each record costs a few
//! additions, subtractions and three hash lookups (the caller, the callee in the caller's
//! memory, the callee's own count of incoming calls), whatever the window holds. "Distinct
//! callees in the window" is exact: the flag `DISTINCT` sits on the latest call to each
//! callee and moves when the callee is called again.
//!
//! Records should come in time order, as a switch writes them; a record older than its
//! caller's latest is counted at the caller's latest time (so windows never run backwards).

use std::collections::{HashMap, HashSet, VecDeque};

use chanrac_core::Lists;
use chanrac_core::message::vietnam_hour;
use foldhash::fast::FixedState;
use serde::Serialize;

use crate::cdr::{Cdr, Origin, rfc3339_vietnam};
use crate::number::{Number, NumberKind};
use crate::policy::CallPolicy;
use crate::signal::{CallCategory, CallSignal};

type Map<K, V> = HashMap<K, V, FixedState>;
type Set<K> = HashSet<K, FixedState>;

/// Facts from outside the call records that the detector uses; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Allow and block lists (their `senders`): an allowed caller is never suspected, a
    /// blocked one is (`LISTED_BLOCK`).
    pub lists: Lists,
    /// Numbers on the Do-Not-Call list for ad calls.
    pub dnc: HashSet<Number>,
    /// Registered advertisers' numbers: their calls are ad calls.
    pub advertisers: HashSet<Number>,
    /// Vietnamese numbers known to be roaming abroad: their calls on an international
    /// route are not spoofed.
    pub roaming: HashSet<Number>,
    /// SMS sent per number over the same period (`SMS_MANY_CALLS_FEW`).
    pub sms_sent: HashMap<Number, u64>,
}

const ANSWERED: u8 = 1;
const SHORT: u8 = 2;
const GAP: u8 = 4;
const NEW: u8 = 8;
const DISTINCT: u8 = 16;
const ONE_RING: u8 = 32;
const SEQ: u8 = 64;
const LONG: u8 = 128;

#[derive(Debug, Clone, Copy)]
struct Ev {
    at: i64,
    flags: u8,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums([u32; 8]);

impl Sums {
    #[inline]
    fn apply(&mut self, flags: u8, add: bool) {
        for (bit, n) in self.0.iter_mut().enumerate() {
            if flags & (1 << bit) != 0 {
                if add {
                    *n += 1;
                } else {
                    *n -= 1;
                }
            }
        }
    }

    fn get(&self, flag: u8) -> u32 {
        self.0[flag.trailing_zeros() as usize]
    }
}

/// One signal's firing, as measured at its peak.
#[derive(Debug, Clone, Copy)]
struct Fire {
    signal: CallSignal,
    first_at: i64,
    /// How many calls it fired on.
    count: u32,
    /// The measure at its peak (calls, callees…) and what it was out of.
    peak: u32,
    of: u32,
    /// A number that illustrates it (a presented number, a DNC callee…).
    example: Number,
}

/// A callee in a caller's memory.
#[derive(Debug, Clone, Copy)]
struct Seen {
    last: i64,
    seq: u64,
    day_first: i64,
    day_count: u32,
}

/// The callees a caller has called: a short list while there are few (most callers), a
/// hash map beyond.
#[derive(Debug, Default)]
struct Callees {
    few: Vec<(Number, Seen)>,
    many: Map<Number, Seen>,
}

const FEW_CALLEES: usize = 16;

impl Callees {
    #[inline]
    fn get_mut(&mut self, n: &Number) -> Option<&mut Seen> {
        if self.many.is_empty() {
            self.few.iter_mut().find(|(k, _)| k == n).map(|(_, s)| s)
        } else {
            self.many.get_mut(n)
        }
    }

    fn len(&self) -> usize {
        self.few.len() + self.many.len()
    }

    fn insert(&mut self, n: Number, seen: Seen) {
        if self.many.is_empty() && self.few.len() < FEW_CALLEES {
            self.few.push((n, seen));
            return;
        }
        if self.many.is_empty() {
            self.many.extend(self.few.drain(..));
        }
        self.many.insert(n, seen);
    }
}

/// The sliding-window state of a number that calls.
#[derive(Debug)]
struct Active {
    ring: VecDeque<Ev>,
    seq0: u64,
    rate_head: u64,
    sums: Sums,
    callees: Callees,
    full: bool,
    last_end: i64,
    prev_callee: Option<Number>,
    prev_step: i64,
    dnc_callees: u32,
    abroad: bool,
    fired: Vec<Fire>,
}

impl Active {
    fn new() -> Active {
        Active {
            ring: VecDeque::new(),
            seq0: 0,
            rate_head: 0,
            sums: Sums::default(),
            callees: Callees::default(),
            full: false,
            last_end: i64::MIN,
            prev_callee: None,
            prev_step: 0,
            dnc_callees: 0,
            abroad: false,
            fired: Vec::new(),
        }
    }

    #[inline]
    fn fire(&mut self, signal: CallSignal, at: i64, peak: u32, of: u32, example: Number) {
        if let Some(f) = self.fired.iter_mut().find(|f| f.signal == signal) {
            f.count += 1;
            if peak > f.peak {
                (f.peak, f.of, f.example) = (peak, of, example);
            }
            return;
        }
        self.fired.push(Fire {
            signal,
            first_at: at,
            count: 1,
            peak,
            of,
            example,
        });
    }
}

const ALLOWED: u8 = 1;
const BLOCKED: u8 = 2;
const ADVERTISER: u8 = 4;

/// What the detector knows of one number.
#[derive(Debug, Default)]
struct NumState {
    outgoing: u32,
    first_at: i64,
    last_at: i64,
    flags: u8,
    active: Option<Active>,
}

/// The detector: feed it records with [`Detector::push`], read the suspects with
/// [`Detector::suspects`]. Pure: no I/O, no clock (windows run on the records' times).
///
/// ```
/// use chanrac_calls::{CallPolicy, Detector, Inputs, Number, Cdr, Origin};
///
/// let mut d = Detector::new(CallPolicy::default(), Inputs::default());
/// let gateway = Number::parse("+85512345678").unwrap();
/// d.push(&Cdr {
///     start: 1_795_312_800,
///     caller: gateway,
///     displayed: Number::parse("0912345678").unwrap(),
///     callee: Number::parse("0987654321").unwrap(),
///     duration_s: 40,
///     answered: true,
///     origin: Origin::International,
///     label: None,
/// });
/// let s = d.suspects();
/// assert_eq!(s[0].number, "+85512345678");
/// assert_eq!(s[0].category.as_str(), "spoofed");
/// ```
#[derive(Debug)]
pub struct Detector {
    policy: CallPolicy,
    weights: [f64; crate::signal::SIGNAL_COUNT],
    inputs: Inputs,
    dnc: Set<Number>,
    advertisers: Set<Number>,
    roaming: Set<Number>,
    lists_used: bool,
    states: Map<Number, NumState>,
    incoming: Map<Number, u32>,
    records: u64,
    latest: i64,
    next_prune: usize,
}

/// One line of evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The signal id (`CALL_RATE`).
    pub signal: &'static str,
    /// Its weight in the score.
    pub weight: f64,
    /// What was measured, in words.
    pub detail: String,
}

/// A suspected number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspect {
    /// The calling number, canonical (`+84912345678`).
    pub number: String,
    /// What kind of unwanted caller.
    pub category: CallCategory,
    /// The sum of the weights of the signals that fired.
    pub score: f64,
    /// Every signal that fired, largest weight first.
    pub evidence: Vec<Evidence>,
    /// Calls made.
    pub calls_made: u32,
    /// Calls received.
    pub calls_received: u32,
    /// The first record seen of this number, RFC 3339 (Vietnam time); none for a number
    /// known only from its SMS count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// The latest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// When the first of its signals fired, RFC 3339 (Vietnam time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged_at: Option<String>,
}

impl Detector {
    /// A detector with a policy and its inputs.
    pub fn new(policy: CallPolicy, inputs: Inputs) -> Detector {
        let mut weights = [0.0; crate::signal::SIGNAL_COUNT];
        for s in CallSignal::ALL {
            weights[s.index()] = policy.weight(*s);
        }
        let lists_used = inputs.lists.allow.len() + inputs.lists.block.len() > 0;
        Detector {
            next_prune: policy.max_tracked_numbers,
            weights,
            dnc: inputs.dnc.iter().copied().collect(),
            advertisers: inputs.advertisers.iter().copied().collect(),
            roaming: inputs.roaming.iter().copied().collect(),
            lists_used,
            inputs,
            policy,
            states: Map::default(),
            incoming: Map::default(),
            records: 0,
            latest: i64::MIN,
        }
    }

    /// The policy in effect.
    pub fn policy(&self) -> &CallPolicy {
        &self.policy
    }

    /// How many records were pushed.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// How many numbers are tracked (callers and callees).
    pub fn tracked(&self) -> usize {
        self.states.len().max(self.incoming.len())
    }

    fn state<'a>(
        states: &'a mut Map<Number, NumState>,
        n: Number,
        at: i64,
        lists_used: bool,
        lists: &Lists,
        advertisers: &Set<Number>,
    ) -> &'a mut NumState {
        states.entry(n).or_insert_with(|| {
            let mut flags = 0;
            if lists_used {
                let key = n.to_string();
                if lists.allow.has_sender(&key) {
                    flags |= ALLOWED;
                }
                if lists.block.has_sender(&key) {
                    flags |= BLOCKED;
                }
            }
            if advertisers.contains(&n) {
                flags |= ADVERTISER;
            }
            NumState {
                first_at: at,
                last_at: at,
                flags,
                ..NumState::default()
            }
        })
    }

    /// Takes one record into account.
    pub fn push(&mut self, c: &Cdr) {
        self.records += 1;
        self.latest = self.latest.max(c.start);
        let p = &self.policy;
        // The callee's side: one more incoming call (kept apart from the callers' state,
        // which most callees never need).
        *self.incoming.entry(c.callee).or_insert(0) += 1;
        let to_dnc = !self.dnc.is_empty() && self.dnc.contains(&c.callee);
        let spoofed = c.displayed.is_vn_mobile()
            && p.spoofing_origins.contains(&c.origin)
            && !self.roaming.contains(&c.displayed);
        let malformed = c.displayed.kind() == NumberKind::Malformed || c.caller.kind() == NumberKind::Malformed;

        let st = Detector::state(
            &mut self.states,
            c.caller,
            c.start,
            self.lists_used,
            &self.inputs.lists,
            &self.advertisers,
        );
        st.outgoing += 1;
        let at = c.start.max(st.last_at);
        st.last_at = at;
        let flags_of_caller = st.flags;
        let a = st.active.get_or_insert_with(Active::new);

        // Slide the windows.
        let window = i64::from(p.window_secs);
        while let Some(front) = a.ring.front() {
            if front.at > at - window {
                break;
            }
            let f = front.flags;
            a.sums.apply(f, false);
            a.ring.pop_front();
            a.seq0 += 1;
        }
        a.rate_head = a.rate_head.max(a.seq0);
        let rate_from = at - i64::from(p.rate_window_secs);
        while let Some(ev) = a.ring.get((a.rate_head - a.seq0) as usize) {
            if ev.at > rate_from {
                break;
            }
            a.rate_head += 1;
        }
        let seq = a.seq0 + a.ring.len() as u64;

        // This call's flags.
        let mut flags = 0u8;
        if c.answered {
            flags |= ANSWERED;
            if c.duration_s < p.short_call_secs {
                flags |= SHORT;
            }
            if c.duration_s >= p.scam_long_call_secs {
                flags |= LONG;
            }
        }
        if a.last_end != i64::MIN && c.start - a.last_end < i64::from(p.short_gap_secs) {
            flags |= GAP;
        }
        a.last_end = a.last_end.max(c.start + i64::from(c.duration_s));
        let mut repeat_today = 0;
        match a.callees.get_mut(&c.callee) {
            Some(seen) => {
                if seen.seq >= a.seq0 && seen.seq < seq && seen.last > at - window {
                    // The callee is already in the window: move its DISTINCT mark here.
                    let old = &mut a.ring[(seen.seq - a.seq0) as usize];
                    if old.flags & DISTINCT != 0 {
                        old.flags &= !DISTINCT;
                        a.sums.0[DISTINCT.trailing_zeros() as usize] -= 1;
                    }
                }
                flags |= DISTINCT;
                if at - seen.day_first >= 86_400 {
                    seen.day_first = at;
                    seen.day_count = 0;
                }
                seen.day_count += 1;
                repeat_today = seen.day_count;
                seen.last = at;
                seen.seq = seq;
            }
            None => {
                flags |= NEW | DISTINCT;
                if a.callees.len() < p.max_callees_per_caller as usize {
                    a.callees.insert(
                        c.callee,
                        Seen {
                            last: at,
                            seq,
                            day_first: at,
                            day_count: 1,
                        },
                    );
                } else {
                    a.full = true;
                }
            }
        }
        if c.origin == Origin::International && !c.answered && c.duration_s <= p.one_ring_max_secs {
            flags |= ONE_RING;
        }
        if let Some(prev) = a.prev_callee
            && prev.kind() == c.callee.kind()
        {
            let step = c.callee.value() as i64 - prev.value() as i64;
            let near = step != 0 && step.unsigned_abs() <= u64::from(p.sequential_max_step);
            let same_step = step != 0 && step == a.prev_step && step.unsigned_abs() < 1_000_000;
            if near || same_step {
                flags |= SEQ;
            }
            a.prev_step = step;
        }
        a.prev_callee = Some(c.callee);
        if c.origin != Origin::Domestic {
            a.abroad = true;
        }
        a.ring.push_back(Ev { at, flags });
        a.sums.apply(flags, true);

        // Signals of this call alone.
        if spoofed {
            a.fire(CallSignal::CallSpoofedCli, at, 1, 1, c.displayed);
        }
        if malformed {
            let shown = if c.displayed.kind() == NumberKind::Malformed {
                c.displayed
            } else {
                c.caller
            };
            a.fire(CallSignal::CallMalformedCli, at, 1, 1, shown);
        }
        if flags_of_caller & ADVERTISER != 0 {
            let hour = vietnam_hour(c.start);
            if hour < p.ad_start_hour || hour >= p.ad_end_hour {
                a.fire(CallSignal::AdCallOutsideHours, at, 1, 1, c.callee);
            }
            if to_dnc {
                a.fire(CallSignal::AdCallToDnc, at, 1, 1, c.callee);
            }
            if repeat_today > p.ad_max_calls_per_recipient_per_day {
                a.fire(CallSignal::AdCallRepeat, at, repeat_today, 1, c.callee);
            }
        } else if to_dnc && flags & NEW != 0 {
            a.dnc_callees += 1;
            if a.dnc_callees >= p.dnc_min_callees {
                a.fire(CallSignal::CallToDnc, at, a.dnc_callees, 0, c.callee);
            }
        }

        // Signals of the windows.
        let n = a.ring.len() as u32;
        let s = a.sums;
        let rate = (seq + 1 - a.rate_head) as u32;
        if rate > p.max_calls_per_rate_window || n > p.max_calls_per_window {
            a.fire(CallSignal::CallRate, at, rate, n, c.callee);
        }
        let distinct = s.get(DISTINCT);
        if distinct > p.max_distinct_callees {
            a.fire(CallSignal::CallFanout, at, distinct, n, c.callee);
        }
        if n >= p.min_calls_for_shares {
            let share = |k: u32| f64::from(k) / f64::from(n);
            if share(s.get(SHORT)) >= p.max_short_share {
                a.fire(CallSignal::CallShortShare, at, s.get(SHORT), n, c.callee);
            }
            if share(s.get(ANSWERED)) < p.min_answer_rate {
                a.fire(CallSignal::CallLowAnswer, at, n - s.get(ANSWERED), n, c.callee);
            }
            if share(s.get(GAP)) >= p.max_short_gap_share {
                a.fire(CallSignal::CallShortGaps, at, s.get(GAP), n, c.callee);
            }
            if share(s.get(NEW)) >= p.max_new_callee_share {
                a.fire(CallSignal::CallNewCallees, at, s.get(NEW), n, c.callee);
            }
        }
        if s.get(SEQ) >= p.sequential_min_calls {
            a.fire(CallSignal::CallSequential, at, s.get(SEQ), n, c.callee);
        }
        if s.get(ONE_RING) >= p.wangiri_min_callees && flags & ONE_RING != 0 {
            a.fire(CallSignal::CallOneRingAbroad, at, s.get(ONE_RING), n, c.callee);
        }
        if a.abroad && distinct >= p.scam_min_callees && s.get(LONG) >= p.scam_min_long_calls {
            a.fire(CallSignal::CallScamPattern, at, distinct, s.get(LONG), c.callee);
        }

        if self.states.len().max(self.incoming.len()) > self.next_prune {
            self.prune();
        }
    }

    /// Forgets the numbers idle for longer than the window that have no signal, so that at
    /// most `max_tracked_numbers` are kept (when more are active at once, all are kept and
    /// the next attempt waits until the map has grown by a tenth).
    fn prune(&mut self) {
        let horizon = self.latest - i64::from(self.policy.window_secs);
        self.states.retain(|_, s| {
            s.last_at > horizon || s.flags & BLOCKED != 0 || s.active.as_ref().is_some_and(|a| !a.fired.is_empty())
        });
        let states = &self.states;
        self.incoming.retain(|n, _| states.contains_key(n));
        self.next_prune = self
            .policy
            .max_tracked_numbers
            .max(self.states.len().max(self.incoming.len()) * 11 / 10);
    }

    /// Sets the SMS counts (`SMS_MANY_CALLS_FEW`): with `replace`, they become the counts of
    /// the new period and the old ones are forgotten; without, they add to what is there.
    pub fn set_sms_sent(&mut self, counts: impl IntoIterator<Item = (Number, u64)>, replace: bool) {
        if replace {
            self.inputs.sms_sent.clear();
        }
        for (n, c) in counts {
            let e = self.inputs.sms_sent.entry(n).or_insert(0);
            *e = e.saturating_add(c);
        }
    }

    /// How many numbers have an SMS count.
    pub fn sms_numbers(&self) -> usize {
        self.inputs.sms_sent.len()
    }

    /// The suspect this number is, if it is one.
    pub fn suspect(&self, number: Number) -> Option<Suspect> {
        let st = self.states.get(&number)?;
        self.judge(number, st)
    }

    fn incoming(&self, n: Number) -> u32 {
        self.incoming.get(&n).copied().unwrap_or(0)
    }

    /// Every suspected number, highest score first.
    pub fn suspects(&self) -> Vec<Suspect> {
        let mut out: Vec<Suspect> = self.states.iter().filter_map(|(n, st)| self.judge(*n, st)).collect();
        // Numbers that send SMS but were never seen in a call.
        for (n, sms) in &self.inputs.sms_sent {
            if *sms >= self.policy.sms_min_messages
                && !self.states.contains_key(n)
                && let Some(s) = self.judge(*n, &NumState::default())
            {
                out.push(s);
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.number.cmp(&b.number)));
        out
    }

    fn judge(&self, n: Number, st: &NumState) -> Option<Suspect> {
        if st.flags & ALLOWED != 0 {
            return None;
        }
        let p = &self.policy;
        let incoming = self.incoming(n);
        let mut fired: Vec<Fire> = st.active.as_ref().map(|a| a.fired.clone()).unwrap_or_default();
        let first = st.first_at;
        if st.flags & BLOCKED != 0 && st.outgoing > 0 {
            fired.push(Fire {
                signal: CallSignal::ListedBlock,
                first_at: first,
                count: st.outgoing,
                peak: 0,
                of: 0,
                example: n,
            });
        }
        if st.outgoing >= p.mostly_outgoing_min_calls
            && f64::from(incoming) <= p.mostly_outgoing_max_incoming_share * f64::from(st.outgoing)
        {
            fired.push(Fire {
                signal: CallSignal::CallMostlyOutgoing,
                first_at: st.last_at,
                count: 1,
                peak: st.outgoing,
                of: incoming,
                example: n,
            });
        }
        if let Some(&sms) = self.inputs.sms_sent.get(&n) {
            let calls = u64::from(st.outgoing) + u64::from(incoming);
            if sms >= p.sms_min_messages && calls <= p.sms_max_calls {
                fired.push(Fire {
                    signal: CallSignal::SmsManyCallsFew,
                    first_at: st.last_at,
                    count: 1,
                    peak: u32::try_from(sms).unwrap_or(u32::MAX),
                    of: calls as u32,
                    example: n,
                });
            }
        }
        if fired.is_empty() {
            return None;
        }
        let score: f64 = fired.iter().map(|f| self.weights[f.signal.index()]).sum();
        if score < p.suspect_score {
            return None;
        }
        let category = CallCategory::of(fired.iter().map(|f| (f.signal, self.weights[f.signal.index()])));
        let mut evidence: Vec<Evidence> = fired
            .iter()
            .map(|f| Evidence {
                signal: f.signal.id(),
                weight: self.weights[f.signal.index()],
                detail: self.detail(f),
            })
            .collect();
        evidence.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.signal.cmp(b.signal)));
        let seen = st.outgoing + incoming > 0;
        let flagged = fired.iter().map(|f| f.first_at).min().unwrap_or(first);
        Some(Suspect {
            number: n.to_string(),
            category,
            score,
            evidence,
            calls_made: st.outgoing,
            calls_received: incoming,
            first_seen: seen.then(|| rfc3339_vietnam(first)),
            last_seen: seen.then(|| rfc3339_vietnam(st.last_at)),
            flagged_at: seen.then(|| rfc3339_vietnam(flagged)),
        })
    }

    fn detail(&self, f: &Fire) -> String {
        let p = &self.policy;
        let w = span(p.window_secs);
        let (peak, of, ex) = (f.peak, f.of, f.example);
        match f.signal {
            CallSignal::CallRate => format!(
                "{peak} calls in {} (limit {}), {of} in {w} (limit {})",
                span(p.rate_window_secs),
                p.max_calls_per_rate_window,
                p.max_calls_per_window
            ),
            CallSignal::CallFanout => {
                format!("{peak} distinct callees in {w} (limit {})", p.max_distinct_callees)
            }
            CallSignal::CallShortShare => format!(
                "{peak} of {of} calls in {w} answered and shorter than {} s",
                p.short_call_secs
            ),
            CallSignal::CallLowAnswer => format!("{peak} of {of} calls in {w} unanswered"),
            CallSignal::CallShortGaps => format!(
                "{peak} of {of} calls in {w} started less than {} s after the previous one ended",
                p.short_gap_secs
            ),
            CallSignal::CallNewCallees => format!("{peak} of {of} calls in {w} to numbers never called before"),
            CallSignal::CallSequential => format!("{peak} of {of} calls in {w} dialled in numeric runs (e.g. {ex})"),
            CallSignal::CallMostlyOutgoing => format!("{peak} calls made, {of} received"),
            CallSignal::CallOneRingAbroad => format!(
                "{peak} callees rung at most {} s and unanswered, from abroad, in {w} (e.g. {ex})",
                p.one_ring_max_secs
            ),
            CallSignal::CallSpoofedCli => {
                format!(
                    "{} calls from an international route showing a Vietnamese mobile number (e.g. {ex})",
                    f.count
                )
            }
            CallSignal::CallMalformedCli => format!("{} calls showing an impossible number (e.g. {ex})", f.count),
            CallSignal::CallScamPattern => format!(
                "{peak} distinct callees in {w} from abroad or VoIP, {of} answered calls of {} s or more",
                p.scam_long_call_secs
            ),
            CallSignal::ListedBlock => format!("{ex} is on the block list ({} calls made)", f.count),
            CallSignal::AdCallOutsideHours => format!(
                "{} ad calls outside {:02}:00–{:02}:00, the first at {}",
                f.count,
                p.ad_start_hour,
                p.ad_end_hour,
                rfc3339_vietnam(f.first_at)
            ),
            CallSignal::AdCallToDnc => format!("{} ad calls to numbers on the DNC list (e.g. {ex})", f.count),
            CallSignal::AdCallRepeat => format!(
                "up to {peak} ad calls to one recipient in 24 h (limit {}, e.g. {ex})",
                p.ad_max_calls_per_recipient_per_day
            ),
            CallSignal::CallToDnc => format!("{peak} distinct numbers on the DNC list called (e.g. {ex})"),
            CallSignal::SmsManyCallsFew => format!("{peak} SMS sent, {of} calls made or received"),
        }
    }
}

/// `600` → `10 min`, `3600` → `1 h`.
fn span(secs: u32) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(at: i64, caller: u64, callee: u64) -> Cdr {
        Cdr {
            start: at,
            caller: Number::parse(&format!("09{caller:08}")).unwrap(),
            displayed: Number::parse(&format!("09{caller:08}")).unwrap(),
            callee: Number::parse(&format!("08{callee:08}")).unwrap(),
            duration_s: 60,
            answered: true,
            origin: Origin::Domestic,
            label: None,
        }
    }

    #[test]
    fn memory_stays_bounded_by_max_tracked_numbers() {
        let policy = CallPolicy {
            max_tracked_numbers: 1000,
            ..CallPolicy::default()
        };
        let mut d = Detector::new(policy, Inputs::default());
        // 20,000 one-off callers over a day: idle numbers are forgotten.
        for i in 0..20_000u64 {
            d.push(&call(1_795_280_400 + i as i64 * 4, i, i));
            assert!(d.tracked() <= 2_200, "{} tracked after {i}", d.tracked());
        }
        // A suspect is kept whatever its age.
        let mut d = Detector::new(
            CallPolicy {
                max_tracked_numbers: 100,
                ..CallPolicy::default()
            },
            Inputs::default(),
        );
        for i in 0..40u64 {
            d.push(&call(1_795_280_400 + i as i64 * 5, 7, 1000 + i));
        }
        for i in 0..5_000u64 {
            d.push(&call(1_795_290_000 + i as i64 * 4, 100 + i, i));
        }
        assert!(d.suspect(Number::parse("0900000007").unwrap()).is_some());
    }

    #[test]
    fn records_out_of_order_do_not_run_windows_backwards() {
        let mut d = Detector::new(CallPolicy::default(), Inputs::default());
        d.push(&call(1_795_300_000, 1, 1));
        d.push(&call(1_795_200_000, 1, 2));
        d.push(&call(1_795_300_010, 1, 3));
        assert_eq!(d.records(), 3);
        assert!(d.suspects().is_empty());
    }
}
