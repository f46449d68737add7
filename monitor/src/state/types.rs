//! The machine's data: persisted [`State`], [`Input`]s and the [`Action`]s it asks for.

use serde::{Deserialize, Serialize};
use vwf_shared::PublicKey;

use crate::alert::AlertKind;
use crate::alert::AlertState;
pub use crate::alert::Severity;

/// The state file format version.
pub const STATE_VERSION: u32 = 1;

/// Everything the monitor remembers across restarts (and a few in-memory fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format version, [`STATE_VERSION`].
    pub version: u32,
    /// The witness account this state belongs to.
    pub account: String,
    /// What the chain holds, as last agreed.
    pub mode: Mode,
    /// An action decided but not yet seen on chain.
    pub pending: Option<Pending>,
    /// The last completed action, for `status`.
    pub last_action: Option<String>,
    /// Alert rate-limit state (owned by the alert dispatcher, ignored by the machine).
    #[serde(default)]
    pub alerts: AlertState,
    /// The mode this state was recorded in (`Some(true)` = dry run); `None` in files written
    /// before it was recorded. A state recorded in the other mode is never acted on
    /// ([`State::for_mode`]).
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// A signer call for `pending` is under way (not persisted: none is after a restart).
    #[serde(skip)]
    pub in_flight: bool,
    /// Earliest local time (ms) for the next signer attempt (not persisted: retry at once).
    #[serde(skip)]
    pub next_attempt_ms: u64,
    /// The active server's node's failures (not persisted: counted again after a restart).
    #[serde(skip)]
    pub node_evidence: NodeEvidence,
}

impl State {
    /// A fresh state for `account`: nothing known yet.
    pub fn new(account: &str) -> State {
        State {
            version: STATE_VERSION,
            account: account.to_owned(),
            mode: Mode::Starting,
            pending: None,
            last_action: None,
            alerts: AlertState::default(),
            dry_run: None,
            in_flight: false,
            next_attempt_ms: 0,
            node_evidence: NodeEvidence::default(),
        }
    }

    /// This state for a run in `dry_run` mode. A state recorded in the other mode starts from a
    /// fresh baseline: its counted misses and any pending
    /// action are dropped, so nothing counted in dry-run mode can cause a live action and the
    /// other way round. Returns the sentence to log when it did so.
    pub fn for_mode(mut self, dry_run: bool) -> (State, Option<String>) {
        // Files from before the mode was recorded: a pending action tells its mode; without
        // one, assume this mode (keeping the counted misses loses nothing).
        let recorded = self
            .dry_run
            .or_else(|| self.pending.as_ref().map(|p| p.dry_run));
        let note = match recorded {
            None => None,
            Some(recorded) if recorded == dry_run => None,
            Some(recorded) => {
                let was = if recorded {
                    "dry-run mode"
                } else {
                    "live mode"
                };
                let now = if dry_run { "dry-run" } else { "live" };
                let dropped = matches!(self.mode, Mode::Active { .. }) || self.pending.is_some();
                self.mode = Mode::Starting;
                self.pending = None;
                dropped.then(|| {
                    format!(
                        "the saved state was recorded in {was}; {now} mode starts from a fresh \
                         baseline: misses counted and actions decided before are not acted on"
                    )
                })
            }
        };
        self.dry_run = Some(dry_run);
        (self, note)
    }
}

/// What the chain holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mode {
    /// No agreed reading yet.
    Starting,
    /// A configured server's key is on chain.
    Active {
        /// Its name.
        server: String,
        /// Its key.
        #[serde(with = "crate::persist::key_hex")]
        key: PublicKey,
        /// The account's `total_missed` when this server took over.
        baseline_total_missed: u32,
        /// The head block when the take-over was first seen.
        takeover_block: u32,
        /// The highest agreed `total_missed` since.
        last_total_missed: u32,
        /// Recent misses (pruned to the window; at most 64 kept).
        misses: Vec<Miss>,
    },
    /// A key no configured server has: followed and alerted, never acted on.
    Foreign {
        /// The key on chain.
        #[serde(with = "crate::persist::key_hex")]
        key: PublicKey,
    },
    /// The null key: the witness is off until someone sets a key by hand.
    Disabled,
}

