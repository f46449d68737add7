//! The signer signs nothing outside its policy and trusts no single node. Each test plays one
//! attack (issue "Signer: never sign outside the policy, never trust a single node", items 1–8)
//! against the real `vwf-signer serve` and `vwf-simchain` on 127.0.0.1, asserts that its effect
//! does not happen, and that the legitimate path still works.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use tonic::Code;
use vwf_proto::v1 as pb;
use vwf_proto::v1::set_signing_key_response::Outcome;
use vwf_shared::TimePointSec;
use vwf_tests::client::{call, call_ok};
use vwf_tests::harness::SimChain;
use vwf_tests::process::Daemon;
use vwf_tests::signer::{ACCOUNT, MONITOR, SignerOptions, SignerSetup, default_policy};
use vwf_tests::tx::{NULL_KEY, test_key};
use vwf_tests::wait::wait_until;

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
/// A client that may only dry-run.
const AUDITOR: &str = "spiffe://vwf/auditor";
/// The simulator's default witness url.
const HONEST_URL: &str = "No website yet";
const PHISHING_URL: &str = "https://phish.example/steal";

struct Rig {
    sim: SimChain,
    setup: SignerSetup,
    daemon: Daemon,
    address: String,
}

/// A simulator with `nodes` nodes (300 ms blocks) and a signer using all of them, with `policy`
/// plus a dry-run-only [`AUDITOR`], and `chain` lines added to its `[chain]` section.
async fn rig(nodes: usize, policy: &str, chain: &str, expiration: u32) -> anyhow::Result<Rig> {
    let count = nodes.to_string();
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300", "--nodes", &count]).await?;
    let urls: Vec<&str> = (0..nodes).map(|i| sim.node(i)).collect();
    let policy =
        format!("{policy}\n[[account.client]]\nidentity = \"{AUDITOR}\"\nmay = [\"dry-run\"]\n");
    let options = SignerOptions {
        extra_clients: vec![AUDITOR.to_owned()],
        expiration_seconds: expiration,
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&urls, &policy, &options)?;
    setup.add_chain_settings(chain)?;
    let daemon = setup.start().await?;
    let address = daemon.field("listening")?;
    Ok(Rig {
        sim,
        setup,
        daemon,
        address,
    })
}

/// The default policy (backup = key 2, null key allowed, `flap` changes per hour) with the
/// primary (key 1) as a second target, so that switching back is allowed but for the flap limit.
fn policy_with_primary(flap: u32) -> anyhow::Result<String> {
    let primary = test_key(1)?;
    Ok(format!(
        "{}\n[[account.target]]\nname = \"primary\"\nkey = \"{primary}\"\n",
        default_policy(flap)?
    ))
}

fn request(id: &str, target: &str, expected: &str) -> pb::SetSigningKeyRequest {
    vwf_tests::signer::key_request(id, ACCOUNT, target, expected)
}

impl Rig {
    async fn ask(
        &self,
        req: pb::SetSigningKeyRequest,
    ) -> anyhow::Result<Result<Option<Outcome>, tonic::Status>> {
        let mut monitor = self.setup.client(&self.address, MONITOR).await?;
        Ok(monitor
            .set_signing_key(req)
            .await
            .map(|r| r.into_inner().outcome))
    }

    async fn chain_key(&self) -> anyhow::Result<String> {
        let witness = self.sim.control().witness(ACCOUNT).await?;
        witness["signing_key"]
            .as_str()
            .map(str::to_owned)
            .context("no signing_key")
    }

    async fn updates(&self) -> anyhow::Result<usize> {
        Ok(self.sim.control().applied_keys().await?.len())
    }

    async fn fault(&self, node: usize, faults: Value) -> anyhow::Result<()> {
        self.sim
            .control()
            .set_node_faults(node, faults)
            .await
            .map(drop)
    }

    /// The witness as node `index` serves it.
    async fn witness_on(&self, index: usize) -> anyhow::Result<Value> {
        call_ok(
            self.sim.node(index),
            "database_api",
            "get_witness_by_account",
            json!([ACCOUNT]),
        )
        .await
    }

    fn audited(&self, decision: &str) -> anyhow::Result<Vec<Value>> {
        self.setup.audited(decision)
    }
}

