//! System-level fault injection: real `vwf-simchain`, `vwf-signer serve` and `vwf-monitor run`
//! on 127.0.0.1, faults set through the simulator's control API or by stopping processes.
//!
//! Every scenario asserts both halves of the contract:
//! * **no false disable**: while the fault is on and the active server is fine, nothing is
//!   broadcast, and no scenario ever ends with an extra key change (least of all the null key);
//! * **no swallowed disable**: when the active server really fails, the switch happens, exactly
//!   once, after the fault is survived.
//!
//! Scenarios covered elsewhere (not repeated here): a lying node inflating and deflating
//! `total_missed` and a monitor killed after saving its intent (`failover.rs`), a duplicate
//! request id, requests for other accounts and keys, and TLS without or with wrong
//! certificates (`signer.rs`).

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use vwf_shared::ChainProfile;
use vwf_tests::client::call_ok;
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorExtras, MonitorOptions, MonitorSetup};
use vwf_tests::process::Daemon;
use vwf_tests::signer::{ACCOUNT, MONITOR, SignerOptions, SignerSetup, default_policy};
use vwf_tests::tx::{
    NULL_KEY, head_of, sign, test_key, test_public_key, to_value, transaction, witness_update,
};
use vwf_tests::wait::{wait_for, wait_until};

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const BLOCK_MS: u64 = 150;
/// Room for a few 21-slot rounds (3.15 s each), a signer retry and a 10 s expiration.
const ACT_LIMIT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(50);
/// Blocks to watch for an unwanted action: more than one round, so every witness had a slot.
const SETTLE_BLOCKS: u64 = 25;

/// A simulator config: `vit-test-witness` (active = test key 0, signing = test key 1) and one
/// server per `(name, test key index)`.
fn sim_config(servers: &[(&str, usize)]) -> anyhow::Result<String> {
    let mut text = format!(
        "[[witness]]\nname = \"{ACCOUNT}\"\nactive_key = \"{}\"\nsigning_key = \"{}\"\n",
        test_key(0)?,
        test_key(1)?
    );
    for (name, index) in servers {
        text.push_str(&format!(
            "\n[[server]]\nname = \"{name}\"\nsigning_key = \"{}\"\n",
            test_key(*index)?
        ));
    }
    Ok(text)
}

/// What a scenario runs on.
struct Spec {
    /// Simulator JSON-RPC ports.
    nodes: usize,
    /// Simulator config (default: primary = key 1, backup = key 2).
    sim_config: Option<String>,
    /// Node indices the signer uses, in its order.
    signer_nodes: Vec<usize>,
    /// The `[[account]]` policy.
    policy: String,
    /// Signer options.
    signer: SignerOptions,
}

impl Spec {
    fn new() -> anyhow::Result<Self> {
        Ok(Spec {
            nodes: 3,
            sim_config: None,
            signer_nodes: vec![0, 1, 2],
            policy: default_policy(5)?,
            signer: SignerOptions::default(),
        })
    }
}

struct System {
    sim: SimChain,
    setup: SignerSetup,
    signer: Option<Daemon>,
    address: String,
}

impl System {
    /// Starts the simulator, then the signer; the signer's address is pinned so that a
    /// restart serves where the monitors point.
    async fn start(spec: Spec, signer_log: bool) -> anyhow::Result<Self> {
        let (interval, nodes) = (BLOCK_MS.to_string(), spec.nodes.to_string());
        let args = ["--nodes", nodes.as_str(), "--block-interval-ms", &interval];
        let sim = match &spec.sim_config {
            Some(config) => SimChain::spawn_with_config(SIM, config, &args).await?,
            None => SimChain::spawn(SIM, &args).await?,
        };
        let signer_nodes: Vec<&str> = spec.signer_nodes.iter().map(|i| sim.node(*i)).collect();
        let setup = SignerSetup::create_with(&signer_nodes, &spec.policy, &spec.signer)?;
        let mut system = System {
            sim,
            setup,
            signer: None,
            address: String::new(),
        };
        system.start_signer(signer_log).await?;
        system.setup.pin_address(&system.address)?;
        Ok(system)
    }

    fn signer_log(&self) -> std::path::PathBuf {
        self.setup.dir.path().join("signer.log")
    }

