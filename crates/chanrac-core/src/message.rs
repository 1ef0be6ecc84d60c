//! The message model.

use serde::{Deserialize, Serialize};

/// The channel a message came through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// SMS (SMPP, HTTP or a file).
    #[default]
    Sms,
    /// Over-the-top messaging (Zalo, Viber…), forwarded for checking.
    Ott,
    /// E-mail.
    Email,
}

impl Channel {
    /// The lower-case name (`sms`, `ott`, `email`).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Ott => "ott",
            Channel::Email => "email",
        }
    }
}

/// Where a message entered the operator's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// From a domestic operator.
    Domestic,
    /// From an international route or a VoIP/OTT gateway.
    International,
}

/// Facts about a message that come from the network rather than from its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The sender's operator, when known (`viettel`, `vinaphone`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Domestic or international origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// When the sender's SIM was activated, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_activated_at: Option<i64>,
}

/// One message to check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The caller's id for the message, if any.
    pub id: Option<String>,
    /// The sender: a number in any Vietnamese or E.164 form, a short code or a brandname.
    pub sender: Option<String>,
    /// The recipient number.
    pub recipient: Option<String>,
    /// The text, as received (already decoded from GSM 7-bit, Latin-1 or UCS-2).
    pub text: String,
    /// The channel.
    pub channel: Channel,
    /// When the message was received, in Unix seconds (UTC). Rules about hours use Vietnam
    /// time (UTC+7).
    pub received_at: Option<i64>,
    /// Network facts.
    pub meta: Metadata,
    /// For an e-mail: what its headers and MIME structure say (the `chanrac-mail` crate
    /// fills it; the text is then the subject and the decoded text parts).
    pub email: Option<Box<crate::email::EmailFacts>>,
}

impl Message {
    /// A message with only a text.
    pub fn text(text: impl Into<String>) -> Self {
        Message {
            text: text.into(),
            ..Default::default()
        }
    }

    /// Sets the sender.
    pub fn from(mut self, sender: impl Into<String>) -> Self {
        self.sender = Some(sender.into());
        self
    }

    /// Sets the recipient.
    pub fn to(mut self, recipient: impl Into<String>) -> Self {
        self.recipient = Some(recipient.into());
        self
    }

    /// Sets the time received (Unix seconds).
    pub fn at(mut self, unix_seconds: i64) -> Self {
        self.received_at = Some(unix_seconds);
        self
    }
}

/// What the caller knows about an advertising message from the hub's registers (the
/// advertiser register, the Do-Not-Call register, the ads already sent, the submitted
/// copies). The engine stays pure: the caller looks these up and hands them in with
/// [`crate::Engine::check_full`]; without them only the text-based ad signals fire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdFacts {
    /// The sender is an active brandname of a registered advertiser.
    pub registered_sender: bool,
    /// The recipient is on the Do-Not-Call register for ad messages.
    pub recipient_dnc: bool,
    /// Ads this advertiser already sent this recipient in the last 24 hours (not counting
    /// this one).
    pub sent_24h: u32,
    /// Whether a copy the advertiser submitted matches the text; `None` when unknown.
    pub copy_matches: Option<bool>,
}

/// Vietnam's offset from UTC, in seconds (UTC+7, no daylight saving).
pub const VIETNAM_UTC_OFFSET: i64 = 7 * 3600;

/// The hour of the day (0–23) in Vietnam time of a Unix timestamp.
pub fn vietnam_hour(unix_seconds: i64) -> u32 {
    ((unix_seconds + VIETNAM_UTC_OFFSET).rem_euclid(86_400) / 3600) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_hours() {
        // 2026-11-22T15:00:00Z is 22:00 in Hanoi.
        assert_eq!(vietnam_hour(1_795_359_600), 22);
        assert_eq!(vietnam_hour(0), 7);
        assert_eq!(vietnam_hour(-3600), 6);
    }
}
