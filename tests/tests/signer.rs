//! The signer daemon end to end: real `vwf-signer serve` (mTLS gRPC, age key, policy, audit)
//! against the real `vwf-simchain` on 127.0.0.1.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use vwf_proto::v1 as pb;
use vwf_proto::v1::set_signing_key_response::Outcome;
use vwf_tests::harness::SimChain;
use vwf_tests::signer::{ACCOUNT, INTRUDER, MONITOR, SignerSetup, default_policy};
use vwf_tests::tx::{NULL_KEY, test_key};
use vwf_tests::wait::wait_for;

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");

fn request(id: &str, account: &str, target: &str, expected: &str) -> pb::SetSigningKeyRequest {
    vwf_tests::signer::key_request(id, account, target, expected)
}

fn refused_rule(outcome: &Option<Outcome>) -> Option<&str> {
    match outcome {
        Some(Outcome::Refused(refused)) => Some(refused.rule.as_str()),
        _ => None,
    }
}

async fn updates(sim: &SimChain) -> anyhow::Result<usize> {
    let history = sim.control().history().await?;
    Ok(history["updates"].as_array().map_or(0, Vec::len))
}

async fn chain_key(sim: &SimChain) -> anyhow::Result<String> {
    let witness = sim.control().witness(ACCOUNT).await?;
    witness["signing_key"]
        .as_str()
        .map(str::to_owned)
        .context("no signing_key")
}

#[tokio::test]
async fn allowed_switch_is_applied_and_every_off_policy_request_is_refused_and_audited()
-> anyhow::Result<()> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "200"]).await?;
    let (primary, backup, stranger) = (test_key(1)?, test_key(2)?, test_key(3)?);
    // The primary is a target too, so that switching back is allowed by all but the flap limit.
    let policy = format!(
        "{}\n[[account.target]]\nname = \"primary\"\nkey = \"{primary}\"\n",
        default_policy(1)?
    );
    let setup = SignerSetup::create(&[sim.node(0)], &policy)?;
    let daemon = setup.start().await?;
    let address = daemon.field("listening")?;
    let mut monitor = setup.client(&address, MONITOR).await?;

    // Allowed: primary → backup, applied on chain.
    let applied = monitor
        .set_signing_key(request("switch-1", ACCOUNT, &backup, &primary))
        .await?
        .into_inner();
    let Some(Outcome::Applied(applied)) = applied.outcome else {
        anyhow::bail!("expected applied, got {applied:?}");
    };
    assert_eq!(applied.signing_key, backup);
    assert!(applied.block_num > 0);
    assert_eq!(applied.tx_id.len(), 40);
    assert_eq!(chain_key(&sim).await?, backup);
    assert_eq!(updates(&sim).await?, 1);

    // The same request again: the first outcome, nothing broadcast.
    let replay = monitor
        .set_signing_key(request("switch-1", ACCOUNT, &backup, &primary))
        .await?
        .into_inner();
    assert_eq!(replay.outcome, Some(Outcome::Applied(applied.clone())));

    // Each refusal names its rule; none broadcasts.
    let cases = [
        (
            request("r-offpolicy", ACCOUNT, &stranger, &backup),
            "target-not-allowed",
        ),
        (
            request("r-account", "someone-else", &backup, &primary),
            "unknown-account",
        ),
        (
            request("r-cas", ACCOUNT, NULL_KEY, &primary),
            "compare-and-swap",
        ),
        (request("r-flap", ACCOUNT, &primary, &backup), "flap-limit"),
        (
            request("bad id!", ACCOUNT, NULL_KEY, &backup),
            "invalid-request",
        ),
        (
            request("r-reused", ACCOUNT, &backup, &primary),
            "already-in-effect",
        ),
    ];
    for (req, rule) in cases {
        let answer = monitor.set_signing_key(req).await?.into_inner();
        if rule == "already-in-effect" {
            assert!(
                matches!(answer.outcome, Some(Outcome::AlreadyInEffect(_))),
                "{answer:?}"
            );
        } else {
            assert_eq!(refused_rule(&answer.outcome), Some(rule), "{answer:?}");
        }
    }
    let mut intruder = setup.client(&address, INTRUDER).await?;
    let answer = intruder
        .set_signing_key(request("r-intruder", ACCOUNT, NULL_KEY, &backup))
        .await?
        .into_inner();
    assert_eq!(refused_rule(&answer.outcome), Some("client-not-allowed"));
    assert_eq!(updates(&sim).await?, 1, "a refused request was broadcast");
    assert_eq!(chain_key(&sim).await?, backup);

    // A dry run builds the exact transaction without broadcasting.
    let dry = monitor
        .dry_run(pb::DryRunRequest {
            request: Some(request("", ACCOUNT, &primary, &backup)),
            preflight: true,
        })
        .await?
        .into_inner();
    assert!(!dry.allowed, "flap limit should refuse: {dry:?}");
    assert_eq!(dry.refused.map(|r| r.rule).as_deref(), Some("flap-limit"));

    // The audit log has one line per decision, with the rule.
    let audit = setup.audit()?;
    let rules: Vec<&str> = audit.iter().filter_map(|e| e["rule"].as_str()).collect();
    for rule in [
        "target-not-allowed",
        "unknown-account",
        "compare-and-swap",
        "flap-limit",
        "client-not-allowed",
        "invalid-request",
    ] {
        assert!(rules.contains(&rule), "{rule} not audited: {audit:?}");
    }
    let applied_entries: Vec<&Value> = audit
        .iter()
        .filter(|e| e["decision"] == "applied")
        .collect();
    assert_eq!(applied_entries.len(), 1);
    assert_eq!(
        applied_entries[0]["tx_id"],
        Value::String(applied.tx_id.clone())
    );
    assert_eq!(applied_entries[0]["client"], MONITOR);
    daemon.stop().await?;
    Ok(())
}

