//! `[evidence]` (#15) end to end: real `vwf-simchain` (5 nodes, 300 ms blocks), `vwf-signer
//! serve` and `vwf-monitor run` on 127.0.0.1. Nodes 0..2 are the monitor's quorum (and the
//! signer's nodes), node 3 is the primary's own node and node 4 the backup's (`[[server]] node`).
//!
//! Cases (each bounded in time; assertions are on outcomes: the key on chain, the signer's
//! audited reason, the monitor's log and the simulator's `/history`, never on timing):
//! 1. **stuck sync, pre-emptive**: the primary's node frozen and the primary down: the monitor
//!    switches to the backup on the evidence (a `pre-emptive:` reason, or `corroborated:` when
//!    the primary's slot came before the evidence was strong enough), with fewer misses than
//!    `missed_blocks`.
//! 2. **network blip, server producing**: the primary's node refuses connections while the
//!    primary keeps producing, with `preemptive` and `fast_threshold` on and
//!    `unreachable_is_evidence = false`: two full rounds later nothing was switched, no intent
//!    was logged, and the primary produced its blocks.
//! 3. **backup unhealthy**: the backup's node stuck too: no pre-emptive switch (alerted as
//!    such); the plain `missed_blocks` threshold still acts, with the kill switch since the only
//!    backup is unhealthy.
//! 4. **producer-only failure**: the primary down, its node fine, eager evidence settings: the
//!    switch waits for `missed_blocks` misses, with a plain reason.
//!
//! Each case also checks the `evidence:` line of `vwf-monitor status --config <cfg>`.
//! Not covered here (table tests in `monitor/src/state/tests/evidence.rs`): a blip shorter than
//! `polls` with `unreachable_is_evidence = true`, which cannot be produced without timing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorExtras, MonitorOptions, MonitorSetup};
use vwf_tests::process::{Daemon, workspace_binary};
use vwf_tests::signer::{ACCOUNT, SignerSetup, default_policy};
use vwf_tests::tx::{NULL_KEY, test_key};
use vwf_tests::wait::{wait_for, wait_until};

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const BLOCK_MS: u64 = 300;
/// Simulator nodes: 0..2 quorum, then the primary's and the backup's own nodes.
const NODES: usize = 5;
const QUORUM_NODES: [usize; 3] = [0, 1, 2];
const PRIMARY_NODE: usize = 3;
const BACKUP_NODE: usize = 4;
/// `[health] max_lag_intervals` left at its default: a backup's node more than this many blocks
/// behind is unhealthy.
const HEALTH_MAX_LAG_BLOCKS: u64 = 10;
/// Room for three 21-slot rounds (6.3 s each at 300 ms), the signer and a loaded machine.
const ACT_LIMIT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);

struct System {
    sim: SimChain,
    setup: SignerSetup,
    _signer: Daemon,
    address: String,
}

/// A running monitor with its files.
struct Watched {
    setup: MonitorSetup,
    daemon: Daemon,
    log: PathBuf,
}

async fn system() -> anyhow::Result<System> {
    let (interval, nodes) = (BLOCK_MS.to_string(), NODES.to_string());
    let sim = SimChain::spawn(
        SIM,
        &["--nodes", nodes.as_str(), "--block-interval-ms", &interval],
    )
    .await?;
    let signer_nodes: Vec<&str> = QUORUM_NODES.iter().map(|i| sim.node(*i)).collect();
    let setup = SignerSetup::create(&signer_nodes, &default_policy(5)?)?;
    let signer = setup.start().await?;
    let address = signer.field("listening")?;
    Ok(System {
        sim,
        setup,
        _signer: signer,
        address,
    })
}

