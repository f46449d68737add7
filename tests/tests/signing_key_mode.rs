//! Signing-key mode end to end (issue #16): on STEEM and HIVE the signer holds only the servers'
//! block signing keys, never the account's active key, and the real monitor's failover and kill
//! switch go through as `witness_set_properties` signed by the key being replaced. Re-enabling
//! is refused with the pointer to `vwf-signer witness enable --active-key`, which then works with
//! the active key from a file kept apart. On VIT the mode is refused at `check-config`.
//!
//! Real binaries on 127.0.0.1: `vwf-simchain` (3 nodes), `vwf-signer serve`, `vwf-monitor run`.

use std::process::Output;
use std::time::Duration;

use anyhow::Context;
use vwf_shared::{ChainProfile, PublicKey};
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorExtras, MonitorOptions, MonitorSetup};
use vwf_tests::process::workspace_binary;
use vwf_tests::signer::{
    ACCOUNT, MONITOR, SignerOptions, SignerSetup, check_signed_by_replaced_keys, seal_apart,
};
use vwf_tests::tx::{TEST_WIFS, test_public_key};

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const BLOCK_MS: u64 = 150;
/// Two full 21-slot rounds plus slack: time for the witness to miss twice and be switched.
const ACT_LIMIT: Duration = Duration::from_secs(30);

/// The signer's policy in signing-key mode: the backup (test key 2) is a target, the primary
/// (test key 1) a server the signer may switch away from, the kill switch allowed.
fn policy(prefix: &str) -> anyhow::Result<String> {
    let key =
        |i| -> anyhow::Result<String> { Ok(test_public_key(i)?.to_string_with_prefix(prefix)) };
    Ok(format!(
        r#"
[[account]]
name = "{ACCOUNT}"
mode = "signing-key"
allow_null_key = true
flap_limit = {{ changes = 5, window_seconds = 3600 }}

[[account.target]]
name = "backup"
key = "{backup}"

[[account.server]]
name = "primary"
key = "{primary}"

[[account.client]]
identity = "{MONITOR}"
may = ["switch", "disable", "dry-run", "status"]
"#,
        backup = key(2)?,
        primary = key(1)?,
    ))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `vwf-signer <args>` with stdin closed.
fn signer_command(args: &[&str]) -> anyhow::Result<Output> {
    Ok(std::process::Command::new(workspace_binary("vwf-signer")?)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()?)
}

async fn failover_and_kill_switch_without_the_active_key(
    profile: &'static str,
) -> anyhow::Result<()> {
    let prefix = ChainProfile::builtin(profile.parse()?).address_prefix;
    let key =
        |i| -> anyhow::Result<String> { Ok(test_public_key(i)?.to_string_with_prefix(&prefix)) };
    let (primary, backup) = (key(1)?, key(2)?);
    let null = PublicKey::NULL.to_string_with_prefix(&prefix);
    let interval = BLOCK_MS.to_string();
    let sim = SimChain::spawn(
        SIM,
        &[
            "--nodes",
            "3",
            "--block-interval-ms",
            &interval,
            "--profile",
            profile,
        ],
    )
    .await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    let options = SignerOptions {
        profile,
        signing_wifs: vec![TEST_WIFS[1].into(), TEST_WIFS[2].into()],
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&nodes, &policy(&prefix)?, &options)?;
    let config = setup.config.to_str().context("config path")?.to_owned();

    // The age file holds the two signing keys and not the active key (test key 0).
    let settings = vwf_signer::config::SignerConfig::load(&setup.config)?;
    let (keys, _) = settings.unlock_keys()?;
    let held: Vec<String> = keys
        .ring()
        .public_keys()
        .map(|k| k.to_string_with_prefix(&prefix))
        .collect();
    assert_eq!(held, vec![primary.clone(), backup.clone()]);
    assert!(keys.active().is_none());
    let active = key(0)?;
    assert!(!held.contains(&active));
    let checked = signer_command(&["check-config", "--config", &config])?;
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(
        text(&checked).contains("mode signing-key"),
        "{}",
        text(&checked)
    );

    // A dry run shows the witness_set_properties it would sign, and a quorum of nodes
    // serializes the unsigned transaction to our bytes.
    let dry = signer_command(&[
        "dry-run",
        "--config",
        &config,
        "--client",
        MONITOR,
        "--account",
        ACCOUNT,
        "--target",
        &backup,
        "--expected",
        &primary,
        "--preflight",
    ])?;
    assert!(dry.status.success(), "{}", text(&dry));
    let report: serde_json::Value = serde_json::from_slice(&dry.stdout)?;
    assert_eq!(report["allowed"], true, "{report}");
    assert_eq!(report["preflight"]["matches"], true, "{report}");
    assert!(
        report["reasons"].to_string().contains(&format!(
            "would send a witness_set_properties (props key, new_signing_key) signed with the current signing key {primary} (primary)"
        )),
        "{report}"
    );
    assert!(
        report["transaction_json"]
            .as_str()
            .unwrap_or_default()
            .contains("new_signing_key")
    );

    let signer = setup.start().await?;
    let address = signer.field("listening")?;
    let monitor_options = MonitorOptions {
        servers: vec![
            ("primary".into(), primary.clone()),
            ("backup".into(), backup.clone()),
        ],
        missed_blocks: 2,
        block_interval_ms: BLOCK_MS,
        quorum: 2,
        dry_run: false,
    };
    let extras = MonitorExtras {
        profile: Some(profile),
        ..MonitorExtras::default()
    };
    let monitor_setup = MonitorSetup::create_with(
        &setup,
        "monitor",
        &address,
        &nodes,
        &monitor_options,
        &extras,
    )?;
    let monitor = monitor_setup.start(&[]).await?;
    let control = sim.control();
    control.set_server("primary", false).await?;
    sim.wait_applied_keys("failover to the backup", &[&backup], ACT_LIMIT)
        .await?;
    control.set_server("backup", false).await?;
    sim.wait_applied_keys("kill switch", &[&backup, &null], ACT_LIMIT)
        .await?;

    // Both changes were witness_set_properties, each signed by the key it replaced.
    let applied = setup.wait_audited("applied", 2, ACT_LIMIT).await?;
    check_signed_by_replaced_keys(&applied, &[&primary, &backup])?;

    // The monitor's status says which mode the signer uses.
    let monitor_config = monitor_setup
        .config
        .to_str()
        .context("monitor config")?
        .to_owned();
    let status = std::process::Command::new(workspace_binary("vwf-monitor")?)
        .args(["status", "--config", &monitor_config])
        .output()?;
    let screen = text(&status);
    assert!(
        screen.contains("signer: signing-key mode")
            && screen.contains(&format!("{primary} (primary)")),
        "{screen}"
    );
    drop(monitor);

    // Re-enabling without the active key: refused with the pointer, exit 2, one line.
    let refused = signer_command(&[
        "witness",
        "enable",
        "--config",
        &config,
        "--signing-key",
        &primary,
        "--yes",
    ])?;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let line = String::from_utf8_lossy(&refused.stderr).trim().to_owned();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains("needs-active-key")
            && line.contains("witness enable")
            && line.contains("--active-key"),
        "{line}"
    );
    assert_eq!(
        control.applied_keys().await?,
        vec![backup.clone(), null.clone()]
    );

    // With the active key from a file of its own (kept off the signer host in production):
    // a witness_update signed with it.
    let apart = seal_apart(profile, "active.age", &[TEST_WIFS[0]])?;
    let enabled = signer_command(&[
        "witness",
        "enable",
        "--config",
        &config,
        "--signing-key",
        &primary,
        "--yes",
        "--active-key",
        &apart.age,
        "--active-passphrase-file",
        &apart.passphrase,
    ])?;
    assert!(enabled.status.success(), "{}", text(&enabled));
    assert!(
        text(&enabled).contains("witness_update"),
        "{}",
        text(&enabled)
    );
    assert_eq!(
        control.applied_keys().await?,
        vec![backup.clone(), null.clone(), primary.clone()]
    );
    let last = setup.audited("applied")?;
    let operation = last
        .last()
        .map(|l| l["operation"].to_string())
        .unwrap_or_default();
    assert!(
        operation.contains("witness_update signed with the active key")
            && operation.contains(&active),
        "{operation}"
    );
    drop(signer);
    sim.stop().await?;
    Ok(())
}

