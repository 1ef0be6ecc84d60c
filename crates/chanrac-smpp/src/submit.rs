//! From a `submit_sm` / `data_sm` / `deliver_sm` to the text the filter reads.
//!
//! [`MessageBody::of`] finds a PDU's payload (`message_payload` or `short_message`), strips
//! its UDH, and reads the concatenation facts (UDH or SAR TLVs). [`decode_parts`] turns the
//! bodies of one message's parts, in order, into one text: UCS-2 parts are joined before
//! decoding (a surrogate pair may straddle two parts), GSM parts are unpacked one by one
//! (each has its own fill bits).

use bytes::Bytes;

use crate::concat::{PartInfo, parse_udh, sar_info};
use crate::pdu::{DataSm, ShortMessage, Tlv, find_tlv, tag};
use crate::text::{Coding, Decoded, decode, fill_bits_after_udh, utf16be_to_text};

/// `esm_class` bit 6: the message starts with a user data header.
pub const ESM_UDHI: u8 = 0x40;
/// `esm_class` bits 2-5 = 0001: a delivery receipt (in `deliver_sm`).
pub const ESM_DELIVERY_RECEIPT: u8 = 0x04;

/// One PDU's text part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody {
    /// The text bytes, UDH removed.
    pub bytes: Bytes,
    /// The coding.
    pub coding: Coding,
    /// Padding bits before the first septet when GSM text is packed after a UDH.
    pub fill_bits: u8,
    /// The concatenation facts, when this is one part of a longer message.
    pub part: Option<PartInfo>,
    /// The UDH was announced but could not be read: the bytes are checked as they are.
    pub bad_udh: bool,
}

impl MessageBody {
    /// The body of a message given its fields.
    pub fn of(esm_class: u8, data_coding: u8, short_message: &Bytes, tlvs: &[Tlv]) -> MessageBody {
        let payload = find_tlv(tlvs, tag::MESSAGE_PAYLOAD).map_or(short_message, |t| &t.value);
        let coding = Coding::from_data_coding(data_coding);
        let mut body = MessageBody {
            bytes: payload.clone(),
            coding,
            fill_bits: 0,
            part: sar_info(tlvs),
            bad_udh: false,
        };
        if esm_class & ESM_UDHI != 0 {
            match parse_udh(payload) {
                Ok(udh) => {
                    body.bytes = payload.slice(udh.len..);
                    body.fill_bits = fill_bits_after_udh(udh.len);
                    body.part = udh.concat.or(body.part);
                }
                Err(_) => body.bad_udh = true,
            }
        }
        body
    }

    /// The body of a `submit_sm` or `deliver_sm`.
    pub fn of_sm(sm: &ShortMessage) -> MessageBody {
        Self::of(sm.esm_class, sm.data_coding, &sm.short_message, &sm.tlvs)
    }

    /// The body of a `data_sm`.
    pub fn of_data_sm(d: &DataSm) -> MessageBody {
        Self::of(d.esm_class, d.data_coding, &Bytes::new(), &d.tlvs)
    }
}

/// Decodes the bodies of one message's parts, in order, into one text. `gsm_packed` says
/// whether GSM 7-bit text arrives packed (a per-account setting: most ESMEs send one septet
/// per byte over SMPP).
pub fn decode_parts<'a>(parts: impl IntoIterator<Item = &'a MessageBody>, gsm_packed: bool) -> Decoded {
    let mut out = Decoded::default();
    let mut ucs2 = Vec::new();
    let flush_ucs2 = |ucs2: &mut Vec<u8>, out: &mut Decoded| {
        if !ucs2.is_empty() {
            out.lossy |= utf16be_to_text(ucs2, &mut out.text);
            ucs2.clear();
        }
    };
    for p in parts {
        if p.coding == Coding::Ucs2 {
            ucs2.extend_from_slice(&p.bytes);
            continue;
        }
        flush_ucs2(&mut ucs2, &mut out);
        let d = decode(&p.bytes, p.coding, gsm_packed, p.fill_bits);
        out.text.push_str(&d.text);
        out.lossy |= d.lossy;
        out.unknown_coding |= d.unknown_coding;
    }
    flush_ucs2(&mut ucs2, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concat::udh_for;
    use crate::text::{gsm_encode, pack_septets, ucs2_encode};

    fn part(reference: u16, total: u8, seq: u8) -> PartInfo {
        PartInfo { reference, total, seq }
    }

    #[test]
    fn udh_parts_join_into_one_text() {
        // "Tài khoản 🎁" split in UCS-2 with the emoji's surrogate pair across two parts.
        let all = ucs2_encode("Tài khoản 🎁 nhận");
        let (a, b) = all.split_at(22); // 11 code units: the high surrogate ends part 1
        let mk = |seq, bytes: &[u8]| {
            let mut sm = udh_for(part(9, 2, seq));
            sm.extend_from_slice(bytes);
            MessageBody::of(ESM_UDHI, 0x08, &Bytes::from(sm), &[])
        };
        let parts = [mk(1, a), mk(2, b)];
        assert_eq!(parts[0].part, Some(part(9, 2, 1)));
        let d = decode_parts(&parts, false);
        assert_eq!(d.text, "Tài khoản 🎁 nhận");
        assert!(!d.lossy);
    }

    #[test]
    fn packed_gsm_after_udh_and_sar_and_payload() {
        let mut sm = udh_for(part(1, 2, 2));
        sm.extend(pack_septets(&gsm_encode("vay tien nhanh").unwrap(), 1));
        let b = MessageBody::of(ESM_UDHI, 0x00, &Bytes::from(sm), &[]);
        assert_eq!(decode_parts([&b], true).text, "vay tien nhanh");

        let tlvs = [
            Tlv::u16(tag::SAR_MSG_REF_NUM, 300),
            Tlv::u8(tag::SAR_TOTAL_SEGMENTS, 2),
            Tlv::u8(tag::SAR_SEGMENT_SEQNUM, 1),
            Tlv::new(tag::MESSAGE_PAYLOAD, gsm_encode("payload wins").unwrap()),
        ];
        let b = MessageBody::of(0, 0x00, &Bytes::from_static(b"ignored"), &tlvs);
        assert_eq!(b.part, Some(part(300, 2, 1)));
        assert_eq!(decode_parts([&b], false).text, "payload wins");
    }

    #[test]
    fn an_unreadable_udh_is_flagged_and_the_bytes_kept() {
        let b = MessageBody::of(ESM_UDHI, 0x00, &Bytes::from_static(b"\x09abc"), &[]);
        assert!(b.bad_udh);
        assert_eq!(b.bytes.len(), 4);
    }
}
