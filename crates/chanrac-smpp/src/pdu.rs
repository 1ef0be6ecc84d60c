//! The SMPP 3.4 PDU codec.
//!
//! A PDU on the wire is a 16-byte header (`command_length`, `command_id`, `command_status`,
//! `sequence_number`, all big-endian `u32`) and a body. [`Pdu::decode`] takes one whole frame
//! (exactly `command_length` bytes, as [`crate::frame`] reads them) and returns the typed PDU;
//! its strings and octet strings are [`Bytes`] slices of the frame, so decoding copies no text.
//! [`Pdu::encode`] writes it back, byte for byte the same for a frame that decoded.
//!
//! The decoder is lenient where real peers differ from the specification and strict where a
//! mistake would misread the rest: a C-octet string may be longer than the specification's
//! maximum (the SMSC decides), but it must end with a NUL inside the body; `sm_length` must fit
//! in the body; every TLV must fit. Unknown TLVs are kept and re-encoded unchanged.

use bytes::{BufMut, Bytes, BytesMut};

/// The size of a PDU header.
pub const HEADER_LEN: usize = 16;

/// SMPP 3.4 command ids.
pub mod cmd {
    #![allow(missing_docs)]
    pub const GENERIC_NACK: u32 = 0x8000_0000;
    pub const BIND_RECEIVER: u32 = 0x0000_0001;
    pub const BIND_RECEIVER_RESP: u32 = 0x8000_0001;
    pub const BIND_TRANSMITTER: u32 = 0x0000_0002;
    pub const BIND_TRANSMITTER_RESP: u32 = 0x8000_0002;
    pub const QUERY_SM: u32 = 0x0000_0003;
    pub const QUERY_SM_RESP: u32 = 0x8000_0003;
    pub const SUBMIT_SM: u32 = 0x0000_0004;
    pub const SUBMIT_SM_RESP: u32 = 0x8000_0004;
    pub const DELIVER_SM: u32 = 0x0000_0005;
    pub const DELIVER_SM_RESP: u32 = 0x8000_0005;
    pub const UNBIND: u32 = 0x0000_0006;
    pub const UNBIND_RESP: u32 = 0x8000_0006;
    pub const REPLACE_SM: u32 = 0x0000_0007;
    pub const REPLACE_SM_RESP: u32 = 0x8000_0007;
    pub const CANCEL_SM: u32 = 0x0000_0008;
    pub const CANCEL_SM_RESP: u32 = 0x8000_0008;
    pub const BIND_TRANSCEIVER: u32 = 0x0000_0009;
    pub const BIND_TRANSCEIVER_RESP: u32 = 0x8000_0009;
    pub const OUTBIND: u32 = 0x0000_000B;
    pub const ENQUIRE_LINK: u32 = 0x0000_0015;
    pub const ENQUIRE_LINK_RESP: u32 = 0x8000_0015;
    pub const SUBMIT_MULTI: u32 = 0x0000_0021;
    pub const SUBMIT_MULTI_RESP: u32 = 0x8000_0021;
    pub const DATA_SM: u32 = 0x0000_0103;
    pub const DATA_SM_RESP: u32 = 0x8000_0103;
}

/// SMPP 3.4 `command_status` values used by chanrac.
pub mod status {
    #![allow(missing_docs)]
    pub const ESME_ROK: u32 = 0x0000_0000;
    pub const ESME_RINVMSGLEN: u32 = 0x0000_0001;
    pub const ESME_RINVCMDLEN: u32 = 0x0000_0002;
    pub const ESME_RINVCMDID: u32 = 0x0000_0003;
    pub const ESME_RINVBNDSTS: u32 = 0x0000_0004;
    pub const ESME_RALYBND: u32 = 0x0000_0005;
    pub const ESME_RSYSERR: u32 = 0x0000_0008;
    pub const ESME_RBINDFAIL: u32 = 0x0000_000D;
    pub const ESME_RINVPASWD: u32 = 0x0000_000E;
    pub const ESME_RINVSYSID: u32 = 0x0000_000F;
    pub const ESME_RINVSRCADR: u32 = 0x0000_000A;
    pub const ESME_RSUBMITFAIL: u32 = 0x0000_0045;
    pub const ESME_RTHROTTLED: u32 = 0x0000_0058;
    pub const ESME_RX_T_APPN: u32 = 0x0000_0064;
    pub const ESME_RX_P_APPN: u32 = 0x0000_0065;
    pub const ESME_RX_R_APPN: u32 = 0x0000_0066;
    pub const ESME_RUNKNOWNERR: u32 = 0x0000_00FF;
}

/// SMPP 3.4 TLV tags used by chanrac (any other tag is kept as is).
pub mod tag {
    #![allow(missing_docs)]
    pub const USER_MESSAGE_REFERENCE: u16 = 0x0204;
    pub const SAR_MSG_REF_NUM: u16 = 0x020C;
    pub const SAR_TOTAL_SEGMENTS: u16 = 0x020E;
    pub const SAR_SEGMENT_SEQNUM: u16 = 0x020F;
    pub const SC_INTERFACE_VERSION: u16 = 0x0210;
    pub const MESSAGE_PAYLOAD: u16 = 0x0424;
    pub const MESSAGE_STATE: u16 = 0x0427;
    pub const RECEIPTED_MESSAGE_ID: u16 = 0x001E;
}