#[tokio::test]
async fn steem_failover_and_kill_switch_in_signing_key_mode() -> anyhow::Result<()> {
    failover_and_kill_switch_without_the_active_key("STEEM").await
}

#[tokio::test]
async fn hive_failover_and_kill_switch_in_signing_key_mode() -> anyhow::Result<()> {
    failover_and_kill_switch_without_the_active_key("HIVE").await
}

#[tokio::test]
async fn vit_refuses_signing_key_mode_at_check_config() -> anyhow::Result<()> {
    let setup = SignerSetup::create(&["http://127.0.0.1:9"], &policy("VIT")?)?;
    let config = setup.config.to_str().context("config path")?;
    let output = signer_command(&["check-config", "--config", config])?;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let line = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains("signing-key")
            && line.contains("VIT does not have")
            && line.contains("active-key"),
        "{line}"
    );
    Ok(())
}

/// The monitor checks the signer's mode against its failover plan: a server whose signing key
/// the signer does not hold is a policy gap (that step could not be signed), and the mode is
/// printed.
#[tokio::test]
async fn the_monitor_reports_a_server_key_the_signer_does_not_hold() -> anyhow::Result<()> {
    let sim = SimChain::spawn(
        SIM,
        &[
            "--nodes",
            "3",
            "--block-interval-ms",
            "300",
            "--profile",
            "STEEM",
        ],
    )
    .await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    let key =
        |i| -> anyhow::Result<String> { Ok(test_public_key(i)?.to_string_with_prefix("STM")) };
    // Only the primary's key: the failover to the backup can be signed, the kill switch after it
    // could not.
    let options = SignerOptions {
        profile: "STEEM",
        signing_wifs: vec![TEST_WIFS[1].to_owned()],
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&nodes, &policy("STM")?, &options)?;
    let signer = setup.start().await?;
    let address = signer.field("listening")?;
    let monitor_options = MonitorOptions {
        servers: vec![("primary".into(), key(1)?), ("backup".into(), key(2)?)],
        missed_blocks: 2,
        block_interval_ms: 300,
        quorum: 2,
        dry_run: false,
    };
    let extras = MonitorExtras {
        profile: Some("STEEM"),
        ..MonitorExtras::default()
    };
    let monitor = MonitorSetup::create_with(
        &setup,
        "monitor",
        &address,
        &nodes,
        &monitor_options,
        &extras,
    )?;
    let config = monitor
        .config
        .to_str()
        .context("monitor config")?
        .to_owned();
    let output = std::process::Command::new(workspace_binary("vwf-monitor")?)
        .args(["check-config", "--online", "--config", &config])
        .output()?;
    let screen = text(&output);
    assert!(!output.status.success(), "{screen}");
    assert!(
        screen.contains("signing-key mode") && screen.contains(&format!("{} (primary)", key(1)?)),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("holds no signing key for backup ({})", key(2)?)),
        "{screen}"
    );
    assert!(
        !screen.contains("holds no signing key for primary"),
        "{screen}"
    );
    drop(signer);
    sim.stop().await?;
    Ok(())
}
