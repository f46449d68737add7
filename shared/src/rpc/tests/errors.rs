//! Node refusals mapped from fc's text, and every transport failure as its own variant.

use std::time::Duration;

use serde_json::{Value, json};

use super::capture::Capture;
use super::fixtures::{
    LEGACY_TEXTS, appbase_error, appbase_lock_error, jussi_error, legacy_error,
    legacy_error_with_data, legacy_summary, vit_dgp, vit_tx,
};
use super::server::{Reply, chunked_server};
use super::{connect, err, hive_node, ok, options, vit_node};
use crate::profile::ChainProfile;
use crate::rpc::style::{Api, ApiStyle};
use crate::rpc::transport::Transport;
use crate::rpc::{ClientOptions, MAX_ERROR_TEXT, NodeClient, NodeError, RpcError};

const DGP: &str = "database_api.get_dynamic_global_properties";

fn expected_kind(name: &str) -> NodeError {
    match name {
        "missing_authority" => NodeError::MissingAuthority,
        "duplicate_transaction" => NodeError::DuplicateTransaction,
        "expired" => NodeError::Expired,
        "tapos" => NodeError::Tapos,
        "irrelevant_signature" => NodeError::IrrelevantSignature,
        "duplicate_signature" => NodeError::DuplicateSignature,
        "not_canonical" => NodeError::NotCanonical,
        other => panic!("no kind for {other}"),
    }
}

#[tokio::test]
async fn legacy_refusals_map_to_their_kind() {
    let (tx, _, _) = vit_tx();
    for (name, text) in LEGACY_TEXTS {
        let node = vit_node().await;
        node.route(
            "network_broadcast_api.broadcast_transaction",
            vec![Reply::Error(legacy_error(text))],
        );
        let client = connect(&node, ChainProfile::vit()).await;
        let error = err(client.broadcast_transaction(&tx).await);
        match &error {
            RpcError::Node {
                code,
                kind,
                detail,
                at,
            } => {
                assert_eq!(*kind, expected_kind(name), "{name}");
                assert_eq!(*code, 1);
                assert_eq!(detail, legacy_summary(name), "{name}");
                assert_eq!(at.method, "network_broadcast_api.broadcast_transaction");
                assert_eq!(at.url, node.url);
            }
            other => panic!("{name}: expected a node error, got {other:?}"),
        }
        assert!(!error.is_node_fault() && !error.is_retryable(), "{name}");
        assert_eq!(node.count("network_broadcast_api.broadcast_transaction"), 1);
        // Shown in one line: the kind's meaning, then the exception name and the cause.
        let shown = error.to_string();
        assert!(!shown.contains('\n'), "{name}: {shown}");
        assert!(shown.ends_with(legacy_summary(name)), "{name}: {shown}");
    }
}

#[tokio::test]
async fn appbase_refusals_map_from_message_or_data() {
    let (tx, _, _) = vit_tx();
    let hive = ChainProfile::hive();
    let cases = [
        (
            "missing required active authority:Missing Active Authority vit-test-witness",
            "tx_missing_active_auth",
            NodeError::MissingAuthority,
        ),
        (
            "Assert Exception:false: Unnecessary signature(s) detected",
            "tx_irrelevant_sig",
            NodeError::IrrelevantSignature,
        ),
        // Only the exception name, in data, tells what happened.
        (
            "Internal Error",
            "transaction_tapos_exception",
            NodeError::Tapos,
        ),
        (
            "Internal Error",
            "transaction_expiration_exception",
            NodeError::Expired,
        ),
        (
            "Internal Error",
            "tx_duplicate_sig",
            NodeError::DuplicateSignature,
        ),
    ];
    for (message, name, kind) in cases {
        let node = hive_node().await;
        node.route(
            "condenser_api.broadcast_transaction",
            vec![Reply::Error(appbase_error(message, name, 3_010_000))],
        );
        let client = connect(&node, hive.clone()).await;
        let error = err(client.broadcast_transaction(&tx).await);
        assert!(
            matches!(&error, RpcError::Node { code: -32000, kind: k, .. } if *k == kind),
            "{name}: {error:?}"
        );
    }
}