#[tokio::test]
async fn kill_switch_applies_the_null_key_and_a_restart_keeps_request_ids() -> anyhow::Result<()> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "200"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(3)?)?;
    let daemon = setup.start().await?;
    let address = daemon.field("listening")?;
    let mut monitor = setup.client(&address, MONITOR).await?;
    let primary = test_key(1)?;

    let first = monitor
        .set_signing_key(request("kill-1", ACCOUNT, NULL_KEY, &primary))
        .await?
        .into_inner();
    assert!(
        matches!(first.outcome, Some(Outcome::Applied(_))),
        "{first:?}"
    );
    assert_eq!(chain_key(&sim).await?, NULL_KEY);

    // A crash and restart: the request id still answers with the first outcome.
    daemon.kill().await?;
    let daemon = setup.start().await?;
    let address = daemon.field("listening")?;
    let mut monitor = setup.client(&address, MONITOR).await?;
    let again = monitor
        .set_signing_key(request("kill-1", ACCOUNT, NULL_KEY, &primary))
        .await?
        .into_inner();
    assert_eq!(again.outcome, first.outcome);
    assert_eq!(updates(&sim).await?, 1);

    // Disabled stays disabled: re-enabling is not allowed by this policy.
    let reenable = monitor
        .set_signing_key(request("reenable-1", ACCOUNT, &test_key(2)?, NULL_KEY))
        .await?
        .into_inner();
    assert_eq!(
        refused_rule(&reenable.outcome),
        Some("reenable-not-allowed")
    );

    // The null-key witness leaves the schedule: no further misses accrue for it.
    let control = sim.control();
    wait_for(
        "witness leaves the schedule",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async {
            let status = control.status().await?;
            let scheduled = status["witnesses"]
                .as_array()
                .and_then(|ws| ws.iter().find(|w| w["name"] == ACCOUNT))
                .map(|w| w["scheduled"].as_bool() == Some(true));
            Ok(scheduled == Some(false))
        },
    )
    .await?;
    daemon.stop().await?;
    Ok(())
}

