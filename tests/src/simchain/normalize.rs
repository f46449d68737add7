//! Re-deriving a transaction from JSON the way fc does (SPEC §6.3).
//!
//! fc's reflected `from_variant` looks up each struct member by name: unknown keys are ignored
//! and missing members keep their C++ default. So a 3-field props object sent to a 2-field chain
//! is not a parse error: the extra key is dropped, the bytes differ from what was signed, and
//! the transaction fails authority. This module reproduces that, then hands the cleaned JSON to
//! `vwf_shared`'s strict parser.

use serde_json::{Map, Value, json};
use vwf_shared::{Asset, ChainProfile, PropsLayout, PublicKey, SignedTransaction};

use crate::simchain::fc_error::FcError;

/// `STEEMIT_DEFAULT_SBD_INTEREST_RATE`, the C++ default of the third props field.
const DEFAULT_INTEREST_RATE: u64 = 1000;
/// `STEEMIT_MIN_BLOCK_SIZE_LIMIT * 2`, the C++ default of `maximum_block_size`.
const DEFAULT_MAXIMUM_BLOCK_SIZE: u64 = 131_072;

/// A transaction as the node rebuilt it: the cleaned JSON and the parsed value.
#[derive(Clone, Debug)]
pub struct Rebuilt {
    /// The JSON with fc's defaults applied and unknown keys dropped.
    pub json: Value,
    /// The parsed transaction.
    pub signed: SignedTransaction,
}

/// Normalises `value` like fc, then parses it strictly.
pub fn rebuild(value: &Value, profile: &ChainProfile) -> Result<Rebuilt, FcError> {
    let tx = object(value)?;
    let mut out = Map::new();
    out.insert("ref_block_num".into(), integer(tx.get("ref_block_num"), 0));
    out.insert(
        "ref_block_prefix".into(),
        integer(tx.get("ref_block_prefix"), 0),
    );
    out.insert(
        "expiration".into(),
        tx.get("expiration")
            .cloned()
            .unwrap_or_else(|| json!("1970-01-01T00:00:00")),
    );
    let operations = match tx.get("operations") {
        None => Vec::new(),
        Some(Value::Array(ops)) => ops
            .iter()
            .map(|op| operation(op, profile))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(cast(other, "Array")),
    };
    out.insert("operations".into(), Value::Array(operations));
    out.insert(
        "extensions".into(),
        tx.get("extensions").cloned().unwrap_or_else(|| json!([])),
    );
    out.insert(
        "signatures".into(),
        tx.get("signatures").cloned().unwrap_or_else(|| json!([])),
    );
    let json = Value::Object(out);
    let signed = SignedTransaction::from_legacy_json(&json.to_string(), profile)
        .map_err(|e| FcError::assert(e.to_string()))?;
    Ok(Rebuilt { json, signed })
}

fn operation(op: &Value, profile: &ChainProfile) -> Result<Value, FcError> {
    let Some([name, body]) = op.as_array().map(Vec::as_slice) else {
        return Err(FcError::assert(
            "operation must be a [name, body] pair".to_owned(),
        ));
    };
    let is_witness_update = match name {
        Value::String(s) => s == "witness_update",
        Value::Number(n) => n.as_u64() == Some(u64::from(profile.witness_update_tag)),
        _ => false,
    };
    if !is_witness_update {
        return Err(FcError::assert(format!(
            "operation {name} is not simulated: vwf-simchain accepts only witness_update"
        )));
    }
    let body = object(body)?;
    let core = &profile.core_symbol;
    let zero_fee = Asset {
        amount: 0,
        symbol: core.clone(),
    };
    let mut out = Map::new();
    out.insert(
        "owner".into(),
        body.get("owner").cloned().unwrap_or(json!("")),
    );
    out.insert("url".into(), body.get("url").cloned().unwrap_or(json!("")));
    out.insert(
        "block_signing_key".into(),
        body.get("block_signing_key").cloned().unwrap_or_else(|| {
            json!(PublicKey::NULL.to_string_with_prefix(&profile.address_prefix))
        }),
    );
    let empty = Map::new();
    let props = match body.get("props") {
        None => &empty,
        Some(value) => object(value)?,
    };
    out.insert("props".into(), self::props(props, profile));
    out.insert(
        "fee".into(),
        body.get("fee")
            .cloned()
            .unwrap_or_else(|| json!(zero_fee.to_string())),
    );
    Ok(json!(["witness_update", Value::Object(out)]))
}