    /// (Re)starts the signer; with `logged`, its log goes to `signer.log` (appended to by
    /// nothing: a restart with `logged` overwrites it).
    async fn start_signer(&mut self, logged: bool) -> anyhow::Result<()> {
        let log = self.signer_log();
        let daemon = if logged {
            self.setup.start_logged(&[], Some(&log)).await?
        } else {
            self.setup.start().await?
        };
        self.address = daemon.field("listening")?;
        self.signer = Some(daemon);
        Ok(())
    }

    async fn kill_signer(&mut self) -> anyhow::Result<()> {
        if let Some(daemon) = self.signer.take() {
            daemon.kill().await?;
        }
        Ok(())
    }

    fn nodes(&self, indices: &[usize]) -> Vec<&str> {
        indices.iter().map(|i| self.sim.node(*i)).collect()
    }

    fn monitor(
        &self,
        name: &str,
        nodes: &[usize],
        options: &MonitorOptions,
        extras: &MonitorExtras,
    ) -> anyhow::Result<MonitorSetup> {
        MonitorSetup::create_with(
            &self.setup,
            name,
            &self.address,
            &self.nodes(nodes),
            options,
            extras,
        )
    }

    /// Starts a monitor on `nodes` and waits until it has an agreed reading (primary active).
    async fn watching(
        &self,
        name: &str,
        nodes: &[usize],
        options: &MonitorOptions,
        extras: &MonitorExtras,
    ) -> anyhow::Result<(MonitorSetup, Daemon)> {
        let setup = self.monitor(name, nodes, options, extras)?;
        let daemon = setup.start(&[]).await?;
        wait_state(&setup, "an agreed reading", |s| {
            active_server(s) == Some("primary")
        })
        .await?;
        Ok((setup, daemon))
    }

    /// Waits until exactly `expected` key changes are applied, in order.
    async fn wait_keys(&self, what: &str, expected: &[&str]) -> anyhow::Result<()> {
        let sim = &self.sim;
        wait_for(what, ACT_LIMIT, POLL, || async move {
            let keys = sim.control().applied_keys().await?;
            let prefix = keys.len() <= expected.len()
                && keys.iter().zip(expected).all(|(k, e)| k.as_str() == *e);
            if !prefix {
                anyhow::bail!("unexpected key changes {keys:?}, expected {expected:?}");
            }
            Ok(keys == expected)
        })
        .await
    }

    /// Waits `blocks` more blocks by head number.
    async fn wait_blocks(&self, blocks: u64) -> anyhow::Result<()> {
        let control = self.sim.control();
        let head = control.head_num().await?;
        wait_for(
            &format!("{blocks} more blocks"),
            ACT_LIMIT,
            POLL,
            || async { Ok(control.head_num().await? >= head + blocks) },
        )
        .await
    }

    /// Waits [`SETTLE_BLOCKS`] and asserts that the key changes are still exactly `expected`.
    async fn assert_settled(&self, what: &str, expected: &[&str]) -> anyhow::Result<()> {
        self.wait_blocks(SETTLE_BLOCKS).await?;
        let keys = self.sim.control().applied_keys().await?;
        anyhow::ensure!(
            keys == expected,
            "{what}: key changes {keys:?}, expected {expected:?}"
        );
        Ok(())
    }

    /// The audit entries with `decision`.
    fn audited(&self, decision: &str) -> anyhow::Result<Vec<Value>> {
        self.setup.audited(decision)
    }
}

/// Primary (key 1) then backup (key 2), threshold `missed` blocks, quorum 2.
fn options(missed: u32) -> anyhow::Result<MonitorOptions> {
    Ok(MonitorOptions {
        servers: vec![
            ("primary".into(), test_key(1)?),
            ("backup".into(), test_key(2)?),
        ],
        missed_blocks: missed,
        block_interval_ms: BLOCK_MS,
        quorum: 2,
        dry_run: false,
    })
}

/// Waits until the monitor's saved state satisfies `check`.
async fn wait_state(
    setup: &MonitorSetup,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    wait_until(what, ACT_LIMIT, POLL, || async {
        let state = setup.state()?;
        Ok(check(&state).then_some(state))
    })
    .await
}

fn active_server(state: &Value) -> Option<&str> {
    (state["mode"]["kind"] == "active")
        .then(|| state["mode"]["server"].as_str())
        .flatten()
}