/// Why a frame is not a valid PDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer than 16 bytes: no header.
    #[error("frame of {0} bytes is shorter than the 16-byte header")]
    ShortHeader(usize),
    /// `command_length` does not match the frame, or is below 16 or above the limit.
    #[error("command_length {length} is invalid (frame {actual} bytes, limit {max})")]
    BadLength {
        /// The header's `command_length`.
        length: u32,
        /// The frame's real size.
        actual: usize,
        /// The largest accepted.
        max: usize,
    },
    /// A `command_id` this codec does not know.
    #[error("unknown command_id {id:#010x}")]
    UnknownCommand {
        /// The id.
        id: u32,
    },
    /// The body ends inside a field.
    #[error("body ends inside {field} of {command}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// The PDU name.
        command: &'static str,
    },
    /// A C-octet string has no NUL before the end of the body.
    #[error("{field} of {command} has no terminating NUL")]
    Unterminated {
        /// The field being read.
        field: &'static str,
        /// The PDU name.
        command: &'static str,
    },
    /// A field's value is impossible (a `dest_flag` other than 1 or 2…).
    #[error("{field} of {command} is invalid: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The PDU name.
        command: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl DecodeError {
    /// The `command_status` of the `generic_nack` that answers this error.
    pub fn nack_status(&self) -> u32 {
        match self {
            DecodeError::UnknownCommand { .. } => status::ESME_RINVCMDID,
            DecodeError::ShortHeader(_) | DecodeError::BadLength { .. } => status::ESME_RINVCMDLEN,
            DecodeError::Truncated { .. } | DecodeError::Unterminated { .. } | DecodeError::Invalid { .. } => {
                status::ESME_RINVMSGLEN
            }
        }
    }
}

/// The 16-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The whole PDU's length, header included.
    pub command_length: u32,
    /// What the PDU is ([`cmd`]).
    pub command_id: u32,
    /// The status: 0 in requests, the result in responses ([`status`]).
    pub command_status: u32,
    /// Pairs a response with its request.
    pub sequence_number: u32,
}

impl Header {
    /// Reads the header of a frame (no check beyond its size).
    pub fn parse(frame: &[u8]) -> Result<Header, DecodeError> {
        let h = frame.get(..HEADER_LEN).ok_or(DecodeError::ShortHeader(frame.len()))?;
        let w = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        Ok(Header {
            command_length: w(0),
            command_id: w(4),
            command_status: w(8),
            sequence_number: w(12),
        })
    }

    /// True for a response (`command_id` with the high bit set).
    pub fn is_response(&self) -> bool {
        self.command_id & 0x8000_0000 != 0
    }
}

/// Rewrites the sequence number of an encoded frame in place (the proxy renumbers what it
/// forwards without re-encoding it).
pub fn set_sequence(frame: &mut [u8], seq: u32) {
    if let Some(s) = frame.get_mut(12..16) {
        s.copy_from_slice(&seq.to_be_bytes());
    }
}

/// One optional parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tlv {
    /// The tag ([`tag`]).
    pub tag: u16,
    /// The value, as sent.
    pub value: Bytes,
}

impl Tlv {
    /// A TLV.
    pub fn new(tag: u16, value: impl Into<Bytes>) -> Tlv {
        Tlv {
            tag,
            value: value.into(),
        }
    }

    /// A one-byte TLV.
    pub fn u8(tag: u16, v: u8) -> Tlv {
        Tlv::new(tag, vec![v])
    }

    /// A two-byte TLV.
    pub fn u16(tag: u16, v: u16) -> Tlv {
        Tlv::new(tag, v.to_be_bytes().to_vec())
    }

    /// A C-octet string TLV (NUL added).
    pub fn cstr(tag: u16, s: &str) -> Tlv {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        Tlv::new(tag, v)
    }

    /// The value as an integer when it is 1, 2 or 4 bytes long.
    pub fn as_uint(&self) -> Option<u32> {
        match *self.value {
            [a] => Some(a as u32),
            [a, b] => Some(u16::from_be_bytes([a, b]) as u32),
            [a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    /// The value as text, without a trailing NUL (lossy).
    pub fn as_text(&self) -> String {
        let v = self.value.strip_suffix(&[0]).unwrap_or(&self.value);
        String::from_utf8_lossy(v).into_owned()
    }
}

/// Finds a TLV by tag.
pub fn find_tlv(tlvs: &[Tlv], tag: u16) -> Option<&Tlv> {
    tlvs.iter().find(|t| t.tag == tag)
}

/// An address: type of number, numbering plan, digits or alphanumeric id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Address {
    /// Type of number (0 unknown, 1 international, 5 alphanumeric…).
    pub ton: u8,
    /// Numbering plan indicator (1 ISDN/E.164…).
    pub npi: u8,
    /// The address (C-octet string without its NUL).
    pub addr: Bytes,
}

impl Address {
    /// An address from text.
    pub fn new(ton: u8, npi: u8, addr: &str) -> Address {
        Address {
            ton,
            npi,
            addr: Bytes::copy_from_slice(addr.as_bytes()),
        }
    }

    /// The address as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.addr).into_owned()
    }
}

/// `bind_transmitter`, `bind_receiver`, `bind_transceiver` (the kind is the command id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bind {
    /// The account.
    pub system_id: Bytes,
    /// The password.
    pub password: Bytes,
    /// The kind of ESME.
    pub system_type: Bytes,
    /// 0x34 for SMPP 3.4.
    pub interface_version: u8,
    /// The ESME's address range: type of number.
    pub addr_ton: u8,
    /// The ESME's address range: numbering plan.
    pub addr_npi: u8,
    /// The ESME's address range (the addresses it serves).
    pub address_range: Bytes,
}

