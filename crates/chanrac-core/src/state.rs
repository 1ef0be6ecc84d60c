//! The shape of detectors that need shared state (counters, recent history).
//!
//! The engine does no I/O. A stateful detector says which keys a message touches
//! ([`StateDetector::keys`]); the caller applies and reads all of them in one batch against
//! its store (one Redis pipeline per message or per batch, or the in-process counters), then
//! hands the values back to [`crate::Engine::check_with_state`], which lets each detector
//! turn its values into signals. When the store cannot answer, the caller passes `None` and
//! the verdict is made without those detectors, with a `DETECTOR_FAILED` signal saying so.

use crate::message::Message;
use crate::phone::SenderId;
use crate::signal::SignalInfo;

/// What the store must do with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateOp {
    /// Add one to a windowed count and return the count in the window.
    Count,
    /// Add a member to a windowed distinct set and return the set's size in the window.
    Distinct(String),
}

/// One piece of shared state a message touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateKey {
    /// The key, namespaced by the detector (`sender:+84912345678`).
    pub key: String,
    /// The window in seconds.
    pub window_secs: u32,
    /// The operation.
    pub op: StateOp,
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
    fn keys(&self, msg: &Message, sender: &SenderId, out: &mut Vec<StateKey>);

    /// Turns the values of this detector's keys (in the order [`StateDetector::keys`] gave
    /// them) into signals.
    fn signals(&self, msg: &Message, keys: &[StateKey], values: &[u64], out: &mut Vec<StateSignal>);
}

/// The keys of all detectors for one message, in detector order.
#[derive(Debug, Clone, Default)]
pub struct StatePlan {
    /// Every key, to be applied and read in one batch.
    pub keys: Vec<StateKey>,
    /// For each detector, the range of `keys` it owns.
    pub(crate) ranges: Vec<std::ops::Range<usize>>,
}
