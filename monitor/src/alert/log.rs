//! [`LogSink`]: alerts as `tracing` events (journald picks them up).

use std::future::Future;
use std::pin::Pin;

use super::{Alert, AlertError, AlertSink, Severity};

/// Writes each alert as one log line with `event="alert"`.
#[derive(Debug, Default)]
pub struct LogSink;

impl AlertSink for LogSink {
    fn name(&self) -> &str {
        "log"
    }

    fn send<'a>(
        &'a self,
        alert: &'a Alert,
    ) -> Pin<Box<dyn Future<Output = Result<(), AlertError>> + Send + 'a>> {
        Box::pin(async move {
            let kind = format!("{:?}", alert.kind);
            let (title, body, account, host) = (
                &alert.title,
                alert.body.replace('\n', "; "),
                &alert.source.account,
                &alert.source.host,
            );
            match alert.severity {
                Severity::Critical => {
                    tracing::error!(event = "alert", kind, %account, %host, %body, "{title}")
                }
                Severity::Warning => {
                    tracing::warn!(event = "alert", kind, %account, %host, %body, "{title}")
                }
                Severity::Info => {
                    tracing::info!(event = "alert", kind, %account, %host, %body, "{title}")
                }
            }
            Ok(())
        })
    }
}
