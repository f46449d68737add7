//! `vwf-signer key …`: key tools.

pub mod generate;
pub mod import;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{ProfileArg, print_line};
use crate::error::Error;
use crate::input::read_wif_file;

/// Key subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the public key of a WIF private key file.
    Pub(PubArgs),
    /// Validate a WIF and seal it into an age file (passphrase or recipients) for `serve`.
    Import(import::ImportArgs),
    /// Generate a new key pair (e.g. a backup server's signing key): the WIF to a 0600 file or
    /// an age file, the public key to stdout.
    Generate(generate::GenerateArgs),
}

impl KeyCommand {
    /// Runs the chosen key subcommand.
    pub fn run(self) -> Result<(), Error> {
        match self {
            KeyCommand::Pub(args) => args.run(),
            KeyCommand::Import(args) => args.run(),
            KeyCommand::Generate(args) => args.run(),
        }
    }
}

/// Arguments of `key pub`.
#[derive(Debug, Args)]
pub struct PubArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// File holding the WIF private key; must not be accessible by group or others.
    #[arg(long, value_name = "FILE")]
    wif_file: PathBuf,
}

impl PubArgs {
    fn run(self) -> Result<(), Error> {
        let key = read_wif_file(&self.wif_file)?;
        let profile = self.profile.profile();
        print_line(
            &key.public_key()
                .to_string_with_prefix(&profile.address_prefix),
        )
    }
}
