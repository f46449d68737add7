//! End to end: signed `witness_update`s are applied, and every kind of bad one is refused with
//! steemd's message.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use vwf_shared::{ChainProfile, PropsLayout, Signature, TimePointSec, Transaction};
use vwf_tests::client::{call, call_ok, error_message};
use vwf_tests::harness::SimChain;
use vwf_tests::tx::{head_of, sign, test_public_key, to_value, transaction, witness_update};
use vwf_tests::wait::wait_until;

const BIN: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const OWNER: &str = "vit-test-witness";

async fn start(profile: &str) -> anyhow::Result<SimChain> {
    SimChain::spawn(BIN, &["--block-interval-ms", "100", "--profile", profile]).await
}

/// An unsigned update to test key `new_key`, referencing the node's head.
async fn update(node: &str, profile: &ChainProfile, new_key: usize) -> anyhow::Result<Transaction> {
    let (head, time) = head_of(node).await?;
    transaction(
        witness_update(profile, OWNER, test_public_key(new_key)?),
        &head,
        time,
        60,
    )
}

async fn broadcast(node: &str, tx: Value) -> anyhow::Result<Value> {
    call(
        node,
        "network_broadcast_api",
        "broadcast_transaction",
        json!([tx]),
    )
    .await
}

async fn signing_key(node: &str) -> anyhow::Result<String> {
    // condenser_api on appbase; on 0.19 an unknown API name falls through to database_api.
    let w = call_ok(
        node,
        "condenser_api",
        "get_witness_by_account",
        json!([OWNER]),
    )
    .await?;
    Ok(w["signing_key"].as_str().context("signing_key")?.to_owned())
}

/// Sends `tx` and checks the error message contains every piece of `expected`.
async fn refused(node: &str, tx: Value, expected: &[&str]) -> anyhow::Result<()> {
    let response = broadcast(node, tx).await?;
    let message = error_message(&response).with_context(|| format!("accepted: {response}"))?;
    for piece in expected {
        anyhow::ensure!(message.contains(piece), "{piece:?} not in {message:?}");
    }
    anyhow::ensure!(
        response.get("jsonrpc").is_none(),
        "VIT answers carry no jsonrpc member"
    );
    Ok(())
}

#[tokio::test]
async fn a_correct_update_is_applied_and_changes_the_signing_key() -> anyhow::Result<()> {
    let sim = start("VIT").await?;
    let node = sim.node(0);
    let profile = ChainProfile::vit();
    let signed = sign(update(node, &profile, 2).await?, 0, &profile)?;
    let json_tx = to_value(&signed, &profile)?;
    let hex = call_ok(
        node,
        "database_api",
        "get_transaction_hex",
        json!([json_tx]),
    )
    .await?;
    assert_eq!(hex, json!(hex::encode(signed.to_bytes(&profile)?)));
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        call_ok(
            node,
            "network_broadcast_api",
            "broadcast_transaction_synchronous",
            json!([json_tx]),
        ),
    )
    .await??;
    assert_eq!(result["id"], json!(signed.transaction.id(&profile)?));
    assert_eq!(result["expired"], json!(false));
    let new_key = test_public_key(2)?.to_string_with_prefix("VIT");
    assert_eq!(signing_key(node).await?, new_key);
    let history = sim.control().history().await?;
    assert_eq!(history["updates"][0]["signing_key"], json!(new_key));
    assert_eq!(history["updates"][0]["block_num"], result["block_num"]);
    let block = call_ok(
        node,
        "database_api",
        "get_block",
        json!([result["block_num"]]),
    )
    .await?;
    assert_eq!(block["transaction_ids"], json!([result["id"]]));
    Ok(())
}

/// n − s for a 32-byte big-endian s.
fn negate_s(s: &[u8]) -> Vec<u8> {
    let n = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        .unwrap_or_default();
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = u8::try_from(d).unwrap_or(0);
    }
    out
}

