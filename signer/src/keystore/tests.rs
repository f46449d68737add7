//! Round trips through `seal` and `load_keys_with`, refusals, and leak checks.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use vwf_shared::PrivateKey;

use super::seal::{Sealing, seal_key};
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WIF0: &str = "5K5WrHCEqHdoiaWjbwBedbYnu9vA8BUPBMRsbkggk2FbhTsFVJP";
const PASS: &str = "tr0ub4dor&3-horse";
const FAST: LoadOptions = LoadOptions { max_work_factor: 4 };

fn write(dir: &Path, name: &str, content: &[u8], mode: u32) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::File::create(&path)?.write_all(content)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
    Ok(path)
}

fn passphrase_sealing(pass: &str, work_factor: u8) -> Sealing {
    Sealing::Passphrase {
        passphrase: SecretString::from(pass.to_owned()),
        work_factor,
    }
}

fn key() -> Result<PrivateKey, vwf_shared::KeyError> {
    PrivateKey::from_wif(WIF0)
}

#[test]
fn passphrase_file_round_trips_binary_and_armored() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pass = write(dir.path(), "pass", format!("{PASS}\n").as_bytes(), 0o600)?;
    for armor in [false, true] {
        let sealed = seal_key(&key()?, passphrase_sealing(PASS, 2), armor)?;
        assert_eq!(
            sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
            armor
        );
        let age_file = write(dir.path(), "k.age", &sealed, 0o600)?;
        let source = KeySource::PassphraseFile(pass.clone());
        let loaded = load_keys_with(&age_file, &source, &FAST)?;
        let locked = loaded.memory_lock.is_none();
        let (private, public) = loaded.into_single(&age_file)?;
        assert_eq!(public, key()?.public_key());
        assert_eq!(private.is_memory_locked(), locked);
    }
    Ok(())
}

#[test]
fn x25519_identity_file_round_trips_and_must_be_private() -> TestResult {
    let dir = tempfile::tempdir()?;
    let identity = age::x25519::Identity::generate();
    let recipients = seal::parse_recipients(&[identity.to_public().to_string()])?;
    let sealed = seal_key(&key()?, Sealing::Recipients(recipients), false)?;
    let age_file = write(dir.path(), "k.age", &sealed, 0o600)?;
    let text = format!(
        "# test identity\n{}\n",
        identity.to_string().expose_secret()
    );
    let id_file = write(dir.path(), "age-identity", text.as_bytes(), 0o400)?;
    let loaded = load_keys(&age_file, &KeySource::IdentityFile(id_file.clone()))?;
    assert_eq!(loaded.ring.public_keys().next(), Some(&key()?.public_key()));

    std::fs::set_permissions(&id_file, std::fs::Permissions::from_mode(0o640))?;
    let refused = load_keys(&age_file, &KeySource::IdentityFile(id_file));
    assert!(
        matches!(refused, Err(Error::KeyFilePermissions { .. })),
        "{refused:?}"
    );
    Ok(())
}

#[test]
fn wrong_passphrase_is_a_clear_error_without_the_secret() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sealed = seal_key(&key()?, passphrase_sealing(PASS, 2), false)?;
    let age_file = write(dir.path(), "k.age", &sealed, 0o600)?;
    let wrong = write(dir.path(), "wrong", b"not-the-passphrase", 0o600)?;
    let error = load_keys_with(&age_file, &KeySource::PassphraseFile(wrong), &FAST)
        .err()
        .ok_or("wrong passphrase accepted")?;
    assert!(matches!(error, Error::WrongKey { .. }), "{error:?}");
    assert_eq!(error.exit_code(), crate::error::EXIT_BAD_INPUT);
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("wrong passphrase"), "{shown}");
    for secret in ["not-the-passphrase", PASS, WIF0] {
        assert!(!shown.contains(secret), "{shown}");
    }
    Ok(())
}

#[test]
fn work_factor_above_the_cap_is_refused_before_scrypt_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sealed = seal_key(&key()?, passphrase_sealing(PASS, 12), false)?;
    let age_file = write(dir.path(), "k.age", &sealed, 0o600)?;
    let pass = write(dir.path(), "pass", PASS.as_bytes(), 0o600)?;
    let error = load_keys_with(&age_file, &KeySource::PassphraseFile(pass), &FAST).err();
    assert!(
        matches!(
            error,
            Some(Error::AgeFile {
                source: age::DecryptError::ExcessiveWork { .. },
                ..
            })
        ),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn bad_wif_inside_the_age_file_is_refused_without_echo() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mangled = format!("{}Q", &WIF0[..WIF0.len() - 1]);
    let mut recipient = age::scrypt::Recipient::new(SecretString::from(PASS.to_owned()));
    recipient.set_work_factor(2);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))?;
    let mut sealed = Vec::new();
    let mut writer = encryptor.wrap_output(&mut sealed)?;
    writer.write_all(mangled.as_bytes())?;
    writer.finish()?;
    let age_file = write(dir.path(), "k.age", &sealed, 0o600)?;
    let pass = write(dir.path(), "pass", PASS.as_bytes(), 0o600)?;
    let error = load_keys_with(&age_file, &KeySource::PassphraseFile(pass), &FAST)
        .err()
        .ok_or("mangled WIF accepted")?;
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("WIF checksum mismatch"), "{shown}");
    assert!(
        !shown.contains(&mangled[..12]) && !shown.contains(PASS),
        "{shown}"
    );
    Ok(())
}

#[test]
fn not_an_age_file_is_an_age_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let age_file = write(dir.path(), "k.age", WIF0.as_bytes(), 0o600)?;
    let pass = write(dir.path(), "pass", PASS.as_bytes(), 0o600)?;
    let error = load_keys_with(&age_file, &KeySource::PassphraseFile(pass), &FAST).err();
    let shown = format!("{error:?}");
    assert!(matches!(error, Some(Error::AgeFile { .. })), "{shown}");
    assert!(!shown.contains(WIF0));
    Ok(())
}

#[test]
fn debug_of_secret_holders_shows_no_secret() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sealing = passphrase_sealing(PASS, 2);
    let sealed = seal_key(&key()?, passphrase_sealing(PASS, 2), false)?;
    let age_file = write(dir.path(), "k.age", &sealed, 0o600)?;
    let pass = write(dir.path(), "pass", PASS.as_bytes(), 0o600)?;
    let source = KeySource::PassphraseFile(pass);
    let loaded = load_keys_with(&age_file, &source, &FAST)?;
    let secret_hex = "a6465f50";
    let shown = format!("{sealing:?} {source:?} {loaded:?} {:?}", loaded.ring);
    for secret in [PASS, WIF0, secret_hex] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("REDACTED"), "{shown}");
    Ok(())
}
