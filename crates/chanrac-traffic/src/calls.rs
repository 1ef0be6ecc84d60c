//! Synthetic, labeled call detail records: a day of subscribers calling their contacts,
//! with look-alikes of spam callers that are legitimate (delivery drivers, registered
//! advertisers keeping the rules, subscribers roaming abroad, relatives calling from abroad)
//! and injected unwanted callers of every [`CallCategory`]:
//!
//! | label | what the caller does |
//! |---|---|
//! | `robocall` | a junk SIM dialling 100–400 numbers in 1–3 hours, in numeric runs or at random, seconds apart, short or unanswered calls |
//! | `telemarketing` | an unregistered number working through a list (some on the DNC list) for hours, or a registered advertiser calling outside 08–17, DNC subscribers or one recipient twice |
//! | `wangiri` | a foreign number ringing 20–200 subscribers for 1–3 s each |
//! | `spoofed` | an international route presenting Vietnamese mobile numbers |
//! | `scam` | a VoIP or foreign number holding long conversations with 12–40 subscribers |
//! | `sms_source` | a SIM that sends hundreds of SMS and makes one or two calls |
//!
//! Every record carries its caller's label (`ham` for everyone else). [`CallWorld`] holds
//! what the detector needs from outside: the DNC list, the registered advertisers, the
//! numbers roaming abroad and the SMS counts. The output depends only on the configuration;
//! memory holds the special callers' calls and one minute of background at a time.

use std::collections::VecDeque;

use chanrac_calls::{CallCategory, Cdr, Label, Number, Origin};

use crate::rng::{Rng, splitmix};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct CallsConfig {
    /// How many records, exactly.
    pub records: usize,
    /// The seed.
    pub seed: u64,
    /// The start, Unix seconds (default 2026-11-22T00:00:00+07:00).
    pub start: i64,
    /// How long, in seconds (default one day).
    pub duration_secs: u32,
}

impl Default for CallsConfig {
    fn default() -> Self {
        CallsConfig {
            records: 100_000,
            seed: 1,
            start: 1_795_280_400,
            duration_secs: 86_400,
        }
    }
}

/// The facts around the records: inputs to the detector.
#[derive(Debug, Clone, Default)]
pub struct CallWorld {
    /// Subscribers on the Do-Not-Call list.
    pub dnc: Vec<Number>,
    /// Registered advertisers.
    pub advertisers: Vec<Number>,
    /// Subscribers roaming abroad.
    pub roaming: Vec<Number>,
    /// SMS sent that day, per number.
    pub sms: Vec<(Number, u64)>,
}

const OPERATORS: [&str; 5] = ["viettel", "vinaphone", "mobifone", "vietnamobile", "gmobile"];

/// Relative weight of each hour (Vietnam time) in the background calls.
const HOURLY: [f64; 24] = [
    0.05, 0.03, 0.02, 0.02, 0.05, 0.2, 0.6, 1.2, 1.6, 1.7, 1.7, 1.6, 1.3, 1.3, 1.5, 1.6, 1.7, 1.8, 1.9, 1.8, 1.5, 1.1,
    0.6, 0.2,
];

/// Who makes a special caller's calls, and how they appear.
#[derive(Debug, Clone, Copy)]
struct Who {
    caller: Number,
    shown: Number,
    origin: Origin,
    label: Label,
}

impl Who {
    fn new(caller: Number, origin: Origin, label: Label) -> Who {
        Who {
            caller,
            shown: caller,
            origin,
            label,
        }
    }
}

/// Yields the records in time order.
#[derive(Debug)]
pub struct CallGenerator {
    cfg: CallsConfig,
    rng: Rng,
    population: u64,
    special: Vec<Cdr>,
    next_special: usize,
    world: CallWorld,
    minute: i64,
    end: i64,
    background_total: usize,
    background_done: usize,
    weight_sum: f64,
    carry: f64,
    buffer: VecDeque<Cdr>,
}

/// A subscriber's number.
fn subscriber(idx: u64) -> Number {
    Number::parse(&crate::number(idx)).unwrap_or_else(|_| Number::from_bits(0))
}

fn on_dnc(idx: u64) -> bool {
    splitmix(idx ^ 0xd0c) % 100 < 15
}

fn hour_weight(at: i64) -> f64 {
    HOURLY[chanrac_core::message::vietnam_hour(at) as usize]
}

