//! The deployment files in `deploy/` stay usable: every `*.example.toml` passes its daemon's
//! `check-config` once the absolute paths it names exist, an unknown field is refused with exit
//! code 2, and the systemd units load every credential the examples read.
//!
//! The examples name production paths (`/etc/vwf-*/`, `/var/lib/vwf-*`) and systemd credentials
//! (`$CREDENTIALS_DIRECTORY/NAME`); the test maps each prefix to a tempdir subdirectory filled
//! with real files made by `vwf-signer certs init` and `vwf-signer key import`, and runs
//! `check-config` with `$CREDENTIALS_DIRECTORY` set to the daemon's credentials subdirectory, as
//! systemd (or `systemd-run`, deploy/vwf-run) does. An example naming any other absolute path
//! fails the test, so a new path cannot slip in unchecked.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tokio::process::Command;
use vwf_tests::process::workspace_binary;
use vwf_tests::signer::MONITOR;
use vwf_tests::tx::TEST_WIFS;

/// Longest run of one command (`check-config`, `certs init`, `key import` take milliseconds).
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// The tempdir subdirectories standing in for each daemon's `$CREDENTIALS_DIRECTORY`.
const CREDENTIALS: [&str; 2] = ["signer-credentials", "monitor-credentials"];

/// What the examples write for a systemd credential: `$CREDENTIALS_DIRECTORY/NAME`.
const CREDENTIAL_PREFIX: &str = "$CREDENTIALS_DIRECTORY/";

/// Absolute path prefixes used by the examples and the tempdir subdirectory each maps to.
const PREFIXES: [(&str, &str); 4] = [
    ("/etc/vwf-signer/", "signer-etc/"),
    ("/etc/vwf-monitor/", "monitor-etc/"),
    ("/var/lib/vwf-signer", "signer-state"),
    ("/var/lib/vwf-monitor", "monitor-state"),
];

/// The examples the issue asks for; more may be added, none of these may go missing.
const REQUIRED_EXAMPLES: [&str; 6] = [
    "signer.example.toml",
    "signer-two-backups.example.toml",
    "signer-killswitch.example.toml",
    "monitor-one-backup.example.toml",
    "monitor-two-backups.example.toml",
    "monitor-killswitch.example.toml",
];

/// The passphrase sealing the test key in the fixture's age file.
const PASSPHRASE: &str = "deploy example passphrase";

/// Which daemon an example configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Daemon {
    Signer,
    Monitor,
}

impl Daemon {
    /// From the example's file name: `signer*.example.toml` or `monitor*.example.toml`.
    fn of(name: &str) -> anyhow::Result<Self> {
        if name.starts_with("signer") {
            Ok(Daemon::Signer)
        } else if name.starts_with("monitor") {
            Ok(Daemon::Monitor)
        } else {
            bail!("deploy/{name}: name it signer*.example.toml or monitor*.example.toml")
        }
    }

    /// `vwf-signer` or `vwf-monitor`.
    fn binary_name(self) -> &'static str {
        match self {
            Daemon::Signer => "vwf-signer",
            Daemon::Monitor => "vwf-monitor",
        }
    }

    fn binary(self) -> anyhow::Result<PathBuf> {
        workspace_binary(self.binary_name())
    }
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// `(file name, text)` of every `deploy/*.example.toml`, sorted.
fn examples() -> anyhow::Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(deploy_dir())? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".example.toml") {
            found.push((name.to_owned(), std::fs::read_to_string(&path)?));
        }
    }
    found.sort();
    for required in REQUIRED_EXAMPLES {
        ensure!(
            found.iter().any(|(name, _)| name == required),
            "deploy/{required} is missing"
        );
    }
    Ok(found)
}

/// Runs `binary args`, killed if it outlives [`COMMAND_LIMIT`].
async fn run(binary: &Path, args: &[&str]) -> anyhow::Result<Output> {
    let output = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(COMMAND_LIMIT, output)
        .await
        .with_context(|| {
            format!(
                "{} {args:?} did not finish within {COMMAND_LIMIT:?}",
                binary.display()
            )
        })?
        .with_context(|| format!("running {}", binary.display()))
}

