//! Evaluates rusmpp 0.4.0 as chanrac's SMPP codec: speed and hostile bytes.
use bytes::{BufMut, BytesMut};
use std::time::Instant;
use tokio_util::codec::Decoder;

fn cstr(b: &mut Vec<u8>, s: &str) { b.extend_from_slice(s.as_bytes()); b.push(0); }

/// A submit_sm with 3 SAR TLVs and a 140-byte short message.
fn submit_sm(seq: u32) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, ""); // service_type
    body.extend_from_slice(&[5, 0]); cstr(&mut body, "VIETTEL");
    body.extend_from_slice(&[1, 1]); cstr(&mut body, "84912345678");
    body.push(0); body.push(0); body.push(0); // esm, pid, priority
    cstr(&mut body, ""); cstr(&mut body, ""); // schedule, validity
    body.push(1); body.push(0); body.push(0); body.push(0); // reg_delivery, replace, dcs, default_msg_id
    let sm = b"Chuc mung ban trung thuong 50tr, nhan tai https://vtb-qua.xyz truoc 24h hom nay, LH 0987654321 de duoc ho tro nhanh nhat nhe!!".to_vec();
    body.push(sm.len() as u8); body.extend_from_slice(&sm);
    for (tag, v) in [(0x020Cu16, vec![0u8, 42]), (0x020E, vec![3]), (0x020F, vec![1])] {
        body.extend_from_slice(&tag.to_be_bytes()); body.extend_from_slice(&(v.len() as u16).to_be_bytes()); body.extend_from_slice(&v);
    }
    let mut f = Vec::new();
    f.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
    f.extend_from_slice(&4u32.to_be_bytes()); f.extend_from_slice(&0u32.to_be_bytes()); f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&body); f
}

/// The same submit_sm with a 25-character source_addr (longer than 3.4's 21).
fn submit_sm_long_source() -> Vec<u8> {
    let f = submit_sm(8);
    let mut body = f[16..].to_vec();
    let at = body.iter().position(|&b| b == b'V').unwrap();
    body.splice(at..at + 7, b"VIETTEL-CSKH-KHUYEN-MAI-1".iter().copied());
    let mut out = ((16 + body.len()) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&f[4..16]);
    out.extend_from_slice(&body);
    out
}

fn enquire_link(seq: u32) -> Vec<u8> {
    let mut f = Vec::new();
    for w in [16u32, 0x15, 0, seq] { f.extend_from_slice(&w.to_be_bytes()); }
    f
}

struct Rng(u64);
impl Rng { fn next(&mut self) -> u64 { self.0 ^= self.0 << 13; self.0 ^= self.0 >> 7; self.0 ^= self.0 << 17; self.0 } }

