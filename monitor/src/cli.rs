//! The command line: one clap parser, one variant per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// vwf-monitor: watches a witness's missed blocks and asks vwf-signer to fail over.
#[derive(Debug, Parser)]
#[command(name = "vwf-monitor", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the monitor daemon (SIGTERM/SIGINT stop it cleanly).
    Run(ConfigArg),
    /// Check the config file and explain every problem with its field and fix; with --online,
    /// also the link to the signer.
    CheckConfig(CheckConfigArgs),
    /// Print the saved state and each node's current view, then exit.
    Status(ConfigArg),
    /// Send one test alert to every configured sink; report each as OK or failed (exit 1 if any failed).
    TestAlert(ConfigArg),
}

/// `check-config`'s arguments.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The config file.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also connect to the signer: complete the mTLS handshake, call Status and compare its
    /// policy with this config (exit 1 with the cause when any of it fails).
    #[arg(long)]
    pub online: bool,
}

/// The config file argument shared by every subcommand.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file (TOML). Default: $VWF_MONITOR_CONFIG, else /etc/vwf-monitor/monitor.toml.
    #[arg(
        long,
        short = 'c',
        env = "VWF_MONITOR_CONFIG",
        default_value = "/etc/vwf-monitor/monitor.toml"
    )]
    pub config: PathBuf,
}
