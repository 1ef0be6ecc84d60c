//! The detector's thresholds and weights: the `[calls]`-style policy file.
//!
//! Every key is optional; the defaults follow `../shared/REGULATION.md` where the rules give
//! a number (advertising call hours 08:00–17:00, one ad call per recipient per 24 h) and
//! operators' published practice where they do not (the law sets no call-rate numbers).
//! Unknown keys are errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cdr::Origin;
use crate::signal::CallSignal;

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid policy.
    #[error("{file}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong, with the line and column when TOML says so.
        reason: String,
    },
}

/// The call detector's policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallPolicy {
    /// The long sliding window, in seconds: distinct callees and every share are measured
    /// over the calls of the last `window_secs`.
    pub window_secs: u32,
    /// The short window of the call rate, in seconds.
    pub rate_window_secs: u32,
    /// `CALL_RATE`: more calls than this in the short window …
    pub max_calls_per_rate_window: u32,
    /// … or more than this in the long window.
    pub max_calls_per_window: u32,
    /// `CALL_FANOUT`: more distinct callees than this in the long window.
    pub max_distinct_callees: u32,
    /// Shares (short calls, short gaps, new callees, answer rate) are judged only over at
    /// least this many calls in the long window.
    pub min_calls_for_shares: u32,
    /// A call answered and shorter than this many seconds is "very short".
    pub short_call_secs: u32,
    /// `CALL_SHORT_SHARE`: at least this share of the window's calls are very short.
    pub max_short_share: f64,
    /// `CALL_LOW_ANSWER`: fewer than this share of the window's calls were answered.
    pub min_answer_rate: f64,
    /// A call that starts less than this many seconds after the caller's previous call
    /// ended follows a "short gap".
    pub short_gap_secs: u32,
    /// `CALL_SHORT_GAPS`: at least this share of the window's calls follow a short gap.
    pub max_short_gap_share: f64,
    /// `CALL_NEW_CALLEES`: at least this share of the window's calls go to numbers the
    /// caller never called before.
    pub max_new_callee_share: f64,
    /// Consecutive callees whose numbers differ by at most this much (or by the same step
    /// as the previous pair) are dialled in a run.
    pub sequential_max_step: u32,
    /// `CALL_SEQUENTIAL`: at least this many calls of the window are in numeric runs.
    pub sequential_min_calls: u32,
    /// `CALL_MOSTLY_OUTGOING` (judged over the whole stream): at least this many outgoing
    /// calls …
    pub mostly_outgoing_min_calls: u32,
    /// … and at most this share as many incoming calls.
    pub mostly_outgoing_max_incoming_share: f64,
    /// A call from abroad, unanswered, that rang at most this many seconds is a "one-ring" call.
    pub one_ring_max_secs: u32,
    /// `CALL_ONE_RING_ABROAD` (Wangiri): one-ring calls to at least this many distinct
    /// callees in the long window.
    pub wangiri_min_callees: u32,
    /// Routes on which a Vietnamese mobile number shown as the caller is spoofed
    /// (`CALL_SPOOFED_CLI`); `voip` may be added where OTT gateways must not present them.
    pub spoofing_origins: Vec<Origin>,
    /// `CALL_SCAM_PATTERN`: a caller from abroad or VoIP, with at least this many distinct
    /// callees in the long window …
    pub scam_min_callees: u32,
    /// … and at least this many answered calls …
    pub scam_min_long_calls: u32,
    /// … of at least this many seconds.
    pub scam_long_call_secs: u32,
    /// Advertising calls are allowed from `ad_start_hour`:00 …
    pub ad_start_hour: u32,
    /// … to `ad_end_hour`:00, Vietnam time (Decree 91/2020: 08–17).
    pub ad_end_hour: u32,
    /// At most this many ad calls per advertiser per recipient in 24 h (Decree 91/2020: 1).
    pub ad_max_calls_per_recipient_per_day: u32,
    /// `CALL_TO_DNC`: a caller that is not a registered advertiser but calls at least this
    /// many distinct numbers on the Do-Not-Call list.
    pub dnc_min_callees: u32,
    /// `SMS_MANY_CALLS_FEW` (when SMS counts are given): at least this many SMS sent …
    pub sms_min_messages: u64,
    /// … and at most this many calls made and received.
    pub sms_max_calls: u64,
    /// A caller whose signals' weights sum to at least this is suspected.
    pub suspect_score: f64,
    /// Weight overrides by signal id (`CALL_RATE = 4.0`); see docs/calls.md for the defaults.
    pub weights: BTreeMap<String, f64>,
    /// Callers tracked at most; beyond, the callers idle longest (and not suspected) are
    /// forgotten. Bounds memory in a long-running server.
    pub max_tracked_numbers: usize,
    /// Distinct callees remembered per caller for "never called before"; a caller past
    /// this many is a mass caller and every further callee counts as new.
    pub max_callees_per_caller: u32,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            window_secs: 3600,
            rate_window_secs: 600,
            max_calls_per_rate_window: 20,
            max_calls_per_window: 60,
            max_distinct_callees: 30,
            min_calls_for_shares: 15,
            short_call_secs: 10,
            max_short_share: 0.6,
            min_answer_rate: 0.3,
            short_gap_secs: 10,
            max_short_gap_share: 0.6,
            max_new_callee_share: 0.8,
            sequential_max_step: 10,
            sequential_min_calls: 10,
            mostly_outgoing_min_calls: 40,
            mostly_outgoing_max_incoming_share: 0.05,
            one_ring_max_secs: 5,
            wangiri_min_callees: 5,
            spoofing_origins: vec![Origin::International],
            scam_min_callees: 10,
            scam_min_long_calls: 3,
            scam_long_call_secs: 300,
            ad_start_hour: 8,
            ad_end_hour: 17,
            ad_max_calls_per_recipient_per_day: 1,
            dnc_min_callees: 3,
            sms_min_messages: 50,
            sms_max_calls: 2,
            suspect_score: 6.0,
            weights: BTreeMap::new(),
            max_tracked_numbers: 5_000_000,
            max_callees_per_caller: 512,
        }
    }
}

