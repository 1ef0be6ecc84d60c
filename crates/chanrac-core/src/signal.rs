//! The built-in signals: every signal the engine can emit besides rule ids, with its meaning
//! and default weight. `docs/signals.md` is this table; a test keeps the two in step.

use crate::verdict::Category;

/// A built-in signal's description.
#[derive(Debug, Clone, Copy)]
pub struct SignalInfo {
    /// Stable SCREAMING_SNAKE id.
    pub id: &'static str,
    /// Default weight (the policy may override it).
    pub weight: f32,
    /// The category its weight counts toward when it is positive.
    pub category: Category,
    /// What it means.
    pub meaning: &'static str,
}

macro_rules! signals {
    ($($name:ident = $id:literal, $w:expr, $cat:ident, $doc:literal;)*) => {
        $(
            #[doc = $doc]
            pub const $name: &str = $id;
        )*
        /// Built-in signals by name; `Builtin::X as usize` indexes [`BUILTIN`].
        #[allow(non_camel_case_types, missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Builtin { $($name),* }

        /// Every built-in signal.
        pub const BUILTIN: &[SignalInfo] = &[
            $(SignalInfo { id: $id, weight: $w, category: Category::$cat, meaning: $doc },)*
        ];
    };
}

signals! {
    SENDER_ALLOWLISTED = "SENDER_ALLOWLISTED", 0.0, Ham,
        "The sender number or prefix is on the allowlist: the message is allowed whatever else fires.";
    BRANDNAME_ALLOWLISTED = "BRANDNAME_ALLOWLISTED", 0.0, Ham,
        "The sender is an allowlisted brandname: the message is allowed whatever else fires.";
    SENDER_BLOCKLISTED = "SENDER_BLOCKLISTED", 20.0, Spam,
        "The sender number or prefix is on the blocklist.";
    BRANDNAME_BLOCKLISTED = "BRANDNAME_BLOCKLISTED", 20.0, Scam,
        "The sender brandname is on the blocklist (revoked or impersonated).";
    DOMAIN_BLOCKLISTED = "DOMAIN_BLOCKLISTED", 15.0, Scam,
        "A link (or an e-mail's sender address) points to a blocklisted domain.";
    DOMAIN_ALLOWLISTED = "DOMAIN_ALLOWLISTED", -1.0, Ham,
        "Every link points to an allowlisted domain.";
    URL_OFFICIAL = "URL_OFFICIAL", -1.5, Ham,
        "Every link goes to a brand's official domain (the rule pack's official_domains) or an allowlisted one.";
    ACCOUNT_BLOCKLISTED = "ACCOUNT_BLOCKLISTED", 15.0, Scam,
        "The text names a bank account on the blocklist.";
    PHONE_BLOCKLISTED = "PHONE_BLOCKLISTED", 10.0, Scam,
        "The text names a phone number on the sender blocklist as a contact.";
    URL_PRESENT = "URL_PRESENT", 0.5, Spam,
        "The text contains a link.";
    URL_SHORTENER = "URL_SHORTENER", 2.0, Scam,
        "A link goes through a URL shortener, hiding its destination.";
    URL_SUSPICIOUS_TLD = "URL_SUSPICIOUS_TLD", 2.0, Scam,
        "A link's top-level domain is one mostly used by throw-away sites.";
    URL_IP_HOST = "URL_IP_HOST", 3.0, Scam,
        "A link points to a bare IP address.";
    URL_IDN = "URL_IDN", 2.5, Scam,
        "A link's host is an internationalized (punycode) name, a common disguise.";
    URL_BRAND_LOOKALIKE = "URL_BRAND_LOOKALIKE", 4.0, Scam,
        "A link's host borrows a bank's, operator's or authority's name but is not its real domain.";
    URL_FREE_HOSTING = "URL_FREE_HOSTING", 2.0, Scam,
        "A link goes to a free hosting or form service (sites.google.com, web.app, github.io), where throw-away phishing pages live.";
    URL_OBFUSCATED = "URL_OBFUSCATED", 3.0, Scam,
        "A link was written to dodge filters (hxxp, [.], spaces around dots).";
    PHONE_IN_TEXT = "PHONE_IN_TEXT", 0.5, Spam,
        "The text gives a phone number to call or text.";
    PHONE_LIST = "PHONE_LIST", 4.0, Spam,
        "The text lists four or more different phone numbers, as number sellers do.";
    BANK_ACCOUNT_IN_TEXT = "BANK_ACCOUNT_IN_TEXT", 1.5, Scam,
        "The text gives a bank account number.";
    MONEY_AMOUNT = "MONEY_AMOUNT", 0.5, Spam,
        "The text names an amount of money.";
    TEXT_OBFUSCATED = "TEXT_OBFUSCATED", 3.0, Spam,
        "The text hides words from filters: digits for letters, split letters, look-alike letters or invisible characters.";
    TEXT_TRUNCATED = "TEXT_TRUNCATED", 0.0, Ham,
        "The text was longer than the limit and only its start was checked.";
    SENDER_MALFORMED = "SENDER_MALFORMED", 4.0, Scam,
        "The sender number has an impossible form (+84 followed by 0, +084…), a spoofing sign.";
    SENDER_FOREIGN_DOMESTIC = "SENDER_FOREIGN_DOMESTIC", 5.0, Scam,
        "A message from an international route presents a Vietnamese mobile number.";
    SENDER_NEW_SIM = "SENDER_NEW_SIM", 1.0, Spam,
        "The sending SIM was activated in the last days (see the policy).";
    AD_LABEL = "AD_LABEL", 0.0, Ad,
        "The text starts with the advertising label ([QC], [AD], QC).";
    COMPLIANT_AD = "COMPLIANT_AD", -3.0, Ad,
        "A labelled advertisement that breaks none of the sending rules the engine can check (refusal instructions, not from an ordinary number, in hours; with hub facts also registered, under the cap, not to the Do-Not-Call register, its copy submitted), whose every link goes to a brand's official domain and that gives no other contact than a service number or short code: what a registered advertiser sends, not a spammer, an illegal lender or a scammer.";
    AD_FROM_NUMBER = "AD_FROM_NUMBER", 6.0, Spam,
        "An advertisement sent from an ordinary number instead of a registered brandname.";
    AD_OUTSIDE_HOURS = "AD_OUTSIDE_HOURS", 4.0, Spam,
        "An advertisement received outside the permitted hours (Vietnam time).";
    AD_NO_OPTOUT = "AD_NO_OPTOUT", 2.0, Spam,
        "An advertisement without instructions to refuse further ads.";
    AD_NO_LABEL = "AD_NO_LABEL", 2.0, Spam,
        "A message from a registered advertiser's brandname without the advertising label at its start (hub facts).";
    AD_UNREGISTERED_SENDER = "AD_UNREGISTERED_SENDER", 5.0, Spam,
        "A labelled advertisement from a brandname that is not in the advertiser register (hub facts).";
    AD_OVER_CAP = "AD_OVER_CAP", 5.0, Spam,
        "More ads from this advertiser to this recipient in 24 hours than the policy allows (ads.max_per_recipient_24h; hub facts).";
    AD_TO_DNC = "AD_TO_DNC", 12.0, Spam,
        "An advertisement to a number on the Do-Not-Call register for ad messages (hub facts).";
    AD_NO_COPY = "AD_NO_COPY", 3.0, Spam,
        "An advertisement from a registered brandname that matches no ad copy the advertiser submitted (hub facts).";
    MODEL_SPAM = "MODEL_SPAM", 3.0, Ham,
        "The statistical classifier finds the text spam: P(spam) at or above model.spam_threshold (0.9); adds weight × P(spam) to the score but not to the choice between spam and scam.";
    MODEL_SCAM = "MODEL_SCAM", 3.0, Ham,
        "The statistical classifier finds the text a scam: P(scam) at or above model.scam_threshold (0.9); adds weight × P(scam) to the score but not to the choice between spam and scam.";
    EMAIL_DISPLAY_NAME_BRAND = "EMAIL_DISPLAY_NAME_BRAND", 4.0, Scam,
        "An e-mail's display name names a bank, operator or authority (the rule pack's brands and authorities) but its address is not on an official domain.";
    EMAIL_REPLY_TO_MISMATCH = "EMAIL_REPLY_TO_MISMATCH", 2.0, Scam,
        "An e-mail's replies go to another domain than its sender's (Reply-To and From differ).";
    EMAIL_LINK_MISMATCH = "EMAIL_LINK_MISMATCH", 4.0, Scam,
        "A link of an e-mail shows one web address and goes to another domain.";
    EMAIL_SPF_FAIL = "EMAIL_SPF_FAIL", 1.5, Spam,
        "The receiving server recorded spf=fail or softfail (Authentication-Results): the sending server may not send for that domain.";
    EMAIL_DKIM_FAIL = "EMAIL_DKIM_FAIL", 1.5, Spam,
        "The receiving server recorded dkim=fail (Authentication-Results): a signature did not verify.";
    EMAIL_DMARC_FAIL = "EMAIL_DMARC_FAIL", 3.0, Scam,
        "The receiving server recorded dmarc=fail (Authentication-Results): the From domain is not authenticated, a spoofing sign.";
    EMAIL_MIME_BOMB = "EMAIL_MIME_BOMB", 4.0, Spam,
        "An e-mail went past a limit meant against MIME bombs (nesting depth, number of parts, a huge text part); the rest was not read.";
    EMAIL_BAD_ENCODING = "EMAIL_BAD_ENCODING", 1.0, Spam,
        "A part of an e-mail could not be decoded (invalid base64 or quoted-printable, unknown charset, invalid UTF-8); what could be read was checked.";
    EMAIL_TRUNCATED = "EMAIL_TRUNCATED", 0.0, Ham,
        "The e-mail was longer than the size limit and only its start was read.";
    DETECTOR_FAILED = "DETECTOR_FAILED", 0.0, Ham,
        "A detector could not run (state unavailable); the verdict was made without it.";
}

/// Looks up a built-in signal.
pub fn builtin(id: &str) -> Option<&'static SignalInfo> {
    BUILTIN.iter().find(|s| s.id == id)
}
