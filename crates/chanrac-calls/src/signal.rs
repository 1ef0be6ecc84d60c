//! The call detector's signals, with their default weights and the category each points to.

use serde::Serialize;

/// What kind of unwanted caller a suspect is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallCategory {
    /// Automated mass calling (junk SIMs, autodialers).
    Robocall,
    /// Advertising calls without consent: to DNC subscribers, outside the permitted hours,
    /// repeated to one recipient.
    Telemarketing,
    /// One-ring calls from abroad (a call back costs the subscriber).
    Wangiri,
    /// A foreign route presenting Vietnamese mobile numbers, or an impossible number.
    Spoofed,
    /// Fraud: a number on the block lists, or the pattern of scam calls from abroad.
    Scam,
    /// A source of SMS spam by its call behaviour: many messages, few calls.
    SmsSource,
}

impl CallCategory {
    /// The name used in output (`telemarketing`).
    pub fn as_str(self) -> &'static str {
        match self {
            CallCategory::Robocall => "robocall",
            CallCategory::Telemarketing => "telemarketing",
            CallCategory::Wangiri => "wangiri",
            CallCategory::Spoofed => "spoofed",
            CallCategory::Scam => "scam",
            CallCategory::SmsSource => "sms_source",
        }
    }

    /// Every category.
    pub const ALL: [CallCategory; 6] = [
        CallCategory::Robocall,
        CallCategory::Telemarketing,
        CallCategory::Wangiri,
        CallCategory::Spoofed,
        CallCategory::Scam,
        CallCategory::SmsSource,
    ];

    /// The category of a set of fired signals with their weights: spoofed, Wangiri or scam
    /// when one of their signals fired (in that order); else `sms_source` when its signal
    /// fired; else telemarketing when the telemarketing signals weigh more than the
    /// robocall signals that show automation (rate, short calls, short gaps, low answer
    /// rate, numeric runs); else robocall. Fan-out, new callees and mostly-outgoing describe
    /// any mass caller, so they count for neither side.
    pub fn of(signals: impl Iterator<Item = (CallSignal, f64)> + Clone) -> CallCategory {
        for c in [
            CallCategory::Spoofed,
            CallCategory::Wangiri,
            CallCategory::Scam,
            CallCategory::SmsSource,
        ] {
            if signals.clone().any(|(s, _)| s.category() == c) {
                return c;
            }
        }
        let weigh = |c: CallCategory| -> f64 {
            signals
                .clone()
                .filter(|(s, _)| s.category() == c && !s.is_generic())
                .map(|(_, w)| w)
                .sum()
        };
        let tele = weigh(CallCategory::Telemarketing);
        if tele > weigh(CallCategory::Robocall) {
            CallCategory::Telemarketing
        } else {
            CallCategory::Robocall
        }
    }
}

macro_rules! signals {
    ($($variant:ident $id:literal $weight:literal $cat:ident $doc:literal,)*) => {
        /// A call signal. Its id is stable (docs/calls.md lists every one).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum CallSignal {
            $(#[doc = $doc] $variant,)*
        }

        impl CallSignal {
            /// Every signal.
            pub const ALL: &'static [CallSignal] = &[$(CallSignal::$variant,)*];

            /// The stable id (`CALL_RATE`).
            pub fn id(self) -> &'static str {
                match self { $(CallSignal::$variant => $id,)* }
            }

            /// The default weight.
            pub fn default_weight(self) -> f64 {
                match self { $(CallSignal::$variant => $weight,)* }
            }

            /// The category this signal points to.
            pub fn category(self) -> CallCategory {
                match self { $(CallSignal::$variant => CallCategory::$cat,)* }
            }

            /// What it means, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self { $(CallSignal::$variant => $doc,)* }
            }
        }
    };
}

