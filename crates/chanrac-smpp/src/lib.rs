//! chanrac-smpp: the SMPP 3.4 layer of chanrac — codec, SMS text, reassembly, sessions and
//! the firewall proxy that sits between ESMEs and the SMSC.
//!
//! Main pieces:
//! - [`pdu`]: the PDU codec ([`Pdu::decode`] over one frame, [`Pdu::encode`]), every SMPP 3.4
//!   PDU chanrac meets and their TLVs; strings are zero-copy [`bytes::Bytes`] slices;
//! - [`text`]: GSM 03.38 (packed and unpacked, extension table), Latin-1, UCS-2/UTF-16BE;
//! - [`concat`](mod@concat): UDH and SAR concatenation and the bounded, clock-injected [`Reassembler`];
//! - [`frame`]: bounded framing on a socket and batched writes;
//! - [`proxy`]: the [`Firewall`], which calls a [`Filter`] for every message;
//! - [`sim`]: an SMSC simulator; [`load`]: a load generator; [`stats`]: counters.
//!
//! ```
//! use chanrac_smpp::pdu::{Body, Pdu, ShortMessage, Address};
//! use chanrac_smpp::submit::{MessageBody, decode_parts};
//!
//! let sm = ShortMessage {
//!     source: Address::new(5, 0, "VCB"),
//!     dest: Address::new(1, 1, "84912345678"),
//!     data_coding: 0x08,
//!     short_message: chanrac_smpp::text::ucs2_encode("Tài khoản của bạn bị khóa").into(),
//!     ..Default::default()
//! };
//! let frame = Pdu::new(7, Body::SubmitSm(sm)).encode();
//! let pdu = Pdu::decode(frame, 65_536).unwrap();
//! let Body::SubmitSm(sm) = &pdu.body else { unreachable!() };
//! let text = decode_parts([&MessageBody::of_sm(sm)], false).text;
//! assert_eq!(text, "Tài khoản của bạn bị khóa");
//! ```
//!
//! Invariants:
//! - the decoder takes any bytes and never panics; `command_length` is checked against a
//!   limit before anything is allocated for the body;
//! - [`concat`](mod@concat), [`text`], [`pdu`] and [`submit`] do no I/O; the reassembler takes the time
//!   as an argument;
//! - one ESME session never waits on another: frames to ESMEs are queued without blocking.

#![deny(missing_docs)]

pub mod concat;
pub mod frame;
pub mod load;
pub mod pdu;
pub mod proxy;
pub mod receipt;
pub mod sim;
pub mod stats;
pub mod submit;
pub mod text;

pub use concat::Reassembler;
pub use pdu::{Body, DecodeError, Pdu};
pub use proxy::{Decision, Filter, Firewall, FirewallConfig, SubmitContext};
pub use stats::Stats;
