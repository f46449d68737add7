//! The operator's guide (README "Install", "First run", "Live test procedure"), walked as a new
//! operator walks it from a shell, with `vwf-simchain` standing in for the network (issue 13).
//!
//! Everything is where `deploy/install.sh` puts it, under a fresh temp root: the shipped example
//! configs (`deploy/signer.example.toml`, `deploy/monitor-one-backup.example.toml`) with only the
//! edits the guide asks for (account, nodes, keys, endpoint; no mail or webhook secret, so their
//! sinks removed), and each credential where systemd decrypts it for the unit and for `vwf-run`:
//! a private directory named by `$CREDENTIALS_DIRECTORY`. The walk: the checks, the byte check,
//! the monitor in dry-run mode through a real outage (nothing signed), back to live with the
//! primary restored (no surprise action), a real outage (failover), the backup's outage (kill
//! switch), `vwf-signer witness enable` by the operator, and the monitor following it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use anyhow::{Context, bail};
use vwf_tests::harness::SimChain;
use vwf_tests::process::{Daemon, workspace_binary};
use vwf_tests::signer::{ACCOUNT, MONITOR};
use vwf_tests::tx::{NULL_KEY, TEST_WIFS, test_key};
use vwf_tests::wait::{wait_for, wait_until};

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
/// Bounds every command and every wait in this file.
const LIMIT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);
/// Block interval of the simulated chain.
const BLOCK_MS: u64 = 300;

/// The temp root and what lives in it.
struct Host {
    root: tempfile::TempDir,
}

impl Host {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn text(&self, rel: &str) -> anyhow::Result<String> {
        self.path(rel)
            .to_str()
            .map(str::to_owned)
            .context("temp path is not UTF-8")
    }

    /// A private directory (0700), as systemd makes state and credential directories.
    fn private_dir(&self, rel: &str) -> anyhow::Result<PathBuf> {
        let dir = self.path(rel);
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(dir)
    }
}

/// Copies `from` to credential `name` in `dir`, 0400, as systemd hands it to the service.
fn credential(dir: &Path, name: &str, from: &Path) -> anyhow::Result<()> {
    let to = dir.join(name);
    std::fs::copy(from, &to).with_context(|| format!("credential {name}"))?;
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o400))?;
    Ok(())
}

