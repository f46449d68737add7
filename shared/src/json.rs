//! The legacy (condenser) JSON form of a transaction (SPEC §6.1), both ways.
//!
//! The node never sees our bytes: it rebuilds them from this JSON, taking defaults for missing
//! fields and ignoring unknown ones (SPEC §6.3). So reading is strict (exact fields, exact asset
//! decimals, the profile's key prefix, no control characters) and writing emits every field in
//! declaration order, so that `parse(write(tx)) == tx` and the node derives the bytes we signed.
//!
//! `witness_set_properties` is written as steemd's and hived's condenser API write it: the
//! operation is the protocol struct itself (steemit/steem
//! `libraries/plugins/apis/condenser_api/include/steem/plugins/condenser_api/condenser_api_legacy_operations.hpp`:
//! `typedef witness_set_properties_operation legacy_witness_set_properties_operation;`), its
//! `flat_map<string, vector<char>>` props an array of `[name, value]` pairs in key order
//! (`libraries/fc/include/fc/container/flat.hpp` `to_variant`), each value the lowercase hex of
//! the packed bytes (`libraries/fc/src/variant.cpp` `to_variant( const std::vector<char>& )`).
//! beem 0.24.26 writes the same (`shared/tests/data/witness_set_properties.json`, `op_json`).

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::asset::Asset;
use crate::error::Error;
use crate::keys::PublicKey;
use crate::names::{check_account_name, check_no_control_characters};
use crate::operation::{
    ChainProperties, Operation, WITNESS_SET_PROPERTIES_KEYS, WitnessSetProperties, WitnessUpdate,
    witness_set_properties_keys,
};
use crate::profile::{ChainProfile, PropsLayout};
use crate::signature::Signature;
use crate::time::TimePointSec;
use crate::transaction::{SignedTransaction, Transaction};

/// The JSON name of `witness_update`.
const WITNESS_UPDATE: &str = "witness_update";
/// The JSON name of `witness_set_properties`.
const WITNESS_SET_PROPERTIES: &str = "witness_set_properties";

/// A transaction as read from JSON, before its fields are interpreted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransaction {
    ref_block_num: u16,
    ref_block_prefix: u32,
    expiration: String,
    operations: Vec<(Value, Value)>,
    extensions: Vec<Value>,
    #[serde(default)]
    signatures: Vec<String>,
}

/// The body of a `witness_update` as read from JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWitnessUpdate {
    owner: String,
    url: String,
    block_signing_key: String,
    props: Map<String, Value>,
    fee: String,
}

/// The body of a `witness_set_properties` as read from JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWitnessSetProperties {
    owner: String,
    props: Vec<(String, String)>,
    extensions: Vec<Value>,
}