impl CallGenerator {
    /// A generator.
    pub fn new(cfg: &CallsConfig) -> CallGenerator {
        let duration = i64::from(cfg.duration_secs.max(3600));
        let population = (cfg.records as u64 / 8).max(500);
        let mut g = CallGenerator {
            cfg: cfg.clone(),
            rng: Rng::new(cfg.seed, 0),
            population,
            special: Vec::new(),
            next_special: 0,
            world: CallWorld::default(),
            minute: cfg.start,
            end: cfg.start + duration,
            background_total: 0,
            background_done: 0,
            weight_sum: 0.0,
            carry: 0.0,
            buffer: VecDeque::new(),
        };
        g.world.dnc = (0..population).filter(|&i| on_dnc(i)).map(subscriber).collect();
        g.plan();
        let end = g.end;
        g.special.retain(|c| c.start < end);
        g.special.sort_by_key(|c| c.start);
        g.special.truncate(cfg.records);
        g.background_total = cfg.records - g.special.len();
        let mut t = cfg.start;
        while t < g.end {
            g.weight_sum += hour_weight(t);
            t += 60;
        }
        g
    }

    /// The DNC list, advertisers, roaming numbers and SMS counts of this traffic.
    pub fn world(&self) -> &CallWorld {
        &self.world
    }

