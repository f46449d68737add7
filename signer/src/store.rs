//! The request store: what the signer decided for each (client, request id), persisted
//! atomically before the answer leaves, so a retried request, or one repeated after a restart,
//! gets the first outcome and never causes a second broadcast.
//!
//! A request is written as `Pending` (with its signed transaction) before broadcasting and as
//! `Done` after, so a crash between the two is visible at the next request with that id and is
//! reconciled against the chain instead of broadcast blindly again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use std::os::unix::fs::OpenOptionsExt;

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use vwf_shared::persist::write_atomic;

use crate::error::Error;

/// Done records older than this are dropped when the file is rewritten (30 days); a flap window
/// longer than this is refused by the config check, so pruning never forgets a counted change.
pub const RETENTION_SECONDS: u64 = 30 * 24 * 3600;

/// A final answer, as returned to the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// Included in a block.
    Applied {
        /// Transaction id.
        tx_id: String,
        /// Including block.
        block_num: u32,
        /// The key now on chain.
        signing_key: String,
    },
    /// The chain already held the target.
    AlreadyInEffect {
        /// The key on chain.
        signing_key: String,
    },
    /// Refused by a rule.
    Refused {
        /// The rule's stable name.
        rule: String,
        /// Why.
        reason: String,
    },
}

/// Where a request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RequestState {
    /// Signed and about to be (or being) broadcast.
    Pending {
        /// The signed legacy JSON, to re-send the same bytes.
        signed_tx_json: String,
        /// Its id.
        tx_id: String,
        /// Its expiration, unix seconds.
        expiration: u32,
        /// The agreed head block when it was signed: it cannot be in an earlier block.
        #[serde(default)]
        from_block: u32,
    },
    /// Answered.
    Done {
        /// The answer.
        outcome: Outcome,
    },
}

/// One request's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The witness account.
    pub account: String,
    /// The target key string.
    pub target: String,
    /// The expected current key string.
    pub expected: String,
    /// When it was last updated, unix seconds.
    pub at: u64,
    /// Where it stands.
    #[serde(flatten)]
    pub state: RequestState,
}

impl RequestRecord {
    /// Whether this record is the same request (same account, target and expected key).
    pub fn same_request(&self, account: &str, target: &str, expected: &str) -> bool {
        self.account == account && self.target == target && self.expected == expected
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    version: u32,
    /// Keyed by "client identity" + '\n' + "request id": ids are per client.
    requests: BTreeMap<String, RequestRecord>,
}

/// Held while one request acts; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _locked: Flock<std::fs::File>,
}

/// The persisted store.
#[derive(Clone, Debug)]
pub struct RequestStore {
    path: PathBuf,
    file: Arc<Mutex<StoreFile>>,
}

fn store_key(client: &str, request_id: &str) -> String {
    format!("{client}\n{request_id}")
}

