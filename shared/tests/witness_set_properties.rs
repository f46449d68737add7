//! `witness_set_properties` against the reference vectors made with beem 0.24.26 and
//! cross-checked byte for byte with @hiveio/dhive 1.3.6 (`data/witness_set_properties.json`,
//! made by `tests/outside/vectors/`): the operation's bytes, the transaction framing around it,
//! the digest and id of beem's bytes, and beem's signature recovering the current signing key.

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use vwf_shared::{ChainProfile, Digest, ProfileName, PublicKey, Signature, WitnessSetProperties};

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/witness_set_properties.json")).unwrap_or(Value::Null)
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} missing"))
}

fn cases() -> Vec<Value> {
    let cases = vectors()["cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), 4, "two STEEM and two HIVE cases");
    cases
}

fn operation(case: &Value, profile: &ChainProfile) -> WitnessSetProperties {
    let key = |field| {
        PublicKey::parse(text(case, field), &profile.address_prefix)
            .unwrap_or_else(|e| panic!("{field}: {e}"))
    };
    WitnessSetProperties {
        owner: text(case, "owner").to_owned(),
        current_key: key("current_key"),
        new_signing_key: key("new_signing_key"),
    }
}

fn profile(case: &Value) -> ChainProfile {
    let name: ProfileName = text(case, "profile")
        .parse()
        .unwrap_or_else(|e| panic!("profile: {e}"));
    ChainProfile::builtin(name)
}

#[test]
fn the_operation_serializes_to_beems_and_dhives_bytes() {
    for case in cases() {
        let profile = profile(&case);
        let op = operation(&case, &profile);
        assert!(op.validate(&profile).is_ok(), "{}", text(&case, "name"));
        let mut out = Vec::new();
        op.write_to(&mut out, &profile)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            hex::encode(&out),
            text(&case, "op_hex"),
            "{}",
            text(&case, "name")
        );
    }
}

#[test]
fn the_transaction_frames_the_operation_and_beems_signature_recovers_the_current_key() {
    let header = &vectors()["common_tx_header"];
    for case in cases() {
        let name = text(&case, "name");
        let profile = profile(&case);
        let unsigned = hex::decode(text(&case, "unsigned_tx_hex")).unwrap_or_default();
        // ref_block_num, ref_block_prefix, expiration, one operation, ..., no extensions.
        let mut framed = Vec::new();
        let num = header["ref_block_num"].as_u64().unwrap_or_default();
        let prefix = header["ref_block_prefix"].as_u64().unwrap_or_default();
        framed.extend_from_slice(&u16::try_from(num).unwrap_or_default().to_le_bytes());
        framed.extend_from_slice(&u32::try_from(prefix).unwrap_or_default().to_le_bytes());
        let expiration = vwf_shared::TimePointSec::parse(text(header, "expiration"))
            .unwrap_or_else(|e| panic!("expiration: {e}"));
        framed.extend_from_slice(&expiration.0.to_le_bytes());
        framed.push(1);
        framed.extend(hex::decode(text(&case, "op_hex")).unwrap_or_default());
        framed.push(0);
        assert_eq!(framed, unsigned, "{name}");

        let digest = Digest::sha256(&[&profile.chain_id.0, &unsigned]);
        assert_eq!(hex::encode(digest.0), text(&case, "digest_hex"), "{name}");
        let id = hex::encode(Sha256::digest(&unsigned));
        assert_eq!(&id[..40], text(&case, "tx_id"), "{name}");
        let signature = Signature::from_hex(text(&case, "beem_signature"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let recovered = signature
            .recover(&digest)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            recovered.to_string_with_prefix(&profile.address_prefix),
            text(&case, "signer"),
            "{name}"
        );
        assert_eq!(text(&case, "signer"), text(&case, "current_key"), "{name}");
    }
}

#[test]
fn vit_has_no_such_operation_and_the_null_key_cannot_authorize_it() {
    let case = &cases()[0];
    let steem = profile(case);
    let op = operation(case, &steem);
    let vit = ChainProfile::vit();
    let refused = op.validate(&vit).map_err(|e| e.to_string());
    assert!(
        matches!(&refused, Err(e) if e.contains("does not exist on VIT")),
        "{refused:?}"
    );
    let mut out = Vec::new();
    assert!(op.write_to(&mut out, &vit).is_err());
    assert!(
        out.is_empty(),
        "nothing written for a chain without the operation"
    );

    let disabled = WitnessSetProperties {
        current_key: PublicKey::from_bytes([0; 33]).unwrap_or_else(|e| panic!("{e}")),
        ..op
    };
    let refused = disabled.validate(&steem).map_err(|e| e.to_string());
    assert!(
        matches!(&refused, Err(e) if e.contains("witness_update and the active key")),
        "{refused:?}"
    );
}