#[tokio::test]
async fn tls_refuses_missing_foreign_and_expired_client_certificates() -> anyhow::Result<()> {
    use vwf_signer::pki::{CertificateAuthority, Validity};
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(3)?)?;
    let daemon = setup.start().await?;
    let address = daemon.field("listening")?;
    let status = || pb::StatusRequest {};

    // The monitor's own certificate works.
    let mut monitor = setup.client(&address, MONITOR).await?;
    let answer = monitor.status(status()).await?.into_inner();
    assert_eq!(answer.client_identity, MONITOR);
    assert_eq!(answer.profile, "VIT");

    // No certificate.
    let mut anonymous = setup.client_with(&address, None).await?;
    assert!(anonymous.status(status()).await.is_err());

    // A certificate from another CA with the right identity.
    let other = CertificateAuthority::generate("other CA", Validity::days_from_now(1))?;
    let foreign = other.issue_client_certificate(MONITOR, Validity::days_from_now(1))?;
    let mut foreign_client = setup
        .client_with(
            &address,
            Some((foreign.cert_pem.clone(), foreign.key_pem.to_string())),
        )
        .await?;
    assert!(foreign_client.status(status()).await.is_err());

    // An expired certificate from the right CA.
    let ca_cert = std::fs::read_to_string(setup.certs().join("ca.pem"))?;
    let ca_key = std::fs::read_to_string(setup.certs().join("ca.key"))?;
    let ca = CertificateAuthority::from_pem(&ca_cert, &ca_key)?;
    let now = time::OffsetDateTime::now_utc();
    let expired = ca.issue_client_certificate(
        MONITOR,
        Validity {
            not_before: now - time::Duration::days(10),
            not_after: now - time::Duration::days(1),
        },
    )?;
    let mut expired_client = setup
        .client_with(
            &address,
            Some((expired.cert_pem.clone(), expired.key_pem.to_string())),
        )
        .await?;
    assert!(expired_client.status(status()).await.is_err());

    // The daemon keeps serving, and the refusals are audited at the TLS layer.
    assert!(monitor.status(status()).await.is_ok());
    // The refusal is audited by the server's handshake task, which may finish just after the
    // client sees the failure: wait (bounded) for the three entries.
    let audited = || async {
        let refusals = setup
            .audit()?
            .iter()
            .filter(|e| e["call"] == "tls-handshake" && e["decision"] == "refused")
            .count();
        Ok(refusals >= 3)
    };
    wait_for(
        "3 audited handshake refusals",
        Duration::from_secs(5),
        Duration::from_millis(50),
        audited,
    )
    .await?;
    daemon.stop().await?;
    Ok(())
}

#[tokio::test]
async fn dry_run_command_prints_the_exact_transaction_and_the_node_byte_check() -> anyhow::Result<()>
{
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(3)?)?;
    let signer = vwf_tests::process::workspace_binary("vwf-signer")?;
    let config = setup.config.to_str().context("config path")?;
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    let output = std::process::Command::new(&signer)
        .args([
            "dry-run",
            "--config",
            config,
            "--client",
            MONITOR,
            "--account",
            ACCOUNT,
            "--target",
            &backup,
            "--expected",
            &primary,
            "--preflight",
        ])
        .output()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(report["allowed"], true, "{report}");
    assert_eq!(report["preflight"]["matches"], true, "{report}");
    let tx: Value = serde_json::from_str(report["transaction_json"].as_str().unwrap_or("null"))?;
    assert_eq!(tx["operations"][0][1]["block_signing_key"], backup.as_str());
    assert_eq!(report["digest"].as_str().map(str::len), Some(64));
    assert_eq!(updates(&sim).await?, 0, "dry-run broadcast something");
    // An off-policy target is refused with its rule, still exit 0 with the report.
    let output = std::process::Command::new(&signer)
        .args([
            "dry-run",
            "--config",
            config,
            "--client",
            MONITOR,
            "--account",
            ACCOUNT,
            "--target",
            &test_key(3)?,
            "--expected",
            &primary,
        ])
        .output()?;
    let report: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(report["allowed"], false);
    assert_eq!(report["refused"]["rule"], "target-not-allowed");
    Ok(())
}

