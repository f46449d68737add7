//! Encrypting a key into an age file: to a passphrase (scrypt) or to recipients (X25519 or
//! plugin recipients such as `age1yubikey1…`).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::str::FromStr;

use age::armor::{ArmoredWriter, Format};
use secrecy::SecretString;
use vwf_shared::PrivateKey;

use super::StderrCallbacks;
use crate::error::Error;

/// Default scrypt work factor (log2 N) for new passphrase files: 2^18 = 256 MiB, about a second,
/// and safely under the signer's default decryption cap.
pub const DEFAULT_WORK_FACTOR: u8 = 18;

/// Who can open the new age file.
pub enum Sealing {
    /// A passphrase, stretched with scrypt at `work_factor` (log2 N, 1..=22).
    Passphrase {
        /// The passphrase.
        passphrase: SecretString,
        /// log2 N.
        work_factor: u8,
    },
    /// One or more recipients (see [`parse_recipients`]).
    Recipients(Vec<Box<dyn age::Recipient + Send>>),
}

impl fmt::Debug for Sealing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sealing::Passphrase { work_factor, .. } => f
                .debug_struct("Passphrase")
                .field("passphrase", &"[REDACTED]")
                .field("work_factor", work_factor)
                .finish(),
            Sealing::Recipients(list) => write!(f, "Recipients({} recipients)", list.len()),
        }
    }
}

/// Encrypts `key`'s WIF (plus a newline) to an age file image, armored when `armor` is set.
///
/// Caveat: age's stream writer buffers the plaintext chunk in a plain `Vec` that it does not
/// wipe; the WIF we hand it is itself in wiped memory.
pub fn seal_key(key: &PrivateKey, sealing: Sealing, armor: bool) -> Result<Vec<u8>, Error> {
    seal_keys(&[key], sealing, armor)
}

/// Seals several keys, one WIF per line (signing-key mode: the servers' signing keys).
pub fn seal_keys(keys: &[&PrivateKey], sealing: Sealing, armor: bool) -> Result<Vec<u8>, Error> {
    let recipients: Vec<Box<dyn age::Recipient + Send>> = match sealing {
        Sealing::Passphrase {
            passphrase,
            work_factor,
        } => {
            if !(1..=22).contains(&work_factor) {
                return Err(Error::Passphrase {
                    reason: format!("scrypt work factor {work_factor} is outside 1..=22"),
                });
            }
            let mut recipient = age::scrypt::Recipient::new(passphrase);
            recipient.set_work_factor(work_factor);
            vec![Box::new(recipient)]
        }
        Sealing::Recipients(list) => list,
    };
    let encryptor = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .map_err(Error::Encrypt)?;
    let format = if armor {
        Format::AsciiArmor
    } else {
        Format::Binary
    };
    let io = |e: std::io::Error| Error::Encrypt(age::EncryptError::Io(e));
    let armored = ArmoredWriter::wrap_output(Vec::new(), format).map_err(io)?;
    let mut writer = encryptor.wrap_output(armored).map_err(io)?;
    for key in keys {
        let wif = key.to_wif();
        writer.write_all(wif.as_bytes()).map_err(io)?;
        writer.write_all(b"\n").map_err(io)?;
    }
    writer
        .finish()
        .and_then(|armored| armored.finish())
        .map_err(io)
}

/// Parses recipients: X25519 (`age1…`) and plugin recipients (`age1<plugin>1…`). Plugin
/// recipients need their `age-plugin-<name>` binary on `PATH`, checked here.
pub fn parse_recipients(texts: &[String]) -> Result<Vec<Box<dyn age::Recipient + Send>>, Error> {
    let mut recipients: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
    let mut plugins: BTreeMap<String, Vec<age::plugin::Recipient>> = BTreeMap::new();
    for text in texts {
        let text = text.trim();
        if let Ok(recipient) = age::x25519::Recipient::from_str(text) {
            recipients.push(Box::new(recipient));
        } else if let Ok(recipient) = age::plugin::Recipient::from_str(text) {
            plugins
                .entry(recipient.plugin().to_owned())
                .or_default()
                .push(recipient);
        } else {
            return Err(Error::Recipient {
                recipient: text.to_owned(),
                reason: "expected an X25519 (age1…) or plugin (age1<plugin>1…) recipient".into(),
            });
        }
    }
    for (name, list) in plugins {
        let plugin = age::plugin::RecipientPluginV1::new(&name, &list, &[], StderrCallbacks)
            .map_err(|_| Error::PluginMissing { plugin: name })?;
        recipients.push(Box::new(plugin));
    }
    if recipients.is_empty() {
        return Err(Error::Recipient {
            recipient: String::new(),
            reason: "no recipients given".into(),
        });
    }
    Ok(recipients)
}

/// Parses a recipients file: one recipient per line; blank lines and `#` comments are skipped.
pub fn parse_recipients_text(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}
