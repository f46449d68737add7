//! `vwf-monitor` binary: parse the CLI, set up logging, run, map the error to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use vwf_monitor::Error;
use vwf_monitor::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    // Ignore Err: a provider may already be installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("VWF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match vwf_monitor::commands::dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&anyhow::Error::new(e)),
    }
}

/// Prints the error and its sources, one per line, and picks the exit code.
fn report(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    match e.downcast_ref::<Error>() {
        Some(Error::CrashAfterIntent { .. }) => {
            ExitCode::from(u8::try_from(vwf_monitor::CRASH_AFTER_INTENT_EXIT_CODE).unwrap_or(1))
        }
        Some(Error::Config(_)) => ExitCode::from(2),
        Some(Error::State(_)) => ExitCode::from(3),
        _ => ExitCode::FAILURE,
    }
}