fn props(props: &Map<String, Value>, profile: &ChainProfile) -> Value {
    let minimum = Asset {
        amount: profile.min_account_creation_fee,
        symbol: profile.core_symbol.clone(),
    };
    let mut out = Map::new();
    out.insert(
        "account_creation_fee".into(),
        props
            .get("account_creation_fee")
            .cloned()
            .unwrap_or_else(|| json!(minimum.to_string())),
    );
    out.insert(
        "maximum_block_size".into(),
        integer(props.get("maximum_block_size"), DEFAULT_MAXIMUM_BLOCK_SIZE),
    );
    if let PropsLayout::WithInterestRate { field } = &profile.props_layout {
        out.insert(
            field.clone(),
            integer(props.get(field.as_str()), DEFAULT_INTEREST_RATE),
        );
    }
    Value::Object(out)
}

/// An integer member: fc also converts numeric strings; missing takes the default.
fn integer(value: Option<&Value>, default: u64) -> Value {
    match value {
        None => json!(default),
        Some(Value::String(s)) => s.parse::<u64>().map_or_else(|_| json!(s), |n| json!(n)),
        Some(other) => other.clone(),
    }
}

fn object(value: &Value) -> Result<&Map<String, Value>, FcError> {
    value.as_object().ok_or_else(|| cast(value, "Object"))
}

fn cast(value: &Value, to: &str) -> FcError {
    let from = match value {
        Value::Null => "null_type",
        Value::Bool(_) => "bool_type",
        Value::Number(_) => "int64_type",
        Value::String(_) => "string_type",
        Value::Array(_) => "array_type",
        Value::Object(_) => "object_type",
    };
    FcError::bad_cast(format!("Invalid cast from type '{from}' to {to}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX: &str = r#"{"ref_block_num":1,"ref_block_prefix":2,"expiration":"2024-01-01T00:01:00","operations":[["witness_update",{"owner":"vit-test-witness","url":"No website yet","block_signing_key":"VIT1111111111111111111111111111111114T1Anm","props":{"account_creation_fee":"0.100 VIT","maximum_block_size":131072,"sbd_interest_rate":0},"fee":"0.000 VIT"}]],"extensions":[],"signatures":[],"junk":true}"#;

    #[test]
    fn drops_unknown_keys_like_fc() {
        let value: Value = serde_json::from_str(TX).unwrap_or_default();
        let rebuilt = rebuild(&value, &ChainProfile::vit());
        assert!(rebuilt.is_ok(), "{rebuilt:?}");
        let props = rebuilt.map(|r| r.signed.transaction.operations[0].props.clone());
        assert_eq!(props.ok().and_then(|p| p.interest_rate), None);
    }

    #[test]
    fn fills_the_missing_interest_rate_with_the_cxx_default() {
        let text = TX
            .replace(",\"sbd_interest_rate\":0", "")
            .replace("VIT", "STEEM")
            .replace("STEEM111", "STM111");
        let value: Value = serde_json::from_str(&text).unwrap_or_default();
        let rebuilt = rebuild(&value, &ChainProfile::steem());
        let props = rebuilt.map(|r| r.signed.transaction.operations[0].props.clone());
        assert_eq!(props.ok().and_then(|p| p.interest_rate), Some(1000));
    }

    #[test]
    fn refuses_other_operations_and_non_objects() {
        let value: Value =
            serde_json::from_str(&TX.replace("witness_update", "transfer")).unwrap_or_default();
        let err = rebuild(&value, &ChainProfile::vit()).err();
        assert!(err.is_some_and(|e| e.message().contains("only witness_update")));
        let err = rebuild(&json!([1]), &ChainProfile::vit()).err();
        assert!(err.is_some_and(|e| e.message().contains("Invalid cast from type 'array_type'")));
    }
}
