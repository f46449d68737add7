//! Re-deriving a transaction from JSON the way fc does (SPEC §6.3).
//!
//! fc's reflected `from_variant` looks up each struct member by name: unknown keys are ignored
//! and missing members keep their C++ default. So a 3-field props object sent to a 2-field chain
//! is not a parse error: the extra key is dropped, the bytes differ from what was signed, and
//! the transaction fails authority. This module reproduces that, then hands the cleaned JSON to
//! `vwf_shared`'s strict parser.
//!
//! `witness_set_properties` (Steem, Hive): fc reads the `flat_map<string, vector<char>>` props
//! by inserting `[name, hex]` pairs one by one, so the node sorts them by name and keeps the
//! first of duplicates (steemit/steem `libraries/fc/include/fc/container/flat.hpp`
//! `from_variant`); the bytes it checks signatures over are those of the sorted, de-duplicated
//! map. Props besides `key` and `new_signing_key`, which the shared model cannot hold, are kept
//! in [`Rebuilt::unsimulated`] with the bytes the node would derive, so that signatures are still
//! checked over the node's bytes. On VIT (steemd 0.19) the name is unknown: steemit/steem
//! v0.19.5 `libraries/protocol/include/steemit/protocol/operation_util_impl.hpp` (`from_variant`,
//! expanded at `libraries/protocol/operations.cpp:37`) asserts "Invalid operation name".

use serde_json::{Map, Value, json};
use vwf_shared::codec::{write_string, write_u16, write_u32, write_varint32};
use vwf_shared::operation::WITNESS_SET_PROPERTIES_KEYS;
use vwf_shared::{Asset, ChainProfile, Operation, PropsLayout, PublicKey, SignedTransaction};

use crate::simchain::fc_error::{FcError, Gen, data};

/// `STEEMIT_DEFAULT_SBD_INTEREST_RATE`, the C++ default of the third props field.
const DEFAULT_INTEREST_RATE: u64 = 1000;
/// `STEEMIT_MIN_BLOCK_SIZE_LIMIT * 2`, the C++ default of `maximum_block_size`.
const DEFAULT_MAXIMUM_BLOCK_SIZE: u64 = 131_072;

/// A transaction as the node rebuilt it: the cleaned JSON and the parsed value.
#[derive(Clone, Debug)]
pub struct Rebuilt {
    /// The JSON with fc's defaults applied and unknown keys dropped.
    pub json: Value,
    /// The parsed transaction. A `witness_set_properties` named in [`Rebuilt::unsimulated`]
    /// holds only its `key` (the null key when absent) and `new_signing_key` (`key` when absent).
    pub signed: SignedTransaction,
    /// Set when some `witness_set_properties` is not exactly `key` and `new_signing_key`.
    pub unsimulated: Option<Unsimulated>,
}

/// A transaction the node would read but the simulator cannot apply: props it does not model,
/// or a missing `key` (which the operation's `validate()` refuses).
#[derive(Clone, Debug)]
pub struct Unsimulated {
    /// The unsigned bytes the node derives from the JSON (all props): digest and id cover them.
    pub bytes: Vec<u8>,
    /// Owners of the operations that have no `key` prop.
    pub missing_key: Vec<String>,
    /// The props the simulator does not model, as `owner: names`.
    pub extra: Vec<String>,
}

/// One `witness_set_properties` as the node reads it: owner and the sorted, unique props.
struct WspProps {
    owner: String,
    props: Vec<(String, Vec<u8>)>,
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
    let mut wsp: Vec<Option<WspProps>> = Vec::new();
    let operations = match tx.get("operations") {
        None => Vec::new(),
        Some(Value::Array(ops)) => ops
            .iter()
            .map(|op| {
                let (json, props) = operation(op, profile)?;
                wsp.push(props);
                Ok(json)
            })
            .collect::<Result<_, FcError>>()?,
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
    // What the shared model can hold: per witness_set_properties only key and new_signing_key.
    let mut modelled = json.clone();
    let mut missing_key = Vec::new();
    let mut extra = Vec::new();
    if let Some(ops) = modelled.get_mut("operations").and_then(Value::as_array_mut) {
        for (op, props) in ops.iter_mut().zip(&wsp) {
            let Some(props) = props else { continue };
            let find = |name: &str| {
                props
                    .props
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| hex::encode(v))
            };
            let key = find("key");
            if key.is_none() {
                missing_key.push(props.owner.clone());
            }
            let mut names: Vec<&str> = props
                .props
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| !WITNESS_SET_PROPERTIES_KEYS.contains(n))
                .collect();
            let new = find("new_signing_key");
            if new.is_none() {
                names.push("(no new_signing_key)");
            }
            if !names.is_empty() {
                extra.push(format!("{}: {}", props.owner, names.join(", ")));
            }
            let key = key.unwrap_or_else(|| hex::encode(PublicKey::NULL.as_bytes()));
            let new = new.unwrap_or_else(|| key.clone());
            op[1]["props"] = json!([["key", key], ["new_signing_key", new]]);
        }
    }
    let signed = SignedTransaction::from_legacy_json(&modelled.to_string(), profile)
        .map_err(|e| FcError::assert(e.to_string()))?;
    let unsimulated = if missing_key.is_empty() && extra.is_empty() {
        None
    } else {
        Some(Unsimulated {
            bytes: node_bytes(&signed, &wsp, profile)?,
            missing_key,
            extra,
        })
    };
    Ok(Rebuilt {
        json,
        signed,
        unsimulated,
    })
}