fn main() {
    let frame = submit_sm(7);
    println!("frame {} bytes", frame.len());
    // Speed: decode.
    let n = 1_000_000;
    let mut codec = rusmpp::tokio_codec::CommandCodec::new();
    let mut buf = BytesMut::with_capacity(frame.len() * 64);
    let t = Instant::now();
    let mut ok = 0;
    for _ in 0..n {
        buf.put_slice(&frame);
        if let Ok(Some(c)) = codec.decode(&mut buf) { if c.sequence_number == 7 { ok += 1; } }
    }
    let dt = t.elapsed();
    println!("decode submit_sm: {:.0} ns/op ({ok} ok)", dt.as_nanos() as f64 / n as f64);
    // Speed: encode.
    buf.put_slice(&frame);
    let cmd = codec.decode(&mut buf).unwrap().unwrap();
    let mut out = BytesMut::with_capacity(1024);
    let t = Instant::now();
    for _ in 0..n {
        out.clear();
        tokio_util::codec::Encoder::encode(&mut codec, &cmd, &mut out).unwrap();
    }
    println!("encode submit_sm: {:.0} ns/op, {} bytes, same as input: {}", t.elapsed().as_nanos() as f64 / n as f64, out.len(), &out[..] == &frame[..]);

    // The same frame through chanrac-smpp's codec, in the same loop and process.
    let t = Instant::now();
    let mut ok = 0;
    let frozen = bytes::Bytes::from(frame.clone());
    for _ in 0..n {
        if let Ok(p) = chanrac_smpp::Pdu::decode(std::hint::black_box(frozen.clone()), 65536) { if p.sequence == 7 { ok += 1; } }
    }
    println!("chanrac-smpp decode submit_sm: {:.0} ns/op ({ok} ok)", t.elapsed().as_nanos() as f64 / n as f64);
    let ours = chanrac_smpp::Pdu::decode(frozen.clone(), 65536).unwrap();
    let t = Instant::now();
    let mut same = true;
    for _ in 0..n {
        same &= std::hint::black_box(ours.encode()).len() == frame.len();
    }
    println!("chanrac-smpp encode submit_sm: {:.0} ns/op, same as input: {}", t.elapsed().as_nanos() as f64 / n as f64, same && ours.encode()[..] == frame[..]);
    // Hostile bytes through chanrac-smpp: panics caught and counted.
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut our_panics = 0u64;
    for i in 0..2_000_000u64 {
        let mut f = if i % 2 == 0 { frame.clone() } else { (0..(rng.next() % 300) as usize).map(|_| rng.next() as u8).collect() };
        if i % 2 == 0 {
            for _ in 0..1 + rng.next() % 4 { let k = (rng.next() as usize) % f.len(); f[k] = rng.next() as u8; }
            if rng.next() % 2 == 0 { let l = f.len() as u32; f[..4].copy_from_slice(&l.to_be_bytes()); }
        }
        if std::panic::catch_unwind(|| chanrac_smpp::Pdu::decode(bytes::Bytes::from(f), 65536).is_ok()).is_err() { our_panics += 1; }
    }
    println!("chanrac-smpp hostile: 2000000 cases, {our_panics} panics");
    let long = chanrac_smpp::Pdu::decode(bytes::Bytes::from(submit_sm_long_source()), 65536);
    println!("chanrac-smpp 25-char source_addr: {}", if long.is_ok() { "decoded" } else { "refused" });

    // A source_addr longer than the 3.4 maximum (some SMSCs accept them).
    let mut c = rusmpp::tokio_codec::CommandCodec::new();
    let mut b = BytesMut::from(&submit_sm_long_source()[..]);
    println!("25-char source_addr: {}", match c.decode(&mut b) { Ok(Some(_)) => "decoded".to_string(), Ok(None) => "incomplete".into(), Err(e) => format!("refused: {e}") });

    // Hostile bytes: mutated frames and random bytes; panics caught; resync checked.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let (mut panics, mut errors, mut desync, mut oks) = (0u64, 0u64, 0u64, 0u64);
    let cases = 2_000_000u64;
    for i in 0..cases {
        let mut f = if i % 2 == 0 { frame.clone() } else { (0..(rng.next() % 300) as usize).map(|_| rng.next() as u8).collect() };
        if i % 2 == 0 {
            for _ in 0..1 + rng.next() % 4 { let k = (rng.next() as usize) % f.len(); f[k] = rng.next() as u8; }
            // keep length sane half of the time
            if rng.next() % 2 == 0 { let l = f.len() as u32; f[..4].copy_from_slice(&l.to_be_bytes()); }
        }
        let r = std::panic::catch_unwind(|| {
            let mut c = rusmpp::tokio_codec::CommandCodec::new().with_max_length(65536);
            let mut b = BytesMut::from(&f[..]);
            let first = c.decode(&mut b);
            // Then a valid enquire_link: does it decode next (i.e. was the bad frame consumed whole)?
            let bad_len = f.len() >= 4 && u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize == f.len();
            b.put_slice(&enquire_link(99));
            let second = c.decode(&mut b);
            (first.is_ok(), bad_len, matches!(second, Ok(Some(ref x)) if x.sequence_number == 99))
        });
        match r {
            Err(_) => panics += 1,
            Ok((first_ok, len_ok, resync)) => {
                if first_ok { oks += 1 } else { errors += 1 }
                if !first_ok && len_ok && !resync { desync += 1 }
            }
        }
    }
    println!("hostile: {cases} cases, {panics} panics, {errors} errors, {oks} ok, {desync} frames with a correct command_length whose error left the stream out of step");
}
