//! Every entry of the reference vectors (made with beem, dhive and dsteem) reproduced by the
//! chain model: keys, the null key, negative key formats, TaPoS, the seven transactions byte for
//! byte, the deterministic signatures bit for bit, the recorded beem and fc signatures by
//! recovery, the invalid signatures refused for the documented reason, and the 3-field VIT
//! alternative.

use secrecy::SecretBox;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use vwf_shared::{
    BlockId, ChainProfile, Digest, PrivateKey, ProfileName, PropsLayout, PublicKey, Signature,
    SignedTransaction, Tapos,
};

fn vectors() -> Value {
    let text = include_str!("data/vectors.json");
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} missing"))
}

fn profile_of(tx: &Value) -> ChainProfile {
    let name: ProfileName = str_at(tx, "profile").parse().unwrap_or(ProfileName::Vit);
    ChainProfile::builtin(name)
}

#[test]
fn vectors_file_is_present_and_complete() {
    let v = vectors();
    assert_eq!(v["transactions"].as_array().map(Vec::len), Some(7));
    assert_eq!(v["keys"].as_array().map(Vec::len), Some(5));
    assert_eq!(v["key_format_negative"].as_array().map(Vec::len), Some(6));
    assert_eq!(v["invalid_signatures"].as_array().map(Vec::len), Some(5));
}