fn applied(outcome: &Result<Option<Outcome>, tonic::Status>) -> Option<&pb::Applied> {
    match outcome {
        Ok(Some(Outcome::Applied(applied))) => Some(applied),
        _ => None,
    }
}

fn refused_rule(outcome: &Result<Option<Outcome>, tonic::Status>) -> Option<&str> {
    match outcome {
        Ok(Some(Outcome::Refused(refused))) => Some(refused.rule.as_str()),
        _ => None,
    }
}

/// Item 1: a dry run computes no signature; nothing in its answer can be broadcast.
#[tokio::test]
async fn a_dry_run_never_signs_and_its_answer_cannot_be_broadcast() -> anyhow::Result<()> {
    let rig = rig(3, &default_policy(3)?, "", 30).await?;
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    let mut auditor = rig.setup.client(&rig.address, AUDITOR).await?;
    for (target, expected) in [(backup.as_str(), primary.as_str()), (NULL_KEY, &primary)] {
        let dry = auditor
            .dry_run(pb::DryRunRequest {
                request: Some(request("", target, expected)),
                preflight: true,
            })
            .await?
            .into_inner();
        assert!(dry.allowed, "{dry:?}");
        let tx: Value = serde_json::from_str(&dry.transaction_json)?;
        assert!(
            tx.get("signatures").is_none_or(|s| *s == json!([])),
            "{}",
            dry.transaction_json
        );
        let preflight = dry.preflight.context("no preflight")?;
        assert!(preflight.matches, "{preflight:?}");
        // The bytes end with the signature count: zero.
        assert!(preflight.expected_hex.ends_with("00"), "{preflight:?}");
        assert_eq!(preflight.node_hex, preflight.expected_hex);
        // The attacker's move: broadcast what the answer holds. The chain refuses it.
        let answer = call(
            rig.sim.node(1),
            "network_broadcast_api",
            "broadcast_transaction",
            json!([tx]),
        )
        .await?;
        assert!(answer.get("error").is_some(), "accepted: {answer}");
    }
    // The audit log keeps what each dry run would have signed (transaction and digest), and
    // never a signature.
    let dry_runs: Vec<Value> = rig
        .setup
        .audit()?
        .into_iter()
        .filter(|e| e["call"] == "dry-run")
        .collect();
    assert_eq!(dry_runs.len(), 2, "{dry_runs:?}");
    for entry in &dry_runs {
        assert!(
            entry["digest"].as_str().is_some_and(|d| d.len() == 64),
            "{entry}"
        );
        let tx: Value = serde_json::from_str(entry["transaction"].as_str().unwrap_or("null"))?;
        assert!(tx["operations"].is_array(), "{entry}");
        assert!(
            tx.get("signatures").is_none_or(|s| *s == json!([])),
            "{entry}"
        );
    }
    // No node was ever sent a signature during the dry runs (the attacker's broadcasts above
    // carried none either).
    let status = rig.sim.control().status().await?;
    for node in 0..3 {
        let signed = status["nodes"][node]["signed_requests"].as_u64();
        assert_eq!(signed, Some(0), "node {node} saw a signature: {status}");
    }
    assert_eq!(rig.chain_key().await?, primary);
    assert_eq!(rig.updates().await?, 0);
    rig.daemon.stop().await?;
    Ok(())
}