#[tokio::test]
async fn unknown_refusal_keeps_a_truncated_text_and_counts_as_node_fault() {
    let node = vit_node().await;
    let long = format!(
        "13 N5boost16exception_detail10clone_implINS0_19error_info_injectorISt12out_of_rangeEEEE: {}",
        "x".repeat(4000)
    );
    node.route(DGP, vec![Reply::Error(legacy_error(&long))]);
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_dynamic_global_properties().await);
    match error.node_error() {
        Some(NodeError::Other { text }) => {
            assert!(text.starts_with("N5boost16exception_detail"), "{text}");
            assert!(text.len() <= MAX_ERROR_TEXT + 3);
        }
        other => panic!("expected Other, got {other:?}"),
    }
    assert!(error.is_node_fault() && !error.is_retryable());
    assert_eq!(node.count(DGP), 1, "node refusals are not retried");
}

#[tokio::test]
async fn http_error_with_a_jsonrpc_body_is_read_as_the_node_error() {
    let node = vit_node().await;
    let body = json!({"id": 2, "error": legacy_error(LEGACY_TEXTS[0].1)}).to_string();
    node.route(DGP, vec![Reply::Status(500, body)]);
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_dynamic_global_properties().await);
    assert_eq!(
        error.node_error(),
        Some(&NodeError::MissingAuthority),
        "{error:?}"
    );
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let node = vit_node().await;
    let big = json!({"id": 2, "result": "x".repeat(100_000)}).to_string();
    node.route(DGP, vec![Reply::Raw(big)]);
    let small = ClientOptions {
        max_response_bytes: 64 * 1024,
        ..options()
    };
    let client = ok(NodeClient::connect(&node.url, ChainProfile::vit(), small).await);
    let error = err(client.get_dynamic_global_properties().await);
    assert!(
        matches!(error, RpcError::BodyTooLarge { limit: 65_536, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn oversized_chunked_body_is_cut_off_while_streaming() {
    let (url, _server) = chunked_server(64 * 1024 * 1024).await;
    let small = ClientOptions {
        max_response_bytes: 256 * 1024,
        read_retries: 0,
        ..options()
    };
    let transport = ok(Transport::new(&url, small));
    let error = err(transport
        .read(ApiStyle::LegacyCall, Api::Database, "get_config", &[])
        .await);
    assert!(matches!(error, RpcError::BodyTooLarge { .. }), "{error:?}");
}

#[tokio::test]
async fn slow_answer_times_out() {
    let node = vit_node().await;
    node.route(
        DGP,
        vec![Reply::Delay(
            Duration::from_secs(3),
            Box::new(Reply::Result(vit_dgp(1, "2024-01-01T00:00:30"))),
        )],
    );
    let no_retry = ClientOptions {
        read_retries: 0,
        ..options()
    };
    let client = ok(NodeClient::connect(&node.url, ChainProfile::vit(), no_retry).await);
    let error = err(client.get_dynamic_global_properties().await);
    assert!(matches!(error, RpcError::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable() && error.is_node_fault());
    let text = error.to_string();
    assert!(text.contains(&node.url) && text.contains(DGP), "{text}");
}

#[tokio::test]
async fn malformed_json_and_wrong_ids_are_refused() {
    let node = vit_node().await;
    node.route(DGP, vec![Reply::Raw("{\"id\":2,\"result\":{".into())]);
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_dynamic_global_properties().await);
    assert!(
        matches!(error, RpcError::MalformedResponse { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());

    node.route(DGP, vec![Reply::WrongId(vit_dgp(1, "2024-01-01T00:00:30"))]);
    let error = err(client.get_dynamic_global_properties().await);
    assert!(matches!(error, RpcError::IdMismatch { .. }), "{error:?}");

    node.route(DGP, vec![Reply::Result(json!({"head_block_number": 1}))]);
    let error = err(client.get_dynamic_global_properties().await);
    assert!(matches!(error, RpcError::InvalidResult { .. }), "{error:?}");
}

#[tokio::test]
async fn failed_read_is_retried_and_succeeds_on_the_second_try() {
    let node = vit_node().await;
    node.route(
        DGP,
        vec![
            Reply::Status(503, "<html>503 Service Unavailable</html>".into()),
            Reply::Result(vit_dgp(9, "2024-01-01T00:00:30")),
        ],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let dgp = ok(client.get_dynamic_global_properties().await);
    assert_eq!(dgp.head_block_number, 9);
    assert_eq!(node.count(DGP), 2);
}

#[tokio::test]
async fn timed_out_read_is_retried() {
    let node = vit_node().await;
    node.route(
        DGP,
        vec![
            Reply::Delay(Duration::from_secs(3), Box::new(Reply::Result(Value::Null))),
            Reply::Result(vit_dgp(9, "2024-01-01T00:00:30")),
        ],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    assert_eq!(
        ok(client.get_dynamic_global_properties().await).head_block_number,
        9
    );
    assert_eq!(node.count(DGP), 2);
}

#[tokio::test]
async fn persistent_http_failure_gives_up_after_the_retries() {
    let node = vit_node().await;
    node.route(
        DGP,
        vec![Reply::Status(502, "<html>Bad Gateway</html>".into())],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_dynamic_global_properties().await);
    assert!(
        matches!(error, RpcError::HttpStatus { status: 502, .. }),
        "{error:?}"
    );
    assert_eq!(node.count(DGP), 1 + options().read_retries as usize);
}

#[tokio::test]
async fn legacy_unknown_method_shows_the_cause_in_one_line_and_logs_the_whole_text() {
    // steemd 0.19: the first line is only "10 assert_exception: Assert Exception".
    let node = vit_node().await;
    let text = "10 assert_exception: Assert Exception\n\
        itr != _by_name.end(): no method with name 'get_block'\n    \
        {\"name\":\"get_block\",\"api\":{\"get_config\":2}}\n    \
        th_a  api_connection.hpp:109 call\n\n    \
        {\"call.method\":\"call\",\"call.params\":[\"database_api\",\"get_block\",[1]]}\n    \
        th_a  websocket_api.cpp:124 on_message";
    node.route(
        "database_api.get_block",
        vec![Reply::Error(legacy_error_with_data(
            text,
            "assert_exception",
            10,
        ))],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let capture = Capture::default();
    let error = {
        let _log = tracing::subscriber::set_default(capture.clone());
        err(client.get_block(1).await)
    };
    let shown = error.to_string();
    assert_eq!(
        shown,
        format!(
            "{} database_api.get_block: node refused (code 1): assert_exception: no method with \
             name 'get_block'",
            node.url
        )
    );
    assert!(error.is_method_not_found() && !error.is_retryable());
    assert_eq!(node.count("database_api.get_block"), 1, "not retried");
    // The whole body, stack included, went to the debug log.
    let events = capture.events();
    assert!(
        events
            .iter()
            .any(|e| e.contains("websocket_api.cpp:124 on_message") && e.contains("code=1")),
        "{events:?}"
    );
}

#[tokio::test]
async fn appbase_and_jussi_errors_show_one_line() {
    let cases = [
        (
            appbase_error(
                "missing required active authority:Missing Active Authority vit-test-witness",
                "tx_missing_active_auth",
                3_010_000,
            ),
            "tx_missing_active_auth: missing required active authority:Missing Active Authority vit-test-witness",
        ),
        (appbase_lock_error(), "Unable to acquire database lock"),
        (jussi_error(1000, "Request Timeout"), "Request Timeout"),
        (
            jussi_error(
                1100,
                "Upstream response error: upstream returned empty body with HTTP 502",
            ),
            "Upstream response error: upstream returned empty body with HTTP 502",
        ),
    ];
    let (tx, _, _) = vit_tx();
    for (body, summary) in cases {
        let node = hive_node().await;
        node.route(
            "condenser_api.broadcast_transaction",
            vec![Reply::Error(body)],
        );
        let client = connect(&node, ChainProfile::hive()).await;
        let error = err(client.broadcast_transaction(&tx).await);
        let shown = error.to_string();
        assert!(!shown.contains('\n'), "{shown}");
        assert!(shown.ends_with(summary), "{shown}");
        assert!(
            matches!(&error, RpcError::Node { detail, .. } if detail == summary),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn html_error_page_is_shown_in_one_line() {
    let node = vit_node().await;
    node.route(
        DGP,
        vec![Reply::Status(
            404,
            "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\n</body>\n</html>"
                .into(),
        )],
    );
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_dynamic_global_properties().await);
    assert!(
        error.to_string().ends_with(
            "HTTP status 404: <html> <head><title>404 Not Found</title></head> <body> </body> </html>"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn passing_node_errors_are_retried_on_reads() {
    let cases = [
        jussi_error(1000, "Request Timeout"),
        jussi_error(1050, "Response Timeout"),
        jussi_error(
            1100,
            "Upstream response error: upstream returned invalid JSON",
        ),
        jussi_error(-32603, "Internal Error"),
        appbase_lock_error(),
    ];
    for body in cases {
        let node = vit_node().await;
        node.route(
            DGP,
            vec![
                Reply::Error(body.clone()),
                Reply::Result(vit_dgp(9, "2024-01-01T00:00:30")),
            ],
        );
        let client = connect(&node, ChainProfile::vit()).await;
        let dgp = ok(client.get_dynamic_global_properties().await);
        assert_eq!(dgp.head_block_number, 9, "{body}");
        assert_eq!(node.count(DGP), 2, "{body}");
    }
}

#[tokio::test]
async fn persistent_passing_error_gives_up_after_the_retries_as_retryable() {
    let node = vit_node().await;
    node.route(DGP, vec![Reply::Error(appbase_lock_error())]);
    let client = connect(&node, ChainProfile::vit()).await;
    let error = err(client.get_dynamic_global_properties().await);
    assert!(
        matches!(error.node_error(), Some(NodeError::Other { text }) if text == "Unable to acquire database lock")
    );
    assert!(error.is_retryable() && error.is_node_fault());
    assert_eq!(node.count(DGP), 1 + options().read_retries as usize);
}

#[tokio::test]
async fn other_error_during_call_and_unknown_methods_are_not_retried() {
    let cases = [
        // -32003 also carries the method's own assertion: not a lock, not passing.
        json!({"code": -32003, "message": "Assert Exception:false: no block 7", "data": {"code": 10, "name": "assert_exception", "message": "Assert Exception"}}),
        // jussi 1300: a method it cannot route (steemit/jussi jussi/urn.py), not a passing error.
        jussi_error(
            1300,
            "Invalid JSONRPC method namespace, unable to resolve steemd.7",
        ),
        json!({"code": -32601, "message": "Method not found"}),
    ];
    for body in cases {
        let node = vit_node().await;
        node.route(DGP, vec![Reply::Error(body.clone())]);
        let client = connect(&node, ChainProfile::vit()).await;
        let error = err(client.get_dynamic_global_properties().await);
        assert!(!error.is_retryable(), "{body}: {error:?}");
        assert_eq!(node.count(DGP), 1, "{body}");
    }
}

#[tokio::test]
async fn passing_errors_are_never_retried_on_broadcasts() {
    let (tx, _, _) = vit_tx();
    for body in [jussi_error(1000, "Request Timeout"), appbase_lock_error()] {
        let node = vit_node().await;
        node.route(
            "network_broadcast_api.broadcast_transaction",
            vec![Reply::Error(body.clone()), Reply::Result(Value::Null)],
        );
        let client = connect(&node, ChainProfile::vit()).await;
        let error = err(client.broadcast_transaction(&tx).await);
        assert!(error.is_retryable(), "{body}: {error:?}");
        assert_eq!(
            node.count("network_broadcast_api.broadcast_transaction"),
            1,
            "{body}: a broadcast is sent once"
        );
    }
}
