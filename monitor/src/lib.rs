//! `vwf-monitor`: the unprivileged half of vit-witness-failover. It holds no key; it polls
//! several nodes, decides when the active block producer has failed, and asks `vwf-signer`
//! (gRPC over mutual TLS) to switch the witness's signing key to the next backup, or to the
//! null key when none is left.
//!
//! Layout, one module per idea:
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | TOML config: raw serde shape, checks with field + fix, runtime [`config::Settings`] |
//! | [`state`] | the pure state machine: `step(policy, state, input, now) -> (state, actions)` |
//! | [`quorum`] | freshness and quorum rules: many node readings -> one agreed view |
//! | [`poller`] | polls every node (and each server's own node) concurrently, with timeouts |
//! | [`signer_client`] | the tonic mTLS client; proto <-> domain conversion in one place |
//! | [`persist`] | `state.json`: atomic, 0600, refuse to start on a corrupt file |
//! | [`alert`] | [`alert::Alert`], the [`alert::AlertSink`] trait, rate limiting; log, email and webhook sinks |
//! | [`metrics`] | Prometheus text metrics over axum |
//! | [`daemon`] | the loop: poll -> assess -> step -> persist -> act, until shutdown |
//! | [`watch`] | background watches beside the loop: the warm signer link, certificate expiry |
//! | [`shutdown`] | the shutdown signal (mini-redis shape) |
//! | [`cli`], [`commands`] | `run`, `check-config`, `status`, `test-alert` |
//! | [`error`] | the crate's error type |

pub mod alert;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod error;
pub mod metrics;
pub mod persist;
pub mod poller;
pub mod quorum;
pub mod shutdown;
pub mod signer_client;
pub mod state;
pub mod watch;

pub use error::Error;

/// Environment variable (test hook): when set to `1`, the daemon exits with
/// [`CRASH_AFTER_INTENT_EXIT_CODE`] right after it has saved an intent and before it sends it,
/// so tests can prove that a restart does not act twice. Never set it in production.
pub const CRASH_AFTER_INTENT_ENV: &str = "VWF_MONITOR_CRASH_AFTER_INTENT";

/// The exit code of the [`CRASH_AFTER_INTENT_ENV`] test hook.
pub const CRASH_AFTER_INTENT_EXIT_CODE: i32 = 86;