#[tokio::test]
async fn bad_updates_are_refused_with_steemd_messages() -> anyhow::Result<()> {
    let sim = start("VIT").await?;
    let node = sim.node(0);
    let vit = ChainProfile::vit();
    let before = signing_key(node).await?;

    // Wrong key.
    let tx = sign(update(node, &vit, 2).await?, 3, &vit)?;
    refused(
        node,
        to_value(&tx, &vit)?,
        &[
            "3010000 tx_missing_active_auth",
            "missing required active authority",
        ],
    )
    .await?;

    // High-S twin of a valid signature: s -> n - s, recid flipped.
    let mut tx = sign(update(node, &vit, 2).await?, 0, &vit)?;
    let mut bytes = tx.signatures[0].0;
    let high = negate_s(&bytes[33..]);
    bytes[33..].copy_from_slice(&high);
    bytes[0] = 31 + ((bytes[0] - 31) ^ 1);
    tx.signatures[0] = Signature(bytes);
    refused(node, to_value(&tx, &vit)?, &["signature is not canonical"]).await?;

    // Header out of range.
    let mut tx = sign(update(node, &vit, 2).await?, 0, &vit)?;
    tx.signatures[0].0[0] = 26;
    refused(
        node,
        to_value(&tx, &vit)?,
        &["unable to reconstruct public key from signature"],
    )
    .await?;

    // Signed over the STEEM chain id, VIT bytes.
    let wrong_chain = ChainProfile {
        chain_id: ChainProfile::steem().chain_id,
        ..vit.clone()
    };
    let tx = sign(update(node, &vit, 2).await?, 0, &wrong_chain)?;
    refused(node, to_value(&tx, &vit)?, &["tx_missing_active_auth"]).await?;

    // 3-field props on VIT: the node drops sbd_interest_rate, the digest differs.
    let three = vit
        .clone()
        .with_props_layout(PropsLayout::WithInterestRate {
            field: "sbd_interest_rate".into(),
        });
    let mut unsigned = update(node, &vit, 2).await?;
    unsigned.operations[0]
        .as_witness_update_mut()
        .context("a witness_update")?
        .props
        .interest_rate = Some(0);
    let tx = sign(unsigned, 0, &three)?;
    let json_tx = to_value(&tx, &three)?;
    assert!(json_tx.to_string().contains("sbd_interest_rate"));
    refused(node, json_tx, &["tx_missing_active_auth"]).await?;

    // An extra signature.
    let mut tx = sign(update(node, &vit, 2).await?, 0, &vit)?;
    let extra = sign(tx.transaction.clone(), 3, &vit)?;
    tx.signatures.push(extra.signatures[0]);
    refused(
        node,
        to_value(&tx, &vit)?,
        &[
            "3050000 tx_irrelevant_sig",
            "Unnecessary signature(s) detected",
        ],
    )
    .await?;

    // The same signature twice.
    let mut tx = sign(update(node, &vit, 2).await?, 0, &vit)?;
    tx.signatures.push(tx.signatures[0]);
    refused(
        node,
        to_value(&tx, &vit)?,
        &["3060000 tx_duplicate_sig", "duplicate signature included"],
    )
    .await?;

    // Expired, and too far in the future.
    let mut unsigned = update(node, &vit, 2).await?;
    let (_, head_time) = head_of(node).await?;
    unsigned.expiration = TimePointSec(head_time.0 - 10);
    let tx = sign(unsigned.clone(), 0, &vit)?;
    refused(
        node,
        to_value(&tx, &vit)?,
        &["4030100 transaction_expiration_exception"],
    )
    .await?;
    unsigned.expiration = TimePointSec(head_time.0 + 4000);
    let tx = sign(unsigned, 0, &vit)?;
    refused(
        node,
        to_value(&tx, &vit)?,
        &["4030100 transaction_expiration_exception"],
    )
    .await?;

    // Bad TaPoS prefix.
    let mut unsigned = update(node, &vit, 2).await?;
    unsigned.ref_block_prefix ^= 1;
    let tx = sign(unsigned, 0, &vit)?;
    refused(
        node,
        to_value(&tx, &vit)?,
        &["4030200 transaction_tapos_exception"],
    )
    .await?;

    // Duplicate: the first is accepted, the second refused.
    let tx = to_value(&sign(update(node, &vit, 2).await?, 0, &vit)?, &vit)?;
    let first = broadcast(node, tx.clone()).await?;
    assert_eq!(first, json!({"id": 1, "result": null}));
    refused(
        node,
        tx,
        &["10 assert_exception", "Duplicate transaction check failed"],
    )
    .await?;

    // Other operations are refused clearly; nothing above changed the key except the last one.
    let transfer = json!({"ref_block_num":1,"ref_block_prefix":1,"expiration":"2030-01-01T00:00:00",
        "operations":[["transfer",{"from":"a","to":"b","amount":"1.000 VIT","memo":""}]],"extensions":[],"signatures":[]});
    refused(node, transfer, &["only witness_update"]).await?;
    assert_eq!(before, test_public_key(1)?.to_string_with_prefix("VIT"));
    Ok(())
}

#[tokio::test]
async fn steem_profile_serves_condenser_api_and_wants_three_props_fields() -> anyhow::Result<()> {
    let sim = start("STEEM").await?;
    let node = sim.node(0);
    let steem = ChainProfile::steem();
    let body = json!({"jsonrpc":"2.0","id":5,"method":"condenser_api.get_config","params":[]});
    let (_, config) = vwf_tests::client::post_json(node, &body).await?;
    assert_eq!(config["jsonrpc"], "2.0");
    assert_eq!(
        config["result"]["STEEM_CHAIN_ID"],
        json!(steem.chain_id.to_string())
    );
    assert!(config["result"].get("STEEMIT_BLOCKCHAIN_VERSION").is_none());

    // A 2-field (VIT-style) props tx: the node fills sbd_interest_rate = 1000 and authority fails.
    let two = steem.clone().with_props_layout(PropsLayout::TwoFields);
    let mut unsigned = update(node, &steem, 2).await?;
    unsigned.operations[0]
        .as_witness_update_mut()
        .context("a witness_update")?
        .props
        .interest_rate = None;
    let tx = to_value(&sign(unsigned, 0, &two)?, &two)?;
    let body = json!({"jsonrpc":"2.0","id":6,"method":"condenser_api.broadcast_transaction","params":[tx]});
    let (_, answer) = vwf_tests::client::post_json(node, &body).await?;
    assert_eq!(answer["error"]["code"], -32000);
    assert_eq!(
        answer["error"]["data"]["name"], "tx_missing_active_auth",
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("missing required active authority:Missing Active Authority"),
        "{answer}"
    );

    // The right layout is applied.
    let tx = to_value(&sign(update(node, &steem, 2).await?, 0, &steem)?, &steem)?;
    let body = json!({"jsonrpc":"2.0","id":7,"method":"condenser_api.broadcast_transaction","params":[tx]});
    let (_, answer) = vwf_tests::client::post_json(node, &body).await?;
    assert_eq!(answer["result"], json!({}), "{answer}");
    let want = test_public_key(2)?.to_string_with_prefix("STM");
    wait_until(
        "the new key on chain",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async { Ok((signing_key(node).await? == want).then_some(())) },
    )
    .await?;
    Ok(())
}
