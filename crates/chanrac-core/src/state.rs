//! The shape of detectors that need shared state (counters, recent history).
//!
//! The engine does no I/O. A stateful detector says which keys a message touches
//! ([`StateDetector::keys`]); the caller applies and reads all of them in one batch against
//! its store (one Redis pipeline per message or per batch, or the in-process counters, see
//! the `chanrac-store` crate), then hands the values back to
//! [`crate::Engine::check_with_state`], which lets each detector turn its values into
//! signals. When the store cannot answer, the caller passes `None` and the verdict is made
//! without those detectors, with a `DETECTOR_FAILED` signal saying so (and the policy's
//! `velocity.on_state_failure` action as a floor, to fail closed).
//!
//! The operations and what they return are defined here; their exact semantics (windows,
//! precision, expiry) are the `Counters` trait's in `chanrac-store`, and every store passes
//! one conformance suite.

use crate::fingerprint::Fingerprint;
use crate::message::Message;
use crate::phone::SenderId;
use crate::signal::SignalInfo;

/// The most windows one operation may ask for.
pub const MAX_WINDOWS: usize = 4;

/// The longest window or history, in seconds (90 days).
pub const MAX_WINDOW_SECS: u32 = 90 * 86_400;

/// How many members a [`StateOp::History`] holds at most (the most recently touched are
/// kept): distinct-member counts of a history never exceed this.
pub const HISTORY_CAPACITY: usize = 64;

/// Up to [`MAX_WINDOWS`] window lengths in seconds, each in `1..=MAX_WINDOW_SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Windows {
    secs: [u32; MAX_WINDOWS],
    len: u8,
}

impl Windows {
    /// Windows from a slice; `None` when there are more than [`MAX_WINDOWS`] or one is out
    /// of range.
    pub fn new(secs: &[u32]) -> Option<Windows> {
        if secs.len() > MAX_WINDOWS || secs.iter().any(|&w| w == 0 || w > MAX_WINDOW_SECS) {
            return None;
        }
        let mut w = Windows::default();
        w.secs[..secs.len()].copy_from_slice(secs);
        w.len = secs.len() as u8;
        Some(w)
    }

    /// The windows, in the order given.
    pub fn as_slice(&self) -> &[u32] {
        &self.secs[..self.len as usize]
    }

    /// The number of windows.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there is no window.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The longest window (0 when empty).
    pub fn max(&self) -> u32 {
        self.as_slice().iter().copied().max().unwrap_or(0)
    }
}

/// What the store must do with a key. A key holds at most one counter of each kind (one
/// count, one distinct set, one history); every operation of one kind on one key must name
/// the same windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateOp {
    /// Add one to the key's count; returns the count over each window (this message
    /// included).
    Count {
        /// The windows.
        windows: Windows,
    },
    /// Add `member` (a 64-bit hash) to the key's distinct set; returns the estimated number
    /// of distinct members over each window.
    Distinct {
        /// The member's hash.
        member: u64,
        /// The windows.
        windows: Windows,
    },
    /// Record a touch of `member` in the key's history of members (the members touched in
    /// the last `history` seconds, at most [`HISTORY_CAPACITY`], most recent kept). Returns,
    /// for each of `windows`, the number of distinct members last touched within it; then
    /// the number of touches over `new_window` that were to a member the history did not
    /// hold; then the number of touches over `new_window`.
    History {
        /// The member's hash.
        member: u64,
        /// Windows for distinct-member counts.
        windows: Windows,
        /// The window over which touches (all, and to new members) are counted.
        new_window: u32,
        /// How long a member is remembered after its last touch, in seconds.
        history: u32,
    },
}

impl StateOp {
    /// How many values the store returns for this operation.
    pub fn arity(&self) -> usize {
        match self {
            StateOp::Count { windows } | StateOp::Distinct { windows, .. } => windows.len(),
            StateOp::History { windows, .. } => windows.len() + 2,
        }
    }
}

/// One piece of shared state a message touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateKey {
    /// The key, namespaced by the detector (`s:+84912345678`). Stores add their own prefix.
    pub key: String,
    /// The operation.
    pub op: StateOp,
}

/// What a detector sees of a message when it names its keys.
#[derive(Debug, Clone, Copy)]
pub struct StateInput<'a> {
    /// The message.
    pub msg: &'a Message,
    /// The parsed sender.
    pub sender: &'a SenderId,
    /// The near-duplicate fingerprint of the text (see [`crate::fingerprint`]).
    pub fingerprint: &'a Fingerprint,
}

/// A signal from a stateful detector, before the policy weighs it.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSignal {
    /// The signal id; it must be one of the detector's [`StateDetector::signals_info`].
    pub id: &'static str,
    /// The evidence (`42 messages in 60 s`).
    pub evidence: String,
}

/// A detector that reads shared state.
pub trait StateDetector: Send + Sync + std::fmt::Debug {
    /// The detector's name, for `DETECTOR_FAILED` evidence.
    fn name(&self) -> &'static str;

    /// The signals this detector can emit, with default weights.
    fn signals_info(&self) -> &'static [SignalInfo];

    /// Appends the keys this message touches.
    fn keys(&self, input: &StateInput<'_>, out: &mut Vec<StateKey>);

    /// Turns the values of this detector's keys (in the order [`StateDetector::keys`] gave
    /// them; each key has [`StateOp::arity`] values, concatenated) into signals.
    fn signals(&self, msg: &Message, keys: &[StateKey], values: &[u64], out: &mut Vec<StateSignal>);
}

/// The keys of all detectors for one message, in detector order.
#[derive(Debug, Clone, Default)]
pub struct StatePlan {
    /// Every key, to be applied and read in one batch.
    pub keys: Vec<StateKey>,
    /// For each detector, the range of `keys` it owns and the range of the values.
    pub(crate) ranges: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl StatePlan {
    /// How many values the store must return for this plan (the sum of the arities).
    pub fn values_len(&self) -> usize {
        self.keys.iter().map(|k| k.op.arity()).sum()
    }

    /// True when the message touches no state.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_bounded() {
        assert_eq!(Windows::new(&[60, 3600]).unwrap().as_slice(), &[60, 3600]);
        assert_eq!(Windows::new(&[60, 3600]).unwrap().max(), 3600);
        assert!(Windows::new(&[]).unwrap().is_empty());
        assert!(Windows::new(&[0]).is_none());
        assert!(Windows::new(&[1, 2, 3, 4, 5]).is_none());
        assert!(Windows::new(&[MAX_WINDOW_SECS + 1]).is_none());
    }

    #[test]
    fn arity_counts_values() {
        let w = Windows::new(&[60, 3600]).unwrap();
        assert_eq!(StateOp::Count { windows: w }.arity(), 2);
        assert_eq!(StateOp::Distinct { member: 1, windows: w }.arity(), 2);
        let h = StateOp::History {
            member: 1,
            windows: w,
            new_window: 86_400,
            history: 30 * 86_400,
        };
        assert_eq!(h.arity(), 4);
    }
}
