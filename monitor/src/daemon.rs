//! The run loop: poll -> assess -> [`step`] -> persist -> act, until shutdown.
//!
//! Ordering guarantee: the state returned by [`step`] is written to disk *before* any
//! [`Action::Send`] of that step is performed, so an intent is never sent unless a restart will
//! find it. Signer calls run in their own tasks (a `SetSigningKey` answers only once the change
//! is in a block) and their outcomes come back as [`Input::Reply`]; polling goes on meanwhile.

mod log;

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::Instrument;

use crate::alert::AlertKind;
use crate::alert::Dispatcher;
use crate::config::Settings;
use crate::error::Error;
use crate::metrics::{Metrics, now_ms};
use crate::persist::state_file;
use crate::poller::Poller;
use crate::quorum::{self, NodeStatus};
use crate::shutdown::Shutdown;
use crate::signer_client::SignerApi;
use crate::state::{Action, AlertDraft, Input, Mode, Outcome, Severity, State, step};

/// A signer outcome for a request id, sent back from a call task.
type Reply = (String, Outcome);

/// The daemon's parts, owned by the loop.
pub struct Daemon {
    settings: Settings,
    state: State,
    saved: String,
    poller: Poller,
    signer: Arc<dyn SignerApi>,
    alerts: Dispatcher,
    metrics: Arc<Metrics>,
    replies: (mpsc::Sender<Reply>, mpsc::Receiver<Reply>),
    crash_after_intent: bool,
}

impl Daemon {
    /// Assembles a daemon around a loaded state.
    pub fn new(
        settings: Settings,
        state: State,
        signer: Arc<dyn SignerApi>,
        alerts: Dispatcher,
        metrics: Arc<Metrics>,
    ) -> Self {
        let server_nodes: Vec<Option<String>> = settings
            .policy
            .servers
            .iter()
            .map(|s| s.node.clone())
            .collect();
        let poller = Poller::new(
            &settings.nodes,
            &server_nodes,
            settings.profile.clone(),
            &settings.policy.account,
            settings.node_timeout,
        );
        let saved = serde_json::to_string(&state).unwrap_or_default();
        let crash_after_intent =
            std::env::var(crate::CRASH_AFTER_INTENT_ENV).is_ok_and(|v| v == "1");
        Daemon {
            settings,
            state,
            saved,
            poller,
            signer,
            alerts,
            metrics,
            replies: mpsc::channel(16),
            crash_after_intent,
        }
    }

