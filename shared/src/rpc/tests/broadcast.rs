//! Broadcasts are sent once; a re-send is the same bytes; inclusion is found by scanning blocks.

use std::time::Duration;

use serde_json::{Value, json};

use super::fixtures::{LEGACY_TEXTS, appbase_error, legacy_error, vit_block, vit_dgp, vit_tx};
use super::server::Reply;
use super::{connect, err, hive_node, ok, vit_node};
use crate::profile::ChainProfile;
use crate::rpc::{Inclusion, Rebroadcast, RpcError};

const SYNCHRONOUS: &str = "network_broadcast_api.broadcast_transaction_synchronous";

const BROADCAST: &str = "network_broadcast_api.broadcast_transaction";

/// The body with its request id blanked, to compare two sends.
fn without_id(body: &str, request: &Value) -> String {
    body.replacen(&format!("\"id\":{}", request["id"]), "\"id\":0", 1)
}

#[tokio::test]
async fn broadcast_timeout_is_not_retried_and_a_resend_carries_the_same_bytes() {
    let node = vit_node().await;
    let duplicate = LEGACY_TEXTS[1].1;
    node.route(
        BROADCAST,
        vec![
            Reply::Delay(Duration::from_secs(3), Box::new(Reply::Result(Value::Null))),
            Reply::Error(legacy_error(duplicate)),
        ],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let (tx, _, _) = vit_tx();

    let error = err(client.broadcast_transaction(&tx).await);
    assert!(matches!(error, RpcError::Timeout { .. }), "{error:?}");
    assert_eq!(
        node.count(BROADCAST),
        1,
        "a broadcast is never retried by the client"
    );

    // The first copy did arrive: the node's duplicate check answers the re-send.
    assert_eq!(
        ok(client.rebroadcast_transaction(&tx).await),
        Rebroadcast::AlreadyKnown
    );
    assert_eq!(node.count(BROADCAST), 2);
    let sends: Vec<String> = node
        .bodies()
        .iter()
        .zip(node.requests())
        .filter(|(_, r)| super::server::method_of(r) == BROADCAST)
        .map(|(b, r)| without_id(b, &r))
        .collect();
    assert_eq!(sends[0], sends[1], "the re-send must be byte-identical");
}

#[tokio::test]
async fn resend_of_a_lost_broadcast_is_accepted() {
    let node = vit_node().await;
    node.route(BROADCAST, vec![Reply::Result(Value::Null)]);
    let client = connect(&node, ChainProfile::vit()).await;
    let (tx, _, _) = vit_tx();
    assert_eq!(
        ok(client.rebroadcast_transaction(&tx).await),
        Rebroadcast::Accepted
    );
}

#[tokio::test]
async fn other_refusals_of_a_resend_stay_errors() {
    let node = vit_node().await;
    node.route(
        BROADCAST,
        vec![Reply::Error(legacy_error(LEGACY_TEXTS[2].1))],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let (tx, _, _) = vit_tx();
    let error = err(client.rebroadcast_transaction(&tx).await);
    assert!(
        matches!(error.node_error(), Some(crate::rpc::NodeError::Expired)),
        "{error:?}"
    );
}

#[tokio::test]
async fn synchronous_broadcast_reports_the_block() {
    let node = vit_node().await;
    let (tx, id, _) = vit_tx();
    node.route(
        "network_broadcast_api.broadcast_transaction_synchronous",
        vec![Reply::Result(
            json!({"id": id, "block_num": "8999124", "trx_num": 3, "expired": false}),
        )],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let result = ok(client.broadcast_transaction_synchronous(&tx).await);
    assert_eq!(
        (
            result.id.as_str(),
            result.block_num,
            result.trx_num,
            result.expired
        ),
        (id.as_str(), 8_999_124, 3, false)
    );
}

#[tokio::test]
async fn inclusion_is_found_by_scanning_new_blocks() {
    let node = vit_node().await;
    let (tx, id, _) = vit_tx();
    node.route(
        "database_api.get_dynamic_global_properties",
        vec![
            Reply::Result(vit_dgp(100, "2024-01-01T00:00:27")),
            Reply::Result(vit_dgp(101, "2024-01-01T00:00:30")),
        ],
    )
    .route(
        "database_api.get_block",
        vec![
            Reply::Result(vit_block(
                100,
                &["1111111111111111111111111111111111111111"],
            )),
            Reply::Result(vit_block(
                101,
                &["2222222222222222222222222222222222222222", &id],
            )),
        ],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let found = ok(client
        .wait_for_inclusion(&tx, 100, Duration::from_millis(10))
        .await);
    assert_eq!(
        found,
        Inclusion::Included {
            block_num: 101,
            trx_num: 1
        }
    );
}

#[tokio::test]
async fn inclusion_ends_as_expired_once_head_time_passes_expiration() {
    let node = vit_node().await;
    let (tx, _, _) = vit_tx();
    assert_eq!(tx.transaction.expiration.to_string(), "2024-01-01T00:01:00");
    node.route(
        "database_api.get_dynamic_global_properties",
        vec![Reply::Result(vit_dgp(120, "2024-01-01T00:01:00"))],
    )
    .route(
        "database_api.get_block",
        vec![Reply::Result(vit_block(120, &[]))],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let outcome = ok(client
        .wait_for_inclusion(&tx, 120, Duration::from_millis(10))
        .await);
    assert_eq!(
        outcome,
        Inclusion::Expired {
            head_block_number: 120
        }
    );
}

#[tokio::test]
async fn synchronous_broadcast_answered_for_another_transaction_is_an_error() {
    let node = vit_node().await;
    let (tx, id, _) = vit_tx();
    let other = "514c80a81bb579e1ee06d98be378272731a3bdc1";
    node.route(
        SYNCHRONOUS,
        vec![Reply::Result(
            json!({"id": other, "block_num": 8_999_124, "trx_num": 0, "expired": false}),
        )],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.broadcast_transaction_synchronous(&tx).await);
    assert!(
        matches!(&error, RpcError::TransactionIdMismatch { sent, received, .. }
            if *sent == id && received == other),
        "{error:?}"
    );
    let shown = error.to_string();
    assert!(
        shown.contains(&id) && shown.contains(other) && shown.contains(SYNCHRONOUS),
        "{shown}"
    );
    assert!(error.is_node_fault() && !error.is_retryable());
    assert_eq!(node.count(SYNCHRONOUS), 1, "sent once");
}

#[tokio::test]
async fn synchronous_broadcast_id_is_compared_without_case() {
    let node = vit_node().await;
    let (tx, id, _) = vit_tx();
    node.route(
        SYNCHRONOUS,
        vec![Reply::Result(
            json!({"id": id.to_uppercase(), "block_num": 5, "trx_num": 0, "expired": false}),
        )],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    assert_eq!(
        ok(client.broadcast_transaction_synchronous(&tx).await).block_num,
        5
    );
}

#[tokio::test]
async fn appbase_empty_object_is_a_successful_broadcast() {
    // condenser_api.broadcast_transaction answers `{}`, as it does through jussi.
    let node = hive_node().await;
    node.route(
        "condenser_api.broadcast_transaction",
        vec![Reply::Result(json!({}))],
    );
    let client = connect(&node, ChainProfile::hive()).await;
    let (tx, _, _) = vit_tx();
    ok(client.broadcast_transaction(&tx).await);
    assert_eq!(
        ok(client.rebroadcast_transaction(&tx).await),
        Rebroadcast::Accepted
    );
    // An answer with `"error": null` beside the result is a success too.
    node.route(
        "condenser_api.broadcast_transaction",
        vec![Reply::Envelope(
            json!({"jsonrpc": "2.0", "result": {}, "error": null}),
        )],
    );
    ok(client.broadcast_transaction(&tx).await);
    assert_eq!(node.count("condenser_api.broadcast_transaction"), 3);
}

#[tokio::test]
async fn appbase_duplicate_refusal_of_a_resend_is_already_known() {
    let node = hive_node().await;
    node.route(
        "condenser_api.broadcast_transaction",
        vec![Reply::Error(appbase_error(
            "Assert Exception:false: Duplicate transaction check failed",
            "assert_exception",
            10,
        ))],
    );
    let client = connect(&node, ChainProfile::hive()).await;
    let (tx, _, _) = vit_tx();
    assert_eq!(
        ok(client.rebroadcast_transaction(&tx).await),
        Rebroadcast::AlreadyKnown
    );
}

#[tokio::test]
async fn broadcast_result_other_than_null_or_an_object_is_refused() {
    let node = vit_node().await;
    node.route(BROADCAST, vec![Reply::Result(json!(true))]);
    let client = connect(&node, ChainProfile::vit()).await;
    let (tx, _, _) = vit_tx();
    let error = err(client.broadcast_transaction(&tx).await);
    assert!(
        matches!(&error, RpcError::InvalidResult { reason, .. } if reason.contains("a boolean")),
        "{error:?}"
    );
    assert_eq!(node.count(BROADCAST), 1);
}
