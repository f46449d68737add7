//! Config errors: every problem names the file, the field, what is wrong and the fix.

use std::fmt;
use std::path::PathBuf;

/// One problem found in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The TOML path of the field, e.g. `server[1].signing_key`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.field, self.message, self.fix)
    }
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config file: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the format (unknown field, wrong type).
    #[error("{path}: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// The TOML parser's message, which names the line and field.
        message: String,
    },
    /// The file parsed but some values are unusable.
    #[error("{path}: {} problem(s):\n  {}", problems.len(), list(problems))]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems, for tests and `check-config` (empty for read and parse errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Collects problems while checking, so `check-config` can report all of them at once.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl Problems {
    /// Records one problem.
    pub(crate) fn add(
        &mut self,
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Problem {
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
        });
    }
}
