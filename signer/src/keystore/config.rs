//! The `[key]` configuration section: raw serde form ([`KeyConfig`]) and the checked form
//! ([`KeySettings`]) it converts into.
//!
//! ```toml
//! [key]
//! age_file = "/var/lib/vwf-signer/active.age"
//! # exactly one of:
//! identity_file = "/run/credentials/vwf-signer.service/age-identity"
//! # passphrase_file = "/etc/vwf-signer/passphrase"
//! # passphrase = "prompt"              # or "systemd-ask-password"
//! # max_work_factor = 20              # scrypt log2 N cap, 10..=22
//! ```

use std::path::PathBuf;

use serde::Deserialize;

use super::{DEFAULT_MAX_WORK_FACTOR, KeySource, LoadOptions};
use crate::error::Error;

/// Lowest work-factor cap accepted in config (tests may go lower through [`LoadOptions`]).
const MIN_WORK_FACTOR: u8 = 10;

/// Highest work-factor cap accepted: 2^22 already needs 4 GiB of RAM.
const MAX_WORK_FACTOR: u8 = 22;

/// `[key]` as written in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The age file holding the active key's WIF (binary or armored).
    pub age_file: PathBuf,
    /// An age identity file (mode 0600 or stricter); excludes the passphrase options.
    #[serde(default)]
    pub identity_file: Option<PathBuf>,
    /// A file holding the passphrase (mode 0600 or stricter).
    #[serde(default)]
    pub passphrase_file: Option<PathBuf>,
    /// Ask for the passphrase interactively.
    #[serde(default)]
    pub passphrase: Option<PassphraseMode>,
    /// Cap on the scrypt work factor (log2 N); default 20.
    #[serde(default)]
    pub max_work_factor: Option<u8>,
}

/// How an interactive passphrase is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphraseMode {
    /// On the controlling TTY without echo.
    Prompt,
    /// Through `systemd-ask-password`.
    SystemdAskPassword,
}

/// `"prompt"` or `"systemd-ask-password"`. Anything else is refused without being shown: an
/// operator may have written the passphrase itself there, and the error goes to stderr, the
/// journal and (on a SIGHUP reload) the audit log.
impl<'de> Deserialize<'de> for PassphraseMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Mode;
        const REFUSED: &str = "[key] passphrase must be \"prompt\" or \"systemd-ask-password\" \
            (the value is not shown: a passphrase belongs in passphrase_file)";
        impl serde::de::Visitor<'_> for Mode {
            type Value = PassphraseMode;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("\"prompt\" or \"systemd-ask-password\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<PassphraseMode, E> {
                match text {
                    "prompt" => Ok(PassphraseMode::Prompt),
                    "systemd-ask-password" => Ok(PassphraseMode::SystemdAskPassword),
                    _ => Err(E::custom(REFUSED)),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<PassphraseMode, E> {
                Err(E::custom(REFUSED))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<PassphraseMode, E> {
                Err(E::custom(REFUSED))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<PassphraseMode, E> {
                Err(E::custom(REFUSED))
            }
        }
        deserializer.deserialize_any(Mode)
    }
}

/// The checked `[key]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySettings {
    /// The age file.
    pub age_file: PathBuf,
    /// How to unlock it.
    pub source: KeySource,
    /// Decryption limits.
    pub options: LoadOptions,
}

impl TryFrom<KeyConfig> for KeySettings {
    type Error = Error;

    fn try_from(raw: KeyConfig) -> Result<Self, Error> {
        let fail = |reason: &str| Error::KeyConfig {
            reason: reason.to_owned(),
        };
        let source = match (raw.identity_file, raw.passphrase_file, raw.passphrase) {
            (Some(path), None, None) => KeySource::IdentityFile(path),
            (None, Some(path), None) => KeySource::PassphraseFile(path),
            (None, None, Some(PassphraseMode::Prompt)) => KeySource::PassphrasePrompt,
            (None, None, Some(PassphraseMode::SystemdAskPassword)) => KeySource::SystemdAskPassword,
            (None, None, None) => {
                return Err(fail(
                    "set one of identity_file, passphrase_file or passphrase = \"prompt\" | \"systemd-ask-password\"",
                ));
            }
            _ => {
                return Err(fail(
                    "identity_file, passphrase_file and passphrase are exclusive: keep exactly one",
                ));
            }
        };
        let max_work_factor = raw.max_work_factor.unwrap_or(DEFAULT_MAX_WORK_FACTOR);
        if !(MIN_WORK_FACTOR..=MAX_WORK_FACTOR).contains(&max_work_factor) {
            return Err(Error::KeyConfig {
                reason: format!(
                    "max_work_factor = {max_work_factor} is outside {MIN_WORK_FACTOR}..={MAX_WORK_FACTOR}"
                ),
            });
        }
        Ok(KeySettings {
            age_file: raw.age_file,
            source,
            options: LoadOptions { max_work_factor },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<KeySettings, Error> {
        let raw: KeyConfig = toml::from_str(text).map_err(|e| Error::KeyConfig {
            reason: e.to_string(),
        })?;
        KeySettings::try_from(raw)
    }

    #[test]
    fn key_config_accepts_each_source() -> Result<(), Error> {
        let id =
            settings("age_file = \"a.age\"\nidentity_file = \"/run/credentials/x/age-identity\"")?;
        assert_eq!(
            id.source,
            KeySource::IdentityFile("/run/credentials/x/age-identity".into())
        );
        assert_eq!(id.options.max_work_factor, DEFAULT_MAX_WORK_FACTOR);
        let file = settings("age_file = \"a.age\"\npassphrase_file = \"p\"\nmax_work_factor = 18")?;
        assert_eq!(file.source, KeySource::PassphraseFile("p".into()));
        assert_eq!(file.options.max_work_factor, 18);
        let prompt = settings("age_file = \"a.age\"\npassphrase = \"prompt\"")?;
        assert_eq!(prompt.source, KeySource::PassphrasePrompt);
        let ask = settings("age_file = \"a.age\"\npassphrase = \"systemd-ask-password\"")?;
        assert_eq!(ask.source, KeySource::SystemdAskPassword);
        Ok(())
    }

    #[test]
    fn key_config_rejects_none_both_unknown_and_huge_work_factor() {
        for text in [
            "age_file = \"a.age\"",
            "age_file = \"a.age\"\nidentity_file = \"i\"\npassphrase = \"prompt\"",
            "age_file = \"a.age\"\nidentity_file = \"i\"\nwif = \"5K…\"",
            "age_file = \"a.age\"\npassphrase = \"stdin\"",
            "age_file = \"a.age\"\nidentity_file = \"i\"\nmax_work_factor = 30",
        ] {
            assert!(
                matches!(settings(text), Err(Error::KeyConfig { .. })),
                "{text}"
            );
        }
    }
}
