//! `vwf-signer key import` through the real binary, checked by decrypting with the keystore.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use secrecy::ExposeSecret;
use vwf_shared::PrivateKey;
use vwf_signer::Error;
use vwf_signer::keystore::{KeySource, LoadOptions, load_keys_with};

const BIN: &str = env!("CARGO_BIN_EXE_vwf-signer");
const WIF0: &str = "5K5WrHCEqHdoiaWjbwBedbYnu9vA8BUPBMRsbkggk2FbhTsFVJP";
const PASS: &str = "correct horse battery staple";
const FAST: LoadOptions = LoadOptions { max_work_factor: 4 };

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn run(args: &[&str], stdin: &str) -> std::io::Result<Output> {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output()
}

fn import(out: &Path, extra: &[&str], stdin: &str) -> std::io::Result<Output> {
    let out = out.to_string_lossy();
    let mut args = vec![
        "key",
        "import",
        "--profile",
        "VIT",
        "--out",
        &out,
        "--scrypt-work-factor",
        "2",
    ];
    args.extend_from_slice(extra);
    run(&args, stdin)
}

fn write(dir: &Path, name: &str, content: &str, mode: u32) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, content)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
    Ok(path)
}

fn expected_public() -> Result<String, vwf_shared::KeyError> {
    Ok(PrivateKey::from_wif(WIF0)?
        .public_key()
        .to_string_with_prefix("VIT"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn import_from_stdin_with_passphrase_file_decrypts_to_the_same_key() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pass = write(dir.path(), "pass", &format!("{PASS}\n"), 0o600)?;
    let out = dir.path().join("active.age");
    let output = import(
        &out,
        &["--passphrase-file", &pass.to_string_lossy()],
        &format!("{WIF0}\n"),
    )?;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(String::from_utf8(output.stdout)?.trim(), expected_public()?);
    assert_eq!(std::fs::metadata(&out)?.permissions().mode() & 0o777, 0o600);
    assert!(
        !std::fs::read(&out)?
            .windows(10)
            .any(|w| w == &WIF0.as_bytes()[..10])
    );
    let loaded = load_keys_with(&out, &KeySource::PassphraseFile(pass), &FAST)?;
    assert_eq!(
        loaded
            .ring
            .public_keys()
            .next()
            .map(|k| k.to_string_with_prefix("VIT"))
            .unwrap_or_default(),
        expected_public()?
    );

    let wrong = write(dir.path(), "wrong", "hunter2", 0o600)?;
    let error = load_keys_with(&out, &KeySource::PassphraseFile(wrong), &FAST)
        .err()
        .ok_or("wrong passphrase accepted")?;
    assert!(matches!(error, Error::WrongKey { .. }), "{error:?}");
    assert_eq!(error.exit_code(), 2);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("hunter2") && !shown.contains(PASS) && !shown.contains(WIF0));
    Ok(())
}

#[test]
fn import_to_x25519_recipient_armored_decrypts_with_identity_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let wif_file = write(dir.path(), "wif", WIF0, 0o600)?;
    let out = dir.path().join("active.age");
    let extra = [
        "--recipient",
        &recipient,
        "--armor",
        "--wif-file",
        &wif_file.to_string_lossy(),
    ];
    let output = import(&out, &extra, "")?;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(std::fs::read_to_string(&out)?.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let id_file = write(
        dir.path(),
        "age-identity",
        identity.to_string().expose_secret(),
        0o600,
    )?;
    let loaded = load_keys_with(&out, &KeySource::IdentityFile(id_file.clone()), &FAST)?;
    assert_eq!(
        loaded
            .ring
            .public_keys()
            .next()
            .map(|k| k.to_string_with_prefix("VIT"))
            .unwrap_or_default(),
        expected_public()?
    );

    std::fs::set_permissions(&id_file, std::fs::Permissions::from_mode(0o644))?;
    let refused = load_keys_with(&out, &KeySource::IdentityFile(id_file), &FAST);
    assert!(
        matches!(refused, Err(Error::KeyFilePermissions { .. })),
        "{refused:?}"
    );
    Ok(())
}

#[test]
fn group_readable_passphrase_file_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pass = write(dir.path(), "pass", PASS, 0o640)?;
    let out = dir.path().join("active.age");
    let output = import(&out, &["--passphrase-file", &pass.to_string_lossy()], WIF0)?;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("chmod 600") && !err.contains(PASS), "{err}");
    assert!(!out.exists());
    Ok(())
}

