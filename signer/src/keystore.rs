//! Keys at rest: an age file (binary or ASCII-armored) holding the active key's WIF, or the
//! servers' signing keys one WIF per line ([`ring`]), opened at `serve` time with an identity
//! file or a passphrase.
//!
//! The plaintext never touches disk and only lives in wiped buffers; it is parsed strictly with
//! [`PrivateKey::from_wif`] and the key's page is then locked in RAM when the OS allows it.
//! Secret inputs (identity and passphrase files) must be private to their owner.

mod callbacks;
pub mod config;
pub mod passphrase;
pub mod ring;
pub mod seal;

pub use callbacks::StderrCallbacks;

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use age::armor::ArmoredReader;
use secrecy::SecretString;
use vwf_shared::keys::MemoryLockError;
use vwf_shared::{PrivateKey, PublicKey};

use crate::error::Error;
use crate::input::{read_private_file, read_secret};

pub use config::{KeyConfig, KeySettings};
pub use ring::{AssignedKeys, KeyRing};

/// Default cap on the scrypt work factor (log2 N) of a passphrase-encrypted file: 2^20 needs
/// 1 GiB and a few seconds, so a hostile file cannot stall start-up for longer than that.
pub const DEFAULT_MAX_WORK_FACTOR: u8 = 20;

/// Largest identity file accepted, in bytes.
const MAX_IDENTITY_FILE_BYTES: usize = 64 * 1024;

/// Largest plaintext accepted: [`ring::MAX_KEYS`] WIF lines of 52 bytes, with room for comments.
const MAX_PLAINTEXT_BYTES: usize = 4096;

/// How the age file is unlocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An age identity file (X25519 `AGE-SECRET-KEY-1…` or `AGE-PLUGIN-…` lines); may be a
    /// systemd credential such as `/run/credentials/vwf-signer.service/age-identity`.
    IdentityFile(PathBuf),
    /// A file holding the passphrase (one trailing newline is ignored).
    PassphraseFile(PathBuf),
    /// Ask on the controlling TTY, without echo.
    PassphrasePrompt,
    /// Ask through `systemd-ask-password` (password agents when there is no TTY).
    SystemdAskPassword,
}

/// Knobs for [`load_keys_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Highest scrypt work factor (log2 N) accepted; see [`DEFAULT_MAX_WORK_FACTOR`].
    pub max_work_factor: u8,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_work_factor: DEFAULT_MAX_WORK_FACTOR,
        }
    }
}

/// The decrypted keys, ready to sign.
pub struct LoadedKeys {
    /// The keys (redacted `Debug`, wiped on drop).
    pub ring: KeyRing,
    /// Why a key's page could not be locked in RAM, if one could not: the caller should log
    /// it as a warning (the keys work, but may be swapped out).
    pub memory_lock: Option<MemoryLockError>,
}

impl fmt::Debug for LoadedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedKeys")
            .field("ring", &self.ring)
            .field("memory_lock", &self.memory_lock)
            .finish()
    }
}

impl LoadedKeys {
    /// The one key of an active-key file, or an error naming the file.
    pub fn into_single(self, age_file: &Path) -> Result<(PrivateKey, PublicKey), Error> {
        self.ring.into_single().map_err(|reason| Error::KeyRing {
            path: age_file.to_owned(),
            reason,
        })
    }
}

/// Decrypts `age_file` with `source` and returns the locked keys, with the default options.
pub fn load_keys(age_file: &Path, source: &KeySource) -> Result<LoadedKeys, Error> {
    load_keys_with(age_file, source, &LoadOptions::default())
}

/// Decrypts `age_file` with `source` and returns its keys, locked in RAM when possible.
pub fn load_keys_with(
    age_file: &Path,
    source: &KeySource,
    options: &LoadOptions,
) -> Result<LoadedKeys, Error> {
    let prompt = format!("Passphrase for {}: ", age_file.display());
    let identities: Vec<Box<dyn age::Identity>> = match source {
        KeySource::IdentityFile(path) => read_identity_file(path)?,
        KeySource::PassphraseFile(path) => scrypt_identity(passphrase::from_file(path)?, options),
        KeySource::PassphrasePrompt => scrypt_identity(passphrase::from_tty(&prompt)?, options),
        KeySource::SystemdAskPassword => {
            scrypt_identity(passphrase::from_systemd(&prompt)?, options)
        }
    };
    let plaintext = decrypt(age_file, &identities)?;
    let mut ring = KeyRing::parse(&plaintext).map_err(|reason| Error::KeyRing {
        path: age_file.to_owned(),
        reason,
    })?;
    drop(plaintext);
    let memory_lock = ring.lock_memory();
    Ok(LoadedKeys { ring, memory_lock })
}

/// Decrypts a (binary or armored) age file into a wiped buffer of at most 1 KiB.
fn decrypt(
    age_file: &Path,
    identities: &[Box<dyn age::Identity>],
) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    let age_error = |source| match source {
        age::DecryptError::DecryptionFailed
        | age::DecryptError::NoMatchingKeys
        | age::DecryptError::KeyDecryptionFailed => Error::WrongKey {
            path: age_file.to_owned(),
        },
        source => Error::AgeFile {
            path: age_file.to_owned(),
            source,
        },
    };
    let file = File::open(age_file).map_err(|source| Error::Read {
        path: age_file.to_owned(),
        source,
    })?;
    // ArmoredReader passes binary files through unchanged.
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(BufReader::new(file)))
        .map_err(age_error)?;
    let reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(age_error)?;
    read_secret(reader, MAX_PLAINTEXT_BYTES, &age_file.display().to_string()).map_err(|error| {
        match error {
            // A failed chunk MAC surfaces as an I/O error from the stream.
            Error::Read { source, .. } => Error::AgeFile {
                path: age_file.to_owned(),
                source: age::DecryptError::Io(source),
            },
            other => other,
        }
    })
}

/// A passphrase identity with a capped work factor.
fn scrypt_identity(passphrase: SecretString, options: &LoadOptions) -> Vec<Box<dyn age::Identity>> {
    let mut identity = age::scrypt::Identity::new(passphrase);
    identity.set_max_work_factor(options.max_work_factor);
    vec![Box::new(identity)]
}

/// Parses a private identity file (X25519 and plugin identities).
pub fn read_identity_file(path: &Path) -> Result<Vec<Box<dyn age::Identity>>, Error> {
    let bytes = read_private_file(path, MAX_IDENTITY_FILE_BYTES)?;
    let invalid = |reason: String| Error::IdentityFile {
        path: path.to_owned(),
        reason,
    };
    let file = age::IdentityFile::from_buffer(&bytes[..])
        .map_err(|e| invalid(format!("cannot parse: {}", e.kind())))?
        .with_callbacks(StderrCallbacks);
    let identities = file.into_identities().map_err(|e| match e {
        age::DecryptError::PluginResolve(_) => {
            invalid("an AGE-PLUGIN identity needs its age-plugin-* binary on PATH".into())
        }
        other => invalid(other.to_string()),
    })?;
    if identities.is_empty() {
        return Err(invalid("no identities found".into()));
    }
    Ok(identities
        .into_iter()
        .map(|i| i as Box<dyn age::Identity>)
        .collect())
}

#[cfg(test)]
mod tests;
