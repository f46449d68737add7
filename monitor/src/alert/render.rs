//! How an [`Alert`] reads in a message: one subject line and a plain-text body, shared by the
//! email and webhook sinks so every channel says the same thing.
//!
//! Every message names where it comes from (`vwf-monitor` on which host, for which witness
//! account) and spells out what the kind means, so an operator reading only the subject can tell
//! "the nodes are unreachable or disagree" (a monitoring problem) from "the witness is missing
//! blocks" (a block producer problem).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Alert, AlertKind, DRY_RUN_MARK, Severity};

/// The program named as the sender in every message.
pub const PROGRAM: &str = "vwf-monitor";

/// A short label for the kind, used in subjects.
pub fn kind_label(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Action => "key changed",
        AlertKind::ActionFailed => "failed to act",
        AlertKind::NodeTrouble => "node trouble",
        AlertKind::MissingBlocks => "missing blocks",
        AlertKind::Startup => "started",
        AlertKind::Recovered => "recovered",
        AlertKind::SignerTrouble => "signer unreachable",
        AlertKind::DryRun => "dry-run result",
        AlertKind::CertExpiry => "certificate expiry",
        AlertKind::Test => "test alert",
    }
}

/// One sentence saying what the kind means for the operator.
pub fn kind_meaning(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Action => "The witness signing key was changed.",
        AlertKind::ActionFailed => "The monitor tried to change the signing key and could not.",
        AlertKind::NodeTrouble => {
            "The nodes are unreachable, stale or disagree: the monitor cannot see the chain \
             reliably (this alone says nothing about the witness's own blocks)."
        }
        AlertKind::MissingBlocks => "The witness is missing blocks.",
        AlertKind::Startup => "The monitor started.",
        AlertKind::Recovered => "A problem reported earlier is resolved.",
        AlertKind::SignerTrouble => {
            "The monitor cannot complete the mTLS handshake with the signer or call it: a \
             failover would fail until this is fixed."
        }
        AlertKind::DryRun => {
            "Dry-run mode: the monitor asked the signer what it would do; nothing was signed \
             or broadcast."
        }
        AlertKind::CertExpiry => {
            "A certificate of the monitor's mTLS link to the signer expires soon, has expired \
             or is not valid yet: once it is unusable, the signer refuses this monitor and a \
             failover fails. Replace it before then and restart the monitor."
        }
        AlertKind::Test => {
            "A test of this alert channel, sent on request by `vwf-monitor test-alert`; \
             nothing happened to the witness."
        }
    }
}

/// Upper-case severity, e.g. `CRITICAL`.
pub fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "INFO",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
    }
}

/// `[vwf-monitor account@host] CRITICAL missing blocks: <title>`; in dry-run mode the title's
/// mark comes first: `[vwf-monitor account@host] DRY-RUN: CRITICAL failed to act: <title>`.
pub fn subject(alert: &Alert) -> String {
    let (mark, title) = match alert.title.strip_prefix(DRY_RUN_MARK) {
        Some(rest) => (DRY_RUN_MARK, rest),
        None => ("", alert.title.as_str()),
    };
    format!(
        "[{PROGRAM} {}@{}] {mark}{} {}: {title}",
        alert.source.account,
        alert.source.host,
        severity_label(alert.severity),
        kind_label(alert.kind),
    )
}

/// The subject, the meaning of the kind, the details and a signature line naming the source.
/// No timestamp: every channel stamps messages itself, and this keeps the text reproducible.
pub fn text(alert: &Alert) -> String {
    format!(
        "{}\n\n{}\n\n{}\n\n-- {PROGRAM} on host {}, watching witness {}",
        subject(alert),
        kind_meaning(alert.kind),
        alert.body.trim_end(),
        alert.source.host,
        alert.source.account,
    )
}

/// The current UTC time as RFC 3339, or Unix seconds if formatting fails (it does not for UTC).
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    now.format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Cuts `text` to at most `max` characters, ending in `…` when cut (chat services cap lengths).
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Replaces every occurrence of each non-empty secret in `text` with `[redacted]`.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |t, s| t.replace(s, "[redacted]"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Source;

    fn alert(kind: AlertKind) -> Alert {
        Alert {
            kind,
            severity: Severity::Critical,
            title: "t".into(),
            body: "b".into(),
            source: Source {
                account: "acct".into(),
                host: "box1".into(),
            },
        }
    }

    #[test]
    fn subject_names_source_severity_and_kind() {
        let s = subject(&alert(AlertKind::MissingBlocks));
        assert_eq!(s, "[vwf-monitor acct@box1] CRITICAL missing blocks: t");
    }

    #[test]
    fn a_dry_run_mark_leads_the_subject() {
        let mut a = alert(AlertKind::ActionFailed);
        a.title = "DRY-RUN: signer did not answer".into();
        assert_eq!(
            subject(&a),
            "[vwf-monitor acct@box1] DRY-RUN: CRITICAL failed to act: signer did not answer"
        );
    }

    #[test]
    fn test_alerts_say_so() {
        let mut a = alert(AlertKind::Test);
        a.severity = Severity::Info;
        let text = text(&a);
        assert!(text.contains("INFO test alert: t"), "{text}");
        assert!(text.contains("nothing happened to the witness"), "{text}");
        assert!(!text.contains("started"), "{text}");
    }

    #[test]
    fn node_trouble_and_missing_blocks_read_differently() {
        let nodes = text(&alert(AlertKind::NodeTrouble));
        let blocks = text(&alert(AlertKind::MissingBlocks));
        assert!(nodes.contains("unreachable, stale or disagree"));
        assert!(!nodes.contains("missing blocks"));
        assert!(blocks.contains("The witness is missing blocks."));
        assert!(blocks.contains("on host box1, watching witness acct"));
    }

    #[test]
    fn truncate_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo", 3), "hé…");
    }

    #[test]
    fn scrub_removes_every_secret() {
        assert_eq!(scrub("a s3 b s3", &["s3", ""]), "a [redacted] b [redacted]");
    }
}