/// `submit_sm` and `deliver_sm` (same layout).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShortMessage {
    /// The service type.
    pub service_type: Bytes,
    /// The sender.
    pub source: Address,
    /// The recipient.
    pub dest: Address,
    /// Message mode and type; bit 6 (0x40) says the message starts with a UDH.
    pub esm_class: u8,
    /// GSM protocol id.
    pub protocol_id: u8,
    /// Priority.
    pub priority_flag: u8,
    /// When to deliver (empty: now).
    pub schedule_delivery_time: Bytes,
    /// Until when to try.
    pub validity_period: Bytes,
    /// Bit 0 set: a delivery receipt is wanted.
    pub registered_delivery: u8,
    /// Replace a previous message.
    pub replace_if_present_flag: u8,
    /// The text's coding ([`crate::text`]).
    pub data_coding: u8,
    /// A canned message id.
    pub sm_default_msg_id: u8,
    /// The message (UDH included), up to 255 bytes; empty when `message_payload` is used.
    pub short_message: Bytes,
    /// Optional parameters.
    pub tlvs: Vec<Tlv>,
}

impl ShortMessage {
    /// The payload: `message_payload` when present, else `short_message`.
    pub fn payload(&self) -> &Bytes {
        find_tlv(&self.tlvs, tag::MESSAGE_PAYLOAD).map_or(&self.short_message, |t| &t.value)
    }
}

/// `data_sm`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataSm {
    /// The service type.
    pub service_type: Bytes,
    /// The sender.
    pub source: Address,
    /// The recipient.
    pub dest: Address,
    /// Message mode and type.
    pub esm_class: u8,
    /// Delivery receipt wanted (bit 0).
    pub registered_delivery: u8,
    /// The coding of `message_payload`.
    pub data_coding: u8,
    /// Optional parameters (the text is in `message_payload`).
    pub tlvs: Vec<Tlv>,
}

/// One destination of `submit_multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiDest {
    /// `dest_flag` 1: an SME address.
    Sme(Address),
    /// `dest_flag` 2: a distribution list name.
    List(Bytes),
}

/// `submit_multi`: one message to several destinations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitMulti {
    /// The recipients.
    pub dests: Vec<MultiDest>,
    /// Every other field, in `submit_sm`'s layout (its `dest` is unused).
    pub message: ShortMessage,
}

/// A destination `submit_multi` could not send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuccess {
    /// The destination.
    pub dest: Address,
    /// Why.
    pub error_status_code: u32,
}

/// `query_sm`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuerySm {
    /// The SMSC's message id.
    pub message_id: Bytes,
    /// The original sender.
    pub source: Address,
}

/// `query_sm_resp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuerySmResp {
    /// The SMSC's message id.
    pub message_id: Bytes,
    /// When the message reached its final state.
    pub final_date: Bytes,
    /// Its state (1 enroute, 2 delivered, 3 expired, 4 deleted, 5 undeliverable…).
    pub message_state: u8,
    /// The network error code.
    pub error_code: u8,
}

/// `cancel_sm`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CancelSm {
    /// The service type.
    pub service_type: Bytes,
    /// The SMSC's message id.
    pub message_id: Bytes,
    /// The original sender.
    pub source: Address,
    /// The original recipient.
    pub dest: Address,
}

/// `replace_sm`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaceSm {
    /// The SMSC's message id.
    pub message_id: Bytes,
    /// The original sender.
    pub source: Address,
    /// When to deliver.
    pub schedule_delivery_time: Bytes,
    /// Until when to try.
    pub validity_period: Bytes,
    /// Delivery receipt wanted (bit 0).
    pub registered_delivery: u8,
    /// A canned message id.
    pub sm_default_msg_id: u8,
    /// The new text.
    pub short_message: Bytes,
}

