//! Spawning `vwf-simchain` from tests: the ports line, a config file in a tempdir, and a guard
//! that kills the child on drop.
//!
//! Inside this crate's integration tests the binary is `env!("CARGO_BIN_EXE_vwf-simchain")`;
//! other crates can use [`default_binary_path`] (the binary must have been built, e.g. by
//! `cargo build -p vwf-tests`) or pass their own path.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::client::Control;
use crate::process::Daemon;

/// The JSON line the simulator prints on start.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PortsLine {
    /// JSON-RPC base URLs, one per node.
    pub nodes: Vec<String>,
    /// Control API base URL.
    pub control: String,
    /// The chain id (hex).
    pub chain_id: String,
    /// `VIT`, `STEEM` or `HIVE`.
    pub profile: String,
}

/// A running simulator; killed when dropped.
#[derive(Debug)]
pub struct SimChain {
    daemon: Daemon,
    /// What it printed on start.
    pub ports: PortsLine,
    _dir: Option<tempfile::TempDir>,
}

/// `target/<profile>/vwf-simchain`, found from the running test executable.
pub fn default_binary_path() -> anyhow::Result<PathBuf> {
    crate::process::workspace_binary("vwf-simchain")
}

impl SimChain {
    /// Waits (bounded by `limit`) until the signing keys the chain's applied updates set are
    /// exactly `expected`, in order.
    pub async fn wait_applied_keys(
        &self,
        what: &str,
        expected: &[&str],
        limit: std::time::Duration,
    ) -> anyhow::Result<()> {
        crate::wait::wait_for(
            what,
            limit,
            std::time::Duration::from_millis(50),
            || async move { Ok(self.control().applied_keys().await? == expected) },
        )
        .await
    }

    /// Starts `binary` with `args` and waits (bounded) for the ports line. Its stderr is
    /// discarded unless `VWF_TEST_LOG` is set.
    pub async fn spawn(binary: impl AsRef<Path>, args: &[&str]) -> anyhow::Result<Self> {
        Self::spawn_inner(binary.as_ref(), args, None).await
    }

    /// Writes `config_toml` to a temporary file and starts the simulator with
    /// `--config <file>` plus `args`.
    pub async fn spawn_with_config(
        binary: impl AsRef<Path>,
        config_toml: &str,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("simchain.toml");
        std::fs::write(&path, config_toml)?;
        let path_text = path
            .to_str()
            .context("tempdir path is not UTF-8")?
            .to_owned();
        let mut all = vec!["--config", path_text.as_str()];
        all.extend_from_slice(args);
        Self::spawn_inner(binary.as_ref(), &all, Some(dir)).await
    }

    async fn spawn_inner(
        binary: &Path,
        args: &[&str],
        dir: Option<tempfile::TempDir>,
    ) -> anyhow::Result<Self> {
        let daemon = Daemon::spawn(binary, args, &[]).await?;
        let ports: PortsLine = serde_json::from_value(daemon.first_line.clone())
            .with_context(|| format!("bad ports line {}", daemon.first_line))?;
        Ok(SimChain {
            daemon,
            ports,
            _dir: dir,
        })
    }

    /// JSON-RPC URL of node `index` (node 0 when out of range).
    pub fn node(&self, index: usize) -> &str {
        self.ports
            .nodes
            .get(index)
            .or_else(|| self.ports.nodes.first())
            .map_or("", String::as_str)
    }

    /// A control API client.
    pub fn control(&self) -> Control {
        Control::new(&self.ports.control)
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub async fn stop(self) -> anyhow::Result<std::process::ExitStatus> {
        self.daemon.stop().await
    }
}
