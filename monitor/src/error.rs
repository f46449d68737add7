//! The crate's error type; only `main.rs` turns it into text and an exit code.

use crate::config::ConfigError;
use crate::persist::state_file::StateFileError;

/// Everything that stops a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The state file is unusable.
    #[error(transparent)]
    State(#[from] StateFileError),
    /// TLS material for the signer could not be loaded.
    #[error("signer TLS setup: {0}")]
    Tls(String),
    /// `check-config --online`: the mTLS handshake or the `Status` call failed (the cause, with
    /// the fix, on one line).
    #[error("signer check failed: {0}")]
    Signer(crate::signer_client::SignerProblem),
    /// `check-config --online`: the signer's policy would refuse switches this config plans
    /// (each is printed on stdout).
    #[error("signer check: the signer's policy would refuse {0} planned change(s) (listed above)")]
    SignerPolicy(usize),
    /// `check-config`: certificates of the signer link are expired, not valid yet or
    /// unreadable (each is printed on stdout).
    #[error("certificate check: {0} certificate(s) of the signer link cannot work (listed above)")]
    Certificates(usize),
    /// The metrics listener could not be bound.
    #[error("metrics listener {addr}: {source}")]
    Metrics {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The test hook fired (see [`crate::CRASH_AFTER_INTENT_ENV`]).
    #[error(
        "test hook {}: exiting after saving intent {request_id}",
        crate::CRASH_AFTER_INTENT_ENV
    )]
    CrashAfterIntent {
        /// The saved request id.
        request_id: String,
    },
    /// `test-alert`: some sinks did not deliver (each is reported on stdout).
    #[error("test alert: {failed} of {total} sink(s) failed")]
    AlertTest {
        /// Sinks that failed.
        failed: usize,
        /// Sinks tried.
        total: usize,
    },
    /// Standard output could not be written (other than a reader that went away).
    #[error("cannot write output: {0}")]
    Output(String),
    /// Signal handler setup failed.
    #[error("signal handler: {0}")]
    Signal(#[source] std::io::Error),
}
