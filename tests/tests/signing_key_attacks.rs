//! Attacks on signing-key mode (issue #16), end to end with the real binaries on 127.0.0.1:
//! `vwf-simchain` (3 nodes, STEEM), `vwf-signer serve` and the signer's own commands.
//!
//! Each test asserts the SAFE behaviour: a compromised monitor client, a lying minority of
//! nodes, a mixed policy (one active-key and one signing-key account in one signer), the
//! operator's `witness enable|disable --active-key` and the dry run never get anything signed
//! that the policy does not name, nor signed by a key of another account or mode.

use std::process::Output;

use anyhow::Context;
use serde_json::{Value, json};
use tonic::transport::Channel;
use vwf_proto::v1 as pb;
use vwf_proto::v1::set_signing_key_response::Outcome;
use vwf_proto::v1::signer_client::SignerClient;
use vwf_shared::{ChainProfile, PrivateKey, ProfileName, PublicKey};
use vwf_tests::harness::SimChain;
use vwf_tests::process::{Daemon, workspace_binary};
use vwf_tests::signer::{ACCOUNT, MONITOR, SignerOptions, SignerSetup, key_request, seal_apart};
use vwf_tests::tx::{NULL_KEY, TEST_WIFS, test_public_key};

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const BLOCK_MS: &str = "150";
/// The second witness of the mixed policy (signing-key mode).
const OTHER: &str = "other-witness";

fn prefix() -> String {
    ChainProfile::builtin(ProfileName::Steem).address_prefix
}

/// Test key `i` (0..5) with the STEEM prefix.
fn key(i: usize) -> anyhow::Result<String> {
    Ok(test_public_key(i)?.to_string_with_prefix(&prefix()))
}

/// A key outside the test vectors: (WIF, public key with the STEEM prefix).
fn extra_key(seed: u8) -> anyhow::Result<(String, String)> {
    let private = PrivateKey::from_secret(secrecy::SecretBox::new(Box::new([seed; 32])))?;
    let wif = private.to_wif().to_string();
    Ok((wif, private.public_key().to_string_with_prefix(&prefix())))
}