/// Like [`run`], but a failure is an error carrying stderr.
async fn run_ok(binary: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = run(binary, args).await?;
    ensure!(
        output.status.success(),
        "{} {args:?} failed ({}): {}",
        binary.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn text(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("tempdir path is not UTF-8")
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, contents)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// A tempdir holding, under the [`PREFIXES`] subdirectories, every file the examples name.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn create() -> anyhow::Result<Self> {
        let signer = workspace_binary("vwf-signer")?;
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        ensure!(
            !text(root)?.contains(['"', '\\']),
            "tempdir path {root:?} cannot go into a TOML string as is"
        );
        for sub in PREFIXES.map(|(_, sub)| sub).into_iter().chain(CREDENTIALS) {
            let path = root.join(sub);
            std::fs::create_dir_all(&path)?;
            // Like StateDirectoryMode=0700 and the credentials directory.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        }
        let at = |sub: &str, name: &str| root.join(sub).join(name);

        // Certificates: the signer's server pair and the monitor's client pair, one CA.
        let certs = root.join("certs");
        run_ok(
            &signer,
            &["certs", "init", "--dir", text(&certs)?, "--client", MONITOR],
        )
        .await?;
        let client = vwf_signer::pki::sanitize_name(MONITOR);
        std::fs::copy(certs.join("ca.pem"), at("signer-etc", "ca.pem"))?;
        std::fs::copy(certs.join("server.pem"), at("signer-etc", "server.pem"))?;
        std::fs::copy(certs.join("ca.pem"), at("monitor-etc", "ca.pem"))?;
        std::fs::copy(
            certs.join(format!("client-{client}.pem")),
            at("monitor-etc", "client.pem"),
        )?;
        // Secrets arrive as systemd credentials: private files.
        write_private(
            &at("signer-credentials", "tls-key"),
            &std::fs::read(certs.join("server.key"))?,
        )?;
        write_private(
            &at("monitor-credentials", "signer-client-key"),
            &std::fs::read(certs.join(format!("client-{client}.key")))?,
        )?;

        // The active key, sealed with a passphrase at the cheapest work factor.
        let passphrase = at("signer-credentials", "passphrase");
        write_private(&passphrase, format!("{PASSPHRASE}\n").as_bytes())?;
        let wif = root.join("active.wif");
        write_private(&wif, TEST_WIFS[0].as_bytes())?;
        run_ok(
            &signer,
            &[
                "key",
                "import",
                "--profile",
                "VIT",
                "--out",
                text(&at("signer-credentials", "active.age"))?,
                "--passphrase-file",
                text(&passphrase)?,
                "--wif-file",
                text(&wif)?,
                "--scrypt-work-factor",
                "2",
            ],
        )
        .await?;
        std::fs::remove_file(&wif)?;
        // check-config checks the identity file's presence and mode; it decrypts nothing.
        write_private(
            &at("signer-credentials", "age-identity"),
            b"# stand-in for an AGE-SECRET-KEY-1... line\n",
        )?;

        // The monitor's alert secrets: one line each.
        write_private(
            &at("monitor-credentials", "smtp-password"),
            b"example smtp password\n",
        )?;
        write_private(
            &at("monitor-credentials", "webhook-url"),
            b"https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX\n",
        )?;
        write_private(
            &at("monitor-credentials", "telegram-token"),
            b"123456:example-telegram-token\n",
        )?;
        Ok(Fixture { dir })
    }

    /// `text` with every [`PREFIXES`] path moved into the tempdir. Fails if a line that is not
    /// a comment still names an absolute path outside it.
    fn rewrite(&self, name: &str, text: &str) -> anyhow::Result<String> {
        let root = self.dir.path().display().to_string();
        let mut out = text.to_owned();
        for (prefix, sub) in PREFIXES {
            out = out.replace(prefix, &format!("{root}/{sub}"));
        }
        for (number, line) in out.lines().enumerate() {
            let code = line.split('#').next().unwrap_or_default();
            for (i, _) in code.match_indices("\"/") {
                ensure!(
                    code[i + 1..].starts_with(&root),
                    "deploy/{name}:{}: {line:?} names a path the test does not provide; \
                     use one under {:?} or extend PREFIXES",
                    number + 1,
                    PREFIXES.map(|(prefix, _)| prefix)
                );
            }
        }
        Ok(out)
    }

    /// Writes `contents` (already rewritten) as `name` and runs `check-config` on it, with
    /// `$CREDENTIALS_DIRECTORY` set to the daemon's credentials subdirectory.
    async fn check_config(
        &self,
        daemon: Daemon,
        name: &str,
        contents: &str,
    ) -> anyhow::Result<Output> {
        let credentials = match daemon {
            Daemon::Signer => CREDENTIALS[0],
            Daemon::Monitor => CREDENTIALS[1],
        };
        self.check_config_in(
            daemon,
            name,
            contents,
            Some(&self.dir.path().join(credentials)),
        )
        .await
    }

    /// As [`Fixture::check_config`], with `$CREDENTIALS_DIRECTORY` set to `credentials` or unset.
    async fn check_config_in(
        &self,
        daemon: Daemon,
        name: &str,
        contents: &str,
        credentials: Option<&Path>,
    ) -> anyhow::Result<Output> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents)?;
        let mut command = Command::new(daemon.binary()?);
        command
            .args(["check-config", "--config", text(&path)?])
            .env_remove("CREDENTIALS_DIRECTORY")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(dir) = credentials {
            command.env("CREDENTIALS_DIRECTORY", dir);
        }
        tokio::time::timeout(COMMAND_LIMIT, command.output())
            .await
            .context("check-config did not finish in time")?
            .context("running check-config")
    }
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn every_example_passes_check_config() -> anyhow::Result<()> {
    let fixture = Fixture::create().await?;
    let mut failures = Vec::new();
    for (name, text) in examples()? {
        let daemon = Daemon::of(&name)?;
        let rewritten = fixture.rewrite(&name, &text)?;
        let output = fixture.check_config(daemon, &name, &rewritten).await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !(output.status.success() && stdout.contains("OK")) {
            failures.push(format!(
                "{} check-config deploy/{name}: {}",
                daemon.binary_name(),
                describe(&output)
            ));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

#[tokio::test]
async fn the_commented_passphrase_alternative_passes_check_config() -> anyhow::Result<()> {
    let fixture = Fixture::create().await?;
    let name = "signer.example.toml";
    let text = std::fs::read_to_string(deploy_dir().join(name))?;
    let identity_line = "identity_file = \"$CREDENTIALS_DIRECTORY/age-identity\"";
    let passphrase_line = "#passphrase_file = \"$CREDENTIALS_DIRECTORY/passphrase\"";
    ensure!(
        text.lines().any(|l| l == identity_line) && text.lines().any(|l| l == passphrase_line),
        "deploy/{name} no longer has the lines {identity_line:?} and {passphrase_line:?}"
    );
    let swapped = text
        .replace(identity_line, &format!("#{identity_line}"))
        .replace(passphrase_line, &passphrase_line[1..]);
    let output = fixture
        .check_config(Daemon::Signer, name, &fixture.rewrite(name, &swapped)?)
        .await?;
    ensure!(
        output.status.success()
            && String::from_utf8_lossy(&output.stdout).contains("passphrase file"),
        "{}",
        describe(&output)
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_field_is_refused_with_exit_code_2() -> anyhow::Result<()> {
    let fixture = Fixture::create().await?;
    for name in ["signer.example.toml", "monitor-one-backup.example.toml"] {
        let daemon = Daemon::of(name)?;
        let text = std::fs::read_to_string(deploy_dir().join(name))?;
        // At the top, before any table: an unknown root field.
        let broken = format!("surprise_option = true\n{text}");
        let output = fixture
            .check_config(daemon, name, &fixture.rewrite(name, &broken)?)
            .await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(
            output.status.code() == Some(2) && stderr.contains("surprise_option"),
            "{name}: expected exit code 2 and an error naming the field, got {}",
            describe(&output)
        );
        // The signer prints exactly one line, for logs and scripts. (The monitor passes the
        // TOML parser's multi-line message through as it is.)
        if daemon == Daemon::Signer {
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            ensure!(
                lines.len() == 1,
                "{name}: expected a one-line error, got {}",
                describe(&output)
            );
        }
    }
    Ok(())
}

/// `(names loaded by active lines, names mentioned by any line)` of a unit's
/// `LoadCredential=`/`LoadCredentialEncrypted=` lines.
fn unit_credentials(unit: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut active = BTreeSet::new();
    let mut mentioned = BTreeSet::new();
    for line in unit.lines() {
        let commented = line.starts_with('#');
        let line = line.trim_start_matches('#');
        let value = line
            .strip_prefix("LoadCredentialEncrypted=")
            .or_else(|| line.strip_prefix("LoadCredential="));
        if let Some(name) = value.and_then(|v| v.split(':').next()) {
            mentioned.insert(name.to_owned());
            if !commented {
                active.insert(name.to_owned());
            }
        }
    }
    (active, mentioned)
}

/// A unit an example's daemon runs under.
struct UnitFile {
    file: &'static str,
    /// Where its credentials' `.cred` files are: `/etc/<daemon>` plus this.
    etc_suffix: &'static str,
    state_directory: &'static str,
    config: &'static str,
}

fn units_of(daemon: Daemon) -> Vec<UnitFile> {
    match daemon {
        Daemon::Signer => vec![UnitFile {
            file: "vwf-signer.service",
            etc_suffix: "",
            state_directory: "StateDirectory=vwf-signer",
            config: "/etc/vwf-signer/signer.toml",
        }],
        Daemon::Monitor => vec![
            UnitFile {
                file: "vwf-monitor.service",
                etc_suffix: "",
                state_directory: "StateDirectory=vwf-monitor",
                config: "/etc/vwf-monitor/monitor.toml",
            },
            UnitFile {
                file: "vwf-monitor@.service",
                etc_suffix: "/%i",
                state_directory: "StateDirectory=vwf-monitor-%i",
                config: "/etc/vwf-monitor/%i/monitor.toml",
            },
        ],
    }
}

#[test]
fn the_units_load_every_credential_and_directory_the_examples_name() -> anyhow::Result<()> {
    for (name, text) in examples()? {
        let daemon = Daemon::of(&name)?;
        let service = daemon.binary_name();
        for UnitFile {
            file,
            etc_suffix,
            state_directory,
            config,
        } in units_of(daemon)
        {
            let unit = std::fs::read_to_string(deploy_dir().join(file))?;
            let (active, mentioned) = unit_credentials(&unit);
            for line in text.lines() {
                let commented = line.trim_start().starts_with('#');
                for (i, _) in line.match_indices(CREDENTIAL_PREFIX) {
                    let credential: String = line[i + CREDENTIAL_PREFIX.len()..]
                        .chars()
                        .take_while(|c| !matches!(c, '"' | '\'' | ' '))
                        .collect();
                    if credential.is_empty() || credential == "NAME" {
                        // Prose about the directory, not a file in it.
                        continue;
                    }
                    let loaded = if commented { &mentioned } else { &active };
                    ensure!(
                        loaded.contains(&credential),
                        "deploy/{name} reads the credential {credential:?} but {file} has no \
                         {}LoadCredential…={credential}:… line",
                        if commented {
                            "(even commented) "
                        } else {
                            "active "
                        }
                    );
                    let source = format!("/etc/{service}{etc_suffix}/{credential}");
                    ensure!(
                        unit.lines()
                            .any(|l| l.contains(&format!("={credential}:{source}"))),
                        "{file} does not load the credential {credential:?} from {source}[.cred]"
                    );
                }
            }
            let state = format!("/var/lib/{service}\"");
            ensure!(
                text.contains(&state),
                "deploy/{name} does not keep its state in /var/lib/{service}"
            );
            ensure!(
                unit.lines().any(|l| l == state_directory),
                "{file} has no {state_directory}"
            );
            let config = format!("--config {config}");
            ensure!(
                unit.lines()
                    .any(|l| l.starts_with("ExecStart=") && l.ends_with(&config)),
                "{file}'s ExecStart= does not end with {config:?}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_credential_path_outside_a_unit_is_refused_with_the_way_to_run_it() -> anyhow::Result<()>
{
    let fixture = Fixture::create().await?;
    for name in ["signer.example.toml", "monitor-one-backup.example.toml"] {
        let daemon = Daemon::of(name)?;
        let text = std::fs::read_to_string(deploy_dir().join(name))?;
        let output = fixture
            .check_config_in(daemon, name, &fixture.rewrite(name, &text)?, None)
            .await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(
            output.status.code() == Some(2)
                && stderr.contains("CREDENTIALS_DIRECTORY is not set")
                && stderr.contains("vwf-run"),
            "{name}: expected exit code 2 and the vwf-run hint, got {}",
            describe(&output)
        );
    }
    Ok(())
}
