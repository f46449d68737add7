//! `state.json` in the state directory: JSON, mode 0600, replaced atomically and fsynced with
//! [`vwf_shared::persist::write_atomic`].
//!
//! A file that cannot be read or parsed, or that belongs to another account or format version,
//! is an error: the monitor refuses to start rather than act without knowing what it did before.
//! The operator moves the file away (a fresh start follows the chain) after reading it.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::state::{STATE_VERSION, State};

/// The file name inside the state directory.
pub const FILE_NAME: &str = "state.json";

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// Reading, creating the directory or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid state file.
    #[error(
        "{path}: corrupt state file ({message}); refusing to start. Inspect it, then move it away to start fresh (the monitor will follow the chain)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Written for another account or format.
    #[error("{path}: {message}; refusing to start. Use another state_dir or move the file away")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        message: String,
    },
}

/// The state file path for `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Loads the state for `account`; a missing file gives a fresh state.
pub fn load(dir: &Path, account: &str) -> Result<State, StateFileError> {
    let file = path(dir);
    let text = match fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::new(account)),
        Err(source) => return Err(StateFileError::Io { path: file, source }),
    };
    let state: State = serde_json::from_str(&text).map_err(|e| StateFileError::Corrupt {
        path: file.clone(),
        message: e.to_string(),
    })?;
    if state.version != STATE_VERSION {
        return Err(StateFileError::Mismatch {
            path: file,
            message: format!(
                "format version {} (this monitor reads {STATE_VERSION})",
                state.version
            ),
        });
    }
    if state.account != account {
        return Err(StateFileError::Mismatch {
            path: file,
            message: format!(
                "written for account {:?}, config says {account:?}",
                state.account
            ),
        });
    }
    Ok(state)
}

/// Loads without creating anything; `None` if there is no file (for `status`).
pub fn peek(dir: &Path, account: &str) -> Result<Option<State>, StateFileError> {
    if path(dir).exists() {
        load(dir, account).map(Some)
    } else {
        Ok(None)
    }
}

/// Creates the state directory (0700) if missing.
pub fn ensure_dir(dir: &Path) -> Result<(), StateFileError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StateFileError::Io {
            path: dir.to_owned(),
            source,
        })
}

/// Writes the state atomically and durably, mode 0600.
pub fn save(dir: &Path, state: &State) -> Result<(), StateFileError> {
    let file = path(dir);
    let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| StateFileError::Corrupt {
        path: file.clone(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    vwf_shared::persist::write_atomic(&file, &bytes, 0o600)
        .map_err(|source| StateFileError::Io { path: file, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Miss, Mode, Pending, PendingStatus};
    use std::os::unix::fs::PermissionsExt;
    use vwf_shared::PublicKey;

    fn key() -> PublicKey {
        PublicKey::parse(
            "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG",
            "VIT",
        )
        .unwrap_or(PublicKey::NULL)
    }

    #[test]
    fn state_round_trips_with_mode_0600() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut st = State::new("vit-test-witness");
        st.mode = Mode::Active {
            server: "primary".into(),
            key: key(),
            baseline_total_missed: 5,
            takeover_block: 100,
            last_total_missed: 6,
            misses: vec![Miss {
                block: 101,
                time: 1_700_000_000,
                count: 1,
            }],
        };
        st.pending = Some(Pending {
            request_id: "r-1".into(),
            from_server: "primary".into(),
            expected_key: key(),
            target_server: "null".into(),
            target_key: PublicKey::NULL,
            reason: "why".into(),
            attempts: 2,
            dry_run: false,
            status: PendingStatus::Intent,
        });
        st.alerts.open.insert("node-0".into(), 42);
        save(dir.path(), &st)?;
        assert_eq!(load(dir.path(), "vit-test-witness")?, st);
        let mode = fs::metadata(path(dir.path()))?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        Ok(())
    }

    #[test]
    fn missing_file_is_a_fresh_state() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert_eq!(load(dir.path(), "acc")?, State::new("acc"));
        assert!(peek(dir.path(), "acc")?.is_none());
        Ok(())
    }

    #[test]
    fn corrupt_state_file_refuses_to_start() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        fs::write(
            path(dir.path()),
            b"{\"version\":1,\"account\":\"acc\",\"mode\":",
        )?;
        let err = load(dir.path(), "acc");
        assert!(
            matches!(err, Err(StateFileError::Corrupt { .. })),
            "{err:?}"
        );
        fs::write(path(dir.path()), b"")?;
        assert!(matches!(
            load(dir.path(), "acc"),
            Err(StateFileError::Corrupt { .. })
        ));
        Ok(())
    }

    #[test]
    fn state_of_another_account_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        save(dir.path(), &State::new("other"))?;
        let err = load(dir.path(), "acc");
        assert!(
            matches!(err, Err(StateFileError::Mismatch { .. })),
            "{err:?}"
        );
        Ok(())
    }
}
