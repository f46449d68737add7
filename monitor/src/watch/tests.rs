//! The warm link reports an outage once and its end once; certificates near their end are
//! alerted with the kind and severity their state calls for.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::alert::{Alert, AlertError, AlertSink, Source};

fn refused() -> SignerProblem {
    SignerProblem::ConnectionRefused {
        endpoint: "https://127.0.0.1:7575".into(),
    }
}

fn timeout() -> SignerProblem {
    SignerProblem::Timeout {
        endpoint: "https://127.0.0.1:7575".into(),
    }
}

#[test]
fn an_outage_is_reported_once_then_its_end_once() {
    let mut t = LinkTracker::default();
    assert_eq!(t.observe(Ok(())), LinkChange::StillUp);
    assert_eq!(t.observe(Err(refused())), LinkChange::Down(refused()));
    for _ in 0..5 {
        assert_eq!(t.observe(Err(refused())), LinkChange::StillDown);
    }
    assert!(t.is_down());
    // Another cause is worth a line, not another alert.
    assert_eq!(t.observe(Err(timeout())), LinkChange::NewCause(timeout()));
    assert_eq!(t.observe(Err(timeout())), LinkChange::StillDown);
    assert_eq!(t.observe(Ok(())), LinkChange::Up { failed_calls: 8 });
    assert_eq!(t.observe(Ok(())), LinkChange::StillUp);
    assert!(!t.is_down());
    // The next outage is a new one.
    assert_eq!(t.observe(Err(refused())), LinkChange::Down(refused()));
}

#[test]
fn a_failed_start_check_opens_the_outage() {
    let mut t = LinkTracker::after_start_check(Some(refused()));
    assert_eq!(t.observe(Err(refused())), LinkChange::StillDown);
    assert_eq!(t.observe(Ok(())), LinkChange::Up { failed_calls: 2 });
    let mut fine = LinkTracker::after_start_check(None);
    assert_eq!(fine.observe(Ok(())), LinkChange::StillUp);
}

/// Keeps every alert it is given.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Alert>>>);

impl Recorder {
    fn alerts(&self) -> Vec<Alert> {
        self.0.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl AlertSink for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    fn send<'a>(
        &'a self,
        alert: &'a Alert,
    ) -> Pin<Box<dyn Future<Output = Result<(), AlertError>> + Send + 'a>> {
        if let Ok(mut all) = self.0.lock() {
            all.push(alert.clone());
        }
        Box::pin(async { Ok(()) })
    }
}

fn dispatcher(recorder: &Recorder, dry_run: bool) -> Dispatcher {
    let source = Source {
        account: "acct".into(),
        host: "box1".into(),
    };
    Dispatcher::new(vec![Box::new(recorder.clone())], source, 1000).with_dry_run(dry_run)
}

/// Waits (bounded) until `done` holds for the recorded alerts.
async fn wait_for(recorder: &Recorder, done: impl Fn(&[Alert]) -> bool) -> Vec<Alert> {
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let alerts = recorder.alerts();
            if done(&alerts) {
                return alerts;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("alerts never arrived: {:#?}", recorder.alerts()))
}

