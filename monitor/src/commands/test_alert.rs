//! `test-alert`: send one test alert (its own kind, [`AlertKind::Test`]: "test alert") to every
//! configured sink and report each.
//!
//! Uses the same [`sinks::build_all`] as `run`, so a sink that passes here is the sink the
//! daemon uses. Sinks are tried one after the other; the rate limiter is bypassed and the state
//! file is not touched.

use std::path::Path;

use crate::alert::{AlertKind, Dispatcher, Severity, Source, sinks};
use crate::config;
use crate::error::Error;

/// Sends the test alert; prints `<sink>: OK` or `<sink>: FAILED: <reason>` per sink.
/// Fails with [`Error::AlertTest`] when any sink failed.
pub async fn run(path: &Path) -> Result<(), Error> {
    let settings = config::load(path)?;
    let sinks = sinks::build_all(&settings)?;
    let source = Source {
        account: settings.policy.account.clone(),
        host: super::run::hostname(),
    };
    // Built as the daemon builds its alerts, so a dry-run config's test alert is marked too.
    let alert = Dispatcher::new(Vec::new(), source, 0)
        .with_dry_run(settings.policy.dry_run)
        .alert(
            AlertKind::Test,
            Severity::Info,
            "this is a test; no action is needed".to_owned(),
            format!(
                "This is a test alert sent by `vwf-monitor test-alert --config {}`. No action is needed.",
                path.display()
            ),
        );
    let mut failed = 0;
    for sink in &sinks {
        match sink.send(&alert).await {
            Ok(()) => println!("{}: OK", sink.name()),
            Err(e) => {
                failed += 1;
                println!("{}: FAILED: {}", sink.name(), e.message);
            }
        }
    }
    if failed > 0 {
        return Err(Error::AlertTest {
            failed,
            total: sinks.len(),
        });
    }
    Ok(())
}
