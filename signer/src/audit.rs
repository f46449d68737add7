//! The audit log: one JSON line per decision, appended and fsynced before the answer leaves.
//!
//! It is its own sink, not a log level: operators keep it, ship it and grep it. It holds no
//! secrets: requests carry only public keys, and the signed transaction is public once sent.
//!
//! A flood cannot use it to fill the disk (`serve` sets [`AuditLimits`]):
//! - refusals of one kind from one peer ([`AuditLog::refusal`]) are written once in full, then
//!   counted: one summary line per peer and kind per interval ([`AuditLog::flush_refusals`]);
//! - past `max_bytes - reserve_bytes`, or with less than `reserve_bytes` free on the volume,
//!   only decisions that change the chain (`intent`, `applied`, `expired`, `pending`) are
//!   written; the rest is counted in the signer's log, and one `audit`/`suspended` line says so;
//! - a file of `reserve_bytes` (`audit.jsonl.reserve`) is kept beside the log and deleted when
//!   the volume runs full, so the kill switch's store and audit writes find room; if even then
//!   a chain-changing decision cannot be written, the error says exactly why, and the decision
//!   is not made.
//!
//! Every line is one line for any reader: besides JSON's own escapes, control characters, line
//! and paragraph separators and bidi controls in any field are written as `\uXXXX` escapes.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// The operation and the key that signs it, e.g. "witness_set_properties signed with the
    /// current signing key STM… (primary)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The url the signed transaction sends (witness_update only).
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
    /// On a summary line: how many refusals of this kind from this client it stands for (the
    /// first one was written in full before). Absent on every other line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl AuditEntry {
    /// Whether this line records a decision that changes (or may have changed) the chain: a
    /// broadcast about to happen, applied, expired or pending. Those are always written in full.
    pub fn changes_chain(&self) -> bool {
        matches!(self.decision, "intent" | "applied" | "expired" | "pending")
    }
}

/// What `serve` allows the audit log to take (other commands write without limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditLimits {
    /// Size cap of the file.
    pub max_bytes: u64,
    /// Room kept for chain-changing decisions (see the module documentation).
    pub reserve_bytes: u64,
    /// Interval of refusal summaries.
    pub summary_interval: Duration,
}

/// Most distinct (client, call, rule, kind) refusal summaries open at once; past it, further
/// clients are summarized together under the client `*`.
const MAX_REFUSAL_KEYS: usize = 1024;

/// How often the volume is checked (reserve released or re-created, drops reported).
const VOLUME_CHECK: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RefusalKey {
    client: String,
    call: &'static str,
    rule: String,
    kind: String,
}

#[derive(Debug)]
struct Bucket {
    /// Refusals counted since the last line for this key.
    count: u64,
    /// When the first of them came.
    since: String,
    /// Written in full since the last flush: kept one more interval even if quiet, so that a
    /// steady flood gets one summary per interval rather than a full line and a summary.
    fresh: bool,
}

/// Why ordinary lines are not being written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Suspension {
    Cap,
    VolumeFull,
}

/// Limits and their bookkeeping, shared by the clones of one [`AuditLog`].
#[derive(Debug, Default)]
struct Budget {
    limits: Option<AuditLimits>,
    refusals: Mutex<HashMap<RefusalKey, Bucket>>,
    /// Ordinary lines not written since the last report.
    dropped: AtomicU64,
    /// Ordinary lines not written in all.
    dropped_total: AtomicU64,
    /// Why ordinary lines are not written, and `dropped_total` when that began.
    suspended: Mutex<Option<(Suspension, u64)>>,
    /// Whether the reserve file exists (as far as we know).
    reserve_held: AtomicBool,
    /// Set in tests: the free space the volume reports.
    #[cfg(test)]
    fake_free: Mutex<Option<u64>>,
}

