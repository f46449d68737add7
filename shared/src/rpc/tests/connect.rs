//! Style detection and the chain id check at connect (SPEC §7.5).

use serde_json::json;

use super::fixtures::{
    appbase_lock_error, appbase_no_method, hive_config, hived_1_25_config, jussi_error, vit_config,
};
use super::server::{Flavor, Reply, TestNode};
use super::{connect, err, hive_node, ok, options, vit_node};
use crate::profile::ChainProfile;
use crate::rpc::{ApiStyle, NodeClient, NodeError, RpcError};

const LEGACY_CONFIG: &str = "database_api.get_config";
const CONDENSER_CONFIG: &str = "condenser_api.get_config";

/// An appbase node whose `call database_api get_config` answers with modern names, and whose
/// `condenser_api.get_config` answers `condenser`.
async fn modern_node(condenser: Vec<Reply>) -> TestNode {
    let node = TestNode::start(Flavor::Appbase).await;
    node.route(LEGACY_CONFIG, vec![Reply::Result(hive_config())])
        .route(CONDENSER_CONFIG, condenser);
    node
}

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
async fn an_appbase_profile_asks_condenser_first_and_skips_old_chain_id() {
    let node = hive_node().await;
    let client = connect(&node, ChainProfile::hive()).await;
    assert_eq!(client.style(), ApiStyle::Condenser);
    assert_eq!(client.node_config().chain_id, ChainProfile::hive().chain_id);
    assert_eq!(node.count("database_api.get_config"), 0);
    assert_eq!(node.count("condenser_api.get_config"), 1);
}

#[tokio::test]
async fn a_bad_cast_on_the_legacy_probe_moves_on_to_condenser() {
    // An appbase node hands `call database_api get_config []` (an array) to its object-taking
    // database_api: Bad Cast (steemd >= 0.20, hived json_rpc_plugin). The VIT profile probes
    // the legacy form first; this answer sends it on to condenser_api, whose config then names
    // another chain: refused for that, not for the Bad Cast.
    let node = hive_node().await;
    node.route(
        LEGACY_CONFIG,
        vec![Reply::Error(json!({"code": -32000, "message": "Bad Cast:Invalid cast from type 'array_type' to Object", "data": {"code": 7, "name": "bad_cast_exception", "message": "Bad Cast"}}))],
    );
    let error = err(NodeClient::connect(&node.url, ChainProfile::vit(), options()).await);
    assert_eq!(node.count(CONDENSER_CONFIG), 1, "{error:?}");
    assert!(!error.is_array_refused_by_appbase(), "{error:?}");
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
        LEGACY_CONFIG,
        vec![Reply::Result(json!({"STEEMIT_ADDRESS_PREFIX": "VIT"}))],
    );
    let error = err(NodeClient::connect(&node.url, ChainProfile::vit(), options()).await);
    // A config the node does serve but that is unusable: no other style is tried.
    assert!(
        matches!(&error, RpcError::InvalidResult { reason, .. } if reason.contains("_CHAIN_ID")),
        "{error:?}"
    );
    assert_eq!(node.count(CONDENSER_CONFIG), 0);
}

#[tokio::test]
async fn hived_config_with_a_leftover_steem_chain_id_is_accepted_for_hive() {
    let node = TestNode::start(Flavor::Appbase).await;
    node.route(CONDENSER_CONFIG, vec![Reply::Result(hived_1_25_config())]);
    let client = connect(&node, ChainProfile::hive()).await;
    assert_eq!(client.style(), ApiStyle::Condenser);
    assert_eq!(client.node_config().chain_id, ChainProfile::hive().chain_id);
    assert_eq!(
        client.node_config().blockchain_version.as_deref(),
        Some("1.25.0")
    );
    assert_eq!(ok(client.get_config().await), *client.node_config());
}

#[tokio::test]
async fn hived_config_does_not_pass_for_steem_by_its_leftover_key() {
    // Its STEEM_CHAIN_ID is Steem's id; the node's own HIVE_ family decides.
    let node = TestNode::start(Flavor::Appbase).await;
    node.route(CONDENSER_CONFIG, vec![Reply::Result(hived_1_25_config())]);
    let error = err(NodeClient::connect(&node.url, ChainProfile::steem(), options()).await);
    assert!(
        matches!(&error, RpcError::ChainIdMismatch { node, .. } if *node == ChainProfile::hive().chain_id),
        "{error:?}"
    );
}

