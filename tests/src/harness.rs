//! Spawning `vwf-simchain` from tests: the ports line, a config file in a tempdir, and a guard
//! that kills the child on drop.
//!
//! Inside this crate's integration tests the binary is `env!("CARGO_BIN_EXE_vwf-simchain")`;
//! other crates can use [`default_binary_path`] (the binary must have been built, e.g. by
//! `cargo build -p vwf-tests`) or pass their own path.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::client::Control;

/// How long to wait for the ports line.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

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
    child: Child,
    /// What it printed on start.
    pub ports: PortsLine,
    _dir: Option<tempfile::TempDir>,
}

/// `target/<profile>/vwf-simchain`, found from the running test executable.
pub fn default_binary_path() -> anyhow::Result<PathBuf> {
    crate::process::workspace_binary("vwf-simchain")
}

impl SimChain {
    /// Starts `binary` with `args` and waits (bounded) for the ports line. Its stderr is
    /// discarded unless `VWF_SIM_LOG` is set.
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
        let stderr = if std::env::var_os("VWF_SIM_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(STARTUP_TIMEOUT, lines.next_line())
            .await
            .context("no ports line within the startup timeout")??
            .context("simulator exited before printing its ports line")?;
        let ports: PortsLine =
            serde_json::from_str(&line).with_context(|| format!("bad ports line {line:?}"))?;
        Ok(SimChain {
            child,
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

    /// Sends SIGTERM-equivalent termination and waits (bounded) for the exit status.
    pub async fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            // SIGTERM via the `kill` utility keeps this crate free of unsafe/libc.
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .context("simulator did not exit within 10 s of SIGTERM")??;
        Ok(status)
    }
}

impl Drop for SimChain {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
