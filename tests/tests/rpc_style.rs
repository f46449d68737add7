//! End to end: the VIT 0.19 envelope, malformed requests, and a clean exit on SIGTERM.

use serde_json::json;
use vwf_tests::client::{call, http, post_json};
use vwf_tests::harness::SimChain;

const BIN: &str = env!("CARGO_BIN_EXE_vwf-simchain");

#[tokio::test]
async fn vit_answers_like_steemd_0_19() -> anyhow::Result<()> {
    let sim = SimChain::spawn(BIN, &["--block-interval-ms", "200"]).await?;
    assert_eq!(sim.ports.profile, "VIT");
    let node = sim.node(0);
    let config = call(node, "database_api", "get_config", json!([])).await?;
    assert!(config.get("jsonrpc").is_none());
    assert_eq!(config["result"]["STEEMIT_ADDRESS_PREFIX"], "VIT");
    assert_eq!(
        config["result"]["STEEMIT_CHAIN_ID"],
        json!(sim.ports.chain_id)
    );
    let bare = post_json(
        node,
        &json!({"id": 3, "method": "get_dynamic_global_properties", "params": []}),
    )
    .await?
    .1;
    assert_eq!(bare["id"], 3);
    assert!(
        bare["result"]["head_block_id"]
            .as_str()
            .is_some_and(|s| s.len() == 40)
    );
    // steemd 0.19: an API name it does not know resolves to API 0 (database_api), so
    // `call condenser_api get_config` is answered as database_api's (recorded from
    // steemd.steemit.com in shared/tests/data/nodes/steemd-0.19/).
    let condenser = call(node, "condenser_api", "get_config", json!([])).await?;
    assert!(
        condenser["result"]["STEEMIT_CHAIN_ID"].is_string(),
        "{condenser}"
    );
    let unknown = call(
        node,
        "database_api",
        "get_witness_by_account",
        json!(["nobody-here"]),
    )
    .await?;
    assert_eq!(unknown["result"], serde_json::Value::Null);
    let accounts = call(
        node,
        "database_api",
        "get_accounts",
        json!([["vit-test-witness"]]),
    )
    .await?;
    assert_eq!(
        accounts["result"][0]["active"]["key_auths"][0][0],
        "VIT84Ceg4qMGbozJgq9524Dc8qFqoLySP5xSihYNdRSdiERFXB5B4"
    );
    let version = call(node, "login_api", "get_version", json!([])).await?;
    assert!(version["result"]["blockchain_version"].is_string());
    Ok(())
}

#[tokio::test]
async fn malformed_requests_get_errors_not_crashes() -> anyhow::Result<()> {
    let sim = SimChain::spawn(BIN, &["--block-interval-ms", "200"]).await?;
    let node = sim.node(0);
    let (status, body) = http(hyper::Method::POST, node, Some(&json!("not an object"))).await?;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("Invalid Request"));
    let raw = reqwest_free_post(node, "{not json").await?;
    assert!(raw.contains("4 parse_error_exception"), "{raw}");
    for bad in [
        json!({"method":"call","params":[1]}),
        json!({"method":"call","params":["database_api","get_block",[{}]]}),
        json!({"method":"call","params":["network_broadcast_api","broadcast_transaction",[[1,2]]]}),
    ] {
        let answer = post_json(node, &bad).await?.1;
        assert!(
            answer.get("error").is_some() || answer["result"].is_null(),
            "{answer}"
        );
    }
    assert!(
        call(node, "database_api", "get_config", json!([]))
            .await?
            .get("result")
            .is_some()
    );
    let status = sim.stop().await?;
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    Ok(())
}

/// Posts raw text (not JSON) and returns the answer body.
async fn reqwest_free_post(url: &str, text: &str) -> anyhow::Result<String> {
    let stream = tokio::net::TcpStream::connect(url.trim_start_matches("http://")).await?;
    let (mut read, mut write) = stream.into_split();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    write.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        read.read_to_string(&mut answer),
    )
    .await??;
    Ok(answer)
}
