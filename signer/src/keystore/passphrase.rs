//! Where a passphrase comes from: a private file, the TTY without echo, or
//! `systemd-ask-password`. Every path keeps the passphrase in wiped memory only.

use std::io::IsTerminal;
use std::path::Path;
use std::process::{Command, Stdio};

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::input::{read_private_file, read_secret};

/// Longest passphrase accepted, in bytes.
pub const MAX_PASSPHRASE_BYTES: usize = 4096;

/// Reads a passphrase from a private file. One trailing newline (`\n` or `\r\n`) is removed, so
/// `echo secret > file` works; an empty passphrase is refused.
pub fn from_file(path: &Path) -> Result<SecretString, Error> {
    let bytes = read_private_file(path, MAX_PASSPHRASE_BYTES)?;
    to_secret(&bytes, &path.display().to_string())
}

/// Prompts on the controlling TTY (`/dev/tty`) without echo.
pub fn from_tty(prompt: &str) -> Result<SecretString, Error> {
    let text =
        Zeroizing::new(
            rpassword::prompt_password(prompt).map_err(|e| Error::Passphrase {
                reason: format!("cannot prompt on the terminal: {e}"),
            })?,
        );
    to_secret(text.as_bytes(), "the terminal")
}

/// Prompts twice on the TTY and insists both answers match (for encrypting a new file).
pub fn from_tty_confirmed(prompt: &str) -> Result<SecretString, Error> {
    use secrecy::ExposeSecret;
    let first = from_tty(prompt)?;
    let second = from_tty("Confirm passphrase: ")?;
    if first.expose_secret() != second.expose_secret() {
        return Err(Error::Passphrase {
            reason: "the two passphrases do not match".into(),
        });
    }
    Ok(first)
}

/// Runs `systemd-ask-password` (with `--no-tty` when stdin is not a terminal, so the question
/// goes to the password agents, e.g. `systemd-tty-ask-password-agent` or Plymouth) and reads the
/// answer from its stdout.
pub fn from_systemd(prompt: &str) -> Result<SecretString, Error> {
    let no_tty = !std::io::stdin().is_terminal();
    ask_program(Path::new("systemd-ask-password"), prompt, no_tty)
}

/// Runs a `systemd-ask-password`-compatible program. Split out so tests can use a stand-in.
pub(crate) fn ask_program(
    program: &Path,
    prompt: &str,
    no_tty: bool,
) -> Result<SecretString, Error> {
    let mut command = Command::new(program);
    command.arg("--id=vwf-signer:active-key");
    if no_tty {
        command.arg("--no-tty");
    }
    let mut child = command
        .arg(prompt)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Passphrase {
            reason: format!("cannot run {}: {e}", program.display()),
        })?;
    // Read stdout ourselves into a wiped buffer (Command::output would leave a plain Vec).
    let answer = match child.stdout.take() {
        Some(stdout) => read_secret(stdout, MAX_PASSPHRASE_BYTES, "systemd-ask-password output"),
        None => Ok(Zeroizing::new(Vec::new())),
    };
    let status = child.wait().map_err(|e| Error::Passphrase {
        reason: format!("{} did not finish: {e}", program.display()),
    })?;
    if !status.success() {
        return Err(Error::Passphrase {
            reason: format!(
                "{} failed ({status}); was the prompt cancelled or timed out?",
                program.display()
            ),
        });
    }
    to_secret(&answer?, "systemd-ask-password")
}

/// Strips one trailing newline and wraps the rest, refusing empty or non-UTF-8 input.
fn to_secret(bytes: &[u8], what: &str) -> Result<SecretString, Error> {
    let trimmed = bytes
        .strip_suffix(b"\n")
        .map(|b| b.strip_suffix(b"\r").unwrap_or(b))
        .unwrap_or(bytes);
    if trimmed.is_empty() {
        return Err(Error::Passphrase {
            reason: format!("empty passphrase from {what}"),
        });
    }
    let text = std::str::from_utf8(trimmed).map_err(|_| Error::Passphrase {
        reason: format!("passphrase from {what} is not UTF-8"),
    })?;
    // Exact capacity, so `into_boxed_str` inside SecretString::from does not reallocate and
    // leave an unwiped copy behind.
    let mut owned = String::with_capacity(text.len());
    owned.push_str(text);
    Ok(SecretString::from(owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn private_file(
        dir: &Path,
        name: &str,
        content: &[u8],
        mode: u32,
    ) -> std::io::Result<std::path::PathBuf> {
        let path = dir.join(name);
        std::fs::File::create(&path)?.write_all(content)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        Ok(path)
    }

    #[test]
    fn file_passphrase_drops_one_trailing_newline() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = private_file(dir.path(), "p", b"correct horse \r\n", 0o600)?;
        assert_eq!(from_file(&path)?.expose_secret(), "correct horse ");
        Ok(())
    }

    #[test]
    fn refuses_empty_and_group_readable_passphrase_files() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let empty = private_file(dir.path(), "e", b"\n", 0o600)?;
        assert!(matches!(from_file(&empty), Err(Error::Passphrase { .. })));
        let shared = private_file(dir.path(), "s", b"secret-pass", 0o640)?;
        let error = from_file(&shared)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("chmod 600"), "{error}");
        assert!(!error.contains("secret-pass"));
        Ok(())
    }

    #[test]
    fn systemd_ask_password_stand_in_is_read_from_stdout() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let script = b"#!/bin/sh\n[ \"$1\" = --id=vwf-signer:active-key ] && [ \"$2\" = --no-tty ] && printf 'from-agent\\n'\n";
        let ok = private_file(dir.path(), "ask", script, 0o700)?;
        assert_eq!(
            ask_program(&ok, "Passphrase:", true)?.expose_secret(),
            "from-agent"
        );
        let failing = private_file(dir.path(), "cancel", b"#!/bin/sh\nexit 1\n", 0o700)?;
        assert!(matches!(
            ask_program(&failing, "p", true),
            Err(Error::Passphrase { .. })
        ));
        let missing = ask_program(&dir.path().join("absent"), "p", true);
        assert!(matches!(missing, Err(Error::Passphrase { .. })));
        Ok(())
    }
}