signals! {
    CallRate "CALL_RATE" 3.0 Robocall "More calls than the policy allows in the short or the long window (Circular 22: call frequency).",
    CallFanout "CALL_FANOUT" 2.0 Robocall "More distinct callees than the policy allows in the long window.",
    CallShortShare "CALL_SHORT_SHARE" 2.0 Robocall "A large share of the window's calls were answered and very short (Circular 22: short calls).",
    CallLowAnswer "CALL_LOW_ANSWER" 1.5 Robocall "Few of the window's calls were answered.",
    CallShortGaps "CALL_SHORT_GAPS" 2.0 Robocall "A large share of the window's calls started seconds after the previous one ended (Circular 22: short gaps).",
    CallNewCallees "CALL_NEW_CALLEES" 1.5 Robocall "A large share of the window's calls went to numbers the caller never called before (Circular 22).",
    CallSequential "CALL_SEQUENTIAL" 3.0 Robocall "Callees dialled in numeric runs (consecutive numbers, or a constant step).",
    CallMostlyOutgoing "CALL_MOSTLY_OUTGOING" 1.5 Robocall "Many calls made, almost none received (Circular 22: mostly outgoing).",
    CallOneRingAbroad "CALL_ONE_RING_ABROAD" 7.0 Wangiri "Unanswered calls from abroad that rang a few seconds, to many callees (Wangiri).",
    CallSpoofedCli "CALL_SPOOFED_CLI" 8.0 Spoofed "An international route presented a Vietnamese mobile number (2025 rules: stop such calls).",
    CallMalformedCli "CALL_MALFORMED_CLI" 8.0 Spoofed "The presented number has an impossible form (+84 0…, +084…).",
    CallScamPattern "CALL_SCAM_PATTERN" 6.0 Scam "A caller from abroad or VoIP calling many subscribers with long conversations.",
    ListedBlock "LISTED_BLOCK" 10.0 Scam "The caller is on the block list (shared fraud and spam sources).",
    AdCallOutsideHours "AD_CALL_OUTSIDE_HOURS" 6.0 Telemarketing "A registered advertiser called outside the permitted hours.",
    AdCallToDnc "AD_CALL_TO_DNC" 6.0 Telemarketing "A registered advertiser called a number on the Do-Not-Call list.",
    AdCallRepeat "AD_CALL_REPEAT" 6.0 Telemarketing "A registered advertiser called one recipient more often than allowed per 24 h.",
    CallToDnc "CALL_TO_DNC" 3.0 Telemarketing "A caller that is not a registered advertiser called many numbers on the Do-Not-Call list.",
    SmsManyCallsFew "SMS_MANY_CALLS_FEW" 6.0 SmsSource "The number sends many SMS but makes and receives few calls (Circular 22: behaviour).",
}

impl CallSignal {
    /// Finds a signal by its id.
    pub fn parse(id: &str) -> Option<CallSignal> {
        CallSignal::ALL.iter().copied().find(|s| s.id() == id)
    }

    /// True for the signals of any mass caller (fan-out, new callees, mostly outgoing),
    /// which do not decide between robocall and telemarketing.
    pub fn is_generic(self) -> bool {
        matches!(
            self,
            CallSignal::CallFanout | CallSignal::CallNewCallees | CallSignal::CallMostlyOutgoing
        )
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How many signals there are.
pub const SIGNAL_COUNT: usize = 18;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        assert_eq!(CallSignal::ALL.len(), SIGNAL_COUNT);
        for (i, s) in CallSignal::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
            assert_eq!(CallSignal::parse(s.id()), Some(*s));
        }
        let of = |s: &[CallSignal]| CallCategory::of(s.iter().map(|s| (*s, s.default_weight())));
        assert_eq!(
            of(&[CallSignal::CallFanout, CallSignal::CallToDnc]),
            CallCategory::Telemarketing
        );
        assert_eq!(
            of(&[CallSignal::CallRate, CallSignal::CallShortGaps, CallSignal::CallToDnc]),
            CallCategory::Robocall
        );
        assert_eq!(
            of(&[CallSignal::CallRate, CallSignal::CallOneRingAbroad]),
            CallCategory::Wangiri
        );
        assert_eq!(of(&[CallSignal::CallNewCallees]), CallCategory::Robocall);
    }
}
