//! `signer.json`: which key the signer signs with for the account, as its `Status` said at the
//! monitor's last start, so that `vwf-monitor status` can show it without calling the signer.
//! Informative only: nothing decides on it, and a missing or unreadable file is shown as such.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vwf_proto::v1::StatusResponse;

/// Largest file read back.
const MAX_BYTES: u64 = 16 * 1024;

/// What the file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerMode {
    /// Unix time of the `Status` call.
    pub checked_at: i64,
    /// One line for a person, from [`describe`].
    pub line: String,
}

/// The file in the state directory.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("signer.json")
}

/// One line saying how the signer signs for `account`: "signing-key mode (…)" or "active-key
/// mode (…)"; `None` when its policy does not name the account for this client.
pub fn describe(status: &StatusResponse, account: &str) -> Option<String> {
    let entry = status.accounts.iter().find(|a| a.account == account)?;
    Some(match entry.mode.as_str() {
        "signing-key" => format!(
            "signing-key mode: witness_set_properties signed with the current block signing key \
             (held: {}); no active key on the signer host; re-enabling a disabled witness needs \
             `vwf-signer witness enable --active-key` on the signer host",
            if entry.signing_keys.is_empty() {
                "none".to_owned()
            } else {
                entry.signing_keys.join(", ")
            }
        ),
        // An empty mode comes from a signer older than the field: it only knew this mode.
        "active-key" | "" => format!(
            "active-key mode: witness_update signed with the active key {}",
            entry.active_key
        ),
        other => format!("mode {other:?} (unknown to this monitor)"),
    })
}

/// Writes the file atomically (mode 0600).
pub fn save(dir: &Path, mode: &SignerMode) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(mode).map_err(std::io::Error::other)?;
    vwf_shared::persist::write_atomic(&path(dir), &bytes, 0o600)
}

/// Reads the file back; `Ok(None)` when there is none yet.
pub fn load(dir: &Path) -> Result<Option<SignerMode>, String> {
    use std::io::Read;
    let file = path(dir);
    let handle = match std::fs::File::open(&file) {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let mut text = String::new();
    handle
        .take(MAX_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use vwf_proto::v1::AccountStatus;

    use super::*;

    fn status(mode: &str) -> StatusResponse {
        StatusResponse {
            accounts: vec![AccountStatus {
                account: "wit".into(),
                active_key: if mode == "signing-key" {
                    ""
                } else {
                    "STMactive"
                }
                .into(),
                allowed_targets: vec![],
                mode: mode.into(),
                signing_keys: if mode == "signing-key" {
                    vec!["STMp (primary)".into()]
                } else {
                    vec![]
                },
            }],
            ..StatusResponse::default()
        }
    }

    #[test]
    fn each_mode_is_described_and_an_old_signer_is_active_key() {
        let signing = describe(&status("signing-key"), "wit").unwrap_or_default();
        assert!(
            signing.starts_with("signing-key mode") && signing.contains("STMp (primary)"),
            "{signing}"
        );
        for mode in ["active-key", ""] {
            let active = describe(&status(mode), "wit").unwrap_or_default();
            assert!(
                active.starts_with("active-key mode") && active.contains("STMactive"),
                "{active}"
            );
        }
        assert_eq!(describe(&status("active-key"), "other"), None);
    }

    #[test]
    fn the_file_round_trips_and_a_missing_one_is_none() -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        assert_eq!(load(dir.path())?, None);
        let mode = SignerMode {
            checked_at: 5,
            line: "signing-key mode".into(),
        };
        save(dir.path(), &mode).map_err(|e| e.to_string())?;
        assert_eq!(load(dir.path())?, Some(mode));
        std::fs::write(path(dir.path()), "{").map_err(|e| e.to_string())?;
        assert!(load(dir.path()).is_err());
        Ok(())
    }
}
