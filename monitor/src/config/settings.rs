//! The checked runtime configuration: what the daemon and the state machine read.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use vwf_shared::{ChainProfile, PublicKey};

/// Everything the monitor needs, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The config file it was read from.
    pub path: PathBuf,
    /// The chain profile (chain id, key prefix).
    pub profile: ChainProfile,
    /// Where `state.json` lives.
    pub state_dir: PathBuf,
    /// Prometheus listen address, `None` when disabled.
    pub metrics_listen: Option<SocketAddr>,
    /// Time between polls.
    pub poll_interval: Duration,
    /// The nodes polled every interval.
    pub nodes: Vec<String>,
    /// How many fresh readings must agree.
    pub quorum: usize,
    /// Per-node poll timeout.
    pub node_timeout: Duration,
    /// A reading whose head block time is further than this from the local clock is stale.
    pub max_head_lag: Duration,
    /// The decision rules.
    pub policy: Policy,
    /// How to reach the signer.
    pub signer: SignerSettings,
    /// Alert rate limits and sinks.
    pub alerts: AlertSettings,
}

/// What the state machine decides with: the account, the servers and the thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The witness account.
    pub account: String,
    /// The profile's public key prefix, for logs and requests.
    pub prefix: String,
    /// Primary first, then backups in failover order; never empty.
    pub servers: Vec<Server>,
    /// When the active server has failed.
    pub thresholds: Thresholds,
    /// Call `DryRun` instead of `SetSigningKey`, never record an action as done.
    pub dry_run: bool,
    /// First retry delay after a failed signer call.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// A backup's own node more than this many blocks behind the agreed head is unhealthy
    /// (passed over).
    pub health_max_lag_blocks: u32,
    /// What the active server's own node adds to the misses.
    pub evidence: Evidence,
}

/// Acting on the active server's own node (`[evidence]`): a node that has stopped following
/// the chain (or, where allowed, stopped answering) corroborates that the server cannot
/// produce. A node that answers in sync never triggers anything by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// Consecutive failing polls before the node counts as evidence; at least 1.
    pub polls: u32,
    /// The node is stale when its head is more than this many blocks behind the agreed head.
    pub stale_blocks: u32,
    /// With evidence, misses that trigger the switch (below `missed_blocks`); `None`: off.
    pub fast_threshold: Option<u32>,
    /// With evidence and a next backup known to be in sync, switch before the next slot.
    pub preemptive: bool,
    /// An unreachable node counts as evidence, not only a stale one.
    pub unreachable_is_evidence: bool,
}

impl Evidence {
    /// Whether anything acts on the evidence.
    pub fn enabled(&self) -> bool {
        self.fast_threshold.is_some() || self.preemptive
    }
}

impl Policy {
    /// The index of the server whose key this is.
    pub fn server_by_key(&self, key: &PublicKey) -> Option<usize> {
        self.servers.iter().position(|s| s.key == *key)
    }

    /// The key as a prefixed string.
    pub fn show(&self, key: &PublicKey) -> String {
        key.to_string_with_prefix(&self.prefix)
    }

    /// The server name for a key: a configured name, `null` or `unknown`.
    pub fn name_of(&self, key: &PublicKey) -> &str {
        match self.server_by_key(key) {
            Some(i) => &self.servers[i].name,
            None if key.is_null() => "null",
            None => "unknown",
        }
    }
}

/// One block-producing server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// Its short name (`[A-Za-z0-9._-]`, at most 32), used in logs and request ids.
    pub name: String,
    /// Its block signing key.
    pub key: PublicKey,
    /// Its own node, checked for sync before switching to it.
    pub node: Option<String>,
    /// Seed-style absolute `total_missed` threshold while it is active.
    pub total_missed_threshold: Option<u32>,
}

/// When the active server has failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Misses since take-over (within the window, if any) that trigger a switch; at least 1.
    pub missed_blocks: u32,
    /// Count only recent misses.
    pub window: Option<Window>,
}

/// A sliding window over which misses are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last this many seconds of chain (head block) time.
    Seconds(u64),
    /// The last this many blocks.
    Blocks(u32),
}

/// The signer connection.
#[derive(Clone, Debug)]
pub struct SignerSettings {
    /// `https://host:port`.
    pub endpoint: String,
    /// The TLS server name checked in the signer's certificate.
    pub server_name: String,
    /// CA certificate PEM path.
    pub ca: PathBuf,
    /// Client certificate PEM path.
    pub client_cert: PathBuf,
    /// Client key PEM path (0600).
    pub client_key: PathBuf,
    /// Longest wait for one call.
    pub timeout: Duration,
    /// Time between the `Status` calls that keep the connection warm; shorter than the
    /// signer's idle timeout, which HTTP/2 PINGs do not reset.
    pub status_interval: Duration,
    /// Warn when a certificate of the link expires within this.
    pub cert_expiry_warning: Duration,
}

/// Alert settings.
#[derive(Clone, Debug)]
pub struct AlertSettings {
    /// The same ongoing problem is alerted at most once per this.
    pub min_interval: Duration,
    /// Whether the log sink is on.
    pub log: bool,
    /// Email sinks as written; built by [`crate::alert::sinks::build_all`].
    pub email: Vec<crate::alert::email::RawEmail>,
    /// Webhook sinks as written; built by [`crate::alert::sinks::build_all`].
    pub webhook: Vec<crate::alert::webhook::RawWebhook>,
}
