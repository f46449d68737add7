//! Leak check: the whole system runs with a fresh random canary active key; afterwards every
//! byte it wrote or printed is searched for the key in any form (WIF, WIF without its first
//! character, secret hex in lower and upper case, and every 16-character window of the WIF and
//! of the hex, which catches partial or re-wrapped echoes).
//!
//! Captured: the signer's and the monitor's logs at debug level, the audit log, `requests.json`,
//! the monitor's `state.json`, every other file in the setup directory (configs, certificates,
//! the age file), the output of `certs init` and `key import`, the stderr of a second signer
//! started with a wrong passphrase, of `tx sign` with bad transactions and of `key pub` with a
//! corrupted WIF (under `RUST_BACKTRACE=1`), and the panic-hook output of panics formatting the
//! decrypted key and the signer's `Engine` holding it.
//!
//! There is no known reachable panic in `vwf-signer` (no unwrap/expect/panic outside tests), so
//! the panic check runs in-process: it formats the very key `serve` decrypts, and the engine
//! built around it, with `{:?}` inside a panic and captures what the panic hook receives.
//!
//! Signing-key mode (issue #16) on STEEM: the servers' block signing keys are fresh random
//! canaries (the simulator's witness runs on them), the account's active key a third canary kept
//! in an age file apart. Every process output, the signer host's files and the in-process
//! `Debug`/panic text are scanned for all three; the active canary must in addition never reach
//! the signer host's files (the point of the mode).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use rand::RngCore;
use secrecy::SecretBox;
use serde_json::json;
use vwf_proto::v1 as pb;
use vwf_proto::v1::set_signing_key_response::Outcome;
use vwf_shared::{ChainProfile, PrivateKey, PublicKey, SignedTransaction};
use vwf_tests::client::call_ok;
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorExtras, MonitorOptions, MonitorSetup};
use vwf_tests::process::{Daemon, workspace_binary};
use vwf_tests::signer::{
    ACCOUNT, MONITOR, SignerOptions, SignerSetup, check_signed_by_replaced_keys, default_policy,
};
use vwf_tests::tx::test_public_key;
use vwf_tests::wait::wait_for;

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const ACT_LIMIT: Duration = Duration::from_secs(40);
const POLL: Duration = Duration::from_millis(50);

fn key(index: usize) -> anyhow::Result<String> {
    Ok(test_public_key(index)?.to_string_with_prefix("VIT"))
}

/// A fresh random key; only its forms are kept as needles.
struct Canary {
    key: PrivateKey,
    wif: String,
    hex: String,
}

impl Canary {
    fn generate() -> anyhow::Result<Self> {
        for _ in 0..8 {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let hex = hex::encode(bytes);
            if let Ok(key) = PrivateKey::from_secret(SecretBox::new(Box::new(bytes))) {
                let wif = key.to_wif().to_string();
                return Ok(Canary { key, wif, hex });
            }
        }
        bail!("no valid random scalar in 8 tries")
    }

    fn public(&self) -> String {
        self.public_with("VIT")
    }

    fn public_with(&self, prefix: &str) -> String {
        self.key.public_key().to_string_with_prefix(prefix)
    }

    /// Every form of the secret searched for.
    fn needles(&self) -> Vec<(String, String)> {
        let mut needles = vec![
            ("WIF".to_owned(), self.wif.clone()),
            (
                "WIF without its first character".to_owned(),
                self.wif[1..].to_owned(),
            ),
            ("secret hex".to_owned(), self.hex.clone()),
            ("secret HEX".to_owned(), self.hex.to_uppercase()),
        ];
        for (name, text) in [("WIF", &self.wif), ("hex", &self.hex)] {
            let chars: Vec<char> = text.chars().collect();
            for (i, window) in chars.windows(16).enumerate() {
                needles.push((format!("{name}[{i}..{}]", i + 16), window.iter().collect()));
            }
        }
        needles
    }

    /// The names of the needles found in `haystack` (case-insensitively for the hex forms).
    fn found_in(&self, haystack: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(haystack);
        let lower = text.to_lowercase();
        self.needles()
            .into_iter()
            .filter(|(name, needle)| {
                if name.starts_with("hex") || name.starts_with("secret") {
                    lower.contains(&needle.to_lowercase())
                } else {
                    text.contains(needle.as_str())
                }
            })
            .map(|(name, _)| name)
            .collect()
    }
}

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files_under(&path, out)?;
        } else {
            out.push((path.display().to_string(), std::fs::read(&path)?));
        }
    }
    Ok(())
}

fn output_text(output: &Output) -> Vec<u8> {
    let mut all = output.stdout.clone();
    all.extend_from_slice(&output.stderr);
    all
}

/// Writes `text` to a 0600 file, as the signer's CLI requires for key files.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Runs `f`, which must panic, under a capturing panic hook; returns what the hook saw (the
/// message and location the default hook would print) and the payload.
fn capture_panic(f: impl FnOnce() + std::panic::UnwindSafe) -> anyhow::Result<String> {
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&seen);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let mut text = sink.lock().unwrap_or_else(|p| p.into_inner());
        text.push_str(&info.to_string());
        text.push('\n');
    }));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(previous);
    let Err(payload) = result else {
        bail!("the closure did not panic");
    };
    let mut text = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(message) = payload.downcast_ref::<String>() {
        text.push_str(message);
    }
    Ok(text)
}