impl SignedTransaction {
    /// Reads the legacy JSON form. `signatures` may be absent (an unsigned transaction).
    pub fn from_legacy_json(text: &str, profile: &ChainProfile) -> Result<Self, Error> {
        let raw: RawTransaction = serde_json::from_str(text).map_err(|e| Error::Json {
            reason: e.to_string(),
        })?;
        if !raw.extensions.is_empty() {
            return Err(Error::Json {
                reason: "extensions must be empty".into(),
            });
        }
        let expiration = TimePointSec::parse(&raw.expiration).map_err(|e| e.at("expiration"))?;
        let operations = raw
            .operations
            .into_iter()
            .enumerate()
            .map(|(i, (name, body))| {
                parse_operation(&name, body, profile).map_err(|e| e.at(format!("operations[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signatures = raw
            .signatures
            .iter()
            .enumerate()
            .map(|(i, hex)| {
                Signature::from_hex(hex).map_err(|e| Error::from(e).at(format!("signatures[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SignedTransaction {
            transaction: Transaction {
                ref_block_num: raw.ref_block_num,
                ref_block_prefix: raw.ref_block_prefix,
                expiration,
                operations,
            },
            signatures,
        })
    }

    /// Writes the legacy JSON form, compact, with `signatures` always present.
    pub fn to_legacy_json(&self, profile: &ChainProfile) -> String {
        let signatures: Vec<String> = self.signatures.iter().map(Signature::to_hex).collect();
        write_json(&self.transaction, Some(&signatures), profile)
    }
}

impl Transaction {
    /// Writes the legacy JSON form of the unsigned transaction (no `signatures` member).
    pub fn to_legacy_json(&self, profile: &ChainProfile) -> String {
        write_json(self, None, profile)
    }
}

fn parse_operation(name: &Value, body: Value, profile: &ChainProfile) -> Result<Operation, Error> {
    // steemd accepts the struct name without `_operation` or the numeric tag; an operation the
    // profile's chain does not have (no tag) matches neither.
    let is = |json_name: &str, tag: Option<u32>| match name {
        Value::String(s) => tag.is_some() && s == json_name,
        Value::Number(n) => tag.is_some_and(|t| n.as_u64() == Some(u64::from(t))),
        _ => false,
    };
    if is(WITNESS_UPDATE, Some(profile.witness_update_tag)) {
        return parse_witness_update(body, profile).map(Operation::WitnessUpdate);
    }
    if is(WITNESS_SET_PROPERTIES, profile.witness_set_properties_tag) {
        return parse_witness_set_properties(body).map(Operation::WitnessSetProperties);
    }
    if profile.witness_set_properties_tag.is_none()
        && (name.as_str() == Some(WITNESS_SET_PROPERTIES)
            || name.as_str() == Some("witness_set_properties_operation"))
    {
        return Err(WitnessSetProperties::not_on(profile));
    }
    Err(Error::UnsupportedOperation {
        name: name.to_string(),
    })
}

fn parse_witness_set_properties(body: Value) -> Result<WitnessSetProperties, Error> {
    let raw: RawWitnessSetProperties = serde_json::from_value(body).map_err(|e| Error::Json {
        reason: e.to_string(),
    })?;
    check_account_name(&raw.owner).map_err(|e| e.at("owner"))?;
    if !raw.extensions.is_empty() {
        return Err(Error::Json {
            reason: "extensions must be empty".into(),
        }
        .at("extensions"));
    }
    let props = raw
        .props
        .into_iter()
        .map(|(name, hex)| {
            let bytes = decode_lower_hex(&hex).map_err(|reason| Error::SetProperties {
                problem: format!("the {name:?} value {reason}"),
            })?;
            Ok((name, bytes))
        })
        .collect::<Result<Vec<_>, Error>>()
        .map_err(|e| e.at("props"))?;
    let (current_key, new_signing_key) =
        witness_set_properties_keys(&props).map_err(|e| e.at("props"))?;
    Ok(WitnessSetProperties {
        owner: raw.owner,
        current_key,
        new_signing_key,
    })
}

/// Lowercase hex, as fc writes a `vector<char>`; anything else is refused so that the text we
/// read is the text we would write.
fn decode_lower_hex(text: &str) -> Result<Vec<u8>, String> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("must be lowercase hex, as fc writes it".into());
    }
    hex::decode(text).map_err(|e| format!("is not hex: {e}"))
}

fn parse_witness_update(body: Value, profile: &ChainProfile) -> Result<WitnessUpdate, Error> {
    let raw: RawWitnessUpdate = serde_json::from_value(body).map_err(|e| Error::Json {
        reason: e.to_string(),
    })?;
    check_account_name(&raw.owner).map_err(|e| e.at("owner"))?;
    check_no_control_characters(&raw.url).map_err(|e| e.at("url"))?;
    let block_signing_key = PublicKey::parse(&raw.block_signing_key, &profile.address_prefix)
        .map_err(|e| Error::from(e).at("block_signing_key"))?;
    let props = parse_props(raw.props, profile).map_err(|e| e.at("props"))?;
    let fee = Asset::parse(&raw.fee, &profile.core_symbol).map_err(|e| e.at("fee"))?;
    Ok(WitnessUpdate {
        owner: raw.owner,
        url: raw.url,
        block_signing_key,
        props,
        fee,
    })
}

fn parse_props(
    mut props: Map<String, Value>,
    profile: &ChainProfile,
) -> Result<ChainProperties, Error> {
    let expected = profile.props_layout.field_names();
    let layout_error = |problem: String| Error::PropsLayout {
        expected: expected.join(", "),
        problem,
    };
    if let Some(extra) = props.keys().find(|k| !expected.contains(&k.as_str())) {
        return Err(layout_error(format!(
            "{extra} is not a field of the {} profile's layout",
            profile.name
        )));
    }
    if let Some(missing) = expected.iter().find(|k| !props.contains_key(**k)) {
        return Err(layout_error(format!("{missing} is missing")));
    }
    let fee = match props.remove("account_creation_fee") {
        Some(Value::String(text)) => Asset::parse(&text, &profile.core_symbol),
        _ => Err(Error::Json {
            reason: "must be an asset string like \"0.100 VIT\"".into(),
        }),
    }
    .map_err(|e| e.at("account_creation_fee"))?;
    let maximum_block_size = integer::<u32>(props.remove("maximum_block_size"))
        .map_err(|e| e.at("maximum_block_size"))?;
    let interest_rate = match &profile.props_layout {
        PropsLayout::TwoFields => None,
        PropsLayout::WithInterestRate { field } => {
            Some(integer::<u16>(props.remove(field.as_str())).map_err(|e| e.at(field.clone()))?)
        }
    };
    Ok(ChainProperties {
        account_creation_fee: fee,
        maximum_block_size,
        interest_rate,
    })
}

/// A JSON number that fits `T`; legacy JSON writes these fields as numbers.
fn integer<T: TryFrom<u64>>(value: Option<Value>) -> Result<T, Error> {
    value
        .as_ref()
        .and_then(Value::as_u64)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| Error::Json {
            reason: format!(
                "must be a non-negative integer below {}",
                std::any::type_name::<T>()
            ),
        })
}

/// The shape written out; field order is declaration order, as fc writes it.
#[derive(Serialize)]
struct OutTransaction<'a> {
    ref_block_num: u16,
    ref_block_prefix: u32,
    expiration: String,
    operations: Vec<(&'static str, OutOperation<'a>)>,
    extensions: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    signatures: Option<&'a [String]>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum OutOperation<'a> {
    WitnessUpdate(OutWitnessUpdate<'a>),
    WitnessSetProperties(OutWitnessSetProperties<'a>),
}

/// `props` as fc writes a `flat_map<string, vector<char>>`: `[name, hex]` pairs in key order.
#[derive(Serialize)]
struct OutWitnessSetProperties<'a> {
    owner: &'a str,
    props: [(&'static str, String); 2],
    extensions: [(); 0],
}

#[derive(Serialize)]
struct OutWitnessUpdate<'a> {
    owner: &'a str,
    url: &'a str,
    block_signing_key: String,
    props: OutProps<'a>,
    fee: String,
}

struct OutProps<'a> {
    props: &'a ChainProperties,
    layout: &'a PropsLayout,
}

impl Serialize for OutProps<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(
            "account_creation_fee",
            &self.props.account_creation_fee.to_string(),
        )?;
        map.serialize_entry("maximum_block_size", &self.props.maximum_block_size)?;
        if let (PropsLayout::WithInterestRate { field }, Some(rate)) =
            (self.layout, self.props.interest_rate)
        {
            map.serialize_entry(field, &rate)?;
        }
        map.end()
    }
}

fn out_operation<'a>(op: &'a Operation, profile: &'a ChainProfile) -> OutOperation<'a> {
    match op {
        Operation::WitnessUpdate(op) => OutOperation::WitnessUpdate(OutWitnessUpdate {
            owner: &op.owner,
            url: &op.url,
            block_signing_key: op
                .block_signing_key
                .to_string_with_prefix(&profile.address_prefix),
            props: OutProps {
                props: &op.props,
                layout: &profile.props_layout,
            },
            fee: op.fee.to_string(),
        }),
        Operation::WitnessSetProperties(op) => {
            let [key, new_signing_key] = WITNESS_SET_PROPERTIES_KEYS;
            OutOperation::WitnessSetProperties(OutWitnessSetProperties {
                owner: &op.owner,
                props: [
                    (key, hex::encode(op.current_key.as_bytes())),
                    (new_signing_key, hex::encode(op.new_signing_key.as_bytes())),
                ],
                extensions: [],
            })
        }
    }
}

fn write_json(tx: &Transaction, signatures: Option<&[String]>, profile: &ChainProfile) -> String {
    let out = OutTransaction {
        ref_block_num: tx.ref_block_num,
        ref_block_prefix: tx.ref_block_prefix,
        expiration: tx.expiration.to_string(),
        operations: tx
            .operations
            .iter()
            .map(|op| (op.json_name(), out_operation(op, profile)))
            .collect(),
        extensions: [],
        signatures,
    };
    // Serializing plain strings, integers and maps with string keys cannot fail.
    serde_json::to_string(&out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::AssetSymbol;
    use proptest::prelude::*;

    const UNSIGNED: &str = r#"{"ref_block_num":12345,"ref_block_prefix":3367577216,"expiration":"2024-01-01T00:01:00","operations":[["witness_update",{"owner":"vit-test-witness","url":"No website yet","block_signing_key":"VIT1111111111111111111111111111111114T1Anm","props":{"account_creation_fee":"0.100 VIT","maximum_block_size":131072},"fee":"0.000 VIT"}]],"extensions":[]}"#;

    fn parse(text: &str) -> Result<SignedTransaction, Error> {
        SignedTransaction::from_legacy_json(text, &ChainProfile::vit())
    }

    #[test]
    fn unsigned_json_round_trips_to_the_same_text() {
        let tx = parse(UNSIGNED).map(|s| s.transaction.to_legacy_json(&ChainProfile::vit()));
        assert_eq!(tx.ok().as_deref(), Some(UNSIGNED));
    }

    #[test]
    fn numeric_operation_tag_is_accepted() {
        let text = UNSIGNED.replace(r#"["witness_update","#, "[11,");
        assert_eq!(parse(&text).ok(), parse(UNSIGNED).ok());
    }

    #[test]
    fn refuses_what_would_change_bytes_on_the_node() {
        let cases = [
            (
                UNSIGNED.replace("0.100 VIT", "0.1 VIT"),
                "exactly 3 decimals",
            ),
            (
                UNSIGNED.replace(r#""fee":"0.000 VIT""#, r#""fee":"0.000 STEEM""#),
                "symbol must be VIT",
            ),
            (UNSIGNED.replace("VIT1111", "STM1111"), "prefix 'VIT'"),
            (
                UNSIGNED.replace(",\"maximum_block_size\":131072", ""),
                "maximum_block_size is missing",
            ),
            (
                UNSIGNED.replace("131072", "131072,\"sbd_interest_rate\":0"),
                "sbd_interest_rate is not a field",
            ),
            (
                UNSIGNED.replace("No website yet", "No\\bwebsite"),
                "control character U+0008",
            ),
            (
                UNSIGNED.replace("vit-test-witness", "Vit"),
                "invalid account name",
            ),
            (
                UNSIGNED.replace(r#""extensions":[]"#, r#""extensions":[1]"#),
                "extensions must be empty",
            ),
            (
                UNSIGNED.replace(r#""extensions":[]"#, r#""extensions":[],"x":1"#),
                "unknown field `x`",
            ),
            (
                UNSIGNED.replace("witness_update", "transfer"),
                "unsupported operation \"transfer\"",
            ),
            (
                UNSIGNED.replace("2024-01-01T00:01:00", "2024-01-01T00:01:00Z"),
                "expiration: invalid time",
            ),
            (
                UNSIGNED.replace("12345", "70000"),
                "invalid transaction JSON",
            ),
            (
                UNSIGNED.replace("131072", "\"131072\""),
                "operations[0].props.maximum_block_size: invalid transaction JSON",
            ),
            (
                UNSIGNED.replace(
                    r#""extensions":[]"#,
                    r#""extensions":[],"signatures":["00"]"#,
                ),
                "signatures[0]: signature must be 65 bytes",
            ),
        ];
        for (text, expected) in cases {
            let message = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
    }

    fn arb_transaction() -> impl Strategy<Value = Transaction> {
        let symbol = AssetSymbol::new("VIT", "VIT", 3);
        (
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            "[a-z][a-z0-9-]{1,13}[a-z0-9]",
            "[^\u{0}-\u{1f}\u{7f}]{1,300}",
            prop::option::of(prop::array::uniform32(1u8..0xfe)),
            0i64..=i64::MAX,
            any::<u32>(),
            0i64..1_000_000,
        )
            .prop_map(
                move |(num, prefix, exp, owner, url, key_seed, fee, size, op_fee)| {
                    let block_signing_key = key_seed
                        .and_then(|seed| {
                            crate::PrivateKey::from_secret(secrecy::SecretBox::new(Box::new(seed)))
                                .ok()
                        })
                        .map_or(PublicKey::NULL, |k| k.public_key());
                    Transaction {
                        ref_block_num: num,
                        ref_block_prefix: prefix,
                        expiration: TimePointSec(exp),
                        operations: vec![Operation::WitnessUpdate(WitnessUpdate {
                            owner,
                            url,
                            block_signing_key,
                            props: ChainProperties {
                                account_creation_fee: Asset {
                                    amount: fee,
                                    symbol: symbol.clone(),
                                },
                                maximum_block_size: size,
                                interest_rate: None,
                            },
                            fee: Asset {
                                amount: op_fee,
                                symbol: symbol.clone(),
                            },
                        })],
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn json_round_trips(tx in arb_transaction(), sigs in prop::collection::vec(prop::array::uniform32(any::<u8>()), 0..3)) {
            let profile = ChainProfile::vit();
            let signatures = sigs.iter().map(|half| {
                let mut bytes = [0x1fu8; 65];
                bytes[1..33].copy_from_slice(half);
                Signature(bytes)
            }).collect();
            let signed = SignedTransaction { transaction: tx.clone(), signatures };
            let text = signed.to_legacy_json(&profile);
            prop_assert_eq!(parse(&text).ok(), Some(signed));
            let unsigned = tx.to_legacy_json(&profile);
            prop_assert_eq!(parse(&unsigned).ok().map(|s| s.transaction), Some(tx));
        }

        #[test]
        fn parse_never_panics_on_arbitrary_text(text in ".{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_never_panics_on_mutated_json(position in 0usize..400, byte in any::<u8>()) {
            let mut bytes = UNSIGNED.as_bytes().to_vec();
            let at = position % bytes.len();
            bytes[at] = byte;
            if let Ok(text) = String::from_utf8(bytes) {
                let _ = parse(&text);
            }
        }
    }
}
