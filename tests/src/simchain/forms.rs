//! The appbase JSON forms of assets and transactions (SPEC §6.2), and the conversions the
//! simulator needs between them and the legacy (0.19 / `condenser_api`) form.
//!
//! Sources: steemit/steem master 0e27a9c8e `libraries/protocol/asset.cpp` (`to_variant`: amount
//! as a string, `precision`, `nai`; `from_variant` asserts on any other shape),
//! `libraries/protocol/include/steem/protocol/asset_symbol.hpp` (`STEEM_ASSET_NUM_*`: NAIs
//! `@@000000021` core, `@@000000013` SBD, `@@000000037` VESTS), `libraries/fc/include/fc/static_variant.hpp`
//! (an operation is `{"type": "<name>_operation", "value": {…}}`; anything but an object fails
//! `FC_ASSERT( v.is_object(), "Input data have to treated as object." )`); openhive-network/hive
//! 1.28.3 `libraries/fc/include/fc/static_variant.hpp` (the same check throws a `bad_cast_exception`)
//! and `libraries/protocol/asset.cpp` (`FC_ASSERT( var.is_object() && "Asset has to be treated as
//! object." )`).

use serde_json::{Map, Value, json};
use vwf_shared::{ChainProfile, ProfileName};

use crate::simchain::fc_error::{FcError, Frame, Gen, data};

/// NAI of the core asset (STEEM, HIVE).
pub const NAI_CORE: &str = "@@000000021";
/// NAI of the dollar asset (SBD, HBD).
pub const NAI_DOLLAR: &str = "@@000000013";
/// NAI of VESTS.
pub const NAI_VESTS: &str = "@@000000037";

/// The legacy name of the dollar asset of a profile (`SBD`, `HBD`; VIT has none, `SBD` kept).
pub fn dollar_symbol(profile: &ChainProfile) -> &'static str {
    match profile.name {
        ProfileName::Hive => "HBD",
        ProfileName::Vit | ProfileName::Steem => "SBD",
    }
}

/// `(nai, precision)` of a legacy symbol name on `profile`.
fn nai_of(profile: &ChainProfile, symbol: &str) -> Option<(&'static str, u32)> {
    if symbol == profile.core_symbol.json_name() {
        Some((NAI_CORE, u32::from(profile.core_symbol.precision())))
    } else if symbol == dollar_symbol(profile) {
        Some((NAI_DOLLAR, 3))
    } else if symbol == "VESTS" {
        Some((NAI_VESTS, 6))
    } else {
        None
    }
}

/// The legacy symbol name of a NAI on `profile`.
fn symbol_of(profile: &ChainProfile, nai: &str) -> Option<String> {
    match nai {
        NAI_CORE => Some(profile.core_symbol.json_name().to_owned()),
        NAI_DOLLAR => Some(dollar_symbol(profile).to_owned()),
        NAI_VESTS => Some("VESTS".to_owned()),
        _ => None,
    }
}

/// The appbase object of a legacy asset string (`"0.100 STEEM"` →
/// `{"amount":"100","precision":3,"nai":"@@000000021"}`). A string that is not an asset of the
/// chain is returned unchanged (only a lying node's fault value can be one).
pub fn asset_to_nai(profile: &ChainProfile, legacy: &str) -> Value {
    parse_legacy(profile, legacy)
        .map(|(amount, precision, nai)| {
            json!({"amount": amount.to_string(), "precision": precision, "nai": nai})
        })
        .unwrap_or_else(|| json!(legacy))
}