#[test]
fn builtin_profiles_match_the_vectors() {
    let v = vectors();
    for name in ProfileName::ALL {
        let expected = &v["profiles"][name.as_str()];
        let profile = ChainProfile::builtin(name);
        assert_eq!(
            profile.chain_id.to_string(),
            str_at(expected, "chain_id"),
            "{name}"
        );
        assert_eq!(profile.address_prefix, str_at(expected, "address_prefix"));
        assert_eq!(
            profile.core_symbol.json_name(),
            str_at(expected, "core_symbol")
        );
        assert_eq!(
            profile.core_symbol.wire_name(),
            str_at(expected, "core_symbol_binary")
        );
        assert_eq!(
            Some(u64::from(profile.core_symbol.precision())),
            expected["core_precision"].as_u64()
        );
        assert_eq!(
            Some(u64::from(profile.witness_update_tag)),
            expected["witness_update_op_id"].as_u64()
        );
        let fields: Vec<&str> = expected["props_fields"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(profile.props_layout.field_names(), fields, "{name}");
    }
}

#[test]
fn keys_decode_derive_and_format_as_recorded() {
    for key in vectors()["keys"].as_array().into_iter().flatten() {
        let wif = str_at(key, "wif");
        let private = PrivateKey::from_wif(wif).unwrap_or_else(|e| panic!("{wif}: {e}"));
        assert_eq!(private.to_wif().as_str(), wif);

        // The derivation rule reproduces the recorded secret, and that secret is the WIF's.
        let index = key["index"].as_u64().unwrap_or(99);
        let seed = format!("vit-test-witnessactiveTEST-ONLY-DO-NOT-USE-witness-signer-key-{index}");
        let secret: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
        assert_eq!(hex::encode(secret), str_at(key, "private_key_hex"));
        let derived = PrivateKey::from_secret(SecretBox::new(Box::new(secret)));
        assert_eq!(
            derived.map(|k| k.to_wif().to_string()).ok().as_deref(),
            Some(wif)
        );
        let decoded = bs58::decode(wif).into_vec().unwrap_or_default();
        assert_eq!(hex::encode(decoded), str_at(key, "wif_decoded_hex"));

        let public = private.public_key();
        assert_eq!(
            hex::encode(public.as_bytes()),
            str_at(key, "public_key_compressed_hex")
        );
        assert_eq!(
            public.to_string_with_prefix("VIT"),
            str_at(&key["pub"], "VIT")
        );
        assert_eq!(
            public.to_string_with_prefix("STM"),
            str_at(&key["pub"], "STM")
        );
        assert_eq!(
            PublicKey::parse(str_at(&key["pub"], "VIT"), "VIT"),
            Ok(public)
        );
        assert_eq!(
            PublicKey::parse(str_at(&key["pub"], "STM"), "STM"),
            Ok(public)
        );
        let body = str_at(&key["pub"], "VIT").trim_start_matches("VIT");
        let raw = bs58::decode(body).into_vec().unwrap_or_default();
        assert_eq!(
            hex::encode(&raw[33..]),
            str_at(key, "public_key_checksum_hex")
        );
    }
}

#[test]
fn null_key_is_33_zero_bytes_with_the_recorded_checksum() {
    let v = vectors();
    let null = &v["null_public_key"];
    assert_eq!(
        hex::encode(PublicKey::NULL.as_bytes()),
        str_at(null, "bytes_hex")
    );
    for prefix in ["VIT", "STM"] {
        assert_eq!(
            PublicKey::NULL.to_string_with_prefix(prefix),
            str_at(null, prefix)
        );
        let parsed = PublicKey::parse(str_at(null, prefix), prefix);
        assert_eq!(parsed, Ok(PublicKey::NULL));
        assert!(parsed.is_ok_and(|k| k.is_null()));
    }
    let body = bs58::decode(str_at(null, "base58_body"))
        .into_vec()
        .unwrap_or_default();
    assert_eq!(hex::encode(&body[33..]), str_at(null, "checksum_hex"));
}

#[test]
fn key_format_negatives_are_refused_with_the_strict_error() {
    for case in vectors()["key_format_negative"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let input = str_at(case, "input");
        let error = match str_at(case, "kind") {
            "wif" => PrivateKey::from_wif(input).err(),
            "public_key" => PublicKey::parse(input, str_at(case, "prefix")).err(),
            other => panic!("unknown kind {other}"),
        };
        let error = error.unwrap_or_else(|| panic!("{input} was accepted"));
        assert_eq!(
            error.to_string(),
            str_at(case, "strict_decoder_error"),
            "{input}"
        );
    }
}

#[test]
fn ref_block_example_gives_the_recorded_tapos() {
    let v = vectors();
    let example = &v["ref_block_example"];
    let id = BlockId::from_hex(str_at(example, "head_block_id")).unwrap_or(BlockId([0; 20]));
    assert_eq!(
        Some(u64::from(id.block_num())),
        example["head_block_number"].as_u64()
    );
    let tapos = Tapos::from_block_id(&id);
    assert_eq!(
        Some(u64::from(tapos.ref_block_num)),
        example["ref_block_num"].as_u64()
    );
    assert_eq!(
        Some(u64::from(tapos.ref_block_prefix)),
        example["ref_block_prefix"].as_u64()
    );
}

/// Checks one transaction vector end to end under `profile`.
fn check_transaction(tx: &Value, profile: &ChainProfile) {
    let name = str_at(tx, "name");
    let unsigned_json = tx["tx_json_legacy"].to_string();
    let parsed = SignedTransaction::from_legacy_json(&unsigned_json, profile)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(parsed.signatures.is_empty(), "{name}");
    let unsigned = parsed.transaction;

    // Bytes: op, props, whole transaction, and what get_transaction_hex returns.
    let op = &unsigned.operations[0];
    let mut op_bytes = Vec::new();
    op.write_to(&mut op_bytes, profile)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(hex::encode(&op_bytes), str_at(tx, "op_hex"), "{name} op");
    let mut props_bytes = Vec::new();
    op.as_witness_update()
        .unwrap_or_else(|| panic!("{name}: not a witness_update"))
        .props
        .write_to(&mut props_bytes, profile)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        hex::encode(&props_bytes),
        str_at(tx, "props_hex"),
        "{name} props"
    );
    let bytes = unsigned.to_bytes(profile).unwrap_or_default();
    assert_eq!(
        hex::encode(&bytes),
        str_at(tx, "serialized_tx_hex"),
        "{name} tx"
    );
    assert_eq!(Some(bytes.len() as u64), tx["serialized_tx_len"].as_u64());
    let no_signatures = SignedTransaction {
        transaction: unsigned.clone(),
        signatures: vec![],
    };
    assert_eq!(
        hex::encode(no_signatures.to_bytes(profile).unwrap_or_default()),
        str_at(tx, "get_transaction_hex_of_unsigned_tx")
    );

    // Digest and id.
    let digest = unsigned.digest(profile).unwrap_or(Digest([0; 32]));
    assert_eq!(
        digest.to_string(),
        str_at(tx, "digest_hex"),
        "{name} digest"
    );
    assert_eq!(
        unsigned.id(profile).ok().as_deref(),
        Some(str_at(tx, "tx_id")),
        "{name} id"
    );
    assert_eq!(profile.chain_id.to_string(), str_at(tx, "chain_id"));

    // JSON both ways: ours equals the recorded JSON as a value.
    let ours: Value = serde_json::from_str(&unsigned.to_legacy_json(profile)).unwrap_or_default();
    assert_eq!(ours, tx["tx_json_legacy"], "{name} unsigned json");

    // The deterministic signature, bit for bit, and the signed forms.
    let signer = &tx["signer"];
    let key = PrivateKey::from_wif(str_at(signer, "wif")).unwrap_or_else(|e| panic!("{e}"));
    let expected_key = PublicKey::parse(str_at(signer, "public_key"), &profile.address_prefix);
    assert_eq!(expected_key, Ok(key.public_key()));
    let signed = unsigned
        .clone()
        .sign(&key, profile)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        signed.signatures[0].to_hex(),
        str_at(&tx["signature_dhive_scheme"], "hex"),
        "{name} dhive-scheme signature"
    );
    let recid = u64::from(signed.signatures[0].0[0] - 31);
    assert_eq!(Some(recid), tx["signature_dhive_scheme"]["recid"].as_u64());
    assert_eq!(
        hex::encode(signed.to_bytes(profile).unwrap_or_default()),
        str_at(tx, "signed_tx_hex"),
        "{name} signed bytes"
    );
    let signed_json: Value =
        serde_json::from_str(&signed.to_legacy_json(profile)).unwrap_or_default();
    assert_eq!(
        signed_json, tx["signed_tx_json_legacy"],
        "{name} signed json"
    );
    let reparsed =
        SignedTransaction::from_legacy_json(&tx["signed_tx_json_legacy"].to_string(), profile);
    assert_eq!(
        reparsed.as_ref().ok(),
        Some(&signed),
        "{name} signed json parse"
    );
    assert_eq!(
        signed.signer_keys(profile).ok(),
        Some(vec![key.public_key()])
    );

    // The recorded beem and fc-scheme signatures verify by recovery.
    for (label, hex) in [
        ("beem", str_at(&tx["beem_signature"], "signature_hex")),
        ("fc", str_at(&tx["signature_fc_scheme"], "hex")),
    ] {
        let signature = Signature::from_hex(hex).unwrap_or(Signature([0; 65]));
        assert_eq!(
            signature.verify(&digest, &key.public_key()),
            Ok(()),
            "{name} {label} signature"
        );
    }
    let beem_recovers_to = str_at(&tx["beem_signature"], "recovers_to");
    assert_eq!(
        Ok(key.public_key()),
        PublicKey::parse(beem_recovers_to, &profile.address_prefix)
    );
    assert!(unsigned.validate(profile, None).is_ok(), "{name} validates");
}

