//! The whole system end to end: real `vwf-simchain` (3 nodes), `vwf-signer serve` and
//! `vwf-monitor run` on 127.0.0.1. Each test asserts the exact key changes on chain.

use std::time::Duration;

use serde_json::Value;
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorOptions, MonitorSetup};
use vwf_tests::signer::{SignerSetup, default_policy};
use vwf_tests::tx::{NULL_KEY, test_key};
use vwf_tests::wait::wait_for;

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const BLOCK_MS: u64 = 150;
/// Two full 21-slot rounds plus slack: time for the witness to miss twice and be switched.
const ACT_LIMIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

struct System {
    sim: SimChain,
    signer_setup: SignerSetup,
    _signer: vwf_tests::process::Daemon,
    signer_address: String,
}

async fn system(flap_changes: u32) -> anyhow::Result<System> {
    let interval = BLOCK_MS.to_string();
    let sim = SimChain::spawn(SIM, &["--nodes", "3", "--block-interval-ms", &interval]).await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    let signer_setup = SignerSetup::create(&nodes, &default_policy(flap_changes)?)?;
    let signer = signer_setup.start().await?;
    let signer_address = signer.field("listening")?;
    Ok(System {
        sim,
        signer_setup,
        _signer: signer,
        signer_address,
    })
}

fn options() -> anyhow::Result<MonitorOptions> {
    Ok(MonitorOptions {
        servers: vec![
            ("primary".into(), test_key(1)?),
            ("backup".into(), test_key(2)?),
        ],
        missed_blocks: 2,
        block_interval_ms: BLOCK_MS,
        quorum: 2,
        dry_run: false,
    })
}

impl System {
    fn nodes(&self) -> Vec<&str> {
        (0..3).map(|i| self.sim.node(i)).collect()
    }

    fn monitor(&self, name: &str, options: &MonitorOptions) -> anyhow::Result<MonitorSetup> {
        MonitorSetup::create(
            &self.signer_setup,
            name,
            &self.signer_address,
            &self.nodes(),
            options,
        )
    }

    async fn wait_keys(&self, what: &str, expected: &[&str]) -> anyhow::Result<()> {
        let sim = &self.sim;
        wait_for(what, ACT_LIMIT, POLL, || async move {
            Ok(sim.control().applied_keys().await? == expected)
        })
        .await
    }
}