/// The unsigned bytes the node derives when a `witness_set_properties` holds props the shared
/// model cannot: the shared serialization, with each such operation written from all its props.
fn node_bytes(
    signed: &SignedTransaction,
    wsp: &[Option<WspProps>],
    profile: &ChainProfile,
) -> Result<Vec<u8>, FcError> {
    let tx = &signed.transaction;
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    write_u16(&mut out, tx.ref_block_num);
    write_u32(&mut out, tx.ref_block_prefix);
    write_u32(&mut out, tx.expiration.0);
    write_varint32(&mut out, len(tx.operations.len()));
    for (op, props) in tx.operations.iter().zip(wsp) {
        match (op, props, profile.witness_set_properties_tag) {
            (Operation::WitnessSetProperties(_), Some(props), Some(tag)) => {
                write_varint32(&mut out, tag);
                write_string(&mut out, &props.owner);
                write_varint32(&mut out, len(props.props.len()));
                for (name, value) in &props.props {
                    write_string(&mut out, name);
                    write_varint32(&mut out, len(value.len()));
                    out.extend_from_slice(value);
                }
                write_varint32(&mut out, 0);
            }
            _ => op
                .write_to(&mut out, profile)
                .map_err(|e| FcError::assert(e.to_string()))?,
        }
    }
    write_varint32(&mut out, 0);
    Ok(out)
}

/// One operation as fc reads it, and for a `witness_set_properties` its props as the node holds
/// them.
fn operation(op: &Value, profile: &ChainProfile) -> Result<(Value, Option<WspProps>), FcError> {
    let Some([name, body]) = op.as_array().map(Vec::as_slice) else {
        return Err(FcError::assert(
            "operation must be a [name, body] pair".to_owned(),
        ));
    };
    let is = |json_name: &str, tag: Option<u32>| match name {
        Value::String(s) => tag.is_some() && s == json_name,
        Value::Number(n) => tag.is_some_and(|t| n.as_u64() == Some(u64::from(t))),
        _ => false,
    };
    if is("witness_update", Some(profile.witness_update_tag)) {
        return Ok((witness_update(body, profile)?, None));
    }
    if is("witness_set_properties", profile.witness_set_properties_tag) {
        let (json, props) = witness_set_properties(body)?;
        return Ok((json, Some(props)));
    }
    if profile.witness_set_properties_tag.is_none()
        && name.as_str() == Some("witness_set_properties")
    {
        // steemd 0.19: the operation variant has no such member.
        return Err(FcError::fc_assert(
            Gen::S19,
            "itr != to_tag.end()",
            ("operations.cpp", 37, "from_variant"),
            "Invalid operation name: ${n}",
            data([("n", name.clone())]),
        ));
    }
    Err(FcError::assert(format!(
        "operation {name} is not simulated: vwf-simchain accepts only witness_update and (Steem/Hive) witness_set_properties"
    )))
}

/// `witness_set_properties` as fc reads it: missing members default, unknown ones are dropped,
/// props are inserted into a `flat_map` (sorted by name, the first of duplicates kept).
fn witness_set_properties(body: &Value) -> Result<(Value, WspProps), FcError> {
    let body = object(body)?;
    let owner = body.get("owner").cloned().unwrap_or(json!(""));
    let mut props: Vec<(String, Vec<u8>)> = Vec::new();
    let mut texts: Vec<Value> = Vec::new();
    match body.get("props") {
        None => {}
        Some(Value::Array(entries)) => {
            for entry in entries {
                let Some([Value::String(name), Value::String(value)]) =
                    entry.as_array().map(Vec::as_slice)
                else {
                    return Err(FcError::assert(format!(
                        "vwf-simchain: a witness_set_properties prop must be a [name, hex] pair of strings, not {entry}"
                    )));
                };
                let bytes = hex::decode(value).map_err(|e| {
                    FcError::assert(format!("vwf-simchain: the {name:?} value is not hex: {e}"))
                })?;
                // fc's `to_hex` writes lowercase: the node's JSON of the value.
                let text = hex::encode(&bytes);
                if let Err(at) = props.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                    props.insert(at, (name.clone(), bytes));
                    texts.insert(at, json!([name, text]));
                }
            }
        }
        Some(other) => return Err(cast(other, "Array")),
    }
    let json = json!(["witness_set_properties", {
        "owner": owner,
        "props": texts,
        "extensions": body.get("extensions").cloned().unwrap_or_else(|| json!([])),
    }]);
    let owner = owner.as_str().unwrap_or_default().to_owned();
    Ok((json, WspProps { owner, props }))
}

