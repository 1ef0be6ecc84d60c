//! Property tests: the codec round-trips and never panics on any bytes; text codings
//! round-trip; reassembly returns every message whole and stays within its bounds.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use chanrac_smpp::concat::{PartInfo, Push, Reassembler, ReassemblyConfig, parse_udh, udh_for};
use chanrac_smpp::pdu::{
    Address, Bind, BindResp, Body, DataSm, MessageIdResp, MultiDest, Pdu, QuerySm, ShortMessage, SubmitMulti, Tlv,
};
use chanrac_smpp::submit::{ESM_UDHI, MessageBody, decode_parts};
use chanrac_smpp::text::{self, Coding};
use proptest::prelude::*;

fn cstr() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(1u8..=255, 0..24).prop_map(Bytes::from)
}

fn octets(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn address() -> impl Strategy<Value = Address> {
    (any::<u8>(), any::<u8>(), cstr()).prop_map(|(ton, npi, addr)| Address { ton, npi, addr })
}

fn tlvs() -> impl Strategy<Value = Vec<Tlv>> {
    proptest::collection::vec(
        (any::<u16>(), octets(40)).prop_map(|(tag, value)| Tlv { tag, value }),
        0..4,
    )
}

prop_compose! {
    fn short_message()(
        service_type in cstr(), source in address(), dest in address(),
        flags in any::<[u8; 7]>(), schedule in cstr(), validity in cstr(),
        short_message in octets(256), tlvs in tlvs(),
    ) -> ShortMessage {
        ShortMessage {
            service_type, source, dest,
            esm_class: flags[0], protocol_id: flags[1], priority_flag: flags[2],
            schedule_delivery_time: schedule, validity_period: validity,
            registered_delivery: flags[3], replace_if_present_flag: flags[4],
            data_coding: flags[5], sm_default_msg_id: flags[6],
            short_message, tlvs,
        }
    }
}

fn bind() -> impl Strategy<Value = Bind> {
    (cstr(), cstr(), cstr(), any::<[u8; 3]>(), cstr()).prop_map(|(s, p, t, b, r)| Bind {
        system_id: s,
        password: p,
        system_type: t,
        interface_version: b[0],
        addr_ton: b[1],
        addr_npi: b[2],
        address_range: r,
    })
}

fn resp() -> impl Strategy<Value = MessageIdResp> {
    (cstr(), tlvs()).prop_map(|(message_id, tlvs)| MessageIdResp { message_id, tlvs })
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        bind().prop_map(Body::BindTransmitter),
        bind().prop_map(Body::BindReceiver),
        bind().prop_map(Body::BindTransceiver),
        (cstr(), tlvs()).prop_map(|(system_id, tlvs)| Body::BindTransceiverResp(BindResp { system_id, tlvs })),
        (cstr(), cstr()).prop_map(|(system_id, password)| Body::Outbind { system_id, password }),
        Just(Body::Unbind),
        Just(Body::UnbindResp),
        Just(Body::EnquireLink),
        Just(Body::EnquireLinkResp),
        Just(Body::GenericNack),
        short_message().prop_map(Body::SubmitSm),
        short_message().prop_map(Body::DeliverSm),
        resp().prop_map(Body::SubmitSmResp),
        resp().prop_map(Body::DataSmResp),
        (cstr(), address(), address(), any::<[u8; 3]>(), tlvs()).prop_map(|(st, s, d, f, tlvs)| {
            Body::DataSm(DataSm {
                service_type: st,
                source: s,
                dest: d,
                esm_class: f[0],
                registered_delivery: f[1],
                data_coding: f[2],
                tlvs,
            })
        }),
        (
            proptest::collection::vec(
                prop_oneof![address().prop_map(MultiDest::Sme), cstr().prop_map(MultiDest::List)],
                0..5
            ),
            short_message()
        )
            .prop_map(|(dests, mut message)| {
                message.dest = Address::default();
                Body::SubmitMulti(SubmitMulti { dests, message })
            }),
        (cstr(), address()).prop_map(|(message_id, source)| Body::QuerySm(QuerySm { message_id, source })),
        Just(Body::CancelSmResp),
        Just(Body::ReplaceSmResp),
    ]
}

