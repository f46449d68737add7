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

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use rand::RngCore;
use secrecy::SecretBox;
use serde_json::json;
use vwf_proto::v1 as pb;
use vwf_proto::v1::set_signing_key_response::Outcome;
use vwf_shared::{ChainProfile, PrivateKey, SignedTransaction};
use vwf_tests::client::call_ok;
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorOptions, MonitorSetup};
use vwf_tests::process::workspace_binary;
use vwf_tests::signer::{ACCOUNT, MONITOR, SignerOptions, SignerSetup, default_policy};
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
        self.key.public_key().to_string_with_prefix("VIT")
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
