//! Any bytes through the PDU decoder, and every decoded message body through the text
//! decoder: nothing may panic; a frame that decodes must re-encode to a frame that decodes
//! to the same PDU.
#![no_main]

use bytes::Bytes;
use chanrac_smpp::pdu::{Body, Pdu};
use chanrac_smpp::submit::{MessageBody, decode_parts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pdu) = Pdu::decode(Bytes::copy_from_slice(data), 1 << 16) else { return };
    let again = Pdu::decode(pdu.encode(), 1 << 16).expect("a re-encoded PDU decodes");
    assert_eq!(again, pdu);
    if let Body::SubmitSm(sm) | Body::DeliverSm(sm) = &pdu.body {
        let b = MessageBody::of_sm(sm);
        let _ = decode_parts([&b], true);
        let _ = decode_parts([&b], false);
    }
});
