//! One file per subcommand; each returns `Result` and neither prints errors nor exits.

pub mod check_config;
pub mod run;
pub mod status;
pub mod test_alert;

use crate::cli::{Cli, Command};
use crate::error::Error;

/// Runs the parsed command.
pub async fn dispatch(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Run(a) => run::run(&a.config).await,
        Command::CheckConfig(a) => check_config::run(&a.config.config, a.online).await,
        Command::Status(a) => status::run(&a.config).await,
        Command::TestAlert(a) => test_alert::run(&a.config).await,
    }
}
