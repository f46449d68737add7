//! The command tree. Each leaf is an `Args` struct in [`crate::commands`] with a `run` method.

use clap::{Parser, Subcommand};

use crate::commands::check_config::CheckConfigArgs;
use crate::commands::dry_run::DryRunArgs;
use crate::commands::serve::ServeArgs;
use crate::commands::{
    certs::CertsCommand, key::KeyCommand, tx::TxCommand, witness::WitnessCommand,
};
use crate::error::Error;

/// vwf-signer: builds, signs and broadcasts witness_update for vit-witness-failover.
#[derive(Debug, Parser)]
#[command(name = "vwf-signer", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the signing daemon: gRPC over mutual TLS, policy-checked witness_update only.
    Serve(ServeArgs),
    /// Audit a request against the policy and the chain without broadcasting.
    DryRun(DryRunArgs),
    /// Check the daemon's configuration file and the files it names.
    CheckConfig(CheckConfigArgs),
    /// Offline transaction tools: inspect and sign legacy-JSON transactions.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Key tools: print a public key, import a WIF into an age file.
    #[command(subcommand)]
    Key(KeyCommand),
    /// mTLS certificates: a private CA, the signer's server cert and monitor client certs.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// The operator's view and changes: `show`, `enable --signing-key KEY`, `disable`.
    #[command(subcommand)]
    Witness(WitnessCommand),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> Result<(), Error> {
        match self.command {
            Command::Serve(args) => args.run(),
            Command::DryRun(args) => args.run(),
            Command::CheckConfig(args) => args.run(),
            Command::Tx(command) => command.run(),
            Command::Key(command) => command.run(),
            Command::Certs(command) => command.run(),
            Command::Witness(command) => command.run(),
        }
    }
}
