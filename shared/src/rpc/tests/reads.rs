//! Typed reads: exact request bodies (vectors.json), lenient parsing of real-shaped answers.

use serde_json::{Value, json};

use super::fixtures::{
    STM_KEY, VIT_KEY, VIT_KEY_2, vectors, vit_block, vit_dgp, vit_tx, vit_witness,
};
use super::server::{Reply, TestNode, method_of};
use super::{connect, err, hive_node, ok, vit_node};
use crate::keys::PublicKey;
use crate::profile::ChainProfile;
use crate::rpc::{RpcError, Witness};
use crate::transaction::{BlockId, SignedTransaction};

/// The request the node got for `method`, with its id replaced by `id`.
fn request_for(node: &TestNode, method: &str, id: &Value) -> Value {
    let mut request = node
        .requests()
        .into_iter()
        .rfind(|r| method_of(r) == method)
        .unwrap_or_else(|| panic!("no {method} request"));
    assert!(request["id"].is_u64(), "id must be an unsigned integer");
    request["id"] = id.clone();
    request
}

#[tokio::test]
async fn legacy_requests_match_the_vectors() {
    let node = vit_node().await;
    let (tx, _, bytes) = vit_tx();
    node.route("database_api.get_witness_by_account", vec![Reply::Result(vit_witness())])
        .route("database_api.get_dynamic_global_properties", vec![Reply::Result(vit_dgp(100, "2024-01-01T00:00:30"))])
        .route("login_api.get_version", vec![Reply::Result(json!({"blockchain_version": "0.19.5", "steem_revision": "abc", "fc_revision": "def"}))])
        .route("database_api.get_transaction_hex", vec![Reply::Result(json!(hex::encode(&bytes)))])
        .route("network_broadcast_api.broadcast_transaction_synchronous", vec![Reply::Result(json!({"id": "00f997b1934682039cf991bc05f3b947cb043c59", "block_num": 101, "trx_num": 0, "expired": false}))])
        .route("network_broadcast_api.broadcast_transaction", vec![Reply::Result(Value::Null)]);
    let client = connect(&node, ChainProfile::vit()).await;
    ok(client.get_witness_by_account("vit-test-witness").await);
    ok(client.get_dynamic_global_properties().await);
    ok(client.get_config().await);
    ok(client.get_version().await);
    ok(client.get_transaction_hex(&tx).await);
    ok(client.broadcast_transaction_synchronous(&tx).await);
    ok(client.broadcast_transaction(&tx).await);

    let examples = &vectors()["rpc_request_examples"]["legacy_0_19_call_style"];
    let Some(examples) = examples.as_object() else {
        panic!("no legacy examples")
    };
    assert_eq!(examples.len(), 7);
    for (name, expected) in examples {
        let api = expected["params"][0].as_str().unwrap_or_default();
        let sent = request_for(&node, &format!("{api}.{name}"), &expected["id"]);
        assert_eq!(&sent, expected, "{name}");
    }
    // The transaction goes out as the exact text to_legacy_json wrote (SPEC §6.3).
    let text = tx.to_legacy_json(&ChainProfile::vit());
    assert!(node.bodies().iter().filter(|b| b.contains(&text)).count() >= 3);
}

#[tokio::test]
async fn condenser_requests_match_the_vectors() {
    let examples = vectors()["rpc_request_examples"]["appbase_condenser_style"].clone();
    let tx_json = examples["broadcast_transaction_synchronous"]["params"][0].to_string();
    let steem = ChainProfile::steem();
    let tx = ok(SignedTransaction::from_legacy_json(&tx_json, &steem));
    let node = super::TestNode::start(super::Flavor::Appbase).await;
    let config = json!({"STEEM_CHAIN_ID": "0".repeat(64), "STEEM_ADDRESS_PREFIX": "STM", "STEEM_BLOCKCHAIN_VERSION": "0.23.1", "STEEM_BLOCK_INTERVAL": 3});
    node.route("condenser_api.get_config", vec![Reply::Result(config)])
        .route(
            "condenser_api.get_witness_by_account",
            vec![Reply::Result(Value::Null)],
        )
        .route(
            "condenser_api.get_dynamic_global_properties",
            vec![Reply::Result(vit_dgp(7, "2024-01-01T00:00:30"))],
        )
        .route(
            "condenser_api.get_version",
            vec![Reply::Result(
                json!({"blockchain_version": "0.23.1", "chain_id": "0".repeat(64)}),
            )],
        );
    let id = ok(tx.transaction.id(&steem));
    node.route(
        "condenser_api.broadcast_transaction_synchronous",
        vec![Reply::Result(
            json!({"id": id, "block_num": "9", "trx_num": 2, "expired": false}),
        )],
    );
    let client = connect(&node, steem).await;
    err(client.get_witness_by_account("vit-test-witness").await);
    ok(client.get_dynamic_global_properties().await);
    ok(client.get_config().await);
    let version = ok(client.get_version().await);
    assert_eq!(version.chain_id, Some(ChainProfile::steem().chain_id));
    ok(client.broadcast_transaction_synchronous(&tx).await);
    for name in [
        "get_witness_by_account",
        "get_dynamic_global_properties",
        "get_config",
        "get_version",
        "broadcast_transaction_synchronous",
    ] {
        let expected = &examples[name];
        let sent = request_for(&node, &format!("condenser_api.{name}"), &expected["id"]);
        assert_eq!(&sent, expected, "{name}");
    }
}