/// Misses that became visible in one reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Miss {
    /// The agreed head block of that reading.
    pub block: u32,
    /// Its head block time (Unix seconds).
    pub time: u32,
    /// How many misses appeared.
    pub count: u32,
}

/// An action decided and recorded before it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// Stable id of this intent, sent on every attempt.
    pub request_id: String,
    /// The server being switched away from.
    pub from_server: String,
    /// The key the chain must still hold (compare-and-swap).
    #[serde(with = "crate::persist::key_hex")]
    pub expected_key: PublicKey,
    /// The target's name (`null` for the kill switch).
    pub target_server: String,
    /// The target key (the null key for the kill switch).
    #[serde(with = "crate::persist::key_hex")]
    pub target_key: PublicKey,
    /// Why, for the signer's audit log.
    pub reason: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Made in dry-run mode: only `DryRun` is ever called for it.
    pub dry_run: bool,
    /// Where it stands.
    pub status: PendingStatus,
}

/// Progress of a [`Pending`] action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PendingStatus {
    /// Decided; not yet confirmed by the signer.
    Intent,
    /// The signer reports it in a block (or already in effect); waiting for the nodes to agree.
    Applied {
        /// Transaction id, empty if it was already in effect.
        tx_id: String,
        /// Block number, 0 if unknown.
        block: u32,
    },
    /// Dry run answered; never sent again for this intent.
    DryRunReported,
}

/// The chain as a quorum of fresh nodes sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainView {
    /// The witness's signing key.
    pub signing_key: PublicKey,
    /// The witness's lifetime miss counter.
    pub total_missed: u32,
    /// Head block number.
    pub head_block: u32,
    /// Head block time, Unix seconds.
    pub head_time: u32,
}

/// A server's own node, as last checked: what it answered, not yet judged. Its head block is
/// compared with the head the quorum agrees on, never with the local clock, so a skewed
/// clock on the monitor host cannot make a node look stale. The same answer is judged against
/// the backups' lag limit and the active server's staleness limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// It answered with this head block number.
    Answered {
        /// Its head block number.
        head_block: u32,
    },
    /// It did not answer, with the reason.
    Unreachable(String),
    /// No node configured for it: assumed usable as a backup, never evidence.
    Unchecked,
}

impl Health {
    /// Blocks its head is behind `agreed_head` (0 when level or ahead); `None` if it did not
    /// answer or is not checked.
    pub fn blocks_behind(&self, agreed_head: u32) -> Option<u32> {
        match self {
            Health::Answered { head_block } => Some(agreed_head.saturating_sub(*head_block)),
            Health::Unreachable(_) | Health::Unchecked => None,
        }
    }

    /// Why a failover to this server should pass it over: its node is unreachable or more
    /// than `max_lag_blocks` behind `agreed_head`. `None`: usable.
    pub fn unhealthy(&self, agreed_head: u32, max_lag_blocks: u32) -> Option<String> {
        match self {
            Health::Unreachable(why) => Some(format!("node unreachable: {why}")),
            _ => self
                .blocks_behind(agreed_head)
                .filter(|behind| *behind > max_lag_blocks)
                .map(|behind| format!("node is {behind} blocks behind the agreed head")),
        }
    }

    /// Checked and found at most `max_lag_blocks` behind `agreed_head` (an unchecked server
    /// is not).
    pub fn is_known_healthy(&self, agreed_head: u32, max_lag_blocks: u32) -> bool {
        self.blocks_behind(agreed_head)
            .is_some_and(|behind| behind <= max_lag_blocks)
    }
}

/// What the active server's own node has shown over consecutive polls: evidence that the
/// server cannot produce. In memory only: after a restart it is counted again from zero, so a
/// restart can delay an evidence-driven switch, never cause one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeEvidence {
    /// The server it is about (reset when another server is active).
    pub server: String,
    /// Consecutive polls in which its node failed (stale, or unreachable where that counts).
    pub polls: u32,
    /// No counted poll found it answering: the evidence is only that it is unreachable, which
    /// the monitor's own network can cause.
    pub unreachable_only: bool,
    /// The last failure, for logs and alerts.
    pub last: String,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A quorum reading, with each server's health (index = server index).
    Chain {
        /// The agreed view.
        view: ChainView,
        /// Health per configured server.
        health: Vec<Health>,
    },
    /// The signer answered (or failed) for a request.
    Reply {
        /// The request id it was for.
        request_id: String,
        /// The outcome.
        outcome: Outcome,
    },
}