fn null() -> String {
    PublicKey::NULL.to_string_with_prefix(&prefix())
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

/// One request, its answer as one line: "applied KEY", "already KEY", "refused RULE: why" or
/// "error CODE: message".
async fn ask(
    client: &mut SignerClient<Channel>,
    id: &str,
    account: &str,
    target: &str,
    expected: &str,
) -> String {
    // The null key travels as the NullKey marker.
    let target = if target == null() { NULL_KEY } else { target };
    match client
        .set_signing_key(key_request(id, account, target, expected))
        .await
    {
        Ok(answer) => match answer.into_inner().outcome {
            Some(Outcome::Applied(a)) => format!("applied {}", a.signing_key),
            Some(Outcome::AlreadyInEffect(a)) => format!("already {}", a.signing_key),
            Some(Outcome::Refused(r)) => format!("refused {}: {}", r.rule, r.reason),
            None => "no outcome".into(),
        },
        Err(status) => format!("error {:?}: {}", status.code(), status.message()),
    }
}

/// The signing key each applied update set, for `owner`.
async fn applied_for(sim: &SimChain, owner: &str) -> anyhow::Result<Vec<String>> {
    let history = sim.control().history().await?;
    Ok(history["updates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["owner"] == owner)
        .filter_map(|u| u["signing_key"].as_str().map(str::to_owned))
        .collect())
}

/// Requests carrying a signed transaction, summed over the nodes.
async fn signed_requests(sim: &SimChain) -> anyhow::Result<u64> {
    let status = sim.control().status().await?;
    Ok(status["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["signed_requests"].as_u64())
        .sum())
}

/// The `operation` of the last audit line with `decision` for `account`.
fn last_operation(setup: &SignerSetup, decision: &str, account: &str) -> anyhow::Result<String> {
    Ok(setup
        .audited(decision)?
        .iter()
        .rev()
        .find(|l| l["account"] == account)
        .and_then(|l| l["operation"].as_str().map(str::to_owned))
        .unwrap_or_default())
}

fn signing_policy(extra_targets: &str) -> anyhow::Result<String> {
    Ok(format!(
        r#"
[[account]]
name = "{ACCOUNT}"
mode = "signing-key"
allow_null_key = true
flap_limit = {{ changes = 10, window_seconds = 3600 }}

[[account.target]]
name = "backup"
key = "{backup}"
{extra_targets}
[[account.server]]
name = "primary"
key = "{primary}"

[[account.client]]
identity = "{MONITOR}"
may = ["switch", "disable", "reenable", "dry-run", "status"]
"#,
        backup = key(2)?,
        primary = key(1)?,
    ))
}

struct World {
    sim: SimChain,
    setup: SignerSetup,
    _daemon: Daemon,
    client: SignerClient<Channel>,
}

async fn spawn_sim(config: Option<&str>) -> anyhow::Result<SimChain> {
    let args = [
        "--nodes",
        "3",
        "--block-interval-ms",
        BLOCK_MS,
        "--profile",
        "STEEM",
    ];
    match config {
        Some(config) => SimChain::spawn_with_config(SIM, config, &args).await,
        None => SimChain::spawn(SIM, &args).await,
    }
}

fn nodes(sim: &SimChain) -> Vec<&str> {
    (0..3).map(|i| sim.node(i)).collect()
}

async fn world(config: Option<&str>, policy: &str, wifs: Vec<String>) -> anyhow::Result<World> {
    let sim = spawn_sim(config).await?;
    let options = SignerOptions {
        profile: "STEEM",
        signing_wifs: wifs,
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&nodes(&sim), policy, &options)?;
    let daemon = setup.start().await?;
    let address = daemon.field("listening")?;
    let client = setup.client(&address, MONITOR).await?;
    Ok(World {
        sim,
        setup,
        _daemon: daemon,
        client,
    })
}

/// A compromised monitor client with a lying node (a minority) beside it: no crafted target,
/// expected key or account gets anything signed; only the policy's change goes through, signed
/// by the key the quorum agrees is on chain; the dry run never signs; re-enabling is refused.
#[tokio::test]
async fn crafted_requests_and_a_lying_node_get_nothing_signed_the_policy_does_not_name()
-> anyhow::Result<()> {
    let mut w = world(
        None,
        &signing_policy("")?,
        vec![TEST_WIFS[1].into(), TEST_WIFS[2].into()],
    )
    .await?;
    let (primary, backup, stranger) = (key(1)?, key(2)?, key(3)?);
    let (_, other_key) = extra_key(0x33)?;
    let control = w.sim.control();
    // Node 0 lies that the backup already signs.
    control
        .set_node_faults(0, json!({"lie_signing_key": backup}))
        .await?;
    let signed_before = signed_requests(&w.sim).await?;
    let cases = [
        // The primary is only a [[account.server]]: a key to switch away from, never to.
        (
            "c-1",
            ACCOUNT,
            primary.as_str(),
            backup.as_str(),
            "refused target-not-allowed",
        ),
        (
            "c-2",
            ACCOUNT,
            stranger.as_str(),
            primary.as_str(),
            "refused target-not-allowed",
        ),
        (
            "c-3",
            ACCOUNT,
            other_key.as_str(),
            primary.as_str(),
            "refused target-not-allowed",
        ),
        // The lie as the expected key: the quorum says primary.
        (
            "c-4",
            ACCOUNT,
            backup.as_str(),
            backup.as_str(),
            "refused compare-and-swap",
        ),
        (
            "c-5",
            ACCOUNT,
            NULL_KEY,
            stranger.as_str(),
            "refused compare-and-swap",
        ),
        (
            "c-6",
            OTHER,
            backup.as_str(),
            primary.as_str(),
            "refused unknown-account",
        ),
    ];
    for (id, account, target, expected, answer) in cases {
        let got = ask(&mut w.client, id, account, target, expected).await;
        assert!(got.starts_with(answer), "{id}: {got}");
    }
    // The dry run of the real change: allowed, the unsigned witness_set_properties naming the
    // agreed current key (not the lie), and nothing signed reaches a node.
    let dry = w
        .client
        .dry_run(pb::DryRunRequest {
            request: Some(key_request("", ACCOUNT, &backup, &primary)),
            preflight: true,
        })
        .await?
        .into_inner();
    assert!(dry.allowed, "{dry:?}");
    let tx: Value = serde_json::from_str(&dry.transaction_json)?;
    let op = &tx["operations"][0];
    assert_eq!(op[0], "witness_set_properties", "{tx}");
    let props = op[1]["props"].as_array().context("props")?;
    assert_eq!(props.len(), 2, "{tx}");
    assert!(
        tx["signatures"].as_array().is_none_or(Vec::is_empty),
        "{tx}"
    );
    assert!(dry.preflight.is_some_and(|p| p.matches));
    assert_eq!(signed_requests(&w.sim).await?, signed_before);
    assert!(applied_for(&w.sim, ACCOUNT).await?.is_empty());

    // The real change: signed by the primary, as the quorum (not the liar) says.
    let got = ask(&mut w.client, "s-1", ACCOUNT, &backup, &primary).await;
    assert_eq!(got, format!("applied {backup}"));
    let op = last_operation(&w.setup, "applied", ACCOUNT)?;
    assert!(
        op.starts_with("witness_set_properties")
            && op.contains(&format!("signing key {primary} (primary)")),
        "{op}"
    );
    // Now the liar says primary: switching "back" to the server-only primary stays refused.
    control
        .set_node_faults(0, json!({"lie_signing_key": primary}))
        .await?;
    let got = ask(&mut w.client, "s-2", ACCOUNT, &primary, &backup).await;
    assert!(got.starts_with("refused target-not-allowed"), "{got}");
    control
        .set_node_faults(0, json!({"lie_signing_key": null}))
        .await?;
    // Kill switch, signed by the backup; then re-enabling is refused with the pointer, in the
    // dry run too, and nothing more is signed.
    let got = ask(&mut w.client, "s-3", ACCOUNT, NULL_KEY, &backup).await;
    assert_eq!(got, format!("applied {}", null()));
    let signed_before = signed_requests(&w.sim).await?;
    for (id, target) in [("s-4", &backup), ("s-5", &primary)] {
        let got = ask(&mut w.client, id, ACCOUNT, target, &null()).await;
        let expected = if target == &backup {
            "refused needs-active-key"
        } else {
            "refused target-not-allowed"
        };
        assert!(got.starts_with(expected), "{id}: {got}");
        if target == &backup {
            assert!(
                got.contains("witness enable") && got.contains("--active-key"),
                "{got}"
            );
        }
    }
    let dry = w
        .client
        .dry_run(pb::DryRunRequest {
            request: Some(key_request("", ACCOUNT, &backup, &null())),
            preflight: false,
        })
        .await?
        .into_inner();
    assert!(!dry.allowed);
    assert_eq!(
        dry.refused.map(|r| r.rule).as_deref(),
        Some("needs-active-key")
    );
    assert_eq!(signed_requests(&w.sim).await?, signed_before);
    assert_eq!(applied_for(&w.sim, ACCOUNT).await?, vec![backup, null()]);
    // Every refusal is in the audit log with its rule.
    let refused = w.setup.audited("refused")?;
    let rules: Vec<&str> = refused.iter().filter_map(|l| l["rule"].as_str()).collect();
    for rule in [
        "target-not-allowed",
        "compare-and-swap",
        "unknown-account",
        "needs-active-key",
    ] {
        assert!(rules.contains(&rule), "{rule}: {rules:?}");
    }
    Ok(())
}

/// Two witnesses on one chain: `vit-test-witness` (key 0 active, key 1 signing) and
/// `other-witness` (key 3 active, key 4 signing); servers for each.
fn two_witnesses(b_backup: &str) -> anyhow::Result<String> {
    Ok(format!(
        r#"
[[witness]]
name = "{ACCOUNT}"
active_key = "{k0}"
signing_key = "{k1}"

[[witness]]
name = "{OTHER}"
active_key = "{k3}"
signing_key = "{k4}"

[[server]]
name = "primary"
signing_key = "{k1}"
up = true

[[server]]
name = "backup"
signing_key = "{k2}"
up = true

[[server]]
name = "b-primary"
signing_key = "{k4}"
up = true

[[server]]
name = "b-backup"
signing_key = "{b_backup}"
up = true
"#,
        k0 = key(0)?,
        k1 = key(1)?,
        k2 = key(2)?,
        k3 = key(3)?,
        k4 = key(4)?,
    ))
}

/// `vit-test-witness` in active-key mode (target backup = key 2), `other-witness` in
/// signing-key mode (server b-primary = key 4, target b-backup, and key 1 (the first
/// account's current signing key) named as a server of the second too).
fn mixed_policy(b_backup: &str) -> anyhow::Result<String> {
    Ok(format!(
        r#"
[[account]]
name = "{ACCOUNT}"
allow_null_key = true
flap_limit = {{ changes = 10, window_seconds = 3600 }}

[[account.target]]
name = "backup"
key = "{k2}"

[[account.client]]
identity = "{MONITOR}"
may = ["switch", "disable", "dry-run", "status"]

[[account]]
name = "{OTHER}"
mode = "signing-key"
allow_null_key = true
flap_limit = {{ changes = 10, window_seconds = 3600 }}

[[account.target]]
name = "b-backup"
key = "{b_backup}"

[[account.server]]
name = "b-primary"
key = "{k4}"

[[account.server]]
name = "shared"
key = "{k1}"

[[account.client]]
identity = "{MONITOR}"
may = ["switch", "disable", "reenable", "dry-run", "status"]
"#,
        k1 = key(1)?,
        k2 = key(2)?,
        k4 = key(4)?,
    ))
}

/// A mixed policy: one account's key never signs for the other, the active-key account is
/// always a witness_update signed with its active key and the signing-key account always a
/// witness_set_properties signed with its current signing key; neither account's targets are
/// the other's; the operator's command without `--active-key` does not lend the active key
/// to the signing-key account.
#[tokio::test]
async fn a_mixed_policy_keeps_each_accounts_keys_and_operation_apart() -> anyhow::Result<()> {
    let (b_wif, b_backup) = extra_key(0x21)?;
    let sim_config = two_witnesses(&b_backup)?;
    let wifs = vec![
        TEST_WIFS[0].into(),
        TEST_WIFS[4].into(),
        b_wif,
        TEST_WIFS[1].into(),
    ];
    let mut w = world(Some(&sim_config), &mixed_policy(&b_backup)?, wifs).await?;
    let (k0, k1, k2, k4) = (key(0)?, key(1)?, key(2)?, key(4)?);

    // The status: the active key for the first, the held signing keys for the second.
    let status = w.client.status(pb::StatusRequest {}).await?.into_inner();
    let entry = |name: &str| status.accounts.iter().find(|a| a.account == name).cloned();
    let a = entry(ACCOUNT).context("status of the first account")?;
    let b = entry(OTHER).context("status of the second account")?;
    assert_eq!(
        (a.mode.as_str(), a.active_key.as_str()),
        ("active-key", k0.as_str())
    );
    assert!(a.signing_keys.is_empty());
    assert_eq!(
        (b.mode.as_str(), b.active_key.as_str()),
        ("signing-key", "")
    );
    assert_eq!(b.signing_keys.len(), 3, "{b:?}");

    // One account's targets and servers are not the other's.
    let cases = [
        ("x-1", OTHER, k2.as_str(), k4.as_str()),
        ("x-2", ACCOUNT, b_backup.as_str(), k1.as_str()),
        ("x-3", OTHER, k4.as_str(), k4.as_str()),
        ("x-4", OTHER, k1.as_str(), k4.as_str()),
        ("x-5", ACCOUNT, k4.as_str(), k1.as_str()),
    ];
    for (id, account, target, expected) in cases {
        let got = ask(&mut w.client, id, account, target, expected).await;
        assert!(got.starts_with("refused target-not-allowed"), "{id}: {got}");
    }

    // Each account's change with its own key and operation.
    let got = ask(&mut w.client, "a-1", ACCOUNT, &k2, &k1).await;
    assert_eq!(got, format!("applied {k2}"));
    let op = last_operation(&w.setup, "applied", ACCOUNT)?;
    assert!(
        op.starts_with("witness_update signed with the active key") && op.contains(&k0),
        "{op}"
    );
    let got = ask(&mut w.client, "b-1", OTHER, &b_backup, &k4).await;
    assert_eq!(got, format!("applied {b_backup}"));
    let op = last_operation(&w.setup, "applied", OTHER)?;
    assert!(
        op.starts_with("witness_set_properties")
            && op.contains(&format!("signing key {k4} (b-primary)"))
            && !op.contains(&k0),
        "{op}"
    );
    let got = ask(&mut w.client, "b-2", OTHER, NULL_KEY, &b_backup).await;
    assert_eq!(got, format!("applied {}", null()));
    let op = last_operation(&w.setup, "applied", OTHER)?;
    assert!(
        op.contains(&format!("signing key {b_backup} (b-backup)")),
        "{op}"
    );

    // The signing-key account is disabled: the active key the signer holds (for the other
    // account) does not re-enable it, neither by a client nor by the operator's command.
    let got = ask(&mut w.client, "b-3", OTHER, &b_backup, &null()).await;
    assert!(got.starts_with("refused needs-active-key"), "{got}");
    let config = w.setup.config.to_str().context("config")?.to_owned();
    let signed_before = signed_requests(&w.sim).await?;
    let refused = signer_command(&[
        "witness",
        "enable",
        "--config",
        &config,
        "--account",
        OTHER,
        "--signing-key",
        &b_backup,
        "--yes",
    ])?;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let line = String::from_utf8_lossy(&refused.stderr).trim().to_owned();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("needs-active-key"), "{line}");
    assert_eq!(signed_requests(&w.sim).await?, signed_before);

    // The active-key account's kill switch is still its witness_update.
    let got = ask(&mut w.client, "a-2", ACCOUNT, NULL_KEY, &k2).await;
    assert_eq!(got, format!("applied {}", null()));
    let op = last_operation(&w.setup, "applied", ACCOUNT)?;
    assert!(op.starts_with("witness_update") && op.contains(&k0), "{op}");
    assert_eq!(applied_for(&w.sim, ACCOUNT).await?, vec![k2, null()]);
    assert_eq!(applied_for(&w.sim, OTHER).await?, vec![b_backup, null()]);
    Ok(())
}

/// A crash with a witness_set_properties pending: after the restart, the same signed
/// transaction (same id) is what settles, a new request first waits for it and then sees the
/// chain it made (compare-and-swap), the retried request answers the applied change, and the
/// request id cannot be reused for another change. One change on chain, never two.
#[tokio::test]
async fn a_pending_witness_set_properties_settles_as_itself_after_a_restart() -> anyhow::Result<()>
{
    let sim = spawn_sim(None).await?;
    let options = SignerOptions {
        profile: "STEEM",
        signing_wifs: vec![TEST_WIFS[1].into(), TEST_WIFS[2].into()],
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&nodes(&sim), &signing_policy("")?, &options)?;
    setup.add_chain_settings("confirm_timeout_seconds = 2")?;
    let (primary, backup) = (key(1)?, key(2)?);
    let control = sim.control();
    for i in 0..3 {
        control
            .set_node_faults(i, json!({"drop_broadcasts": 1}))
            .await?;
    }
    let daemon = setup.start().await?;
    let mut client = setup.client(&daemon.field("listening")?, MONITOR).await?;
    let got = ask(&mut client, "s-1", ACCOUNT, &backup, &primary).await;
    assert!(got.starts_with("error") && got.contains("pending"), "{got}");
    let intent = setup
        .audited("intent")?
        .last()
        .and_then(|l| l["tx_id"].as_str().map(str::to_owned))
        .context("an intent line with the transaction id")?;
    assert!(applied_for(&sim, ACCOUNT).await?.is_empty());
    drop(client);
    drop(daemon);

    let daemon = setup.start().await?;
    let mut client = setup.client(&daemon.field("listening")?, MONITOR).await?;
    // A new request expecting the primary: the pending change is settled first, then the
    // compare-and-swap sees the backup it set.
    let got = ask(&mut client, "k-1", ACCOUNT, NULL_KEY, &primary).await;
    assert!(got.starts_with("refused compare-and-swap"), "{got}");
    let got = ask(&mut client, "s-1", ACCOUNT, &backup, &primary).await;
    assert_eq!(got, format!("applied {backup}"));
    let applied = setup.audited("applied")?;
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0]["tx_id"], intent.as_str());
    assert_eq!(applied[0]["request_id"], "s-1");
    // The id cannot be replayed for another change.
    let got = ask(&mut client, "s-1", ACCOUNT, NULL_KEY, &backup).await;
    assert!(got.starts_with("refused invalid-request"), "{got}");
    assert_eq!(applied_for(&sim, ACCOUNT).await?, vec![backup.clone()]);
    // The kill switch then goes through, signed by the backup.
    let got = ask(&mut client, "k-2", ACCOUNT, NULL_KEY, &backup).await;
    assert_eq!(got, format!("applied {}", null()));
    let op = last_operation(&setup, "applied", ACCOUNT)?;
    assert!(
        op.contains(&format!("signing key {backup} (backup)")),
        "{op}"
    );
    Ok(())
}

