//! The detector's behaviour as data: every file in `tests/cases/` holds scenarios (calls
//! described by pattern, the outside inputs, the numbers that must be suspected with their
//! category and signals, and the look-alikes that must not be).

use std::collections::{BTreeMap, HashMap, HashSet};

use chanrac_calls::cdr::parse_rfc3339;
use chanrac_calls::{CallPolicy, Cdr, Detector, Inputs, Number, Origin};
use chanrac_core::ListKind;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    policy: Option<toml::Table>,
    #[serde(default)]
    dnc: Vec<String>,
    #[serde(default)]
    advertisers: Vec<String>,
    #[serde(default)]
    roaming: Vec<String>,
    #[serde(default)]
    block: Vec<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    sms: BTreeMap<String, u64>,
    calls: Vec<Calls>,
    #[serde(default)]
    expect: Vec<Expect>,
    #[serde(default)]
    spare: Vec<String>,
}

/// `count` calls from `caller`, every `every` seconds from `start`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Calls {
    caller: String,
    #[serde(default)]
    displayed: Option<String>,
    /// `run:N` (N, N+1, …), `step:N:K` (N, N+K, …), `random:PREFIX` (PREFIX + random
    /// digits to 10), `same:N`, or `list:A,B,…` (cycled).
    callees: String,
    count: u32,
    start: String,
    every: u32,
    duration: u32,
    /// The share of calls answered (1 = all, 0 = none), spread evenly.
    #[serde(default = "one")]
    answered: f64,
    #[serde(default = "domestic")]
    origin: String,
}

fn one() -> f64 {
    1.0
}

fn domestic() -> String {
    "domestic".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    number: String,
    category: String,
    #[serde(default)]
    signals: Vec<String>,
}

fn num(s: &str) -> Number {
    Number::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn callee(spec: &str, i: u32) -> Number {
    let (kind, arg) = spec.split_once(':').expect("callees is kind:argument");
    match kind {
        "run" => Number::parse(&format!(
            "0{}",
            arg.trim_start_matches('0').parse::<u64>().unwrap() + u64::from(i)
        ))
        .unwrap(),
        "step" => {
            let (n, k) = arg.split_once(':').unwrap();
            let v = n.trim_start_matches('0').parse::<u64>().unwrap() + u64::from(i) * k.parse::<u64>().unwrap();
            Number::parse(&format!("0{v}")).unwrap()
        }
        "random" => {
            let mut h = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5151;
            h ^= h >> 29;
            h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            h ^= h >> 32;
            let rest = 10 - arg.len();
            let digits = format!("{:0rest$}", h % 10u64.pow(rest as u32));
            Number::parse(&format!("{arg}{digits}")).unwrap()
        }
        "same" => num(arg),
        "list" => {
            let items: Vec<&str> = arg.split(',').collect();
            num(items[i as usize % items.len()])
        }
        other => panic!("unknown callee pattern {other}"),
    }
}

fn records(calls: &[Calls]) -> Vec<Cdr> {
    let mut out = Vec::new();
    for c in calls {
        let start = parse_rfc3339(&c.start).unwrap_or_else(|| panic!("bad start {}", c.start));
        let origin = match c.origin.as_str() {
            "domestic" => Origin::Domestic,
            "international" => Origin::International,
            "voip" => Origin::Voip,
            o => panic!("bad origin {o}"),
        };
        let caller = num(&c.caller);
        for i in 0..c.count {
            let answered = ((f64::from(i) + 1.0) * c.answered).floor() > (f64::from(i) * c.answered).floor();
            out.push(Cdr {
                start: start + i64::from(i) * i64::from(c.every),
                caller,
                displayed: c.displayed.as_deref().map_or(caller, num),
                callee: callee(&c.callees, i),
                duration_s: c.duration,
                answered,
                origin,
                label: None,
            });
        }
    }
    out.sort_by_key(|c| c.start);
    out
}

fn set(items: &[String]) -> HashSet<Number> {
    items.iter().map(|s| num(s)).collect()
}

#[test]
fn cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in file.case {
            ran += 1;
            let policy = match &case.policy {
                Some(t) => CallPolicy::from_toml(&case.name, &toml::to_string(t).unwrap()).unwrap(),
                None => CallPolicy::default(),
            };
            let mut inputs = Inputs {
                dnc: set(&case.dnc),
                advertisers: set(&case.advertisers),
                roaming: set(&case.roaming),
                sms_sent: case.sms.iter().map(|(k, v)| (num(k), *v)).collect::<HashMap<_, _>>(),
                ..Inputs::default()
            };
            for b in &case.block {
                inputs.lists.block.add(ListKind::Senders, b).unwrap();
            }
            for a in &case.allow {
                inputs.lists.allow.add(ListKind::Senders, a).unwrap();
            }
            let mut d = Detector::new(policy, inputs);
            for r in records(&case.calls) {
                d.push(&r);
            }
            let suspects = d.suspects();
            for e in &case.expect {
                match suspects.iter().find(|s| s.number == e.number) {
                    None => failures.push(format!(
                        "{}: {} not suspected; suspects: {suspects:#?}",
                        case.name, e.number
                    )),
                    Some(s) => {
                        if s.category.as_str() != e.category {
                            failures.push(format!(
                                "{}: {} is {:?}, want {}: {s:#?}",
                                case.name, e.number, s.category, e.category
                            ));
                        }
                        for sig in &e.signals {
                            if !s.evidence.iter().any(|ev| ev.signal == sig) {
                                failures.push(format!("{}: {} lacks {sig}: {s:#?}", case.name, e.number));
                            }
                        }
                    }
                }
            }
            for n in &case.spare {
                if let Some(s) = suspects.iter().find(|s| &s.number == n) {
                    failures.push(format!("{}: {n} suspected: {s:#?}", case.name));
                }
            }
            if case.expect.is_empty() && case.spare.is_empty() {
                failures.push(format!("{}: expects nothing", case.name));
            }
        }
    }
    assert!(ran >= 10, "only {ran} cases");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
