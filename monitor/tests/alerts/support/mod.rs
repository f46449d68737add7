//! Test support for the alert tests: real servers on 127.0.0.1 port 0 ([`smtp`], [`hook`]) and
//! secret files in a temp dir.

#![allow(dead_code, unreachable_pub)]

pub mod hook;
pub mod smtp;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Result for tests and helpers.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Writes `text` to `dir/name` with `mode`; returns the path.
pub fn file(dir: &Path, name: &str, text: &str, mode: u32) -> TestResult<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
    Ok(path)
}