/// Runs a command to its end (bounded), stdin closed.
async fn run(binary: &Path, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Output> {
    let child = tokio::process::Command::new(binary)
        .args(args)
        .env_remove("CREDENTIALS_DIRECTORY")
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(LIMIT, child)
        .await
        .with_context(|| format!("{} {args:?} did not end within {LIMIT:?}", binary.display()))?
        .context("run")
}

fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs and requires exit 0; returns stdout + stderr.
async fn run_ok(binary: &Path, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<String> {
    let output = run(binary, args, envs).await?;
    let text = shown(&output);
    if !output.status.success() {
        bail!("{} {args:?} failed:\n{text}", binary.display());
    }
    Ok(text)
}

/// `text` with `from` replaced by `to`, failing when `from` is not there: an example that
/// changed under the test must be noticed, not silently left unedited.
fn edit(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    if !text.contains(from) {
        bail!("the example no longer holds {from:?}");
    }
    Ok(text.replace(from, to))
}

fn example(name: &str) -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(name);
    std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The signer host: what `install.sh signer` makes (certificates, credentials, sealed key),
/// then the guide's edit of `signer.toml`.
async fn install_signer(host: &Host, nodes: &[&str]) -> anyhow::Result<PathBuf> {
    let signer = workspace_binary("vwf-signer")?;
    let etc = host.path("etc/vwf-signer");
    std::fs::create_dir_all(&etc)?;
    let certs = host.private_dir("etc/vwf-signer/certs")?;
    let creds = host.private_dir("run/credentials/vwf-signer.service")?;
    let certs_text = host.text("etc/vwf-signer/certs")?;
    run_ok(
        &signer,
        &["certs", "init", "--dir", &certs_text, "--client", MONITOR],
        &[],
    )
    .await?;
    std::fs::copy(certs.join("ca.pem"), etc.join("ca.pem"))?;
    std::fs::copy(certs.join("server.pem"), etc.join("server.pem"))?;
    credential(&creds, "tls-key", &certs.join("server.key"))?;
    std::fs::remove_file(certs.join("server.key"))?;

    // The age identity (install.sh: age-keygen, straight into the credential) and the active
    // key sealed to it; the WIF comes from a 0600 file here instead of the terminal.
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let identity_file = host.path("identity.tmp");
    {
        use secrecy::ExposeSecret;
        std::fs::write(&identity_file, identity.to_string().expose_secret())?;
    }
    std::fs::set_permissions(&identity_file, std::fs::Permissions::from_mode(0o600))?;
    credential(&creds, "age-identity", &identity_file)?;
    std::fs::remove_file(&identity_file)?;
    let wif_file = host.private_dir("root")?.join("active.wif");
    std::fs::write(&wif_file, TEST_WIFS[0])?;
    std::fs::set_permissions(&wif_file, std::fs::Permissions::from_mode(0o600))?;
    let sealed = etc.join("active.age");
    let sealed_text = sealed.to_str().context("temp path is not UTF-8")?;
    let wif_text = wif_file.to_str().context("temp path is not UTF-8")?;
    let imported = run_ok(
        &signer,
        &[
            "key",
            "import",
            "--profile",
            "VIT",
            "--out",
            sealed_text,
            "--recipient",
            &recipient,
            "--wif-file",
            wif_text,
        ],
        &[],
    )
    .await?;
    std::fs::remove_file(&wif_file)?;
    // "prints the public key: check it is the account's active key" (test key 0).
    anyhow::ensure!(imported.contains(&test_key(0)?), "{imported}");
    credential(&creds, "active.age", &sealed)?;

    // The guide's edits: nodes, account, the backup's key; a free port for this test.
    let mut config = example("signer.example.toml")?;
    config = edit(&config, "/etc/vwf-signer/", &format!("{}/", etc.display()))?;
    config = edit(
        &config,
        "dir = \"/var/lib/vwf-signer\"",
        &format!("dir = {:?}", host.private_dir("var/lib/vwf-signer")?),
    )?;
    config = edit(
        &config,
        r#"nodes = ["https://peer.vit.tube", "https://node-2.example.org", "https://node-3.example.org"]"#,
        &format!("nodes = [{}]", quoted(nodes)),
    )?;
    config = edit(&config, "\"example-witness\"", &format!("{ACCOUNT:?}"))?;
    config = edit(
        &config,
        "VIT6oVDUdExrjjMXiST3eoX5ciTGNoG4786CdzWx3aT6xxseuTQZN",
        &test_key(2)?,
    )?;
    config = edit(&config, "127.0.0.1:7575", "127.0.0.1:0")?;
    let path = etc.join("signer.toml");
    std::fs::write(&path, config)?;
    Ok(path)
}

/// The monitor host: what `install.sh monitor` makes, then the guide's edit of `monitor.toml`.
fn install_monitor(
    host: &Host,
    nodes: &[&str],
    signer_address: &str,
    dry_run: bool,
) -> anyhow::Result<PathBuf> {
    let etc = host.path("etc/vwf-monitor");
    std::fs::create_dir_all(&etc)?;
    let certs = host.path("etc/vwf-signer/certs");
    let creds = host.private_dir("run/credentials/vwf-monitor.service")?;
    std::fs::copy(certs.join("ca.pem"), etc.join("ca.pem"))?;
    let client = vwf_signer::pki::sanitize_name(MONITOR);
    std::fs::copy(
        certs.join(format!("client-{client}.pem")),
        etc.join("client.pem"),
    )?;
    let key = certs.join(format!("client-{client}.key"));
    if key.exists() {
        credential(&creds, "signer-client-key", &key)?;
        std::fs::remove_file(&key)?;
    }

    let mut config = example("monitor-one-backup.example.toml")?;
    // No SMTP password or webhook URL given: their sinks are removed (the last sections).
    let sinks = config
        .find("\n[[alerts.email]]")
        .context("the example has no [[alerts.email]]")?;
    config.truncate(sinks + 1);
    config = edit(&config, "/etc/vwf-monitor/", &format!("{}/", etc.display()))?;
    config = edit(
        &config,
        "state_dir = \"/var/lib/vwf-monitor\"",
        &format!("state_dir = {:?}", host.private_dir("var/lib/vwf-monitor")?),
    )?;
    config = edit(&config, "\"example-witness\"", &format!("{ACCOUNT:?}"))?;
    config = edit(
        &config,
        r#"nodes = ["https://peer.vit.tube"]"#,
        &format!("nodes = [{}]", quoted(nodes)),
    )?;
    config = edit(
        &config,
        "node = \"https://backup-1.example.org\"",
        &format!("node = {:?}", nodes.first().copied().unwrap_or_default()),
    )?;
    config = edit(
        &config,
        "VIT6UWGeXRriKLTiz2xEQcAp3u1E456e43viy3iD6oDgwPLsCSC41",
        &test_key(1)?,
    )?;
    config = edit(
        &config,
        "VIT6oVDUdExrjjMXiST3eoX5ciTGNoG4786CdzWx3aT6xxseuTQZN",
        &test_key(2)?,
    )?;
    config = edit(
        &config,
        "endpoint = \"https://127.0.0.1:7575\"",
        &format!("endpoint = \"https://{signer_address}\""),
    )?;
    config = edit(&config, "\"127.0.0.1:9477\"", "\"127.0.0.1:0\"")?;
    config = edit(
        &config,
        "block_interval_ms = 3000",
        &format!("block_interval_ms = {BLOCK_MS}"),
    )?;
    config = edit(
        &config,
        "poll_interval_ms = 3000",
        &format!("poll_interval_ms = {BLOCK_MS}"),
    )?;
    config = edit(
        &config,
        "retry_initial_seconds = 3",
        "retry_initial_seconds = 1",
    )?;
    config = edit(&config, "retry_max_seconds = 60", "retry_max_seconds = 2")?;
    config = edit(&config, "dry_run = false", &format!("dry_run = {dry_run}"))?;
    let path = etc.join("monitor.toml");
    std::fs::write(&path, config)?;
    Ok(path)
}

fn log_has(log: &Path, needle: &str) -> anyhow::Result<bool> {
    Ok(std::fs::read_to_string(log)?
        .lines()
        .any(|l| l.contains(needle)))
}

/// The key the chain holds for the witness now.
async fn key_on_chain(sim: &SimChain) -> anyhow::Result<String> {
    let witness = sim.control().witness(ACCOUNT).await?;
    witness["signing_key"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no signing_key in {witness}"))
}

#[tokio::test]
async fn the_guide_walked_from_a_shell_dry_run_live_kill_switch_and_re_enable() -> anyhow::Result<()>
{
    let block_ms = BLOCK_MS.to_string();
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", &block_ms, "--nodes", "3"]).await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    let control = sim.control();
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    let host = Host {
        root: tempfile::tempdir()?,
    };
    let signer = workspace_binary("vwf-signer")?;
    let monitor = workspace_binary("vwf-monitor")?;

    // ---- Signer host ----
    let signer_config = install_signer(&host, &nodes).await?;
    let signer_config_text = signer_config.to_str().context("temp path")?.to_owned();
    let signer_creds = host.text("run/credentials/vwf-signer.service")?;
    let signer_env = [("CREDENTIALS_DIRECTORY", signer_creds.as_str())];
    // A plain shell has no credentials: refused with the way to run it.
    let plain = run(
        &signer,
        &["check-config", "--config", &signer_config_text],
        &[],
    )
    .await?;
    assert_eq!(plain.status.code(), Some(2), "{}", shown(&plain));
    assert!(shown(&plain).contains("vwf-run"), "{}", shown(&plain));
    // `vwf-run vwf-signer check-config`: the unit's credentials.
    run_ok(
        &signer,
        &["check-config", "--config", &signer_config_text],
        &signer_env,
    )
    .await?;
    let serve = Daemon::spawn_logged(
        &signer,
        &["serve", "--config", &signer_config_text],
        &signer_env,
        Some(&host.path("signer.log")),
    )
    .await?;
    let signer_address = serve.field("listening")?;

    // ---- Monitor host, dry run first ----
    let monitor_config = install_monitor(&host, &nodes, &signer_address, true)?;
    let monitor_config_text = monitor_config.to_str().context("temp path")?.to_owned();
    let monitor_creds = host.text("run/credentials/vwf-monitor.service")?;
    let monitor_env = [("CREDENTIALS_DIRECTORY", monitor_creds.as_str())];
    let config_args = ["--config", monitor_config_text.as_str()];
    for command in [
        vec!["check-config"],
        vec!["check-config", "--online"],
        vec!["test-alert"],
        vec!["status"],
    ] {
        let mut args = command.clone();
        args.extend(config_args);
        run_ok(&monitor, &args, &monitor_env).await?;
    }

    // Live test 2: the byte check against the nodes, as the monitor's client.
    let preflight = run_ok(
        &signer,
        &[
            "dry-run",
            "--config",
            &signer_config_text,
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
        &signer_env,
    )
    .await?;
    assert!(preflight.contains("\"matches\": true"), "{preflight}");

    // Live test 3: the monitor in dry run through a real outage: reported, nothing signed.
    let log = host.path("monitor-dry-run.log");
    let daemon = Daemon::spawn_logged(
        &monitor,
        &["run", "--config", &monitor_config_text],
        &monitor_env,
        Some(&log),
    )
    .await?;
    wait_for("the monitor's first reading", LIMIT, POLL, || async {
        log_has(&log, "event=\"observed\"")
    })
    .await?;
    control.set_server("primary", false).await?;
    wait_for("the dry-run report", LIMIT, POLL, || async {
        log_has(&log, "event=\"dry-run\"")
    })
    .await?;
    daemon.stop().await?;
    assert!(control.applied_keys().await?.is_empty());
    assert_eq!(key_on_chain(&sim).await?, primary);

    // Live test 4: the primary produces again, dry_run = false, restart: a fresh baseline,
    // no action for the dry run's misses.
    control.set_server("primary", true).await?;
    let live_config = install_monitor(&host, &nodes, &signer_address, false)?;
    anyhow::ensure!(live_config == monitor_config);
    let log = host.path("monitor-live.log");
    let daemon = Daemon::spawn_logged(
        &monitor,
        &["run", "--config", &monitor_config_text],
        &monitor_env,
        Some(&log),
    )
    .await?;
    wait_for("the mode change on the live start", LIMIT, POLL, || async {
        log_has(&log, "event=\"mode-changed\"")
    })
    .await?;
    // Ten blocks of the primary producing: still nothing signed.
    let from = control.head_num().await?;
    wait_for("ten more blocks", LIMIT, POLL, || async {
        Ok(control.head_num().await? >= from + 10)
    })
    .await?;
    assert!(
        control.applied_keys().await?.is_empty(),
        "a live action for misses counted in dry-run mode"
    );
    assert!(!log_has(&log, "event=\"intent\"")?);

    // The real outage: failover to the backup.
    control.set_server("primary", false).await?;
    wait_until("the failover on chain", LIMIT, POLL, || async {
        Ok((key_on_chain(&sim).await? == backup).then_some(()))
    })
    .await?;
    wait_for("the failover in the monitor's log", LIMIT, POLL, || async {
        log_has(&log, "event=\"failover\"")
    })
    .await?;
    // The backup fails too: the kill switch.
    control.set_server("backup", false).await?;
    wait_until("the kill switch on chain", LIMIT, POLL, || async {
        Ok((key_on_chain(&sim).await? == NULL_KEY).then_some(()))
    })
    .await?;
    wait_for(
        "the kill switch in the monitor's log",
        LIMIT,
        POLL,
        || async { log_has(&log, "event=\"kill-switch\"") },
    )
    .await?;

    // The operator repairs the primary and re-enables on the signer host, serve running.
    control.set_server("primary", true).await?;
    run_ok(
        &signer,
        &["witness", "show", "--config", &signer_config_text],
        &signer_env,
    )
    .await?;
    let enabled = run_ok(
        &signer,
        &[
            "witness",
            "enable",
            "--signing-key",
            &primary,
            "--yes",
            "--config",
            &signer_config_text,
        ],
        &signer_env,
    )
    .await?;
    assert!(enabled.contains("applied"), "{enabled}");
    assert_eq!(key_on_chain(&sim).await?, primary);
    // The monitor follows the re-enable: the primary is active again.
    wait_for(
        "the monitor following the re-enable",
        LIMIT,
        POLL,
        || async { log_has(&log, "event=\"key-changed\"") },
    )
    .await?;
    let status = run_ok(
        &monitor,
        &["status", "--config", &monitor_config_text],
        &monitor_env,
    )
    .await?;
    assert!(status.contains("saved state: active primary"), "{status}");
    daemon.stop().await?;
    serve.stop().await?;
    Ok(())
}
