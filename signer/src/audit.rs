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
    /// "intent" (written before a broadcast), "applied", "already-in-effect", "refused",
    /// "allowed", "failed", "pending" (outcome unknown), "expired", "replayed".
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
    /// The url the signed transaction sends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The props it sends, e.g. "account_creation_fee=0.100 VIT maximum_block_size=131072".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub props: Option<String>,
    /// Its expiration (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// Its TaPoS reference, "ref_block_num/ref_block_prefix (block N)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tapos: Option<String>,
    /// How the nodes agreed, e.g. "3 of 3 nodes agree (quorum 2)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<String>,
    /// A dry run's unsigned transaction (legacy JSON): what would be signed, never a signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// A dry run's digest (what would be signed), hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A warning the operator must see (e.g. a single-node configuration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
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

/// The signing decisions an audit log records: how many `set-signing-key` lines it holds, and
/// the (client, request id) of every change it records as broadcast (`intent`) or `applied`
/// since `since` (Unix seconds): the start-up check that the request store was not lost or
/// replaced by an empty one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SigningHistory {
    /// `set-signing-key` lines in the whole file.
    pub decisions: usize,
    /// (client, request id) of changes broadcast or applied since the cut-off, in file order.
    pub recent_changes: Vec<(String, String)>,
}

/// Reads `path` (missing = no history). Lines that do not parse are skipped: the log is ours,
/// and a torn last line after a crash must not stop the signer.
pub fn signing_history(path: &Path, since: u64) -> Result<SigningHistory, Error> {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SigningHistory::default()),
        Err(source) => {
            return Err(Error::State {
                path: path.to_owned(),
                source,
            });
        }
    };
    #[derive(serde::Deserialize)]
    struct Line {
        #[serde(default)]
        time: String,
        #[serde(default)]
        call: String,
        #[serde(default)]
        decision: String,
        #[serde(default)]
        client: String,
        #[serde(default)]
        request_id: String,
    }
    let mut history = SigningHistory::default();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.map_err(|source| Error::State {
            path: path.to_owned(),
            source,
        })?;
        let Ok(entry) = serde_json::from_slice::<Line>(&line) else {
            continue;
        };
        if entry.call != "set-signing-key" {
            continue;
        }
        history.decisions += 1;
        let recent = time::OffsetDateTime::parse(
            &entry.time,
            &time::format_description::well_known::Rfc3339,
        )
        .is_ok_and(|t| u64::try_from(t.unix_timestamp()).is_ok_and(|t| t >= since));
        let key = (entry.client, entry.request_id);
        match entry.decision.as_str() {
            "intent" | "applied" if recent && !history.recent_changes.contains(&key) => {
                history.recent_changes.push(key);
            }
            // Its transaction can no longer land: the store forgets it, and so does this check
            // (until a retry with the same id broadcasts again).
            "expired" => history.recent_changes.retain(|k| *k != key),
            _ => {}
        }
    }
    Ok(history)
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