#[tokio::test]
async fn the_warm_link_alerts_once_per_outage_and_once_when_it_is_back() {
    let recorder = Recorder::default();
    let metrics = Arc::new(Metrics::default());
    let watch = LinkWatch {
        endpoint: "https://127.0.0.1:7575".into(),
        interval: Duration::from_millis(1),
        alerts: dispatcher(&recorder, false),
        metrics: metrics.clone(),
    };
    // Up, down for six calls, then up for good.
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let probe = move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if (1..=6).contains(&n) {
                Err(refused())
            } else {
                Ok(())
            }
        }
    };
    let (trigger, listener) = crate::shutdown::channel();
    let task = tokio::spawn(keep_link_warm(
        watch,
        LinkTracker::default(),
        probe,
        listener,
    ));
    wait_for(&recorder, |a| {
        a.iter().any(|a| a.kind == AlertKind::Recovered)
    })
    .await;
    // A few more healthy calls say nothing.
    let seen = calls.load(Ordering::SeqCst);
    let more = tokio::time::timeout(Duration::from_secs(20), async {
        while calls.load(Ordering::SeqCst) < seen + 5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(more.is_ok(), "the watch stopped calling");
    trigger.fire();
    let stopped = tokio::time::timeout(Duration::from_secs(20), task).await;
    assert!(matches!(stopped, Ok(Ok(()))), "the watch did not stop");
    let alerts = recorder.alerts();
    let down: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::SignerTrouble)
        .collect();
    let up: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Recovered)
        .collect();
    assert_eq!(down.len(), 1, "{alerts:#?}");
    assert_eq!(up.len(), 1, "{alerts:#?}");
    assert_eq!(down[0].severity, Severity::Critical);
    assert!(
        down[0].title.ends_with("is down: connection refused")
            && down[0].body.contains("vwf-signer serve"),
        "{:?}",
        down[0]
    );
    assert!(up[0].body.contains("after 6 failed call(s)"), "{:?}", up[0]);
    assert!(metrics.render(0).contains("vwf_signer_link_up 1"));
}

/// A self-signed certificate valid from `from` to `until` days from now, written to `dir`.
fn cert_file(dir: &Path, name: &str, from_days: i64, until_days: i64) -> std::path::PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let mut params = rcgen::CertificateParams::new(vec!["monitor.example".to_owned()])
        .unwrap_or_else(|e| panic!("params: {e}"));
    params.not_before = now + time::Duration::days(from_days);
    params.not_after = now + time::Duration::days(until_days);
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("key: {e}"));
    let pem = params
        .self_signed(&key)
        .unwrap_or_else(|e| panic!("cert: {e}"))
        .pem();
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap_or_else(|e| panic!("write: {e}"));
    path
}

#[tokio::test]
async fn certificates_near_their_end_are_alerted_by_state() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let warn = Duration::from_secs(30 * 86_400);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let fine = CertValidity::read(CertRole::Ca, &cert_file(dir.path(), "ca.pem", -1, 400));
    let soon = CertValidity::read(
        CertRole::Client,
        &cert_file(dir.path(), "client.pem", -1, 10),
    );

    // A client certificate with 10 days left: one warning, marked in dry-run mode.
    let recorder = Recorder::default();
    report_certs(
        &[soon.clone(), fine.clone()],
        now,
        warn,
        &dispatcher(&recorder, true),
        true,
    );
    let alerts = wait_for(&recorder, |a| !a.is_empty()).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        (alerts[0].kind, alerts[0].severity),
        (AlertKind::CertExpiry, Severity::Warning)
    );
    assert!(
        alerts[0]
            .title
            .starts_with("DRY-RUN: the client certificate expires in "),
        "{}",
        alerts[0].title
    );
    assert!(
        alerts[0].body.contains("client.pem expires in"),
        "{}",
        alerts[0].body
    );
    assert_eq!(
        not_after(&[soon.clone(), fine.clone()], CertRole::Client),
        soon.clone().ok().map(|c| c.not_after)
    );

    // An expired CA certificate is critical; a valid one is silent; an unreadable file is
    // logged, not alerted.
    let expired = CertValidity::read(CertRole::Ca, &cert_file(dir.path(), "old.pem", -30, -1));
    let missing = CertValidity::read(CertRole::Client, &dir.path().join("missing.pem"));
    assert!(missing.is_err());
    let recorder = Recorder::default();
    report_certs(
        &[fine, expired, missing],
        now,
        warn,
        &dispatcher(&recorder, false),
        false,
    );
    let alerts = wait_for(&recorder, |a| !a.is_empty()).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(alerts[0].title, "the CA certificate has expired");
}