/// A PDU body, by command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// `bind_transmitter`.
    BindTransmitter(Bind),
    /// `bind_receiver`.
    BindReceiver(Bind),
    /// `bind_transceiver`.
    BindTransceiver(Bind),
    /// `bind_transmitter_resp`.
    BindTransmitterResp(BindResp),
    /// `bind_receiver_resp`.
    BindReceiverResp(BindResp),
    /// `bind_transceiver_resp`.
    BindTransceiverResp(BindResp),
    /// `outbind`: the SMSC asks the ESME to bind.
    Outbind {
        /// The SMSC's id.
        system_id: Bytes,
        /// Its password.
        password: Bytes,
    },
    /// `unbind`.
    Unbind,
    /// `unbind_resp`.
    UnbindResp,
    /// `enquire_link`.
    EnquireLink,
    /// `enquire_link_resp`.
    EnquireLinkResp,
    /// `generic_nack`.
    GenericNack,
    /// `submit_sm`.
    SubmitSm(ShortMessage),
    /// `submit_sm_resp`.
    SubmitSmResp(MessageIdResp),
    /// `deliver_sm`.
    DeliverSm(ShortMessage),
    /// `deliver_sm_resp`.
    DeliverSmResp(MessageIdResp),
    /// `data_sm`.
    DataSm(DataSm),
    /// `data_sm_resp`.
    DataSmResp(MessageIdResp),
    /// `submit_multi`.
    SubmitMulti(SubmitMulti),
    /// `submit_multi_resp`.
    SubmitMultiResp {
        /// The SMSC's message id.
        message_id: Bytes,
        /// The destinations that failed.
        unsuccess: Vec<Unsuccess>,
        /// Optional parameters (SMPP 5 peers add some).
        tlvs: Vec<Tlv>,
    },
    /// `query_sm`.
    QuerySm(QuerySm),
    /// `query_sm_resp`.
    QuerySmResp(QuerySmResp),
    /// `cancel_sm`.
    CancelSm(CancelSm),
    /// `cancel_sm_resp`.
    CancelSmResp,
    /// `replace_sm`.
    ReplaceSm(ReplaceSm),
    /// `replace_sm_resp`.
    ReplaceSmResp,
}

/// The body of `bind_*_resp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindResp {
    /// The SMSC's id (absent in an error response).
    pub system_id: Bytes,
    /// Optional parameters (`sc_interface_version`).
    pub tlvs: Vec<Tlv>,
}

/// The body of `submit_sm_resp`, `deliver_sm_resp`, `data_sm_resp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageIdResp {
    /// The message id (empty in `deliver_sm_resp` and in error responses).
    pub message_id: Bytes,
    /// Optional parameters (only `data_sm_resp` has them in 3.4).
    pub tlvs: Vec<Tlv>,
}

/// One decoded PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// The status ([`status`]).
    pub status: u32,
    /// The sequence number.
    pub sequence: u32,
    /// The body; it names the command.
    pub body: Body,
}

impl Body {
    /// The command id of this body.
    pub fn command_id(&self) -> u32 {
        match self {
            Body::BindTransmitter(_) => cmd::BIND_TRANSMITTER,
            Body::BindReceiver(_) => cmd::BIND_RECEIVER,
            Body::BindTransceiver(_) => cmd::BIND_TRANSCEIVER,
            Body::BindTransmitterResp(_) => cmd::BIND_TRANSMITTER_RESP,
            Body::BindReceiverResp(_) => cmd::BIND_RECEIVER_RESP,
            Body::BindTransceiverResp(_) => cmd::BIND_TRANSCEIVER_RESP,
            Body::Outbind { .. } => cmd::OUTBIND,
            Body::Unbind => cmd::UNBIND,
            Body::UnbindResp => cmd::UNBIND_RESP,
            Body::EnquireLink => cmd::ENQUIRE_LINK,
            Body::EnquireLinkResp => cmd::ENQUIRE_LINK_RESP,
            Body::GenericNack => cmd::GENERIC_NACK,
            Body::SubmitSm(_) => cmd::SUBMIT_SM,
            Body::SubmitSmResp(_) => cmd::SUBMIT_SM_RESP,
            Body::DeliverSm(_) => cmd::DELIVER_SM,
            Body::DeliverSmResp(_) => cmd::DELIVER_SM_RESP,
            Body::DataSm(_) => cmd::DATA_SM,
            Body::DataSmResp(_) => cmd::DATA_SM_RESP,
            Body::SubmitMulti(_) => cmd::SUBMIT_MULTI,
            Body::SubmitMultiResp { .. } => cmd::SUBMIT_MULTI_RESP,
            Body::QuerySm(_) => cmd::QUERY_SM,
            Body::QuerySmResp(_) => cmd::QUERY_SM_RESP,
            Body::CancelSm(_) => cmd::CANCEL_SM,
            Body::CancelSmResp => cmd::CANCEL_SM_RESP,
            Body::ReplaceSm(_) => cmd::REPLACE_SM,
            Body::ReplaceSmResp => cmd::REPLACE_SM_RESP,
        }
    }
}

/// The name of a command id, for messages and logs.
pub fn command_name(id: u32) -> &'static str {
    match id {
        cmd::GENERIC_NACK => "generic_nack",
        cmd::BIND_RECEIVER => "bind_receiver",
        cmd::BIND_RECEIVER_RESP => "bind_receiver_resp",
        cmd::BIND_TRANSMITTER => "bind_transmitter",
        cmd::BIND_TRANSMITTER_RESP => "bind_transmitter_resp",
        cmd::BIND_TRANSCEIVER => "bind_transceiver",
        cmd::BIND_TRANSCEIVER_RESP => "bind_transceiver_resp",
        cmd::QUERY_SM => "query_sm",
        cmd::QUERY_SM_RESP => "query_sm_resp",
        cmd::SUBMIT_SM => "submit_sm",
        cmd::SUBMIT_SM_RESP => "submit_sm_resp",
        cmd::DELIVER_SM => "deliver_sm",
        cmd::DELIVER_SM_RESP => "deliver_sm_resp",
        cmd::UNBIND => "unbind",
        cmd::UNBIND_RESP => "unbind_resp",
        cmd::REPLACE_SM => "replace_sm",
        cmd::REPLACE_SM_RESP => "replace_sm_resp",
        cmd::CANCEL_SM => "cancel_sm",
        cmd::CANCEL_SM_RESP => "cancel_sm_resp",
        cmd::OUTBIND => "outbind",
        cmd::ENQUIRE_LINK => "enquire_link",
        cmd::ENQUIRE_LINK_RESP => "enquire_link_resp",
        cmd::SUBMIT_MULTI => "submit_multi",
        cmd::SUBMIT_MULTI_RESP => "submit_multi_resp",
        cmd::DATA_SM => "data_sm",
        cmd::DATA_SM_RESP => "data_sm_resp",
        _ => "unknown",
    }
}

