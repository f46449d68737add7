//! Revoking a client certificate on a running `vwf-signer serve` (with the real
//! `vwf-simchain`, on 127.0.0.1):
//!
//! 1. `certs issue` adds a second client certificate from the CA; it works;
//! 2. an invalid `[revoked]` entry + SIGHUP is refused: the old list stays, the client still works;
//! 3. its fingerprint in `[revoked]` + SIGHUP: its open connection is closed, every new
//!    handshake is refused, and the many refusals take a bounded number of audit lines;
//! 4. the original monitor certificate still gets Status and the kill switch through, from the
//!    same signer process, also after a flood of SIGHUPs;
//!
//! and a SIGHUP sent while the signer is still loading its key (as `systemctl reload` right
//! after a start can) does not stop it.
//!
//! Every wait is bounded; nothing asserts on timing.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use vwf_proto::v1 as pb;
use vwf_proto::v1::set_signing_key_response::Outcome;
use vwf_tests::harness::SimChain;
use vwf_tests::process::workspace_binary;
use vwf_tests::signer::{ACCOUNT, MONITOR, SignerSetup, default_policy};
use vwf_tests::tx::{NULL_KEY, TEST_WIFS, test_key};
use vwf_tests::wait::{wait_for, wait_until};

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
/// The certificate issued, then revoked.
const SECOND: &str = "spiffe://vwf/monitor-2";
/// Longest any single call may take.
const CALL_BOUND: Duration = Duration::from_secs(30);
/// Longest wait for the signer to act on a SIGHUP or write a summary.
const WAIT_BOUND: Duration = Duration::from_secs(30);
/// Connections the revoked certificate tries after its revocation.
const ATTEMPTS: usize = 25;

