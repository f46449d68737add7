//! The monitor on the operator's path (issue 13, item 5), with the real binaries on 127.0.0.1:
//! a signer whose certificate was made for another server name than the monitor's
//! `server_name` is caught by `vwf-monitor check-config --online` (exit 1, one line naming both
//! names) and at `vwf-monitor run` start (an error log line and a critical alert with the
//! cause), long before a failover would need the signer. A policy that does not grant `status`
//! is told apart from a broken link. And in dry-run mode (item 7) every alert is marked and the
//! signer's dry-run answer reaches the alert sinks. A client certificate near its end (issue
//! 14) is warned about by `check-config`, at `run` start (log line and alert), in `status`
//! and in the metrics.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use anyhow::Context;
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorOptions, MonitorSetup};
use vwf_tests::process::workspace_binary;
use vwf_tests::signer::{INTRUDER, MONITOR, SignerSetup, default_policy};
use vwf_tests::tx::test_key;
use vwf_tests::wait::wait_until;

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
/// Bounds every command and wait in this file.
const LIMIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);
/// The name the operator gave `certs init`; the monitor's config keeps `localhost`.
const OTHER_NAME: &str = "signer.example.org";

fn options() -> anyhow::Result<MonitorOptions> {
    Ok(MonitorOptions {
        servers: vec![
            ("primary".into(), test_key(1)?),
            ("backup".into(), test_key(2)?),
        ],
        missed_blocks: 3,
        block_interval_ms: 300,
        quorum: 1,
        dry_run: false,
    })
}

/// The alert lines (the log sink's) of a monitor log.
fn alert_lines(log: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(log)?;
    Ok(text
        .lines()
        .filter(|l| l.contains("event=\"alert\""))
        .map(str::to_owned)
        .collect())
}

/// Runs `vwf-monitor <args> --config <config>` to completion (bounded).
async fn monitor_command(args: &[&str], config: &Path) -> anyhow::Result<Output> {
    let config = config.to_str().context("config path is not UTF-8")?;
    let run = tokio::process::Command::new(workspace_binary("vwf-monitor")?)
        .args(args)
        .args(["--config", config])
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(LIMIT, run)
        .await
        .context("vwf-monitor did not finish in time")?
        .map_err(Into::into)
}

/// Replaces the setup's certificates with new ones whose server certificate names only
/// `server_name`, as `vwf-signer certs init --server-name` does for an operator; `extra` adds
/// arguments (e.g. `--days`).
fn reissue_certificates(
    setup: &SignerSetup,
    server_name: &str,
    extra: &[&str],
) -> anyhow::Result<()> {
    let certs = setup.certs();
    let certs = certs.to_str().context("certs path is not UTF-8")?;
    let output = std::process::Command::new(workspace_binary("vwf-signer")?)
        .args([
            "certs",
            "init",
            "--dir",
            certs,
            "--server-name",
            server_name,
        ])
        .args(["--client", MONITOR, "--client", INTRUDER, "--force"])
        .args(extra)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "certs init failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[tokio::test]
async fn a_signer_certificate_for_another_name_is_caught_by_check_config_and_at_start()
-> anyhow::Result<()> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(5)?)?;
    reissue_certificates(&setup, OTHER_NAME, &[])?;
    let signer = setup.start().await?;
    let address = signer.field("listening")?;
    let monitor = MonitorSetup::create(&setup, "monitor", &address, &[sim.node(0)], &options()?)?;

    // Offline, the config is fine; online, the link is not, and one line says why.
    let offline = monitor_command(&["check-config"], &monitor.config).await?;
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let online = monitor_command(&["check-config", "--online"], &monitor.config).await?;
    let stderr = String::from_utf8_lossy(&online.stderr);
    assert_eq!(online.status.code(), Some(1), "{stderr}");
    let naming: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(OTHER_NAME) && l.contains("server_name is \"localhost\""))
        .collect();
    assert_eq!(naming.len(), 1, "one line names both names: {stderr}");
    assert!(
        naming[0].starts_with(
            "error: signer check failed: TLS: the signer's certificate is for signer.example.org"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("grant this monitor"), "{stderr}");

    // `run` says the same at start: an error line with the cause and a critical alert (the log
    // sink, as no other sink is configured), and keeps running.
    let log = setup.dir.path().join("monitor.log");
    let daemon = monitor.start_logged(&[], Some(&log)).await?;
    let lines = wait_until("the start-up signer check in the log", LIMIT, POLL, || {
        let log = log.clone();
        async move {
            let text = std::fs::read_to_string(&log)?;
            let check = text
                .lines()
                .find(|l| l.contains("event=\"signer-check\""))
                .map(str::to_owned);
            let alert = text
                .lines()
                .find(|l| l.contains("event=\"alert\"") && l.contains("SignerTrouble"))
                .map(str::to_owned);
            Ok(check.zip(alert))
        }
    })
    .await?;
    let (check, alert) = lines;
    for line in [&check, &alert] {
        assert!(line.contains("ERROR"), "{line}");
        assert!(
            line.contains(OTHER_NAME) && line.contains("server_name is \"localhost\""),
            "{line}"
        );
        assert!(!line.contains("grant this monitor"), "{line}");
    }
    assert!(
        alert.contains("cannot use the signer at") && alert.contains("TLS server name mismatch"),
        "{alert}"
    );
    daemon.stop().await?;
    Ok(())
}

