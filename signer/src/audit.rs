//! The audit log: one JSON line per decision, appended and fsynced before the answer leaves.
//!
//! It is its own sink, not a log level: operators keep it, ship it and grep it. It holds no
//! secrets: requests carry only public keys, and the signed transaction is public once sent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use vwf_shared::persist::open_append;

use crate::error::Error;

/// One audit record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditEntry {
    /// UTC time, RFC 3339.
    pub time: String,
    /// What was asked: "set-signing-key", "dry-run", "status", "start".
    pub call: &'static str,
    /// The client's certificate identity ("cli" for local commands).
    pub client: String,
    /// The client's request id.
    pub request_id: String,
    /// The witness account.
    pub account: String,
    /// The key asked for.
    pub target: String,
    /// The key the client expected on chain.
    pub expected_current_key: String,
    /// The client's reason.
    pub reason: String,
    /// "applied", "already-in-effect", "refused", "allowed", "failed", "replayed".
    pub decision: &'static str,
    /// The rule for refusals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Details: the refusal reason or the failure.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The transaction id, once built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    /// The block that included it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_num: Option<u32>,
}

/// The append-only audit file, shared by all requests.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Arc<Mutex<std::fs::File>>,
}

impl AuditLog {
    /// Opens (or creates, mode 0600) the audit file for appending.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = open_append(path, 0o600).map_err(|source| Error::State {
            path: path.to_owned(),
            source,
        })?;
        Ok(AuditLog {
            path: path.to_owned(),
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Appends one entry and fsyncs it. Stamps the time if the entry has none.
    pub async fn record(&self, mut entry: AuditEntry) -> Result<(), Error> {
        if entry.time.is_empty() {
            entry.time = now_rfc3339();
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.write_line(&entry))
            .await
            .map_err(|e| Error::Internal(format!("audit writer stopped: {e}")))?
    }

    fn write_line(&self, entry: &AuditEntry) -> Result<(), Error> {
        let state_error = |source| Error::State {
            path: self.path.clone(),
            source,
        };
        // Strings, integers and options only: serialization cannot fail.
        let mut line = serde_json::to_vec(entry).unwrap_or_default();
        line.push(b'\n');
        // A poisoned lock means a writer panicked mid-write; the file itself is still usable.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(&line).map_err(state_error)?;
        file.sync_data().map_err(state_error)
    }
}

/// The current UTC time as RFC 3339 with seconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_are_appended_as_json_lines() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path)?;
        for decision in ["refused", "applied"] {
            log.record(AuditEntry {
                call: "set-signing-key",
                client: "spiffe://vwf/monitor".into(),
                decision,
                ..AuditEntry::default()
            })
            .await?;
        }
        // A second open (a restart) appends rather than truncates.
        AuditLog::open(&path)?
            .record(AuditEntry {
                call: "start",
                decision: "allowed",
                ..AuditEntry::default()
            })
            .await?;
        let text = std::fs::read_to_string(&path)?;
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["decision"], "refused");
        assert_eq!(lines[2]["call"], "start");
        assert!(lines[0]["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        Ok(())
    }
}