#[tokio::test]
async fn serve_refuses_a_wrong_passphrase_a_corrupt_age_file_and_a_key_without_authority()
-> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(3)?)?;

    let passphrase = setup.dir.path().join("passphrase");
    std::fs::write(&passphrase, "wrong horse\n")?;
    let (code, stderr) = setup.serve_refuses()?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.to_lowercase().contains("passphrase"), "{stderr}");
    assert!(
        !stderr.contains("wrong horse"),
        "the passphrase was echoed: {stderr}"
    );
    std::fs::write(&passphrase, "correct horse battery staple\n")?;

    let age = setup.dir.path().join("active.age");
    let mut sealed = std::fs::read(&age)?;
    let middle = sealed.len() / 2;
    sealed[middle] ^= 0xff;
    std::fs::write(&age, &sealed)?;
    std::fs::set_permissions(&age, std::fs::Permissions::from_mode(0o600))?;
    let (code, stderr) = setup.serve_refuses()?;
    assert!(
        matches!(code, Some(c) if c != 0),
        "corrupt age file accepted: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    drop(sim);

    // A chain where the account's active key is another key: the signer must say so and stop.
    let other = test_key(3)?;
    let signing = test_key(1)?;
    let chain = format!(
        "[[witness]]\nname = \"{ACCOUNT}\"\nactive_key = \"{other}\"\nsigning_key = \"{signing}\"\n\n[[server]]\nname = \"primary\"\nsigning_key = \"{signing}\"\nup = true\n"
    );
    let sim = SimChain::spawn_with_config(SIM, &chain, &["--block-interval-ms", "300"]).await?;
    let setup = SignerSetup::create(&[sim.node(0)], &default_policy(3)?)?;
    let (code, stderr) = setup.serve_refuses()?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not an active or owner key"), "{stderr}");
    Ok(())
}

/// Hive since HF28: an owner key no longer signs for the active authority, so the signer refuses
/// to start with one there and says which key is needed; on Steem the same key is accepted.
#[tokio::test]
async fn an_owner_key_is_refused_on_hive_and_accepted_on_steem() -> anyhow::Result<()> {
    for (profile, prefix, accepted) in [("HIVE", "STM", false), ("STEEM", "STM", true)] {
        let key = |i: usize| -> anyhow::Result<String> {
            Ok(vwf_tests::tx::test_public_key(i)?.to_string_with_prefix(prefix))
        };
        let sim_config = format!(
            "[[witness]]\nname = \"{ACCOUNT}\"\nactive_key = \"{}\"\nowner_key = \"{}\"\nsigning_key = \"{}\"\n",
            key(0)?,
            key(3)?,
            key(1)?
        );
        let sim = SimChain::spawn_with_config(
            SIM,
            &sim_config,
            &["--profile", profile, "--block-interval-ms", "300"],
        )
        .await?;
        let policy = format!(
            "[[account]]\nname = \"{ACCOUNT}\"\nallow_null_key = true\n[[account.client]]\nidentity = \"{MONITOR}\"\nmay = [\"disable\"]\n"
        );
        let options = vwf_tests::signer::SignerOptions {
            wif: vwf_tests::tx::TEST_WIFS[3].to_owned(),
            profile,
            ..vwf_tests::signer::SignerOptions::default()
        };
        let setup = SignerSetup::create_with(&[sim.node(0)], &policy, &options)?;
        if accepted {
            let daemon = setup.start().await?;
            daemon.stop().await?;
        } else {
            let (code, stderr) = setup.serve_refuses()?;
            assert_eq!(code, Some(2), "{profile}: {stderr}");
            assert!(
                stderr.contains("OWNER key") && stderr.contains("ACTIVE key"),
                "{profile}: {stderr}"
            );
        }
        sim.stop().await?;
    }
    Ok(())
}
