//! Alerts: the [`Alert`] type, the [`AlertSink`] trait and the rate-limiting [`Dispatcher`].
//!
//! Sinks: [`log::LogSink`], [`email::EmailSink`] (SMTP, STARTTLS required) and
//! [`webhook::WebhookSink`] (JSON, Slack, Discord, Telegram), built from `[alerts]` by
//! [`sinks::build_all`]; [`render`] is the shared wording. A new sink implements [`AlertSink`]
//! in `alert/<sink>.rs` and is added in `sinks::build_all`. A sink must not block for long (the
//! dispatcher awaits it inside the poll loop; use a timeout) and must never log secrets.
//!
//! Rate limiting: an alert's `key` names one ongoing problem. The same key is sent at most once
//! per `min_interval`; when a problem key stops being raised (see [`Dispatcher::clear`]) a
//! `Recovered` alert is sent. [`AlertState`] lives in the state file so a restart does not
//! repeat alerts. Actions, startup and recoveries are never suppressed. Keys of per-incident
//! alerts (missed blocks, failed actions) name their incident, so two incidents are never
//! grouped; a key not sent for a day (and two `min_interval`s) is forgotten.
//!
//! Dry-run mode: every alert of a dispatcher made [`Dispatcher::with_dry_run`] carries the
//! [`DRY_RUN_MARK`] at the front of its title, so nothing sent in dry-run mode reads as real.

pub mod email;
pub mod log;
pub mod render;
pub mod sinks;
pub mod webhook;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::state::AlertDraft;

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A key change happened (by us or by hand).
    Action,
    /// The signer refused or could not be reached.
    ActionFailed,
    /// Nodes disagree, are stale or unreachable; a backup is unhealthy.
    NodeTrouble,
    /// The active server missed blocks.
    MissingBlocks,
    /// The monitor started.
    Startup,
    /// A problem alerted earlier is gone.
    Recovered,
    /// The monitor cannot complete the mTLS handshake with the signer or call it.
    SignerTrouble,
    /// The signer's answer to a dry run: what it would have done, and why.
    DryRun,
    /// A certificate of the signer link (client or CA) expires soon, has expired or is not
    /// valid yet.
    CertExpiry,
    /// A test of the alert channels (`vwf-monitor test-alert`).
    Test,
}

/// The mark at the front of every alert title in dry-run mode.
pub const DRY_RUN_MARK: &str = "DRY-RUN: ";

/// An open key not sent again for this long (at least) is no longer being raised.
const FORGET_AFTER_MS: u64 = 24 * 60 * 60 * 1000;

/// How urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Someone should look.
    Warning,
    /// Someone must act or know now.
    Critical,
}

/// Where an alert comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The witness account.
    pub account: String,
    /// The monitor's host name.
    pub host: String,
}

/// One alert, ready for a sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Kind.
    pub kind: AlertKind,
    /// Severity.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// Details.
    pub body: String,
    /// Account and host.
    pub source: Source,
}

/// A sink failed to deliver.
#[derive(Debug, thiserror::Error)]
#[error("alert sink {sink}: {message}")]
pub struct AlertError {
    /// The sink's name.
    pub sink: String,
    /// What failed.
    pub message: String,
}

/// Delivers alerts somewhere. Object-safe so the daemon can hold several.
pub trait AlertSink: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &str;
    /// Delivers one alert.
    fn send<'a>(
        &'a self,
        alert: &'a Alert,
    ) -> Pin<Box<dyn Future<Output = Result<(), AlertError>> + Send + 'a>>;
}

/// Persistent rate-limit memory: when each problem key was last sent (Unix ms).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertState {
    /// Open problems: key -> last time sent.
    pub open: BTreeMap<String, u64>,
    /// Alerts suppressed since the last one sent, per key.
    #[serde(default)]
    pub suppressed: BTreeMap<String, u32>,
}

/// Rate-limits and fans out alerts. Clones share the sinks (for the background watches).
#[derive(Clone)]
pub struct Dispatcher {
    sinks: Arc<Vec<Box<dyn AlertSink>>>,
    source: Source,
    min_interval_ms: u64,
    dry_run: bool,
}

impl Dispatcher {
    /// A dispatcher over `sinks`.
    pub fn new(sinks: Vec<Box<dyn AlertSink>>, source: Source, min_interval_ms: u64) -> Self {
        Dispatcher {
            sinks: Arc::new(sinks),
            source,
            min_interval_ms,
            dry_run: false,
        }
    }

    /// The same dispatcher for a monitor in dry-run mode (`true`): every title it builds starts
    /// with [`DRY_RUN_MARK`].
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Decides whether `draft` goes out now, updating `state`; returns the alert to send.
    pub fn admit(&self, state: &mut AlertState, draft: &AlertDraft, now_ms: u64) -> Option<Alert> {
        let limited = matches!(
            draft.kind,
            AlertKind::NodeTrouble
                | AlertKind::MissingBlocks
                | AlertKind::ActionFailed
                | AlertKind::SignerTrouble
        ) || draft.key == "unknown-key";
        self.forget_stale(state, now_ms);
        if limited {
            if let Some(last) = state.open.get(&draft.key)
                && now_ms.saturating_sub(*last) < self.min_interval_ms
            {
                *state.suppressed.entry(draft.key.clone()).or_default() += 1;
                return None;
            }
            state.open.insert(draft.key.clone(), now_ms);
        }
        let mut body = draft.body.clone();
        if let Some(n) = state.suppressed.remove(&draft.key) {
            body.push_str(&format!(" ({n} similar alert(s) suppressed)"));
        }
        Some(self.alert(draft.kind, draft.severity, draft.title.clone(), body))
    }