#[tokio::test]
async fn disagreeing_chain_ids_without_a_version_key_follow_the_profile_family() {
    let mut config = hived_1_25_config();
    let Some(map) = config.as_object_mut() else {
        panic!("config is an object")
    };
    map.remove("HIVE_BLOCKCHAIN_VERSION");
    let node = TestNode::start(Flavor::Appbase).await;
    node.route(CONDENSER_CONFIG, vec![Reply::Result(config)]);
    let client = connect(&node, ChainProfile::hive()).await;
    assert_eq!(client.node_config().chain_id, ChainProfile::hive().chain_id);
    // VIT's families (STEEMIT_, VIT_) hold neither value: an error naming both keys.
    let error = err(NodeClient::connect(&node.url, ChainProfile::vit(), options()).await);
    assert!(
        matches!(&error, RpcError::InvalidResult { reason, .. }
            if reason.contains("HIVE_CHAIN_ID") && reason.contains("STEEM_CHAIN_ID")),
        "{error:?}"
    );
}

#[tokio::test]
async fn unknown_method_on_the_condenser_probe_keeps_the_legacy_answer() {
    let node = modern_node(vec![Reply::Error(appbase_no_method("get_config"))]).await;
    let client = connect(&node, ChainProfile::hive()).await;
    assert_eq!(client.style(), ApiStyle::LegacyCall);
}

#[tokio::test]
async fn jussi_without_an_upstream_for_condenser_api_keeps_the_legacy_answer() {
    // api.steemit.com in Feb 2018: jussi had no appbase upstream yet (steemit/jussi 1d6f106,
    // jussi/upstream.py); the recorded answer (shared/tests/data/nodes/jussi).
    let node = modern_node(vec![Reply::Error(jussi_error(
        1300,
        "Invalid/unhealthy upstream None : No matching url found",
    ))])
    .await;
    let client = connect(&node, ChainProfile::hive()).await;
    assert_eq!(client.style(), ApiStyle::LegacyCall);
    assert_eq!(node.count(CONDENSER_CONFIG), 1, "not retried");
}

#[tokio::test]
async fn passing_error_on_the_condenser_probe_is_retried_then_reported() {
    for body in [appbase_lock_error(), jussi_error(1000, "Request Timeout")] {
        let node = modern_node(vec![Reply::Error(body.clone())]).await;
        let error = err(NodeClient::connect(&node.url, ChainProfile::hive(), options()).await);
        assert!(
            matches!(error.node_error(), Some(NodeError::Other { .. })) && error.is_retryable(),
            "{body}: {error:?}"
        );
        assert!(error.to_string().contains(CONDENSER_CONFIG), "{error}");
        assert_eq!(
            node.count(CONDENSER_CONFIG),
            1 + options().read_retries as usize,
            "{body}"
        );
    }
}

#[tokio::test]
async fn passing_error_on_the_condenser_probe_that_clears_selects_condenser() {
    let node = modern_node(vec![
        Reply::Error(appbase_lock_error()),
        Reply::Result(hive_config()),
    ])
    .await;
    let client = connect(&node, ChainProfile::hive()).await;
    assert_eq!(client.style(), ApiStyle::Condenser);
    assert_eq!(node.count(CONDENSER_CONFIG), 2);
}

#[tokio::test]
async fn unusable_condenser_config_is_reported_not_replaced_by_the_legacy_style() {
    let mut config = hive_config();
    config["HIVE_CHAIN_ID"] = json!("not hex");
    let node = modern_node(vec![Reply::Result(config)]).await;
    let error = err(NodeClient::connect(&node.url, ChainProfile::hive(), options()).await);
    assert!(
        matches!(&error, RpcError::InvalidResult { at, .. } if at.method == CONDENSER_CONFIG),
        "{error:?}"
    );
}

#[tokio::test]
async fn unknown_api_on_the_legacy_probe_moves_on_to_condenser() {
    let answers = [
        // appbase without the 0.19-style database_api get_config.
        json!({"code": -32002, "message": "Assert Exception:api_itr != _registered_apis.end(): Could not find API database_api", "data": {"code": 10, "name": "assert_exception", "message": "Assert Exception"}}),
        // jussi routing a namespace it does not know (steemit/jussi jussi/urn.py).
        jussi_error(1200, "Invalid JSONRPC method namespace call"),
    ];
    for body in answers {
        // The HIVE profile asks condenser_api first: the legacy answer is never needed.
        let node = hive_node().await;
        node.route(LEGACY_CONFIG, vec![Reply::Error(body.clone())]);
        let client = connect(&node, ChainProfile::hive()).await;
        assert_eq!(client.style(), ApiStyle::Condenser, "{body}");
        assert_eq!(node.count(LEGACY_CONFIG), 0, "{body}");
    }
}

#[tokio::test]
async fn passing_error_on_the_first_probe_does_not_guess_a_style() {
    let node = hive_node().await;
    node.route(
        CONDENSER_CONFIG,
        vec![Reply::Error(jussi_error(1100, "Upstream response error"))],
    );
    let error = err(NodeClient::connect(&node.url, ChainProfile::hive(), options()).await);
    assert!(
        error.is_retryable() && !error.is_method_not_found(),
        "{error:?}"
    );
    assert_eq!(node.count(LEGACY_CONFIG), 0);
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
