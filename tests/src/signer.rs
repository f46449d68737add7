//! A ready-to-run `vwf-signer serve`: a private CA and certificates (`certs init`), the test
//! active key sealed in an age file (`key import`), a config with a policy, and gRPC clients
//! that present a chosen client certificate. Everything lives in one tempdir.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use vwf_proto::v1::signer_client::SignerClient;

use crate::process::{Daemon, workspace_binary};
use crate::tx::{TEST_WIFS, test_public_key};
use vwf_shared::PrivateKey;

/// The monitor's client identity in every test policy.
pub const MONITOR: &str = "spiffe://vwf/monitor";

/// A client with a valid certificate from the same CA that no policy names.
pub const INTRUDER: &str = "spiffe://vwf/intruder";

/// The witness account of the simulator's default config.
pub const ACCOUNT: &str = "vit-test-witness";

/// A `SetSigningKey` request for `account` (the null key when `target` is
/// [`crate::tx::NULL_KEY`]), with a fixed reason.
pub fn key_request(
    id: &str,
    account: &str,
    target: &str,
    expected: &str,
) -> vwf_proto::v1::SetSigningKeyRequest {
    use vwf_proto::v1 as pb;
    use vwf_proto::v1::signing_key_target::Target;
    let target = if target == crate::tx::NULL_KEY {
        Target::NullKey(pb::NullKey {})
    } else {
        Target::PublicKey(target.to_owned())
    };
    pb::SetSigningKeyRequest {
        request_id: id.to_owned(),
        account: account.to_owned(),
        target: Some(pb::SigningKeyTarget {
            target: Some(target),
        }),
        expected_current_key: expected.to_owned(),
        reason: "end-to-end test".into(),
    }
}

/// The default policy: backup = test key 2, null key allowed, no re-enable, `flap_changes`
/// changes per hour, the monitor may switch, disable, dry-run and read status.
pub fn default_policy(flap_changes: u32) -> anyhow::Result<String> {
    let backup = test_public_key(2)?.to_string_with_prefix("VIT");
    Ok(format!(
        r#"
[[account]]
name = "{ACCOUNT}"
allow_null_key = true
allow_reenable = false
flap_limit = {{ changes = {flap_changes}, window_seconds = 3600 }}

[[account.target]]
name = "backup"
key = "{backup}"

[[account.client]]
identity = "{MONITOR}"
may = ["switch", "disable", "dry-run", "status"]
"#
    ))
}

/// How a [`SignerSetup`] differs from the default one ([`SignerSetup::create`] uses
/// `SignerOptions::default()`).
#[derive(Clone)]
pub struct SignerOptions {
    /// The WIF sealed as the active key. Default: test key 0, the simulator's default active key.
    pub wif: String,
    /// Client identities to issue certificates for, besides [`MONITOR`] and [`INTRUDER`] (a
    /// policy must still name them to allow anything).
    pub extra_clients: Vec<String>,
    /// `[listen] max_request_bytes`. Default 16384 (the signer's default).
    pub max_request_bytes: usize,
    /// `[listen] rate_requests`. Default 20.
    pub rate_requests: u32,
    /// `[listen] rate_window_seconds`. Default 60.
    pub rate_window_seconds: u64,
    /// `[chain] expiration_seconds`. Default 30.
    pub expiration_seconds: u32,
    /// `[chain] profile` (and `key import --profile`). Default "VIT".
    pub profile: &'static str,
    /// Signing-key mode: the servers' signing keys sealed into the age file instead of `wif`
    /// (one `--wif-file` each). Default: none (`wif` alone is sealed).
    pub signing_wifs: Vec<String>,
}

impl Default for SignerOptions {
    fn default() -> Self {
        SignerOptions {
            wif: TEST_WIFS[0].to_owned(),
            extra_clients: Vec::new(),
            max_request_bytes: 16 * 1024,
            rate_requests: 20,
            rate_window_seconds: 60,
            expiration_seconds: 30,
            profile: "VIT",
            signing_wifs: Vec::new(),
        }
    }
}

/// Never prints the WIF (the leak check must not leak it through a failing assertion).
impl std::fmt::Debug for SignerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerOptions")
            .field("wif", &"[REDACTED]")
            .field("extra_clients", &self.extra_clients)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("rate_requests", &self.rate_requests)
            .field("rate_window_seconds", &self.rate_window_seconds)
            .field("expiration_seconds", &self.expiration_seconds)
            .field("profile", &self.profile)
            .field("signing_wifs", &"[REDACTED]")
            .finish()
    }
}

