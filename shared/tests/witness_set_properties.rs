//! `witness_set_properties` against the reference vectors made with beem 0.24.26 and
//! cross-checked byte for byte with @hiveio/dhive 1.3.6 (`data/witness_set_properties.json`,
//! made by `tests/outside/vectors/`): the operation's bytes, the transaction framing around it,
//! the digest and id of beem's bytes, and beem's signature recovering the current signing key;
//! the legacy JSON form both ways (beem's signed transactions parse to its bytes and write back
//! unchanged), its strict refusals, and a JSON ↔ struct ↔ bytes round trip.

use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use vwf_shared::{
    ChainProfile, Digest, Operation, PrivateKey, ProfileName, PublicKey, Signature,
    SignedTransaction, TimePointSec, Transaction, WitnessSetProperties,
};

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

/// The full signed transaction of a case in the legacy JSON form: the common header, beem's
/// `op_json` and beem's signature, compact and in declaration order as `to_legacy_json` writes it
/// (serde_json's `Value` would sort the members, so the text is put together here).
fn signed_json(case: &Value) -> String {
    let header = &vectors()["common_tx_header"];
    let op = &case["op_json"];
    let body = &op[1];
    let members: Vec<&String> = body
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        members,
        ["extensions", "owner", "props"],
        "beem's op has exactly these members"
    );
    assert_eq!(body["extensions"], serde_json::json!([]));
    format!(
        r#"{{"ref_block_num":{},"ref_block_prefix":{},"expiration":{},"operations":[[{},{{"owner":{},"props":{},"extensions":[]}}]],"extensions":[],"signatures":[{}]}}"#,
        header["ref_block_num"],
        header["ref_block_prefix"],
        header["expiration"],
        op[0],
        body["owner"],
        body["props"],
        case["beem_signature"],
    )
}

#[test]
fn beems_signed_transactions_parse_to_its_bytes_digest_id_and_signer_and_write_back_the_same() {
    for case in cases() {
        let name = text(&case, "name");
        let profile = profile(&case);
        let json = signed_json(&case);
        let signed = SignedTransaction::from_legacy_json(&json, &profile)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let tx = &signed.transaction;
        assert_eq!(
            tx.operations,
            vec![Operation::WitnessSetProperties(operation(&case, &profile))],
            "{name}"
        );
        let bytes = tx.to_bytes(&profile).unwrap_or_default();
        assert_eq!(hex::encode(bytes), text(&case, "unsigned_tx_hex"), "{name}");
        let digest = tx.digest(&profile).map(|d| hex::encode(d.0)).ok();
        assert_eq!(digest.as_deref(), Some(text(&case, "digest_hex")), "{name}");
        assert_eq!(tx.id(&profile).ok().as_deref(), Some(text(&case, "tx_id")));
        let signers = signed
            .signer_keys(&profile)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let signers: Vec<String> = signers
            .iter()
            .map(|k| k.to_string_with_prefix(&profile.address_prefix))
            .collect();
        assert_eq!(signers, vec![text(&case, "signer").to_owned()], "{name}");
        // Our writer gives beem's JSON back, byte for byte.
        assert_eq!(signed.to_legacy_json(&profile), json, "{name}");
        // The numeric tag reads the same.
        let numeric = json.replace("\"witness_set_properties\"", "42");
        let again = SignedTransaction::from_legacy_json(&numeric, &profile).ok();
        assert_eq!(again.as_ref(), Some(&signed), "{name}");
    }
}

#[test]
fn our_signature_recovers_the_current_key_and_the_active_key_is_not_it() {
    let case = &cases()[0];
    let profile = profile(case);
    let json = signed_json(case);
    let Ok(beem) = SignedTransaction::from_legacy_json(&json, &profile) else {
        panic!("beem's transaction parses");
    };
    // Test key 1 is the current signing key of the case.
    let key1 = PrivateKey::from_wif("5HxyXNrYEm4NW4PvZ8nZStGW455jQbK1Gj1X9e8Fri8qWdNpm8w")
        .unwrap_or_else(|e| panic!("{e}"));
    let ours = beem
        .transaction
        .clone()
        .sign(&key1, &profile)
        .unwrap_or_else(|e| panic!("{e}"));
    let signers = ours.signer_keys(&profile).unwrap_or_default();
    assert_eq!(
        signers
            .first()
            .map(|k| k.to_string_with_prefix(&profile.address_prefix)),
        Some(text(case, "current_key").to_owned())
    );
    // Signed by the active key (test key 0), it recovers a key the operation does not name.
    let active = PrivateKey::from_wif("5K5WrHCEqHdoiaWjbwBedbYnu9vA8BUPBMRsbkggk2FbhTsFVJP")
        .unwrap_or_else(|e| panic!("{e}"));
    let by_active = beem
        .transaction
        .clone()
        .sign(&active, &profile)
        .unwrap_or_else(|e| panic!("{e}"));
    let signers = by_active.signer_keys(&profile).unwrap_or_default();
    assert_eq!(signers, vec![active.public_key()]);
    assert_ne!(
        Some(&active.public_key()),
        beem.transaction
            .operations
            .first()
            .and_then(|op| op.as_witness_set_properties())
            .map(|op| &op.current_key)
    );
}