/// Item 2: one lying node cannot choose the url, the props or the current key.
#[tokio::test]
async fn one_lying_node_cannot_choose_what_is_signed() -> anyhow::Result<()> {
    let pinned = default_policy(3)?.replacen(
        "allow_reenable = false",
        &format!("allow_reenable = false\npinned_url = {HONEST_URL:?}"),
        1,
    );
    let rig = rig(3, &pinned, "", 30).await?;
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    let lie = json!({
        "lie_url": PHISHING_URL,
        "lie_account_creation_fee": "1000000000.000 VIT",
        "lie_signing_key": NULL_KEY,
    });
    rig.fault(0, lie.clone()).await?;
    let answer = rig.ask(request("switch-1", &backup, &primary)).await?;
    let Some(done) = applied(&answer) else {
        anyhow::bail!("expected applied, got {answer:?}");
    };
    assert_eq!(done.signing_key, backup);
    // The chain kept the honest url and props (read on an honest node).
    let witness = rig.witness_on(1).await?;
    assert_eq!(witness["url"], HONEST_URL, "{witness}");
    assert_eq!(witness["props"]["account_creation_fee"], "0.100 VIT");
    // The audit line says what was signed.
    let intents = rig.audited("intent")?;
    assert_eq!(intents.len(), 1, "{intents:?}");
    assert_eq!(intents[0]["url"], HONEST_URL);
    let props = intents[0]["props"].as_str().unwrap_or_default();
    assert!(props.contains("account_creation_fee=0.100 VIT"), "{props}");
    assert!(intents[0]["tapos"].is_string() && intents[0]["expiration"].is_string());
    assert!(
        intents[0]["nodes"]
            .as_str()
            .is_some_and(|n| n.contains("2 of 3")),
        "{intents:?}"
    );

    // Two liars make a quorum of lies: the pinned url refuses to sign it.
    rig.fault(1, lie).await?;
    rig.fault(0, json!({"lie_signing_key": null})).await?;
    rig.fault(1, json!({"lie_signing_key": null})).await?;
    let answer = rig.ask(request("kill-1", NULL_KEY, &backup)).await?;
    assert_eq!(refused_rule(&answer), Some("pinned-value"), "{answer:?}");
    assert_eq!(rig.chain_key().await?, backup);
    assert_eq!(rig.updates().await?, 1);
    rig.daemon.stop().await?;
    Ok(())
}

/// Item 3: a node's clock cannot stretch the expiration; a quorum of wrong clocks stops signing.
#[tokio::test]
async fn a_node_clock_cannot_stretch_the_expiration() -> anyhow::Result<()> {
    let rig = rig(3, &default_policy(3)?, "", 30).await?;
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    rig.fault(0, json!({"head_time_shift_seconds": 3000}))
        .await?;
    let answer = rig.ask(request("switch-1", &backup, &primary)).await?;
    assert!(applied(&answer).is_some(), "{answer:?}");
    let intents = rig.audited("intent")?;
    let expiration = intents
        .first()
        .and_then(|e| e["expiration"].as_str())
        .context("no expiration audited")?;
    let expiration = TimePointSec::parse(expiration)?;
    let now = u32::try_from(vwf_signer::engine::unix_now())?;
    assert!(
        expiration.0 <= now + 30,
        "expiration {expiration} is beyond the local clock + 30 s"
    );

    // Every node ahead by 50 minutes: nothing is fresh, nothing is signed.
    for node in 1..3 {
        rig.fault(node, json!({"head_time_shift_seconds": 3000}))
            .await?;
    }
    let answer = rig.ask(request("kill-1", NULL_KEY, &backup)).await?;
    let Err(status) = &answer else {
        anyhow::bail!("signed with every clock wrong: {answer:?}");
    };
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("ahead of the local clock"),
        "{status:?}"
    );
    assert_eq!(rig.chain_key().await?, backup);
    assert_eq!(rig.updates().await?, 1);
    rig.daemon.stop().await?;
    Ok(())
}

/// Item 4: a change whose answer was lost still counts toward the flap limit, and one whose
/// outcome is unknown blocks further changes until it is settled.
#[tokio::test]
async fn a_lost_or_unknown_outcome_still_counts_toward_the_flap_limit() -> anyhow::Result<()> {
    let rig = rig(
        3,
        &policy_with_primary(1)?,
        "confirm_timeout_seconds = 3\nmax_clock_skew_seconds = 5",
        12,
    )
    .await?;
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    // The transaction reaches the chain through every node, and every answer is a 502.
    for node in 0..3 {
        rig.fault(node, json!({"broadcast_then_502": 1})).await?;
    }
    let answer = rig.ask(request("switch-1", &backup, &primary)).await?;
    assert!(applied(&answer).is_some(), "{answer:?}");
    let answer = rig.ask(request("switch-back", &primary, &backup)).await?;
    assert_eq!(refused_rule(&answer), Some("flap-limit"), "{answer:?}");
    assert_eq!(rig.updates().await?, 1);
    rig.daemon.stop().await?;

    // Now a broadcast no node passes on, twice: its outcome stays unknown past the confirm
    // timeout, also when the next request re-sends it.
    let rig = rig_unknown().await?;
    let answer = rig.ask(request("switch-2", &backup, &primary)).await?;
    let Err(status) = &answer else {
        anyhow::bail!("answered without an outcome: {answer:?}");
    };
    assert!(status.message().contains("pending"), "{status:?}");
    // A new request id cannot slip a change past it: it settles the pending one first.
    let answer = rig.ask(request("switch-3", &backup, &primary)).await?;
    assert!(applied(&answer).is_none(), "{answer:?}");
    assert_eq!(rig.updates().await?, 0);
    // Retried, it settles: the pending transaction lands when re-sent (or expires and the
    // request is decided afresh); either way exactly one change reaches the chain.
    let settled = wait_until(
        "the retry to settle",
        Duration::from_secs(60),
        Duration::from_millis(500),
        || async {
            let answer = rig.ask(request("switch-3", &backup, &primary)).await?;
            Ok(answer.ok().flatten())
        },
    )
    .await?;
    assert!(
        matches!(settled, Outcome::Applied(_) | Outcome::AlreadyInEffect(_)),
        "{settled:?}"
    );
    assert_eq!(rig.chain_key().await?, backup);
    assert_eq!(rig.updates().await?, 1);
    // The change that landed through the pending record counts toward the flap limit.
    let answer = rig.ask(request("switch-back", &primary, &backup)).await?;
    assert_eq!(refused_rule(&answer), Some("flap-limit"), "{answer:?}");
    rig.daemon.stop().await?;
    Ok(())
}

