//! Serde for [`PublicKey`] in the state file: 66 hex characters, prefix-free.
//!
//! The state file must not depend on which profile wrote it; `status` shows keys with the
//! profile's prefix instead.

use serde::{Deserialize, Deserializer, Serializer};
use vwf_shared::PublicKey;

/// Writes the 33 bytes as hex.
pub(crate) fn serialize<S: Serializer>(key: &PublicKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(key.as_bytes()))
}

/// Reads 66 hex characters: a compressed point or the null key.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
    let text = String::deserialize(d)?;
    let mut bytes = [0u8; 33];
    hex::decode_to_slice(&text, &mut bytes).map_err(serde::de::Error::custom)?;
    PublicKey::from_bytes(bytes).map_err(serde::de::Error::custom)
}