/// A GSM 03.38 text (basic and extension characters).
fn gsm_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà{}\\[\\]~^|€\\\\-]{0,200}",
    )
    .expect("regex")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn pdus_round_trip(body in body(), status in any::<u32>(), seq in any::<u32>()) {
        let pdu = Pdu::with_status(status, seq, body);
        let frame = pdu.encode();
        let back = Pdu::decode(frame.clone(), 1 << 20).expect("decodes");
        prop_assert_eq!(&back, &pdu);
        prop_assert_eq!(back.encode(), frame);
    }

    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Pdu::decode(Bytes::from(bytes), 1 << 16);
    }

    #[test]
    fn mutated_valid_frames_decode_without_panic(
        body in body(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut f = BytesMut::from(&Pdu::new(1, body).encode()[..]);
        for (i, b) in flips {
            let i = i % f.len();
            f[i] = b;
        }
        // Keep command_length truthful half of the time, so the body parser is reached.
        if cut % 2 == 0 {
            let len = f.len() as u32;
            f[..4].copy_from_slice(&len.to_be_bytes());
        }
        let f = f.freeze();
        let _ = Pdu::decode(f.clone(), 1 << 16);
        let _ = Pdu::decode(f.slice(..cut % (f.len() + 1)), 1 << 16);
    }

    #[test]
    fn gsm_round_trips_unpacked_and_packed(text in gsm_text(), fill in 0u8..7) {
        let septets = text::gsm_encode(&text).expect("GSM text");
        prop_assert_eq!(text::decode(&septets, Coding::Gsm7, false, 0).text, text.clone());
        let packed = text::pack_septets(&septets, fill);
        let unpacked = text::decode(&packed, Coding::Gsm7, true, fill);
        // A final '@' (septet 0) exactly filling the last byte reads as padding: 23.038's
        // documented ambiguity.
        if text.ends_with('@') || text.ends_with('\r') {
            prop_assert!(text.starts_with(&unpacked.text));
        } else {
            prop_assert_eq!(unpacked.text, text);
        }
    }

    #[test]
    fn ucs2_round_trips(text in "\\PC{0,100}") {
        let d = text::decode(&text::ucs2_encode(&text), Coding::Ucs2, false, 0);
        prop_assert_eq!(d.text, text);
        prop_assert!(!d.lossy);
    }

    #[test]
    fn any_bytes_in_any_coding_decode(bytes in proptest::collection::vec(any::<u8>(), 0..300), dcs in any::<u8>(), packed in any::<bool>(), fill in 0u8..8, esm in any::<u8>()) {
        let d = text::decode(&bytes, Coding::from_data_coding(dcs), packed, fill);
        prop_assert!(d.text.chars().count() <= bytes.len() * 8 / 7 + 1);
        let _ = parse_udh(&bytes);
        let b = MessageBody::of(esm, dcs, &Bytes::from(bytes), &[]);
        let _ = decode_parts([&b], packed);
    }

    #[test]
    fn reassembly_returns_each_message_whole(
        texts in proptest::collection::vec(proptest::collection::vec("[a-z ]{1,20}", 2..5), 1..6),
        seed in any::<u64>(),
    ) {
        // Every part of every message, shuffled deterministically by the seed.
        let mut parts = Vec::new();
        for (m, ps) in texts.iter().enumerate() {
            for (i, t) in ps.iter().enumerate() {
                let info = PartInfo { reference: m as u16, total: ps.len() as u8, seq: i as u8 + 1 };
                let mut sm = udh_for(info);
                sm.extend(t.as_bytes());
                parts.push((m, MessageBody::of(ESM_UDHI, 0x03, &Bytes::from(sm), &[])));
            }
        }
        let mut x = seed | 1;
        for i in (1..parts.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            parts.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let t = Instant::now();
        let mut done = 0;
        for (m, b) in parts {
            let info = b.part.expect("a part");
            let size = b.bytes.len();
            match r.push(m, info, size, b, t) {
                Push::Pending => {}
                Push::Complete(ps) => {
                    prop_assert_eq!(decode_parts(&ps, false).text, texts[m].concat());
                    done += 1;
                }
                Push::Refused(_, why) => prop_assert!(false, "refused {:?}", why),
            }
        }
        prop_assert_eq!(done, texts.len());
        prop_assert_eq!((r.pending(), r.bytes()), (0, 0));
    }

    #[test]
    fn reassembly_stays_within_bounds(
        pushes in proptest::collection::vec((0u16..20, 0u8..5, 0u8..6, 1usize..50, 0u64..300), 0..200),
    ) {
        let cfg = ReassemblyConfig { max_pending: 5, max_bytes: 300, max_age_ms: 100 };
        let mut r = Reassembler::new(cfg);
        let t0 = Instant::now();
        let mut last = 0;
        for (key, total, seq, size, at) in pushes {
            let now = t0 + Duration::from_millis(last.max(at));
            last = last.max(at);
            r.expire(now);
            let _ = r.push(key, PartInfo { reference: key, total, seq }, size, (), now);
            prop_assert!(r.pending() <= 5);
            prop_assert!(r.bytes() <= 300);
        }
        r.expire(t0 + Duration::from_millis(last + 100));
        prop_assert_eq!((r.pending(), r.bytes()), (0, 0));
    }
}