#[tokio::test]
async fn check_config_online_passes_with_matching_names_and_names_a_missing_status_grant()
-> anyhow::Result<()> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;

    // The guide's certificates (made for localhost) and a policy granting status: all good.
    let good = SignerSetup::create(&[sim.node(0)], &default_policy(5)?)?;
    let good_signer = good.start().await?;
    let address = good_signer.field("listening")?;
    let monitor = MonitorSetup::create(&good, "monitor", &address, &[sim.node(0)], &options()?)?;
    let online = monitor_command(&["check-config", "--online"], &monitor.config).await?;
    let stdout = String::from_utf8_lossy(&online.stdout);
    assert!(
        online.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&online.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "signer https://{address}: OK: mTLS handshake (server name localhost) and Status as {MONITOR}"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("signer policy: allows every switch this monitor may ask for"),
        "{stdout}"
    );

    // The same link with a policy that does not grant status: the link works, the policy
    // refuses, and the hint is the status grant.
    let policy = default_policy(5)?.replace(
        r#"may = ["switch", "disable", "dry-run", "status"]"#,
        r#"may = ["switch", "disable", "dry-run"]"#,
    );
    anyhow::ensure!(
        !policy.contains("\"status\""),
        "the policy still grants status"
    );
    let strict = SignerSetup::create(&[sim.node(0)], &policy)?;
    let strict_signer = strict.start().await?;
    let address = strict_signer.field("listening")?;
    let monitor = MonitorSetup::create(&strict, "monitor", &address, &[sim.node(0)], &options()?)?;
    let online = monitor_command(&["check-config", "--online"], &monitor.config).await?;
    let stderr = String::from_utf8_lossy(&online.stderr);
    assert_eq!(online.status.code(), Some(1), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: signer check failed:"))
        .unwrap_or_default();
    assert!(
        line.contains("the mTLS link works") && line.contains("grant this monitor \"status\""),
        "{stderr}"
    );
    assert!(!line.contains("TLS:"), "{stderr}");
    Ok(())
}

#[tokio::test]
async fn in_dry_run_mode_every_alert_is_marked_and_the_dry_run_answer_is_alerted()
-> anyhow::Result<()> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "150"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(5)?)?;
    let signer = setup.start().await?;
    let address = signer.field("listening")?;
    let options = MonitorOptions {
        missed_blocks: 2,
        block_interval_ms: 150,
        dry_run: true,
        ..options()?
    };
    let monitor = MonitorSetup::create(&setup, "monitor", &address, &[sim.node(0)], &options)?;
    let log = setup.dir.path().join("monitor.log");
    let daemon = monitor.start_logged(&[], Some(&log)).await?;
    sim.control().set_server("primary", false).await?;
    let answer = wait_until("the dry-run answer alert", LIMIT, POLL, || {
        let log = log.clone();
        async move {
            Ok(alert_lines(&log)?
                .into_iter()
                .find(|l| l.contains("kind=\"DryRun\"")))
        }
    })
    .await?;
    assert!(
        answer.contains("alert::log: DRY-RUN: the signer would switch primary -> backup"),
        "{answer}"
    );
    assert!(
        answer.contains("nothing was signed or broadcast"),
        "{answer}"
    );
    let alerts = alert_lines(&log)?;
    // The start-up alert, the missed blocks and the answer: each title starts with the mark
    // (the log sink writes the title as the message, after the target).
    for kind in ["Startup", "MissingBlocks", "DryRun"] {
        assert!(
            alerts
                .iter()
                .any(|l| l.contains(&format!("kind=\"{kind}\""))),
            "no {kind} alert: {alerts:#?}"
        );
    }
    for line in &alerts {
        assert!(line.contains("alert::log: DRY-RUN: "), "unmarked: {line}");
    }
    let missed = alerts
        .iter()
        .find(|l| l.contains("kind=\"MissingBlocks\""))
        .map_or("", String::as_str);
    assert!(missed.contains("failover to backup"), "{missed}");
    assert!(
        sim.control().applied_keys().await?.is_empty(),
        "dry run changed the key"
    );
    daemon.stop().await?;
    Ok(())
}