#[test]
fn invalid_wif_is_refused_strictly_and_never_echoed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pass = write(dir.path(), "pass", PASS, 0o600)?;
    let out = dir.path().join("active.age");
    let mangled = format!("{}Q", &WIF0[..WIF0.len() - 1]);
    let output = import(
        &out,
        &["--passphrase-file", &pass.to_string_lossy()],
        &mangled,
    )?;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("WIF checksum mismatch"), "{err}");
    assert!(
        !err.contains(&mangled[..12]) && output.stdout.is_empty(),
        "{err}"
    );
    assert!(!out.exists());
    Ok(())
}

#[test]
fn existing_out_is_refused_without_force() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pass = write(dir.path(), "pass", PASS, 0o600)?;
    let out = write(dir.path(), "active.age", "keep me", 0o600)?;
    let pass_arg = pass.to_string_lossy();
    let output = import(&out, &["--passphrase-file", &pass_arg], WIF0)?;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--force"), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&out)?, "keep me");
    let output = import(&out, &["--passphrase-file", &pass_arg, "--force"], WIF0)?;
    assert!(output.status.success(), "{}", stderr(&output));
    let loaded = load_keys_with(&out, &KeySource::PassphraseFile(pass), &FAST)?;
    assert_eq!(
        loaded
            .ring
            .public_keys()
            .next()
            .map(|k| k.to_string_with_prefix("VIT"))
            .unwrap_or_default(),
        expected_public()?
    );
    Ok(())
}

#[test]
fn bad_recipients_are_refused_clearly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("active.age");
    let output = import(&out, &["--recipient", "age1notarecipient"], WIF0)?;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid age recipient"),
        "{}",
        stderr(&output)
    );
    let recipients = write(dir.path(), "recipients", "# nobody\n\n", 0o644)?;
    let output = import(
        &out,
        &["--recipients-file", &recipients.to_string_lossy()],
        WIF0,
    )?;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!out.exists());
    Ok(())
}

#[test]
fn plugin_recipient_without_its_binary_says_so() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("active.age");
    let yubikey = "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t";
    let output = import(&out, &["--recipient", yubikey], WIF0)?;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("age-plugin-yubikey not found on PATH"),
        "{err}"
    );
    assert!(!out.exists());
    Ok(())
}

#[test]
fn key_generate_writes_a_private_wif_or_age_file_and_prints_its_public_key() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wif_path = dir.path().join("backup-1.wif");
    let wif_text = wif_path.to_string_lossy().into_owned();
    let made = run(
        &["key", "generate", "--profile", "STEEM", "--out", &wif_text],
        "",
    )?;
    assert!(made.status.success(), "{made:?}");
    let public = String::from_utf8(made.stdout)?.trim().to_owned();
    assert!(public.starts_with("STM"), "{public}");
    let mode = std::fs::metadata(&wif_path)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // `key pub` on the written WIF gives the printed public key: the file holds that key.
    let again = run(
        &["key", "pub", "--profile", "STEEM", "--wif-file", &wif_text],
        "",
    )?;
    assert_eq!(String::from_utf8(again.stdout)?.trim(), public);
    // A second run refuses to overwrite, and a fresh one gives another key.
    let refused = run(
        &["key", "generate", "--profile", "STEEM", "--out", &wif_text],
        "",
    )?;
    assert_eq!(refused.status.code(), Some(2));
    let other = dir.path().join("backup-2.wif");
    let second = run(
        &[
            "key",
            "generate",
            "--profile",
            "STEEM",
            "--out",
            &other.to_string_lossy(),
        ],
        "",
    )?;
    assert_ne!(String::from_utf8(second.stdout)?.trim(), public);

    // Sealed with a passphrase: the keystore decrypts it to the printed key.
    let pass = write(dir.path(), "pass", PASS, 0o600)?;
    let age = dir.path().join("backup-3.age");
    let sealed = run(
        &[
            "key",
            "generate",
            "--profile",
            "VIT",
            "--out",
            &age.to_string_lossy(),
            "--passphrase-file",
            &pass.to_string_lossy(),
            "--scrypt-work-factor",
            "2",
        ],
        "",
    )?;
    assert!(sealed.status.success(), "{sealed:?}");
    let printed = String::from_utf8(sealed.stdout)?.trim().to_owned();
    let loaded = load_keys_with(&age, &KeySource::PassphraseFile(pass), &FAST)?;
    assert_eq!(
        loaded
            .ring
            .public_keys()
            .next()
            .map(|k| k.to_string_with_prefix("VIT")),
        Some(printed)
    );
    Ok(())
}