impl RequestStore {
    /// Opens the store at `path`, creating it empty if missing. A file that does not parse is
    /// an error, never silently replaced: it holds the memory of what was broadcast.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                path: path.to_owned(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StoreFile {
                version: 1,
                requests: BTreeMap::new(),
            },
            Err(source) => {
                return Err(Error::State {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Ok(RequestStore {
            path: path.to_owned(),
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Opens the store beside its audit log. A missing store is created afresh only when the
    /// audit log records no signing decision; and every change the audit log records as
    /// broadcast or applied within the retention period must be in the store. Otherwise a
    /// deleted, emptied or older `requests.json` would silently reset the flap history, so
    /// this refuses and says how to recover.
    pub fn open_beside_audit(path: &Path, audit: &Path) -> Result<Self, Error> {
        let since = crate::engine::unix_now().saturating_sub(RETENTION_SECONDS);
        let history = crate::audit::signing_history(audit, since)?;
        let present = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
        if !present {
            if history.decisions > 0 {
                return Err(Error::HistoryMissing {
                    store: path.to_owned(),
                    audit: audit.to_owned(),
                    decisions: history.decisions,
                });
            }
            let empty = StoreFile {
                version: 1,
                requests: BTreeMap::new(),
            };
            let bytes = serde_json::to_vec_pretty(&empty).unwrap_or_default();
            write_atomic(path, &bytes, 0o600).map_err(|source| Error::State {
                path: path.to_owned(),
                source,
            })?;
        }
        let store = Self::open(path)?;
        let missing = history
            .recent_changes
            .iter()
            .filter(|(client, id)| store.get(client, id).is_none())
            .count();
        if missing > 0 {
            return Err(Error::HistoryMissing {
                store: path.to_owned(),
                audit: audit.to_owned(),
                decisions: missing,
            });
        }
        Ok(store)
    }

    /// Re-reads the file: another process (`vwf-signer witness …` beside `serve`) may have
    /// written it. Call while holding [`RequestStore::lock_exclusive`].
    pub fn reload(&self) -> Result<(), Error> {
        let fresh = Self::open(&self.path)?;
        let file = std::mem::take(&mut *fresh.lock());
        *self.lock() = file;
        Ok(())
    }

    /// Takes the cross-process lock of the state directory (`requests.lock` beside the store),
    /// waiting for another process's request to finish: one writer of the store at a time.
    pub async fn lock_exclusive(&self) -> Result<StoreLock, Error> {
        let path = self.path.with_extension("lock");
        let state_error = |source| Error::State {
            path: path.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(state_error)?;
        let locked = tokio::task::spawn_blocking(move || {
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| errno)
        })
        .await
        .map_err(|e| Error::Internal(format!("store lock waiter stopped: {e}")))?
        .map_err(|errno| state_error(std::io::Error::from(errno)))?;
        Ok(StoreLock { _locked: locked })
    }

    /// The record for a client's request id.
    pub fn get(&self, client: &str, request_id: &str) -> Option<RequestRecord> {
        self.lock()
            .requests
            .get(&store_key(client, request_id))
            .cloned()
    }

    /// Unix times of the changes on `account` that count toward the flap limit: applied ones and
    /// pending ones (broadcast, outcome not yet known: they may have landed).
    pub fn change_times(&self, account: &str) -> Vec<u64> {
        self.lock()
            .requests
            .values()
            .filter(|r| r.account == account)
            .filter(|r| {
                matches!(
                    &r.state,
                    RequestState::Pending { .. }
                        | RequestState::Done {
                            outcome: Outcome::Applied { .. }
                        }
                )
            })
            .map(|r| r.at)
            .collect()
    }

    /// The pending requests on `account`, as (client, request id, record).
    pub fn pending_on(&self, account: &str) -> Vec<(String, String, RequestRecord)> {
        self.lock()
            .requests
            .iter()
            .filter(|(_, r)| {
                r.account == account && matches!(r.state, RequestState::Pending { .. })
            })
            .filter_map(|(key, r)| {
                let (client, request_id) = key.split_once('\n')?;
                Some((client.to_owned(), request_id.to_owned(), r.clone()))
            })
            .collect()
    }

    /// Records a request's state and persists the whole store atomically before returning.
    pub async fn put(
        &self,
        client: &str,
        request_id: &str,
        record: RequestRecord,
    ) -> Result<(), Error> {
        let bytes = {
            let mut file = self.lock();
            let now = record.at;
            file.requests.insert(store_key(client, request_id), record);
            file.requests.retain(|_, r| {
                matches!(r.state, RequestState::Pending { .. })
                    || now.saturating_sub(r.at) < RETENTION_SECONDS
            });
            // Plain strings and integers: serialization cannot fail.
            serde_json::to_vec_pretty(&*file).unwrap_or_default()
        };
        self.persist(bytes).await
    }

    /// Forgets a request (its pending transaction expired unincluded) and persists.
    pub async fn remove(&self, client: &str, request_id: &str) -> Result<(), Error> {
        let bytes = {
            let mut file = self.lock();
            file.requests.remove(&store_key(client, request_id));
            serde_json::to_vec_pretty(&*file).unwrap_or_default()
        };
        self.persist(bytes).await
    }

    async fn persist(&self, bytes: Vec<u8>) -> Result<(), Error> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomic(&path, &bytes, 0o600))
            .await
            .map_err(|e| Error::Internal(format!("store writer stopped: {e}")))?
            .map_err(|source| Error::State {
                path: self.path.clone(),
                source,
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreFile> {
        // Updates happen under the lock without panicking code; a poisoned lock still holds a
        // consistent map.
        self.file.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: u64, state: RequestState) -> RequestRecord {
        RequestRecord {
            account: "vit-test-witness".into(),
            target: "VIT6qcf".into(),
            expected: "VIT84Ce".into(),
            at,
            state,
        }
    }

    fn applied(block_num: u32) -> RequestState {
        RequestState::Done {
            outcome: Outcome::Applied {
                tx_id: "ab".into(),
                block_num,
                signing_key: "VIT6qcf".into(),
            },
        }
    }

    #[tokio::test]
    async fn outcomes_survive_a_reopen_and_ids_are_per_client()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("requests.json");
        let store = RequestStore::open(&path)?;
        store.put("monitor", "r1", record(100, applied(7))).await?;
        let reopened = RequestStore::open(&path)?;
        assert_eq!(reopened.get("monitor", "r1"), Some(record(100, applied(7))));
        assert_eq!(reopened.get("other-client", "r1"), None);
        assert_eq!(reopened.change_times("vit-test-witness"), vec![100]);
        Ok(())
    }

    #[tokio::test]
    async fn old_done_records_are_pruned_but_pending_ones_kept()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = RequestStore::open(&dir.path().join("requests.json"))?;
        let pending = RequestState::Pending {
            signed_tx_json: "{}".into(),
            tx_id: "ab".into(),
            expiration: 5,
            from_block: 1,
        };
        store.put("m", "old", record(1, applied(1))).await?;
        store.put("m", "stuck", record(1, pending)).await?;
        store
            .put("m", "new", record(RETENTION_SECONDS + 10, applied(2)))
            .await?;
        assert!(store.get("m", "old").is_none());
        assert!(store.get("m", "stuck").is_some());
        assert!(store.get("m", "new").is_some());
        // Pending counts toward the flap limit (its outcome is unknown), expired-and-removed does not.
        assert_eq!(store.change_times("vit-test-witness").len(), 2);
        assert_eq!(store.pending_on("vit-test-witness").len(), 1);
        store.remove("m", "stuck").await?;
        assert_eq!(store.change_times("vit-test-witness").len(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_lost_store_is_refused_when_the_audit_log_shows_decisions()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = dir.path().join("requests.json");
        let audit = dir.path().join("audit.jsonl");
        // A fresh install: created empty, and a start line alone is no history.
        std::fs::write(&audit, "{\"call\":\"start\"}\n")?;
        RequestStore::open_beside_audit(&store, &audit)?;
        assert!(store.exists());
        std::fs::remove_file(&store)?;
        std::fs::write(
            &audit,
            "{\"call\":\"start\"}\n{\"time\":\"t\",\"call\":\"set-signing-key\",\"decision\":\"applied\"}\n",
        )?;
        let refused = RequestStore::open_beside_audit(&store, &audit);
        assert!(
            matches!(&refused, Err(Error::HistoryMissing { decisions: 1, .. })),
            "{refused:?}"
        );
        std::fs::write(&store, b"")?;
        assert!(RequestStore::open_beside_audit(&store, &audit).is_err());
        // An emptied store that still parses is refused too when the audit log names a recent
        // change it does not hold.
        std::fs::write(&store, b"{\"version\":1,\"requests\":{}}")?;
        let now = crate::audit::now_rfc3339();
        std::fs::write(
            &audit,
            format!(
                "{{\"time\":\"{now}\",\"call\":\"set-signing-key\",\"client\":\"m\",\"request_id\":\"r1\",\"decision\":\"intent\"}}\n"
            ),
        )?;
        let refused = RequestStore::open_beside_audit(&store, &audit);
        assert!(
            matches!(&refused, Err(Error::HistoryMissing { decisions: 1, .. })),
            "{refused:?}"
        );
        // With the record present, it opens.
        let opened = RequestStore::open(&store)?;
        opened.put("m", "r1", record(1, applied(3))).await?;
        assert!(RequestStore::open_beside_audit(&store, &audit).is_ok());
        Ok(())
    }

    #[tokio::test]
    async fn a_second_process_sees_the_first_ones_writes_after_the_lock()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("requests.json");
        let serve = RequestStore::open(&path)?;
        let cli = RequestStore::open(&path)?;
        {
            let _held = cli.lock_exclusive().await?;
            cli.reload()?;
            cli.put("operator", "op-1", record(100, applied(7))).await?;
        }
        let _held = serve.lock_exclusive().await?;
        assert!(
            serve.get("operator", "op-1").is_none(),
            "stale before reload"
        );
        serve.reload()?;
        assert_eq!(serve.change_times("vit-test-witness"), vec![100]);
        Ok(())
    }

    #[test]
    fn a_corrupt_store_is_an_error_not_a_fresh_start() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("requests.json");
        std::fs::write(&path, b"{not json")?;
        assert!(matches!(
            RequestStore::open(&path),
            Err(Error::Corrupt { .. })
        ));
        Ok(())
    }
}
