//! Background watches beside the poll loop, each in its own task so that neither can block or
//! delay a poll or a signer call:
//!
//! - [`keep_link_warm`]: a cheap `Status` call every `[signer] status_interval_seconds` keeps
//!   the one connection to the signer open and proven. The signer closes a connection that
//!   carries no request for its `[listen] idle_timeout_seconds` (default 300 s; HTTP/2 PINGs do
//!   not count), and a flood on the signer can make a new connection slow or impossible: a kill
//!   switch should never have to connect first. A failing call is logged and alerted once per
//!   outage ([`LinkTracker`]), and its end once.
//! - [`watch_certs`]: the client and CA certificates' expiry, at start ([`report_certs`]) and
//!   once a day, warned `[signer] cert_expiry_warning_days` ahead.
//!
//! Both deliver their alerts directly (not through the daemon's rate limiter, whose state the
//! poll loop owns): the link watch sends one per outage and one per recovery, the certificate
//! watch one per troubled certificate per check.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use crate::alert::{AlertKind, Dispatcher, Severity};
use crate::config::SignerSettings;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::signer_client::SignerProblem;
use crate::signer_client::cert_expiry::{CertReadError, CertRole, CertValidity, Expiry};

/// How often [`watch_certs`] looks again while the monitor runs.
pub const CERT_CHECK_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// What changed with one warm-up call's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkChange {
    /// Up, as before.
    StillUp,
    /// The first failure of an outage: log an error and alert.
    Down(SignerProblem),
    /// Still down for the same reason: nothing to say above debug.
    StillDown,
    /// Still down, for another reason now: one log line, no alert.
    NewCause(SignerProblem),
    /// The first success after an outage: one log line and a recovery alert.
    Up {
        /// Calls that failed in the outage.
        failed_calls: u32,
    },
}

/// Outage bookkeeping for the warm link: turns a stream of call results into
/// [`LinkChange`]s, so an outage is reported once, not at every interval.
#[derive(Clone, Debug, Default)]
pub struct LinkTracker {
    down: Option<SignerProblem>,
    failed_calls: u32,
}

impl LinkTracker {
    /// A tracker that continues from the start-up check: when it failed (and alerted), the
    /// outage is already open and only its end is reported.
    pub fn after_start_check(failed: Option<SignerProblem>) -> Self {
        LinkTracker {
            failed_calls: u32::from(failed.is_some()),
            down: failed,
        }
    }

    /// Records one call's result.
    pub fn observe(&mut self, result: Result<(), SignerProblem>) -> LinkChange {
        match (result, self.down.take()) {
            (Ok(()), None) => LinkChange::StillUp,
            (Ok(()), Some(_)) => LinkChange::Up {
                failed_calls: std::mem::take(&mut self.failed_calls),
            },
            (Err(problem), None) => {
                self.failed_calls = 1;
                self.down = Some(problem.clone());
                LinkChange::Down(problem)
            }
            (Err(problem), Some(before)) => {
                self.failed_calls = self.failed_calls.saturating_add(1);
                let change = if problem.short() == before.short() {
                    LinkChange::StillDown
                } else {
                    LinkChange::NewCause(problem.clone())
                };
                self.down = Some(problem);
                change
            }
        }
    }

    /// Whether an outage is open.
    pub fn is_down(&self) -> bool {
        self.down.is_some()
    }
}

/// What [`keep_link_warm`] needs besides the call itself.
pub struct LinkWatch {
    /// `[signer] endpoint`, for log lines and alerts.
    pub endpoint: String,
    /// Time between calls.
    pub interval: Duration,
    /// Where outage and recovery alerts go.
    pub alerts: Dispatcher,
    /// Gets `vwf_signer_link_up`.
    pub metrics: Arc<Metrics>,
}