#[test]
fn the_scanner_finds_every_form_of_the_canary() -> anyhow::Result<()> {
    let canary = Canary::generate()?;
    let upper = format!("x{}y", canary.hex.to_uppercase());
    let partial = format!("..{}..", &canary.wif[10..30]);
    for (what, text) in [
        ("wif", canary.wif.clone()),
        ("body", format!("5?{}", &canary.wif[1..])),
        ("hex", upper),
        ("partial", partial),
    ] {
        assert!(
            !canary.found_in(text.as_bytes()).is_empty(),
            "{what} missed"
        );
    }
    assert!(canary.found_in(b"nothing secret here").is_empty());
    Ok(())
}

#[tokio::test]
async fn the_active_key_never_appears_in_logs_audit_state_errors_or_panics() -> anyhow::Result<()> {
    let canary = Canary::generate()?;
    let profile = ChainProfile::vit();
    // The chain's witness has the canary as its active key: only it can sign the update.
    let sim_config = format!(
        "[[witness]]\nname = \"{ACCOUNT}\"\nactive_key = \"{}\"\nsigning_key = \"{}\"\n\n\
         [[server]]\nname = \"primary\"\nsigning_key = \"{}\"\n\n\
         [[server]]\nname = \"backup\"\nsigning_key = \"{}\"\n",
        canary.public(),
        key(1)?,
        key(1)?,
        key(2)?
    );
    let sim = SimChain::spawn_with_config(
        SIM,
        &sim_config,
        &["--nodes", "3", "--block-interval-ms", "150"],
    )
    .await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    let options = SignerOptions {
        wif: canary.wif.clone(),
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&nodes, &default_policy(5)?, &options)?;
    let dir = setup.dir.path().to_owned();
    let debug = [("RUST_LOG", "debug"), ("RUST_BACKTRACE", "1")];
    let signer = setup
        .start_logged(&debug, Some(&dir.join("signer.log")))
        .await?;
    let address = signer.field("listening")?;
    let monitor_setup = MonitorSetup::create(
        &setup,
        "monitor",
        &address,
        &nodes,
        &MonitorOptions {
            servers: vec![("primary".into(), key(1)?), ("backup".into(), key(2)?)],
            missed_blocks: 1,
            block_interval_ms: 150,
            quorum: 2,
            dry_run: false,
        },
    )?;
    let monitor = monitor_setup
        .start_logged(&[("VWF_LOG", "debug")], Some(&dir.join("monitor.log")))
        .await?;

    // A failover, signed by the canary.
    let control = sim.control();
    control.set_server("primary", false).await?;
    wait_for("the failover", ACT_LIMIT, POLL, || async {
        let history = control.history().await?;
        Ok(history["updates"].as_array().is_some_and(|u| u.len() == 1))
    })
    .await?;
    let history = control.history().await?;
    let block_num = history["updates"][0]["block_num"].clone();
    let block = call_ok(sim.node(0), "database_api", "get_block", json!([block_num])).await?;
    let tx_json = block["transactions"][0].to_string();
    let tx = SignedTransaction::from_legacy_json(&tx_json, &profile)?;
    let digest = tx.transaction.digest(&profile)?;
    let signer_key = tx
        .signatures
        .first()
        .context("unsigned transaction in the block")?
        .recover(&digest)?;
    assert_eq!(
        signer_key.to_string_with_prefix("VIT"),
        canary.public(),
        "the failover was not signed by the canary"
    );

    // A refusal.
    let mut client = setup.client(&address, MONITOR).await?;
    let refused = client
        .set_signing_key(pb::SetSigningKeyRequest {
            request_id: "leak-refusal".into(),
            account: "someone-else".into(),
            target: Some(pb::SigningKeyTarget {
                target: Some(pb::signing_key_target::Target::NullKey(pb::NullKey {})),
            }),
            expected_current_key: key(2)?,
            reason: "leak check".into(),
        })
        .await?
        .into_inner();
    assert!(matches!(refused.outcome, Some(Outcome::Refused(_))));
    monitor.stop().await?;
    signer.stop().await?;

    let mut captured: Vec<(String, Vec<u8>)> = vec![(
        "certs init / key import output".into(),
        setup.setup_output.clone().into_bytes(),
    )];
    let binary = workspace_binary("vwf-signer")?;

    // A second signer with a wrong passphrase.
    write_private(&dir.join("wrong-passphrase"), "not the passphrase\n")?;
    let config = std::fs::read_to_string(&setup.config)?;
    let wrong = config.replace(
        &format!("{}", dir.join("passphrase").display()),
        &format!("{}", dir.join("wrong-passphrase").display()),
    );
    anyhow::ensure!(wrong != config, "passphrase path not found in the config");
    std::fs::write(dir.join("wrong.toml"), wrong)?;
    let output = Command::new(&binary)
        .args(["serve", "--config"])
        .arg(dir.join("wrong.toml"))
        .envs(debug)
        .output()?;
    assert!(!output.status.success(), "started with a wrong passphrase");
    assert!(String::from_utf8_lossy(&output.stderr).contains("error:"));
    captured.push(("serve with a wrong passphrase".into(), output_text(&output)));

    // Offline tools with bad input, the canary WIF in their key file.
    let wif_file = dir.join("canary.wif");
    write_private(&wif_file, &canary.wif)?;
    let bad_txs = [
        ("garbage", "this is not json".to_owned()),
        ("not a transaction", "{\"ref_block_num\": \"x\"}".to_owned()),
        ("truncated", tx_json[..tx_json.len() / 2].to_owned()),
    ];
    for (what, text) in &bad_txs {
        let path = dir.join("bad-tx.json");
        std::fs::write(&path, text)?;
        let output = Command::new(&binary)
            .args(["tx", "sign", "--profile", "VIT", "--wif-file"])
            .arg(&wif_file)
            .arg(&path)
            .envs(debug)
            .output()?;
        assert!(!output.status.success(), "tx sign accepted {what}");
        captured.push((
            format!("tx sign with a {what} transaction"),
            output_text(&output),
        ));
    }
    // A corrupted WIF (last character changed) and a WIF with trailing junk.
    let last = canary.wif.chars().last().context("empty WIF")?;
    let swapped = if last == '2' { '3' } else { '2' };
    let corrupted = format!("{}{swapped}", &canary.wif[..canary.wif.len() - 1]);
    for (what, text) in [
        ("corrupted", corrupted),
        ("junk", format!("{} junk", canary.wif)),
    ] {
        write_private(&wif_file, &text)?;
        let output = Command::new(&binary)
            .args(["key", "pub", "--profile", "VIT", "--wif-file"])
            .arg(&wif_file)
            .envs(debug)
            .output()?;
        assert!(!output.status.success(), "key pub accepted a {what} WIF");
        captured.push((format!("key pub with a {what} WIF"), output_text(&output)));
    }
    // The key file is the one place the WIF is meant to be; it is not part of the scan.
    std::fs::remove_file(&wif_file)?;

    // Panics formatting the decrypted key and the engine holding it.
    let settings = vwf_signer::config::SignerConfig::load(&setup.config)?;
    let (keys, _) = settings.unlock_keys()?;
    assert_eq!(
        keys.active().map(|k| k.to_string_with_prefix("VIT")),
        Some(canary.public())
    );
    let scratch = tempfile::tempdir()?;
    let engine = vwf_signer::engine::Engine::new(
        settings.profile.clone(),
        settings.policy.clone(),
        Arc::new(keys),
        vwf_signer::nodes::Nodes::new(
            settings.profile.clone(),
            vec![sim.node(0).to_owned()],
            vwf_shared::rpc::ClientOptions::default(),
            1,
            15,
        ),
        settings.build.clone(),
        vwf_signer::store::RequestStore::open(&scratch.path().join("requests.json"))?,
        vwf_signer::audit::AuditLog::open(&scratch.path().join("audit.jsonl"))?,
    );
    let engine_text = format!("{engine:?} {engine:#?}");
    let panic_text = capture_panic(std::panic::AssertUnwindSafe(move || {
        panic!("forced panic: {engine:?} / {engine:#?}")
    }))?;
    // The key really was inside what was formatted: its redacted form shows.
    assert!(panic_text.contains("forced panic"));
    assert!(panic_text.contains("PrivateKey([REDACTED])"));
    captured.push(("Debug of the engine".into(), engine_text.into_bytes()));
    captured.push(("panic hook output".into(), panic_text.into_bytes()));

    // Every file the system wrote: logs, audit, requests, monitor state, configs, certs, age.
    let mut files = Vec::new();
    files_under(&dir, &mut files)?;
    for expected in [
        "signer.log",
        "monitor.log",
        "audit.jsonl",
        "requests.json",
        "state.json",
    ] {
        assert!(
            files.iter().any(|(name, _)| name.ends_with(expected)),
            "{expected} was not written"
        );
    }
    captured.extend(files);

    if std::env::var_os("VWF_LEAK_LIST").is_some() {
        for (what, bytes) in &captured {
            eprintln!("scanned {what}: {} bytes", bytes.len());
        }
    }
    let mut leaks = Vec::new();
    for (what, bytes) in &captured {
        let found = canary.found_in(bytes);
        if !found.is_empty() {
            leaks.push(format!("{what}: {}", found.join(", ")));
        }
    }
    // Name where, never what: the assertion message must not leak the canary either.
    assert!(leaks.is_empty(), "the canary leaked into: {leaks:#?}");
    assert!(
        captured.len() >= 15,
        "only {} sources scanned",
        captured.len()
    );
    Ok(())
}

