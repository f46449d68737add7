//! The command tree. Each leaf is an `Args` struct in [`crate::commands`] with a `run` method.

use clap::{Parser, Subcommand};

use crate::commands::{key::KeyCommand, tx::TxCommand};
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
    /// Offline transaction tools: inspect and sign legacy-JSON transactions.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Key tools.
    #[command(subcommand)]
    Key(KeyCommand),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> Result<(), Error> {
        match self.command {
            Command::Tx(command) => command.run(),
            Command::Key(command) => command.run(),
        }
    }
}
