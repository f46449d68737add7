//! Numbers that may arrive as JSON numbers or as strings.
//!
//! fc stringifies integers above 2^32−1 (`stringify_large_ints_and_doubles`, SPEC §6.3), and
//! which fields that hits depends on the value, not the field, so every integer read from a node
//! accepts both forms.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::{Deserialize, Deserializer, Error as _};

/// An integer read from either `123` or `"123"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flex<T>(pub(crate) T);

/// The two JSON forms.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Form {
    Number(u64),
    Text(String),
}

impl<'de, T> Deserialize<'de> for Flex<T>
where
    T: TryFrom<u64> + FromStr,
    <T as FromStr>::Err: Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Form::deserialize(deserializer)
            .map_err(|_| D::Error::custom("expected an unsigned integer or a decimal string"))?
        {
            Form::Number(n) => T::try_from(n)
                .map(Flex)
                .map_err(|_| D::Error::custom(format!("{n} is out of range"))),
            Form::Text(s) => s
                .parse()
                .map(Flex)
                .map_err(|e| D::Error::custom(format!("{s:?}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_numbers_and_strings() {
        let n: Result<Flex<u32>, _> = serde_json::from_str("131072");
        let s: Result<Flex<u32>, _> = serde_json::from_str("\"131072\"");
        assert_eq!(n.ok(), Some(Flex(131_072)));
        assert_eq!(s.ok(), Some(Flex(131_072)));
    }

    #[test]
    fn refuses_out_of_range_and_junk() {
        assert!(serde_json::from_str::<Flex<u16>>("70000").is_err());
        assert!(serde_json::from_str::<Flex<u32>>("\"12a\"").is_err());
        assert!(serde_json::from_str::<Flex<u32>>("-1").is_err());
        assert!(serde_json::from_str::<Flex<u32>>("1.5").is_err());
    }
}
