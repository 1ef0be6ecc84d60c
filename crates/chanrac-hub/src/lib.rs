//! chanrac-hub: the regulator's side of chanrac, without I/O.
//!
//! What a subscriber or an advertiser sends to the hub's short code (5656 by default) is
//! parsed by [`mo::parse`] into an [`mo::Mo`]: a spam report (`S`, `V`, `LD`), a Do-Not-Call
//! registration or cancellation (`DK DNC`, `HUY DNC`, with `S`/`V` for messages or calls
//! only), an advertiser's ad copy (`FW`), or something unparsable; [`mo::reply`] writes the
//! SMS answer, which on error teaches the right syntax. [`report`] computes the grouping keys
//! of a report (the reported source's canonical key, the content's fingerprint) and decides
//! when a source is watched or proposed for the block list. [`dnc::DncIndex`] answers "may
//! this number receive ads?" for millions of numbers per second from memory. [`ads`] checks
//! brandnames and matches messages against the ad copies advertisers submitted.
//! [`ministry`] sums the period's statistics into the ministry's report and writes it
//! (Markdown, HTML with SVG charts, CSV, JSON).
//!
//! ```
//! use chanrac_hub::mo::{self, Mo, ReportKind};
//!
//! let cfg = chanrac_hub::HubConfig::default();
//! let m = mo::parse("s (0912 345 678) Vay tien nhanh lai 0%", &cfg);
//! assert!(matches!(m, Mo::Report { kind: ReportKind::Spam, .. }));
//! assert!(mo::reply(&m, "R42", &cfg).contains("R42"));
//! ```
//!
//! Invariants: no I/O, no clock (times are arguments), no global state; every text,
//! however malformed or long, parses to *something* (at worst [`mo::Mo::Unknown`] with the
//! reason), never a panic. Every threshold, syntax keyword and hour is configuration
//! ([`HubConfig`]), with the defaults of the regulation.

#![deny(missing_docs)]

pub mod ads;
pub mod config;
pub mod dnc;
pub mod lookup;
pub mod ministry;
pub mod mo;
pub mod report;

pub use config::HubConfig;
