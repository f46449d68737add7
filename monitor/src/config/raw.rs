//! The config file as written: serde structs, `deny_unknown_fields` everywhere, named defaults.
//!
//! These are checked and turned into [`Settings`](super::Settings) by [`super::check`]; nothing
//! outside the `config` module reads them.

use serde::Deserialize;

/// The root of `monitor.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    /// The witness account, e.g. `"vit-test-witness"`.
    pub(crate) account: String,
    /// Chain profile: `VIT`, `STEEM` or `HIVE`. Default `VIT`.
    #[serde(default = "default_profile")]
    pub(crate) profile: String,
    /// Ask the signer for `DryRun` instead of `SetSigningKey` (the seed's `nobroadcast`). Default false.
    #[serde(default)]
    pub(crate) dry_run: bool,
    /// Directory of `state.json` (created 0700 if missing). Relative paths are relative to the config file.
    pub(crate) state_dir: String,
    /// Prometheus listen address; `""` disables; port 0 picks a free port. Default `127.0.0.1:9477`.
    #[serde(default = "default_metrics")]
    pub(crate) metrics_listen: String,
    /// Milliseconds between blocks. Default 3000.
    #[serde(default = "default_block_interval")]
    pub(crate) block_interval_ms: u64,
    /// Milliseconds between polls. Default: one block interval.
    pub(crate) poll_interval_ms: Option<u64>,
    /// Nodes and quorum.
    pub(crate) chain: RawChain,
    /// When to act.
    #[serde(default)]
    pub(crate) thresholds: RawThresholds,
    /// Backup health checks.
    #[serde(default)]
    pub(crate) health: RawHealth,
    /// Acting on the active server's own node's evidence (off by default).
    #[serde(default)]
    pub(crate) evidence: RawEvidence,
    /// Primary first, then backups in failover order.
    #[serde(default, rename = "server")]
    pub(crate) servers: Vec<RawServer>,
    /// How to reach the signer.
    pub(crate) signer: RawSigner,
    /// Alert delivery and rate limits.
    #[serde(default)]
    pub(crate) alerts: RawAlerts,
}

/// `[chain]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChain {
    /// Node URLs (http or https), polled every interval.
    pub(crate) nodes: Vec<String>,
    /// Fresh readings that must agree. Default: a majority of `nodes`.
    pub(crate) quorum: Option<usize>,
    /// Per-node timeout for one poll (connect + 2 reads), ms. Default 2500.
    #[serde(default = "default_node_timeout")]
    pub(crate) node_timeout_ms: u64,
    /// A reading is fresh if its head block time is within max(3 block intervals, this) of the
    /// local clock. Seconds, default 9.
    #[serde(default = "default_max_head_lag")]
    pub(crate) max_head_lag_seconds: u64,
    /// Accept plain `http://` node URLs to hosts that are not loopback (anyone on the path can
    /// then answer for the node). Default false.
    #[serde(default)]
    pub(crate) allow_plain_http: bool,
}

/// `[thresholds]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawThresholds {
    /// Blocks missed since the active server took over that trigger a switch. Default 3.
    #[serde(default = "default_missed_blocks")]
    pub(crate) missed_blocks: u32,
    /// Only count misses in the last this many seconds of chain time. Default: no window.
    pub(crate) window_seconds: Option<u64>,
    /// Only count misses in the last this many blocks. Default: no window.
    pub(crate) window_blocks: Option<u32>,
}

impl Default for RawThresholds {
    fn default() -> Self {
        RawThresholds {
            missed_blocks: default_missed_blocks(),
            window_seconds: None,
            window_blocks: None,
        }
    }
}

/// `[health]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealth {
    /// A server's own node is unhealthy if its head is more than this many blocks behind the
    /// head the quorum agrees on. Default 10.
    #[serde(default = "default_health_lag")]
    pub(crate) max_lag_intervals: u32,
}

impl Default for RawHealth {
    fn default() -> Self {
        RawHealth {
            max_lag_intervals: default_health_lag(),
        }
    }
}

/// `[evidence]`: what the active server's own node (`[[server]] node`) adds to the misses.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvidence {
    /// Consecutive polls the active server's node must fail before it counts. Default 3.
    #[serde(default = "default_evidence_polls")]
    pub(crate) polls: u32,
    /// The node is stale when its head is more than this many blocks behind the head the
    /// quorum agrees on. Default 3.
    #[serde(default = "default_stale_blocks")]
    pub(crate) stale_blocks: u32,
    /// With that evidence, this many misses trigger the switch. Default: off.
    pub(crate) fast_threshold: Option<u32>,
    /// With that evidence and a next backup whose node is in sync, switch without waiting for
    /// a miss. Default false.
    #[serde(default)]
    pub(crate) preemptive: bool,
    /// An unreachable node counts too, not only one that answers with a stale head (the
    /// monitor's own network can make a node unreachable). Default false.
    #[serde(default)]
    pub(crate) unreachable_is_evidence: bool,
}

