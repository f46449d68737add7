//! `run`: the daemon.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::alert::{AlertKind, Dispatcher, Severity, Source, sinks};
use crate::config::{self, Settings, Window};
use crate::daemon::Daemon;
use crate::error::Error;
use crate::metrics::{self, Metrics};
use crate::persist::{signer_mode, state_file};
use crate::shutdown;
use crate::signer_client::cert_expiry::CertRole;
use crate::signer_client::{GrpcSigner, SignerProblem};
use crate::watch::{self, LinkTracker, LinkWatch};

/// Loads everything, then runs the loop until SIGTERM/SIGINT.
pub async fn run(path: &Path) -> Result<(), Error> {
    let settings = config::load(path)?;
    state_file::ensure_dir(&settings.state_dir)?;
    let (state, rebaselined) = state_file::load(&settings.state_dir, &settings.policy.account)?
        .for_mode(settings.policy.dry_run);
    let signer = GrpcSigner::new(&settings.signer, &settings.profile.address_prefix)?;
    let span = if settings.policy.dry_run {
        tracing::warn_span!("DRY-RUN")
    } else {
        tracing::Span::none()
    };
    async move {
        let (trigger, listener) = shutdown::channel();
        let metrics = Arc::new(Metrics::default());
        if let Some(addr) = settings.metrics_listen {
            let bound = metrics::serve(addr, metrics.clone(), listener.clone()).await?;
            // A machine-readable line for tests and wrappers (port 0 picks a free port).
            println!("{}", serde_json::json!({ "metrics": bound.to_string() }));
        }
        let sinks = sinks::build_all(&settings)?;
        let source = Source {
            account: settings.policy.account.clone(),
            host: hostname(),
        };
        let min_interval =
            u64::try_from(settings.alerts.min_interval.as_millis()).unwrap_or(u64::MAX);
        let alerts =
            Dispatcher::new(sinks, source, min_interval).with_dry_run(settings.policy.dry_run);
        for line in summary(&settings).lines() {
            tracing::info!(event = "startup", "{line}");
        }
        if let Some(note) = &rebaselined {
            tracing::warn!(event = "mode-changed", "{note}");
        }
        if let Some(p) = &state.pending {
            tracing::warn!(
                event = "resume",
                request_id = p.request_id.as_str(),
                "a saved action is pending; reconciling with the chain"
            );
        }
        let certs = watch::read_certs(&settings.signer);
        metrics.cert_expiry(
            watch::not_after(&certs, CertRole::Client),
            watch::not_after(&certs, CertRole::Ca),
        );
        let warn_before = settings.signer.cert_expiry_warning;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        watch::report_certs(&certs, now, warn_before, &alerts, true);
        let daily = watch::watch_certs(certs, warn_before, alerts.clone(), listener.clone());
        tokio::spawn(daily.in_current_span());
        let (failed, signer_mode) = match check_signer(&settings, &signer, &alerts).await {
            Ok(mode) => (None, mode),
            Err(problem) => (Some(problem), None),
        };
        metrics.signer_link(failed.is_none());
        let link = LinkWatch {
            endpoint: settings.signer.endpoint.clone(),
            interval: settings.signer.status_interval,
            alerts: alerts.clone(),
            metrics: metrics.clone(),
        };
        // A clone shares the channel: the calls keep warm the connection a failover uses.
        let warm = signer.clone();
        let limit = SIGNER_CHECK_LIMIT.min(settings.signer.timeout);
        let probe = move || {
            let signer = warm.clone();
            async move { signer.check(limit).await.map(drop) }
        };
        let tracker = LinkTracker::after_start_check(failed);
        let keeper = watch::keep_link_warm(link, tracker, probe, listener.clone());
        tokio::spawn(keeper.in_current_span());
        let text = format!(
            "monitoring {} ({} server(s))",
            settings.policy.account,
            settings.policy.servers.len()
        );
        let mut startup = summary(&settings);
        startup.push_str(&format!(
            "signer: {}\n",
            signer_mode
                .as_deref()
                .unwrap_or("not reachable at start (its mode is unknown)")
        ));
        alerts
            .deliver(&alerts.alert(AlertKind::Startup, Severity::Info, text, startup))
            .await;
        tokio::spawn(async move {
            match shutdown::signals().await {
                Ok(()) => tracing::info!(event = "signal", "shutting down"),
                Err(e) => tracing::error!(cause = %e, "cannot listen for signals; stopping"),
            }
            trigger.fire();
        });
        Daemon::new(settings, state, Arc::new(signer), alerts, metrics)
            .run(listener)
            .await
    }
    .instrument(span)
    .await
}

/// How long the start-up and `check-config --online` checks wait for the signer's `Status`.
pub const SIGNER_CHECK_LIMIT: Duration = Duration::from_secs(10);