/// A cursor over a body that names the field and command in its errors.
struct Reader {
    buf: Bytes,
    pos: usize,
    command: &'static str,
}

impl Reader {
    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(self.truncated(field))?;
        self.pos += 1;
        Ok(b)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let s = self.take(4, field)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(self.truncated(field));
        }
        let s = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(s)
    }

    fn cstr(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        let rest = &self.buf[self.pos..];
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(DecodeError::Unterminated {
                field,
                command: self.command,
            });
        };
        let s = self.buf.slice(self.pos..self.pos + nul);
        self.pos += nul + 1;
        Ok(s)
    }

    fn addr(&mut self, field: &'static str) -> Result<Address, DecodeError> {
        Ok(Address {
            ton: self.u8(field)?,
            npi: self.u8(field)?,
            addr: self.cstr(field)?,
        })
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// A C-octet string that a response may leave out entirely when its status is an error.
    fn opt_cstr(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        if self.at_end() {
            Ok(Bytes::new())
        } else {
            self.cstr(field)
        }
    }

    fn tlvs(&mut self) -> Result<Vec<Tlv>, DecodeError> {
        let mut out = Vec::new();
        while !self.at_end() {
            let t = self.take(2, "TLV tag")?;
            let l = self.take(2, "TLV length")?;
            let len = u16::from_be_bytes([l[0], l[1]]) as usize;
            let value = self.take(len, "TLV value")?;
            out.push(Tlv {
                tag: u16::from_be_bytes([t[0], t[1]]),
                value,
            });
        }
        Ok(out)
    }

    fn truncated(&self, field: &'static str) -> DecodeError {
        DecodeError::Truncated {
            field,
            command: self.command,
        }
    }

    fn short_message(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.u8("sm_length")? as usize;
        self.take(len, "short_message")
    }

    fn bind(&mut self) -> Result<Bind, DecodeError> {
        Ok(Bind {
            system_id: self.cstr("system_id")?,
            password: self.cstr("password")?,
            system_type: self.cstr("system_type")?,
            interface_version: self.u8("interface_version")?,
            addr_ton: self.u8("addr_ton")?,
            addr_npi: self.u8("addr_npi")?,
            address_range: self.cstr("address_range")?,
        })
    }

    fn bind_resp(&mut self) -> Result<BindResp, DecodeError> {
        Ok(BindResp {
            system_id: self.opt_cstr("system_id")?,
            tlvs: self.tlvs()?,
        })
    }

    fn message_id_resp(&mut self) -> Result<MessageIdResp, DecodeError> {
        Ok(MessageIdResp {
            message_id: self.opt_cstr("message_id")?,
            tlvs: self.tlvs()?,
        })
    }

    fn sm(&mut self) -> Result<ShortMessage, DecodeError> {
        let service_type = self.cstr("service_type")?;
        let source = self.addr("source_addr")?;
        let dest = self.addr("destination_addr")?;
        self.sm_tail(service_type, source, dest)
    }

    /// The fields `submit_sm` and `submit_multi` share after the addresses.
    fn sm_tail(&mut self, service_type: Bytes, source: Address, dest: Address) -> Result<ShortMessage, DecodeError> {
        Ok(ShortMessage {
            service_type,
            source,
            dest,
            esm_class: self.u8("esm_class")?,
            protocol_id: self.u8("protocol_id")?,
            priority_flag: self.u8("priority_flag")?,
            schedule_delivery_time: self.cstr("schedule_delivery_time")?,
            validity_period: self.cstr("validity_period")?,
            registered_delivery: self.u8("registered_delivery")?,
            replace_if_present_flag: self.u8("replace_if_present_flag")?,
            data_coding: self.u8("data_coding")?,
            sm_default_msg_id: self.u8("sm_default_msg_id")?,
            short_message: self.short_message()?,
            tlvs: self.tlvs()?,
        })
    }

    fn data_sm(&mut self) -> Result<DataSm, DecodeError> {
        Ok(DataSm {
            service_type: self.cstr("service_type")?,
            source: self.addr("source_addr")?,
            dest: self.addr("destination_addr")?,
            esm_class: self.u8("esm_class")?,
            registered_delivery: self.u8("registered_delivery")?,
            data_coding: self.u8("data_coding")?,
            tlvs: self.tlvs()?,
        })
    }

    fn submit_multi(&mut self) -> Result<SubmitMulti, DecodeError> {
        let service_type = self.cstr("service_type")?;
        let source = self.addr("source_addr")?;
        let n = self.u8("number_of_dests")?;
        // At most 255 destinations, each at least 2 bytes: bounded by the body.
        let mut dests = Vec::with_capacity(n as usize);
        for _ in 0..n {
            dests.push(match self.u8("dest_flag")? {
                1 => MultiDest::Sme(self.addr("dest_address")?),
                2 => MultiDest::List(self.cstr("dl_name")?),
                _ => {
                    return Err(DecodeError::Invalid {
                        field: "dest_flag",
                        command: self.command,
                        reason: "neither 1 (SME address) nor 2 (distribution list)",
                    });
                }
            });
        }
        let message = self.sm_tail(service_type, source, Address::default())?;
        Ok(SubmitMulti { dests, message })
    }

    fn submit_multi_resp(&mut self) -> Result<Body, DecodeError> {
        let message_id = self.opt_cstr("message_id")?;
        let mut unsuccess = Vec::new();
        if !self.at_end() {
            let n = self.u8("no_unsuccess")?;
            for _ in 0..n {
                unsuccess.push(Unsuccess {
                    dest: self.addr("unsuccess_sme")?,
                    error_status_code: self.u32("error_status_code")?,
                });
            }
        }
        Ok(Body::SubmitMultiResp {
            message_id,
            unsuccess,
            tlvs: self.tlvs()?,
        })
    }

    /// A body that must be empty: trailing bytes are refused (they would be a framing error).
    fn empty(&mut self, body: Body) -> Result<Body, DecodeError> {
        if self.at_end() {
            Ok(body)
        } else {
            Err(DecodeError::Invalid {
                field: "body",
                command: self.command,
                reason: "this PDU has no body but bytes follow the header",
            })
        }
    }
}

