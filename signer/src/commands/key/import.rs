//! `vwf-signer key import`: validate a WIF and seal it into an age file for `serve`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use vwf_shared::PrivateKey;
use zeroize::Zeroizing;

use crate::atomic::{self, PRIVATE};
use crate::commands::{ProfileArg, print_line};
use crate::error::Error;
use crate::input::{read_wif_file, wif_from_bytes};
use crate::keystore::passphrase;
use crate::keystore::seal::{self, DEFAULT_WORK_FACTOR, Sealing};

/// Longest WIF line read from stdin or the TTY, in bytes.
const MAX_WIF_BYTES: usize = 1024;

/// Longest recipients file accepted, in bytes.
const MAX_RECIPIENTS_FILE_BYTES: u64 = 64 * 1024;

/// Arguments of `key import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// Where to write the age file (mode 0600, written atomically).
    #[arg(long, value_name = "FILE.age")]
    out: PathBuf,
    /// Encrypt with the passphrase in this file (must be private: mode 0600).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["recipient", "recipients_file"])]
    passphrase_file: Option<PathBuf>,
    /// Encrypt to this age recipient (age1… or a plugin recipient such as age1yubikey1…);
    /// repeatable.
    #[arg(long, value_name = "AGE1…")]
    recipient: Vec<String>,
    /// Encrypt to the recipients listed in this file (one per line, # comments).
    #[arg(long, value_name = "FILE")]
    recipients_file: Option<PathBuf>,
    /// Write ASCII-armored output instead of binary.
    #[arg(long)]
    armor: bool,
    /// Read the WIF from this file (must be private) instead of the TTY or stdin. Repeat it
    /// to seal several keys into one file, one per line: the servers' block signing keys for
    /// an account in signing-key mode.
    #[arg(long, value_name = "FILE")]
    wif_file: Vec<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    /// scrypt work factor (log2 N) for passphrase encryption; low values are for tests only.
    #[arg(long, hide = true, default_value_t = DEFAULT_WORK_FACTOR,
          value_parser = clap::value_parser!(u8).range(1..=22))]
    scrypt_work_factor: u8,
}

impl ImportArgs {
    /// Reads, validates, prints the public key, then seals and writes the key.
    pub fn run(self) -> Result<(), Error> {
        // Refuse early, before asking for any secret.
        atomic::ensure_absent([self.out.as_path()], self.force)?;
        let sealing = self.sealing_recipients()?;
        let keys = self.read_keys()?;
        let profile = self.profile.profile();
        let sealing = match sealing {
            Some(sealing) => sealing,
            None => Sealing::Passphrase {
                passphrase: match &self.passphrase_file {
                    Some(path) => passphrase::from_file(path)?,
                    None => passphrase::from_tty_confirmed("Passphrase for the new age file: ")?,
                },
                work_factor: self.scrypt_work_factor,
            },
        };
        let sealed = seal::seal_keys(&keys.iter().collect::<Vec<_>>(), sealing, self.armor)?;
        atomic::write_file(&self.out, &sealed, PRIVATE, self.force)?;
        let public: Vec<String> = keys
            .iter()
            .map(|k| {
                k.public_key()
                    .to_string_with_prefix(&profile.address_prefix)
            })
            .collect();
        print_line(&public.join("\n"))
    }

    /// Recipients from `--recipient` and `--recipients-file`, or `None` for a passphrase.
    fn sealing_recipients(&self) -> Result<Option<Sealing>, Error> {
        let mut texts = self.recipient.clone();
        if let Some(path) = &self.recipients_file {
            let read_error = |source| Error::Read {
                path: path.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(read_error)?;
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(file, MAX_RECIPIENTS_FILE_BYTES),
                &mut text,
            )
            .map_err(read_error)?;
            texts.extend(seal::parse_recipients_text(&text));
        }
        if texts.is_empty() && self.recipients_file.is_none() {
            return Ok(None);
        }
        Ok(Some(Sealing::Recipients(seal::parse_recipients(&texts)?)))
    }

    /// The WIFs from `--wif-file` (no key twice), else one from the TTY without echo, else
    /// one line of stdin.
    fn read_keys(&self) -> Result<Vec<PrivateKey>, Error> {
        if self.wif_file.is_empty() {
            return Ok(vec![self.read_key()?]);
        }
        let mut keys: Vec<PrivateKey> = Vec::new();
        for path in &self.wif_file {
            let key = read_wif_file(path)?;
            if keys.iter().any(|k| k.public_key() == key.public_key()) {
                return Err(Error::KeyRing {
                    path: path.clone(),
                    reason: "holds a key already read from another --wif-file".into(),
                });
            }
            keys.push(key);
        }
        if keys.len() > crate::keystore::ring::MAX_KEYS {
            return Err(Error::KeyRing {
                path: self.out.clone(),
                reason: format!(
                    "at most {} keys fit in one file",
                    crate::keystore::ring::MAX_KEYS
                ),
            });
        }
        Ok(keys)
    }

    /// One WIF from the TTY without echo, else one line of stdin.
    fn read_key(&self) -> Result<PrivateKey, Error> {
        let what = PathBuf::from("standard input");
        let line = if std::io::stdin().is_terminal() {
            let text = Zeroizing::new(rpassword::prompt_password("WIF private key: ").map_err(
                |source| Error::Read {
                    path: what.clone(),
                    source,
                },
            )?);
            Zeroizing::new(text.as_bytes().to_vec())
        } else {
            read_stdin_line(&what)?
        };
        wif_from_bytes(&line[..]).map_err(|source| Error::KeyFile { path: what, source })
    }
}

/// Reads one line from stdin byte by byte, straight from the descriptor: std's stdin buffer is a
/// process-wide `BufReader` that would keep a copy of the WIF that nothing wipes.
fn read_stdin_line(what: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    use std::io::Read;
    use std::os::fd::AsFd;
    let read_error = |source| Error::Read {
        path: what.to_owned(),
        source,
    };
    let fd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(read_error)?;
    let mut input = std::fs::File::from(fd);
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_WIF_BYTES));
    let mut byte = Zeroizing::new([0u8; 1]);
    while line.len() < MAX_WIF_BYTES {
        match input.read(&mut byte[..]) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(read_error(source)),
        }
    }
    Ok(line)
}