/// `(satoshis, precision, nai)` of a legacy asset string whose decimals match the symbol.
fn parse_legacy(profile: &ChainProfile, legacy: &str) -> Option<(u64, u32, &'static str)> {
    let (number, symbol) = legacy.split_once(' ')?;
    let (nai, precision) = nai_of(profile, symbol)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.len() != usize::try_from(precision).ok()? {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let amount = digits.parse::<u64>().ok()?;
    Some((amount, precision, nai))
}

/// A legacy asset string of `satoshis` of `nai` on `profile` (`None` for an unknown NAI).
pub fn legacy_asset(profile: &ChainProfile, satoshis: u64, nai: &str) -> Option<String> {
    let symbol = symbol_of(profile, nai)?;
    let precision = nai_of(profile, &symbol).map_or(3, |(_, p)| p);
    let scale = 10u64.pow(precision);
    Some(if precision == 0 {
        format!("{satoshis} {symbol}")
    } else {
        format!(
            "{}.{:0width$} {symbol}",
            satoshis / scale,
            satoshis % scale,
            width = usize::try_from(precision).unwrap_or(3)
        )
    })
}

/// A transaction in legacy JSON turned into the appbase form: operations become
/// `{"type", "value"}`, every asset string an object.
pub fn tx_to_appbase(profile: &ChainProfile, legacy: &Value) -> Value {
    let mut out = legacy.clone();
    if let Some(ops) = out.get_mut("operations").and_then(Value::as_array_mut) {
        for op in ops.iter_mut() {
            *op = op_to_appbase(profile, op);
        }
    }
    out
}

/// One legacy operation `["witness_update", {…}]` in the appbase form.
pub fn op_to_appbase(profile: &ChainProfile, op: &Value) -> Value {
    match op.as_array().map(Vec::as_slice) {
        Some([Value::String(name), body]) => {
            json!({"type": format!("{name}_operation"), "value": assets_to_nai(profile, body)})
        }
        _ => op.clone(),
    }
}

/// Every member that holds a legacy asset string, turned into the appbase object.
fn assets_to_nai(profile: &ChainProfile, value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), assets_to_nai(profile, v)))
                .collect(),
        ),
        Value::String(s) if parse_legacy(profile, s).is_some() => asset_to_nai(profile, s),
        other => other.clone(),
    }
}

/// An appbase transaction turned into legacy JSON for the node's parser, failing as the
/// generation's `from_variant` does: an operation that is not an object (a legacy
/// `["name", {…}]` pair) or an asset that is not an object.
pub fn tx_from_appbase(
    generation: Gen,
    profile: &ChainProfile,
    value: &Value,
) -> Result<Value, FcError> {
    let Some(tx) = value.as_object() else {
        return Err(not_object(generation, value));
    };
    let mut out = tx.clone();
    if let Some(ops) = tx.get("operations").and_then(Value::as_array) {
        let converted = ops
            .iter()
            .map(|op| op_from_appbase(generation, profile, op))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert("operations".into(), Value::Array(converted));
    }
    Ok(Value::Object(out))
}

fn op_from_appbase(generation: Gen, profile: &ChainProfile, op: &Value) -> Result<Value, FcError> {
    let Some(map) = op.as_object() else {
        return Err(match generation {
            // hived 1.28.3 fc static_variant.hpp:480
            Gen::Hive => FcError::bad_cast_at(
                ("static_variant.hpp", 480, "from_variant"),
                "Input data have to treated as object.",
                Vec::new(),
            ),
            // steemd master fc static_variant.hpp:404
            Gen::S19 | Gen::Steem => FcError::fc_assert(
                generation,
                "v.is_object()",
                ("static_variant.hpp", 404, "from_variant"),
                "Input data have to treated as object.",
                Vec::new(),
            ),
        });
    };
    let type_name = map.get("type").and_then(Value::as_str).unwrap_or_default();
    let name = type_name.strip_suffix("_operation").unwrap_or(type_name);
    let body = map.get("value").cloned().unwrap_or_else(|| json!({}));
    Ok(json!([name, assets_from_nai(generation, profile, &body)?]))
}

/// The members that are assets in `witness_update`, back to legacy strings.
fn assets_from_nai(
    generation: Gen,
    profile: &ChainProfile,
    body: &Value,
) -> Result<Value, FcError> {
    let mut out = body.clone();
    if let Some(fee) = body.get("fee") {
        out["fee"] = json!(asset_from_nai(generation, profile, fee)?);
    }
    if let Some(fee) = body.pointer("/props/account_creation_fee") {
        out["props"]["account_creation_fee"] = json!(asset_from_nai(generation, profile, fee)?);
    }
    Ok(out)
}