    /// The operator written for a caller.
    pub fn operator(cdr: &Cdr) -> &'static str {
        match cdr.origin {
            Origin::Domestic => OPERATORS[(splitmix(cdr.caller.to_bits()) % 5) as usize],
            Origin::International => "international",
            Origin::Voip => "voip",
        }
    }

    fn random_subscriber(&self, r: &mut Rng) -> u64 {
        r.range(0, self.population - 1)
    }

    /// A start time for an activity of `len` seconds within the traffic, between the hours
    /// `from..to` of a day (Vietnam time).
    fn start_between(&self, r: &mut Rng, from: u32, to: u32, len: i64) -> i64 {
        let day = self.cfg.start - (self.cfg.start + chanrac_core::message::VIETNAM_UTC_OFFSET).rem_euclid(86_400);
        let days = ((self.end - day) / 86_400).max(1) as u64;
        for _ in 0..32 {
            let d = day + r.range(0, days - 1) as i64 * 86_400;
            let t = d + i64::from(from) * 3600 + r.range(0, u64::from(to - from) * 3600 - 1) as i64;
            if t >= self.cfg.start && t + len < self.end {
                return t;
            }
        }
        self.cfg.start
    }

    /// One call of a special caller.
    fn push(&mut self, who: Who, start: i64, callee: Number, duration_s: u32, answered: bool) {
        self.special.push(Cdr {
            start,
            caller: who.caller,
            displayed: who.shown,
            callee,
            duration_s,
            answered,
            origin: who.origin,
            label: Some(who.label),
        });
    }

    /// Plans every special caller: the injected ones and the legitimate look-alikes.
    fn plan(&mut self) {
        let n = self.cfg.records as f64;
        let count = |per: f64, min: usize| ((n / per).round() as usize).max(min);
        let mut r = Rng::new(self.cfg.seed, 1);
        let mut serial = 0u64;
        // A new number: the prefix, then random digits up to 10 (mobiles), 11 (fixed lines
        // `02…`) or 12 (`+` and a foreign country code) characters.
        let mut fresh = |prefix: &str, r: &mut Rng| -> Number {
            serial += 1;
            let total = if prefix.starts_with('+') {
                12
            } else if prefix.starts_with("02") {
                11
            } else {
                10
            };
            let digits = total - prefix.len().min(total - 1);
            let v = splitmix(serial ^ r.next_u64()) % 10u64.pow(digits as u32);
            Number::parse(&format!("{prefix}{v:0digits$}")).unwrap_or_else(|_| Number::from_bits(0))
        };
        let unwanted = |c: CallCategory| Label::Unwanted(c);
        const ABROAD: [&str; 6] = ["+252", "+216", "+882", "+675", "+231", "+53"];

        // Robocalls: junk SIMs with autodialers.
        for _ in 0..count(40_000.0, 3) {
            let caller = fresh("039", &mut r);
            let calls = r.range(100, 400) as usize;
            let len = r.range(3600, 3 * 3600) as i64;
            let mut t = self.start_between(&mut r, 8, 20, len);
            let run = r.chance(0.5);
            let mut next = fresh("098", &mut r).value();
            let answer = 0.2 + r.f64() * 0.6;
            for _ in 0..calls {
                let callee = if run {
                    next += r.range(1, 3);
                    Number::parse(&format!("+{next}")).unwrap_or(caller)
                } else {
                    subscriber(self.random_subscriber(&mut r))
                };
                let answered = r.chance(answer);
                let d = if answered { r.range(2, 14) } else { r.range(5, 25) } as u32;
                self.push(
                    Who::new(caller, Origin::Domestic, unwanted(CallCategory::Robocall)),
                    t,
                    callee,
                    d,
                    answered,
                );
                t += i64::from(d) + r.range(2, 15) as i64;
            }
        }
        // Telemarketing without consent: unregistered agents through a list…
        for _ in 0..count(30_000.0, 3) {
            let caller = if r.chance(0.5) {
                fresh("07", &mut r)
            } else {
                fresh("0283", &mut r)
            };
            let calls = r.range(40, 90) as usize;
            let mut t = self.start_between(&mut r, 8, 11, 6 * 3600);
            for _ in 0..calls {
                let callee = subscriber(self.random_subscriber(&mut r));
                let answered = r.chance(0.6);
                let d = if answered { r.range(30, 150) } else { r.range(10, 30) } as u32;
                self.push(
                    Who::new(caller, Origin::Domestic, unwanted(CallCategory::Telemarketing)),
                    t,
                    callee,
                    d,
                    answered,
                );
                t += i64::from(d) + r.range(30, 200) as i64;
            }
        }
        // … and registered advertisers breaking the rules (hours, DNC, repeats).
        for i in 0..count(60_000.0, 3) {
            let caller = fresh("0287", &mut r);
            self.world.advertisers.push(caller);
            let calls = r.range(10, 30) as usize;
            let fault = i % 3;
            let (from, to) = if fault == 0 { (17, 21) } else { (8, 14) };
            let mut t = self.start_between(&mut r, from, to, 3 * 3600);
            let mut last = subscriber(self.random_subscriber(&mut r));
            for j in 0..calls {
                let callee = match fault {
                    1 if j % 4 == 0 => self.world.dnc[r.below(self.world.dnc.len())],
                    2 if j % 5 == 4 => last,
                    _ => loop {
                        let s = self.random_subscriber(&mut r);
                        if !on_dnc(s) {
                            break subscriber(s);
                        }
                    },
                };
                last = callee;
                let d = r.range(40, 120) as u32;
                self.push(
                    Who::new(caller, Origin::Domestic, unwanted(CallCategory::Telemarketing)),
                    t,
                    callee,
                    d,
                    true,
                );
                t += i64::from(d) + r.range(120, 400) as i64;
            }
        }
        // Wangiri: one-ring calls from abroad, often at night.
        for _ in 0..count(40_000.0, 3) {
            let caller = fresh(ABROAD[r.below(ABROAD.len())], &mut r);
            let calls = r.range(20, 200) as usize;
            let mut t = self.start_between(&mut r, 0, 24, 2 * 3600);
            for _ in 0..calls {
                let callee = subscriber(self.random_subscriber(&mut r));
                let d = r.range(1, 3) as u32;
                self.push(
                    Who::new(caller, Origin::International, unwanted(CallCategory::Wangiri)),
                    t,
                    callee,
                    d,
                    false,
                );
                t += r.range(3, 40) as i64;
            }
        }
        // Spoofed: an international route showing Vietnamese mobile numbers.
        for _ in 0..count(20_000.0, 3) {
            let caller = fresh(ABROAD[r.below(ABROAD.len())], &mut r);
            let one_face = r.chance(0.5);
            let face = fresh("091", &mut r);
            let calls = r.range(5, 50) as usize;
            let mut t = self.start_between(&mut r, 8, 20, 4 * 3600);
            for _ in 0..calls {
                let shown = if one_face { face } else { fresh("09", &mut r) };
                let callee = subscriber(self.random_subscriber(&mut r));
                let answered = r.chance(0.5);
                let d = if answered { r.range(30, 400) } else { r.range(8, 30) } as u32;
                self.push(
                    Who {
                        caller,
                        shown,
                        origin: Origin::International,
                        label: unwanted(CallCategory::Spoofed),
                    },
                    t,
                    callee,
                    d,
                    answered,
                );
                t += i64::from(d) + r.range(30, 600) as i64;
            }
        }
        // Scams: long conversations from VoIP or abroad.
        for _ in 0..count(20_000.0, 3) {
            let voip = r.chance(0.6);
            let caller = if voip {
                fresh("+1800", &mut r)
            } else {
                fresh("+855", &mut r)
            };
            let origin = if voip { Origin::Voip } else { Origin::International };
            let calls = r.range(15, 40) as usize;
            let mut t = self.start_between(&mut r, 8, 18, 3 * 3600);
            for _ in 0..calls {
                let callee = subscriber(self.random_subscriber(&mut r));
                let answered = r.chance(0.55);
                let d = if answered && r.chance(0.7) {
                    r.range(300, 1200)
                } else if answered {
                    r.range(20, 200)
                } else {
                    r.range(10, 30)
                } as u32;
                self.push(
                    Who::new(caller, origin, unwanted(CallCategory::Scam)),
                    t,
                    callee,
                    d,
                    answered,
                );
                t += r.range(60, 400) as i64;
            }
        }
        // SMS sources: hundreds of SMS, one or two calls.
        for _ in 0..count(20_000.0, 3) {
            let caller = fresh("035", &mut r);
            self.world.sms.push((caller, r.range(80, 600)));
            for _ in 0..r.range(1, 2) {
                let t = self.start_between(&mut r, 8, 20, 60);
                let callee = subscriber(self.random_subscriber(&mut r));
                let d = r.range(10, 90) as u32;
                self.push(
                    Who::new(caller, Origin::Domestic, unwanted(CallCategory::SmsSource)),
                    t,
                    callee,
                    d,
                    true,
                );
            }
        }

        // Legitimate look-alikes. Delivery drivers: many customers, short calls, all day.
        for _ in 0..count(10_000.0, 3) {
            let driver = self.random_subscriber(&mut r);
            let caller = subscriber(driver);
            let calls = r.range(30, 80) as usize;
            let mut t = self.start_between(&mut r, 8, 9, 11 * 3600);
            for _ in 0..calls {
                let callee = subscriber(self.random_subscriber(&mut r));
                let answered = r.chance(0.85);
                let d = if answered { r.range(8, 60) } else { r.range(10, 30) } as u32;
                self.push(Who::new(caller, Origin::Domestic, Label::Ham), t, callee, d, answered);
                // A customer calls back now and then.
                if r.chance(0.15) {
                    self.push(
                        Who::new(callee, Origin::Domestic, Label::Ham),
                        t + 200,
                        caller,
                        30,
                        true,
                    );
                }
                t += i64::from(d) + r.range(180, 1200) as i64;
            }
        }
        // Registered advertisers keeping the rules: within hours, no DNC, once per recipient.
        for _ in 0..count(60_000.0, 2) {
            let caller = fresh("0286", &mut r);
            self.world.advertisers.push(caller);
            let calls = r.range(15, 40) as usize;
            let mut t = self.start_between(&mut r, 8, 9, 7 * 3600);
            for _ in 0..calls {
                let callee = loop {
                    let s = self.random_subscriber(&mut r);
                    if !on_dnc(s) {
                        break subscriber(s);
                    }
                };
                let d = r.range(40, 150) as u32;
                self.push(Who::new(caller, Origin::Domestic, Label::Ham), t, callee, d, true);
                t += i64::from(d) + r.range(300, 900) as i64;
            }
        }
        // Subscribers roaming abroad, calling home with their own numbers.
        for _ in 0..count(5_000.0, 3) {
            let who = self.random_subscriber(&mut r);
            let caller = subscriber(who);
            self.world.roaming.push(caller);
            let mut t = self.start_between(&mut r, 7, 22, 3600);
            for _ in 0..r.range(1, 6) {
                let callee = subscriber(self.random_subscriber(&mut r));
                let d = r.range(30, 900) as u32;
                self.push(Who::new(caller, Origin::International, Label::Ham), t, callee, d, true);
                t += i64::from(d) + r.range(600, 3600) as i64;
            }
        }
        // Relatives abroad: long calls to one or two numbers, a missed call or two.
        for _ in 0..count(2_000.0, 3) {
            let caller = fresh(["+1", "+81", "+82", "+61", "+49"][r.below(5)], &mut r);
            let home = [
                subscriber(self.random_subscriber(&mut r)),
                subscriber(self.random_subscriber(&mut r)),
            ];
            let mut t = self.start_between(&mut r, 6, 23, 3600);
            for _ in 0..r.range(1, 5) {
                let callee = home[r.below(2)];
                let answered = r.chance(0.7);
                let d = if answered { r.range(60, 1800) } else { r.range(2, 20) } as u32;
                self.push(
                    Who::new(caller, Origin::International, Label::Ham),
                    t,
                    callee,
                    d,
                    answered,
                );
                t += i64::from(d) + r.range(60, 7200) as i64;
            }
        }
        // Ordinary subscribers' SMS: a few dozen at most.
        for i in 0..self.population {
            let h = splitmix(i ^ 0x5e5);
            if h.is_multiple_of(4) {
                self.world.sms.push((subscriber(i), h % 45));
            }
        }
    }

    /// A subscriber's contacts: a handful of fixed other subscribers.
    fn contact(&self, who: u64, k: u64) -> u64 {
        let near = splitmix(who.wrapping_mul(31).wrapping_add(k)) % 2000;
        (who + near + 1) % self.population
    }

    /// One background call at `t`.
    fn background(&mut self, t: i64) -> Cdr {
        // A tenth of the subscribers make about four times as many calls as the others.
        let who = if self.rng.chance(0.3) {
            self.rng.range(0, self.population / 10)
        } else {
            self.rng.range(0, self.population - 1)
        };
        let contacts = 3 + splitmix(who) % 12;
        let callee = if self.rng.chance(0.9) {
            let k = self.rng.range(0, contacts - 1);
            self.contact(who, k)
        } else {
            self.rng.range(0, self.population - 1)
        };
        let answered = self.rng.chance(0.78);
        let duration = if !answered {
            self.rng.range(6, 40)
        } else if self.rng.chance(0.1) {
            self.rng.range(3, 15)
        } else {
            (20.0 * (1.0 + 9.0 * self.rng.f64() * self.rng.f64())) as u64
                + self.rng.range(0, 400) * u64::from(self.rng.chance(0.3))
        } as u32;
        let caller = subscriber(who);
        Cdr {
            start: t,
            caller,
            displayed: caller,
            callee: subscriber(callee),
            duration_s: duration,
            answered,
            origin: Origin::Domestic,
            label: Some(Label::Ham),
        }
    }

    /// Fills the buffer with the next minute of records.
    fn fill(&mut self) {
        while self.buffer.is_empty() && self.minute < self.end {
            let t0 = self.minute;
            self.minute += 60;
            let share = hour_weight(t0) / self.weight_sum * self.background_total as f64 + self.carry;
            let mut k = share.floor() as usize;
            self.carry = share - k as f64;
            if self.minute >= self.end {
                k = self.background_total - self.background_done;
            }
            k = k.min(self.background_total - self.background_done);
            self.background_done += k;
            let mut batch: Vec<Cdr> = (0..k)
                .map(|_| {
                    let t = t0 + self.rng.range(0, 59) as i64;
                    self.background(t)
                })
                .collect();
            while let Some(c) = self.special.get(self.next_special) {
                if c.start >= self.minute && self.minute < self.end {
                    break;
                }
                batch.push(*c);
                self.next_special += 1;
            }
            batch.sort_by_key(|c| c.start);
            self.buffer.extend(batch);
        }
    }
}

impl Iterator for CallGenerator {
    type Item = Cdr;

    fn next(&mut self) -> Option<Cdr> {
        if self.buffer.is_empty() {
            self.fill();
        }
        self.buffer.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_n_records_in_time_order_and_deterministic() {
        let cfg = CallsConfig {
            records: 20_000,
            seed: 3,
            ..CallsConfig::default()
        };
        let a: Vec<Cdr> = CallGenerator::new(&cfg).collect();
        assert_eq!(a.len(), 20_000);
        assert!(a.windows(2).all(|w| w[0].start <= w[1].start));
        assert!(a.iter().all(|c| c.start >= cfg.start && c.start < cfg.start + 86_400));
        let b: Vec<Cdr> = CallGenerator::new(&cfg).collect();
        assert_eq!(a, b);
        for c in CallCategory::ALL {
            assert!(a.iter().any(|r| r.label == Some(Label::Unwanted(c))), "{c:?}");
        }
        let other: Vec<Cdr> = CallGenerator::new(&CallsConfig { seed: 4, ..cfg }).collect();
        assert_ne!(a, other);
    }
}