impl Pdu {
    /// A PDU.
    pub fn new(sequence: u32, body: Body) -> Pdu {
        Pdu {
            status: 0,
            sequence,
            body,
        }
    }

    /// A PDU with a status (a response).
    pub fn with_status(status: u32, sequence: u32, body: Body) -> Pdu {
        Pdu { status, sequence, body }
    }

    /// The command id.
    pub fn command_id(&self) -> u32 {
        self.body.command_id()
    }

    /// Decodes one whole frame. `max_len` bounds `command_length` (callers that read from a
    /// socket check it before reading the body; see [`crate::frame`]).
    pub fn decode(frame: Bytes, max_len: usize) -> Result<Pdu, DecodeError> {
        let h = Header::parse(&frame)?;
        if (h.command_length as usize) != frame.len() || frame.len() < HEADER_LEN || frame.len() > max_len {
            return Err(DecodeError::BadLength {
                length: h.command_length,
                actual: frame.len(),
                max: max_len,
            });
        }
        let command = command_name(h.command_id);
        let mut r = Reader {
            buf: frame.slice(HEADER_LEN..),
            pos: 0,
            command,
        };
        let body = match h.command_id {
            cmd::BIND_TRANSMITTER => Body::BindTransmitter(r.bind()?),
            cmd::BIND_RECEIVER => Body::BindReceiver(r.bind()?),
            cmd::BIND_TRANSCEIVER => Body::BindTransceiver(r.bind()?),
            cmd::BIND_TRANSMITTER_RESP => Body::BindTransmitterResp(r.bind_resp()?),
            cmd::BIND_RECEIVER_RESP => Body::BindReceiverResp(r.bind_resp()?),
            cmd::BIND_TRANSCEIVER_RESP => Body::BindTransceiverResp(r.bind_resp()?),
            cmd::OUTBIND => {
                let system_id = r.cstr("system_id")?;
                let password = r.cstr("password")?;
                r.empty(Body::Outbind { system_id, password })?
            }
            cmd::UNBIND => r.empty(Body::Unbind)?,
            cmd::UNBIND_RESP => r.empty(Body::UnbindResp)?,
            cmd::ENQUIRE_LINK => r.empty(Body::EnquireLink)?,
            cmd::ENQUIRE_LINK_RESP => r.empty(Body::EnquireLinkResp)?,
            cmd::GENERIC_NACK => r.empty(Body::GenericNack)?,
            cmd::SUBMIT_SM => Body::SubmitSm(r.sm()?),
            cmd::SUBMIT_SM_RESP => Body::SubmitSmResp(r.message_id_resp()?),
            cmd::DELIVER_SM => Body::DeliverSm(r.sm()?),
            cmd::DELIVER_SM_RESP => Body::DeliverSmResp(r.message_id_resp()?),
            cmd::DATA_SM => Body::DataSm(r.data_sm()?),
            cmd::DATA_SM_RESP => Body::DataSmResp(r.message_id_resp()?),
            cmd::SUBMIT_MULTI => Body::SubmitMulti(r.submit_multi()?),
            cmd::SUBMIT_MULTI_RESP => r.submit_multi_resp()?,
            cmd::QUERY_SM => {
                let q = QuerySm {
                    message_id: r.cstr("message_id")?,
                    source: r.addr("source_addr")?,
                };
                r.empty(Body::QuerySm(q))?
            }
            cmd::QUERY_SM_RESP => {
                let q = QuerySmResp {
                    message_id: r.cstr("message_id")?,
                    final_date: r.cstr("final_date")?,
                    message_state: r.u8("message_state")?,
                    error_code: r.u8("error_code")?,
                };
                r.empty(Body::QuerySmResp(q))?
            }
            cmd::CANCEL_SM => {
                let c = CancelSm {
                    service_type: r.cstr("service_type")?,
                    message_id: r.cstr("message_id")?,
                    source: r.addr("source_addr")?,
                    dest: r.addr("destination_addr")?,
                };
                r.empty(Body::CancelSm(c))?
            }
            cmd::CANCEL_SM_RESP => r.empty(Body::CancelSmResp)?,
            cmd::REPLACE_SM => {
                let c = ReplaceSm {
                    message_id: r.cstr("message_id")?,
                    source: r.addr("source_addr")?,
                    schedule_delivery_time: r.cstr("schedule_delivery_time")?,
                    validity_period: r.cstr("validity_period")?,
                    registered_delivery: r.u8("registered_delivery")?,
                    sm_default_msg_id: r.u8("sm_default_msg_id")?,
                    short_message: r.short_message()?,
                };
                r.empty(Body::ReplaceSm(c))?
            }
            cmd::REPLACE_SM_RESP => r.empty(Body::ReplaceSmResp)?,
            id => return Err(DecodeError::UnknownCommand { id }),
        };
        Ok(Pdu {
            status: h.command_status,
            sequence: h.sequence_number,
            body,
        })
    }

