//! `check-config`: load and check the config (and the state file), print a summary.

use std::path::Path;

use crate::config;
use crate::error::Error;
use crate::persist::state_file;

/// Checks the file; on success prints what the monitor would do.
pub fn run(path: &Path) -> Result<(), Error> {
    let s = config::load(path)?;
    state_file::peek(&s.state_dir, &s.policy.account)?;
    let sinks = crate::alert::sinks::build_all(&s)?;
    println!("{}: OK", path.display());
    print!("{}", super::run::summary(&s));
    let names: Vec<&str> = sinks.iter().map(|k| k.name()).collect();
    println!("alert sinks: {}", names.join(", "));
    Ok(())
}
