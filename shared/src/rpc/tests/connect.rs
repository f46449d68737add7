//! Style detection and the chain id check at connect (SPEC §7.5).

use serde_json::json;

use super::fixtures::{hive_config, vit_config};
use super::server::{Flavor, Reply, TestNode};
use super::{connect, err, hive_node, ok, options, vit_node};
use crate::profile::ChainProfile;
use crate::rpc::{ApiStyle, NodeClient, RpcError};

#[tokio::test]
async fn legacy_node_is_detected_with_one_call() {
    let node = vit_node().await;
    let client = connect(&node, ChainProfile::vit()).await;
    assert_eq!(client.style(), ApiStyle::LegacyCall);
    let config = client.node_config();
    assert_eq!(config.chain_id, ChainProfile::vit().chain_id);
    assert_eq!(config.address_prefix, "VIT");
    assert_eq!(config.block_interval, Some(3));
    assert_eq!(config.max_time_until_expiration, Some(3600));
    assert_eq!(config.blockchain_version.as_deref(), Some("0.0.0"));
    assert_eq!(node.requests().len(), 1);
    assert_eq!(node.count("condenser_api.get_config"), 0);
}

#[tokio::test]
async fn appbase_node_falls_back_to_condenser_and_skips_old_chain_id() {
    let node = hive_node().await;
    let client = connect(&node, ChainProfile::hive()).await;
    assert_eq!(client.style(), ApiStyle::Condenser);
    assert_eq!(client.node_config().chain_id, ChainProfile::hive().chain_id);
    assert_eq!(node.count("database_api.get_config"), 1);
    assert_eq!(node.count("condenser_api.get_config"), 1);
}

#[tokio::test]
async fn appbase_names_from_a_legacy_call_still_select_condenser() {
    // appbase routes `call database_api …` to its own database_api, which lacks 0.19 methods.
    let node = hive_node().await;
    node.route(
        "database_api.get_config",
        vec![Reply::Result(hive_config())],
    );
    let client = connect(&node, ChainProfile::hive()).await;
    assert_eq!(client.style(), ApiStyle::Condenser);
}

#[tokio::test]
async fn wrong_chain_id_is_refused_naming_both_ids() {
    let node = TestNode::start(Flavor::Legacy).await;
    let mut steem = vit_config();
    steem["STEEMIT_CHAIN_ID"] = json!("0".repeat(64));
    node.route("database_api.get_config", vec![Reply::Result(steem)]);
    let error = err(NodeClient::connect(&node.url, ChainProfile::vit(), options()).await);
    let text = error.to_string();
    assert!(
        matches!(&error, RpcError::ChainIdMismatch { expected, node, .. }
            if *expected == ChainProfile::vit().chain_id && node.0 == [0; 32]),
        "{error:?}"
    );
    assert!(
        text.contains(&ChainProfile::vit().chain_id.to_string()),
        "{text}"
    );
    assert!(text.contains(&"0".repeat(64)), "{text}");
    assert!(text.contains(&node.url), "{text}");
    assert!(error.is_node_fault());
    assert_eq!(
        node.count("condenser_api.get_config"),
        0,
        "no second chance"
    );
}

#[tokio::test]
async fn wrong_chain_id_from_condenser_is_refused() {
    let node = hive_node().await;
    let error = err(NodeClient::connect(&node.url, ChainProfile::steem(), options()).await);
    assert!(
        matches!(error, RpcError::ChainIdMismatch { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn wrong_address_prefix_is_refused() {
    let node = TestNode::start(Flavor::Legacy).await;
    let mut config = vit_config();
    config["STEEMIT_ADDRESS_PREFIX"] = json!("STM");
    node.route("database_api.get_config", vec![Reply::Result(config)]);
    let error = err(NodeClient::connect(&node.url, ChainProfile::vit(), options()).await);
    assert!(
        matches!(&error, RpcError::AddressPrefixMismatch { expected, node, .. } if expected == "VIT" && node == "STM"),
        "{error:?}"
    );
}

#[tokio::test]
async fn node_without_either_style_is_unsupported() {
    let node = TestNode::start(Flavor::Legacy).await;
    let error = err(NodeClient::connect(&node.url, ChainProfile::vit(), options()).await);
    match error {
        RpcError::UnsupportedNode {
            legacy, condenser, ..
        } => {
            assert!(matches!(*legacy, RpcError::Node { .. }), "{legacy:?}");
            assert!(matches!(*condenser, RpcError::Node { .. }), "{condenser:?}");
        }
        other => panic!("expected UnsupportedNode, got {other:?}"),
    }
}

#[tokio::test]
async fn config_without_chain_id_is_not_accepted() {
    let node = TestNode::start(Flavor::Legacy).await;
    node.route(
        "database_api.get_config",
        vec![Reply::Result(json!({"STEEMIT_ADDRESS_PREFIX": "VIT"}))],
    );
    let error = err(NodeClient::connect(&node.url, ChainProfile::vit(), options()).await);
    match error {
        RpcError::UnsupportedNode { legacy, .. } => {
            assert!(
                matches!(*legacy, RpcError::InvalidResult { .. }),
                "{legacy:?}"
            );
        }
        other => panic!("expected UnsupportedNode, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_node_fails_fast_with_a_retryable_error() {
    let port = {
        let listener = ok(std::net::TcpListener::bind("127.0.0.1:0"));
        ok(listener.local_addr()).port()
    };
    let url = format!("http://127.0.0.1:{port}/");
    let error = err(NodeClient::connect(&url, ChainProfile::vit(), options()).await);
    assert!(matches!(error, RpcError::Connect { .. }), "{error:?}");
    assert!(error.is_retryable() && error.is_node_fault());
    assert!(error.to_string().contains("database_api.get_config"));
}

#[tokio::test]
async fn urls_are_checked_and_credentials_never_shown() {
    let error =
        err(NodeClient::connect("ftp://node.example", ChainProfile::vit(), options()).await);
    assert!(matches!(error, RpcError::InvalidUrl { .. }), "{error:?}");
    let error =
        err(NodeClient::connect("https://user:hunter2@[::1", ChainProfile::vit(), options()).await);
    assert!(matches!(error, RpcError::InvalidUrl { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("hunter2"));
    let node = vit_node().await;
    let with_password = node.url.replace("http://", "http://user:hunter2@");
    let client = ok(NodeClient::connect(&with_password, ChainProfile::vit(), options()).await);
    assert!(!client.url().contains("hunter2"), "{}", client.url());
}

#[tokio::test]
async fn https_uses_the_client_own_ring_config_and_installs_no_global_provider() {
    // A plain-HTTP node behind an https URL: the TLS handshake runs (through the client's own
    // rustls config) and fails; nothing panics for want of a process-wide provider.
    let node = vit_node().await;
    let url = node.url.replace("http://", "https://");
    let error = err(NodeClient::connect(&url, ChainProfile::vit(), options()).await);
    assert!(matches!(error, RpcError::Connect { .. }), "{error:?}");
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}
