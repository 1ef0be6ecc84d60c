//! The hub's configuration: short codes, limits and thresholds, each with the default of the
//! regulation (`REGULATION.md` in the project's shared notes) or of comparable systems.

use serde::{Deserialize, Serialize};

/// The regulator's hub: the short-code line, spam reports and their escalation, the
/// Do-Not-Call register.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct HubConfig {
    /// The short codes the hub answers (5656; 456 was the older report code, 156 takes
    /// fraud reports). A message addressed to one of them is handled by the hub, not
    /// checked and forwarded.
    pub short_codes: Vec<String>,
    /// The short code named in replies.
    pub reply_code: String,
    /// The longest text the line parses, in characters (ten concatenated SMS). A longer
    /// text is stored as an unparsed report and answered with the syntax.
    pub max_text_chars: usize,
    /// Reports about one source by this many distinct subscribers within
    /// `group_window_hours` put the source on the watch list.
    pub watch_reporters: u32,
    /// This many distinct reporters within the window propose the source for the block
    /// list, for an analyst to confirm or reject (TRAI acts after 5 complaints in 10 days).
    pub propose_reporters: u32,
    /// The window, in hours, in which distinct reporters of a source are counted.
    pub group_window_hours: u32,
    /// Reports one subscriber may make in `reporter_window_hours` that count toward the
    /// thresholds; further reports are kept and answered but do not count, so that nobody
    /// floods the line or frames a number alone.
    pub reporter_max_reports: u32,
    /// The window, in hours, of `reporter_max_reports`.
    pub reporter_window_hours: u32,
    /// Seconds a Do-Not-Call one-time password (sent to the number for a web or API
    /// registration) stays valid.
    pub otp_ttl_secs: u32,
    /// Wrong one-time passwords allowed per request before it is void.
    pub otp_max_attempts: u32,
    /// The largest evidence file (a screenshot, a call recording) attached to a web or API
    /// report, in bytes once decoded.
    pub evidence_max_bytes: usize,
    /// Evidence files one report may carry.
    pub evidence_max_files: usize,
    /// The types of evidence accepted (MIME types), as read from the file's bytes, never
    /// from its name.
    pub evidence_types: Vec<String>,
    /// Reports (`POST /v1/reports`) a key with only the `public` role may file per minute,
    /// all reporters together (a web or app front's whole traffic).
    pub public_reports_per_minute: u32,
    /// Reports a key with only the `public` role may file per minute for one reporter's
    /// number, so that one number cannot flood the queue through the web.
    pub public_reports_per_reporter_per_minute: u32,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            short_codes: vec!["5656".into()],
            reply_code: "5656".into(),
            max_text_chars: 1600,
            watch_reporters: 3,
            propose_reporters: 5,
            group_window_hours: 240,
            reporter_max_reports: 20,
            reporter_window_hours: 24,
            otp_ttl_secs: 300,
            otp_max_attempts: 5,
            evidence_max_bytes: 5 * 1024 * 1024,
            evidence_max_files: 5,
            evidence_types: [
                "image/jpeg",
                "image/png",
                "image/webp",
                "image/gif",
                "image/heif",
                "application/pdf",
                "audio/mpeg",
                "audio/m4a",
                "audio/amr",
                "audio/x-wav",
                "audio/ogg",
                "audio/aac",
                "video/mp4",
            ]
            .map(String::from)
            .to_vec(),
            public_reports_per_minute: 600,
            public_reports_per_reporter_per_minute: 5,
        }
    }
}

impl HubConfig {
    /// Checks the values together; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.short_codes.is_empty() {
            return Err("hub.short_codes must name at least one short code".into());
        }
        if let Some(c) = self.short_codes.iter().find(|c| !is_short_code(c)) {
            return Err(format!("hub.short_codes: {c:?} is not a short code of 3 to 6 digits"));
        }
        if self.watch_reporters == 0 || self.propose_reporters < self.watch_reporters {
            return Err("hub.watch_reporters must be at least 1 and at most hub.propose_reporters".into());
        }
        if self.group_window_hours == 0 || self.reporter_window_hours == 0 {
            return Err("hub.group_window_hours and hub.reporter_window_hours must be positive".into());
        }
        if self.evidence_max_files > 0 && self.evidence_max_bytes == 0 {
            return Err("hub.evidence_max_bytes must be positive when hub.evidence_max_files is".into());
        }
        if self.max_text_chars < 160 {
            return Err("hub.max_text_chars must be at least 160".into());
        }
        Ok(())
    }

    /// True when `to` is one of the hub's short codes.
    pub fn is_hub_code(&self, to: &str) -> bool {
        let t = to.trim();
        self.short_codes.iter().any(|c| c == t)
    }
}

fn is_short_code(c: &str) -> bool {
    (3..=6).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_refusals_name_the_key() {
        HubConfig::default().validate().unwrap();
        let bad = HubConfig {
            propose_reporters: 1,
            ..HubConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("propose_reporters"));
        let bad = HubConfig {
            short_codes: vec!["56a6".into()],
            ..HubConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("56a6"));
        assert!(HubConfig::default().is_hub_code(" 5656"));
        assert!(!HubConfig::default().is_hub_code("0912345678"));
    }
}