impl System {
    /// Writes a monitor config (primary = key 1 on node 3, backup = key 2 on node 4, quorum 2
    /// of nodes 0..2) with `[evidence]` set to `evidence`, checks the `evidence:` line of
    /// `vwf-monitor status` contains every part of `status_says`, starts the monitor and waits
    /// until it has an agreed reading with the primary active.
    async fn watching(
        &self,
        missed_blocks: u32,
        evidence: &str,
        status_says: &[&str],
    ) -> anyhow::Result<Watched> {
        let options = MonitorOptions {
            servers: vec![
                ("primary".into(), test_key(1)?),
                ("backup".into(), test_key(2)?),
            ],
            missed_blocks,
            block_interval_ms: BLOCK_MS,
            quorum: 2,
            dry_run: false,
        };
        let extras = MonitorExtras {
            server_nodes: vec![
                Some(self.sim.node(PRIMARY_NODE).to_owned()),
                Some(self.sim.node(BACKUP_NODE).to_owned()),
            ],
            ..MonitorExtras::default()
        };
        let nodes: Vec<&str> = QUORUM_NODES.iter().map(|i| self.sim.node(*i)).collect();
        let setup = MonitorSetup::create_with(
            &self.setup,
            "monitor",
            &self.address,
            &nodes,
            &options,
            &extras,
        )?;
        let mut config = std::fs::read_to_string(&setup.config)?;
        config.push_str(&format!("\n[evidence]\n{evidence}\n"));
        std::fs::write(&setup.config, config)?;

        let line = evidence_line(&setup.config).await?;
        for part in status_says {
            ensure!(
                line.contains(part),
                "status evidence line lacks {part:?}: {line}"
            );
        }

        let log = self.setup.dir.path().join("monitor.log");
        let daemon = setup.start_logged(&[], Some(&log)).await?;
        wait_until(
            "an agreed reading, primary active",
            ACT_LIMIT,
            POLL,
            || async {
                let state = setup.state()?;
                Ok(
                    (state["mode"]["kind"] == "active" && state["mode"]["server"] == "primary")
                        .then_some(()),
                )
            },
        )
        .await?;
        Ok(Watched { setup, daemon, log })
    }

    /// Slots in one round of the schedule (from `/status`).
    async fn round(&self) -> anyhow::Result<u64> {
        let status = self.sim.control().status().await?;
        let slots = status["schedule"]
            .as_array()
            .context("status without a schedule")?
            .len();
        ensure!(slots > 0, "empty schedule: {status}");
        Ok(u64::try_from(slots)?)
    }

    /// Waits until the head is at least `target`.
    async fn wait_head(&self, target: u64) -> anyhow::Result<()> {
        let control = self.sim.control();
        wait_for(&format!("head {target}"), ACT_LIMIT, POLL, || async {
            Ok(control.head_num().await? >= target)
        })
        .await
    }

    /// Waits until exactly `expected` key changes are applied, failing at once on any other
    /// change.
    async fn wait_keys(&self, what: &str, expected: &[&str]) -> anyhow::Result<()> {
        let control = self.sim.control();
        wait_for(what, ACT_LIMIT, POLL, || async {
            let keys = control.applied_keys().await?;
            let prefix = keys.len() <= expected.len()
                && keys.iter().zip(expected).all(|(k, e)| k.as_str() == *e);
            if !prefix {
                anyhow::bail!("unexpected key changes {keys:?}, expected {expected:?}");
            }
            Ok(keys == expected)
        })
        .await
    }

    /// The reason of the one `applied` audit entry (the monitor's intent reason, verbatim).
    async fn applied_reason(&self) -> anyhow::Result<String> {
        let entries = wait_until("one applied audit entry", ACT_LIMIT, POLL, || async {
            let entries = self.setup.audited("applied")?;
            Ok((!entries.is_empty()).then_some(entries))
        })
        .await?;
        ensure!(entries.len() == 1, "applied more than once: {entries:?}");
        entries[0]["reason"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("audit entry without a reason: {}", entries[0]))
    }

    /// `(block of the only key update, our witness's misses made visible up to that block)`.
    async fn misses_until_update(&self) -> anyhow::Result<(u64, usize)> {
        let history = self.sim.control().history().await?;
        let updates = history["updates"].as_array().context("history updates")?;
        ensure!(updates.len() == 1, "expected one key update: {updates:?}");
        let block = updates[0]["block_num"]
            .as_u64()
            .context("update block_num")?;
        let misses = ours(&history["misses"])
            .into_iter()
            .filter(|m| m["block_num"].as_u64().is_some_and(|b| b <= block))
            .count();
        Ok((block, misses))
    }
}

/// Our witness's entries of a `/history` list.
fn ours(list: &Value) -> Vec<&Value> {
    list.as_array()
        .map(|a| a.iter().filter(|m| m["witness"] == ACCOUNT).collect())
        .unwrap_or_default()
}

/// The monitor log's lines with `event="<event>"`.
fn log_lines(log: &Path, event: &str) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(log)?;
    let tag = format!("event=\"{event}\"");
    Ok(text
        .lines()
        .filter(|l| l.contains(&tag))
        .map(str::to_owned)
        .collect())
}