/// Calls `probe` (a `Status` on the shared channel, bounded in time) every `watch.interval`
/// until `shutdown`, and reports outages through `tracker`. Runs in its own task.
pub async fn keep_link_warm<F, Fut>(
    watch: LinkWatch,
    mut tracker: LinkTracker,
    probe: F,
    mut shutdown: Shutdown,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), SignerProblem>>,
{
    // The start-up check has just used the connection: the first call is one interval later.
    let mut ticker = tokio::time::interval_at(Instant::now() + watch.interval, watch.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let endpoint = watch.endpoint.as_str();
    let every = watch.interval.as_secs();
    loop {
        tokio::select! {
            biased;
            () = shutdown.recv() => return,
            _ = ticker.tick() => {}
        }
        let result = tokio::select! {
            biased;
            () = shutdown.recv() => return,
            result = probe() => result,
        };
        watch.metrics.signer_link(result.is_ok());
        match tracker.observe(result) {
            LinkChange::StillUp => {
                tracing::debug!(
                    event = "signer-link",
                    endpoint,
                    "Status OK; connection warm"
                );
            }
            LinkChange::StillDown => {
                tracing::debug!(
                    event = "signer-link",
                    endpoint,
                    "the signer link is still down"
                );
            }
            LinkChange::NewCause(problem) => {
                tracing::warn!(
                    event = "signer-link",
                    endpoint,
                    cause = %problem,
                    "the signer link is still down, now: {}",
                    problem.short()
                );
            }
            LinkChange::Down(problem) => {
                tracing::error!(
                    event = "signer-link",
                    endpoint,
                    cause = %problem,
                    "the signer link is down: {}; checking every {every} s (said once, and again when it works); a failover fails until this is fixed",
                    problem.short()
                );
                let alert = watch.alerts.alert(
                    AlertKind::SignerTrouble,
                    Severity::Critical,
                    format!(
                        "the link to the signer at {endpoint} is down: {}",
                        problem.short()
                    ),
                    format!(
                        "{problem}\nThe monitor calls Status every {every} s to keep the link \
                         open and proven; it alerts again when the link works. A failover \
                         fails until this is fixed."
                    ),
                );
                watch.alerts.deliver_in_background(alert);
            }
            LinkChange::Up { failed_calls } => {
                tracing::info!(
                    event = "signer-link",
                    endpoint,
                    failed_calls,
                    "the signer link works again: mTLS handshake and Status OK"
                );
                let alert = watch.alerts.alert(
                    AlertKind::Recovered,
                    Severity::Info,
                    format!("the link to the signer at {endpoint} works again"),
                    format!(
                        "resolved: signer-link (mTLS handshake and Status OK after \
                         {failed_calls} failed call(s))"
                    ),
                );
                watch.alerts.deliver_in_background(alert);
            }
        }
    }
}

/// The client certificate, then the CA certificate of `[signer]`, each read or why not.
pub fn read_certs(signer: &SignerSettings) -> Vec<Result<CertValidity, CertReadError>> {
    vec![
        CertValidity::read(CertRole::Client, &signer.client_cert),
        CertValidity::read(CertRole::Ca, &signer.ca),
    ]
}

/// When each readable certificate expires (client, CA), for the metrics.
pub fn not_after(certs: &[Result<CertValidity, CertReadError>], role: CertRole) -> Option<i64> {
    certs
        .iter()
        .flatten()
        .find(|c| c.role == role)
        .map(|c| c.not_after)
}

/// Logs each certificate's expiry (`event="cert-expiry"`) and alerts for each that expires
/// within `warn_before`, has expired or is not valid yet. `at_start` logs the fine ones and
/// unreadable files too (once); the daily checks only speak up about trouble.
pub fn report_certs(
    certs: &[Result<CertValidity, CertReadError>],
    now: i64,
    warn_before: Duration,
    alerts: &Dispatcher,
    at_start: bool,
) {
    for cert in certs {
        let cert = match cert {
            Ok(cert) => cert,
            Err(e) => {
                if at_start {
                    tracing::error!(event = "cert-expiry", field = e.role.field(), "{e}");
                }
                continue;
            }
        };
        let expiry = cert.classify(now, warn_before);
        let line = cert.describe(expiry);
        let days_left = cert.days_left(now);
        let field = cert.role.field();
        let severity = match expiry {
            Expiry::Valid { .. } => {
                if at_start {
                    tracing::info!(event = "cert-expiry", field, days_left, "{line}");
                } else {
                    tracing::debug!(event = "cert-expiry", field, days_left, "{line}");
                }
                continue;
            }
            Expiry::Soon { .. } => {
                tracing::warn!(event = "cert-expiry", field, days_left, "{line}");
                Severity::Warning
            }
            Expiry::Expired { .. } | Expiry::NotYetValid { .. } => {
                tracing::error!(event = "cert-expiry", field, days_left, "{line}");
                Severity::Critical
            }
        };
        let alert = alerts.alert(
            AlertKind::CertExpiry,
            severity,
            cert.headline(expiry),
            format!(
                "{line}\nsubject: {}\nThe monitor checks again once a day while it runs.",
                cert.subject
            ),
        );
        alerts.deliver_in_background(alert);
    }
}

/// Re-checks `certs` every [`CERT_CHECK_INTERVAL`] until `shutdown` (the start-up check is
/// [`report_certs`] with `at_start`). The certificates are those read at start: the ones this
/// process presents and trusts until it is restarted.
pub async fn watch_certs(
    certs: Vec<Result<CertValidity, CertReadError>>,
    warn_before: Duration,
    alerts: Dispatcher,
    mut shutdown: Shutdown,
) {
    let mut ticker =
        tokio::time::interval_at(Instant::now() + CERT_CHECK_INTERVAL, CERT_CHECK_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = shutdown.recv() => return,
            _ = ticker.tick() => {}
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        report_certs(&certs, now, warn_before, &alerts, false);
    }
}

#[cfg(test)]
mod tests;