/// A signer call's outcome, already mapped from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// In a block.
    Applied {
        /// Transaction id.
        tx_id: String,
        /// Block number.
        block: u32,
    },
    /// The chain held the target already.
    AlreadyInEffect,
    /// Refused by a rule.
    Refused {
        /// Stable rule name, e.g. `compare-and-swap`.
        rule: String,
        /// Sentence for a person.
        reason: String,
    },
    /// Answer to a dry run.
    DryRun {
        /// Whether the signer would act.
        allowed: bool,
        /// Its reasons or refusal, one line.
        detail: String,
    },
    /// No answer: transport error or timeout.
    Unavailable {
        /// What failed.
        error: String,
    },
}

/// A signer request to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRequest {
    /// Stable id.
    pub request_id: String,
    /// Account.
    pub account: String,
    /// Target key (null = kill switch).
    pub target: PublicKey,
    /// Compare-and-swap key.
    pub expected_current_key: PublicKey,
    /// Why.
    pub reason: String,
    /// Call `DryRun` instead of `SetSigningKey`.
    pub dry_run: bool,
}

/// An alert for the dispatcher, which adds the source and rate-limits by `key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertDraft {
    /// Kind.
    pub kind: AlertKind,
    /// Severity.
    pub severity: Severity,
    /// Rate-limit key: the same key is one ongoing problem.
    pub key: String,
    /// One line.
    pub title: String,
    /// Details.
    pub body: String,
}

/// Something worth a log line with a stable `event=` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// First agreed reading (or first after restart).
    Observed {
        /// Name of the key's owner.
        server: String,
        /// `total_missed`.
        total_missed: u32,
    },
    /// `total_missed` went up while `server` was active.
    Missed {
        /// Active server.
        server: String,
        /// New misses in this reading.
        new: u32,
        /// Misses counted towards the threshold.
        counted: u32,
        /// Lifetime counter.
        total_missed: u32,
        /// Head block.
        block: u32,
    },
    /// An intent was recorded (about to be sent).
    Intent {
        /// Request id.
        request_id: String,
        /// From.
        from: String,
        /// To.
        to: String,
        /// Why.
        reason: String,
    },
    /// A switch to a backup is done (`tx_id` empty when unknown, e.g. after a restart).
    Failover {
        /// From.
        from: String,
        /// To.
        to: String,
        /// Transaction id.
        tx_id: String,
        /// Block.
        block: u32,
    },
    /// The null key is set.
    KillSwitch {
        /// From.
        from: String,
        /// Transaction id.
        tx_id: String,
        /// Block.
        block: u32,
    },
    /// The key changed without us (by hand or another monitor): followed.
    KeyChanged {
        /// Previous owner name.
        from: String,
        /// New owner name (`unknown` or `null` possible).
        to: String,
    },
    /// A dry run was answered.
    DryRun {
        /// Request id.
        request_id: String,
        /// From.
        from: String,
        /// To.
        to: String,
        /// Whether the signer would act.
        allowed: bool,
        /// Detail.
        detail: String,
    },
    /// The signer refused or failed.
    SignerFailed {
        /// Request id.
        request_id: String,
        /// Rule or `unavailable`.
        rule: String,
        /// Detail.
        detail: String,
        /// When the next attempt may happen (ms from now).
        retry_in_ms: u64,
    },
    /// A pending action was dropped because the chain moved elsewhere.
    Abandoned {
        /// Request id.
        request_id: String,
        /// Name of the key now on chain.
        chain: String,
    },
    /// The signer's answer to a change the chain had already shown (the poll saw the new key
    /// before the answer arrived): the transaction and block, which the announcement lacked.
    Confirmed {
        /// Request id.
        request_id: String,
        /// Transaction id.
        tx_id: String,
        /// Block that includes it.
        block: u32,
    },
}

/// What the machine asks the daemon to do, in order. The daemon persists the new state
/// before performing any [`Action::Send`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Call the signer.
    Send(KeyRequest),
    /// Raise an alert.
    Alert(AlertDraft),
    /// Log a transition.
    Log(Event),
}
