//! `vwf-signer witness show|enable|disable`: the operator's own changes on the signer host,
//! end to end against `vwf-simchain` on 127.0.0.1, also while `vwf-signer serve` runs.

use std::process::Output;

use anyhow::Context;
use vwf_proto::v1 as pb;
use vwf_proto::v1::set_signing_key_response::Outcome;
use vwf_proto::v1::signing_key_target::Target;
use vwf_tests::harness::SimChain;
use vwf_tests::process::workspace_binary;
use vwf_tests::signer::{ACCOUNT, MONITOR, SignerSetup, default_policy};
use vwf_tests::tx::{NULL_KEY, test_key};

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");

/// Runs `vwf-signer witness <args> --config <config>` with stdin closed (not a terminal).
fn witness(setup: &SignerSetup, args: &[&str]) -> anyhow::Result<Output> {
    let config = setup.config.to_str().context("config path")?;
    let mut all = vec!["witness"];
    all.extend_from_slice(args);
    all.extend(["--config", config]);
    Ok(std::process::Command::new(workspace_binary("vwf-signer")?)
        .args(&all)
        .stdin(std::process::Stdio::null())
        .output()?)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn the_operator_disables_and_re_enables_while_serve_runs_and_the_change_is_counted()
-> anyhow::Result<()> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300", "--nodes", "3"]).await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    // One change per hour for the monitor; the primary is a target too.
    let policy = format!(
        "{}\n[[account.target]]\nname = \"primary\"\nkey = \"{primary}\"\n",
        default_policy(1)?
    );
    let setup = SignerSetup::create(&nodes, &policy)?;
    let control = sim.control();

    // show: the agreed view, read without the key.
    let shown = witness(&setup, &["show"])?;
    assert!(shown.status.success(), "{}", text(&shown));
    let screen = text(&shown);
    assert!(
        screen.contains(&primary) && screen.contains("of 3 nodes agree (quorum 2)"),
        "{screen}"
    );

    // Without a terminal, a change needs --yes: exit 2, one line, nothing signed.
    let refused = witness(&setup, &["disable"])?;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr)
            .trim()
            .lines()
            .count(),
        1
    );
    assert!(control.applied_keys().await?.is_empty());

    // disable with serve running beside it.
    let daemon = setup.start().await?;
    let address = daemon.field("listening")?;
    let disabled = witness(&setup, &["disable", "--yes"])?;
    assert!(disabled.status.success(), "{}", text(&disabled));
    assert!(text(&disabled).contains("applied"), "{}", text(&disabled));
    // enable the backup's key (the re-enable the monitor's policy refuses).
    let enabled = witness(&setup, &["enable", "--signing-key", &backup, "--yes"])?;
    assert!(enabled.status.success(), "{}", text(&enabled));
    assert_eq!(
        control.applied_keys().await?,
        vec![NULL_KEY.to_owned(), backup.clone()]
    );

    // The operator's changes are in the store the daemon uses and count toward its flap limit:
    // the monitor's switch back to the primary is refused (1 change per hour).
    let mut monitor = setup.client(&address, MONITOR).await?;
    let answer = monitor
        .set_signing_key(pb::SetSigningKeyRequest {
            request_id: "after-operator".into(),
            account: ACCOUNT.into(),
            target: Some(pb::SigningKeyTarget {
                target: Some(Target::PublicKey(primary.clone())),
            }),
            expected_current_key: backup.clone(),
            reason: "test".into(),
        })
        .await?
        .into_inner();
    let Some(Outcome::Refused(refused)) = &answer.outcome else {
        anyhow::bail!("expected a flap-limit refusal: {answer:?}");
    };
    assert_eq!(refused.rule, "flap-limit");
    let audit = setup.audit()?;
    let operator_applied = audit
        .iter()
        .filter(|e| e["client"] == "operator" && e["decision"] == "applied")
        .count();
    assert_eq!(operator_applied, 2, "{audit:?}");
    let store = std::fs::read_to_string(setup.state_file("requests.json"))?;
    assert_eq!(store.matches("operator\\n").count(), 2, "{store}");
    daemon.stop().await?;
    Ok(())
}