/// Proves the link to the signer at start-up (the mTLS handshake and a `Status` call), so a
/// broken link shows now rather than during an incident: when it fails, an error log line and a
/// critical alert name the real cause. Then warns about switches the signer's policy would
/// refuse. Never fatal: the signer may start later. Returns the problem when the link failed,
/// so the warm-link watch continues that outage instead of alerting it again; else how the
/// signer signs for the account (also saved for `status`).
async fn check_signer(
    settings: &Settings,
    signer: &GrpcSigner,
    alerts: &Dispatcher,
) -> Result<Option<String>, SignerProblem> {
    let endpoint = settings.signer.endpoint.as_str();
    let status = match signer.check(SIGNER_CHECK_LIMIT).await {
        Ok(status) => status,
        Err(problem) => {
            tracing::error!(
                event = "signer-check",
                endpoint,
                cause = %problem,
                "cannot use the signer: {}; the monitor keeps watching, but a failover fails until this is fixed",
                problem.short()
            );
            let alert = alerts.alert(
                AlertKind::SignerTrouble,
                Severity::Critical,
                format!("cannot use the signer at {endpoint}: {}", problem.short()),
                format!(
                    "{problem}\nThe monitor keeps watching, but a failover fails until this is \
                     fixed. Check again with `vwf-monitor check-config --online --config {}`.",
                    settings.path.display()
                ),
            );
            alerts.deliver(&alert).await;
            return Err(problem);
        }
    };
    tracing::info!(
        event = "signer-check",
        endpoint,
        identity = status.client_identity.as_str(),
        version = status.version.as_str(),
        "mTLS handshake and Status with the signer OK"
    );
    let mode = signer_mode::describe(&status, &settings.policy.account);
    if let Some(line) = &mode {
        tracing::info!(
            event = "signer-mode",
            "the signer signs for {}: {line}",
            settings.policy.account
        );
        let saved = signer_mode::SignerMode {
            checked_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            line: line.clone(),
        };
        if let Err(e) = signer_mode::save(&settings.state_dir, &saved) {
            tracing::warn!(event = "signer-mode", cause = %e, "cannot save the signer's mode for `status`");
        }
    }
    let gaps = policy_gaps(settings, &status);
    for gap in &gaps {
        tracing::warn!(event = "signer-policy", "{gap}");
    }
    if gaps.is_empty() {
        tracing::info!(
            event = "signer-policy",
            "the signer allows every switch this monitor may ask for"
        );
    } else {
        let alert = alerts.alert(
            AlertKind::SignerTrouble,
            Severity::Warning,
            "the signer's policy does not allow every planned switch".into(),
            gaps.join("\n"),
        );
        alerts.deliver(&alert).await;
    }
    Ok(mode)
}

/// What this monitor may ask for that the signer's policy does not allow.
pub fn policy_gaps(settings: &Settings, status: &vwf_proto::v1::StatusResponse) -> Vec<String> {
    let prefix = &settings.profile.address_prefix;
    let account = &settings.policy.account;
    let chain_id = settings.profile.chain_id.to_string();
    if status.chain_id != chain_id {
        return vec![format!(
            "the signer works on chain {} (profile {}), this monitor on {chain_id} (profile {})",
            status.chain_id, status.profile, settings.profile.name
        )];
    }
    let Some(allowed) = status.accounts.iter().find(|a| &a.account == account) else {
        return vec![format!(
            "the signer's policy names no account {account} for this monitor ({})",
            status.client_identity
        )];
    };
    let mut gaps: Vec<String> = settings
        .policy
        .servers
        .iter()
        .skip(1)
        .map(|server| (server, server.key.to_string_with_prefix(prefix)))
        .filter(|(_, key)| !allowed.allowed_targets.contains(key))
        .map(|(server, key)| {
            format!(
                "the signer does not allow switching to {} ({key})",
                server.name
            )
        })
        .collect();
    // In signing-key mode each step is signed by the key it switches away from: the signer must
    // hold every server's signing key.
    if allowed.mode == "signing-key" {
        for server in &settings.policy.servers {
            let key = server.key.to_string_with_prefix(prefix);
            let held = allowed
                .signing_keys
                .iter()
                .any(|k| k.split(' ').next() == Some(key.as_str()));
            if !held {
                gaps.push(format!(
                    "the signer is in signing-key mode but holds no signing key for {} ({key}): it \
                     could not switch away from that server",
                    server.name
                ));
            }
        }
    }
    let null = vwf_shared::PublicKey::NULL.to_string_with_prefix(prefix);
    if !allowed.allowed_targets.contains(&null) {
        gaps.push("the signer does not allow the kill switch (the null key)".into());
    }
    gaps
}

/// The start-up summary: account, servers and keys, thresholds, nodes, quorum.
pub fn summary(s: &Settings) -> String {
    let p = &s.policy;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "account {} on {} (dry_run={})",
        p.account, s.profile.name, p.dry_run
    );
    for (i, srv) in p.servers.iter().enumerate() {
        let role = if i == 0 { "primary" } else { "backup" };
        let node = srv.node.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "server[{i}] {} ({role}) key {} health-node {node}",
            srv.name,
            p.show(&srv.key)
        );
    }
    let _ = writeln!(out, "after the last server: null key (kill switch)");
    let window = match p.thresholds.window {
        None => "since take-over".to_owned(),
        Some(Window::Seconds(w)) => format!("within {w} s"),
        Some(Window::Blocks(w)) => format!("within {w} blocks"),
    };
    let _ = writeln!(
        out,
        "threshold: {} missed block(s) {window}",
        p.thresholds.missed_blocks
    );
    let _ = writeln!(
        out,
        "evidence: {}",
        crate::commands::status::explain_evidence(&p.evidence)
    );
    for srv in p
        .servers
        .iter()
        .filter(|s| s.total_missed_threshold.is_some())
    {
        let _ = writeln!(
            out,
            "absolute threshold for {}: total_missed >= {:?}",
            srv.name, srv.total_missed_threshold
        );
    }
    let _ = writeln!(
        out,
        "nodes: {} (quorum {}, fresh within {} s)",
        s.nodes.join(", "),
        s.quorum,
        s.max_head_lag.as_secs()
    );
    let _ = writeln!(
        out,
        "poll every {} ms; signer {} (name {}), Status every {} s to keep the link warm",
        s.poll_interval.as_millis(),
        s.signer.endpoint,
        s.signer.server_name,
        s.signer.status_interval.as_secs()
    );
    let _ = writeln!(out, "state {}", state_file::path(&s.state_dir).display());
    out
}

/// This machine's host name, for [`Source::host`].
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".to_owned())
}