/// The `evidence:` line of `vwf-monitor status --config <config>` (bounded).
async fn evidence_line(config: &Path) -> anyhow::Result<String> {
    let config = config.to_str().context("config path is not UTF-8")?;
    let run = tokio::process::Command::new(workspace_binary("vwf-monitor")?)
        .args(["status", "--config", config])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(ACT_LIMIT, run)
        .await
        .context("vwf-monitor status did not finish")??;
    let screen = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "status failed: {screen}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    screen
        .lines()
        .find(|l| l.trim_start().starts_with("evidence:"))
        .map(str::to_owned)
        .with_context(|| format!("no evidence: line in {screen}"))
}

/// `N` of "... missed N block(s) since take-over ...".
fn missed_in(reason: &str) -> Option<u32> {
    let (before, _) = reason.split_once(" block(s) since take-over")?;
    before.rsplit(' ').next()?.parse().ok()
}

#[tokio::test]
async fn stuck_sync_of_the_primarys_node_switches_to_the_backup_on_the_evidence()
-> anyhow::Result<()> {
    let system = system().await?;
    let missed_blocks = 3;
    let watched = system
        .watching(
            missed_blocks,
            "polls = 3\nstale_blocks = 3\nfast_threshold = 1\npreemptive = true",
            &[
                "stale (more than 3 blocks behind the agreed head) for 3 consecutive poll(s)",
                "1 miss(es) trigger the switch",
                "switch before the next slot",
            ],
        )
        .await?;
    let control = system.sim.control();
    control.set_server("primary", false).await?;
    control
        .set_node_faults(PRIMARY_NODE, json!({"frozen": true}))
        .await?;

    let backup = test_key(2)?;
    system
        .wait_keys("the switch to the backup", &[&backup])
        .await?;
    let reason = system.applied_reason().await?;
    ensure!(
        reason.starts_with("pre-emptive: primary") || reason.contains("corroborated:"),
        "the switch did not use the evidence: {reason}"
    );
    ensure!(
        reason.contains("blocks behind the agreed head") && reason.contains("consecutive poll(s)"),
        "the reason does not show the node's evidence: {reason}"
    );
    if let Some(n) = missed_in(&reason) {
        ensure!(n < missed_blocks, "the plain threshold decided: {reason}");
    }
    let (block, misses) = system.misses_until_update().await?;
    ensure!(
        misses < usize::try_from(missed_blocks)?,
        "{misses} misses up to the update at block {block}: the evidence did not shorten the wait"
    );
    let intents = log_lines(&watched.log, "intent")?;
    ensure!(
        intents.len() == 1
            && (intents[0].contains("pre-emptive:") || intents[0].contains("corroborated:")),
        "intent lines: {intents:?}"
    );

    // A round later the backup still holds the key: nothing more happened.
    let head = control.head_num().await?;
    system.wait_head(head + system.round().await?).await?;
    let keys = control.applied_keys().await?;
    ensure!(
        keys == [backup.as_str()],
        "key changes after the switch: {keys:?}"
    );
    watched.daemon.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_primarys_node_unreachable_while_the_primary_produces_changes_nothing()
-> anyhow::Result<()> {
    let system = system().await?;
    let watched = system
        .watching(
            3,
            "polls = 3\nstale_blocks = 3\nfast_threshold = 1\npreemptive = true\n\
             unreachable_is_evidence = false",
            &[
                "stale (more than 3 blocks behind the agreed head) for 3 consecutive poll(s)",
                "1 miss(es) trigger the switch",
                "switch before the next slot",
            ],
        )
        .await?;
    let line = evidence_line(&watched.setup.config).await?;
    ensure!(!line.contains("unreachable"), "{line}");

    let control = system.sim.control();
    control
        .set_node_faults(PRIMARY_NODE, json!({"refuse": true}))
        .await?;
    let node = system.sim.node(PRIMARY_NODE);
    wait_for("the primary's node to refuse", ACT_LIMIT, POLL, || async {
        let answer = vwf_tests::client::call(
            node,
            "database_api",
            "get_dynamic_global_properties",
            json!([]),
        )
        .await;
        Ok(answer.is_err())
    })
    .await?;
    let start = control.head_num().await?;
    let rounds = 2 * system.round().await?;
    system.wait_head(start + rounds).await?;

    ensure!(
        control.applied_keys().await?.is_empty(),
        "an unreachable node with a producing server caused a switch"
    );
    let intents = log_lines(&watched.log, "intent")?;
    ensure!(intents.is_empty(), "intent logged: {intents:?}");
    let state = watched.setup.state()?;
    ensure!(
        state["mode"]["server"] == "primary" && state["pending"].is_null(),
        "{state}"
    );
    let history = control.history().await?;
    let after = |list: &Value, field: &str| {
        ours(list)
            .into_iter()
            .filter(|e| e[field].as_u64().is_some_and(|b| b > start))
            .count()
    };
    ensure!(
        after(&history["blocks"], "num") >= 1,
        "the primary produced nothing in two rounds"
    );
    ensure!(
        after(&history["misses"], "block_num") == 0,
        "the primary missed blocks"
    );
    control
        .set_node_faults(PRIMARY_NODE, json!({"refuse": false}))
        .await?;
    watched.daemon.stop().await?;
    Ok(())
}

#[tokio::test]
async fn with_the_backups_node_stuck_too_no_pre_emptive_switch_and_the_threshold_still_acts()
-> anyhow::Result<()> {
    let system = system().await?;
    let missed_blocks = 2;
    let watched = system
        .watching(
            missed_blocks,
            "polls = 3\nstale_blocks = 3\npreemptive = true",
            &[
                "stale (more than 3 blocks behind the agreed head) for 3 consecutive poll(s)",
                "switch before the next slot",
            ],
        )
        .await?;
    let line = evidence_line(&watched.setup.config).await?;
    ensure!(!line.contains("miss(es) trigger"), "{line}");

    // The backup's node falls out of sync first, far enough to be unhealthy for a failover.
    let control = system.sim.control();
    let head = control.head_num().await?;
    control
        .set_node_faults(BACKUP_NODE, json!({"frozen": true}))
        .await?;
    system
        .wait_head(head + 1 + HEALTH_MAX_LAG_BLOCKS + 3)
        .await?;
    control.set_server("primary", false).await?;
    control
        .set_node_faults(PRIMARY_NODE, json!({"frozen": true}))
        .await?;

    system.wait_keys("the kill switch", &[NULL_KEY]).await?;
    let reason = system.applied_reason().await?;
    ensure!(
        !reason.starts_with("pre-emptive") && !reason.contains("corroborated"),
        "{reason}"
    );
    ensure!(
        missed_in(&reason).is_some_and(|n| n >= missed_blocks),
        "not the plain threshold: {reason}"
    );
    ensure!(
        reason.contains("skipped unhealthy backup"),
        "the unhealthy backup was not skipped: {reason}"
    );
    let held = wait_until(
        "the held pre-emptive switch alert",
        ACT_LIMIT,
        POLL,
        || async {
            let lines = log_lines(&watched.log, "alert")?;
            Ok(lines
                .into_iter()
                .find(|l| l.contains("no pre-emptive switch")))
        },
    )
    .await?;
    ensure!(
        held.contains("no backup's node is in sync") && held.contains("backup"),
        "{held}"
    );
    let (block, misses) = system.misses_until_update().await?;
    ensure!(
        misses >= usize::try_from(missed_blocks)?,
        "{misses} misses up to the kill switch at block {block}"
    );
    watched.daemon.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_producer_only_failure_waits_for_missed_blocks_despite_eager_evidence()
-> anyhow::Result<()> {
    let system = system().await?;
    let missed_blocks = 2;
    // Eager, but two polls: one poll can see a healthy node a block or two behind on a loaded
    // machine, which is not what this case is about.
    let watched = system
        .watching(
            missed_blocks,
            "polls = 2\nstale_blocks = 2\nfast_threshold = 1\npreemptive = true\n\
             unreachable_is_evidence = true",
            &[
                "stale (more than 2 blocks behind the agreed head) or unreachable for 2 \
                 consecutive poll(s)",
                "1 miss(es) trigger the switch",
                "switch before the next slot",
            ],
        )
        .await?;
    system.sim.control().set_server("primary", false).await?;

    let backup = test_key(2)?;
    system
        .wait_keys("the switch to the backup", &[&backup])
        .await?;
    let reason = system.applied_reason().await?;
    ensure!(
        reason.starts_with("primary missed ")
            && !reason.contains("corroborated")
            && !reason.contains("pre-emptive"),
        "{reason}"
    );
    ensure!(
        missed_in(&reason).is_some_and(|n| n >= missed_blocks),
        "{reason}"
    );
    let (block, misses) = system.misses_until_update().await?;
    ensure!(
        misses >= usize::try_from(missed_blocks)?,
        "{misses} misses up to the update at block {block}"
    );
    let intents = log_lines(&watched.log, "intent")?;
    ensure!(intents.len() == 1, "intent lines: {intents:?}");
    let held = log_lines(&watched.log, "alert")?
        .into_iter()
        .filter(|l| l.contains("pre-emptive"))
        .collect::<Vec<_>>();
    ensure!(
        held.is_empty(),
        "evidence alerts for a node in sync: {held:?}"
    );
    watched.daemon.stop().await?;
    Ok(())
}
