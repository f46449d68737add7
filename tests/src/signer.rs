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

/// The monitor's client identity in every test policy.
pub const MONITOR: &str = "spiffe://vwf/monitor";

/// A client with a valid certificate from the same CA that no policy names.
pub const INTRUDER: &str = "spiffe://vwf/intruder";

/// The witness account of the simulator's default config.
pub const ACCOUNT: &str = "vit-test-witness";

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

/// Files for one signer: certificates, the sealed key, the config.
#[derive(Debug)]
pub struct SignerSetup {
    /// Holds every file; removed on drop.
    pub dir: tempfile::TempDir,
    /// The config file.
    pub config: PathBuf,
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

fn run(binary: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(binary).args(args).output()?;
    if !output.status.success() {
        bail!(
            "{} {args:?} failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl SignerSetup {
    /// Creates certificates for [`MONITOR`] and [`INTRUDER`], seals test key 0 (the
    /// simulator's active key) with a passphrase, and writes a config for `nodes` with the
    /// given `[[account]]` policy text.
    pub fn create(nodes: &[&str], policy: &str) -> anyhow::Result<Self> {
        let signer = workspace_binary("vwf-signer")?;
        let dir = tempfile::tempdir()?;
        let path = |name: &str| dir.path().join(name);
        let text = |p: PathBuf| {
            p.to_str()
                .map(str::to_owned)
                .context("tempdir is not UTF-8")
        };
        let certs = text(path("certs"))?;
        run(
            &signer,
            &[
                "certs", "init", "--dir", &certs, "--client", MONITOR, "--client", INTRUDER,
            ],
        )?;
        write_private(&path("active.wif"), TEST_WIFS[0])?;
        write_private(&path("passphrase"), "correct horse battery staple\n")?;
        let (age, wif, pass) = (
            text(path("active.age"))?,
            text(path("active.wif"))?,
            text(path("passphrase"))?,
        );
        let printed = run(
            &signer,
            &[
                "key",
                "import",
                "--profile",
                "VIT",
                "--out",
                &age,
                "--passphrase-file",
                &pass,
                "--wif-file",
                &wif,
                "--scrypt-work-factor",
                "2",
            ],
        )?;
        let expected = test_public_key(0)?.to_string_with_prefix("VIT");
        if !printed.contains(&expected) {
            bail!("key import printed {printed:?}, expected {expected}");
        }
        std::fs::remove_file(path("active.wif"))?;
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
rate_requests = 20
rate_window_seconds = 60

[tls]
client_ca = "{certs}/ca.pem"
cert = "{certs}/server.pem"
key = "{certs}/server.key"

[chain]
profile = "VIT"
nodes = [{nodes}]
tapos = "head"
expiration_seconds = 30
preflight = true

[key]
age_file = "{age}"
passphrase_file = "{pass}"

[state]
dir = "{state}"
{policy}"#,
            state = state.display()
        );
        let config_path = path("signer.toml");
        std::fs::write(&config_path, config)?;
        Ok(SignerSetup {
            dir,
            config: config_path,
        })
    }

    /// Starts `vwf-signer serve` and waits for its `{"listening": …}` line.
    pub async fn start(&self) -> anyhow::Result<Daemon> {
        let signer = workspace_binary("vwf-signer")?;
        let config = self.config.to_str().context("config path is not UTF-8")?;
        Daemon::spawn(&signer, &["serve", "--config", config], &[]).await
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
        Ok(SignerClient::new(channel))
    }

    /// The audit log's entries.
    pub fn audit(&self) -> anyhow::Result<Vec<Value>> {
        let text = std::fs::read_to_string(self.dir.path().join("state/audit.jsonl"))?;
        text.lines()
            .map(|line| serde_json::from_str(line).map_err(Into::into))
            .collect()
    }
}