/// A rig whose three nodes each drop the next two broadcasts (1 change per hour, 12 s
/// lifetime, 3 s confirm timeout).
async fn rig_unknown() -> anyhow::Result<Rig> {
    let rig = rig(
        3,
        &policy_with_primary(1)?,
        "confirm_timeout_seconds = 3\nmax_clock_skew_seconds = 5",
        12,
    )
    .await?;
    for node in 0..3 {
        rig.fault(node, json!({"drop_broadcasts": 2})).await?;
    }
    Ok(rig)
}

/// Item 5: a lying node can neither fake "already in effect" nor fake a broadcast result.
#[tokio::test]
async fn a_lying_node_cannot_swallow_the_kill_switch() -> anyhow::Result<()> {
    let rig = rig(
        3,
        &default_policy(3)?,
        "confirm_timeout_seconds = 3\nmax_clock_skew_seconds = 5",
        12,
    )
    .await?;
    let primary = test_key(1)?;
    // Node 0 says the witness is already disabled.
    rig.fault(0, json!({"lie_signing_key": NULL_KEY})).await?;
    // Node 0 also fakes every broadcast; nodes 1 and 2 lose the next one.
    rig.fault(0, json!({"fake_broadcast": "same-id"})).await?;
    for node in 1..3 {
        rig.fault(node, json!({"drop_broadcasts": 1})).await?;
    }
    let answer = rig.ask(request("kill-1", NULL_KEY, &primary)).await?;
    assert!(
        !matches!(answer, Ok(Some(Outcome::AlreadyInEffect(_)))),
        "one node's word: {answer:?}"
    );
    assert!(
        applied(&answer).is_none(),
        "applied on a faked broadcast: {answer:?}"
    );
    assert_eq!(rig.chain_key().await?, primary);
    // Retrying the same id lands the real kill switch once the lost one expired.
    rig.fault(0, json!({"fake_broadcast": null, "lie_signing_key": null}))
        .await?;
    let done = wait_until(
        "the kill switch",
        Duration::from_secs(60),
        Duration::from_millis(500),
        || async {
            let answer = rig.ask(request("kill-1", NULL_KEY, &primary)).await?;
            Ok(applied(&answer).cloned())
        },
    )
    .await?;
    assert_eq!(done.signing_key, NULL_KEY);
    assert_eq!(rig.chain_key().await?, NULL_KEY);
    assert_eq!(rig.updates().await?, 1);
    rig.daemon.stop().await?;
    Ok(())
}

