//! Concatenated messages: finding the parts, and putting them back together before the check.
//!
//! A long SMS travels as parts, each with a reference, the number of parts and its own
//! number, carried either in a user data header (UDH: information element 0x00 with an 8-bit
//! reference, 0x08 with a 16-bit one) or in the SAR TLVs. [`Reassembler`] holds the parts
//! until the message is whole, so that a scam split over three parts is judged whole. It is
//! pure: no I/O, no clock of its own (every call takes `now`), and bounded in the number of
//! pending messages, their bytes and their age.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::pdu::{Tlv, find_tlv, tag};

/// The concatenation facts of one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartInfo {
    /// The reference shared by all parts of one message.
    pub reference: u16,
    /// How many parts the message has.
    pub total: u8,
    /// This part's number, from 1.
    pub seq: u8,
}

/// A parsed user data header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Udh {
    /// The header's size in bytes, its length byte included: the text starts there.
    pub len: usize,
    /// The concatenation element, when there is one.
    pub concat: Option<PartInfo>,
}

/// Why a UDH cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UdhError {
    /// The header length byte points past the message.
    #[error("user data header of {len} bytes is longer than the message ({available} bytes)")]
    TooLong {
        /// The header length (length byte included).
        len: usize,
        /// The message size.
        available: usize,
    },
    /// An information element runs past the header.
    #[error("an information element runs past the end of the user data header")]
    Element,
}

/// Parses the UDH at the start of `sm` (call it only when `esm_class` has the UDHI bit 0x40).
pub fn parse_udh(sm: &[u8]) -> Result<Udh, UdhError> {
    let Some(&udhl) = sm.first() else {
        return Err(UdhError::TooLong { len: 1, available: 0 });
    };
    let len = udhl as usize + 1;
    if len > sm.len() {
        return Err(UdhError::TooLong {
            len,
            available: sm.len(),
        });
    }
    let mut ies = &sm[1..len];
    let mut concat = None;
    while !ies.is_empty() {
        let [iei, iel, rest @ ..] = ies else {
            return Err(UdhError::Element);
        };
        let data = rest.get(..*iel as usize).ok_or(UdhError::Element)?;
        match (iei, data) {
            (0x00, [r, total, seq]) => {
                concat = Some(PartInfo {
                    reference: *r as u16,
                    total: *total,
                    seq: *seq,
                })
            }
            (0x08, [r1, r2, total, seq]) => {
                concat = Some(PartInfo {
                    reference: u16::from_be_bytes([*r1, *r2]),
                    total: *total,
                    seq: *seq,
                })
            }
            _ => {}
        }
        ies = &rest[*iel as usize..];
    }
    Ok(Udh { len, concat })
}

/// The SAR TLVs of a part, when all three are present.
pub fn sar_info(tlvs: &[Tlv]) -> Option<PartInfo> {
    let reference = find_tlv(tlvs, tag::SAR_MSG_REF_NUM)?.as_uint()? as u16;
    let total = find_tlv(tlvs, tag::SAR_TOTAL_SEGMENTS)?.as_uint()? as u8;
    let seq = find_tlv(tlvs, tag::SAR_SEGMENT_SEQNUM)?.as_uint()? as u8;
    Some(PartInfo { reference, total, seq })
}

/// A UDH for part `seq` of `total` with a reference (8-bit when it fits, else 16-bit).
pub fn udh_for(info: PartInfo) -> Vec<u8> {
    if info.reference <= 0xFF {
        vec![5, 0x00, 3, info.reference as u8, info.total, info.seq]
    } else {
        let [a, b] = info.reference.to_be_bytes();
        vec![6, 0x08, 4, a, b, info.total, info.seq]
    }
}

/// Limits of the reassembly buffer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReassemblyConfig {
    /// The most messages pending at once (all sessions together). Default 10 000.
    pub max_pending: usize,
    /// The most bytes of pending parts at once. Default 16 MiB.
    pub max_bytes: usize,
    /// How long the first part of a message waits for the others, in milliseconds; then the
    /// parts present are judged as they are. Default 10 000 (10 s).
    pub max_age_ms: u64,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_pending: 10_000,
            max_bytes: 16 << 20,
            max_age_ms: 10_000,
        }
    }
}

