//! Entry point: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use vwf_signer::cli::Cli;
use vwf_signer::error::EXIT_BAD_INPUT;

fn main() -> ExitCode {
    // One crypto provider for every TLS user in the process (tonic, rustls); Err only means one
    // is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    init_logging();
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

/// Logs to stderr (journald captures it), `RUST_LOG` filters, no colours unless on a terminal.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
