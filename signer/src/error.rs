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
    /// A key file that group or others can access.
    #[error(
        "{path} is accessible by group or others (mode {mode:03o}); a key file must be private: chmod 600 {path}"
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
    /// Writing the result failed (e.g. a closed pipe).
    #[error("cannot write output: {0}")]
    Output(io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Output(_) => EXIT_FAILURE,
            Error::Chain(_)
            | Error::Read { .. }
            | Error::TooLarge { .. }
            | Error::KeyFilePermissions { .. }
            | Error::KeyFile { .. } => EXIT_BAD_INPUT,
        }
    }
}
