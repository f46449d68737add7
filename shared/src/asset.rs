//! Assets in the legacy form: the JSON string `"0.100 VIT"` and the 16-byte wire form (SPEC §3.1).
//!
//! Parsing is strict: the node derives the precision from the number of decimals, so `"0.1 VIT"`
//! is a different asset and fails on chain. We refuse it here with a reason instead.

use std::fmt;

use crate::codec::write_i64;
use crate::error::Error;

/// A symbol as written in JSON and on the wire, with its precision.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AssetSymbol {
    json_name: String,
    wire_name: String,
    precision: u8,
}

impl AssetSymbol {
    /// A symbol whose JSON and wire names may differ (Hive writes `HIVE` as `STEEM` bytes).
    ///
    /// Names longer than 6 bytes do not fit the wire form; they are cut when written, and no
    /// built-in profile has one.
    pub fn new(json_name: &str, wire_name: &str, precision: u8) -> Self {
        AssetSymbol {
            json_name: json_name.to_owned(),
            wire_name: wire_name.to_owned(),
            precision,
        }
    }

    /// The name in JSON (`VIT`, `STEEM`, `HIVE`).
    pub fn json_name(&self) -> &str {
        &self.json_name
    }

    /// The name in the 8-byte wire symbol (`VIT`, `STEEM`; Hive's `HIVE` is `STEEM`).
    pub fn wire_name(&self) -> &str {
        &self.wire_name
    }

    /// Decimal places.
    pub fn precision(&self) -> u8 {
        self.precision
    }

    /// The 8-byte wire symbol: precision, then up to 6 ASCII bytes, zero-padded.
    pub fn wire_bytes(&self) -> [u8; 8] {
        let mut bytes = [0u8; 8];
        bytes[0] = self.precision;
        for (slot, b) in bytes[1..7].iter_mut().zip(self.wire_name.bytes()) {
            *slot = b;
        }
        bytes
    }
}

/// An amount of one symbol, in satoshis (value × 10^precision).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Asset {
    /// Satoshis; never negative for assets this crate parses.
    pub amount: i64,
    /// The symbol.
    pub symbol: AssetSymbol,
}

impl Asset {
    /// Parses `"<int>.<exactly precision digits> <SYMBOL>"` for the given symbol.
    ///
    /// Refused: another symbol, another number of decimals, a sign, leading zeros (`"00.100"`),
    /// spaces other than the single separator, and amounts that overflow i64.
    pub fn parse(value: &str, symbol: &AssetSymbol) -> Result<Self, Error> {
        let refuse = |reason: String| Error::Asset {
            value: value.to_owned(),
            reason,
        };
        let (number, name) = value
            .split_once(' ')
            .ok_or_else(|| refuse("expected '<amount> <SYMBOL>'".into()))?;
        if name != symbol.json_name {
            return Err(refuse(format!("symbol must be {}", symbol.json_name)));
        }
        let precision = usize::from(symbol.precision);
        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) if precision > 0 => (whole, fraction),
            None if precision == 0 => (number, ""),
            _ => {
                return Err(refuse(format!(
                    "{} must have exactly {precision} decimals",
                    symbol.json_name
                )));
            }
        };
        if fraction.len() != precision || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(format!(
                "{} must have exactly {precision} decimals",
                symbol.json_name
            )));
        }
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(
                "amount must be a non-negative decimal number".into(),
            ));
        }
        if whole.len() > 1 && whole.starts_with('0') {
            return Err(refuse("amount must not have leading zeros".into()));
        }
        let overflow = || refuse("amount is too large".into());
        let whole: i64 = whole.parse().map_err(|_| overflow())?;
        let fraction: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| overflow())?
        };
        let amount = 10i64
            .checked_pow(u32::from(symbol.precision))
            .and_then(|scale| whole.checked_mul(scale))
            .and_then(|satoshis| satoshis.checked_add(fraction))
            .ok_or_else(overflow)?;
        Ok(Asset {
            amount,
            symbol: symbol.clone(),
        })
    }

    /// Appends the 16-byte wire form: i64 amount, then the 8-byte symbol.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_i64(out, self.amount);
        out.extend_from_slice(&self.symbol.wire_bytes());
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.amount < 0 { "-" } else { "" };
        let magnitude = self.amount.unsigned_abs();
        let precision = u32::from(self.symbol.precision);
        match 10u64.checked_pow(precision) {
            Some(1) => write!(f, "{sign}{magnitude} {}", self.symbol.json_name),
            Some(scale) => write!(
                f,
                "{sign}{}.{:0width$} {}",
                magnitude / scale,
                magnitude % scale,
                self.symbol.json_name,
                width = precision as usize
            ),
            None => write!(
                f,
                "{sign}{magnitude}e-{precision} {}",
                self.symbol.json_name
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vit() -> AssetSymbol {
        AssetSymbol::new("VIT", "VIT", 3)
    }

    fn wire(asset: &Asset) -> String {
        let mut out = Vec::new();
        asset.write_to(&mut out);
        hex::encode(out)
    }

    #[test]
    fn spec_examples_have_the_documented_bytes() {
        let fee = Asset::parse("0.100 VIT", &vit()).ok();
        assert_eq!(
            fee.as_ref().map(wire).as_deref(),
            Some("64000000000000000356495400000000")
        );
        let steem = AssetSymbol::new("STEEM", "STEEM", 3);
        let three = Asset::parse("3.000 STEEM", &steem).ok();
        assert_eq!(
            three.as_ref().map(wire).as_deref(),
            Some("b80b00000000000003535445454d0000")
        );
    }

    #[test]
    fn hive_is_written_as_steem_bytes() {
        let hive = AssetSymbol::new("HIVE", "STEEM", 3);
        let asset = Asset::parse("3.000 HIVE", &hive).ok();
        assert_eq!(
            asset.as_ref().map(wire).as_deref(),
            Some("b80b00000000000003535445454d0000")
        );
        assert_eq!(asset.map(|a| a.to_string()).as_deref(), Some("3.000 HIVE"));
    }

    #[test]
    fn refuses_anything_but_the_exact_form() {
        for bad in [
            "0.1 VIT",
            "0.1000 VIT",
            "0.100 STEEM",
            "0.100 vit",
            "0.100  VIT",
            "0.100VIT",
            "-0.100 VIT",
            "+0.100 VIT",
            "00.100 VIT",
            ".100 VIT",
            "1. VIT",
            "1 VIT",
            "0.1a0 VIT",
            "9223372036854775.808 VIT",
            "",
            " VIT",
        ] {
            assert!(Asset::parse(bad, &vit()).is_err(), "{bad:?} accepted");
        }
        let max = Asset::parse("9223372036854775.807 VIT", &vit()).ok();
        assert_eq!(max.map(|a| a.amount), Some(i64::MAX));
    }

    proptest! {
        #[test]
        fn format_and_parse_round_trip(amount in 0i64..=i64::MAX) {
            let asset = Asset { amount, symbol: vit() };
            let text = asset.to_string();
            prop_assert_eq!(Asset::parse(&text, &vit()).ok(), Some(asset));
        }

        #[test]
        fn parse_never_panics(text in ".{0,40}") {
            let _ = Asset::parse(&text, &vit());
        }
    }
}