/// The append-only audit file, shared by all requests.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Arc<Mutex<std::fs::File>>,
    budget: Arc<Budget>,
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
            budget: Arc::new(Budget::default()),
        })
    }

    /// Applies `limits` (call before cloning the log) and creates the reserve file. Returns a
    /// warning when the reserve cannot be kept (the volume is already full).
    pub fn with_limits(mut self, limits: AuditLimits) -> (Self, Option<String>) {
        self.budget = Arc::new(Budget {
            limits: Some(limits),
            ..Budget::default()
        });
        let warning = match self.create_reserve(limits.reserve_bytes) {
            Ok(()) => None,
            Err(error) => Some(format!(
                "cannot keep the {}-byte audit reserve {}: {error}; with the state volume full, \
                 a kill switch may fail to be recorded (and then is not made): free space on it",
                limits.reserve_bytes,
                self.reserve_path().display()
            )),
        };
        (self, warning)
    }

    /// The reserve file beside the log.
    pub fn reserve_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".reserve");
        self.path.with_file_name(name)
    }

    /// Appends a refusal of a kind a peer can repeat at will (`kind` narrows its rule, e.g. a
    /// handshake's "no-certificate"). The first of its (client, call, rule, kind) is written
    /// in full; the next ones are counted until [`AuditLog::flush_refusals`]. Without limits,
    /// every refusal is written in full. Returns whether this one was written in full (callers
    /// log only those at warning level, so that the service log is not flooded either).
    pub async fn refusal(&self, entry: AuditEntry, kind: &str) -> Result<bool, Error> {
        if self.budget.limits.is_none() {
            return self.record(entry).await.map(|()| true);
        }
        let mut entry = entry;
        {
            let mut open = self
                .budget
                .refusals
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let mut key = RefusalKey {
                client: entry.client.clone(),
                call: entry.call,
                rule: entry.rule.clone().unwrap_or_default(),
                kind: kind.to_owned(),
            };
            if !open.contains_key(&key) && open.len() >= MAX_REFUSAL_KEYS {
                key.client = "*".into();
                if !open.contains_key(&key) {
                    entry.detail = format!(
                        "{} (more than {MAX_REFUSAL_KEYS} clients are being refused: from now \
                         on refusals of this kind from new clients are summarized together \
                         under client \"*\")",
                        entry.detail
                    );
                }
            }
            if let Some(bucket) = open.get_mut(&key) {
                if bucket.count == 0 {
                    bucket.since = now_rfc3339();
                }
                bucket.count += 1;
                return Ok(false);
            }
            open.insert(
                key,
                Bucket {
                    count: 0,
                    since: String::new(),
                    fresh: true,
                },
            );
        }
        self.record(entry).await.map(|()| true)
    }

    /// Writes one summary line for each (client, call, rule, kind) refused again since the
    /// last flush, and forgets those that were not (their next refusal is written in full).
    pub async fn flush_refusals(&self) {
        let interval = self
            .budget
            .limits
            .map_or(0, |l| l.summary_interval.as_secs());
        let lines: Vec<AuditEntry> = {
            let mut open = self
                .budget
                .refusals
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            open.retain(|_, bucket| bucket.count > 0 || std::mem::take(&mut bucket.fresh));
            open.iter_mut()
                .filter(|(_, bucket)| bucket.count > 0)
                .map(|(key, bucket)| {
                    let count = std::mem::take(&mut bucket.count);
                    AuditEntry {
                        call: key.call,
                        client: key.client.clone(),
                        decision: "refused",
                        rule: Some(key.rule.clone()).filter(|r| !r.is_empty()),
                        detail: format!(
                            "{count} more refusal(s) of this kind ({}) since {}; the first was \
                             written in full, the rest are summarized every {interval} s",
                            key.kind, bucket.since
                        ),
                        count: Some(count),
                        ..AuditEntry::default()
                    }
                })
                .collect()
        };
        for line in lines {
            if let Err(error) = self.record(line).await {
                tracing::error!(%error, "cannot write the audit log");
            }
        }
    }

    /// Flushes refusal summaries every `summary_interval` and watches the volume every few
    /// seconds (reserve released when it runs full, re-created when room returns, unwritten
    /// lines reported), until the task is aborted. Does nothing without limits.
    pub fn spawn_maintenance(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let Some(limits) = this.budget.limits else {
                return;
            };
            let tick = VOLUME_CHECK.min(limits.summary_interval);
            let mut since_flush = Duration::ZERO;
            loop {
                tokio::time::sleep(tick).await;
                since_flush += tick;
                if since_flush >= limits.summary_interval {
                    since_flush = Duration::ZERO;
                    this.flush_refusals().await;
                }
                let watcher = this.clone();
                let _ = tokio::task::spawn_blocking(move || watcher.check_volume()).await;
            }
        })
    }

    /// Lines not written because of the cap or a full volume, since start.
    pub fn dropped_lines(&self) -> u64 {
        self.budget.dropped_total.load(Ordering::Relaxed)
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
        let line = encode_line(entry);
        // A poisoned lock means a writer panicked mid-write; the file itself is still usable.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let Some(limits) = self.budget.limits else {
            return write_synced(&mut file, &line).map_err(|(_, source)| self.state_error(source));
        };
        if entry.changes_chain() {
            return self.write_chain_change(&mut file, &line, limits);
        }
        let len = u64::try_from(line.len()).unwrap_or(u64::MAX);
        let size = file.metadata().map_or(0, |m| m.len());
        let free = self.free_space(&file);
        let low = free.is_some_and(|free| free < limits.reserve_bytes.saturating_add(len));
        if low && self.budget.reserve_held.load(Ordering::Relaxed) {
            self.release_reserve(free);
        }
        let blocked = if size.saturating_add(len) > limits.max_bytes - limits.reserve_bytes {
            Some(Suspension::Cap)
        } else if low || !self.budget.reserve_held.load(Ordering::Relaxed) {
            Some(Suspension::VolumeFull)
        } else {
            None
        };
        let mut suspended = self
            .budget
            .suspended
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(why) = blocked {
            self.budget.dropped.fetch_add(1, Ordering::Relaxed);
            let before = self.budget.dropped_total.fetch_add(1, Ordering::Relaxed);
            if suspended.is_none_or(|(current, _)| current != why) {
                let since = suspended.map_or(before, |(_, since)| since);
                *suspended = Some((why, since));
                let detail = self.suspension_text(why, size, free, limits);
                tracing::error!("{detail}");
                // One line from the reserve says why the log goes quiet.
                let notice = encode_line(&AuditEntry {
                    time: now_rfc3339(),
                    call: "audit",
                    client: "local".into(),
                    decision: "suspended",
                    rule: Some(
                        match why {
                            Suspension::Cap => "audit-cap",
                            Suspension::VolumeFull => "audit-volume-full",
                        }
                        .into(),
                    ),
                    detail,
                    ..AuditEntry::default()
                });
                if let Err((_, error)) = write_synced(&mut file, &notice) {
                    tracing::error!(%error, "cannot write the audit log");
                }
            }
            return Ok(());
        }
        if let Some((_, since)) = suspended.take() {
            self.budget.dropped.store(0, Ordering::Relaxed);
            let missed = self.dropped_lines().saturating_sub(since);
            tracing::warn!(missed, "the audit log is written in full again");
            let notice = encode_line(&AuditEntry {
                time: now_rfc3339(),
                call: "audit",
                client: "local".into(),
                decision: "resumed",
                detail: format!(
                    "written in full again; {missed} line(s) that did not change the chain were \
                     not written while suspended"
                ),
                count: Some(missed),
                ..AuditEntry::default()
            });
            write_synced(&mut file, &notice).map_err(|(_, source)| self.state_error(source))?;
        }
        match write_synced(&mut file, &line) {
            Ok(()) => Ok(()),
            // The volume filled between the check and the write: this line is dropped (cut
            // back if half written), the reserve goes to the chain-changing lines.
            Err((written, error)) if is_no_space(&error) => {
                if written > 0 {
                    let _ = file.set_len(size);
                }
                self.budget.dropped.fetch_add(1, Ordering::Relaxed);
                let before = self.budget.dropped_total.fetch_add(1, Ordering::Relaxed);
                *suspended = Some((Suspension::VolumeFull, before));
                tracing::error!(%error, "{}", self.suspension_text(Suspension::VolumeFull, size, free, limits));
                self.release_reserve(free);
                Ok(())
            }
            Err((_, source)) => Err(self.state_error(source)),
        }
    }

    /// Writes a chain-changing line whatever the cap; on a full volume, deletes the reserve and
    /// retries once; failing that, says exactly why.
    fn write_chain_change(
        &self,
        file: &mut std::fs::File,
        line: &[u8],
        limits: AuditLimits,
    ) -> Result<(), Error> {
        let mut written = 0;
        let error = match write_synced_from(file, line, &mut written) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if !is_no_space(&error) {
            return Err(self.state_error(error));
        }
        let held = self.budget.reserve_held.load(Ordering::Relaxed);
        if held {
            self.release_reserve(self.free_space(file));
            // Continue the same line where the write stopped.
            if write_synced_from(file, line, &mut written).is_ok() {
                return Ok(());
            }
        }
        let free = self
            .free_space(file)
            .map_or_else(|| "unknown".to_owned(), |f| f.to_string());
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let reserve = if held {
            "was deleted just now and that was not enough"
        } else {
            "had already been used up (or could not be created)"
        };
        Err(self.state_error(std::io::Error::new(
            error.kind(),
            format!(
                "cannot record a decision that changes the chain: {error}; {free} bytes free on \
                 the volume of {dir}; the {}-byte audit reserve {reserve}. The change is not \
                 made until it can be recorded: free space on that volume",
                limits.reserve_bytes,
                dir = dir.display()
            ),
        )))
    }

    fn suspension_text(
        &self,
        why: Suspension,
        size: u64,
        free: Option<u64>,
        limits: AuditLimits,
    ) -> String {
        match why {
            Suspension::Cap => format!(
                "the audit log {} reached {size} bytes, its cap of {} bytes ([listen] \
                 audit_max_bytes) less the {}-byte reserve: lines that do not change the chain \
                 are no longer written (counted in the signer's log); intent, applied, expired \
                 and pending lines still are. Archive the file, empty it (truncate) or raise the \
                 cap",
                self.path.display(),
                limits.max_bytes,
                limits.reserve_bytes
            ),
            Suspension::VolumeFull => format!(
                "the volume of the audit log {} is full ({} bytes free, {} kept in reserve): \
                 lines that do not change the chain are no longer written (counted in the \
                 signer's log); the reserve is kept for intent, applied, expired and pending \
                 lines. Free space on that volume",
                self.path.display(),
                free.map_or_else(|| "unknown".to_owned(), |f| f.to_string()),
                limits.reserve_bytes
            ),
        }
    }

    fn state_error(&self, source: std::io::Error) -> Error {
        Error::State {
            path: self.path.clone(),
            source,
        }
    }

    /// Bytes available to this process on the log's volume, if the system says.
    fn free_space(&self, file: &std::fs::File) -> Option<u64> {
        #[cfg(test)]
        if let Some(free) = *self
            .budget
            .fake_free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
        {
            return Some(free);
        }
        let stat = nix::sys::statvfs::fstatvfs(file).ok()?;
        Some(stat.blocks_available().saturating_mul(stat.fragment_size()))
    }

    fn create_reserve(&self, bytes: u64) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.reserve_path();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
        let len = i64::try_from(bytes).map_err(std::io::Error::other)?;
        if file.metadata()?.len() < bytes {
            match nix::fcntl::posix_fallocate(&file, 0, len) {
                Ok(()) => {}
                Err(nix::errno::Errno::EOPNOTSUPP | nix::errno::Errno::EINVAL) => {
                    // No fallocate on this file system: zeros take the room.
                    let zeros = vec![0u8; 64 * 1024];
                    let mut file = &file;
                    let mut left = bytes;
                    while left > 0 {
                        let n = left.min(zeros.len() as u64) as usize;
                        file.write_all(&zeros[..n])?;
                        left -= n as u64;
                    }
                }
                Err(errno) => {
                    drop(file);
                    let _ = std::fs::remove_file(&path);
                    return Err(errno.into());
                }
            }
            file.sync_all()?;
        }
        self.budget.reserve_held.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn release_reserve(&self, free: Option<u64>) {
        if !self.budget.reserve_held.swap(false, Ordering::Relaxed) {
            return;
        }
        let path = self.reserve_path();
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::error!(
                free = free.unwrap_or_default(),
                reserve = %path.display(),
                "the state volume is full: deleted the audit reserve so that chain-changing \
                 decisions (the kill switch) can still be recorded; lines that do not change the \
                 chain are not written until there is room again. Free space on that volume"
            ),
            Err(error) => {
                tracing::error!(%error, reserve = %path.display(), "the state volume is full and the audit reserve cannot be deleted")
            }
        }
    }

    /// The periodic volume check (blocking: run it off the runtime).
    fn check_volume(&self) {
        let Some(limits) = self.budget.limits else {
            return;
        };
        let free = {
            let file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            self.free_space(&file)
        };
        let held = self.budget.reserve_held.load(Ordering::Relaxed);
        match free {
            Some(free) if held && free < limits.reserve_bytes => self.release_reserve(Some(free)),
            // Room again (with margin, so it does not flap): keep a reserve again.
            Some(free) if !held && free >= limits.reserve_bytes.saturating_mul(3) => {
                match self.create_reserve(limits.reserve_bytes) {
                    Ok(()) => tracing::warn!(
                        free,
                        "the state volume has room again: the audit reserve is kept again"
                    ),
                    Err(error) => tracing::error!(%error, "cannot re-create the audit reserve"),
                }
            }
            _ => {}
        }
        let suspended = *self
            .budget
            .suspended
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((why, _)) = suspended {
            let missed = self.budget.dropped.swap(0, Ordering::Relaxed);
            if missed > 0 {
                let why = match why {
                    Suspension::Cap => "its size cap is reached",
                    Suspension::VolumeFull => "its volume is full",
                };
                tracing::error!(
                    missed,
                    total = self.dropped_lines(),
                    "audit lines not written because {why} (decisions that change the chain are \
                     still written)"
                );
            }
        }
    }

    #[cfg(test)]
    fn fake_free_space(&self, free: Option<u64>) {
        *self
            .budget
            .fake_free
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = free;
    }
}

