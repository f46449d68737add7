//! End to end: per-node faults (frozen, lying total_missed, wrong chain id, refuse, error rate,
//! latency, dropped broadcasts) on one node while the other serves the shared chain normally.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use vwf_shared::ChainProfile;
use vwf_tests::client::{call, call_ok};
use vwf_tests::harness::SimChain;
use vwf_tests::wait::wait_for;

const BIN: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const POLL: Duration = Duration::from_millis(25);

async fn start() -> anyhow::Result<SimChain> {
    SimChain::spawn(BIN, &["--block-interval-ms", "100", "--nodes", "2"]).await
}

async fn head(node: &str) -> anyhow::Result<u64> {
    let dgp = call_ok(
        node,
        "database_api",
        "get_dynamic_global_properties",
        json!([]),
    )
    .await?;
    dgp["head_block_number"]
        .as_u64()
        .context("head_block_number")
}

#[tokio::test]
async fn a_frozen_node_serves_a_stale_head_while_the_other_advances() -> anyhow::Result<()> {
    let sim = start().await?;
    let control = sim.control();
    control.set_node_faults(1, json!({"frozen": true})).await?;
    let frozen = head(sim.node(1)).await?;
    wait_for(
        "the live node to advance",
        Duration::from_secs(5),
        POLL,
        || async { Ok(head(sim.node(0)).await? > frozen + 3) },
    )
    .await?;
    assert_eq!(head(sim.node(1)).await?, frozen);
    control.set_node_faults(1, json!({"frozen": false})).await?;
    assert!(head(sim.node(1)).await? > frozen + 3);
    Ok(())
}

#[tokio::test]
async fn lying_and_wrong_chain_id_apply_to_one_node_only() -> anyhow::Result<()> {
    let sim = start().await?;
    let control = sim.control();
    let faults = control
        .set_node_faults(1, json!({"lie_total_missed": 5, "wrong_chain_id": true}))
        .await?;
    assert_eq!(faults["lie_total_missed"], 5);
    assert_eq!(missed(sim.node(0)).await?, 0);
    assert_eq!(missed(sim.node(1)).await?, 5);
    let real = json!(ChainProfile::vit().chain_id.to_string());
    assert_eq!(chain_id(sim.node(0)).await?, real);
    assert_ne!(chain_id(sim.node(1)).await?, real);
    control
        .set_node_faults(1, json!({"lie_total_missed": null}))
        .await?;
    assert_eq!(missed(sim.node(1)).await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_refusing_node_closes_its_port_and_reopens_it() -> anyhow::Result<()> {
    let sim = start().await?;
    let control = sim.control();
    control.set_node_faults(1, json!({"refuse": true})).await?;
    wait_for("node 1 to refuse", Duration::from_secs(5), POLL, || async {
        Ok(head(sim.node(1)).await.is_err())
    })
    .await?;
    assert!(head(sim.node(0)).await? > 0, "node 0 still serves");
    control.set_node_faults(1, json!({"refuse": false})).await?;
    wait_for(
        "node 1 to serve again",
        Duration::from_secs(5),
        POLL,
        || async { Ok(head(sim.node(1)).await.is_ok()) },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn error_rate_and_latency_disturb_answers() -> anyhow::Result<()> {
    let sim = start().await?;
    let control = sim.control();
    control
        .set_node_faults(1, json!({"error_rate": 1.0}))
        .await?;
    for _ in 0..10 {
        match call(sim.node(1), "database_api", "get_config", json!([])).await {
            Ok(response) => assert!(response.get("error").is_some(), "{response}"),
            Err(e) => assert!(e.to_string().contains("HTTP 500"), "{e:#}"),
        }
    }
    assert!(
        control
            .set_node_faults(1, json!({"error_rate": 2.0}))
            .await
            .is_err()
    );
    assert!(
        control
            .set_node_faults(1, json!({"colour": 1}))
            .await
            .is_err()
    );
    control
        .set_node_faults(1, json!({"error_rate": 0.0, "latency_ms": 300}))
        .await?;
    let started = Instant::now();
    head(sim.node(1)).await?;
    assert!(started.elapsed() >= Duration::from_millis(300));
    Ok(())
}

#[tokio::test]
async fn a_dropped_synchronous_broadcast_answers_expired_and_never_lands() -> anyhow::Result<()> {
    use vwf_tests::tx::{head_of, sign, test_public_key, to_value, transaction, witness_update};
    let sim = start().await?;
    let control = sim.control();
    let faults = control
        .set_node_faults(0, json!({"drop_broadcasts": 1}))
        .await?;
    assert_eq!(faults["drop_broadcasts"], 1);
    let profile = ChainProfile::vit();
    let node = sim.node(0).to_owned();
    let signed = async |lifetime: u32| {
        let (head_id, time) = head_of(&node).await?;
        let op = witness_update(&profile, "vit-test-witness", test_public_key(2)?);
        let tx = sign(transaction(op, &head_id, time, lifetime)?, 0, &profile)?;
        to_value(&tx, &profile)
    };
    let broadcast = async |tx: serde_json::Value| {
        call_ok(
            &node,
            "network_broadcast_api",
            "broadcast_transaction_synchronous",
            json!([tx]),
        )
        .await
    };
    // Dropped: answered as expired once the head passes the 2 s expiration, never applied.
    let started = Instant::now();
    let answer = broadcast(signed(2).await?).await?;
    assert_eq!(answer["expired"], true, "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    let history = control.history().await?;
    assert_eq!(history["updates"].as_array().map(Vec::len), Some(0));
    let status = control.status().await?;
    assert_eq!(status["nodes"][0]["faults"]["drop_broadcasts"], 0);
    // The next broadcast goes through.
    let answer = broadcast(signed(30).await?).await?;
    assert_eq!(answer["expired"], false, "{answer}");
    let history = control.history().await?;
    assert_eq!(history["updates"].as_array().map(Vec::len), Some(1));
    Ok(())
}

async fn missed(node: &str) -> anyhow::Result<u64> {
    let w = call_ok(
        node,
        "database_api",
        "get_witness_by_account",
        json!(["vit-test-witness"]),
    )
    .await?;
    w["total_missed"].as_u64().context("total_missed")
}

async fn chain_id(node: &str) -> anyhow::Result<serde_json::Value> {
    let c = call_ok(node, "database_api", "get_config", json!([])).await?;
    Ok(c["STEEMIT_CHAIN_ID"].clone())
}