impl Default for RawEvidence {
    fn default() -> Self {
        RawEvidence {
            polls: default_evidence_polls(),
            stale_blocks: default_stale_blocks(),
            fast_threshold: None,
            preemptive: false,
            unreachable_is_evidence: false,
        }
    }
}

fn default_evidence_polls() -> u32 {
    3
}

fn default_stale_blocks() -> u32 {
    3
}

/// One `[[server]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    /// Short name: 1-32 of `[A-Za-z0-9._-]`.
    pub(crate) name: String,
    /// Its block signing public key, with the profile's prefix.
    pub(crate) signing_key: String,
    /// URL of this server's own node, checked before switching to it. Optional.
    pub(crate) node: Option<String>,
    /// Seed-style absolute threshold: act when the account's `total_missed` reaches this while
    /// this server is active. Optional.
    pub(crate) total_missed_threshold: Option<u32>,
}

/// `[signer]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSigner {
    /// `https://host:port` of vwf-signer.
    pub(crate) endpoint: String,
    /// The name in the signer's certificate. Default: the endpoint's host.
    pub(crate) server_name: Option<String>,
    /// CA certificate (PEM) that signed the signer's certificate.
    pub(crate) ca: String,
    /// This monitor's client certificate (PEM).
    pub(crate) client_cert: String,
    /// This monitor's client key (PEM); must be mode 0600 or stricter.
    pub(crate) client_key: String,
    /// Longest wait for one signer call, seconds (it answers once the change is in a block). Default 90.
    #[serde(default = "default_signer_timeout")]
    pub(crate) timeout_seconds: u64,
    /// First retry delay after a failed call, seconds; doubles up to `retry_max_seconds`. Default 3.
    #[serde(default = "default_retry_initial")]
    pub(crate) retry_initial_seconds: u64,
    /// Longest retry delay, seconds. Default 60.
    #[serde(default = "default_retry_max")]
    pub(crate) retry_max_seconds: u64,
    /// A cheap `Status` call every this many seconds keeps one connection to the signer open
    /// and proven, so a failover never has to connect first. 10-3600, default 30; keep it
    /// below the signer's `[listen] idle_timeout_seconds` (default 300).
    #[serde(default = "default_status_interval")]
    pub(crate) status_interval_seconds: u64,
    /// Warn when the client or CA certificate expires within this many days. 1-3650, default 30.
    #[serde(default = "default_cert_expiry_warning")]
    pub(crate) cert_expiry_warning_days: u64,
}

/// `[alerts]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    /// The same ongoing problem is alerted at most once per this many seconds. Default 900.
    #[serde(default = "default_alert_interval")]
    pub(crate) min_interval_seconds: u64,
    /// Write alerts to the log (always on when no other sink is configured). Default true.
    #[serde(default = "default_true")]
    pub(crate) log: bool,
    /// Email sinks, `[[alerts.email]]` (see `alert::email`).
    #[serde(default)]
    pub(crate) email: Vec<crate::alert::email::RawEmail>,
    /// Webhook sinks, `[[alerts.webhook]]` (see `alert::webhook`).
    #[serde(default)]
    pub(crate) webhook: Vec<crate::alert::webhook::RawWebhook>,
}

impl Default for RawAlerts {
    fn default() -> Self {
        RawAlerts {
            min_interval_seconds: default_alert_interval(),
            log: true,
            email: Vec::new(),
            webhook: Vec::new(),
        }
    }
}

fn default_profile() -> String {
    "VIT".to_owned()
}
fn default_metrics() -> String {
    "127.0.0.1:9477".to_owned()
}
fn default_block_interval() -> u64 {
    3000
}
fn default_node_timeout() -> u64 {
    2500
}
fn default_max_head_lag() -> u64 {
    9
}
fn default_missed_blocks() -> u32 {
    3
}
fn default_health_lag() -> u32 {
    10
}
fn default_signer_timeout() -> u64 {
    90
}
fn default_retry_initial() -> u64 {
    3
}
fn default_retry_max() -> u64 {
    60
}
fn default_status_interval() -> u64 {
    30
}
fn default_cert_expiry_warning() -> u64 {
    30
}
fn default_alert_interval() -> u64 {
    900
}
fn default_true() -> bool {
    true
}