#[tokio::test]
async fn flaky_nodes_with_errors_and_timeouts_neither_disable_nor_block_a_failover()
-> anyhow::Result<()> {
    let mut spec = Spec::new()?;
    // The signer reads and broadcasts through the healthy node first.
    spec.signer_nodes = vec![2, 0, 1];
    let system = System::start(spec, false).await?;
    let control = system.sim.control();
    // Node 0 fails 30 % of requests (HTTP 500 or an fc error); node 1 always times out.
    control
        .set_node_faults(0, json!({"error_rate": 0.3}))
        .await?;
    control
        .set_node_faults(1, json!({"latency_ms": 700}))
        .await?;
    let extras = MonitorExtras {
        node_timeout_ms: Some(400),
        ..MonitorExtras::default()
    };
    let (_setup, monitor) = system
        .watching("monitor", &[0, 1, 2], &options(1)?, &extras)
        .await?;
    system
        .assert_settled("flaky nodes, healthy primary", &[])
        .await?;

    control.set_server("primary", false).await?;
    let backup = test_key(2)?;
    system
        .wait_keys("failover through flaky nodes", &[&backup])
        .await?;
    system
        .assert_settled("after the failover", &[&backup])
        .await?;
    // The signer answers `applied` once a quorum of its (slow, flaky) nodes finds the
    // transaction in a block, which may come after the key shows on chain.
    wait_for(
        "the signer's applied audit line",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || async { Ok(system.audited("applied")?.len() == 1) },
    )
    .await?;
    monitor.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_frozen_node_goes_stale_and_neither_disables_nor_blocks_a_failover() -> anyhow::Result<()>
{
    let system = System::start(Spec::new()?, false).await?;
    let control = system.sim.control();
    control.set_node_faults(0, json!({"frozen": true})).await?;
    // A reading older than 2 s (max(2 s, 3 intervals)) is stale.
    let extras = MonitorExtras {
        max_head_lag_seconds: Some(2),
        ..MonitorExtras::default()
    };
    let setup = system.monitor("monitor", &[0, 1, 2], &options(1)?, &extras)?;
    let log = system.setup.dir.path().join("monitor.log");
    let monitor = setup.start_logged(&[], Some(&log)).await?;
    system
        .assert_settled("frozen node, healthy primary", &[])
        .await?;

    control.set_server("primary", false).await?;
    let backup = test_key(2)?;
    system
        .wait_keys("failover with a frozen node", &[&backup])
        .await?;
    system
        .assert_settled("after the failover", &[&backup])
        .await?;
    let state = wait_state(&setup, "the monitor to follow the backup", |s| {
        active_server(s) == Some("backup") && s["pending"].is_null()
    })
    .await?;
    monitor.stop().await?;
    let text = std::fs::read_to_string(&log)?;
    assert!(
        text.contains(system.sim.node(0)) && text.contains("off the local clock"),
        "the frozen node was not reported stale; state {state}"
    );
    Ok(())
}

#[tokio::test]
async fn all_nodes_down_then_back_acts_only_on_a_real_failure_and_once() -> anyhow::Result<()> {
    let system = System::start(Spec::new()?, false).await?;
    let control = system.sim.control();
    let (_setup, monitor) = system
        .watching(
            "monitor",
            &[0, 1, 2],
            &options(1)?,
            &MonitorExtras::default(),
        )
        .await?;
    let all = |refuse: bool| {
        let control = control.clone();
        async move {
            for i in 0..3 {
                control
                    .set_node_faults(i, json!({"refuse": refuse}))
                    .await?;
            }
            anyhow::Ok(())
        }
    };

    // Blind while the primary is fine: nothing; back: still nothing.
    all(true).await?;
    system.assert_settled("all nodes down", &[]).await?;
    all(false).await?;
    system
        .assert_settled("nodes back, primary fine", &[])
        .await?;

    // Blind while the primary fails: no action without a quorum ...
    all(true).await?;
    control.set_server("primary", false).await?;
    system.wait_blocks(2 * SETTLE_BLOCKS).await?;
    assert!(
        system.sim.control().applied_keys().await?.is_empty(),
        "acted without a quorum"
    );
    // ... and exactly one once the nodes are back.
    all(false).await?;
    let backup = test_key(2)?;
    system
        .wait_keys("failover once the nodes are back", &[&backup])
        .await?;
    system
        .assert_settled("after the failover", &[&backup])
        .await?;
    assert!(monitor.pid().is_some());
    monitor.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_on_the_wrong_chain_is_never_used() -> anyhow::Result<()> {
    let mut system = System::start(Spec::new()?, false).await?;
    // Restart the signer after the fault is set, so that it connects afresh, the wrong-chain
    // node first in its list.
    system.kill_signer().await?;
    let control = system.sim.control();
    control
        .set_node_faults(0, json!({"wrong_chain_id": true}))
        .await?;
    system.start_signer(true).await?;
    let setup = system.monitor(
        "monitor",
        &[0, 1, 2],
        &options(1)?,
        &MonitorExtras::default(),
    )?;
    let log = system.setup.dir.path().join("monitor.log");
    let monitor = setup.start_logged(&[], Some(&log)).await?;
    system.assert_settled("wrong-chain node", &[]).await?;

    control.set_server("primary", false).await?;
    let backup = test_key(2)?;
    system
        .wait_keys("failover beside a wrong-chain node", &[&backup])
        .await?;
    system
        .assert_settled("after the failover", &[&backup])
        .await?;
    monitor.stop().await?;
    let node0 = system.sim.node(0).to_owned();
    let monitor_log = std::fs::read_to_string(&log)?;
    let mentions = |text: &str| {
        text.lines()
            .any(|l| l.contains(&node0) && l.to_lowercase().contains("chain id"))
    };
    assert!(mentions(&monitor_log), "monitor did not refuse node 0");
    let signer_log = std::fs::read_to_string(system.signer_log())?;
    assert!(mentions(&signer_log), "signer did not refuse node 0");
    Ok(())
}

#[tokio::test]
async fn signer_down_when_the_threshold_is_crossed_acts_once_when_it_returns() -> anyhow::Result<()>
{
    let mut system = System::start(Spec::new()?, false).await?;
    let (setup, monitor) = system
        .watching(
            "monitor",
            &[0, 1, 2],
            &options(1)?,
            &MonitorExtras::default(),
        )
        .await?;
    system.kill_signer().await?;
    system.sim.control().set_server("primary", false).await?;
    wait_state(&setup, "the monitor to retry the signer", |s| {
        s["pending"]["attempts"].as_u64() >= Some(2)
    })
    .await?;
    assert!(system.sim.control().applied_keys().await?.is_empty());

    system.start_signer(false).await?;
    let backup = test_key(2)?;
    system
        .wait_keys("failover once the signer is back", &[&backup])
        .await?;
    system
        .assert_settled("after the failover", &[&backup])
        .await?;
    assert_eq!(system.audited("applied")?.len(), 1);
    monitor.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_signer_killed_mid_request_finishes_the_same_transaction_after_restart()
-> anyhow::Result<()> {
    // The signer has its own node (3), slowed so that a request is caught in flight.
    let mut spec = Spec::new()?;
    spec.nodes = 4;
    spec.signer_nodes = vec![3];
    let mut system = System::start(spec, false).await?;
    let control = system.sim.control();
    let (_setup, monitor) = system
        .watching(
            "monitor",
            &[0, 1, 2],
            &options(1)?,
            &MonitorExtras::default(),
        )
        .await?;
    control
        .set_node_faults(3, json!({"latency_ms": 1500}))
        .await?;
    control.set_server("primary", false).await?;

    // The signer saved the signed transaction as pending and is broadcasting it: kill it.
    let requests = system.setup.state_file("requests.json");
    let pending_tx = wait_until("a pending signer request", ACT_LIMIT, POLL, || async {
        let text = std::fs::read_to_string(&requests).unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(find_pending_tx(&value))
    })
    .await?;
    system.kill_signer().await?;
    control.set_node_faults(3, json!({"latency_ms": 0})).await?;
    system.start_signer(false).await?;

    let backup = test_key(2)?;
    system
        .wait_keys("the pending request finished", &[&backup])
        .await?;
    system
        .assert_settled("after the restart", &[&backup])
        .await?;
    let history = system.sim.control().history().await?;
    assert_eq!(
        history["updates"][0]["tx_id"].as_str(),
        Some(pending_tx.as_str()),
        "the restarted signer built a new transaction instead of finishing the saved one"
    );
    let applied = system.audited("applied")?;
    assert_eq!(applied.len(), 1, "{applied:?}");
    monitor.stop().await?;
    Ok(())
}

/// The tx id of a pending record anywhere in `requests.json`.
fn find_pending_tx(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => {
            if map.get("state").and_then(Value::as_str) == Some("pending") {
                return map.get("tx_id").and_then(Value::as_str).map(str::to_owned);
            }
            map.values().find_map(find_pending_tx)
        }
        Value::Array(items) => items.iter().find_map(find_pending_tx),
        _ => None,
    }
}

#[tokio::test]
async fn a_transaction_expiring_before_inclusion_is_rebuilt_and_acts_once() -> anyhow::Result<()> {
    let mut spec = Spec::new()?;
    spec.signer.expiration_seconds = 10;
    let system = System::start(spec, true).await?;
    let control = system.sim.control();
    // Every node of the signer loses the next broadcast (the signer sends to all of them).
    for node in 0..3 {
        control
            .set_node_faults(node, json!({"drop_broadcasts": 1}))
            .await?;
    }
    let setup = system.monitor(
        "monitor",
        &[0, 1, 2],
        &options(1)?,
        &MonitorExtras::default(),
    )?;
    let monitor = setup.start(&[]).await?;
    control.set_server("primary", false).await?;

    let backup = test_key(2)?;
    system
        .wait_keys("failover after an expired broadcast", &[&backup])
        .await?;
    system
        .assert_settled("after the failover", &[&backup])
        .await?;
    let status = control.status().await?;
    for node in 0..3 {
        assert_eq!(
            status["nodes"][node]["faults"]["drop_broadcasts"], 0,
            "the lost broadcast never happened on node {node}"
        );
    }
    monitor.stop().await?;
    let log = std::fs::read_to_string(system.signer_log())?;
    let broadcasts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("broadcasting"))
        .filter_map(|l| l.split("tx_id=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert_eq!(broadcasts.len(), 2, "expected a rebuilt broadcast: {log}");
    assert_ne!(
        broadcasts[0], broadcasts[1],
        "the same transaction was re-sent"
    );
    let history = control.history().await?;
    assert_eq!(history["updates"][0]["tx_id"].as_str(), Some(broadcasts[1]));
    assert_eq!(system.audited("applied")?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn an_unhealthy_backup_is_skipped_and_the_last_one_still_fails_over() -> anyhow::Result<()> {
    let backup2 = test_key(3)?;
    let mut spec = Spec::new()?;
    spec.nodes = 4;
    spec.sim_config = Some(sim_config(&[
        ("primary", 1),
        ("backup", 2),
        ("backup2", 3),
    ])?);
    spec.policy = format!(
        "{}\n[[account.target]]\nname = \"backup2\"\nkey = \"{backup2}\"\n",
        default_policy(5)?
    );
    let system = System::start(spec, false).await?;
    let control = system.sim.control();
    // The backup's own node refuses connections; backup2's node is fine.
    control.set_node_faults(3, json!({"refuse": true})).await?;
    let mut options = options(1)?;
    options.servers.push(("backup2".into(), backup2.clone()));
    let extras = MonitorExtras {
        server_nodes: vec![
            None,
            Some(system.sim.node(3).to_owned()),
            Some(system.sim.node(2).to_owned()),
        ],
        ..MonitorExtras::default()
    };
    let (_setup, monitor) = system
        .watching("monitor", &[0, 1, 2], &options, &extras)
        .await?;
    system
        .assert_settled("unhealthy backup, healthy primary", &[])
        .await?;

    control.set_server("primary", false).await?;
    system
        .wait_keys("failover past the unhealthy backup", &[&backup2])
        .await?;
    system
        .assert_settled("after the failover", &[&backup2])
        .await?;
    let applied = system.audited("applied")?;
    assert!(
        applied.len() == 1
            && applied[0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("skipped unhealthy backup")),
        "{applied:?}"
    );

    // The last backup fails too: the kill switch still happens.
    control.set_server("backup2", false).await?;
    system
        .wait_keys("kill switch after the last backup", &[&backup2, NULL_KEY])
        .await?;
    system
        .assert_settled("after the kill switch", &[&backup2, NULL_KEY])
        .await?;
    monitor.stop().await?;
    Ok(())
}

#[tokio::test]
async fn two_monitors_racing_on_one_account_cause_one_change() -> anyhow::Result<()> {
    let system = System::start(Spec::new()?, false).await?;
    let first = system.monitor(
        "monitor-a",
        &[0, 1, 2],
        &options(1)?,
        &MonitorExtras::default(),
    )?;
    let second = system.monitor(
        "monitor-b",
        &[2, 1, 0],
        &options(1)?,
        &MonitorExtras::default(),
    )?;
    let a = first.start(&[]).await?;
    let b = second.start(&[]).await?;
    for setup in [&first, &second] {
        wait_state(setup, "an agreed reading", |s| {
            active_server(s) == Some("primary")
        })
        .await?;
    }
    system
        .assert_settled("two monitors, healthy primary", &[])
        .await?;

    system.sim.control().set_server("primary", false).await?;
    let backup = test_key(2)?;
    system.wait_keys("one failover", &[&backup]).await?;
    system.assert_settled("after the race", &[&backup]).await?;
    for setup in [&first, &second] {
        wait_state(setup, "both monitors follow the backup", |s| {
            active_server(s) == Some("backup") && s["pending"].is_null()
        })
        .await?;
    }
    assert_eq!(system.audited("applied")?.len(), 1);
    a.stop().await?;
    b.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_key_changed_by_hand_during_an_incident_is_followed_not_overridden() -> anyhow::Result<()>
{
    let mut system = System::start(Spec::new()?, false).await?;
    let control = system.sim.control();
    let (setup, monitor) = system
        .watching(
            "monitor",
            &[0, 1, 2],
            &options(1)?,
            &MonitorExtras::default(),
        )
        .await?;
    // The incident: the primary fails while the signer is unreachable; the monitor holds an
    // intent it cannot send.
    system.kill_signer().await?;
    control.set_server("primary", false).await?;
    wait_state(&setup, "a pending intent", |s| {
        s["pending"]["attempts"].as_u64() >= Some(1)
    })
    .await?;

    // The operator switches to the backup by hand, with the active key.
    let profile = ChainProfile::vit();
    let node = system.sim.node(1);
    let (head, time) = head_of(node).await?;
    let op = witness_update(&profile, ACCOUNT, test_public_key(2)?);
    let signed = sign(transaction(op, &head, time, 60)?, 0, &profile)?;
    let answer = call_ok(
        node,
        "network_broadcast_api",
        "broadcast_transaction_synchronous",
        json!([to_value(&signed, &profile)?]),
    )
    .await?;
    assert_eq!(answer["expired"], false, "{answer}");
    let backup = test_key(2)?;
    system.wait_keys("the manual change", &[&backup]).await?;
    wait_state(&setup, "the monitor to drop its intent", |s| {
        active_server(s) == Some("backup") && s["pending"].is_null()
    })
    .await?;

    // The signer returns: nothing is sent on top of the manual change.
    system.start_signer(false).await?;
    system
        .assert_settled("after the manual change", &[&backup])
        .await?;
    assert!(
        system
            .setup
            .audit()?
            .iter()
            .all(|e| e["call"] != "set-signing-key")
    );

    // A later real failure of the manually chosen server is still acted on.
    control.set_server("backup", false).await?;
    system
        .wait_keys("kill switch after the manual change", &[&backup, NULL_KEY])
        .await?;
    system
        .assert_settled("after the kill switch", &[&backup, NULL_KEY])
        .await?;
    let clients: Vec<Value> = system.audited("applied")?;
    assert!(clients.len() == 1 && clients[0]["client"] == MONITOR);
    monitor.stop().await?;
    Ok(())
}

/// The scenario helpers fail loudly on a bad config rather than producing a confusing timeout.
#[test]
fn sim_config_names_every_server() -> anyhow::Result<()> {
    let text = sim_config(&[("primary", 1), ("backup", 2)])?;
    let parsed: toml::Value = toml::from_str(&text).context("sim config")?;
    assert_eq!(parsed["server"].as_array().map(Vec::len), Some(2));
    Ok(())
}