/// The operator's `--active-key` must be one key: a file of several (the servers' signing
/// keys, say) is refused before anything is signed, exit 2, one line, no key material.
#[tokio::test]
async fn a_multi_key_active_key_file_is_refused_before_signing() -> anyhow::Result<()> {
    let w = world(
        None,
        &signing_policy("")?,
        vec![TEST_WIFS[1].into(), TEST_WIFS[2].into()],
    )
    .await?;
    let config = w.setup.config.to_str().context("config")?.to_owned();
    let apart = seal_apart("STEEM", "several.age", &[TEST_WIFS[0], TEST_WIFS[1]])?;
    let signed_before = signed_requests(&w.sim).await?;
    let output = signer_command(&[
        "witness",
        "disable",
        "--config",
        &config,
        "--yes",
        "--active-key",
        &apart.age,
        "--active-passphrase-file",
        &apart.passphrase,
    ])?;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("holds 2 keys where one active key is expected"),
        "{stderr}"
    );
    for wif in &TEST_WIFS {
        assert!(!text(&output).contains(wif));
    }
    assert_eq!(signed_requests(&w.sim).await?, signed_before);
    assert!(applied_for(&w.sim, ACCOUNT).await?.is_empty());
    Ok(())
}

/// With a quorum of nodes at start, `serve` refuses an age file that does not fit signing-key
/// mode: a key no account names (the active key, say), the active key named as a server, or a
/// file without the key on chain now; each in one line on stderr, exit 2, no key material.
#[tokio::test]
async fn serve_refuses_age_files_that_do_not_fit_signing_key_mode() -> anyhow::Result<()> {
    let sim = spawn_sim(None).await?;
    let cases: Vec<(&str, String, Vec<String>, &str)> = vec![
        (
            "the active key beside the servers' keys",
            signing_policy("")?,
            vec![
                TEST_WIFS[1].into(),
                TEST_WIFS[2].into(),
                TEST_WIFS[0].into(),
            ],
            "never the active key",
        ),
        (
            "the active key named as the primary",
            signing_policy("")?.replace(&key(1)?, &key(0)?),
            vec![TEST_WIFS[0].into(), TEST_WIFS[2].into()],
            "which is an ACTIVE key of",
        ),
    ];
    for (what, policy, wifs, needle) in cases {
        let options = SignerOptions {
            profile: "STEEM",
            signing_wifs: wifs,
            ..SignerOptions::default()
        };
        let setup = SignerSetup::create_with(&nodes(&sim), &policy, &options)?;
        let (code, stderr) = setup.serve_refuses()?;
        assert_eq!(code, Some(2), "{what}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error:") && last.contains(needle),
            "{what}: {stderr}"
        );
        for wif in &TEST_WIFS {
            assert!(!stderr.contains(wif), "{what}");
        }
    }
    assert!(applied_for(&sim, ACCOUNT).await?.is_empty());
    Ok(())
}

