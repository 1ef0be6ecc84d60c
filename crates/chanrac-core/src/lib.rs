//! chanrac-core: the sans-I/O filtering engine of chanrac.
//!
//! A [`Message`] goes in, a [`Verdict`] comes out: an [`Action`] (allow, tag, quarantine,
//! block), a [`Category`] (ham, ad, spam, scam), a score, and every [`Reason`] (signal,
//! weight, evidence quoted from the original text). The stages:
//!
//! 1. [`normalize`]: fold the text so that `V.A.Y T1ỀN` reads `vay tien`, keeping a map back
//!    to the original for evidence;
//! 2. [`rules`]: every keyword of every rule and every cue word in one Aho-Corasick pass
//!    over the folded text, regexes only behind a keyword hit;
//! 3. [`extract`]: links (registrable domain, shorteners, look-alikes), phone numbers, bank
//!    accounts, money amounts;
//! 4. [`lists`]: allow and block lists of senders, brandnames, domains, accounts;
//! 5. stateful detectors ([`state`], [`velocity`]): the engine names the counters a message
//!    touches ([`Engine::state_plan`]), the caller reads them in one batch (the
//!    `chanrac-store` crate) and hands the values back ([`Engine::check_with_state`]);
//! 6. [`model`]: the statistical classifier reads the folded text and the findings
//!    ([`features`]) and gives P(ham), P(spam), P(scam) (`MODEL_SPAM`, `MODEL_SCAM`);
//! 7. the scorer: the [`Policy`] maps signals to weights and the score to an action.
//!
//! ```
//! use chanrac_core::{Engine, Message, Action, Category};
//!
//! let engine = Engine::with_defaults().unwrap();
//! let v = engine.check(&Message::text("V.A.Y T1ỀN nhanh, giải ngân 5 phút, không thế chấp"));
//! assert!(v.action >= Action::Tag);
//! assert_eq!(v.category, Category::Spam);
//! let v = engine.check(&Message::text("Mai 7h đi đá bóng nhé"));
//! assert_eq!(v.action, Action::Allow);
//! ```
//!
//! Invariants:
//! - no I/O, no async, no global state: shared state comes in through [`state`];
//! - nothing panics on any input text; texts over [`normalize::MAX_TEXT_BYTES`] are cut and
//!   flagged;
//! - every evidence span lies inside the original text.

#![deny(missing_docs)]

mod automaton;
pub mod email;
pub mod engine;
pub mod error;
pub mod extract;
pub mod features;
pub mod fingerprint;
mod fold_tables;
pub mod keywords;
pub mod lists;
pub mod message;
pub mod model;
pub mod normalize;
pub mod phone;
pub mod policy;
pub mod rules;
pub mod signal;
pub mod state;
pub mod velocity;
pub mod verdict;
mod vi_tables;

pub use engine::{Engine, EngineBuilder, Prepared, Scratch};
pub use error::ConfigError;
pub use lists::{ListKind, ListSet, Lists, normalize_entry};
pub use message::{AdFacts, Channel, Message, Metadata, Origin};
pub use model::{Label, Model};
pub use policy::Policy;
pub use rules::RuleSet;
pub use verdict::{Action, Category, Reason, Verdict};
