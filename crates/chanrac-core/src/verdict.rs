//! Verdicts: what the engine decided and why.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What to do with a message, in increasing severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Deliver as is.
    Allow,
    /// Deliver, marked as suspect (a header, a prefix, a log entry: the operator decides).
    Tag,
    /// Hold for an analyst's review.
    Quarantine,
    /// Do not deliver.
    Block,
}

impl Action {
    /// All actions, in order.
    pub const ALL: [Action; 4] = [Action::Allow, Action::Tag, Action::Quarantine, Action::Block];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Tag => "tag",
            Action::Quarantine => "quarantine",
            Action::Block => "block",
        }
    }
}

/// What kind of message it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// A wanted message: personal, transactional, customer care, news.
    Ham,
    /// An advertisement that follows the rules.
    Ad,
    /// Unwanted: an ad that breaks the rules, or banned content (gambling, loans, porn…).
    Spam,
    /// Fraud: impersonation, phishing, fake prizes, OTP theft.
    Scam,
}

impl Category {
    /// All categories, in order.
    pub const ALL: [Category; 4] = [Category::Ham, Category::Ad, Category::Spam, Category::Scam];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Ham => "ham",
            Category::Ad => "ad",
            Category::Spam => "spam",
            Category::Scam => "scam",
        }
    }

    /// Parses a label (`ham`, `ad`, `spam`, `scam`), case-insensitively.
    pub fn parse(label: &str) -> Option<Category> {
        let l = label.trim();
        Category::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(l))
    }

    /// Spam or scam: what the firewall exists to stop.
    pub fn is_unwanted(self) -> bool {
        matches!(self, Category::Spam | Category::Scam)
    }
}

/// One signal that fired, with its contribution to the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// The signal id (`KEYWORD…`, `URL_SHORTENER`, a rule id).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "URL_BRAND_LOOKALIKE"))]
    pub signal: Arc<str>,
    /// Its weight in the score (after the policy).
    pub weight: f32,
    /// What in the message made it fire, quoted from the original text where possible.
    pub evidence: String,
}

/// The engine's decision on one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    /// What to do.
    pub action: Action,
    /// What it is.
    pub category: Category,
    /// The sum of the weights of the reasons.
    pub score: f32,
    /// Every signal that fired, largest contribution first.
    pub reasons: Vec<Reason>,
}

impl Verdict {
    /// True when a reason with this signal id is present.
    pub fn has(&self, signal: &str) -> bool {
        self.reasons.iter().any(|r| &*r.signal == signal)
    }
}