/// One JSON line, with the characters that could split or reorder it for a reader escaped.
fn encode_line(entry: &AuditEntry) -> Vec<u8> {
    // Strings, integers and options only: serialization cannot fail.
    let json = serde_json::to_string(entry).unwrap_or_default();
    let mut line = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        // Only inside strings (our keys are plain), and all in the BMP: one \uXXXX each.
        if crate::input::forbidden_character(c).is_some() {
            line.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            line.push(c);
        }
    }
    line.push('\n');
    line.into_bytes()
}

/// Writes `line` from `*written` on and syncs; `*written` says how far it got.
fn write_synced_from(
    file: &mut std::fs::File,
    line: &[u8],
    written: &mut usize,
) -> std::io::Result<()> {
    while let Some(rest) = line.get(*written..).filter(|r| !r.is_empty()) {
        match file.write(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => *written += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    file.sync_data()
}

fn write_synced(file: &mut std::fs::File, line: &[u8]) -> Result<(), (usize, std::io::Error)> {
    let mut written = 0;
    write_synced_from(file, line, &mut written).map_err(|e| (written, e))
}

fn is_no_space(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(nix::errno::Errno::ENOSPC as i32)
        || error.raw_os_error() == Some(nix::errno::Errno::EDQUOT as i32)
        || error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::QuotaExceeded
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

    fn limits(max_bytes: u64, reserve_bytes: u64) -> AuditLimits {
        AuditLimits {
            max_bytes,
            reserve_bytes,
            summary_interval: Duration::from_secs(60),
        }
    }

    fn read_lines(path: &Path) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
        let text = std::fs::read_to_string(path)?;
        Ok(text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?)
    }

    fn refused(client: &str, rule: &str) -> AuditEntry {
        AuditEntry {
            call: "status",
            client: client.into(),
            decision: "refused",
            rule: Some(rule.into()),
            detail: "too many requests".into(),
            ..AuditEntry::default()
        }
    }

    #[tokio::test]
    async fn repeated_refusals_are_written_once_then_summarized_per_client_and_kind()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.jsonl");
        let (log, warning) = AuditLog::open(&path)?.with_limits(limits(1 << 20, 4096));
        assert_eq!(warning, None);
        assert!(log.reserve_path().exists());
        for _ in 0..1000 {
            log.refusal(refused("ops", "rate-limit"), "rate-limit")
                .await?;
        }
        log.refusal(refused("monitor", "rate-limit"), "rate-limit")
            .await?;
        log.refusal(refused("ops", "malformed-request"), "malformed-request")
            .await?;
        assert_eq!(read_lines(&path)?.len(), 3);
        log.flush_refusals().await;
        let lines = read_lines(&path)?;
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[3]["client"], "ops");
        assert_eq!(lines[3]["rule"], "rate-limit");
        assert_eq!(lines[3]["count"], 999);
        // A quiet interval writes nothing; the next one after it is written in full again.
        log.flush_refusals().await;
        log.flush_refusals().await;
        assert_eq!(read_lines(&path)?.len(), 4);
        log.refusal(refused("ops", "rate-limit"), "rate-limit")
            .await?;
        let lines = read_lines(&path)?;
        assert_eq!(lines.len(), 5);
        assert!(lines[4].get("count").is_none());
        Ok(())
    }

    #[tokio::test]
    async fn past_the_cap_only_chain_changes_are_written_and_the_log_says_so_once()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.jsonl");
        let (log, _) = AuditLog::open(&path)?.with_limits(limits(16 * 1024, 8 * 1024));
        let mut written = 0;
        for i in 0..200 {
            log.record(AuditEntry {
                call: "dry-run",
                client: format!("client-{i}"),
                decision: "allowed",
                detail: "x".repeat(200),
                ..AuditEntry::default()
            })
            .await?;
            written = i;
        }
        assert_eq!(written, 199);
        let size = std::fs::metadata(&path)?.len();
        assert!(size <= 8 * 1024 + 1024, "{size}");
        assert!(log.dropped_lines() > 100);
        for decision in ["intent", "applied"] {
            log.record(AuditEntry {
                call: "set-signing-key",
                client: "spiffe://vwf/monitor".into(),
                decision,
                detail: "y".repeat(300),
                ..AuditEntry::default()
            })
            .await?;
        }
        let lines = read_lines(&path)?;
        let notices: Vec<_> = lines.iter().filter(|l| l["call"] == "audit").collect();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0]["decision"], "suspended");
        assert_eq!(notices[0]["rule"], "audit-cap");
        assert!(
            notices[0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("audit_max_bytes"))
        );
        let n = lines.len();
        assert_eq!(lines[n - 2]["decision"], "intent");
        assert_eq!(lines[n - 1]["decision"], "applied");
        assert!(std::fs::metadata(&path)?.len() <= 16 * 1024);
        // Emptied by the operator: written in full again, with a count of what was missed.
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_len(0)?;
        log.record(refused("ops", "x")).await?;
        let lines = read_lines(&path)?;
        assert_eq!(lines[0]["decision"], "resumed");
        assert_eq!(lines[1]["client"], "ops");
        Ok(())
    }

    #[tokio::test]
    async fn a_full_volume_releases_the_reserve_and_keeps_only_chain_changes()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.jsonl");
        let (log, _) = AuditLog::open(&path)?.with_limits(limits(1 << 20, 4096));
        log.record(refused("ops", "a")).await?;
        log.fake_free_space(Some(1000));
        log.record(refused("ops", "b")).await?;
        assert!(!log.reserve_path().exists(), "the reserve is still held");
        log.record(AuditEntry {
            call: "set-signing-key",
            decision: "intent",
            ..AuditEntry::default()
        })
        .await?;
        let lines = read_lines(&path)?;
        let decisions: Vec<_> = lines.iter().map(|l| l["decision"].clone()).collect();
        assert_eq!(decisions, ["refused", "suspended", "intent"], "{lines:?}");
        assert_eq!(lines[1]["rule"], "audit-volume-full");
        // Room again: the periodic check keeps a reserve again, and lines resume.
        log.fake_free_space(Some(1 << 30));
        log.check_volume();
        assert!(log.reserve_path().exists());
        log.record(refused("ops", "c")).await?;
        let lines = read_lines(&path)?;
        assert_eq!(lines[3]["decision"], "resumed");
        assert_eq!(lines[3]["count"], 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_chain_change_that_cannot_be_written_says_exactly_why()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let full = dir.path().join("audit.jsonl");
        // Every write to /dev/full fails with ENOSPC; the reserve lives beside the link.
        std::os::unix::fs::symlink("/dev/full", &full)?;
        let (log, _) = AuditLog::open(&full)?.with_limits(limits(1 << 20, 4096));
        assert!(log.reserve_path().exists());
        let error = log
            .record(AuditEntry {
                call: "set-signing-key",
                decision: "intent",
                ..AuditEntry::default()
            })
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("cannot record a decision that changes the chain"),
            "{error}"
        );
        assert!(error.contains("No space left"), "{error}");
        assert!(error.contains("was deleted just now"), "{error}");
        assert!(error.contains("free space on that volume"), "{error}");
        assert!(!log.reserve_path().exists());
        // Ordinary lines are dropped, not errors.
        log.record(refused("ops", "a")).await?;
        Ok(())
    }

    #[tokio::test]
    async fn separators_and_bidi_controls_are_escaped_so_a_line_stays_one_line()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path)?;
        let reason = "a\u{85}b\u{2028}c\u{2029}d\u{202e}e\u{7f}f\ng é";
        log.record(AuditEntry {
            call: "set-signing-key",
            reason: reason.into(),
            decision: "refused",
            ..AuditEntry::default()
        })
        .await?;
        let text = std::fs::read_to_string(&path)?;
        assert_eq!(text.lines().count(), 1);
        assert!(
            text.chars()
                .all(|c| c == '\n' || crate::input::forbidden_character(c).is_none()),
            "{text:?}"
        );
        assert!(text.contains("\\u2028") && text.contains("\\u202e") && text.contains('é'));
        assert_eq!(read_lines(&path)?[0]["reason"], reason);
        Ok(())
    }
}