/// A file without the signing key on chain now is not fatal (it would also take down the
/// kill switch of every other account of the signer): `serve` starts, says so, and refuses that
/// account's requests with `signing-key-not-held` until the key is on chain or in the file.
#[tokio::test]
async fn without_the_key_on_chain_serve_starts_and_refuses_that_accounts_requests()
-> anyhow::Result<()> {
    let mut world = world(None, &signing_policy("")?, vec![TEST_WIFS[2].into()]).await?;
    let start = world.setup.audit()?;
    let warning = start
        .iter()
        .find(|l| l["call"] == "start")
        .map(|l| l["warning"].to_string())
        .unwrap_or_default();
    assert!(warning.contains("signing-key-not-held"), "{warning}");
    for (id, target) in [("s-1", key(2)?), ("s-2", null())] {
        let answer = ask(&mut world.client, id, ACCOUNT, &target, &key(1)?).await;
        assert!(
            answer.starts_with("refused signing-key-not-held"),
            "{answer}"
        );
    }
    assert_eq!(signed_requests(&world.sim).await?, 0);
    assert!(applied_for(&world.sim, ACCOUNT).await?.is_empty());
    Ok(())
}

/// F1 of the review: a key check that could not reach a quorum at start is not skipped. The
/// policy names the active key as a target by mistake and the file holds it; with two of three
/// nodes refusing at start, `serve` starts, but before anything is signed the check runs on
/// a quorum and refuses.
#[tokio::test]
async fn a_key_check_without_a_quorum_at_start_runs_before_the_first_signature()
-> anyhow::Result<()> {
    let active = key(0)?;
    let policy = signing_policy(&format!(
        "[[account.target]]\nname = \"oops\"\nkey = \"{active}\"\n"
    ))?;
    let sim = spawn_sim(None).await?;
    let options = SignerOptions {
        profile: "STEEM",
        signing_wifs: vec![
            TEST_WIFS[1].into(),
            TEST_WIFS[2].into(),
            TEST_WIFS[0].into(),
        ],
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&nodes(&sim), &policy, &options)?;
    let control = sim.control();
    for i in [1, 2] {
        control.set_node_faults(i, json!({"refuse": true})).await?;
    }
    let daemon = setup.start().await?;
    for i in [1, 2] {
        control.set_node_faults(i, json!({"refuse": false})).await?;
    }
    let address = daemon.field("listening")?;
    let mut client = setup.client(&address, MONITOR).await?;
    for (id, target, expected) in [
        ("p-1", active.clone(), key(1)?),
        ("p-2", key(2)?, key(1)?),
        ("p-3", null(), key(1)?),
    ] {
        let answer = ask(&mut client, id, ACCOUNT, &target, &expected).await;
        assert!(
            answer.starts_with("error FailedPrecondition") && answer.contains("ACTIVE key"),
            "{id}: {answer}"
        );
    }
    assert_eq!(signed_requests(&sim).await?, 0);
    assert!(applied_for(&sim, ACCOUNT).await?.is_empty());
    Ok(())
}

/// F2 of the review: a `--active-key` file holding a key that is not the account's active key
/// is refused before anything is signed or broadcast (exit 2, one line), so nothing pending
/// holds up the monitor's next request.
#[tokio::test]
async fn a_wrong_active_key_file_is_refused_before_anything_is_broadcast() -> anyhow::Result<()> {
    let world = world(
        None,
        &signing_policy("")?,
        vec![TEST_WIFS[1].into(), TEST_WIFS[2].into()],
    )
    .await?;
    let config = world.setup.config.to_str().context("config")?.to_owned();
    let apart = seal_apart("STEEM", "wrong.age", &[TEST_WIFS[3]])?;
    let refused = signer_command(&[
        "witness",
        "disable",
        "--config",
        &config,
        "--yes",
        "--active-key",
        &apart.age,
        "--active-passphrase-file",
        &apart.passphrase,
    ])?;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let line = String::from_utf8_lossy(&refused.stderr).trim().to_owned();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("is not an active"), "{line}");
    assert!(!line.contains(TEST_WIFS[3]), "{line}");
    assert_eq!(signed_requests(&world.sim).await?, 0);
    assert!(applied_for(&world.sim, ACCOUNT).await?.is_empty());
    Ok(())
}
