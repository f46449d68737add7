//! Workspace binaries as child processes: found next to the test executable, started with a
//! bounded wait for their first stdout line (a JSON object saying where they listen), killed
//! when dropped.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// How long a daemon may take to print its first line.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// `target/<profile>/<name>`, found from the running executable: a test
/// (`target/<profile>/deps/<test>`) or a binary such as the demo (`target/<profile>/<bin>`).
/// `cargo test --workspace` builds every binary first.
pub fn workspace_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("executable has no directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().context("deps has no parent")?;
    }
    let path = dir.join(name);
    if !path.exists() {
        bail!(
            "{} not found; build the workspace first (cargo build --workspace)",
            path.display()
        );
    }
    Ok(path)
}

/// A running daemon; killed when dropped.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Its first stdout line, parsed.
    pub first_line: Value,
    /// The rest of its stdout.
    pub stdout: Lines<BufReader<ChildStdout>>,
}

impl Daemon {
    /// Starts `binary` with `args` and `envs`, and waits (bounded) for a JSON first line.
    /// stderr goes to the test's stderr when `VWF_TEST_LOG` is set, else nowhere.
    pub async fn spawn(
        binary: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::spawn_logged(binary, args, envs, None).await
    }

    /// As [`Daemon::spawn`], with stderr written to `log` when given.
    pub async fn spawn_logged(
        binary: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        log: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path)?),
            None if std::env::var_os("VWF_TEST_LOG").is_some() => Stdio::inherit(),
            None => Stdio::null(),
        };
        let mut child = Command::new(binary)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = match tokio::time::timeout(STARTUP_TIMEOUT, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                let status = child.wait().await?;
                bail!(
                    "{} exited ({status}) before its first line",
                    binary.display()
                );
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => bail!(
                "{} printed nothing within {STARTUP_TIMEOUT:?}",
                binary.display()
            ),
        };
        let first_line =
            serde_json::from_str(&line).with_context(|| format!("bad first line {line:?}"))?;
        Ok(Daemon {
            child,
            first_line,
            stdout: lines,
        })
    }

    /// The first line's string field `key`.
    pub fn field(&self, key: &str) -> anyhow::Result<String> {
        self.first_line[key]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("first line has no {key:?}: {}", self.first_line))
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Peak resident set size so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub async fn stop(mut self) -> anyhow::Result<ExitStatus> {
        if let Some(pid) = self.child.id() {
            // The `kill` utility keeps this crate free of unsafe/libc.
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .context("daemon did not exit within 10 s of SIGTERM")?
            .map_err(Into::into)
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await.map_err(Into::into)
    }

    /// Waits (bounded) for the process to exit by itself.
    pub async fn wait(mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .context("daemon did not exit in time")?
            .map_err(Into::into)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