#[test]
fn parsing_refuses_anything_but_the_sorted_key_pair() {
    let case = &cases()[0];
    let profile = profile(case);
    let json = signed_json(case);
    let key1 = "0300ddc702fc6d201a3ed522f6c460130e4de4c815fffebfe1052039bf884830ca";
    let key2 = "03774a239f7ebf1ea9de65217ab122cf3105522b60e6c5d6cd0b2fa7f1b963c484";
    let pair = format!(r#"[["key","{key1}"],["new_signing_key","{key2}"]]"#);
    assert!(
        json.contains(&pair),
        "the vector's props are the sorted pair"
    );
    let with_props = |props: &str| json.replace(&pair, props);
    let cases = [
        (
            with_props(&format!(
                r#"[["new_signing_key","{key2}"],["key","{key1}"]]"#
            )),
            "props must be sorted by name",
        ),
        (
            with_props(&format!(r#"[["key","{key1}"],["key","{key1}"]]"#)),
            "duplicate prop \"key\"",
        ),
        (
            with_props(&format!(
                r#"[["key","{key1}"],["new_signing_key","{key2}"],["url","00"]]"#
            )),
            "\"url\" is a chain prop this product never sends",
        ),
        (
            with_props(&format!(
                r#"[["key","{key1}"],["new_signing_key","{key2}"],["zzz","00"]]"#
            )),
            "unknown prop \"zzz\"",
        ),
        (
            with_props(&format!(r#"[["key","{key1}"]]"#)),
            "the \"new_signing_key\" prop is missing",
        ),
        (
            with_props(&format!(r#"[["new_signing_key","{key2}"]]"#)),
            "the \"key\" prop is missing",
        ),
        (
            with_props(&format!(
                r#"[["key","{}"],["new_signing_key","{key2}"]]"#,
                &key1[2..]
            )),
            "must be a packed public key (33 bytes), not 32 bytes",
        ),
        (
            with_props(&format!(
                r#"[["key","{key1}"],["new_signing_key","{}"]]"#,
                key2.to_uppercase()
            )),
            "must be lowercase hex",
        ),
        (
            with_props(&format!(r#"[["key","{key1}"],["new_signing_key","zz"]]"#)),
            "is not hex",
        ),
        (
            with_props(&format!(r#"{{"key":"{key1}","new_signing_key":"{key2}"}}"#)),
            "invalid transaction JSON",
        ),
        (
            json.replace(r#""extensions":[]}]"#, r#""extensions":[1]}]"#),
            "extensions must be empty",
        ),
        (
            json.replace(
                r#""extensions":[]}]"#,
                r#""extensions":[],"fee":"0.000 STEEM"}]"#,
            ),
            "unknown field `fee`",
        ),
    ];
    for (text, expected) in cases {
        let message = SignedTransaction::from_legacy_json(&text, &profile)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
        assert!(message.starts_with("operations[0]"), "{message}");
    }
    // VIT has no such operation: by name it says so, by number it is just unknown.
    let vit = ChainProfile::vit();
    let on_vit = json.replace("STM", "VIT");
    let message = SignedTransaction::from_legacy_json(&on_vit, &vit)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("does not exist on VIT"), "{message}");
    let numeric = on_vit.replace("\"witness_set_properties\"", "42");
    let message = SignedTransaction::from_legacy_json(&numeric, &vit)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("unsupported operation 42"), "{message}");
}

/// A key from 32 seed bytes, or the null key when the seed is not a valid secret.
fn key_from(seed: [u8; 32]) -> PublicKey {
    PrivateKey::from_secret(secrecy::SecretBox::new(Box::new(seed)))
        .map_or(PublicKey::NULL, |k| k.public_key())
}

proptest! {
    /// JSON ↔ struct ↔ bytes: writing then reading gives the same transaction and the same
    /// bytes, and the bytes are the header, the operation's own bytes and no extensions.
    #[test]
    fn witness_set_properties_round_trips_json_struct_bytes(
        owner in "[a-z][a-z0-9-]{1,13}[a-z0-9]",
        current in proptest::array::uniform32(1u8..0xfe),
        new in proptest::option::of(proptest::array::uniform32(1u8..0xfe)),
        num in any::<u16>(),
        prefix in any::<u32>(),
        expiration in any::<u32>(),
        hive in any::<bool>(),
        sign in any::<bool>(),
    ) {
        let profile = if hive { ChainProfile::hive() } else { ChainProfile::steem() };
        let op = WitnessSetProperties {
            owner,
            current_key: key_from(current),
            new_signing_key: new.map_or(PublicKey::NULL, key_from),
        };
        let tx = Transaction {
            ref_block_num: num,
            ref_block_prefix: prefix,
            expiration: TimePointSec(expiration),
            operations: vec![Operation::from(op.clone())],
        };
        let signed = if sign {
            let key = PrivateKey::from_secret(secrecy::SecretBox::new(Box::new(current)));
            match key {
                Ok(key) => tx.clone().sign(&key, &profile).map_err(|e| TestCaseError::fail(e.to_string()))?,
                Err(_) => return Ok(()),
            }
        } else {
            SignedTransaction { transaction: tx.clone(), signatures: Vec::new() }
        };
        let text = signed.to_legacy_json(&profile);
        let parsed = SignedTransaction::from_legacy_json(&text, &profile)
            .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(&parsed, &signed);
        prop_assert_eq!(parsed.to_legacy_json(&profile), text);
        let bytes = parsed.transaction.to_bytes(&profile).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut expected = Vec::new();
        expected.extend_from_slice(&num.to_le_bytes());
        expected.extend_from_slice(&prefix.to_le_bytes());
        expected.extend_from_slice(&expiration.to_le_bytes());
        expected.push(1);
        op.write_to(&mut expected, &profile).map_err(|e| TestCaseError::fail(e.to_string()))?;
        expected.push(0);
        prop_assert_eq!(&bytes, &expected);
        if sign {
            let signers = parsed.signer_keys(&profile).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(signers, vec![op.current_key]);
        }
    }
}
