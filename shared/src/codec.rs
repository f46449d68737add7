//! fc::raw primitives (SPEC §3): little-endian integers, varint32 and length-prefixed strings.
//!
//! Composite types (assets, keys, operations, transactions) write themselves with these; there is
//! no generic serializer, because the chain's layout is fixed and a generic one would hide it.

use crate::error::Error;

/// Appends a u16, little-endian.
pub fn write_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a u32, little-endian.
pub fn write_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends an i64, little-endian.
pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends fc's `unsigned_int`: unsigned LEB128, 7 bits a byte, low bits first.
pub fn write_varint32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Appends a string: varint32 byte length, then the UTF-8 bytes, no terminator.
///
/// Lengths above u32::MAX cannot be written; callers validate lengths first (urls are capped at
/// 2048 bytes by [`crate::names`]), so this saturates rather than panics.
pub fn write_string(out: &mut Vec<u8>, value: &str) {
    write_varint32(out, u32::try_from(value.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(value.as_bytes());
}

/// Reads a varint32 from the front of `input`; returns the value and the bytes it used.
///
/// Refuses truncated input, encodings longer than 5 bytes and values above u32::MAX.
pub fn read_varint32(input: &[u8]) -> Result<(u32, usize), Error> {
    let mut value: u64 = 0;
    for (i, byte) in input.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value)
                .map(|v| (v, i + 1))
                .map_err(|_| Error::Decode {
                    reason: "varint32 exceeds u32",
                });
        }
    }
    Err(Error::Decode {
        reason: if input.len() < 5 {
            "truncated varint32"
        } else {
            "varint32 longer than 5 bytes"
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn varint(value: u32) -> Vec<u8> {
        let mut out = Vec::new();
        write_varint32(&mut out, value);
        out
    }

    #[test]
    fn varint_matches_spec_examples() {
        assert_eq!(varint(0), [0x00]);
        assert_eq!(varint(127), [0x7f]);
        assert_eq!(varint(128), [0x80, 0x01]);
        assert_eq!(varint(192), [0xc0, 0x01]);
        assert_eq!(varint(u32::MAX), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    }

    #[test]
    fn read_varint_refuses_truncated_and_overlong_input() {
        assert!(read_varint32(&[]).is_err());
        assert!(read_varint32(&[0x80]).is_err());
        assert!(read_varint32(&[0xff, 0xff, 0xff, 0xff, 0x1f]).is_err());
        assert!(read_varint32(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).is_err());
    }

    #[test]
    fn string_is_length_prefixed_utf8_bytes() {
        let mut out = Vec::new();
        write_string(&mut out, "café");
        assert_eq!(out, [5, b'c', b'a', b'f', 0xc3, 0xa9]);
    }

    proptest! {
        #[test]
        fn varint_round_trips(value: u32, tail: Vec<u8>) {
            let mut bytes = varint(value);
            let used = bytes.len();
            bytes.extend_from_slice(&tail);
            prop_assert_eq!(read_varint32(&bytes).ok(), Some((value, used)));
        }

        #[test]
        fn read_varint_never_panics(bytes: Vec<u8>) {
            let _ = read_varint32(&bytes);
        }
    }
}
