//! Turning the `[alerts]` config into sinks: [`build_all`], the per-field [`SinkConfigError`],
//! and [`read_secret`] for the secret files (passwords, tokens, webhook URLs) that alert config
//! points at instead of holding inline.
//!
//! Building reads files and sets up TLS but never touches the network, so `check-config`,
//! `run` and `test-alert` all call it and cannot drift apart.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::AlertSink;
use super::log::LogSink;
use super::{email, webhook};
use crate::config::{ConfigError, Problem, Settings};

/// A sink's config section is unusable: which field, what is wrong, what to do. Never holds a
/// secret's value, only the path of the file it lives in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message} (fix: {fix})")]
pub struct SinkConfigError {
    /// The field inside the sink's section, e.g. `password_file`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl SinkConfigError {
    /// An error for `field`.
    pub fn new(field: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        SinkConfigError {
            field: field.to_owned(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// The same problem as a config [`Problem`], its field prefixed by the section, e.g.
    /// `alerts.email[0]`.
    pub fn into_problem(self, section: &str) -> Problem {
        Problem {
            field: format!("{section}.{}", self.field),
            message: self.message,
            fix: self.fix,
        }
    }
}

/// Builds every configured sink, the log sink first (when `log = true`, or when nothing else is
/// configured). Every unusable section is reported at once, as a [`ConfigError::Invalid`].
pub fn build_all(settings: &Settings) -> Result<Vec<Box<dyn AlertSink>>, ConfigError> {
    let base = settings.path.parent().unwrap_or(Path::new("."));
    let alerts = &settings.alerts;
    let mut sinks: Vec<Box<dyn AlertSink>> = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in alerts.email.iter().enumerate() {
        match email::build(raw, base) {
            Ok(sink) => sinks.push(sink),
            Err(e) => problems.push(e.into_problem(&format!("alerts.email[{i}]"))),
        }
    }
    for (i, raw) in alerts.webhook.iter().enumerate() {
        match webhook::build(raw, base) {
            Ok(sink) => sinks.push(sink),
            Err(e) => problems.push(e.into_problem(&format!("alerts.webhook[{i}]"))),
        }
    }
    for (i, sink) in sinks.iter().enumerate() {
        if sinks[..i].iter().any(|s| s.name() == sink.name()) {
            problems.push(Problem {
                field: "alerts".into(),
                message: format!("two sinks are named {:?}", sink.name()),
                fix: "give each sink its own `name`".into(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::Invalid {
            path: settings.path.clone(),
            problems,
        });
    }
    if alerts.log || sinks.is_empty() {
        sinks.insert(0, Box::new(LogSink));
    }
    Ok(sinks)
}

/// `value` as a path, relative paths taken from `base` (the config file's directory), and
/// `$CREDENTIALS_DIRECTORY/NAME` a systemd credential (left as written when the variable is
/// unset: the read then fails naming it).
pub fn resolve(base: &Path, value: &str) -> PathBuf {
    let Ok(path) = vwf_shared::credentials::expand(Path::new(value)) else {
        return PathBuf::from(value);
    };
    if path.is_absolute() {
        path
    } else {
        base.join(path)
    }
}

/// Reads a one-line secret from the file at `path` (named by config `field`). The file must not
/// be readable by group or others (0600 or stricter); surrounding whitespace is dropped. Errors
/// name the file, never its content.
pub fn read_secret(path: &Path, field: &str) -> Result<SecretString, SinkConfigError> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        SinkConfigError::new(
            field,
            format!("{shown}: {e}"),
            "point it at the file holding the secret",
        )
    })?;
    if let Some(mode) = vwf_shared::persist::secret_mode_problem(path, &meta) {
        return Err(SinkConfigError::new(
            field,
            format!("{shown} is readable by group or others (mode {mode:o})"),
            format!("chmod 600 {shown}"),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| {
            SinkConfigError::new(
                field,
                format!("{shown}: {e}"),
                "make it a readable UTF-8 text file",
            )
        })?;
    let secret = text.trim();
    if secret.is_empty() || secret.contains(['\n', '\r']) {
        return Err(SinkConfigError::new(
            field,
            format!("{shown} must hold exactly one non-empty line"),
            "write the secret alone on one line",
        ));
    }
    Ok(SecretString::from(secret))
}

/// Whether `host` names this machine (`localhost` or a loopback address).
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An error and its causes on one line (`a: b: c`, repeats dropped), for sink errors that must
/// be plain text.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        // Many errors already print their cause; add each piece only once.
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use secrecy::ExposeSecret;

    use super::*;

    fn secret_file(text: &str, mode: u32) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("tempfile: {e}"));
        f.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("write: {e}"));
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod: {e}"));
        f
    }

    #[test]
    fn read_secret_trims_the_line() {
        let f = secret_file("  hunter2\n", 0o600);
        let s = read_secret(f.path(), "password_file").map(|s| s.expose_secret().to_owned());
        assert_eq!(s.as_deref(), Ok("hunter2"));
    }

    #[test]
    fn read_secret_refuses_group_readable_file_without_echoing_it() {
        let f = secret_file("hunter2\n", 0o640);
        let e = read_secret(f.path(), "password_file")
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(e.contains("mode 640") && e.contains("chmod 600"), "{e}");
        assert!(!e.contains("hunter2"));
    }

    #[test]
    fn read_secret_refuses_empty_and_multi_line_files() {
        for text in ["\n", "a\nb\n"] {
            let f = secret_file(text, 0o600);
            assert!(read_secret(f.path(), "token_file").is_err(), "{text:?}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        assert!(!is_loopback("mail.example.org"));
        assert!(!is_loopback("10.0.0.1"));
    }
}