    /// Runs until `shutdown`; saves the state on the way out.
    pub async fn run(mut self, mut shutdown: Shutdown) -> Result<(), Error> {
        let mut ticker = tokio::time::interval(self.settings.poll_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.recv() => break,
                Some((id, outcome)) = self.replies.1.recv() => {
                    self.count(&id, &outcome);
                    self.apply(&Input::Reply { request_id: id, outcome }).await?;
                }
                _ = ticker.tick() => self.poll_once().await?,
            }
        }
        self.persist()?;
        tracing::info!(event = "stopped", "monitor stopped");
        Ok(())
    }

    /// One poll round.
    async fn poll_once(&mut self) -> Result<(), Error> {
        let now = now_ms();
        let (readings, health) = self.poller.poll().await;
        let lag_ms = u64::try_from(self.settings.max_head_lag.as_millis()).unwrap_or(u64::MAX);
        let a = quorum::assess(&readings, self.settings.quorum, lag_ms, now);
        let urls = self.poller.urls();
        self.metrics.nodes(
            urls.iter()
                .zip(&a.nodes)
                .map(|(u, s)| (u.clone(), matches!(s, NodeStatus::Agrees)))
                .collect(),
        );
        for (i, (url, status)) in urls.iter().zip(&a.nodes).enumerate() {
            let key = format!("node-{i}");
            let trouble = match status {
                NodeStatus::Agrees | NodeStatus::Fresh => None,
                NodeStatus::Dissents => {
                    Some("reports another signing key than the quorum".to_owned())
                }
                NodeStatus::Stale(lag) => Some(format!(
                    "head block time is {} s off the local clock",
                    lag / 1000
                )),
                NodeStatus::Failed(e) => Some(format!("no reading: {e}")),
            };
            match trouble {
                Some(why) => {
                    tracing::warn!(event = "node-trouble", node = url.as_str(), %why, "node reading not used");
                    self.alert(AlertDraft {
                        kind: AlertKind::NodeTrouble,
                        severity: Severity::Warning,
                        key,
                        title: format!("node {url}: {why}"),
                        body: format!("{} node(s), quorum {}", urls.len(), self.settings.quorum),
                    })
                    .await;
                }
                None => self.clear(&key, &format!("node {url} is fine again")).await,
            }
        }
        let Some(view) = a.view else {
            let why = a.problem.unwrap_or_default();
            tracing::warn!(event = "no-quorum", %why, "no agreed reading; not acting");
            self.alert(AlertDraft {
                kind: AlertKind::NodeTrouble,
                severity: Severity::Critical,
                key: "no-quorum".into(),
                title: format!("no quorum: {why}"),
                body: "the monitor cannot see the chain and will not act until a quorum of fresh nodes agrees".into(),
            })
            .await;
            return self.persist();
        };
        self.clear("no-quorum", "nodes agree again").await;
        let policy = &self.settings.policy;
        let index = match policy.server_by_key(&view.signing_key) {
            Some(i) => i64::try_from(i).unwrap_or(-2),
            None if view.signing_key.is_null() => -1,
            None => -2,
        };
        self.metrics.agreed(view.total_missed, index, now);
        tracing::debug!(
            head = view.head_block,
            total_missed = view.total_missed,
            "agreed reading"
        );
        let applied = self.apply(&Input::Chain { view, health }).await;
        self.metrics
            .active_node_failing_polls(self.state.node_evidence.polls);
        applied
    }

    /// Steps the machine, persists, then performs the actions in order.
    async fn apply(&mut self, input: &Input) -> Result<(), Error> {
        let now = now_ms();
        let (next, actions) = step(&self.settings.policy, self.state.clone(), input, now);
        self.state = next;
        self.persist()?;
        for action in actions {
            match action {
                Action::Log(e) => log::event(&e),
                Action::Alert(draft) => self.alert(draft).await,
                Action::Send(req) => {
                    if self.crash_after_intent {
                        return Err(Error::CrashAfterIntent {
                            request_id: req.request_id,
                        });
                    }
                    log::sending(&req, &self.settings.policy);
                    let signer = self.signer.clone();
                    let tx = self.replies.0.clone();
                    let id = req.request_id.clone();
                    let task = async move {
                        let outcome = signer.call(req).await;
                        let _ = tx.send((id, outcome)).await;
                    };
                    tokio::spawn(task.instrument(tracing::Span::current()));
                }
            }
        }
        self.persist()
    }

    /// Writes the state if it changed since the last write.
    fn persist(&mut self) -> Result<(), Error> {
        let text = serde_json::to_string(&self.state).unwrap_or_default();
        if text != self.saved {
            state_file::save(&self.settings.state_dir, &self.state)?;
            self.saved = text;
        }
        Ok(())
    }

    async fn alert(&mut self, draft: AlertDraft) {
        if let Some(a) = self.alerts.admit(&mut self.state.alerts, &draft, now_ms()) {
            self.alerts.deliver_in_background(a);
        }
    }

    async fn clear(&mut self, key: &str, title: &str) {
        if let Some(a) = self.alerts.clear(&mut self.state.alerts, key, title) {
            self.alerts.deliver_in_background(a);
        }
    }

    /// Counts a signer outcome in `vwf_actions_total`.
    fn count(&self, id: &str, outcome: &Outcome) {
        let Some(p) = self.state.pending.as_ref().filter(|p| p.request_id == id) else {
            return;
        };
        let kind = if p.dry_run {
            "dry_run"
        } else if p.target_key.is_null() {
            "kill_switch"
        } else {
            "failover"
        };
        let result = match outcome {
            Outcome::Applied { .. } => "applied",
            Outcome::AlreadyInEffect => "already_in_effect",
            Outcome::Refused { .. } => "refused",
            Outcome::DryRun { allowed: true, .. } => "allowed",
            Outcome::DryRun { allowed: false, .. } => "refused",
            Outcome::Unavailable { .. } => "unavailable",
        };
        self.metrics.action(kind, result);
    }

    /// The current state (for tests).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Whether the chain shows the null key (for tests and status).
    pub fn is_disabled(&self) -> bool {
        matches!(self.state.mode, Mode::Disabled)
    }
}