#[tokio::test]
async fn primary_down_fails_over_to_backup_then_backup_down_sets_the_null_key() -> anyhow::Result<()>
{
    let system = system(5).await?;
    let setup = system.monitor("monitor", &options()?)?;
    let monitor = setup.start(&[]).await?;
    let (backup, control) = (test_key(2)?, system.sim.control());

    control.set_server("primary", false).await?;
    system
        .wait_keys("failover to the backup", &[&backup])
        .await?;
    control.set_server("backup", false).await?;
    system
        .wait_keys("kill switch", &[&backup, NULL_KEY])
        .await?;

    // Nothing further happens: the monitor stays disabled, the witness leaves the schedule.
    let head = control.head_num().await?;
    wait_for("25 more blocks", ACT_LIMIT, POLL, || async {
        Ok(control.head_num().await? >= head + 25)
    })
    .await?;
    assert_eq!(
        system.sim.control().applied_keys().await?,
        vec![backup.clone(), NULL_KEY.to_owned()]
    );
    let state = setup.state()?;
    assert!(
        state.to_string().contains("disabled") || state.to_string().contains(NULL_KEY),
        "{state}"
    );
    // `vwf-monitor status` shows the saved state and each node's view on one screen.
    let binary = vwf_tests::process::workspace_binary("vwf-monitor")?;
    let config = setup.config.to_str().unwrap_or_default().to_owned();
    let output = tokio::process::Command::new(binary)
        .args(["status", "--config", &config])
        .output()
        .await?;
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(screen.contains("vit-test-witness"), "{screen}");
    for node in system.nodes() {
        assert!(screen.contains(node), "{node} missing: {screen}");
    }
    assert!(screen.contains("saved state:"), "{screen}");
    // `vwf-monitor status | head`: a reader that goes away ends it quietly, never a panic.
    let mut child =
        tokio::process::Command::new(vwf_tests::process::workspace_binary("vwf-monitor")?)
            .args(["status", "--config", &config])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
    drop(child.stdout.take());
    let closed = tokio::time::timeout(ACT_LIMIT, child.wait_with_output()).await??;
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert!(closed.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    monitor.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_monitor_killed_after_saving_its_intent_acts_once_after_restart() -> anyhow::Result<()> {
    let system = system(5).await?;
    let setup = system.monitor("monitor", &options()?)?;
    let crashing = setup
        .start(&[(vwf_monitor::CRASH_AFTER_INTENT_ENV, "1")])
        .await?;
    system.sim.control().set_server("primary", false).await?;
    let status = crashing.wait(ACT_LIMIT).await?;
    assert_eq!(
        status.code(),
        Some(vwf_monitor::CRASH_AFTER_INTENT_EXIT_CODE)
    );
    assert!(
        setup.state()?.to_string().contains("pending"),
        "intent not saved: {}",
        setup.state()?
    );
    assert!(
        system.sim.control().applied_keys().await?.is_empty(),
        "acted before the crash"
    );

    let monitor = setup.start(&[]).await?;
    let backup = test_key(2)?;
    system
        .wait_keys("pending action finished after restart", &[&backup])
        .await?;
    let control = system.sim.control();
    let head = control.head_num().await?;
    wait_for("20 more blocks", ACT_LIMIT, POLL, || async {
        Ok(control.head_num().await? >= head + 20)
    })
    .await?;
    assert_eq!(
        system.sim.control().applied_keys().await?,
        vec![backup],
        "acted twice"
    );
    monitor.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_lying_node_neither_causes_a_disable_nor_blocks_a_real_failover() -> anyhow::Result<()> {
    let system = system(5).await?;
    let control = system.sim.control();
    // Node 0 reports 100 more missed blocks than the chain has.
    control
        .set_node_faults(0, serde_json::json!({"lie_total_missed": 100}))
        .await?;
    let setup = system.monitor("monitor", &options()?)?;
    let monitor = setup.start(&[]).await?;
    let head = control.head_num().await?;
    wait_for("two rounds with a liar", ACT_LIMIT, POLL, || async {
        Ok(control.head_num().await? >= head + 45)
    })
    .await?;
    assert!(
        system.sim.control().applied_keys().await?.is_empty(),
        "a single lying node caused an action"
    );

    // Node 1 now under-reports; the primary really fails; nodes 2 (truthful) and 0 still agree
    // the threshold is crossed, so the failover happens.
    control
        .set_node_faults(1, serde_json::json!({"lie_total_missed": -100}))
        .await?;
    control.set_server("primary", false).await?;
    let backup = test_key(2)?;
    system
        .wait_keys("failover despite a deflating liar", &[&backup])
        .await?;
    monitor.stop().await?;
    let _: Value = setup.state()?;
    Ok(())
}

#[tokio::test]
async fn dry_run_mode_asks_the_signer_to_audit_and_never_changes_the_key() -> anyhow::Result<()> {
    let system = system(5).await?;
    let mut options = options()?;
    options.dry_run = true;
    let setup = system.monitor("monitor", &options)?;
    let monitor = setup.start(&[]).await?;
    let control = system.sim.control();
    control.set_server("primary", false).await?;
    let audit_has_dry_run = || async {
        let entries = system.signer_setup.audit()?;
        Ok(entries
            .iter()
            .any(|e| e["call"] == "dry-run" && e["decision"] == "allowed"))
    };
    wait_for(
        "the signer audits a dry run",
        ACT_LIMIT,
        POLL,
        audit_has_dry_run,
    )
    .await?;
    // Two more rounds: still no key change, since dry run never acts.
    let head = control.head_num().await?;
    wait_for("42 more blocks", ACT_LIMIT, POLL, || async {
        Ok(control.head_num().await? >= head + 42)
    })
    .await?;
    assert!(
        system.sim.control().applied_keys().await?.is_empty(),
        "dry run changed the key"
    );
    monitor.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_monitor_reports_at_start_a_switch_the_signer_policy_would_refuse() -> anyhow::Result<()>
{
    let interval = BLOCK_MS.to_string();
    let sim = SimChain::spawn(SIM, &["--nodes", "3", "--block-interval-ms", &interval]).await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    // The kill switch only: the backup's key is not a target.
    let policy = format!(
        "\n[[account]]\nname = \"{}\"\nallow_null_key = true\n[[account.client]]\nidentity = \"{}\"\nmay = [\"disable\", \"status\"]\n",
        vwf_tests::signer::ACCOUNT,
        vwf_tests::signer::MONITOR
    );
    let signer_setup = SignerSetup::create(&nodes, &policy)?;
    let signer = signer_setup.start().await?;
    let setup = MonitorSetup::create(
        &signer_setup,
        "monitor",
        &signer.field("listening")?,
        &nodes,
        &options()?,
    )?;
    let log = signer_setup.dir.path().join("monitor.log");
    let monitor = setup.start_logged(&[], Some(&log)).await?;
    let log_ref = &log;
    wait_for(
        "the policy gap is reported",
        ACT_LIMIT,
        POLL,
        || async move {
            let text = std::fs::read_to_string(log_ref).unwrap_or_default();
            Ok(text.contains("does not allow switching to backup"))
        },
    )
    .await?;
    let text = std::fs::read_to_string(&log)?;
    assert!(!text.contains("does not allow the kill switch"), "{text}");
    monitor.stop().await?;
    Ok(())
}