    /// Forgets open keys not sent for a day and two `min_interval`s: an ongoing problem is sent
    /// again every `min_interval`, so such a key is no longer raised (e.g. an earlier
    /// incident's), and per-incident keys do not pile up in the state file.
    fn forget_stale(&self, state: &mut AlertState, now_ms: u64) {
        let horizon = self.min_interval_ms.saturating_mul(2).max(FORGET_AFTER_MS);
        state
            .open
            .retain(|_, last| now_ms.saturating_sub(*last) < horizon);
        let open = &state.open;
        state.suppressed.retain(|key, _| open.contains_key(key));
    }

    /// Closes problem `key` if open; returns the `Recovered` alert to send.
    pub fn clear(&self, state: &mut AlertState, key: &str, title: &str) -> Option<Alert> {
        state.open.remove(key)?;
        state.suppressed.remove(key);
        Some(self.alert(
            AlertKind::Recovered,
            Severity::Info,
            title.to_owned(),
            format!("resolved: {key}"),
        ))
    }

    /// Builds an alert with this monitor's source (its title marked in dry-run mode).
    pub fn alert(&self, kind: AlertKind, severity: Severity, title: String, body: String) -> Alert {
        let title = if self.dry_run && !title.starts_with(DRY_RUN_MARK) {
            format!("{DRY_RUN_MARK}{title}")
        } else {
            title
        };
        Alert {
            kind,
            severity,
            title,
            body,
            source: self.source.clone(),
        }
    }

    /// Sends to every sink; a failing sink is logged, never fatal.
    pub async fn deliver(&self, alert: &Alert) {
        for sink in self.sinks.iter() {
            if let Err(e) = sink.send(alert).await {
                tracing::error!(sink = sink.name(), cause = %e, "alert not delivered");
            }
        }
    }

    /// Delivers in the background, so a slow relay never delays a failover: the daemon's
    /// actions go on while the alert is on its way.
    pub fn deliver_in_background(&self, alert: Alert) {
        let this = self.clone();
        tokio::spawn(async move { this.deliver(&alert).await });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: AlertKind, key: &str) -> AlertDraft {
        AlertDraft {
            kind,
            severity: Severity::Warning,
            key: key.into(),
            title: "t".into(),
            body: "b".into(),
        }
    }

    fn dispatcher() -> Dispatcher {
        let source = Source {
            account: "a".into(),
            host: "h".into(),
        };
        Dispatcher::new(Vec::new(), source, 1000)
    }

    #[test]
    fn monitor_alerts_once_per_outage_then_recovers() {
        let d = dispatcher();
        let mut st = AlertState::default();
        let node = draft(AlertKind::NodeTrouble, "node-0");
        assert!(d.admit(&mut st, &node, 0).is_some());
        assert!(d.admit(&mut st, &node, 500).is_none());
        assert!(d.admit(&mut st, &node, 900).is_none());
        let again = d.admit(&mut st, &node, 1000).map(|a| a.body);
        assert_eq!(again.as_deref(), Some("b (2 similar alert(s) suppressed)"));
        let rec = d.clear(&mut st, "node-0", "node back");
        assert_eq!(rec.map(|a| a.kind), Some(AlertKind::Recovered));
        assert!(d.clear(&mut st, "node-0", "node back").is_none());
    }

    #[test]
    fn two_incidents_are_not_grouped() {
        let d = dispatcher();
        let mut st = AlertState::default();
        let first = draft(AlertKind::MissingBlocks, "missed-primary@100");
        let second = draft(AlertKind::MissingBlocks, "missed-backup-1@200");
        assert!(d.admit(&mut st, &first, 0).is_some());
        assert!(d.admit(&mut st, &first, 10).is_none());
        // The next take-over's misses go out at once, without the first incident's count.
        let next = d.admit(&mut st, &second, 20).map(|a| a.body);
        assert_eq!(next.as_deref(), Some("b"));
    }

    #[test]
    fn keys_no_longer_raised_are_forgotten() {
        let d = dispatcher();
        let mut st = AlertState::default();
        assert!(
            d.admit(&mut st, &draft(AlertKind::MissingBlocks, "old"), 0)
                .is_some()
        );
        let node = draft(AlertKind::NodeTrouble, "node-0");
        assert!(d.admit(&mut st, &node, FORGET_AFTER_MS - 1).is_some());
        assert!(d.admit(&mut st, &node, FORGET_AFTER_MS + 1).is_none());
        assert!(!st.open.contains_key("old"), "{:?}", st.open);
        assert!(st.open.contains_key("node-0"));
    }

    #[test]
    fn dry_run_titles_are_marked_everywhere() {
        let d = dispatcher().with_dry_run(true);
        let mut st = AlertState::default();
        let failed = draft(AlertKind::ActionFailed, "signer-x");
        let sent = d.admit(&mut st, &failed, 0).map(|a| a.title);
        assert_eq!(sent.as_deref(), Some("DRY-RUN: t"));
        let started = d.alert(
            AlertKind::Startup,
            Severity::Info,
            "up".into(),
            String::new(),
        );
        assert_eq!(started.title, "DRY-RUN: up");
        let rec = d.clear(&mut st, "signer-x", "fine").map(|a| a.title);
        assert_eq!(rec.as_deref(), Some("DRY-RUN: fine"));
        // Live mode leaves titles alone.
        let live = dispatcher().alert(
            AlertKind::Startup,
            Severity::Info,
            "up".into(),
            String::new(),
        );
        assert_eq!(live.title, "up");
    }

    #[test]
    fn actions_are_never_suppressed() {
        let d = dispatcher();
        let mut st = AlertState::default();
        let act = draft(AlertKind::Action, "action-x");
        assert!(d.admit(&mut st, &act, 0).is_some());
        assert!(d.admit(&mut st, &act, 1).is_some());
    }
}