    /// Encodes the PDU, header included, appending to `out`.
    pub fn encode_into(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u32(0);
        out.put_u32(self.command_id());
        out.put_u32(self.status);
        out.put_u32(self.sequence);
        let mut w = Writer(out);
        match &self.body {
            Body::BindTransmitter(b) | Body::BindReceiver(b) | Body::BindTransceiver(b) => {
                w.cstr(&b.system_id);
                w.cstr(&b.password);
                w.cstr(&b.system_type);
                w.u8(b.interface_version);
                w.u8(b.addr_ton);
                w.u8(b.addr_npi);
                w.cstr(&b.address_range);
            }
            Body::BindTransmitterResp(r) | Body::BindReceiverResp(r) | Body::BindTransceiverResp(r) => {
                w.cstr(&r.system_id);
                w.tlvs(&r.tlvs);
            }
            Body::Outbind { system_id, password } => {
                w.cstr(system_id);
                w.cstr(password);
            }
            Body::Unbind
            | Body::UnbindResp
            | Body::EnquireLink
            | Body::EnquireLinkResp
            | Body::GenericNack
            | Body::CancelSmResp
            | Body::ReplaceSmResp => {}
            Body::SubmitSm(m) | Body::DeliverSm(m) => {
                w.cstr(&m.service_type);
                w.addr(&m.source);
                w.addr(&m.dest);
                w.sm_tail(m);
            }
            Body::SubmitSmResp(r) | Body::DeliverSmResp(r) | Body::DataSmResp(r) => {
                w.cstr(&r.message_id);
                w.tlvs(&r.tlvs);
            }
            Body::DataSm(d) => {
                w.cstr(&d.service_type);
                w.addr(&d.source);
                w.addr(&d.dest);
                w.u8(d.esm_class);
                w.u8(d.registered_delivery);
                w.u8(d.data_coding);
                w.tlvs(&d.tlvs);
            }
            Body::SubmitMulti(SubmitMulti { dests, message: m }) => {
                w.cstr(&m.service_type);
                w.addr(&m.source);
                w.u8(dests.len().min(255) as u8);
                for d in dests.iter().take(255) {
                    match d {
                        MultiDest::Sme(a) => {
                            w.u8(1);
                            w.addr(a);
                        }
                        MultiDest::List(name) => {
                            w.u8(2);
                            w.cstr(name);
                        }
                    }
                }
                w.sm_tail(m);
            }
            Body::SubmitMultiResp {
                message_id,
                unsuccess,
                tlvs,
            } => {
                w.cstr(message_id);
                w.u8(unsuccess.len().min(255) as u8);
                for u in unsuccess.iter().take(255) {
                    w.addr(&u.dest);
                    w.0.put_u32(u.error_status_code);
                }
                w.tlvs(tlvs);
            }
            Body::QuerySm(q) => {
                w.cstr(&q.message_id);
                w.addr(&q.source);
            }
            Body::QuerySmResp(q) => {
                w.cstr(&q.message_id);
                w.cstr(&q.final_date);
                w.u8(q.message_state);
                w.u8(q.error_code);
            }
            Body::CancelSm(c) => {
                w.cstr(&c.service_type);
                w.cstr(&c.message_id);
                w.addr(&c.source);
                w.addr(&c.dest);
            }
            Body::ReplaceSm(r) => {
                w.cstr(&r.message_id);
                w.addr(&r.source);
                w.cstr(&r.schedule_delivery_time);
                w.cstr(&r.validity_period);
                w.u8(r.registered_delivery);
                w.u8(r.sm_default_msg_id);
                w.short_message(&r.short_message);
            }
        }
        let len = (out.len() - start) as u32;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Encodes the PDU into a new frame.
    pub fn encode(&self) -> Bytes {
        // One allocation for the usual PDU (a submit_sm with a full 160-byte text and a few
        // TLVs is under 300 bytes); longer ones grow.
        let mut out = BytesMut::with_capacity(320);
        self.encode_into(&mut out);
        out.freeze()
    }
}

struct Writer<'a>(&'a mut BytesMut);