/// What the buffer did with a part.
#[derive(Debug)]
pub enum Push<P> {
    /// Held; the message is not whole yet.
    Pending,
    /// The message is whole: its parts in order.
    Complete(Vec<P>),
    /// Not held: the buffer is full, or the part is not a valid part (number 0, above the
    /// total, a total of 0 or 1, a second copy of a part). The caller judges it alone.
    Refused(P, Refusal),
}

/// Why a part was not held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The part's numbers are impossible.
    Invalid,
    /// This part number was already held for this message.
    Duplicate,
    /// The buffer is at its message or byte limit.
    Full,
}

struct Pending<P> {
    first_seen: Instant,
    total: u8,
    parts: Vec<Option<P>>,
    have: u8,
    bytes: usize,
}

/// Holds parts until their message is whole. `K` identifies a message: the session, source,
/// destination and reference (see the proxy); `P` is what the caller keeps per part.
pub struct Reassembler<K, P> {
    config: ReassemblyConfig,
    pending: HashMap<K, Pending<P>>,
    bytes: usize,
}

impl<K: Eq + Hash + Clone, P> Reassembler<K, P> {
    /// An empty buffer.
    pub fn new(config: ReassemblyConfig) -> Self {
        Reassembler {
            config,
            pending: HashMap::new(),
            bytes: 0,
        }
    }

