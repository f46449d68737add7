//! `vwf-signer tx …`: offline inspection and signing of legacy-JSON transactions.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;
use vwf_shared::{ChainProfile, SignedTransaction};

use super::{ProfileArg, print_line};
use crate::error::Error;
use crate::input::{read_transaction, read_wif_file};

/// Transaction subcommands.
#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// Print a transaction's bytes, digest, id and what each signature recovers to, as JSON.
    Inspect(InspectArgs),
    /// Sign a transaction (deterministic RFC 6979 scheme) and print the signed legacy JSON.
    Sign(SignArgs),
}

impl TxCommand {
    /// Runs the chosen tx subcommand.
    pub fn run(self) -> Result<(), Error> {
        match self {
            TxCommand::Inspect(args) => args.run(),
            TxCommand::Sign(args) => args.run(),
        }
    }
}

/// Arguments of `tx inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// Legacy-JSON transaction file, or `-` for standard input.
    #[arg(default_value = "-", value_name = "FILE|-")]
    input: PathBuf,
}

/// The JSON `tx inspect` prints.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// fc::raw bytes without signatures, hex.
    pub serialized_hex: String,
    /// SHA256(chain id ‖ bytes), hex: what is signed.
    pub digest: String,
    /// First 20 bytes of SHA256(bytes), hex.
    pub tx_id: String,
    /// Each signature in order.
    pub signatures: Vec<SignatureReport>,
}

/// One signature as `tx inspect` reports it.
#[derive(Debug, Serialize)]
pub struct SignatureReport {
    /// The 65 bytes, hex.
    pub hex: String,
    /// The key it recovers to over this profile's chain id, or null when it does not recover.
    pub recovered_key: Option<String>,
    /// Whether it is fc-canonical and low-S (accepted by every chain's rule).
    pub canonical: bool,
}

impl Inspection {
    /// Inspects a transaction under a profile.
    pub fn of(tx: &SignedTransaction, profile: &ChainProfile) -> Result<Self, Error> {
        let digest = tx.transaction.digest(profile)?;
        Ok(Inspection {
            serialized_hex: hex::encode(tx.transaction.to_bytes(profile)?),
            digest: digest.to_string(),
            tx_id: tx.transaction.id(profile)?,
            signatures: tx
                .signatures
                .iter()
                .map(|signature| SignatureReport {
                    hex: signature.to_hex(),
                    recovered_key: signature
                        .recover(&digest)
                        .ok()
                        .map(|key| key.to_string_with_prefix(&profile.address_prefix)),
                    canonical: signature.is_canonical(),
                })
                .collect(),
        })
    }
}

impl InspectArgs {
    fn run(self) -> Result<(), Error> {
        let profile = self.profile.profile();
        let tx = SignedTransaction::from_legacy_json(&read_transaction(&self.input)?, &profile)?;
        let report = Inspection::of(&tx, &profile)?;
        // Plain strings, bools and options: serialization cannot fail.
        print_line(&serde_json::to_string_pretty(&report).unwrap_or_default())
    }
}

/// Arguments of `tx sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// File holding the WIF private key; must not be accessible by group or others.
    #[arg(long, value_name = "FILE")]
    wif_file: PathBuf,
    /// Legacy-JSON transaction file, or `-` for standard input.
    #[arg(default_value = "-", value_name = "FILE|-")]
    input: PathBuf,
}

impl SignArgs {
    fn run(self) -> Result<(), Error> {
        let profile = self.profile.profile();
        let key = read_wif_file(&self.wif_file)?;
        let parsed =
            SignedTransaction::from_legacy_json(&read_transaction(&self.input)?, &profile)?;
        // Refuse to sign what the chain would reject; the expiration is checked against the
        // head block at broadcast time, not here, since this tool is offline.
        parsed.transaction.validate(&profile, None)?;
        // witness_update needs exactly one signature (SPEC §4.6): any existing ones are replaced.
        let signed = parsed.transaction.sign(&key, &profile)?;
        print_line(&signed.to_legacy_json(&profile))
    }
}
