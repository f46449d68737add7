//! End to end (issue #16): `witness_set_properties` signed by the witness's current signing key
//! is accepted by vwf-simchain on STEEM and HIVE and changes the key, in the legacy
//! (`condenser_api`) and the appbase (`network_broadcast_api`, `{type, value}`) forms; tampered
//! ones are refused with the chain's messages; VIT (steemd 0.19) does not know the operation.
//!
//! The signed transactions of `shared/tests/data/witness_set_properties.json` (beem 0.24.26) carry
//! a 2024 TaPoS reference and expiration no running chain accepts, so these are signed by
//! `vwf_shared` with the same test keys; `shared/tests/witness_set_properties.rs` shows that
//! `vwf_shared` gives beem's bytes, digest and JSON for the same header.
//!
//! What the node does with props (steemit/steem `libraries/fc/include/fc/container/flat.hpp`,
//! `from_variant`): it inserts the `[name, hex]` pairs into a `flat_map`, so it sorts them and
//! keeps the first of duplicates, and checks the signatures over the bytes of *that* map. So JSON
//! that merely lists the props of a correctly signed transaction out of order is accepted, while a
//! signature over unsorted bytes, a duplicate that changes the map, or an added prop fails the
//! `key` authority ("Missing Authority").

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use vwf_shared::codec::{write_string, write_u16, write_u32, write_varint32};
use vwf_shared::{
    ChainProfile, Digest, PrivateKey, PublicKey, Signature, SignedTransaction, Tapos, Transaction,
    WitnessSetProperties,
};
use vwf_tests::client::{error_message, post_json};
use vwf_tests::harness::SimChain;
use vwf_tests::simchain::forms::tx_to_appbase;
use vwf_tests::tx::{TEST_WIFS, head_of, sign, test_public_key, to_value};
use vwf_tests::wait::wait_until;

const BIN: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const OWNER: &str = "vit-test-witness";

async fn start(profile: &str) -> anyhow::Result<SimChain> {
    SimChain::spawn(BIN, &["--block-interval-ms", "100", "--profile", profile]).await
}

/// An unsigned `witness_set_properties` from test key `current` to `new` (`None`: the null key),
/// referencing the node's head.
async fn change(node: &str, current: usize, new: Option<usize>) -> anyhow::Result<Transaction> {
    let (head, time) = head_of(node).await?;
    let op = WitnessSetProperties {
        owner: OWNER.into(),
        current_key: test_public_key(current)?,
        new_signing_key: match new {
            Some(i) => test_public_key(i)?,
            None => PublicKey::NULL,
        },
    };
    Ok(Transaction::new(op, Tapos::from_block_id(&head), time, 60)?)
}

/// `condenser_api.broadcast_transaction` with the legacy form.
async fn broadcast_legacy(node: &str, tx: &Value) -> anyhow::Result<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "condenser_api.broadcast_transaction", "params": [tx]});
    Ok(post_json(node, &body).await?.1)
}

/// `network_broadcast_api.broadcast_transaction` with the appbase form.
async fn broadcast_appbase(
    node: &str,
    profile: &ChainProfile,
    tx: &Value,
) -> anyhow::Result<Value> {
    let trx = tx_to_appbase(profile, tx);
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "network_broadcast_api.broadcast_transaction",
        "params": {"trx": trx, "max_block_age": -1}});
    Ok(post_json(node, &body).await?.1)
}

async fn signing_key(node: &str) -> anyhow::Result<String> {
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "condenser_api.get_witness_by_account", "params": [OWNER]});
    let (_, answer) = post_json(node, &body).await?;
    Ok(answer["result"]["signing_key"]
        .as_str()
        .context("signing_key")?
        .to_owned())
}

async fn wait_for_key(node: &str, want: &str) -> anyhow::Result<()> {
    wait_until(
        "the new signing key on chain",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async { Ok((signing_key(node).await? == want).then_some(())) },
    )
    .await
}

/// Checks the answer is an error whose message holds every piece of `expected`.
fn refused(answer: &Value, expected: &[&str]) -> anyhow::Result<()> {
    let message = error_message(answer).with_context(|| format!("accepted: {answer}"))?;
    for piece in expected {
        anyhow::ensure!(message.contains(piece), "{piece:?} not in {message:?}");
    }
    Ok(())
}

fn key_hex(index: usize) -> anyhow::Result<String> {
    Ok(hex::encode(test_public_key(index)?.as_bytes()))
}