/// Items 6 and 7: the kill switch is never refused by the flap limit, also after a restart;
/// a deleted request store stops the signer from starting instead of resetting the history.
#[tokio::test]
async fn the_kill_switch_passes_the_flap_limit_and_the_history_survives() -> anyhow::Result<()> {
    let rig = rig(3, &policy_with_primary(1)?, "", 30).await?;
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    let answer = rig.ask(request("switch-1", &backup, &primary)).await?;
    assert!(applied(&answer).is_some(), "{answer:?}");
    let answer = rig.ask(request("switch-back", &primary, &backup)).await?;
    assert_eq!(refused_rule(&answer), Some("flap-limit"), "{answer:?}");
    // Restart on the same address: the flap history is kept, the kill switch still passes.
    let Rig {
        sim,
        setup,
        daemon,
        address,
    } = rig;
    daemon.stop().await?;
    setup.pin_address(&address)?;
    let daemon = setup.start().await?;
    let rig = Rig {
        sim,
        setup,
        daemon,
        address,
    };
    let answer = rig.ask(request("switch-back-2", &primary, &backup)).await?;
    assert_eq!(refused_rule(&answer), Some("flap-limit"), "{answer:?}");
    let answer = rig.ask(request("kill-1", NULL_KEY, &backup)).await?;
    assert!(applied(&answer).is_some(), "{answer:?}");
    assert_eq!(rig.chain_key().await?, NULL_KEY);

    // Deleting the request store does not reset the flap history: the signer refuses to start.
    rig.daemon.stop().await?;
    std::fs::remove_file(rig.setup.state_file("requests.json"))?;
    let (code, stderr) = rig.setup.serve_refuses()?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("requests.json") && stderr.contains("Restore"),
        "{stderr}"
    );
    Ok(())
}

/// Item 8: plain http to a node that is not loopback is refused unless the config says so; and
/// what `check-config` warns about or refuses besides (flap limit too small, open state dir).
#[tokio::test]
async fn plain_http_to_a_remote_node_is_refused() -> anyhow::Result<()> {
    let setup = SignerSetup::create(&["http://203.0.113.7:8090"], &default_policy(1)?)?;
    let signer = vwf_tests::process::workspace_binary("vwf-signer")?;
    let config = setup.config.to_str().context("config path")?;
    let output = std::process::Command::new(&signer)
        .args(["check-config", "--config", config])
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("allow_plain_http"), "{stderr}");
    setup.add_chain_settings("allow_plain_http = true")?;
    let output = std::process::Command::new(&signer)
        .args(["check-config", "--config", config])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("WARNING: one node"), "{stdout}");
    // One target and 1 change per hour cannot cover a failover plus a re-enable: warned.
    assert!(stdout.contains("WARNING: flap_limit allows 1"), "{stdout}");
    assert!(
        stdout.contains("may switch, disable, dry-run, status"),
        "{stdout}"
    );
    // A state directory others can read is refused.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(setup.state_file(""), std::fs::Permissions::from_mode(0o755))?;
    let output = std::process::Command::new(&signer)
        .args(["check-config", "--config", config])
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("chmod 700"), "{stderr}");
    Ok(())
}

/// A slow node (or one feeding an endless block scan) cannot hold the kill switch behind an
/// earlier change whose outcome is unknown: each node answers within a bound or drops out of
/// the round, and once that change is past its expiration the kill switch no longer waits.
#[tokio::test]
async fn a_slow_node_cannot_hold_the_kill_switch_behind_a_pending_change() -> anyhow::Result<()> {
    let rig = rig_unknown().await?;
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    let answer = rig.ask(request("switch-1", &backup, &primary)).await?;
    assert!(answer.is_err(), "the switch should be pending: {answer:?}");
    // Node 2 now takes 4.5 s per call: a view (2 calls) or a scan takes longer than a node may.
    rig.fault(2, json!({"latency_ms": 4500})).await?;
    // The kill switch, asked as a monitor would: expecting the key the chain shows (the pending
    // switch may land first when re-sent), with a new request id each time.
    let attempt = std::sync::atomic::AtomicUsize::new(0);
    let done = wait_until(
        "the kill switch",
        Duration::from_secs(90),
        Duration::from_secs(2),
        || async {
            let current = rig.chain_key().await?;
            let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let answer = rig
                .ask(request(&format!("kill-{n}"), NULL_KEY, &current))
                .await?;
            Ok(applied(&answer).cloned())
        },
    )
    .await?;
    assert_eq!(done.signing_key, NULL_KEY);
    assert_eq!(rig.chain_key().await?, NULL_KEY);
    // At most the pending switch (re-sent, landing once) and then the kill switch.
    let applied_keys = rig.sim.control().applied_keys().await?;
    assert_eq!(applied_keys.last().map(String::as_str), Some(NULL_KEY));
    assert!(applied_keys.len() <= 2, "{applied_keys:?}");
    rig.daemon.stop().await?;
    Ok(())
}