#[test]
fn all_seven_transactions_reproduce_bytes_digest_id_json_and_signatures() {
    for tx in vectors()["transactions"].as_array().into_iter().flatten() {
        check_transaction(tx, &profile_of(tx));
    }
}

#[test]
fn invalid_signatures_are_refused_for_the_documented_reason() {
    for case in vectors()["invalid_signatures"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = str_at(case, "name");
        let signature = Signature::from_hex(str_at(case, "signature_hex"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut digest = [0u8; 32];
        hex::decode_to_slice(str_at(case, "digest_hex"), &mut digest).unwrap_or_default();
        let digest = Digest(digest);
        let expected =
            PublicKey::parse(str_at(case, "expected_public_key"), "VIT").unwrap_or(PublicKey::NULL);
        let error = signature
            .verify(&digest, &expected)
            .err()
            .unwrap_or_else(|| panic!("{name} verified"));
        assert!(
            error.to_string().starts_with(str_at(case, "reject_reason")),
            "{name}: {error}"
        );
        if let Some(recovers_to) = case["recovers_to"].as_str() {
            assert_eq!(
                signature
                    .recover(&digest)
                    .map(|k| k.to_string_with_prefix("VIT"))
                    .ok()
                    .as_deref(),
                Some(recovers_to),
                "{name}"
            );
        }
    }
}

#[test]
fn alternative_vit_layout_is_reproduced_with_three_props_fields() {
    let v = vectors();
    let alt = &v["alternative_vit_layout"];
    let profile = ChainProfile::vit().with_props_layout(PropsLayout::WithInterestRate {
        field: "sbd_interest_rate".into(),
    });
    let parsed = SignedTransaction::from_legacy_json(&alt["tx_json_legacy"].to_string(), &profile)
        .unwrap_or_else(|e| panic!("{e}"));
    let tx = parsed.transaction;
    assert_eq!(
        hex::encode(tx.to_bytes(&profile).unwrap_or_default()),
        str_at(alt, "serialized_tx_hex")
    );
    assert_eq!(
        tx.digest(&profile).map(|d| d.to_string()).ok().as_deref(),
        Some(str_at(alt, "digest_hex"))
    );
    let key = PrivateKey::from_wif(str_at(&v["keys"][0], "wif")).unwrap_or_else(|e| panic!("{e}"));
    let signed = tx.sign(&key, &profile).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        signed.signatures[0].to_hex(),
        str_at(alt, "signature_dhive_scheme_hex")
    );

    // The default VIT profile refuses the third field rather than ignoring it.
    let refused = SignedTransaction::from_legacy_json(
        &alt["tx_json_legacy"].to_string(),
        &ChainProfile::vit(),
    );
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("sbd_interest_rate is not a field"),
        "{message}"
    );
}