/// An age file sealed by `vwf-signer key import` in a directory of its own, as a key kept off
/// the signer host (`witness … --active-key`); the WIF files are removed once sealed.
#[derive(Debug)]
pub struct SealedApart {
    /// Holds the age file and its passphrase file; removed on drop.
    pub dir: tempfile::TempDir,
    /// The age file.
    pub age: String,
    /// The passphrase file that opens it.
    pub passphrase: String,
}

/// Seals `wifs` (one `--wif-file` each) for `profile` into `name` in a new tempdir, with a
/// passphrase file beside it; fails with stderr if `key import` does.
pub fn seal_apart(profile: &str, name: &str, wifs: &[&str]) -> anyhow::Result<SealedApart> {
    let dir = tempfile::tempdir()?;
    let text = |p: PathBuf| {
        p.to_str()
            .map(str::to_owned)
            .context("tempdir is not UTF-8")
    };
    let age = text(dir.path().join(name))?;
    let passphrase = text(dir.path().join("passphrase"))?;
    write_private(Path::new(&passphrase), "kept apart\n")?;
    let mut wif_files = Vec::new();
    for (i, wif) in wifs.iter().enumerate() {
        let file = dir.path().join(format!("key-{i}.wif"));
        write_private(&file, wif)?;
        wif_files.push(text(file)?);
    }
    let mut args = vec![
        "key",
        "import",
        "--profile",
        profile,
        "--out",
        &age,
        "--passphrase-file",
        &passphrase,
        "--scrypt-work-factor",
        "2",
    ];
    for file in &wif_files {
        args.extend(["--wif-file", file.as_str()]);
    }
    run(&workspace_binary("vwf-signer")?, &args)?;
    for file in &wif_files {
        std::fs::remove_file(file)?;
    }
    Ok(SealedApart {
        dir,
        age,
        passphrase,
    })
}

/// Files for one signer: certificates, the sealed key, the config.
#[derive(Debug)]
pub struct SignerSetup {
    /// Holds every file; removed on drop.
    pub dir: tempfile::TempDir,
    /// The config file.
    pub config: PathBuf,
    /// Everything `certs init` and `key import` printed (stdout and stderr), for leak checks.
    pub setup_output: String,
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Runs `binary` to completion; returns (stdout, stdout + stderr), failing on a non-zero exit.
fn run(binary: &Path, args: &[&str]) -> anyhow::Result<(String, String)> {
    let output = Command::new(binary).args(args).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        bail!("{} {args:?} failed: {stderr}", binary.display());
    }
    let both = format!("{stdout}{stderr}");
    Ok((stdout, both))
}

impl SignerSetup {
    /// Creates certificates for [`MONITOR`] and [`INTRUDER`], seals test key 0 (the
    /// simulator's active key) with a passphrase, and writes a config for `nodes` with the
    /// given `[[account]]` policy text.
    pub fn create(nodes: &[&str], policy: &str) -> anyhow::Result<Self> {
        Self::create_with(nodes, policy, &SignerOptions::default())
    }

