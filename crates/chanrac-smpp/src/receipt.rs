//! Delivery receipts: the de-facto text format of SMPP 3.4 appendix B
//! (`id:… sub:… dlvr:… submit date:… done date:… stat:… err:… text:…`) and the
//! `deliver_sm` that carries one, with the `receipted_message_id` and `message_state` TLVs.

use bytes::Bytes;

use crate::pdu::{Address, Body, Pdu, ShortMessage, Tlv, tag};
use crate::submit::ESM_DELIVERY_RECEIPT;

/// SMPP 3.4 `message_state` values.
pub mod state {
    #![allow(missing_docs)]
    pub const ENROUTE: u8 = 1;
    pub const DELIVERED: u8 = 2;
    pub const EXPIRED: u8 = 3;
    pub const DELETED: u8 = 4;
    pub const UNDELIVERABLE: u8 = 5;
    pub const ACCEPTED: u8 = 6;
    pub const UNKNOWN: u8 = 7;
    pub const REJECTED: u8 = 8;
}

/// The receipt's `stat:` word for a `message_state`.
pub fn stat_word(message_state: u8) -> &'static str {
    match message_state {
        state::ENROUTE => "ENROUTE",
        state::DELIVERED => "DELIVRD",
        state::EXPIRED => "EXPIRED",
        state::DELETED => "DELETED",
        state::UNDELIVERABLE => "UNDELIV",
        state::ACCEPTED => "ACCEPTD",
        state::REJECTED => "REJECTD",
        _ => "UNKNOWN",
    }
}

/// `YYMMDDhhmm` (UTC) of a Unix time, as receipts write dates.
pub fn receipt_date(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{:02}{:02}{:02}{:02}{:02}",
        y.rem_euclid(100),
        m,
        d,
        secs / 3600,
        secs % 3600 / 60
    )
}

/// A receipt for a message: its id, state, error, times and first characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The message id the receipt is about.
    pub message_id: String,
    /// The `message_state`.
    pub message_state: u8,
    /// The network error code.
    pub error: u16,
    /// When the message was submitted (Unix seconds).
    pub submitted_at: i64,
    /// When it reached its final state (Unix seconds).
    pub done_at: i64,
    /// The first characters of the message (ASCII).
    pub text: String,
}

impl Receipt {
    /// The receipt text.
    pub fn text(&self) -> String {
        let dlvr = u8::from(self.message_state == state::DELIVERED);
        let snippet: String = self.text.chars().filter(char::is_ascii).take(20).collect();
        format!(
            "id:{} sub:001 dlvr:{dlvr:03} submit date:{} done date:{} stat:{} err:{:03} text:{snippet}",
            self.message_id,
            receipt_date(self.submitted_at),
            receipt_date(self.done_at),
            stat_word(self.message_state),
            self.error,
        )
    }

    /// The `deliver_sm` that carries this receipt from `from` (the original recipient) to `to`
    /// (the original sender).
    pub fn deliver_sm(&self, sequence: u32, from: Address, to: Address) -> Pdu {
        Pdu::new(
            sequence,
            Body::DeliverSm(ShortMessage {
                source: from,
                dest: to,
                esm_class: ESM_DELIVERY_RECEIPT,
                short_message: Bytes::from(self.text()),
                tlvs: vec![
                    Tlv::cstr(tag::RECEIPTED_MESSAGE_ID, &self.message_id),
                    Tlv::u8(tag::MESSAGE_STATE, self.message_state),
                ],
                ..Default::default()
            }),
        )
    }
}

/// The message id a receipt is about: the `receipted_message_id` TLV, else the `id:` field
/// of the text.
pub fn receipted_id(sm: &ShortMessage) -> Option<Bytes> {
    if let Some(t) = sm.tlvs.iter().find(|t| t.tag == tag::RECEIPTED_MESSAGE_ID) {
        let v = t.value.strip_suffix(&[0]).unwrap_or(&t.value);
        return Some(Bytes::copy_from_slice(v));
    }
    let text = &sm.short_message[..];
    let start = text.windows(3).position(|w| w == b"id:")? + 3;
    let len = text[start..]
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(text.len() - start);
    Some(sm.short_message.slice(start..start + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(receipt_date(0), "7001010000");
        // 2026-11-22T15:04:00Z
        assert_eq!(receipt_date(1_795_359_840), "2611221504");
        assert_eq!(receipt_date(951_782_400), "0002290000"); // 2000-02-29
    }

    #[test]
    fn receipt_roundtrip() {
        let r = Receipt {
            message_id: "a1b2".into(),
            message_state: state::UNDELIVERABLE,
            error: 0,
            submitted_at: 0,
            done_at: 60,
            text: "Trúng thưởng 50tr nhận tại".into(),
        };
        assert_eq!(
            r.text(),
            "id:a1b2 sub:001 dlvr:000 submit date:7001010000 done date:7001010001 stat:UNDELIV err:000 text:Trng thng 50tr nhn t"
        );
        let pdu = r.deliver_sm(5, Address::new(1, 1, "84912345678"), Address::new(5, 0, "BANK"));
        let Body::DeliverSm(sm) = &pdu.body else { unreachable!() };
        assert_eq!(receipted_id(sm).as_deref(), Some(&b"a1b2"[..]));
        let mut no_tlv = sm.clone();
        no_tlv.tlvs.clear();
        assert_eq!(receipted_id(&no_tlv).as_deref(), Some(&b"a1b2"[..]));
    }
}