/// The unsigned bytes of `tx`'s header around one `witness_set_properties` with `props` written
/// as given (any order, any names): what a client that does not sort would sign.
fn bytes_with_props(tx: &Transaction, props: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    write_u16(&mut out, tx.ref_block_num);
    write_u32(&mut out, tx.ref_block_prefix);
    write_u32(&mut out, tx.expiration.0);
    write_varint32(&mut out, 1);
    write_varint32(&mut out, 42);
    write_string(&mut out, OWNER);
    write_varint32(&mut out, u32::try_from(props.len()).unwrap_or(u32::MAX));
    for (name, value) in props {
        write_string(&mut out, name);
        write_varint32(&mut out, u32::try_from(value.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(value);
    }
    write_varint32(&mut out, 0);
    write_varint32(&mut out, 0);
    out
}

/// Signs raw unsigned bytes with test key `index` over `profile`'s chain id.
fn sign_bytes(bytes: &[u8], index: usize, profile: &ChainProfile) -> anyhow::Result<Signature> {
    let wif = TEST_WIFS.get(index).context("test keys are 0..5")?;
    let digest = Digest::sha256(&[&profile.chain_id.0, bytes]);
    Ok(PrivateKey::from_wif(wif)?.sign_digest(&digest)?)
}

/// `tx`'s legacy JSON with the props replaced by `props` (`[name, hex]` pairs) and the
/// signatures by `signatures`.
fn with_props(tx: &Value, props: Value, signatures: Option<Vec<Signature>>) -> Value {
    let mut tx = tx.clone();
    tx["operations"][0][1]["props"] = props;
    if let Some(signatures) = signatures {
        tx["signatures"] = json!(signatures.iter().map(Signature::to_hex).collect::<Vec<_>>());
    }
    tx
}

#[tokio::test]
async fn the_signing_key_signs_its_own_replacement_on_steem_and_hive() -> anyhow::Result<()> {
    for (name, profile) in [
        ("STEEM", ChainProfile::steem()),
        ("HIVE", ChainProfile::hive()),
    ] {
        let sim = start(name).await?;
        let node = sim.node(0);
        let prefix = &profile.address_prefix;
        assert_eq!(
            signing_key(node).await?,
            test_public_key(1)?.to_string_with_prefix(prefix)
        );

        // Legacy form: signed by the current signing key (test key 1), no active key involved.
        let signed = sign(change(node, 1, Some(2)).await?, 1, &profile)?;
        let tx = to_value(&signed, &profile)?;
        assert_eq!(tx["operations"][0][0], "witness_set_properties");
        let answer = broadcast_legacy(node, &tx).await?;
        assert_eq!(answer["result"], json!({}), "{name}: {answer}");
        wait_for_key(node, &test_public_key(2)?.to_string_with_prefix(prefix)).await?;

        // The block holds it as the node writes it: sorted [name, hex] pairs.
        let id = signed.transaction.id(&profile)?;
        let body = json!({"jsonrpc": "2.0", "id": 4, "method": "condenser_api.get_transaction", "params": [id]});
        let (_, found) = post_json(node, &body).await?;
        if found.get("result").is_some() {
            assert_eq!(
                found["result"]["operations"][0], tx["operations"][0],
                "{name}: {found}"
            );
        }

        // Appbase form: {type: witness_set_properties_operation, value}, now key 2 -> key 3.
        let signed = sign(change(node, 2, Some(3)).await?, 2, &profile)?;
        let tx = to_value(&signed, &profile)?;
        let answer = broadcast_appbase(node, &profile, &tx).await?;
        assert_eq!(answer["result"], json!({}), "{name}: {answer}");
        wait_for_key(node, &test_public_key(3)?.to_string_with_prefix(prefix)).await?;

        // The kill switch: key 3 sets the null key.
        let signed = sign(change(node, 3, None).await?, 3, &profile)?;
        let answer = broadcast_legacy(node, &to_value(&signed, &profile)?).await?;
        assert_eq!(answer["result"], json!({}), "{name}: {answer}");
        wait_for_key(node, &PublicKey::NULL.to_string_with_prefix(prefix)).await?;
    }
    Ok(())
}

#[tokio::test]
async fn tampered_ones_are_refused_with_the_chains_messages() -> anyhow::Result<()> {
    for (name, profile) in [
        ("STEEM", ChainProfile::steem()),
        ("HIVE", ChainProfile::hive()),
    ] {
        let sim = start(name).await?;
        let node = sim.node(0);
        let before = signing_key(node).await?;
        let missing = ["Missing Authority", "missing required other authority"];

        let unsigned = change(node, 1, Some(2)).await?;
        let good = to_value(&sign(unsigned.clone(), 1, &profile)?, &profile)?;
        let (k1, k2, k3) = (key_hex(1)?, key_hex(2)?, key_hex(3)?);

        // Another new key after signing: the bytes differ, the signature recovers another key.
        let other = with_props(&good, json!([["key", k1], ["new_signing_key", k3]]), None);
        let answer = broadcast_legacy(node, &other).await?;
        refused(&answer, &missing).with_context(|| format!("{name}: another new key"))?;
        assert_eq!(
            answer["error"]["data"]["name"], "tx_missing_other_auth",
            "{name}"
        );

        // Signed by the active key (test key 0) instead of the signing key.
        let by_active = to_value(&sign(unsigned.clone(), 0, &profile)?, &profile)?;
        let answer = broadcast_legacy(node, &by_active).await?;
        refused(&answer, &missing).with_context(|| format!("{name}: active key"))?;

        // Signed over unsorted props: the node sorts them, so its bytes are not the signed ones.
        let unsorted = bytes_with_props(
            &unsigned,
            &[
                ("new_signing_key", test_public_key(2)?.as_bytes().to_vec()),
                ("key", test_public_key(1)?.as_bytes().to_vec()),
            ],
        );
        let signature = sign_bytes(&unsorted, 1, &profile)?;
        let tx = with_props(
            &good,
            json!([["new_signing_key", k2], ["key", k1]]),
            Some(vec![signature]),
        );
        let answer = broadcast_legacy(node, &tx).await?;
        refused(&answer, &missing).with_context(|| format!("{name}: unsorted bytes"))?;

        // A duplicate that changes the map (the node keeps the first `key`).
        let tx = with_props(
            &good,
            json!([["key", k3], ["key", k1], ["new_signing_key", k2]]),
            None,
        );
        let answer = broadcast_legacy(node, &tx).await?;
        refused(&answer, &missing).with_context(|| format!("{name}: duplicate"))?;

        // An extra prop added after signing.
        let url = hex::encode(b"\x05x.com");
        let tx = with_props(
            &good,
            json!([["key", k1], ["new_signing_key", k2], ["url", url]]),
            None,
        );
        let answer = broadcast_legacy(node, &tx).await?;
        refused(&answer, &missing).with_context(|| format!("{name}: extra prop"))?;

        // No `key` prop: validate() refuses it.
        let tx = with_props(&good, json!([["new_signing_key", k2]]), None);
        let answer = broadcast_legacy(node, &tx).await?;
        refused(&answer, &["No signing key provided"])
            .with_context(|| format!("{name}: no key"))?;

        // `key` is not the key on chain, though it signed: the evaluator refuses it.
        let signed = sign(change(node, 3, Some(2)).await?, 3, &profile)?;
        let answer = broadcast_legacy(node, &to_value(&signed, &profile)?).await?;
        refused(&answer, &["'key' does not match witness signing key."])
            .with_context(|| format!("{name}: not the key on chain"))?;

        // An extra prop the key did sign: the chain would apply it; the simulator says it does
        // not model it rather than pretend.
        let props = [
            ("key", test_public_key(1)?.as_bytes().to_vec()),
            ("new_signing_key", test_public_key(2)?.as_bytes().to_vec()),
            ("url", b"\x05x.com".to_vec()),
        ];
        let signature = sign_bytes(&bytes_with_props(&unsigned, &props), 1, &profile)?;
        let tx = with_props(
            &good,
            json!([["key", k1], ["new_signing_key", k2], ["url", url]]),
            Some(vec![signature]),
        );
        let answer = broadcast_legacy(node, &tx).await?;
        refused(&answer, &["not simulated: vit-test-witness: url"])
            .with_context(|| format!("{name}: signed extra prop"))?;

        assert_eq!(
            signing_key(node).await?,
            before,
            "{name}: nothing changed the key"
        );

        // Listing the props of a correctly signed transaction out of order changes nothing the
        // node signs over: it sorts them, and the transaction is accepted.
        let tx = with_props(&good, json!([["new_signing_key", k2], ["key", k1]]), None);
        let answer = broadcast_legacy(node, &tx).await?;
        assert_eq!(answer["result"], json!({}), "{name}: {answer}");
        wait_for_key(
            node,
            &test_public_key(2)?.to_string_with_prefix(&profile.address_prefix),
        )
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn vit_does_not_know_the_operation() -> anyhow::Result<()> {
    let sim = start("VIT").await?;
    let node = sim.node(0);
    let steem = ChainProfile::steem();
    let vit = ChainProfile::vit();
    // Built and signed as for Steem (vwf_shared refuses to build it for VIT), sent to VIT.
    let unsigned = change(node, 1, Some(2)).await?;
    let signed: SignedTransaction = sign(unsigned, 1, &steem)?;
    let text = signed.to_legacy_json(&steem).replace("STM", "VIT");
    let tx: Value = serde_json::from_str(&text)?;
    let body = json!({"id": 1, "method": "call", "params": ["network_broadcast_api", "broadcast_transaction", [tx]]});
    let (_, answer) = post_json(node, &body).await?;
    refused(
        &answer,
        &[
            "Invalid operation name: witness_set_properties",
            "itr != to_tag.end()",
        ],
    )?;
    let body = json!({"id": 2, "method": "call", "params": ["database_api", "get_witness_by_account", [OWNER]]});
    let (_, witness) = post_json(node, &body).await?;
    assert_eq!(
        witness["result"]["signing_key"],
        json!(test_public_key(1)?.to_string_with_prefix(&vit.address_prefix))
    );
    Ok(())
}
