//! A configured `vwf-monitor run` next to a [`SignerSetup`]: it uses the CA and the monitor's
//! client certificate from the signer's `certs init`, and keeps its state in the same tempdir.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::process::{Daemon, workspace_binary};
use crate::signer::{ACCOUNT, MONITOR, SignerSetup};

/// Files for one monitor.
#[derive(Debug)]
pub struct MonitorSetup {
    /// The config file.
    pub config: PathBuf,
    /// Its state directory.
    pub state_dir: PathBuf,
}

/// How the monitor is set up.
#[derive(Clone, Debug)]
pub struct MonitorOptions {
    /// `(name, signing key)` in failover order.
    pub servers: Vec<(String, String)>,
    /// Blocks missed since take-over that trigger a switch.
    pub missed_blocks: u32,
    /// The simulator's block interval.
    pub block_interval_ms: u64,
    /// Fresh readings that must agree.
    pub quorum: usize,
    /// Ask the signer's DryRun instead of acting.
    pub dry_run: bool,
}

/// Less common monitor settings; the default leaves the monitor's own defaults in place.
#[derive(Clone, Debug, Default)]
pub struct MonitorExtras {
    /// Per server (same order as [`MonitorOptions::servers`]): the URL of its own node, written
    /// as `node = "<url>"` and checked by the monitor before switching to that server.
    pub server_nodes: Vec<Option<String>>,
    /// `[chain] max_head_lag_seconds` (how old a reading's head may be and still count).
    pub max_head_lag_seconds: Option<u64>,
    /// `[chain] node_timeout_ms` (per-node poll timeout).
    pub node_timeout_ms: Option<u64>,
    /// `profile`. Default "VIT".
    pub profile: Option<&'static str>,
}

impl MonitorSetup {
    /// Writes `<name>.toml` and `<name>-state/` into the signer's tempdir.
    pub fn create(
        signer: &SignerSetup,
        name: &str,
        signer_address: &str,
        nodes: &[&str],
        options: &MonitorOptions,
    ) -> anyhow::Result<Self> {
        Self::create_with(
            signer,
            name,
            signer_address,
            nodes,
            options,
            &MonitorExtras::default(),
        )
    }

    /// As [`MonitorSetup::create`], with the settings of `extras` added.
    pub fn create_with(
        signer: &SignerSetup,
        name: &str,
        signer_address: &str,
        nodes: &[&str],
        options: &MonitorOptions,
        extras: &MonitorExtras,
    ) -> anyhow::Result<Self> {
        let dir = signer.dir.path();
        let certs = signer.certs();
        let client = vwf_signer::pki::sanitize_name(MONITOR);
        let state_dir = dir.join(format!("{name}-state"));
        let nodes = nodes
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let servers: String = options
            .servers
            .iter()
            .enumerate()
            .map(|(i, (server, key))| {
                let node = match extras.server_nodes.get(i) {
                    Some(Some(url)) => format!("node = {url:?}\n"),
                    _ => String::new(),
                };
                format!("\n[[server]]\nname = {server:?}\nsigning_key = {key:?}\n{node}")
            })
            .collect();
        let mut chain_extra = String::new();
        if let Some(lag) = extras.max_head_lag_seconds {
            chain_extra.push_str(&format!("max_head_lag_seconds = {lag}\n"));
        }
        if let Some(timeout) = extras.node_timeout_ms {
            chain_extra.push_str(&format!("node_timeout_ms = {timeout}\n"));
        }
        let config = format!(
            r#"account = "{ACCOUNT}"
profile = "{profile}"
dry_run = {dry_run}
state_dir = {state:?}
metrics_listen = "127.0.0.1:0"
block_interval_ms = {interval}

[chain]
nodes = [{nodes}]
quorum = {quorum}
{chain_extra}
[thresholds]
missed_blocks = {missed}

[signer]
endpoint = "https://{signer_address}"
server_name = "localhost"
ca = {ca:?}
client_cert = {cert:?}
client_key = {key:?}
timeout_seconds = 30
retry_initial_seconds = 1
retry_max_seconds = 2
{servers}"#,
            dry_run = options.dry_run,
            profile = extras.profile.unwrap_or("VIT"),
            state = path_text(&state_dir)?,
            interval = options.block_interval_ms,
            quorum = options.quorum,
            missed = options.missed_blocks,
            ca = path_text(&certs.join("ca.pem"))?,
            cert = path_text(&certs.join(format!("client-{client}.pem")))?,
            key = path_text(&certs.join(format!("client-{client}.key")))?,
        );
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, config)?;
        Ok(MonitorSetup {
            config: path,
            state_dir,
        })
    }

    /// Starts `vwf-monitor run` with `envs` and waits for its `{"metrics": …}` line.
    pub async fn start(&self, envs: &[(&str, &str)]) -> anyhow::Result<Daemon> {
        self.start_logged(envs, None).await
    }

    /// As [`MonitorSetup::start`], with the monitor's log written to `log` when given.
    pub async fn start_logged(
        &self,
        envs: &[(&str, &str)],
        log: Option<&Path>,
    ) -> anyhow::Result<Daemon> {
        let monitor = workspace_binary("vwf-monitor")?;
        let config = path_text(&self.config)?;
        Daemon::spawn_logged(&monitor, &["run", "--config", &config], envs, log).await
    }

    /// The saved state file.
    pub fn state(&self) -> anyhow::Result<Value> {
        let text = std::fs::read_to_string(self.state_dir.join("state.json"))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn path_text(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .context("tempdir path is not UTF-8")
}