impl CallPolicy {
    /// Parses a policy from TOML text; `name` names it in errors.
    pub fn from_toml(name: &str, text: &str) -> Result<CallPolicy, PolicyError> {
        let p: CallPolicy = toml::from_str(text).map_err(|e| PolicyError::Invalid {
            file: name.to_string(),
            reason: e.to_string().trim().replace('\n', " "),
        })?;
        p.validate().map_err(|reason| PolicyError::Invalid {
            file: name.to_string(),
            reason,
        })?;
        Ok(p)
    }

    /// Loads a policy file.
    pub fn load(path: &std::path::Path) -> Result<CallPolicy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        CallPolicy::from_toml(&path.display().to_string(), &text)
    }

    /// Checks values that TOML types cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_secs == 0 || self.rate_window_secs == 0 || self.rate_window_secs > self.window_secs {
            return Err("window_secs and rate_window_secs must be positive, rate_window_secs ≤ window_secs".into());
        }
        if self.ad_start_hour > 24 || self.ad_end_hour > 24 || self.ad_start_hour >= self.ad_end_hour {
            return Err("ad hours must satisfy 0 ≤ ad_start_hour < ad_end_hour ≤ 24".into());
        }
        for (name, v) in [
            ("max_short_share", self.max_short_share),
            ("min_answer_rate", self.min_answer_rate),
            ("max_short_gap_share", self.max_short_gap_share),
            ("max_new_callee_share", self.max_new_callee_share),
            (
                "mostly_outgoing_max_incoming_share",
                self.mostly_outgoing_max_incoming_share,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        for id in self.weights.keys() {
            if CallSignal::parse(id).is_none() {
                return Err(format!("weights: {id} is not a call signal (see docs/calls.md)"));
            }
        }
        if !self.suspect_score.is_finite() || self.weights.values().any(|w| !w.is_finite()) {
            return Err("scores and weights must be finite numbers".into());
        }
        Ok(())
    }

    /// The weight of a signal: the override, else its default.
    pub fn weight(&self, s: CallSignal) -> f64 {
        self.weights.get(s.id()).copied().unwrap_or(s.default_weight())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(CallPolicy::from_toml("p", "window_secs = 600\nrate_window_secs = 60").is_ok());
        let e = CallPolicy::from_toml("p", "windows_secs = 600")
            .unwrap_err()
            .to_string();
        assert!(e.contains("windows_secs"), "{e}");
        assert!(CallPolicy::from_toml("p", "max_short_share = 1.5").is_err());
        assert!(CallPolicy::from_toml("p", "ad_start_hour = 18").is_err());
        assert!(CallPolicy::from_toml("p", "[weights]\nCALL_RATES = 1.0").is_err());
        let p = CallPolicy::from_toml("p", "[weights]\nCALL_RATE = 1.5").unwrap();
        assert_eq!(p.weight(CallSignal::CallRate), 1.5);
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    #[test]
    fn the_example_file_is_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/calls.toml");
        assert_eq!(CallPolicy::load(&path).unwrap(), CallPolicy::default());
    }
}