impl Writer<'_> {
    fn u8(&mut self, v: u8) {
        self.0.put_u8(v);
    }

    /// A C-octet string; anything from an interior NUL on is cut so the frame stays decodable.
    fn cstr(&mut self, s: &[u8]) {
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        self.0.put_slice(&s[..end]);
        self.0.put_u8(0);
    }

    fn addr(&mut self, a: &Address) {
        self.u8(a.ton);
        self.u8(a.npi);
        self.cstr(&a.addr);
    }

    /// `sm_length` and `short_message`; longer texts belong in `message_payload`, so the
    /// encoder cuts at 255 rather than writing a frame that lies about its length.
    fn short_message(&mut self, sm: &[u8]) {
        let sm = &sm[..sm.len().min(255)];
        self.u8(sm.len() as u8);
        self.0.put_slice(sm);
    }

    /// The fields `submit_sm` and `submit_multi` share after the addresses.
    fn sm_tail(&mut self, m: &ShortMessage) {
        self.u8(m.esm_class);
        self.u8(m.protocol_id);
        self.u8(m.priority_flag);
        self.cstr(&m.schedule_delivery_time);
        self.cstr(&m.validity_period);
        self.u8(m.registered_delivery);
        self.u8(m.replace_if_present_flag);
        self.u8(m.data_coding);
        self.u8(m.sm_default_msg_id);
        self.short_message(&m.short_message);
        self.tlvs(&m.tlvs);
    }

    fn tlvs(&mut self, tlvs: &[Tlv]) {
        for t in tlvs {
            let v = &t.value[..t.value.len().min(u16::MAX as usize)];
            self.0.put_u16(t.tag);
            self.0.put_u16(v.len() as u16);
            self.0.put_slice(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u32, status: u32, seq: u32, body: &[u8]) -> Bytes {
        let mut f = BytesMut::new();
        f.put_u32((16 + body.len()) as u32);
        f.put_u32(id);
        f.put_u32(status);
        f.put_u32(seq);
        f.put_slice(body);
        f.freeze()
    }

    #[test]
    fn decodes_the_specification_bind_example() {
        // SMPP 3.4 section 3.3's example bind_transmitter, byte for byte.
        let body = b"SMPP3TEST\0secret08\0SUBMIT1\0\x34\x01\x01\0";
        let f = frame(cmd::BIND_TRANSMITTER, 0, 1, body);
        let p = Pdu::decode(f.clone(), 65536).unwrap();
        let Body::BindTransmitter(b) = &p.body else {
            panic!("not a bind_transmitter: {p:?}")
        };
        assert_eq!(&b.system_id[..], b"SMPP3TEST");
        assert_eq!(&b.password[..], b"secret08");
        assert_eq!(&b.system_type[..], b"SUBMIT1");
        assert_eq!((b.interface_version, b.addr_ton, b.addr_npi), (0x34, 1, 1));
        assert_eq!(p.encode(), f);
    }

    #[test]
    fn error_responses_may_have_no_body() {
        let f = frame(cmd::SUBMIT_SM_RESP, status::ESME_RSUBMITFAIL, 9, b"");
        let p = Pdu::decode(f, 65536).unwrap();
        assert_eq!(p.status, status::ESME_RSUBMITFAIL);
        assert_eq!(p.body, Body::SubmitSmResp(MessageIdResp::default()));
    }

    #[test]
    fn bad_frames_are_refused_with_the_right_nack_status() {
        let cases: &[(Bytes, u32)] = &[
            (Bytes::from_static(b"\0\0\0\x10\0\0"), status::ESME_RINVCMDLEN),
            (frame(0x0000_0777, 0, 1, b""), status::ESME_RINVCMDID),
            (frame(cmd::ENQUIRE_LINK, 0, 1, b"x"), status::ESME_RINVMSGLEN),
            (frame(cmd::SUBMIT_SM, 0, 1, b"\0\x01\x01123"), status::ESME_RINVMSGLEN),
            (
                frame(cmd::SUBMIT_MULTI, 0, 1, b"\0\x01\x01a\0\x01\x07"),
                status::ESME_RINVMSGLEN,
            ),
        ];
        for (f, st) in cases {
            let e = Pdu::decode(f.clone(), 65536).unwrap_err();
            assert_eq!(e.nack_status(), *st, "{e}");
        }
        // A command_length that disagrees with the frame, or exceeds the limit.
        let mut f = BytesMut::from(&frame(cmd::ENQUIRE_LINK, 0, 1, b"")[..]);
        f[3] = 0x20;
        assert!(matches!(
            Pdu::decode(f.freeze(), 65536),
            Err(DecodeError::BadLength { .. })
        ));
        let big = frame(cmd::SUBMIT_SM_RESP, 0, 1, &[b'1'; 100]);
        assert!(matches!(Pdu::decode(big, 64), Err(DecodeError::BadLength { .. })));
    }

    #[test]
    fn sequence_rewrite_keeps_the_rest() {
        let p = Pdu::new(7, Body::EnquireLink);
        let mut f = BytesMut::from(&p.encode()[..]);
        set_sequence(&mut f, 0xDEAD_BEEF);
        let q = Pdu::decode(f.freeze(), 65536).unwrap();
        assert_eq!(q.sequence, 0xDEAD_BEEF);
        assert_eq!(q.body, Body::EnquireLink);
    }
}