    /// Messages pending.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Bytes of pending parts.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds a part of `size` bytes.
    pub fn push(&mut self, key: K, info: PartInfo, size: usize, part: P, now: Instant) -> Push<P> {
        if info.total < 2 || info.seq == 0 || info.seq > info.total {
            return Push::Refused(part, Refusal::Invalid);
        }
        if self.bytes + size > self.config.max_bytes {
            return Push::Refused(part, Refusal::Full);
        }
        if !self.pending.contains_key(&key) && self.pending.len() >= self.config.max_pending {
            return Push::Refused(part, Refusal::Full);
        }
        let entry = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            first_seen: now,
            total: info.total,
            parts: (0..info.total).map(|_| None).collect(),
            have: 0,
            bytes: 0,
        });
        // A part that disagrees with the first on the total is not part of that message.
        if entry.total != info.total {
            return Push::Refused(part, Refusal::Invalid);
        }
        let slot = &mut entry.parts[info.seq as usize - 1];
        if slot.is_some() {
            return Push::Refused(part, Refusal::Duplicate);
        }
        *slot = Some(part);
        entry.have += 1;
        entry.bytes += size;
        self.bytes += size;
        if entry.have < entry.total {
            return Push::Pending;
        }
        let done = self.pending.remove(&key).expect("entry just updated");
        self.bytes -= done.bytes;
        Push::Complete(done.parts.into_iter().flatten().collect())
    }

    /// Removes and returns the messages whose first part is older than the age limit, each
    /// with the parts present, in order.
    pub fn expire(&mut self, now: Instant) -> Vec<(K, Vec<P>)> {
        let max_age = Duration::from_millis(self.config.max_age_ms);
        let old: Vec<K> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.first_seen) >= max_age)
            .map(|(k, _)| k.clone())
            .collect();
        old.into_iter()
            .filter_map(|k| {
                let p = self.pending.remove(&k)?;
                self.bytes -= p.bytes;
                Some((k, p.parts.into_iter().flatten().collect()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(reference: u16, total: u8, seq: u8) -> PartInfo {
        PartInfo { reference, total, seq }
    }

    #[test]
    fn udh_8_and_16_bit_references() {
        let sm = [5, 0x00, 3, 0x2A, 3, 2, b'h', b'i'];
        assert_eq!(
            parse_udh(&sm).unwrap(),
            Udh {
                len: 6,
                concat: Some(part(0x2A, 3, 2))
            }
        );
        let sm = [6, 0x08, 4, 0x12, 0x34, 2, 1, b'x'];
        assert_eq!(parse_udh(&sm).unwrap().concat, Some(part(0x1234, 2, 1)));
        // Other elements (a port address) are skipped; no concatenation element then.
        let sm = [6, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, b'x'];
        assert_eq!(parse_udh(&sm).unwrap(), Udh { len: 7, concat: None });
        assert_eq!(udh_for(part(0x2A, 3, 2)), [5, 0x00, 3, 0x2A, 3, 2]);
        assert_eq!(
            parse_udh(&udh_for(part(0x1234, 2, 1))).unwrap().concat,
            Some(part(0x1234, 2, 1))
        );
    }

    #[test]
    fn bad_udhs_are_errors() {
        assert!(parse_udh(&[]).is_err());
        assert!(parse_udh(&[9, 0, 3, 1]).is_err());
        assert_eq!(parse_udh(&[3, 0x00, 3, 1]), Err(UdhError::Element));
    }

    #[test]
    fn sar_tlvs() {
        let tlvs = [
            Tlv::u16(tag::SAR_MSG_REF_NUM, 513),
            Tlv::u8(tag::SAR_TOTAL_SEGMENTS, 3),
            Tlv::u8(tag::SAR_SEGMENT_SEQNUM, 3),
        ];
        assert_eq!(sar_info(&tlvs), Some(part(513, 3, 3)));
        assert_eq!(sar_info(&tlvs[..2]), None);
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let t = Instant::now();
        assert!(matches!(r.push("a", part(1, 3, 3), 10, "three", t), Push::Pending));
        assert!(matches!(r.push("a", part(1, 3, 1), 10, "one", t), Push::Pending));
        assert_eq!(r.bytes(), 20);
        // The same reference from another key is another message.
        assert!(matches!(r.push("b", part(1, 3, 2), 10, "other", t), Push::Pending));
        match r.push("a", part(1, 3, 2), 10, "two", t) {
            Push::Complete(parts) => assert_eq!(parts, ["one", "two", "three"]),
            other => panic!("not complete: {other:?}"),
        }
        assert_eq!((r.pending(), r.bytes()), (1, 10));
    }

    #[test]
    fn refuses_invalid_duplicate_and_over_limit() {
        let cfg = ReassemblyConfig {
            max_pending: 1,
            max_bytes: 25,
            max_age_ms: 1000,
        };
        let mut r = Reassembler::new(cfg);
        let t = Instant::now();
        for bad in [part(1, 0, 0), part(1, 1, 1), part(1, 2, 3), part(1, 2, 0)] {
            assert!(matches!(r.push(1, bad, 1, (), t), Push::Refused((), Refusal::Invalid)));
        }
        assert!(matches!(r.push(1, part(1, 3, 1), 10, (), t), Push::Pending));
        assert!(matches!(
            r.push(1, part(1, 3, 1), 10, (), t),
            Push::Refused((), Refusal::Duplicate)
        ));
        assert!(matches!(
            r.push(1, part(1, 4, 2), 10, (), t),
            Push::Refused((), Refusal::Invalid)
        ));
        // A second message does not fit in max_pending = 1; more bytes do not fit in 25.
        assert!(matches!(
            r.push(2, part(9, 2, 1), 1, (), t),
            Push::Refused((), Refusal::Full)
        ));
        assert!(matches!(
            r.push(1, part(1, 3, 2), 20, (), t),
            Push::Refused((), Refusal::Full)
        ));
    }

    #[test]
    fn expires_by_age_with_the_parts_present() {
        let mut r = Reassembler::new(ReassemblyConfig {
            max_age_ms: 100,
            ..Default::default()
        });
        let t = Instant::now();
        r.push("k", part(7, 3, 2), 5, 2, t);
        r.push("k", part(7, 3, 1), 5, 1, t + Duration::from_millis(50));
        assert!(r.expire(t + Duration::from_millis(99)).is_empty());
        let out = r.expire(t + Duration::from_millis(100));
        assert_eq!(out, vec![("k", vec![1, 2])]);
        assert_eq!((r.pending(), r.bytes()), (0, 0));
    }
}
