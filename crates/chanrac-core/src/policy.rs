//! The policy: how signals become a score, and a score an action.
//!
//! Every field has a built-in default, so no file is needed; a policy file overrides only what
//! it names, and an unknown key is an error. See `docs/policy.md` and `config/policy.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::ConfigError;

/// The policy, as written in TOML.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct Policy {
    /// Score thresholds for the actions.
    pub thresholds: Thresholds,
    /// Weight overrides by signal id (built-in signals and rule ids). An id that no signal
    /// has is an error, so that a typo cannot silently do nothing.
    pub weights: BTreeMap<String, f32>,
    /// Advertising rules.
    pub ads: Ads,
    /// Sender checks.
    pub sender: SenderPolicy,
    /// The statistical classifier's signals.
    pub model: ModelPolicy,
    /// Frequency, fan-out and campaign limits (see [`crate::velocity`]).
    pub velocity: crate::velocity::VelocityPolicy,
}

/// Score thresholds: a score at or above a threshold takes that action.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Tag (deliver, marked): default 4.
    pub tag: f32,
    /// Quarantine (hold for review): default 7.
    pub quarantine: f32,
    /// Block: default 10.
    pub block: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            tag: 4.0,
            quarantine: 7.0,
            block: 10.0,
        }
    }
}

/// Advertising rules (Decree 91/2020, see `REGULATION.md`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Ads {
    /// Labels that mark an advertisement at the very start of the text (case-insensitive).
    pub labels: Vec<String>,
    /// First hour (Vietnam time, 0–23) in which ads may be received: default 7.
    pub start_hour: u32,
    /// Hour at which the ad window closes: default 22 (ads allowed 07:00–21:59).
    pub end_hour: u32,
    /// Ads one advertiser may send one recipient in 24 hours: default 3 (one more fires
    /// `AD_OVER_CAP`, when the caller supplies the count, see [`crate::AdFacts`]).
    pub max_per_recipient_24h: u32,
}

impl Default for Ads {
    fn default() -> Self {
        Ads {
            labels: vec!["[QC]".into(), "[AD]".into(), "QC".into(), "(QC)".into()],
            start_hour: 7,
            end_hour: 22,
            max_per_recipient_24h: 3,
        }
    }
}

/// Sender checks.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SenderPolicy {
    /// A SIM activated fewer than this many days before the message counts as new: default 7.
    pub new_sim_days: u32,
}

impl Default for SenderPolicy {
    fn default() -> Self {
        SenderPolicy { new_sim_days: 7 }
    }
}

/// When the statistical classifier's signals fire. Their weights are set like every other
/// signal's, under `[weights]` (`MODEL_SPAM`, `MODEL_SCAM`), and are scaled by the probability.
/// The defaults let the model corroborate other signals but never act alone: at 0.9 it
/// fired on 0.5 % of the Vietnamese ham in cross-validation (see `docs/model.md`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelPolicy {
    /// `MODEL_SPAM` fires when P(spam) is at least this (0 to 1): default 0.9.
    pub spam_threshold: f32,
    /// `MODEL_SCAM` fires when P(scam) is at least this (0 to 1): default 0.9.
    pub scam_threshold: f32,
}

impl Default for ModelPolicy {
    fn default() -> Self {
        ModelPolicy {
            spam_threshold: 0.9,
            scam_threshold: 0.9,
        }
    }
}

impl Policy {
    /// Parses a policy file; errors name the file, line and reason.
    pub fn from_toml(name: &str, text: &str) -> Result<Policy, ConfigError> {
        let p: Policy = toml::from_str(text).map_err(|e| ConfigError::parse(name, text, &e))?;
        let t = &p.thresholds;
        if !(t.tag > 0.0 && t.tag <= t.quarantine && t.quarantine <= t.block) {
            return Err(ConfigError::Invalid(format!(
                "{name}: thresholds must satisfy 0 < tag <= quarantine <= block (got {}, {}, {})",
                t.tag, t.quarantine, t.block
            )));
        }
        if p.ads.start_hour > 23 || p.ads.end_hour > 24 || p.ads.start_hour >= p.ads.end_hour {
            return Err(ConfigError::Invalid(format!(
                "{name}: ads.start_hour must be before ads.end_hour, within 0..=24"
            )));
        }
        let m = &p.model;
        if !((0.0..=1.0).contains(&m.spam_threshold) && (0.0..=1.0).contains(&m.scam_threshold)) {
            return Err(ConfigError::Invalid(format!(
                "{name}: model.spam_threshold and model.scam_threshold must be probabilities between 0 and 1"
            )));
        }
        p.velocity.validate(name)?;
        if let Some((id, w)) = p.weights.iter().find(|(_, w)| !w.is_finite()) {
            return Err(ConfigError::Invalid(format!(
                "{name}: weight of {id} must be a finite number, not {w}"
            )));
        }
        Ok(p)
    }

    /// Reads a policy file.
    pub fn load(path: &std::path::Path) -> Result<Policy, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Self::from_toml(&path.display().to_string(), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_a_file() {
        assert_eq!(Policy::from_toml("p.toml", "").unwrap(), Policy::default());
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let err = Policy::from_toml("p.toml", "[thresholds]\ntag = 3.0\nblok = 9.0\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("p.toml:3:"), "{msg}");
        assert!(msg.contains("blok"), "{msg}");
    }

    #[test]
    fn rejects_inverted_thresholds() {
        assert!(Policy::from_toml("p.toml", "[thresholds]\ntag = 9.0\nblock = 5.0\n").is_err());
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    /// The example policy shipped in `config/policy.toml` spells out the defaults.
    #[test]
    fn example_policy_is_the_default() {
        let text = include_str!("../../../config/policy.toml");
        assert_eq!(
            Policy::from_toml("config/policy.toml", text).unwrap(),
            Policy::default()
        );
    }
}
