//! The codec on the same `submit_sm` the rusmpp evaluation (`bench/rusmpp-eval`) decodes: a
//! 193-byte frame with a 140-byte text and the three SAR TLVs; plus text decoding.
//!
//! Run with `cargo bench -p chanrac-smpp --bench codec`; figures in `docs/benchmarks.md` and
//! the choice they support in `docs/smpp.md`.

use std::hint::black_box;

use bytes::Bytes;
use chanrac_smpp::pdu::{Address, Body, Pdu, ShortMessage, Tlv, tag};
use chanrac_smpp::submit::{MessageBody, decode_parts};
use chanrac_smpp::text::{gsm_encode, pack_septets, ucs2_encode};
use criterion::{Criterion, criterion_group, criterion_main};

const TEXT: &str = "Chuc mung ban trung thuong 50tr, nhan tai https://vtb-qua.xyz truoc 24h hom nay, LH 0987654321 de duoc ho tro nhanh nhat nhe!!";

fn submit_sm(text: &[u8], data_coding: u8) -> Bytes {
    Pdu::new(
        7,
        Body::SubmitSm(ShortMessage {
            source: Address::new(5, 0, "VIETTEL"),
            dest: Address::new(1, 1, "84912345678"),
            registered_delivery: 1,
            data_coding,
            short_message: Bytes::copy_from_slice(text),
            tlvs: vec![
                Tlv::u16(tag::SAR_MSG_REF_NUM, 42),
                Tlv::u8(tag::SAR_TOTAL_SEGMENTS, 3),
                Tlv::u8(tag::SAR_SEGMENT_SEQNUM, 1),
            ],
            ..Default::default()
        }),
    )
    .encode()
}

fn bench(c: &mut Criterion) {
    let frame = submit_sm(TEXT.as_bytes(), 0);
    assert_eq!(frame.len(), 193);
    c.bench_function("decode submit_sm (193 B)", |b| {
        b.iter(|| Pdu::decode(black_box(frame.clone()), 65_536).unwrap())
    });
    let pdu = Pdu::decode(frame.clone(), 65_536).unwrap();
    c.bench_function("encode submit_sm (193 B)", |b| b.iter(|| black_box(&pdu).encode()));

    let vi = "Chúc mừng bạn trúng thưởng 50 triệu, nhận tại vtb-qua.xyz trước 24h";
    let ucs2 = submit_sm(&ucs2_encode(vi), 8);
    c.bench_function("decode submit_sm + UCS-2 text", |b| {
        b.iter(|| {
            let p = Pdu::decode(black_box(ucs2.clone()), 65_536).unwrap();
            let Body::SubmitSm(sm) = &p.body else { unreachable!() };
            decode_parts([&MessageBody::of_sm(sm)], false).text
        })
    });
    let packed = pack_septets(&gsm_encode(TEXT).unwrap(), 0);
    let gsm = submit_sm(&packed, 0);
    c.bench_function("decode submit_sm + packed GSM text", |b| {
        b.iter(|| {
            let p = Pdu::decode(black_box(gsm.clone()), 65_536).unwrap();
            let Body::SubmitSm(sm) = &p.body else { unreachable!() };
            decode_parts([&MessageBody::of_sm(sm)], true).text
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