/// One appbase asset object as a legacy string.
fn asset_from_nai(
    generation: Gen,
    profile: &ChainProfile,
    value: &Value,
) -> Result<String, FcError> {
    let Some(map) = value.as_object() else {
        return Err(match generation {
            // hived 1.28.3 asset.cpp:572, captured at :588
            Gen::Hive => FcError::fc_assert(
                generation,
                "var.is_object() && \"Asset has to be treated as object.\"",
                ("asset.cpp", 572, "from_variant"),
                "",
                Vec::new(),
            )
            .with(Frame::capture(
                ("asset.cpp", 588, "from_variant"),
                Vec::new(),
            )),
            // steemd master asset.cpp:341, captured at :357
            Gen::S19 | Gen::Steem => FcError::fc_assert(
                generation,
                "var.is_object()",
                ("asset.cpp", 341, "from_variant"),
                "Asset has to be treated as object.",
                Vec::new(),
            )
            .with(Frame::capture(
                ("asset.cpp", 357, "from_variant"),
                Vec::new(),
            )),
        });
    };
    let amount = map
        .get("amount")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok());
    let nai = map.get("nai").and_then(Value::as_str).unwrap_or_default();
    amount
        .and_then(|a| legacy_asset(profile, a, nai))
        .ok_or_else(|| {
            FcError::assert(format!(
                "vwf-simchain: asset {} is not one of this chain's assets",
                Value::Object(map.clone())
            ))
        })
}

fn not_object(generation: Gen, value: &Value) -> FcError {
    let at = match generation {
        Gen::Hive => ("variant.cpp", 577, "get_object"),
        Gen::S19 | Gen::Steem => ("variant.cpp", 575, "get_object"),
    };
    FcError::bad_cast_at(
        at,
        "Invalid cast from type '${type}' to Object",
        data([("type", json!(type_name(value)))]),
    )
}

/// fc's name of a JSON value's variant type (`FC_REFLECT_ENUM( fc::variant::type_id, … )`).
/// JSON numbers parse as `int64_type`, or `uint64_type` above `i64::MAX`, or `double_type`.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null_type",
        Value::Bool(_) => "bool_type",
        Value::Number(n) if n.is_i64() => "int64_type",
        Value::Number(n) if n.is_u64() => "uint64_type",
        Value::Number(_) => "double_type",
        Value::String(_) => "string_type",
        Value::Array(_) => "array_type",
        Value::Object(_) => "object_type",
    }
}

/// A JSON object from ordered members (for results built field by field).
pub fn object(members: Vec<(&str, Value)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<_, _>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_convert_both_ways() {
        let steem = ChainProfile::steem();
        assert_eq!(
            asset_to_nai(&steem, "0.100 STEEM"),
            json!({"amount": "100", "precision": 3, "nai": "@@000000021"})
        );
        assert_eq!(
            asset_to_nai(&steem, "1.000000 VESTS"),
            json!({"amount": "1000000", "precision": 6, "nai": "@@000000037"})
        );
        assert_eq!(asset_to_nai(&steem, "0.1 STEEM"), json!("0.1 STEEM"));
        let hive = ChainProfile::hive();
        assert_eq!(
            legacy_asset(&hive, 1234, NAI_DOLLAR).as_deref(),
            Some("1.234 HBD")
        );
        assert_eq!(
            legacy_asset(&hive, 0, NAI_CORE).as_deref(),
            Some("0.000 HIVE")
        );
    }

    #[test]
    fn transactions_convert_both_ways() -> anyhow::Result<()> {
        let hive = ChainProfile::hive();
        let legacy = json!({"ref_block_num": 1, "ref_block_prefix": 2, "expiration": "2024-01-01T00:00:00",
            "operations": [["witness_update", {"owner": "a", "url": "u", "block_signing_key": "STM1",
                "props": {"account_creation_fee": "0.100 HIVE", "maximum_block_size": 131072, "hbd_interest_rate": 0},
                "fee": "0.000 HIVE"}]], "extensions": [], "signatures": []});
        let appbase = tx_to_appbase(&hive, &legacy);
        assert_eq!(appbase["operations"][0]["type"], "witness_update_operation");
        assert_eq!(appbase["operations"][0]["value"]["fee"]["nai"], NAI_CORE);
        assert_eq!(
            appbase["operations"][0]["value"]["props"]["account_creation_fee"]["amount"],
            "100"
        );
        assert_eq!(tx_from_appbase(Gen::Hive, &hive, &appbase)?, legacy);
        Ok(())
    }

    #[test]
    fn legacy_operations_are_refused_in_the_appbase_form() {
        let steem = ChainProfile::steem();
        let legacy = json!({"operations": [["witness_update", {}]]});
        let err = tx_from_appbase(Gen::Steem, &steem, &legacy).err();
        assert_eq!(
            err.map(|e| e.summary(Gen::Steem)).as_deref(),
            Some("Assert Exception:v.is_object(): Input data have to treated as object.")
        );
        let err = tx_from_appbase(Gen::Hive, &ChainProfile::hive(), &legacy).err();
        assert!(err.is_some_and(|e| e.code == 7 && !e.is_assert()));
    }
}