// Signing-key mode (issue #16).

/// The environment of every signer and monitor process of the signing-key leak check.
const DEBUG_ENV: [(&str, &str); 3] = [
    ("RUST_LOG", "debug"),
    ("RUST_BACKTRACE", "1"),
    ("VWF_LOG", "debug"),
];
/// Bound on one `vwf-signer` command (a `serve` expected to refuse included).
const CLI_LIMIT: Duration = Duration::from_secs(60);
/// The simulator's block interval in the signing-key leak check.
const BLOCK_MS: u64 = 150;
/// The passphrase `SignerSetup` seals its age file with (its passphrase file adds a newline).
const SETUP_PASSPHRASE: &str = "correct horse battery staple";

/// What the scan reads: where it came from, and its bytes.
type Captured = Vec<(String, Vec<u8>)>;

fn path_str(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .context("tempdir path is not UTF-8")
}

/// stdout and stderr as text with every canary's WIF and hex replaced, for assertion messages:
/// a failing assertion must not print a canary either.
fn shown(output: &Output, canaries: &[&Canary]) -> String {
    redacted(&String::from_utf8_lossy(&output_text(output)), canaries)
}

fn redacted(text: &str, canaries: &[&Canary]) -> String {
    let mut text = text.to_owned();
    for canary in canaries {
        for form in [
            canary.wif.clone(),
            canary.hex.clone(),
            canary.hex.to_uppercase(),
        ] {
            text = text.replace(&form, "[CANARY]");
        }
    }
    text
}

