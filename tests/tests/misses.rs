//! End to end: a server going down produces misses visible at the next block, and a null key
//! takes the witness out of the schedule at the next round.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use vwf_shared::{ChainProfile, PublicKey};
use vwf_tests::client::call_ok;
use vwf_tests::harness::SimChain;
use vwf_tests::tx::{head_of, sign, to_value, transaction, witness_update};
use vwf_tests::wait::{wait_for, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const OWNER: &str = "vit-test-witness";
const POLL: Duration = Duration::from_millis(25);

const CONFIG: &str = r#"
[[witness]]
name = "vit-test-witness"
active_key = "VIT84Ceg4qMGbozJgq9524Dc8qFqoLySP5xSihYNdRSdiERFXB5B4"
signing_key = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG"

[[server]]
name = "primary"
signing_key = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG"
"#;

async fn total_missed(node: &str) -> anyhow::Result<u64> {
    let w = call_ok(
        node,
        "database_api",
        "get_witness_by_account",
        json!([OWNER]),
    )
    .await?;
    w["total_missed"].as_u64().context("total_missed")
}

fn ours(list: &Value) -> Vec<&Value> {
    list.as_array()
        .map(|a| a.iter().filter(|m| m["witness"] == OWNER).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_down_server_makes_misses_visible_at_the_next_block() -> anyhow::Result<()> {
    let sim = SimChain::spawn_with_config(BIN, CONFIG, &["--block-interval-ms", "100"]).await?;
    let (node, control) = (sim.node(0), sim.control());
    assert_eq!(total_missed(node).await?, 0);
    control.set_server("primary", false).await?;
    wait_for("two misses", Duration::from_secs(10), POLL, || async {
        Ok(total_missed(node).await? >= 2)
    })
    .await?;
    control.set_server("primary", true).await?;
    // Once the witness produces again no new miss can appear for it.
    let head = control.head_num().await?;
    wait_for(
        "the witness to produce again",
        Duration::from_secs(10),
        POLL,
        || async {
            let w = control.witness(OWNER).await?;
            Ok(w["last_confirmed_block_num"].as_u64().unwrap_or(0) > head)
        },
    )
    .await?;
    let missed = total_missed(node).await?;
    let history = control.history().await?;
    let misses = ours(&history["misses"]);
    assert_eq!(
        misses.len() as u64,
        missed,
        "total_missed counts exactly the missed slots"
    );
    let blocks = history["blocks"].as_array().context("blocks")?;
    for miss in misses {
        let slot = miss["slot_time_ms"].as_u64().context("slot time")?;
        let num = miss["block_num"].as_u64().context("block_num")?;
        assert!(
            blocks.iter().all(|b| b["time_ms"].as_u64() != Some(slot)),
            "no block in a missed slot"
        );
        let at = |n: u64| {
            blocks
                .get(usize::try_from(n - 1).unwrap_or(0))
                .and_then(|b| b["time_ms"].as_u64())
        };
        assert!(
            at(num - 1) < Some(slot) && at(num) > Some(slot),
            "visible at the block after the slot"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_null_key_leaves_the_schedule_at_the_next_round() -> anyhow::Result<()> {
    let sim = SimChain::spawn_with_config(BIN, CONFIG, &["--block-interval-ms", "100"]).await?;
    let (node, control) = (sim.node(0), sim.control());
    let vit = ChainProfile::vit();
    let (head, time) = head_of(node).await?;
    let tx = transaction(
        witness_update(&vit, OWNER, PublicKey::NULL),
        &head,
        time,
        60,
    )?;
    let tx = to_value(&sign(tx, 0, &vit)?, &vit)?;
    let included = tokio::time::timeout(
        Duration::from_secs(10),
        call_ok(
            node,
            "network_broadcast_api",
            "broadcast_transaction_synchronous",
            json!([tx]),
        ),
    )
    .await??;
    let block = included["block_num"].as_u64().context("block_num")?;
    let left_at = wait_until(
        "the witness to leave the schedule",
        Duration::from_secs(10),
        POLL,
        || async {
            let status = control.status().await?;
            let scheduled = status["witnesses"].as_array().and_then(|ws| {
                ws.iter()
                    .find(|w| w["name"] == OWNER)
                    .map(|w| w["scheduled"] == true)
            });
            Ok((scheduled == Some(false)).then(|| status["head"]["num"].as_u64().unwrap_or(0)))
        },
    )
    .await?;
    assert!(
        left_at >= block.next_multiple_of(21),
        "left at {left_at}, applied at {block}"
    );
    let w = control.witness(OWNER).await?;
    assert_eq!(
        w["signing_key"],
        json!(PublicKey::NULL.to_string_with_prefix("VIT"))
    );
    // Out of the schedule, it misses nothing more over a full round.
    let missed = total_missed(node).await?;
    let target = control.head_num().await? + 22;
    wait_for("a full round", Duration::from_secs(10), POLL, || async {
        Ok(control.head_num().await? >= target)
    })
    .await?;
    assert_eq!(total_missed(node).await?, missed);
    Ok(())
}
