//! SMS text: decoding for the filter, encoding for the simulator and tests.
//!
//! `data_coding` says how the bytes of a message are text: the GSM 03.38 default alphabet
//! (septets, one per byte or packed eight in seven bytes, with an escape to an extension
//! table), IA5/ASCII, Latin-1, or UCS-2 (read as UTF-16BE, so surrogate pairs from phones that
//! send UTF-16 decode too). Anything else (8-bit binary, Cyrillic, JIS, compressed…) is decoded
//! lossily as Latin-1 with [`Decoded::unknown_coding`] set, so the filter still sees what is
//! readable and the caller can turn the flag into a signal.

/// The GSM 03.38 default alphabet, by septet.
const GSM_BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The escape septet that selects the extension table for the next septet.
const GSM_ESCAPE: u8 = 0x1B;

/// The GSM 03.38 extension table: (septet after the escape, character).
const GSM_EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// How a message's bytes are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// GSM 03.38 default alphabet.
    Gsm7,
    /// IA5 (ASCII).
    Ascii,
    /// ISO-8859-1.
    Latin1,
    /// UCS-2, read as UTF-16BE.
    Ucs2,
    /// 8-bit data: not text.
    Binary,
    /// A coding chanrac does not decode (the `data_coding` byte).
    Unknown(u8),
}

impl Coding {
    /// The coding that a `data_coding` value names (SMPP 3.4 section 5.2.19, with the GSM 03.38
    /// coding groups for values from 0x10 on).
    pub fn from_data_coding(dcs: u8) -> Coding {
        match dcs {
            0x00 => Coding::Gsm7,
            0x01 => Coding::Ascii,
            0x02 | 0x04 => Coding::Binary,
            0x03 => Coding::Latin1,
            0x08 => Coding::Ucs2,
            // General data coding group 00xx: bit 5 compressed, bits 3-2 the alphabet.
            0x10..=0x3F => {
                if dcs & 0x20 != 0 {
                    Coding::Unknown(dcs)
                } else {
                    Self::gsm_alphabet(dcs)
                }
            }
            // Message waiting indication groups: discard/store with GSM 7-bit, store with UCS-2.
            0xC0..=0xDF => Coding::Gsm7,
            0xE0..=0xEF => Coding::Ucs2,
            // Data coding / message class: bit 2 chooses 8-bit data over GSM 7-bit.
            0xF0..=0xFF => {
                if dcs & 0x04 != 0 {
                    Coding::Binary
                } else {
                    Coding::Gsm7
                }
            }
            _ => Coding::Unknown(dcs),
        }
    }

    fn gsm_alphabet(dcs: u8) -> Coding {
        match (dcs >> 2) & 0x03 {
            0 => Coding::Gsm7,
            1 => Coding::Binary,
            2 => Coding::Ucs2,
            _ => Coding::Unknown(dcs),
        }
    }

    /// The name, for logs and evidence.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Gsm7 => "gsm7",
            Coding::Ascii => "ascii",
            Coding::Latin1 => "latin1",
            Coding::Ucs2 => "ucs2",
            Coding::Binary => "binary",
            Coding::Unknown(_) => "unknown",
        }
    }
}

/// A decoded text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// Some bytes could not be decoded and were replaced by U+FFFD (a lone surrogate, an odd
    /// UCS-2 length, a septet above 127).
    pub lossy: bool,
    /// The coding is not a text coding chanrac knows: the bytes were read as Latin-1.
    pub unknown_coding: bool,
}

/// Decodes a message body (the UDH already removed) of the given coding. `packed` says that
/// GSM 7-bit text is packed (eight septets in seven bytes) rather than one septet per byte;
/// `fill_bits` is the number of padding bits before the first septet of packed text (after a
/// UDH, see [`fill_bits_after_udh`]).
pub fn decode(bytes: &[u8], coding: Coding, packed: bool, fill_bits: u8) -> Decoded {
    let mut out = Decoded::default();
    match coding {
        Coding::Gsm7 if packed => {
            let septets = unpack_septets(bytes, fill_bits);
            out.lossy = gsm_septets_to_text(&septets, &mut out.text);
        }
        Coding::Gsm7 => out.lossy = gsm_septets_to_text(bytes, &mut out.text),
        Coding::Ascii => {
            out.text
                .extend(bytes.iter().map(|&b| if b < 0x80 { b as char } else { '\u{FFFD}' }));
            out.lossy = bytes.iter().any(|&b| b >= 0x80);
        }
        Coding::Latin1 => out.text.extend(bytes.iter().map(|&b| b as char)),
        Coding::Ucs2 => out.lossy = utf16be_to_text(bytes, &mut out.text),
        Coding::Binary | Coding::Unknown(_) => {
            out.text.extend(bytes.iter().map(|&b| b as char));
            out.unknown_coding = true;
        }
    }
    out
}

