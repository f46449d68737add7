//! One module per subcommand group.

pub mod certs;
pub mod check_config;
pub mod dry_run;
pub mod key;
pub mod serve;
pub mod tx;
pub mod witness;

use std::io::Write;

use clap::Args;
use vwf_shared::{ChainProfile, ProfileName};

use crate::error::Error;

/// The `--profile` option shared by the offline tools.
#[derive(Debug, Args)]
pub struct ProfileArg {
    /// Chain profile: VIT, STEEM or HIVE (chain id, key prefix, asset symbol, props layout).
    #[arg(long, value_name = "VIT|STEEM|HIVE")]
    pub profile: ProfileName,
}

impl ProfileArg {
    /// The built-in profile named on the command line.
    pub fn profile(&self) -> ChainProfile {
        ChainProfile::builtin(self.profile)
    }
}

/// Writes one line to stdout.
fn print_line(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}