#[tokio::test]
async fn witness_is_read_with_string_numbers_and_unknown_fields() {
    let node = vit_node().await;
    node.route(
        "database_api.get_witness_by_account",
        vec![Reply::Result(vit_witness())],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let witness: Witness = ok(client.get_witness_by_account("vit-test-witness").await);
    assert_eq!(witness.owner, "vit-test-witness");
    assert_eq!(witness.url, "https://example.com/@vit-test-witness");
    assert_eq!(witness.signing_key, ok(PublicKey::parse(VIT_KEY, "VIT")));
    assert_eq!(witness.total_missed, 17);
    assert_eq!(witness.last_confirmed_block_num, 8_999_000);
    let props = ok(witness.props.clone());
    assert_eq!(props.account_creation_fee.amount, 100);
    assert_eq!(props.maximum_block_size, 131_072);
    assert_eq!(props.interest_rate, None);
    assert_eq!(witness.running_version, "0.19.2");
}

#[tokio::test]
async fn three_field_props_are_read_in_the_profile_layout() {
    let node = hive_node().await;
    let mut witness = vit_witness();
    witness["signing_key"] = json!(STM_KEY);
    witness["props"] = json!({"account_creation_fee": "3.000 HIVE", "maximum_block_size": 65536, "hbd_interest_rate": 2000, "account_subsidy_budget": 797, "account_subsidy_decay": 347321});
    witness["hbd_exchange_rate"] = json!({"base": "0.405 HBD", "quote": "1.000 HIVE"});
    node.route(
        "condenser_api.get_witness_by_account",
        vec![Reply::Result(witness)],
    );
    let client = connect(&node, ChainProfile::hive()).await;
    let witness = ok(client.get_witness_by_account("vit-test-witness").await);
    let props = ok(witness.props);
    assert_eq!(props.interest_rate, Some(2000));
    assert_eq!(props.account_creation_fee.amount, 3000);
}

#[tokio::test]
async fn unreadable_props_keep_the_witness_and_say_why() {
    let node = vit_node().await;
    let mut witness = vit_witness();
    witness["props"] = json!({"account_creation_fee": "0.1 VIT", "maximum_block_size": 131072});
    let mut missing = vit_witness();
    if let Some(map) = missing.as_object_mut() {
        map.remove("props");
    }
    node.route(
        "database_api.get_witness_by_account",
        vec![Reply::Result(witness), Reply::Result(missing)],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let read = ok(client.get_witness_by_account("vit-test-witness").await);
    assert_eq!(read.signing_key, ok(PublicKey::parse(VIT_KEY, "VIT")));
    let why = read.props.err().unwrap_or_default();
    assert!(why.contains("account_creation_fee"), "{why}");
    let read = ok(client.get_witness_by_account("vit-test-witness").await);
    assert_eq!(read.props.err().as_deref(), Some("props is missing"));
}

#[tokio::test]
async fn null_witness_is_a_typed_error() {
    let node = vit_node().await;
    node.route(
        "database_api.get_witness_by_account",
        vec![Reply::Result(Value::Null)],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_witness_by_account("nobody").await);
    assert!(
        matches!(&error, RpcError::NoSuchWitness { name, .. } if name == "nobody"),
        "{error:?}"
    );
    assert!(!error.is_node_fault() && !error.is_retryable());
}

#[tokio::test]
async fn keys_of_another_prefix_are_refused() {
    let node = vit_node().await;
    let mut witness = vit_witness();
    witness["signing_key"] = json!(STM_KEY);
    node.route(
        "database_api.get_witness_by_account",
        vec![Reply::Result(witness)],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_witness_by_account("vit-test-witness").await);
    assert!(
        matches!(&error, RpcError::InvalidResult { reason, .. } if reason.contains("signing_key")),
        "{error:?}"
    );
}

#[tokio::test]
async fn dynamic_global_properties_accept_string_numbers() {
    let node = vit_node().await;
    let mut dgp = vit_dgp(8_999_123, "2024-01-01T00:00:30");
    dgp["head_block_number"] = json!("8999123");
    node.route(
        "database_api.get_dynamic_global_properties",
        vec![Reply::Result(dgp)],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let dgp = ok(client.get_dynamic_global_properties().await);
    assert_eq!(dgp.head_block_number, 8_999_123);
    assert_eq!(dgp.head_block_id.block_num(), 8_999_123);
    assert_eq!(dgp.last_irreversible_block_num, 8_999_108);
    assert_eq!(dgp.time.to_string(), "2024-01-01T00:00:30");
    assert_eq!(dgp.current_witness, "vit-test-witness");
}

#[tokio::test]
async fn accounts_carry_weighted_keys() {
    let node = vit_node().await;
    let authority = |key: &str| json!({"weight_threshold": "1", "account_auths": [["other", 1]], "key_auths": [[key, 1]]});
    node.route("database_api.get_accounts", vec![Reply::Result(json!([{
        "id": 7, "name": "vit-test-witness", "owner": authority(VIT_KEY_2), "active": authority(VIT_KEY),
        "posting": authority(VIT_KEY), "memo_key": VIT_KEY, "balance": "1.000 VIT", "vesting_shares": "1.000000 VESTS"
    }]))]);
    let client = connect(&node, ChainProfile::vit()).await;
    let accounts = ok(client.get_accounts(&["vit-test-witness", "missing"]).await);
    assert_eq!(
        node.requests().last().map(|r| r["params"][2].clone()),
        Some(json!([["vit-test-witness", "missing"]]))
    );
    let [account] = accounts.as_slice() else {
        panic!("one account expected")
    };
    let active = ok(PublicKey::parse(VIT_KEY, "VIT"));
    assert_eq!(account.active.key_auths, vec![(active, 1)]);
    assert!(account.active.is_satisfied_by(&active));
    assert!(!account.owner.is_satisfied_by(&active));
    assert_eq!(account.owner.account_auths, vec![("other".to_owned(), 1)]);
}

#[tokio::test]
async fn block_id_comes_from_block_id_or_the_next_previous() {
    let node = vit_node().await;
    let mut without_id = vit_block(92, &[]);
    without_id.as_object_mut().map(|o| o.remove("block_id"));
    let next = vit_block(93, &[]);
    node.route(
        "database_api.get_dynamic_global_properties",
        vec![Reply::Result(vit_dgp(107, "2024-01-01T00:00:30"))],
    )
    .route(
        "database_api.get_block",
        vec![
            Reply::Result(vit_block(92, &[])),
            Reply::Result(without_id),
            Reply::Result(next.clone()),
        ],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let direct = ok(client.last_irreversible_block_id().await);
    assert_eq!(
        direct,
        ok(BlockId::from_hex(
            "0000005c11223344d76c16b7e0734c6f1b98c198"
        ))
    );
    let via_next = ok(client.block_id(92).await);
    assert_eq!(
        Some(via_next.to_string()),
        next["previous"].as_str().map(str::to_owned)
    );
    let header = ok(client.get_block(93).await);
    assert_eq!(header.witness, "vit-test-witness");
    assert_eq!(
        node.requests().last().map(|r| r["params"][2].clone()),
        Some(json!([93]))
    );
}

#[tokio::test]
async fn missing_block_is_a_typed_error() {
    let node = vit_node().await;
    node.route("database_api.get_block", vec![Reply::Result(Value::Null)]);
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_block(5).await);
    assert!(
        matches!(error, RpcError::NoSuchBlock { num: 5, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn transaction_hex_is_the_signed_bytes() {
    let node = vit_node().await;
    let (tx, _, bytes) = vit_tx();
    node.route(
        "database_api.get_transaction_hex",
        vec![Reply::Result(json!(hex::encode(&bytes)))],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let from_node = ok(client.get_transaction_hex(&tx).await);
    assert_eq!(from_node, bytes);
    assert_eq!(ok(tx.to_bytes(&ChainProfile::vit())), from_node);
}