/// Runs `vwf-signer ARGS`, failing on a non-zero exit; returns stdout.
fn signer_cli(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(workspace_binary("vwf-signer")?)
        .args(args)
        .output()?;
    if !output.status.success() {
        bail!(
            "vwf-signer {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

fn hangup(pid: u32) -> anyhow::Result<()> {
    // The `kill` utility keeps this crate free of unsafe/libc.
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()?;
    if !status.success() {
        bail!("kill -HUP {pid} failed: {status}");
    }
    Ok(())
}

/// The audit lines with `call` and `decision`.
fn audited(setup: &SignerSetup, call: &str, decision: &str) -> anyhow::Result<Vec<Value>> {
    Ok(setup
        .audit()?
        .into_iter()
        .filter(|e| e["call"] == call && e["decision"] == decision)
        .collect())
}

/// Status as `identity` on a fresh connection, bounded.
async fn status(
    setup: &SignerSetup,
    address: &str,
    identity: &str,
) -> anyhow::Result<pb::StatusResponse> {
    let mut client = setup.client(address, identity).await?;
    Ok(
        tokio::time::timeout(CALL_BOUND, client.status(pb::StatusRequest {}))
            .await
            .context("Status did not answer within the bound")??
            .into_inner(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused_after_sighup_and_the_monitor_still_gets_through()
-> anyhow::Result<()> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let policy = format!(
        "{}\n[[account.client]]\nidentity = \"{SECOND}\"\nmay = [\"status\", \"dry-run\"]\n",
        default_policy(3)?
    );
    let setup = SignerSetup::create(&[sim.node(0)], &policy)?;
    // Summaries every second, so that the counted refusals show up within the test.
    let text = std::fs::read_to_string(&setup.config)?;
    let marker = "rate_window_seconds = 60\n";
    if !text.contains(marker) {
        bail!("the config has no [listen] rate_window_seconds line");
    }
    std::fs::write(
        &setup.config,
        text.replacen(marker, &format!("{marker}refusal_summary_seconds = 1\n"), 1),
    )?;

    // 1. A second client certificate from the same CA, issued beside the others.
    let certs = setup.certs();
    let certs_dir = certs.to_str().context("certs path is not UTF-8")?;
    let issued = signer_cli(&["certs", "issue", "--client", SECOND, "--ca-dir", certs_dir])?;
    assert!(issued.contains("issued client"), "{issued}");
    let listed = signer_cli(&["certs", "list", "--dir", certs_dir])?;
    let fingerprint = listed
        .lines()
        .find(|l| l.starts_with("client-spiffe-vwf-monitor-2.pem "))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("sha256=")))
        .map(str::to_owned)
        .with_context(|| format!("no fingerprint of the new certificate in {listed}"))?;

    let log = setup.dir.path().join("signer.log");
    let daemon = setup.start_logged(&[], Some(&log)).await?;
    let address = daemon.field("listening")?;
    let pid = daemon.pid().context("the signer has no pid")?;
    let answer = status(&setup, &address, SECOND).await?;
    assert_eq!(answer.client_identity, SECOND);
    // A connection of the second certificate, held open across the revocation.
    let mut held = setup.client(&address, SECOND).await?;
    tokio::time::timeout(CALL_BOUND, held.status(pb::StatusRequest {}))
        .await
        .context("Status on the held connection did not answer")??;

    // 2. An invalid entry: the reload is refused and nothing changes.
    let config = std::fs::read_to_string(&setup.config)?;
    std::fs::write(
        &setup.config,
        format!("{config}\n[revoked]\nfingerprints = [\"{fingerprint}00\"]\n"),
    )?;
    hangup(pid)?;
    wait_for(
        "the refused reload in the audit log",
        WAIT_BOUND,
        Duration::from_millis(100),
        || async { Ok(!audited(&setup, "reload", "refused")?.is_empty()) },
    )
    .await?;
    let answer = status(&setup, &address, SECOND).await?;
    assert_eq!(
        answer.client_identity, SECOND,
        "an invalid reload changed the list"
    );

    // 3. Its fingerprint (upper case, with colons, as openssl prints it) revokes it.
    let colons = fingerprint
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    std::fs::write(
        &setup.config,
        format!("{config}\n[revoked]\nfingerprints = [\"{colons}\"]\n"),
    )?;
    hangup(pid)?;
    let applied = wait_until(
        "the applied reload in the audit log",
        WAIT_BOUND,
        Duration::from_millis(100),
        || async { Ok(audited(&setup, "reload", "allowed")?.into_iter().next()) },
    )
    .await?;
    let detail = applied["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("1 fingerprint(s)"), "{applied}");
    println!("reload: {detail}");
    // The held connection was open at the reload: closed by it, not merely refused later.
    let closed: u64 = detail
        .split("; ")
        .nth(1)
        .and_then(|part| part.split(' ').next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no count of closed connections in {detail:?}"))?;
    assert!(closed >= 1, "the held connection was not closed: {detail}");
    assert_eq!(daemon.pid(), Some(pid), "the signer restarted or stopped");

    // Several streams at once on the held channel (HTTP/2 multiplexing; the channel redials
    // after the close): none is served.
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let mut client = held.clone();
            tokio::spawn(async move {
                tokio::time::timeout(CALL_BOUND, client.status(pb::StatusRequest {})).await
            })
        })
        .collect();
    for (stream, call) in calls.into_iter().enumerate() {
        let on_held = call
            .await?
            .context("the held channel neither answered nor closed")?;
        assert!(
            on_held.is_err(),
            "stream {stream}: revoked certificate served: {on_held:?}"
        );
    }

    // Every new connection of the revoked certificate is refused at the handshake.
    for attempt in 0..ATTEMPTS {
        let refused = status(&setup, &address, SECOND).await;
        assert!(refused.is_err(), "attempt {attempt} served: {refused:?}");
    }
    let is_revoked_handshake = |e: &Value| {
        e["call"] == "tls-handshake"
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Revoked") || d.contains("certificate-revoked"))
    };
    // The first refusal in full, the rest counted on summary lines.
    let counted = wait_until(
        "the summary of the revoked certificate's refusals",
        WAIT_BOUND,
        Duration::from_millis(200),
        || async {
            let lines: Vec<Value> = setup
                .audit()?
                .into_iter()
                .filter(is_revoked_handshake)
                .collect();
            let full = lines.iter().filter(|e| e["count"].is_null()).count() as u64;
            let counted: u64 = lines.iter().filter_map(|e| e["count"].as_u64()).sum();
            Ok((full + counted >= ATTEMPTS as u64).then_some((lines.len(), full, counted)))
        },
    )
    .await?;
    let (lines, full, counted) = counted;
    println!(
        "{ATTEMPTS} refused handshakes: {lines} audit line(s), {full} in full, {counted} counted"
    );
    assert!(full >= 1, "no refusal written in full");
    assert!(
        lines <= 6,
        "{lines} audit lines for {ATTEMPTS} refused handshakes"
    );
    let log_text = std::fs::read_to_string(&log)?;
    assert!(
        log_text.contains("reload") && log_text.contains("applied"),
        "no reload line in the signer's log"
    );

    // 4. A flood of SIGHUPs (the same valid file): the signer keeps serving, the list stays.
    let reloads_before = audited(&setup, "reload", "allowed")?.len();
    for _ in 0..20 {
        hangup(pid)?;
    }
    wait_for(
        "a reload after the flood in the audit log",
        WAIT_BOUND,
        Duration::from_millis(100),
        || async { Ok(audited(&setup, "reload", "allowed")?.len() > reloads_before) },
    )
    .await?;
    assert_eq!(daemon.pid(), Some(pid), "the signer stopped under SIGHUPs");
    assert!(
        status(&setup, &address, SECOND).await.is_err(),
        "the revoked certificate got back in after the flood"
    );

    // The monitor's own certificate: Status and the kill switch.
    let answer = status(&setup, &address, MONITOR).await?;
    assert_eq!(answer.client_identity, MONITOR);
    let mut monitor = setup.client(&address, MONITOR).await?;
    let request = pb::SetSigningKeyRequest {
        request_id: "kill-after-revocation".into(),
        account: ACCOUNT.to_owned(),
        target: Some(pb::SigningKeyTarget {
            target: Some(pb::signing_key_target::Target::NullKey(pb::NullKey {})),
        }),
        expected_current_key: test_key(1)?,
        reason: "kill switch after a revocation".into(),
    };
    let answer = tokio::time::timeout(Duration::from_secs(90), monitor.set_signing_key(request))
        .await
        .context("the kill switch did not answer within the bound")??
        .into_inner();
    assert!(
        matches!(answer.outcome, Some(Outcome::Applied(_))),
        "{answer:?}"
    );
    let witness = sim.control().witness(ACCOUNT).await?;
    assert_eq!(witness["signing_key"].as_str(), Some(NULL_KEY));
    assert_eq!(daemon.pid(), Some(pid), "the signer restarted or stopped");
    daemon.stop().await?;
    // No secret in what the signer wrote: its log, its audit log.
    let audit_text = std::fs::read_to_string(setup.state_file("audit.jsonl"))?;
    let log_text = std::fs::read_to_string(&log)?;
    for (what, text) in [("log", &log_text), ("audit log", &audit_text)] {
        for secret in [TEST_WIFS[0], "PRIVATE KEY", "correct horse"] {
            assert!(!text.contains(secret), "the signer's {what} holds a secret");
        }
    }
    Ok(())
}

/// `systemctl reload` right after `systemctl start` (the unit is `Type=exec`, so it counts as
/// started while the key still loads): the SIGHUP arrives while the signer reads its
/// passphrase. SIGHUP's default action would end the process, and systemd does not restart a
/// service that SIGHUP ended. The passphrase file is a FIFO here, so the test knows the signer
/// is reading it when the signal is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sighup_while_the_key_loads_does_not_stop_the_signer() -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt as _;

    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(3)?)?;
    let fifo = setup.dir.path().join("passphrase");
    let passphrase = std::fs::read(&fifo)?;
    std::fs::remove_file(&fifo)?;
    let made = Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&fifo)
        .status()?;
    if !made.success() {
        bail!("mkfifo failed: {made}");
    }
    let log = setup.dir.path().join("signer.log");
    let mut child = tokio::process::Command::new(workspace_binary("vwf-signer")?)
        .arg("serve")
        .arg("--config")
        .arg(&setup.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log)?))
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("the signer has no pid")?;
    // Opening the FIFO for writing returns once the signer has opened it for reading.
    let path = fifo.clone();
    let opener =
        tokio::task::spawn_blocking(move || std::fs::OpenOptions::new().write(true).open(path));
    let mut writer = match tokio::time::timeout(WAIT_BOUND, opener).await {
        Ok(opened) => opened??,
        Err(_) => {
            // Unblocks the opener (a reader meets the waiting writer).
            let _ = std::fs::File::open(&fifo);
            bail!("the signer did not open its passphrase file within {WAIT_BOUND:?}");
        }
    };
    hangup(pid)?;
    writer.write_all(&passphrase)?;
    drop(writer);

    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = tokio::time::timeout(WAIT_BOUND, lines.next_line())
        .await
        .context("the signer printed nothing")??;
    let Some(first) = first else {
        let status = tokio::time::timeout(WAIT_BOUND, child.wait()).await??;
        bail!(
            "the signer ended ({status}) on a SIGHUP during start-up: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    let address = serde_json::from_str::<Value>(&first)?["listening"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("bad first line {first:?}"))?;
    // The SIGHUP is applied once serving: one reload of the same file.
    wait_for(
        "the reload of the early SIGHUP in the audit log",
        WAIT_BOUND,
        Duration::from_millis(100),
        || async { Ok(!audited(&setup, "reload", "allowed")?.is_empty()) },
    )
    .await?;
    let answer = status(&setup, &address, MONITOR).await?;
    assert_eq!(answer.client_identity, MONITOR);
    terminate(pid)?;
    tokio::time::timeout(WAIT_BOUND, child.wait())
        .await
        .context("the signer did not stop on SIGTERM")??;
    Ok(())
}

fn terminate(pid: u32) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    if !status.success() {
        bail!("kill -TERM {pid} failed: {status}");
    }
    Ok(())
}
