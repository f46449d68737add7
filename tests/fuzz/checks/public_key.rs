//! `public_key`: [`PublicKey::parse`] on arbitrary text (and [`PublicKey::from_bytes`] on
//! arbitrary 33 bytes).

use vwf_shared::PublicKey;

/// Parses `data` with the prefixes in use (and none). Base58 is canonical, so whatever parses
/// must print back as the very same text; 33 raw bytes that are accepted must survive the text
/// form.
pub(crate) fn check(data: &[u8]) {
    if let Some(key) = <[u8; 33]>::try_from(data)
        .ok()
        .and_then(|bytes| PublicKey::from_bytes(bytes).ok())
    {
        let text = key.to_string_with_prefix("VIT");
        assert_eq!(PublicKey::parse(&text, "VIT").ok(), Some(key));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for prefix in ["VIT", "STM", ""] {
        let Ok(key) = PublicKey::parse(text, prefix) else {
            continue;
        };
        assert_eq!(
            key.to_string_with_prefix(prefix),
            text,
            "a key was accepted in a non-canonical spelling"
        );
    }
}