/// Appends the text of unpacked GSM septets; returns true when a byte was not a septet.
pub fn gsm_septets_to_text(septets: &[u8], out: &mut String) -> bool {
    out.reserve(septets.len());
    let mut lossy = false;
    let mut it = septets.iter().copied();
    while let Some(s) = it.next() {
        if s >= 0x80 {
            lossy = true;
            out.push('\u{FFFD}');
        } else if s == GSM_ESCAPE {
            match it.next() {
                // Per 23.038, an escape with no known extension shows the basic character;
                // an escape at the very end shows a space.
                Some(e) if e < 0x80 => out.push(
                    GSM_EXTENSION
                        .iter()
                        .find(|(k, _)| *k == e)
                        .map_or(GSM_BASIC[e as usize], |(_, c)| *c),
                ),
                Some(_) => {
                    lossy = true;
                    out.push('\u{FFFD}');
                }
                None => out.push(' '),
            }
        } else {
            out.push(GSM_BASIC[s as usize]);
        }
    }
    lossy
}

/// The padding bits between a UDH of `udh_len` bytes (length byte included) and the first
/// septet, so that septets start on a septet boundary.
pub fn fill_bits_after_udh(udh_len: usize) -> u8 {
    ((7 - (udh_len * 8) % 7) % 7) as u8
}

/// Unpacks GSM septets (LSB first, as 23.038 packs them), skipping `fill_bits` leading bits.
/// A last septet made only of padding (zero bits filling the final byte, or the CR 23.038
/// recommends there) is dropped.
pub fn unpack_septets(bytes: &[u8], fill_bits: u8) -> Vec<u8> {
    let total_bits = bytes.len() * 8;
    let fill = fill_bits as usize;
    if total_bits <= fill {
        return Vec::new();
    }
    let count = (total_bits - fill) / 7;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let bit = fill + i * 7;
        let (byte, shift) = (bit / 8, bit % 8);
        let mut v = (bytes[byte] >> shift) as u16;
        if shift > 1 && byte + 1 < bytes.len() {
            v |= (bytes[byte + 1] as u16) << (8 - shift);
        }
        out.push((v & 0x7F) as u8);
    }
    // When the septets exactly fill the bytes, a final 0 (or CR) septet is padding. (A real
    // final '@' in that position cannot be told apart: 23.038 asks senders to pad with CR.)
    if (total_bits - fill).is_multiple_of(7) && matches!(out.last(), Some(0) | Some(0x0D)) {
        out.pop();
    }
    out
}

/// Packs septets (LSB first) after `fill_bits` zero bits.
pub fn pack_septets(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    let total_bits = fill_bits as usize + septets.len() * 7;
    let mut out = vec![0u8; total_bits.div_ceil(8)];
    for (i, &s) in septets.iter().enumerate() {
        let bit = fill_bits as usize + i * 7;
        let (byte, shift) = (bit / 8, bit % 8);
        let v = ((s & 0x7F) as u16) << shift;
        out[byte] |= v as u8;
        if shift > 1 {
            out[byte + 1] |= (v >> 8) as u8;
        }
    }
    // A final septet's worth of zero padding would read as '@': make it CR, as 23.038 says.
    if total_bits % 8 == 1 {
        let last = out.len() - 1;
        out[last] |= 0x0D << 1;
    }
    out
}

/// Encodes a text to unpacked GSM septets (escapes included), or `None` when a character is
/// not in the GSM alphabet.
pub fn gsm_encode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if let Some(i) = GSM_BASIC.iter().position(|&b| b == c && c != '\u{1b}') {
            out.push(i as u8);
        } else if let Some((k, _)) = GSM_EXTENSION.iter().find(|(_, e)| *e == c) {
            out.extend([GSM_ESCAPE, *k]);
        } else {
            return None;
        }
    }
    Some(out)
}

/// Appends the text of UTF-16BE bytes; returns true when something was replaced (a lone
/// surrogate or an odd final byte).
pub fn utf16be_to_text(bytes: &[u8], out: &mut String) -> bool {
    let units = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
    let mut lossy = !bytes.len().is_multiple_of(2);
    out.reserve(bytes.len());
    for r in char::decode_utf16(units) {
        match r {
            Ok(c) => out.push(c),
            Err(_) => {
                lossy = true;
                out.push('\u{FFFD}');
            }
        }
    }
    if !bytes.len().is_multiple_of(2) {
        out.push('\u{FFFD}');
    }
    lossy
}

/// Encodes a text as UTF-16BE (UCS-2 with surrogate pairs for characters beyond the BMP).
pub fn ucs2_encode(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Encodes a text as Latin-1, or `None` when a character is beyond U+00FF.
pub fn latin1_encode(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| u8::try_from(c as u32).ok()).collect()
}

