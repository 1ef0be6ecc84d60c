//! chanrac-calls: spam and scam calls found in call detail records (CDRs).
//!
//! - [`CdrReader`] reads CSV (header
//!   `start_time,caller,displayed_number,callee,duration_s,answered,origin,operator`, any
//!   order, extra columns ignored) or JSON Lines, in bounded memory; a bad line is counted
//!   and kept with its line number, never fatal.
//! - [`Detector`] follows every caller over sliding windows and names the suspects
//!   ([`Suspect`]: number, [`CallCategory`], score, evidence) by the criteria of Decree
//!   91/2020 and Circular 22/2021: call rate, distinct callees, short calls, answer rate,
//!   short gaps, callees never called before, numeric runs, mostly-outgoing numbers,
//!   Wangiri one-ring calls from abroad, international routes presenting Vietnamese
//!   mobile numbers, ad calls outside the hours, to DNC subscribers or repeated, numbers on
//!   the block lists, and (with SMS counts) numbers that send many SMS but make few calls.
//! - [`CallPolicy`] holds every threshold and weight (defaults from
//!   `../shared/REGULATION.md`); [`CallSignal`] is the table of signals.
//!
//! ```
//! use chanrac_calls::{CallPolicy, CdrReader, Detector, Inputs};
//!
//! let mut csv = String::from("start_time,caller,displayed_number,callee,duration_s,answered,origin,operator\n");
//! // A robocaller: 40 calls of 3 seconds, 5 seconds apart, to numbers in a run.
//! for i in 0..40 {
//!     csv.push_str(&format!(
//!         "2026-11-22T09:{:02}:{:02}+07:00,0912000001,,09870000{i:02},3,true,domestic,viettel\n",
//!         i * 8 / 60,
//!         i * 8 % 60
//!     ));
//! }
//! let mut reader = CdrReader::new(csv.as_bytes());
//! let mut detector = Detector::new(CallPolicy::default(), Inputs::default());
//! while let Some(cdr) = reader.next_cdr().unwrap() {
//!     detector.push(&cdr);
//! }
//! let suspects = detector.suspects();
//! assert_eq!(suspects[0].number, "+84912000001");
//! assert_eq!(suspects[0].category.as_str(), "robocall");
//! assert!(suspects[0].evidence.iter().any(|e| e.signal == "CALL_SEQUENTIAL"));
//! ```
//!
//! Invariants: no I/O beyond the reader's `BufRead` and [`CallPolicy::load`], no clock
//! (windows run on the records' own times), memory bounded by
//! [`CallPolicy::max_tracked_numbers`] and [`CallPolicy::max_callees_per_caller`]; any
//! input line gives a record or a [`BadLine`], never a panic.

#![deny(missing_docs)]

pub mod accuracy;
pub mod cdr;
mod detect;
pub mod number;
pub mod policy;
pub mod signal;

pub use accuracy::{Accuracy, KindScore, Scorecard};
pub use cdr::{BadLine, Cdr, CdrError, CdrReader, Format, Label, Origin};
pub use detect::{Detector, Evidence, Inputs, Suspect};
pub use number::{Number, NumberKind, parse_number_list, parse_sms_counts};
pub use policy::{CallPolicy, PolicyError};
pub use signal::{CallCategory, CallSignal};
