//! `asset`: [`Asset::parse`] on arbitrary text, for every symbol a profile uses plus edge
//! precisions.

use vwf_shared::{Asset, AssetSymbol};

/// Parses `data` as an asset of each symbol. Parsing is strict, so whatever parses must print
/// back as the same text, parse back to the same value, and write its 16-byte wire form.
pub(crate) fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let symbols = [
        AssetSymbol::new("VIT", "VIT", 3),
        AssetSymbol::new("STEEM", "STEEM", 3),
        AssetSymbol::new("HIVE", "STEEM", 3),
        AssetSymbol::new("VESTS", "VESTS", 6),
        AssetSymbol::new("X", "X", 0),
        AssetSymbol::new("BIG", "BIG", 18),
        AssetSymbol::new("HUGE", "HUGE", 19),
    ];
    for symbol in &symbols {
        let Ok(asset) = Asset::parse(text, symbol) else {
            continue;
        };
        assert!(asset.amount >= 0, "negative amount from {text:?}");
        let shown = asset.to_string();
        assert_eq!(shown, text, "strict parse accepted a non-canonical form");
        assert_eq!(Asset::parse(&shown, symbol).ok().as_ref(), Some(&asset));
        let mut wire = Vec::new();
        asset.write_to(&mut wire);
        assert_eq!(wire.len(), 16);
    }
}
