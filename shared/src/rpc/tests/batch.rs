//! `head_and_witness`: one JSON-RPC batch per poll on appbase, the fallback when a node refuses
//! batches, per-element errors, and two plain calls on 0.19.

use serde_json::{Value, json};

use super::fixtures::{STM_KEY, VIT_KEY, appbase_error, appbase_lock_error, vit_dgp, vit_witness};
use super::server::{Reply, TestNode};
use super::{connect, err, hive_node, ok, vit_node};
use crate::profile::ChainProfile;
use crate::rpc::RpcError;

const DGP: &str = "condenser_api.get_dynamic_global_properties";
const WITNESS: &str = "condenser_api.get_witness_by_account";

/// A Hive witness answer (STM key).
fn hive_witness() -> Value {
    let mut witness = vit_witness();
    witness["signing_key"] = json!(STM_KEY);
    witness
}

/// A Hive node serving both reads.
async fn hive_reads() -> TestNode {
    let node = hive_node().await;
    node.route(
        DGP,
        vec![Reply::Result(vit_dgp(100, "2024-01-01T00:00:30"))],
    )
    .route(WITNESS, vec![Reply::Result(hive_witness())]);
    node
}

#[tokio::test]
async fn appbase_reads_go_in_one_batch_matched_by_id() {
    let node = hive_reads().await;
    let client = connect(&node, ChainProfile::hive()).await;
    assert!(client.batches_reads());
    let before = node.bodies().len();
    let read = ok(client.head_and_witness("vit-test-witness").await);
    assert_eq!(read.properties.head_block_number, 100);
    assert_eq!(read.witness.total_missed, 17);
    assert_eq!(
        read.witness.signing_key.to_string_with_prefix("STM"),
        STM_KEY
    );
    ok(client.head_and_witness("vit-test-witness").await);
    // Two polls, two HTTP requests, each an array of the two calls under distinct ids.
    let requests = node.requests();
    let polls = &requests[before..];
    assert_eq!(polls.len(), 2);
    for poll in polls {
        let Value::Array(items) = poll else {
            panic!("not a batch: {poll}")
        };
        let methods: Vec<&str> = items.iter().filter_map(|i| i["method"].as_str()).collect();
        assert_eq!(methods, [DGP, WITNESS]);
        assert_eq!(items[1]["params"], json!(["vit-test-witness"]));
        assert!(items[0]["id"].is_u64() && items[0]["id"] != items[1]["id"]);
    }
    assert!(client.batches_reads());
}

#[tokio::test]
async fn an_error_answer_to_the_array_falls_back_and_is_remembered() {
    let node = hive_reads().await;
    // What a node that reads the body as one object answers: an error under a null id.
    node.refuse_batches(Reply::Error(
        json!({"code": -32600, "message": "Invalid Request"}),
    ));
    let client = connect(&node, ChainProfile::hive()).await;
    let read = ok(client.head_and_witness("vit-test-witness").await);
    assert_eq!(read.properties.head_block_number, 100);
    assert_eq!(read.witness.total_missed, 17);
    // One batch, then one plain request per call (counts include the calls in the batch).
    assert_eq!(
        (node.batches(), node.count(DGP), node.count(WITNESS)),
        (1, 2, 2)
    );
    assert!(!client.batches_reads());
    // Not batched again: two plain calls.
    ok(client.head_and_witness("vit-test-witness").await);
    assert_eq!(
        (node.batches(), node.count(DGP), node.count(WITNESS)),
        (1, 3, 3)
    );
}

#[tokio::test]
async fn a_non_array_answer_is_a_refusal() {
    let node = hive_reads().await;
    node.refuse_batches(Reply::Raw(
        r#"{"jsonrpc":"2.0","id":1,"result":null}"#.into(),
    ));
    let client = connect(&node, ChainProfile::hive()).await;
    let read = ok(client.head_and_witness("vit-test-witness").await);
    assert_eq!(read.properties.head_block_number, 100);
    assert!(!client.batches_reads());
    assert_eq!(node.batches(), 1);
}

#[tokio::test]
async fn a_passing_refusal_is_retried_then_read_singly_without_giving_up_batches() {
    let node = hive_reads().await;
    node.refuse_batches(Reply::Status(
        503,
        "<html>Service Unavailable</html>".into(),
    ));
    let client = connect(&node, ChainProfile::hive()).await;
    let read = ok(client.head_and_witness("vit-test-witness").await);
    assert_eq!(read.witness.total_missed, 17);
    // The first try and `read_retries` (2) more, then one request per call (counts include the
    // calls inside the three batches).
    assert_eq!(
        (node.batches(), node.count(DGP), node.count(WITNESS)),
        (3, 4, 4)
    );
    assert!(client.batches_reads());
}

#[tokio::test]
async fn one_element_error_is_that_reads_error() {
    let node = hive_reads().await;
    node.route(
        WITNESS,
        vec![Reply::Error(appbase_error(
            "Assert Exception:false: boom",
            "assert_exception",
            10,
        ))],
    );
    let client = connect(&node, ChainProfile::hive()).await;
    let error = err(client.head_and_witness("vit-test-witness").await);
    assert!(
        matches!(&error, RpcError::Node { at, code: -32000, .. } if at.method == WITNESS),
        "{error:?}"
    );
    // Not retried (not a passing error), not sent singly, and batches are kept.
    assert_eq!(
        (node.batches(), node.count(DGP), node.count(WITNESS)),
        (1, 1, 1)
    );
    assert!(client.batches_reads());
}

#[tokio::test]
async fn a_passing_element_error_retries_the_batch() {
    let node = hive_reads().await;
    node.route(
        DGP,
        vec![
            Reply::Error(appbase_lock_error()),
            Reply::Result(vit_dgp(101, "2024-01-01T00:00:33")),
        ],
    );
    let client = connect(&node, ChainProfile::hive()).await;
    let read = ok(client.head_and_witness("vit-test-witness").await);
    assert_eq!(read.properties.head_block_number, 101);
    assert_eq!(
        (node.batches(), node.count(DGP), node.count(WITNESS)),
        (2, 2, 2)
    );
}

#[tokio::test]
async fn a_null_witness_in_a_batch_is_no_such_witness() {
    let node = hive_reads().await;
    node.route(WITNESS, vec![Reply::Result(Value::Null)]);
    let client = connect(&node, ChainProfile::hive()).await;
    let error = err(client.head_and_witness("nobody").await);
    assert!(
        matches!(&error, RpcError::NoSuchWitness { name, .. } if name == "nobody"),
        "{error:?}"
    );
}

#[tokio::test]
async fn legacy_nodes_are_read_with_two_calls() {
    let node = vit_node().await;
    node.route(
        "database_api.get_dynamic_global_properties",
        vec![Reply::Result(vit_dgp(100, "2024-01-01T00:00:30"))],
    )
    .route(
        "database_api.get_witness_by_account",
        vec![Reply::Result(vit_witness())],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    assert!(!client.batches_reads());
    let read = ok(client.head_and_witness("vit-test-witness").await);
    assert_eq!(
        read.witness.signing_key.to_string_with_prefix("VIT"),
        VIT_KEY
    );
    assert_eq!(node.batches(), 0);
    assert_eq!(node.count("database_api.get_dynamic_global_properties"), 1);
    assert_eq!(node.count("database_api.get_witness_by_account"), 1);
}