/// `GET /metrics` from the monitor's metrics listener (HTTP/1.1, one request), bounded.
async fn scrape(address: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let request =
            format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await?;
        anyhow::Ok(text)
    };
    tokio::time::timeout(LIMIT, fetch)
        .await
        .context("no metrics in time")?
}

#[tokio::test]
async fn a_client_certificate_near_its_end_is_warned_about_everywhere() -> anyhow::Result<()> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(5)?)?;
    // Everything valid for 10 days: inside the default 30-day warning.
    reissue_certificates(&setup, "localhost", &["--days", "10"])?;
    let signer = setup.start().await?;
    let address = signer.field("listening")?;
    let monitor = MonitorSetup::create(&setup, "monitor", &address, &[sim.node(0)], &options()?)?;

    // check-config warns (it does not fail: the certificate still works).
    let checked = monitor_command(&["check-config"], &monitor.config).await?;
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let warning = stdout
        .lines()
        .find(|l| l.starts_with("warning: the client certificate "))
        .unwrap_or_default();
    assert!(
        warning.contains("expires in 9 days") || warning.contains("expires in 10 days"),
        "{stdout}"
    );
    assert!(warning.contains("restart the monitor"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("warning: the CA certificate ")),
        "{stdout}"
    );

    // `run` says so at start: a warning line and an alert, and the link itself works.
    let log = setup.dir.path().join("monitor.log");
    let daemon = monitor.start_logged(&[], Some(&log)).await?;
    let (line, alert) = wait_until("the certificate warning and its alert", LIMIT, POLL, || {
        let log = log.clone();
        async move {
            let text = std::fs::read_to_string(&log)?;
            let line = text
                .lines()
                .find(|l| l.contains("event=\"cert-expiry\"") && l.contains("signer.client_cert"))
                .map(str::to_owned);
            let alert = alert_lines(&log)?
                .into_iter()
                .find(|l| l.contains("kind=\"CertExpiry\"") && l.contains("client certificate"));
            Ok(line.zip(alert))
        }
    })
    .await?;
    assert!(
        line.contains("WARN") && line.contains("expires in"),
        "{line}"
    );
    assert!(
        alert.contains("WARN") && alert.contains("the client certificate expires in"),
        "{alert}"
    );
    wait_until("the start-up signer check", LIMIT, POLL, || {
        let log = log.clone();
        async move {
            let text = std::fs::read_to_string(&log)?;
            Ok(text
                .lines()
                .find(|l| l.contains("mTLS handshake and Status with the signer OK"))
                .map(drop))
        }
    })
    .await?;

    // The metrics gauge counts down from at most 10 days; `status` shows the days left.
    let metrics = scrape(&daemon.field("metrics")?).await?;
    let seconds: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("vwf_signer_client_cert_expiry_seconds "))
        .context("no client certificate gauge")?
        .trim()
        .parse()?;
    assert!((8 * 86_400..=10 * 86_400).contains(&seconds), "{metrics}");
    let status = monitor_command(&["status"], &monitor.config).await?;
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        stdout.contains("client certificate: 9 day(s) left")
            || stdout.contains("client certificate: 10 day(s) left"),
        "{stdout}"
    );
    assert!(stdout.contains("EXPIRES SOON"), "{stdout}");
    daemon.stop().await?;
    Ok(())
}
