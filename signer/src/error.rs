//! The signer's error type. Each variant knows its exit code: 2 for input the operator can fix,
//! 1 for everything else. Messages name paths and rules, never key material.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Exit code for bad input (a file, an argument, a transaction).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Exit code for failures that are not the input's fault.
pub const EXIT_FAILURE: u8 = 1;

/// Anything a signer command can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The chain model refused the input (malformed transaction, key, asset…).
    #[error(transparent)]
    Chain(#[from] vwf_shared::Error),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Input larger than the command accepts.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// What was being read.
        what: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A key, identity or passphrase file that group or others can access.
    #[error(
        "{path} is accessible by group or others (mode {mode:03o}); a key or secret file must be private: chmod 600 {path}"
    )]
    KeyFilePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file that does not hold a valid WIF.
    #[error("{path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with the key (never the key itself).
        source: vwf_shared::KeyError,
    },
    /// An age file whose keys do not fit the policy (count, duplicates, a key no account
    /// names, a key line that is not a WIF: the line number, never the line).
    #[error("{path}: {reason}")]
    KeyRing {
        /// The age file.
        path: PathBuf,
        /// What is wrong, naming public keys only.
        reason: String,
    },
    /// Writing the result failed (e.g. a closed pipe).
    #[error("cannot write output: {0}")]
    Output(io::Error),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file (or its directory).
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The output file exists and `--force` was not given.
    #[error("{path} already exists; pass --force to replace it")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The age file could not be decrypted with the given passphrase or identities.
    #[error("cannot decrypt {path}: wrong passphrase or no matching identity")]
    WrongKey {
        /// The age file.
        path: PathBuf,
    },
    /// The age file is malformed, truncated, too costly to decrypt, or a plugin failed.
    #[error("cannot decrypt {path}: {source}")]
    AgeFile {
        /// The age file.
        path: PathBuf,
        /// What age reported (its text never holds key material).
        source: age::DecryptError,
    },
    /// An identity file holds no usable age identity.
    #[error("{path}: not a valid age identity file: {reason}")]
    IdentityFile {
        /// The identity file.
        path: PathBuf,
        /// Which rule it broke (never the content).
        reason: String,
    },
    /// A recipient string did not parse.
    #[error("invalid age recipient {recipient:?}: {reason}")]
    Recipient {
        /// The recipient as given (public, safe to show).
        recipient: String,
        /// Why it was refused.
        reason: String,
    },
    /// An age plugin binary is not on `PATH`.
    #[error(
        "age plugin binary age-plugin-{plugin} not found on PATH; install it or use another recipient"
    )]
    PluginMissing {
        /// The plugin name (e.g. `yubikey`).
        plugin: String,
    },
    /// Encrypting the age file failed.
    #[error("cannot encrypt: {0}")]
    Encrypt(age::EncryptError),
    /// A passphrase or secret could not be obtained or was refused.
    #[error("passphrase: {reason}")]
    Passphrase {
        /// What went wrong (never the passphrase).
        reason: String,
    },
    /// The `[key]` configuration section is inconsistent.
    #[error("[key] config: {reason}")]
    KeyConfig {
        /// Which rule it broke and how to fix it.
        reason: String,
    },
    /// Generating or parsing certificates failed.
    #[error("certificate {what}: {reason}")]
    Certificate {
        /// Which certificate or file.
        what: String,
        /// Why.
        reason: String,
    },
    /// A certificate or key file named on the command line is missing a part, does not parse or
    /// cannot be used (e.g. an expired CA).
    #[error("{path}: {reason}")]
    CertificateFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Building a TLS configuration failed.
    #[error("TLS setup: {reason}")]
    Tls {
        /// Why.
        reason: String,
    },
    /// A process-hardening step failed.
    #[error("cannot {step}: {source}")]
    Hardening {
        /// What was attempted, e.g. `disable core dumps (RLIMIT_CORE=0)`.
        step: &'static str,
        /// The OS error.
        source: nix::Error,
    },
    /// The configuration file is missing, malformed or inconsistent.
    #[error("{path}: {reason}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A state or audit file could not be read or written.
    #[error("state file {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A state file exists but does not parse; it is kept for the operator to inspect.
    #[error(
        "state file {path} is corrupt ({reason}); move it aside only after checking what it recorded"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },
    /// A node could not be reached or answered with an error.
    #[error(transparent)]
    Rpc(#[from] vwf_shared::rpc::RpcError),
    /// The active key is not an active or owner key of the account on chain.
    #[error("{0}")]
    KeyNotAuthorized(String),
    /// The node serializes our transaction to other bytes than ours (SPEC §7.6).
    #[error("pre-flight byte check failed: {0}")]
    Preflight(String),
    /// The witness's url or props cannot be read from chain and no fallback is configured.
    #[error("{0}")]
    WitnessData(String),
    /// The transaction expired before any block included it; nothing changed on chain.
    #[error("transaction {0} expired before inclusion; nothing changed, retry the request")]
    Expired(String),
    /// The signer's policy refused the operator's command (e.g. the compare-and-swap).
    #[error("refused ({rule}): {reason}")]
    Refused {
        /// The rule's stable name.
        rule: String,
        /// Why.
        reason: String,
    },
    /// The nodes did not agree on what the signer must read before signing.
    #[error("no quorum of nodes agrees, nothing was signed: {0}")]
    NoQuorum(String),
    /// A broadcast whose outcome is not yet known: it may still land.
    #[error("{0}")]
    Pending(String),
    /// The request store is gone but the audit log shows it held decisions.
    #[error(
        "{store} is missing, empty or older than {audit}, which records {decisions} signing decision(s) it \
         does not hold: starting would forget the flap history. Restore {store} from a backup; to start \
         over deliberately, move {audit} aside first (keep it: it is the record of what was signed)"
    )]
    HistoryMissing {
        /// The request store.
        store: PathBuf,
        /// The audit log.
        audit: PathBuf,
        /// How many decisions the audit log holds that the store lacks.
        decisions: usize,
    },
    /// A bug or an unexpected runtime condition.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Output(_)
            | Error::Write { .. }
            | Error::Encrypt(_)
            | Error::Certificate { .. }
            | Error::Tls { .. }
            | Error::Hardening { .. }
            | Error::State { .. }
            | Error::Corrupt { .. }
            | Error::Rpc(_)
            | Error::Preflight(_)
            | Error::WitnessData(_)
            | Error::Expired(_)
            | Error::NoQuorum(_)
            | Error::Pending(_)
            | Error::HistoryMissing { .. }
            | Error::Internal(_) => EXIT_FAILURE,
            Error::Chain(_)
            | Error::Read { .. }
            | Error::TooLarge { .. }
            | Error::KeyFilePermissions { .. }
            | Error::KeyFile { .. }
            | Error::KeyRing { .. }
            | Error::Exists { .. }
            | Error::CertificateFile { .. }
            | Error::WrongKey { .. }
            | Error::AgeFile { .. }
            | Error::IdentityFile { .. }
            | Error::Recipient { .. }
            | Error::PluginMissing { .. }
            | Error::Passphrase { .. }
            | Error::KeyConfig { .. }
            | Error::Config { .. }
            | Error::Refused { .. }
            | Error::KeyNotAuthorized(_) => EXIT_BAD_INPUT,
        }
    }
}