/// Encodes a text in the smallest coding that holds it: GSM 7-bit (unpacked, `data_coding`
/// 0) or else UCS-2 (`data_coding` 8). Returns (`data_coding`, bytes).
pub fn encode_best(text: &str) -> (u8, Vec<u8>) {
    match gsm_encode(text) {
        Some(septets) => (0x00, septets),
        None => (0x08, ucs2_encode(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_coding_table() {
        let cases = [
            (0x00, Coding::Gsm7),
            (0x01, Coding::Ascii),
            (0x02, Coding::Binary),
            (0x03, Coding::Latin1),
            (0x04, Coding::Binary),
            (0x08, Coding::Ucs2),
            (0x06, Coding::Unknown(0x06)),
            (0x11, Coding::Gsm7),
            (0x18, Coding::Ucs2),
            (0x14, Coding::Binary),
            (0x28, Coding::Unknown(0x28)),
            (0xF0, Coding::Gsm7),
            (0xF4, Coding::Binary),
            (0xC8, Coding::Gsm7),
            (0xE0, Coding::Ucs2),
            (0x80, Coding::Unknown(0x80)),
        ];
        for (dcs, c) in cases {
            assert_eq!(Coding::from_data_coding(dcs), c, "data_coding {dcs:#04x}");
        }
    }

    #[test]
    fn gsm_unpacked_with_extension_table() {
        let septets = gsm_encode("Giá 10€ [KM] {x} ~y^ \\ |ok|").unwrap_or_default();
        // 'á' is not GSM: the whole text is refused, so test a GSM-only one.
        assert!(septets.is_empty());
        let text = "Gia 10€ [KM] {x} ~y^ \\ |ok| @£$¥ èéùìò ÆæßÉ ¡¿ ÄÖÑÜ§ äöñüà";
        let septets = gsm_encode(text).unwrap();
        assert_eq!(septets[0], b'G');
        let d = decode(&septets, Coding::Gsm7, false, 0);
        assert_eq!(d.text, text);
        assert!(!d.lossy && !d.unknown_coding);
    }

    #[test]
    fn gsm_packed_known_vector() {
        // "hellohello", the 23.038 example: E8 32 9B FD 46 97 D9 EC 37.
        let packed = [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37];
        assert_eq!(decode(&packed, Coding::Gsm7, true, 0).text, "hellohello");
        assert_eq!(pack_septets(&gsm_encode("hellohello").unwrap(), 0), packed);
    }

    #[test]
    fn gsm_packed_seven_characters_drop_the_padding_septet() {
        for text in ["1234567", "ABCDEFG", "1234567ABCDEFGH", "x"] {
            let packed = pack_septets(&gsm_encode(text).unwrap(), 0);
            assert_eq!(decode(&packed, Coding::Gsm7, true, 0).text, text);
        }
    }

    #[test]
    fn gsm_packed_after_a_udh_uses_fill_bits() {
        // A 6-byte UDH (concatenation, 8-bit reference) needs 1 fill bit.
        assert_eq!(fill_bits_after_udh(6), 1);
        assert_eq!(fill_bits_after_udh(7), 0);
        let text = "Tai khoan cua ban bi khoa";
        let packed = pack_septets(&gsm_encode(text).unwrap(), 1);
        assert_eq!(decode(&packed, Coding::Gsm7, true, 1).text, text);
    }

    #[test]
    fn ucs2_vietnamese_and_surrogates() {
        let text = "Chúc mừng bạn trúng thưởng 50 triệu đồng 🎁";
        let bytes = ucs2_encode(text);
        let d = decode(&bytes, Coding::Ucs2, false, 0);
        assert_eq!(d.text, text);
        assert!(!d.lossy);
        // A lone high surrogate and an odd length are replaced and flagged.
        let d = decode(&[0xD8, 0x3D, 0x00, 0x41, 0x00], Coding::Ucs2, false, 0);
        assert_eq!(d.text, "\u{FFFD}A\u{FFFD}");
        assert!(d.lossy);
    }

    #[test]
    fn latin1_ascii_and_unknown() {
        assert_eq!(decode(b"caf\xe9", Coding::Latin1, false, 0).text, "café");
        let d = decode(b"caf\xe9", Coding::Ascii, false, 0);
        assert_eq!(d.text, "caf\u{FFFD}");
        assert!(d.lossy);
        let d = decode(b"vay tien \xff", Coding::from_data_coding(0x06), false, 0);
        assert!(d.unknown_coding);
        assert!(d.text.starts_with("vay tien"));
        assert_eq!(latin1_encode("café"), Some(b"caf\xe9".to_vec()));
        assert_eq!(latin1_encode("đ"), None);
    }

    #[test]
    fn encode_best_picks_gsm_then_ucs2() {
        assert_eq!(encode_best("Hello").0, 0x00);
        assert_eq!(encode_best("Xin chào").0, 0x00, "à is in the GSM alphabet");
        assert_eq!(encode_best("Xin chào bạn").0, 0x08);
    }
}