fn witness_update(body: &Value, profile: &ChainProfile) -> Result<Value, FcError> {
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
        let props = rebuilt.map(|r| {
            r.signed.transaction.operations[0]
                .as_witness_update()
                .map(|op| op.props.clone())
        });
        assert_eq!(props.ok().flatten().and_then(|p| p.interest_rate), None);
    }

    #[test]
    fn fills_the_missing_interest_rate_with_the_cxx_default() {
        let text = TX
            .replace(",\"sbd_interest_rate\":0", "")
            .replace("VIT", "STEEM")
            .replace("STEEM111", "STM111");
        let value: Value = serde_json::from_str(&text).unwrap_or_default();
        let rebuilt = rebuild(&value, &ChainProfile::steem());
        let props = rebuilt.map(|r| {
            r.signed.transaction.operations[0]
                .as_witness_update()
                .map(|op| op.props.clone())
        });
        assert_eq!(
            props.ok().flatten().and_then(|p| p.interest_rate),
            Some(1000)
        );
    }

    #[test]
    fn refuses_other_operations_and_non_objects() {
        let value: Value =
            serde_json::from_str(&TX.replace("witness_update", "transfer")).unwrap_or_default();
        let err = rebuild(&value, &ChainProfile::vit()).err();
        assert!(err.is_some_and(|e| e.message().contains("accepts only witness_update")));
        let err = rebuild(&json!([1]), &ChainProfile::vit()).err();
        assert!(err.is_some_and(|e| e.message().contains("Invalid cast from type 'array_type'")));
    }

    const KEY1: &str = "0300ddc702fc6d201a3ed522f6c460130e4de4c815fffebfe1052039bf884830ca";
    const KEY2: &str = "03774a239f7ebf1ea9de65217ab122cf3105522b60e6c5d6cd0b2fa7f1b963c484";

    fn wsp(props: Value) -> Value {
        json!({"ref_block_num": 1, "ref_block_prefix": 2, "expiration": "2024-01-01T00:01:00",
            "operations": [["witness_set_properties", {"owner": "vit-test-witness", "props": props, "junk": 1}]],
            "extensions": [], "signatures": []})
    }

    #[test]
    fn witness_set_properties_props_are_sorted_and_the_first_duplicate_kept_like_fc() {
        let steem = ChainProfile::steem();
        let sorted = json!([["key", KEY1], ["new_signing_key", KEY2]]);
        let plain = rebuild(&wsp(sorted.clone()), &steem).ok();
        let reversed = json!([["new_signing_key", KEY2], ["key", KEY1.to_uppercase()]]);
        let rebuilt = rebuild(&wsp(reversed), &steem).ok();
        assert_eq!(
            rebuilt
                .as_ref()
                .map(|r| r.json["operations"][0][1]["props"].clone()),
            Some(sorted.clone())
        );
        assert_eq!(
            rebuilt.as_ref().map(|r| &r.signed),
            plain.as_ref().map(|r| &r.signed)
        );
        assert!(rebuilt.is_some_and(
            |r| r.unsimulated.is_none() && r.json["operations"][0][1].get("junk").is_none()
        ));
        let dup = json!([["key", KEY1], ["key", KEY2], ["new_signing_key", KEY2]]);
        let rebuilt = rebuild(&wsp(dup), &steem).ok();
        assert_eq!(
            rebuilt.map(|r| r.json["operations"][0][1]["props"].clone()),
            Some(sorted)
        );
        // Extra or missing props: kept with the node's bytes, flagged as not simulated.
        let extra = json!([["url", "00"], ["key", KEY1]]);
        let rebuilt = rebuild(&wsp(extra), &steem).ok();
        let unsimulated = rebuilt.and_then(|r| r.unsimulated);
        assert_eq!(
            unsimulated.as_ref().map(|u| u.extra.clone()),
            Some(vec![
                "vit-test-witness: url, (no new_signing_key)".to_owned()
            ])
        );
        assert!(unsimulated.is_some_and(|u| u.missing_key.is_empty()
            && hex::encode(&u.bytes).contains(&format!("02036b657921{KEY1}0375726c0100"))));
    }

    #[test]
    fn witness_set_properties_is_an_invalid_operation_name_on_vit() {
        let err = rebuild(&wsp(json!([])), &ChainProfile::vit()).err();
        assert!(err.is_some_and(|e| {
            e.summary(Gen::S19)
                .contains("itr != to_tag.end(): Invalid operation name: witness_set_properties")
        }));
    }
}
