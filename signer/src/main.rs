//! Entry point: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use vwf_signer::cli::Cli;
use vwf_signer::error::EXIT_BAD_INPUT;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => match error.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
            // Usage errors get the same one-line form as every other bad input.
            _ => return fail(&error.to_string(), EXIT_BAD_INPUT),
        },
    };
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error.to_string(), error.exit_code()),
    }
}

/// Prints one line on stderr: operators grep logs, and scripts read the first line.
fn fail(message: &str, code: u8) -> ExitCode {
    // clap puts usage and hints after a blank line; the sentence before it is the message.
    let head = message.split("\n\n").next().unwrap_or_default();
    let line = head.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("error: {}", line.trim_start_matches("error: "));
    ExitCode::from(code)
}