/// `vwf-signer <args>` under [`DEBUG_ENV`] with stdin closed, bounded by [`CLI_LIMIT`]; its
/// stdout and stderr are kept in `captured` under `what`.
async fn signer_cli(captured: &mut Captured, what: &str, args: &[&str]) -> anyhow::Result<Output> {
    let child = tokio::process::Command::new(workspace_binary("vwf-signer")?)
        .args(args)
        .envs(DEBUG_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let output = tokio::time::timeout(CLI_LIMIT, child.wait_with_output())
        .await
        .with_context(|| format!("{what}: vwf-signer did not finish within {CLI_LIMIT:?}"))??;
    captured.push((what.to_owned(), output_text(&output)));
    Ok(output)
}

/// Sends SIGTERM to a daemon, reads its stdout to the end (bounded) and waits for it; returns
/// everything it printed on stdout, the first line included.
async fn stop_reading_stdout(mut daemon: Daemon) -> anyhow::Result<Vec<u8>> {
    let mut out = daemon.first_line.to_string().into_bytes();
    out.push(b'\n');
    if let Some(pid) = daemon.pid() {
        tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
    }
    let read = async {
        while let Some(line) = daemon.stdout.next_line().await? {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .context("stdout not closed within 10 s of SIGTERM")??;
    daemon.stop().await?;
    Ok(out)
}

/// Signing-key mode: the backup is a target, the primary a server the signer may switch away
/// from, the kill switch allowed, room for every change of the check in the flap window.
fn signing_policy(primary: &str, backup: &str) -> String {
    format!(
        r#"
[[account]]
name = "{ACCOUNT}"
mode = "signing-key"
allow_null_key = true
flap_limit = {{ changes = 10, window_seconds = 3600 }}

[[account.target]]
name = "backup"
key = "{backup}"

[[account.server]]
name = "primary"
key = "{primary}"

[[account.client]]
identity = "{MONITOR}"
may = ["switch", "disable", "dry-run", "status"]
"#
    )
}

/// A `SetSigningKey` request; `target` "null" is the null key.
fn request(id: &str, target: &str, expected: &str) -> pb::SetSigningKeyRequest {
    let target = if target == "null" {
        pb::signing_key_target::Target::NullKey(pb::NullKey {})
    } else {
        pb::signing_key_target::Target::PublicKey(target.to_owned())
    };
    pb::SetSigningKeyRequest {
        request_id: id.to_owned(),
        account: ACCOUNT.to_owned(),
        target: Some(pb::SigningKeyTarget {
            target: Some(target),
        }),
        expected_current_key: expected.to_owned(),
        reason: "leak check".into(),
    }
}

fn refused_rule(outcome: &Option<Outcome>) -> Option<&str> {
    match outcome {
        Some(Outcome::Refused(refused)) => Some(refused.rule.as_str()),
        _ => None,
    }
}

/// Seals `plaintext` to a passphrase (scrypt work factor 2), for age files `key import` would
/// refuse to write (a corrupted line among several keys).
fn seal_text(plaintext: &str, passphrase: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut recipient =
        age::scrypt::Recipient::new(secrecy::SecretString::from(passphrase.to_owned()));
    recipient.set_work_factor(2);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))?;
    let mut sealed = Vec::new();
    let mut writer = encryptor.wrap_output(&mut sealed)?;
    writer.write_all(plaintext.as_bytes())?;
    writer.finish()?;
    Ok(sealed)
}

/// The `operation` text of the audit log's last `applied` line.
fn last_applied(setup: &SignerSetup) -> anyhow::Result<String> {
    Ok(setup
        .audit()?
        .iter()
        .rev()
        .find(|e| e["decision"] == "applied")
        .map(|e| e["operation"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default())
}

#[tokio::test]
async fn signing_keys_never_appear_in_signing_key_mode() -> anyhow::Result<()> {
    let primary_canary = Canary::generate()?;
    let backup_canary = Canary::generate()?;
    let active_canary = Canary::generate()?;
    let all = [&primary_canary, &backup_canary, &active_canary];
    let profile = ChainProfile::builtin("STEEM".parse()?);
    let prefix = profile.address_prefix.clone();
    let primary = primary_canary.public_with(&prefix);
    let backup = backup_canary.public_with(&prefix);
    let active = active_canary.public_with(&prefix);
    // A key no process here holds the private half of (test key 3).
    let stray = test_public_key(3)?.to_string_with_prefix(&prefix);
    let null = PublicKey::NULL.to_string_with_prefix(&prefix);

    // The chain's witness: the active canary as its active key, producing with the primary
    // canary; the servers run on the two signing canaries.
    let sim_config = format!(
        "[[witness]]\nname = \"{ACCOUNT}\"\nactive_key = \"{}\"\nsigning_key = \"{}\"\n\n\
         [[server]]\nname = \"primary\"\nsigning_key = \"{}\"\n\n\
         [[server]]\nname = \"backup\"\nsigning_key = \"{}\"\n",
        active_canary.public(),
        primary_canary.public(),
        primary_canary.public(),
        backup_canary.public()
    );
    let interval = BLOCK_MS.to_string();
    let sim = SimChain::spawn_with_config(
        SIM,
        &sim_config,
        &[
            "--nodes",
            "3",
            "--block-interval-ms",
            &interval,
            "--profile",
            "STEEM",
        ],
    )
    .await?;
    let control = sim.control();
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    // `key import` with one --wif-file per signing canary; the WIF files are removed after.
    let options = SignerOptions {
        profile: "STEEM",
        signing_wifs: vec![primary_canary.wif.clone(), backup_canary.wif.clone()],
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&nodes, &signing_policy(&primary, &backup), &options)?;
    let dir = setup.dir.path().to_owned();
    let config = path_str(&setup.config)?;
    let passphrase = path_str(&dir.join("passphrase"))?;
    let mut captured: Captured = vec![(
        "certs init / key import of the two signing keys".into(),
        setup.setup_output.clone().into_bytes(),
    )];
    let checked = signer_cli(
        &mut captured,
        "check-config",
        &["check-config", "--config", &config],
    )
    .await?;
    assert!(
        checked.status.success() && shown(&checked, &all).contains("mode signing-key"),
        "{}",
        shown(&checked, &all)
    );

    // serve: start-up at debug level, then Status and a dry run over gRPC.
    let signer = setup
        .start_logged(&DEBUG_ENV, Some(&dir.join("signer.log")))
        .await?;
    let address = signer.field("listening")?;
    let mut client = setup.client(&address, MONITOR).await?;
    let status = client.status(pb::StatusRequest {}).await?.into_inner();
    let status_text = format!("{status:?}");
    assert!(
        status_text.contains("signing-key") && status_text.contains(&primary),
        "{}",
        redacted(&status_text, &all)
    );
    captured.push(("gRPC Status".into(), status_text.into_bytes()));
    let dry = client
        .dry_run(pb::DryRunRequest {
            request: Some(request("", &backup, &primary)),
            preflight: true,
        })
        .await?
        .into_inner();
    let dry_text = format!("{dry:?}");
    assert!(dry.allowed, "{}", redacted(&dry_text, &all));
    captured.push((
        "gRPC DryRun primary -> backup".into(),
        dry_text.into_bytes(),
    ));

    // The real monitor: a failover signed by the primary canary, the kill switch by the backup.
    let monitor_setup = MonitorSetup::create_with(
        &setup,
        "monitor",
        &address,
        &nodes,
        &MonitorOptions {
            servers: vec![
                ("primary".into(), primary.clone()),
                ("backup".into(), backup.clone()),
            ],
            missed_blocks: 2,
            block_interval_ms: BLOCK_MS,
            quorum: 2,
            dry_run: false,
        },
        &MonitorExtras {
            profile: Some("STEEM"),
            ..MonitorExtras::default()
        },
    )?;
    let monitor = monitor_setup
        .start_logged(&DEBUG_ENV, Some(&dir.join("monitor.log")))
        .await?;
    control.set_server("primary", false).await?;
    sim.wait_applied_keys("the failover to the backup", &[&backup], ACT_LIMIT)
        .await?;
    control.set_server("backup", false).await?;
    sim.wait_applied_keys("the kill switch", &[&backup, &null], ACT_LIMIT)
        .await?;
    let applied = setup.wait_audited("applied", 2, ACT_LIMIT).await?;
    check_signed_by_replaced_keys(&applied, &[&primary, &backup])?;
    captured.push(("monitor stdout".into(), stop_reading_stdout(monitor).await?));

    // Refusals: re-enabling needs the active key (gRPC, witness enable, dry-run).
    let reenable = client
        .set_signing_key(request("leak-reenable", &backup, &null))
        .await?
        .into_inner();
    assert_eq!(
        refused_rule(&reenable.outcome),
        Some("needs-active-key"),
        "{}",
        redacted(&format!("{reenable:?}"), &all)
    );
    captured.push((
        "gRPC re-enable refused".into(),
        format!("{reenable:?}").into_bytes(),
    ));
    let refused = signer_cli(
        &mut captured,
        "witness enable without --active-key",
        &[
            "witness",
            "enable",
            "--config",
            &config,
            "--signing-key",
            &primary,
            "--yes",
        ],
    )
    .await?;
    assert!(
        refused.status.code() == Some(2) && shown(&refused, &all).contains("needs-active-key"),
        "{}",
        shown(&refused, &all)
    );
    let dry_cli = signer_cli(
        &mut captured,
        "dry-run of a re-enable",
        &[
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
            "null",
        ],
    )
    .await?;
    assert!(
        shown(&dry_cli, &all).contains("needs-active-key"),
        "{}",
        shown(&dry_cli, &all)
    );

    // witness enable --active-key: the active canary sealed in an age file kept apart.
    let apart = tempfile::tempdir()?;
    let active_wif = apart.path().join("active.wif");
    let active_age = path_str(&apart.path().join("active.age"))?;
    let active_pass = path_str(&apart.path().join("passphrase"))?;
    write_private(&active_wif, &active_canary.wif)?;
    write_private(apart.path().join("passphrase").as_path(), "kept apart\n")?;
    let imported = signer_cli(
        &mut captured,
        "key import of the active key",
        &[
            "key",
            "import",
            "--profile",
            "STEEM",
            "--out",
            &active_age,
            "--passphrase-file",
            &active_pass,
            "--wif-file",
            &path_str(&active_wif)?,
            "--scrypt-work-factor",
            "2",
        ],
    )
    .await?;
    assert!(
        imported.status.success() && shown(&imported, &all).contains(&active),
        "{}",
        shown(&imported, &all)
    );
    std::fs::remove_file(&active_wif)?;
    let with_active = |target: &str| -> Vec<String> {
        [
            "witness",
            "enable",
            "--config",
            &config,
            "--signing-key",
            target,
            "--yes",
            "--active-key",
            &active_age,
            "--active-passphrase-file",
            &active_pass,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let args = with_active(&stray);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let enabled = signer_cli(
        &mut captured,
        "witness enable --active-key to a key not held",
        &args,
    )
    .await?;
    assert!(enabled.status.success(), "{}", shown(&enabled, &all));
    assert_eq!(
        control.applied_keys().await?,
        vec![backup.clone(), null.clone(), stray.clone()]
    );
    let operation = last_applied(&setup)?;
    assert!(
        operation.contains("witness_update signed with the active key")
            && operation.contains(&active),
        "{operation}"
    );

    // Refusals: the chain holds a key the signer does not hold (gRPC, dry run, witness disable,
    // and serve's start-up check).
    let not_held = client
        .set_signing_key(request("leak-not-held", &backup, &stray))
        .await?
        .into_inner();
    assert_eq!(
        refused_rule(&not_held.outcome),
        Some("signing-key-not-held"),
        "{}",
        redacted(&format!("{not_held:?}"), &all)
    );
    captured.push((
        "gRPC request refused: key not held".into(),
        format!("{not_held:?}").into_bytes(),
    ));
    let dry = client
        .dry_run(pb::DryRunRequest {
            request: Some(request("", "null", &stray)),
            preflight: true,
        })
        .await?
        .into_inner();
    let dry_text = format!("{dry:?}");
    assert!(
        !dry.allowed
            && dry.refused.as_ref().map(|r| r.rule.as_str()) == Some("signing-key-not-held"),
        "{}",
        redacted(&dry_text, &all)
    );
    captured.push(("gRPC DryRun: key not held".into(), dry_text.into_bytes()));
    let disable = signer_cli(
        &mut captured,
        "witness disable with a key not held on chain",
        &["witness", "disable", "--config", &config, "--yes"],
    )
    .await?;
    assert!(
        disable.status.code() == Some(2) && shown(&disable, &all).contains("signing-key-not-held"),
        "{}",
        shown(&disable, &all)
    );
    drop(client);
    captured.push(("signer stdout".into(), stop_reading_stdout(signer).await?));
    // A restart while the chain holds a key not held: serve starts (other accounts would
    // still be served) and says why this account's requests are refused.
    let second_log = dir.join("signer-restart.log");
    let second = setup.start_logged(&DEBUG_ENV, Some(&second_log)).await?;
    captured.push((
        "restarted signer stdout".into(),
        stop_reading_stdout(second).await?,
    ));
    let restart_text = std::fs::read_to_string(&second_log)?;
    assert!(
        restart_text.contains(&stray) && restart_text.contains("signing-key-not-held"),
        "the restart does not say why the account's requests are refused"
    );

    // Back to the primary with the active key; then a dry run and the operator's kill switch
    // signed with the primary's signing key by `witness disable`.
    let args = with_active(&primary);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let enabled = signer_cli(
        &mut captured,
        "witness enable --active-key to the primary",
        &args,
    )
    .await?;
    assert!(enabled.status.success(), "{}", shown(&enabled, &all));
    let dry_cli = signer_cli(
        &mut captured,
        "dry-run primary -> backup",
        &[
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
        ],
    )
    .await?;
    let report: serde_json::Value = serde_json::from_slice(&dry_cli.stdout).unwrap_or_default();
    assert!(
        dry_cli.status.success() && report["allowed"] == true,
        "{}",
        shown(&dry_cli, &all)
    );
    let disabled = signer_cli(
        &mut captured,
        "witness disable signed with the signing key",
        &["witness", "disable", "--config", &config, "--yes"],
    )
    .await?;
    assert!(disabled.status.success(), "{}", shown(&disabled, &all));
    assert_eq!(
        control.applied_keys().await?,
        vec![
            backup.clone(),
            null.clone(),
            stray.clone(),
            primary.clone(),
            null.clone()
        ]
    );
    let operation = last_applied(&setup)?;
    assert!(
        operation.starts_with("witness_set_properties") && operation.contains(&primary),
        "{operation}"
    );

    // serve with a wrong passphrase.
    write_private(&dir.join("wrong-passphrase"), "not the passphrase\n")?;
    let config_text = std::fs::read_to_string(&setup.config)?;
    let wrong = config_text.replace(&passphrase, &path_str(&dir.join("wrong-passphrase"))?);
    anyhow::ensure!(
        wrong != config_text,
        "passphrase path not found in the config"
    );
    std::fs::write(dir.join("wrong.toml"), wrong)?;
    let output = signer_cli(
        &mut captured,
        "serve with a wrong passphrase",
        &["serve", "--config", &path_str(&dir.join("wrong.toml"))?],
    )
    .await?;
    assert!(!output.status.success(), "{}", shown(&output, &all));

    // A corrupted line among several keys in the age file: the error names the line number,
    // never the line (serve, dry-run, witness enable --active-key, and in-process).
    let changed_last = {
        let last = backup_canary.wif.chars().last().context("empty WIF")?;
        let swapped = if last == '2' { '3' } else { '2' };
        format!(
            "{}{swapped}",
            &backup_canary.wif[..backup_canary.wif.len() - 1]
        )
    };
    let (p_wif, b_wif) = (&primary_canary.wif, &backup_canary.wif);
    let corruptions = [
        (
            "a changed last character",
            format!("# block signing keys\n{p_wif}\n\n{changed_last}\n"),
            4,
        ),
        ("trailing junk", format!("{p_wif}\r\n{b_wif} junk\n"), 2),
        (
            "the secret in hex",
            format!("{p_wif}\n# backup\n{}\n", backup_canary.hex),
            3,
        ),
        (
            "a key listed twice",
            format!("{p_wif}\n{b_wif}\n{p_wif}\n"),
            3,
        ),
    ];
    let age_path = path_str(&dir.join("active.age"))?;
    for (i, (what, plaintext, line)) in corruptions.iter().enumerate() {
        let needle = format!("line {line}");
        let age = dir.join(format!("corrupt-{i}.age"));
        std::fs::write(&age, seal_text(plaintext, SETUP_PASSPHRASE)?)?;
        let corrupt_config = dir.join(format!("corrupt-{i}.toml"));
        let changed = config_text.replace(&age_path, &path_str(&age)?);
        anyhow::ensure!(
            changed != config_text,
            "age file path not found in the config"
        );
        std::fs::write(&corrupt_config, changed)?;
        let corrupt_config = path_str(&corrupt_config)?;
        let age_text = path_str(&age)?;
        let runs: [(&str, Vec<&str>); 3] = [
            ("serve", vec!["serve", "--config", &corrupt_config]),
            (
                "dry-run",
                vec![
                    "dry-run",
                    "--config",
                    &corrupt_config,
                    "--client",
                    MONITOR,
                    "--account",
                    ACCOUNT,
                    "--target",
                    &backup,
                    "--expected",
                    &primary,
                ],
            ),
            (
                "witness enable --active-key",
                vec![
                    "witness",
                    "enable",
                    "--config",
                    &config,
                    "--signing-key",
                    &primary,
                    "--yes",
                    "--active-key",
                    &age_text,
                    "--active-passphrase-file",
                    &passphrase,
                ],
            ),
        ];
        for (command, args) in runs {
            let output = signer_cli(
                &mut captured,
                &format!("{command} with an age file line of {what}"),
                &args,
            )
            .await?;
            assert!(
                !output.status.success() && shown(&output, &all).contains(&needle),
                "{command}, {what}: {}",
                shown(&output, &all)
            );
        }
        let settings = vwf_signer::config::SignerConfig::load(Path::new(&corrupt_config))?;
        let error = match settings.unlock_keys() {
            Ok(_) => bail!("{what}: the corrupted age file was accepted"),
            Err(error) => format!("{error} / {error:?}"),
        };
        assert!(error.contains(&needle), "{}", redacted(&error, &all));
        captured.push((format!("unlock_keys error, {what}"), error.into_bytes()));
        let parsed = vwf_signer::keystore::KeyRing::parse(plaintext.as_bytes())
            .err()
            .unwrap_or_default();
        assert!(parsed.starts_with(&needle), "{}", redacted(&parsed, &all));
        captured.push((format!("KeyRing::parse error, {what}"), parsed.into_bytes()));
    }
    assert_eq!(
        control.applied_keys().await?.len(),
        5,
        "a corrupted age file changed the chain"
    );

    // key import with several --wif-file: fine, with a corrupted one, with one repeated.
    let wifs = dir.join("wifs");
    std::fs::create_dir(&wifs)?;
    let file = |name: &str| path_str(&wifs.join(name));
    write_private(&wifs.join("primary.wif"), p_wif)?;
    write_private(&wifs.join("backup.wif"), b_wif)?;
    write_private(&wifs.join("corrupted.wif"), &changed_last)?;
    let import = |out: &str, files: &[&str]| -> anyhow::Result<Vec<String>> {
        let mut args = vec![
            "key".to_owned(),
            "import".into(),
            "--profile".into(),
            "STEEM".into(),
            "--out".into(),
            path_str(&dir.join(out))?,
            "--passphrase-file".into(),
            passphrase.clone(),
            "--scrypt-work-factor".into(),
            "2".into(),
        ];
        for name in files {
            args.extend(["--wif-file".to_owned(), file(name)?]);
        }
        Ok(args)
    };
    let cases: [(&str, &str, &[&str], Option<&str>); 3] = [
        (
            "key import of several --wif-file",
            "reimported.age",
            &["primary.wif", "backup.wif"],
            None,
        ),
        (
            "key import with a corrupted --wif-file",
            "never-1.age",
            &["primary.wif", "corrupted.wif"],
            Some("corrupted.wif"),
        ),
        (
            "key import with a repeated --wif-file",
            "never-2.age",
            &["primary.wif", "backup.wif", "primary.wif"],
            Some("already read"),
        ),
    ];
    for (what, out, files, refusal) in cases {
        let args = import(out, files)?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = signer_cli(&mut captured, what, &args).await?;
        let screen = shown(&output, &all);
        match refusal {
            None => assert!(
                output.status.success() && screen.contains(&primary) && screen.contains(&backup),
                "{what}: {screen}"
            ),
            Some(expected) => {
                assert!(
                    !output.status.success() && screen.contains(expected),
                    "{what}: {screen}"
                );
                assert!(!dir.join(out).exists(), "{what} wrote {out}");
            }
        }
    }
    // The WIF files are the one place the WIFs are meant to be; they are not part of the scan.
    std::fs::remove_dir_all(&wifs)?;

    // Debug and panic formatting of the loaded keys and of the engine holding them.
    let settings = vwf_signer::config::SignerConfig::load(&setup.config)?;
    let (keys, _) = settings.unlock_keys()?;
    let held: Vec<String> = keys
        .ring()
        .public_keys()
        .map(|k| k.to_string_with_prefix(&prefix))
        .collect();
    // The signer host's age file holds the two signing keys and never the active key.
    assert_eq!(held, vec![primary.clone(), backup.clone()]);
    assert!(keys.active().is_none() && !held.contains(&active));
    let loaded = vwf_signer::keystore::load_keys(
        &dir.join("active.age"),
        &vwf_signer::keystore::KeySource::PassphraseFile(dir.join("passphrase")),
    )?;
    let keys_text = format!("{keys:?} {keys:#?} {loaded:?} {loaded:#?}");
    assert!(
        keys_text.matches("PrivateKey([REDACTED])").count() >= 4,
        "the keys were not formatted"
    );
    captured.push((
        "Debug of AssignedKeys and LoadedKeys".into(),
        keys_text.into_bytes(),
    ));
    let scratch = tempfile::tempdir()?;
    let engine = vwf_signer::engine::Engine::new(
        settings.profile.clone(),
        settings.policy.clone(),
        Arc::new(keys),
        vwf_signer::nodes::Nodes::new(
            settings.profile.clone(),
            vec![sim.node(0).to_owned()],
            vwf_shared::rpc::ClientOptions::default(),
            1,
            15,
        ),
        settings.build.clone(),
        vwf_signer::store::RequestStore::open(&scratch.path().join("requests.json"))?,
        vwf_signer::audit::AuditLog::open(&scratch.path().join("audit.jsonl"))?,
    );
    let engine_text = format!("{engine:?} {engine:#?}");
    let panic_text = capture_panic(std::panic::AssertUnwindSafe(move || {
        panic!("forced panic: {engine:?} / {engine:#?} / {loaded:?}")
    }))?;
    assert!(panic_text.contains("forced panic"));
    assert!(panic_text.matches("PrivateKey([REDACTED])").count() >= 4);
    captured.push(("Debug of the engine".into(), engine_text.into_bytes()));
    captured.push(("panic hook output".into(), panic_text.into_bytes()));
    sim.stop().await?;

    // Every file on the signer host: logs, audit, requests, monitor state, configs, certs, the
    // age files; and what is kept apart beside the active key's own age file.
    let mut host_files = Vec::new();
    files_under(&dir, &mut host_files)?;
    for expected in [
        "signer.log",
        "monitor.log",
        "audit.jsonl",
        "requests.json",
        "state.json",
        "reimported.age",
    ] {
        assert!(
            host_files.iter().any(|(name, _)| name.ends_with(expected)),
            "{expected} was not written"
        );
    }
    let mut apart_files = Vec::new();
    files_under(apart.path(), &mut apart_files)?;
    apart_files.retain(|(name, _)| !name.ends_with("active.age"));

    // The point of the mode: the active key is nowhere on the signer host.
    let on_host: Vec<String> = host_files
        .iter()
        .filter(|(_, bytes)| !active_canary.found_in(bytes).is_empty())
        .map(|(name, _)| name.clone())
        .collect();
    assert!(
        on_host.is_empty(),
        "the active key is on the signer host: {on_host:#?}"
    );
    captured.extend(host_files);
    captured.extend(apart_files);

    if std::env::var_os("VWF_LEAK_LIST").is_some() {
        for (what, bytes) in &captured {
            eprintln!("scanned {what}: {} bytes", bytes.len());
        }
    }
    let mut leaks = Vec::new();
    for (what, bytes) in &captured {
        for (name, canary) in [
            ("primary signing key", &primary_canary),
            ("backup signing key", &backup_canary),
            ("active key", &active_canary),
        ] {
            let found = canary.found_in(bytes);
            if !found.is_empty() {
                leaks.push(format!("{name} in {what}: {}", found.join(", ")));
            }
        }
    }
    // Name where, never what.
    assert!(leaks.is_empty(), "a canary leaked: {leaks:#?}");
    assert!(
        captured.len() >= 50,
        "only {} sources scanned",
        captured.len()
    );
    Ok(())
}