    /// As [`SignerSetup::create`], with the key, extra client certificates, limits and
    /// transaction lifetime from `options`.
    pub fn create_with(
        nodes: &[&str],
        policy: &str,
        options: &SignerOptions,
    ) -> anyhow::Result<Self> {
        let signer = workspace_binary("vwf-signer")?;
        let dir = tempfile::tempdir()?;
        let path = |name: &str| dir.path().join(name);
        let text = |p: PathBuf| {
            p.to_str()
                .map(str::to_owned)
                .context("tempdir is not UTF-8")
        };
        let certs = text(path("certs"))?;
        let mut certs_args = vec![
            "certs", "init", "--dir", &certs, "--client", MONITOR, "--client", INTRUDER,
        ];
        for client in &options.extra_clients {
            certs_args.extend(["--client", client.as_str()]);
        }
        let (_, mut setup_output) = run(&signer, &certs_args)?;
        let wifs: Vec<&str> = if options.signing_wifs.is_empty() {
            vec![options.wif.as_str()]
        } else {
            options.signing_wifs.iter().map(String::as_str).collect()
        };
        let mut wif_files = Vec::new();
        for (i, wif) in wifs.iter().enumerate() {
            let file = path(&format!("key-{i}.wif"));
            write_private(&file, wif)?;
            wif_files.push(text(file)?);
        }
        write_private(&path("passphrase"), "correct horse battery staple\n")?;
        let (age, pass) = (text(path("active.age"))?, text(path("passphrase"))?);
        let mut import = vec![
            "key",
            "import",
            "--profile",
            options.profile,
            "--out",
            &age,
            "--passphrase-file",
            &pass,
            "--scrypt-work-factor",
            "2",
        ];
        for file in &wif_files {
            import.extend(["--wif-file", file.as_str()]);
        }
        let (printed, import_output) = run(&signer, &import)?;
        setup_output.push_str(&import_output);
        let prefix = vwf_shared::ChainProfile::builtin(options.profile.parse()?).address_prefix;
        for wif in &wifs {
            let expected = PrivateKey::from_wif(wif)?
                .public_key()
                .to_string_with_prefix(&prefix);
            if !printed.contains(&expected) {
                bail!("key import printed {printed:?}, expected {expected}");
            }
        }
        for file in &wif_files {
            std::fs::remove_file(file)?;
        }
        let state = path("state");
        std::fs::create_dir(&state)?;
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700))?;
        let nodes = nodes
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let config = format!(
            r#"
[listen]
address = "127.0.0.1:0"
max_request_bytes = {max_request_bytes}
rate_requests = {rate_requests}
rate_window_seconds = {rate_window_seconds}

[tls]
client_ca = "{certs}/ca.pem"
cert = "{certs}/server.pem"
key = "{certs}/server.key"

[chain]
profile = "{profile}"
nodes = [{nodes}]
tapos = "head"
expiration_seconds = {expiration_seconds}
preflight = true

[key]
age_file = "{age}"
passphrase_file = "{pass}"

[state]
dir = "{state}"
{policy}"#,
            state = state.display(),
            max_request_bytes = options.max_request_bytes,
            rate_requests = options.rate_requests,
            rate_window_seconds = options.rate_window_seconds,
            expiration_seconds = options.expiration_seconds,
            profile = options.profile,
        );
        let config_path = path("signer.toml");
        std::fs::write(&config_path, config)?;
        Ok(SignerSetup {
            dir,
            config: config_path,
            setup_output,
        })
    }

    /// Starts `vwf-signer serve` and waits for its `{"listening": …}` line.
    pub async fn start(&self) -> anyhow::Result<Daemon> {
        self.start_logged(&[], None).await
    }

    /// As [`SignerSetup::start`], with `envs` (e.g. `RUST_LOG`) and stderr written to `log`
    /// when given.
    pub async fn start_logged(
        &self,
        envs: &[(&str, &str)],
        log: Option<&Path>,
    ) -> anyhow::Result<Daemon> {
        let signer = workspace_binary("vwf-signer")?;
        let config = self.config.to_str().context("config path is not UTF-8")?;
        Daemon::spawn_logged(&signer, &["serve", "--config", config], envs, log).await
    }

    /// Rewrites the config to listen on `address` (as first printed by a start on port 0), so
    /// that a restart serves where monitors already point.
    pub fn pin_address(&self, address: &str) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(&self.config)?;
        let pinned = text.replacen(
            "address = \"127.0.0.1:0\"",
            &format!("address = {address:?}"),
            1,
        );
        if pinned == text {
            bail!("the config does not listen on 127.0.0.1:0");
        }
        std::fs::write(&self.config, pinned)?;
        Ok(())
    }

    /// Adds `lines` (e.g. `quorum = 2`) to the config's `[chain]` section.
    pub fn add_chain_settings(&self, lines: &str) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(&self.config)?;
        let changed = text.replacen(
            "preflight = true\n",
            &format!("preflight = true\n{lines}\n"),
            1,
        );
        if changed == text {
            bail!("the config has no [chain] preflight line to add after");
        }
        std::fs::write(&self.config, changed)?;
        Ok(())
    }

    /// Runs `vwf-signer serve` expecting it to refuse to start (bounded: 30 s); returns its
    /// exit code and stderr.
    pub fn serve_refuses(&self) -> anyhow::Result<(Option<i32>, String)> {
        let signer = workspace_binary("vwf-signer")?;
        let config = self.config.to_str().context("config path is not UTF-8")?;
        let mut child = Command::new(&signer)
            .args(["serve", "--config", config])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait()?.is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let output = child.wait_with_output()?;
                bail!(
                    "serve did not exit within 30 s: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let output = child.wait_with_output()?;
        Ok((
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }

    /// The path of a file in the signer's state directory (`audit.jsonl`, `requests.json`).
    pub fn state_file(&self, name: &str) -> PathBuf {
        self.dir.path().join("state").join(name)
    }

    /// The certificates directory.
    pub fn certs(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    /// A gRPC client at `address` presenting `identity`'s certificate from `certs init`.
    pub async fn client(
        &self,
        address: &str,
        identity: &str,
    ) -> anyhow::Result<SignerClient<Channel>> {
        let name = vwf_signer::pki::sanitize_name(identity);
        let cert = std::fs::read_to_string(self.certs().join(format!("client-{name}.pem")))?;
        let key = std::fs::read_to_string(self.certs().join(format!("client-{name}.key")))?;
        self.client_with(address, Some((cert, key))).await
    }

    /// A gRPC client presenting `cert_and_key` (PEM), or no certificate at all.
    pub async fn client_with(
        &self,
        address: &str,
        cert_and_key: Option<(String, String)>,
    ) -> anyhow::Result<SignerClient<Channel>> {
        Ok(SignerClient::new(self.channel_with(address, cert_and_key)?))
    }

    /// A raw (lazily connecting) mTLS channel at `address` presenting `identity`'s certificate,
    /// for hand-made gRPC calls (`tonic::client::Grpc` with a custom codec).
    pub fn channel(&self, address: &str, identity: &str) -> anyhow::Result<Channel> {
        let name = vwf_signer::pki::sanitize_name(identity);
        let cert = std::fs::read_to_string(self.certs().join(format!("client-{name}.pem")))?;
        let key = std::fs::read_to_string(self.certs().join(format!("client-{name}.key")))?;
        self.channel_with(address, Some((cert, key)))
    }

    /// A raw channel presenting `cert_and_key` (PEM), or no certificate at all.
    pub fn channel_with(
        &self,
        address: &str,
        cert_and_key: Option<(String, String)>,
    ) -> anyhow::Result<Channel> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca = std::fs::read_to_string(self.certs().join("ca.pem"))?;
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(ca))
            .domain_name("localhost");
        if let Some((cert, key)) = cert_and_key {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        let channel = Endpoint::from_shared(format!("https://{address}"))?
            .tls_config(tls)?
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(60))
            .connect_lazy();
        Ok(channel)
    }

    /// Waits (bounded by `limit`) until the audit log holds `count` `set-signing-key` entries
    /// with this `decision` (the signer writes `applied` once a quorum shows the block, after
    /// the chain applied it); returns them.
    pub async fn wait_audited(
        &self,
        decision: &str,
        count: usize,
        limit: std::time::Duration,
    ) -> anyhow::Result<Vec<Value>> {
        let what = format!("{count} {decision} lines in the audit log");
        crate::wait::wait_for(
            &what,
            limit,
            std::time::Duration::from_millis(50),
            || async { Ok(self.audited(decision)?.len() >= count) },
        )
        .await?;
        self.audited(decision)
    }

    /// The audit log's `set-signing-key` entries with this `decision`.
    pub fn audited(&self, decision: &str) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .audit()?
            .into_iter()
            .filter(|e| e["call"] == "set-signing-key" && e["decision"] == decision)
            .collect())
    }

    /// The audit log's entries.
    pub fn audit(&self) -> anyhow::Result<Vec<Value>> {
        let text = std::fs::read_to_string(self.state_file("audit.jsonl"))?;
        text.lines()
            .map(|line| serde_json::from_str(line).map_err(Into::into))
            .collect()
    }
}

/// Checks that the `applied` audit lines are exactly one `witness_set_properties` per key in
/// `replaced`, in order, each signed by the key it replaced (named by the policy), sending no
/// url or props.
pub fn check_signed_by_replaced_keys(applied: &[Value], replaced: &[&str]) -> anyhow::Result<()> {
    anyhow::ensure!(applied.len() == replaced.len(), "{applied:?}");
    for (line, signer_key) in applied.iter().zip(replaced) {
        let operation = line["operation"].as_str().unwrap_or_default();
        anyhow::ensure!(
            operation.starts_with("witness_set_properties")
                && operation.contains(&format!("{signer_key} (")),
            "{line}"
        );
        anyhow::ensure!(
            line.get("url").is_none() && line.get("props").is_none(),
            "{line}"
        );
    }
    Ok(())
}
