//! `vwf-signer key generate`: a new key pair for a server's block signing key (or any key),
//! from the operating system's random source; the WIF goes only to a private file or an age
//! file, the public key to stdout.

use std::path::PathBuf;

use clap::Args;
use rand::TryRngCore;
use secrecy::SecretBox;
use vwf_shared::PrivateKey;
use zeroize::Zeroizing;

use crate::atomic::{self, PRIVATE};
use crate::commands::{ProfileArg, print_line};
use crate::error::Error;
use crate::keystore::passphrase;
use crate::keystore::seal::{self, DEFAULT_WORK_FACTOR, Sealing};

/// Arguments of `key generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// Where to write the private key: the WIF as one line (mode 0600, written atomically), or
    /// an age file when --recipient or --passphrase-file is given.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Seal the key into an age file for this recipient (age1…); repeatable.
    #[arg(long, value_name = "AGE1…", conflicts_with = "passphrase_file")]
    recipient: Vec<String>,
    /// Seal the key into an age file with the passphrase in this file (mode 0600).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    /// scrypt work factor (log2 N) for passphrase encryption; low values are for tests only.
    #[arg(long, hide = true, default_value_t = DEFAULT_WORK_FACTOR,
          value_parser = clap::value_parser!(u8).range(1..=22))]
    scrypt_work_factor: u8,
}

impl GenerateArgs {
    /// Generates, writes the private key, prints the public key.
    pub fn run(self) -> Result<(), Error> {
        atomic::ensure_absent([self.out.as_path()], self.force)?;
        let sealing = if !self.recipient.is_empty() {
            Some(Sealing::Recipients(seal::parse_recipients(
                &self.recipient,
            )?))
        } else if let Some(path) = &self.passphrase_file {
            Some(Sealing::Passphrase {
                passphrase: passphrase::from_file(path)?,
                work_factor: self.scrypt_work_factor,
            })
        } else {
            None
        };
        let key = random_key()?;
        match sealing {
            Some(sealing) => {
                let sealed = seal::seal_key(&key, sealing, false)?;
                atomic::write_file(&self.out, &sealed, PRIVATE, self.force)?;
            }
            None => {
                let mut line = Zeroizing::new(key.to_wif().as_bytes().to_vec());
                line.push(b'\n');
                atomic::write_file(&self.out, &line, PRIVATE, self.force)?;
            }
        }
        print_line(
            &key.public_key()
                .to_string_with_prefix(&self.profile.profile().address_prefix),
        )
    }
}

/// 32 bytes from the OS random source, drawn again in the negligible case that they are not a
/// valid secp256k1 secret (zero or ≥ the group order).
fn random_key() -> Result<PrivateKey, Error> {
    for _ in 0..16 {
        let mut bytes = Box::new([0u8; 32]);
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes[..])
            .map_err(|e| Error::Internal(format!("no OS randomness: {e}")))?;
        if let Ok(key) = PrivateKey::from_secret(SecretBox::new(bytes)) {
            return Ok(key);
        }
    }
    Err(Error::Internal(
        "the OS random source gave 16 invalid secrets in a row".into(),
    ))
}
