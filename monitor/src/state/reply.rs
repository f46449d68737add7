//! Signer outcomes: applied, already in effect, refused, dry run, unavailable (backoff).

use super::transition::announce;
use super::transition::{alert, millis};
use super::types::{Action, Event, Outcome, Pending, PendingStatus, Severity, State};
use crate::alert::AlertKind;
use crate::config::Policy;

pub(super) fn on_reply(
    policy: &Policy,
    st: &mut State,
    id: &str,
    outcome: &Outcome,
    now_ms: u64,
    acts: &mut Vec<Action>,
) {
    let Some(p) = st.pending.as_mut().filter(|p| p.request_id == id) else {
        confirm_finished(st, id, outcome, acts);
        return;
    };
    st.in_flight = false;
    match outcome {
        Outcome::Applied { tx_id, block } => {
            announce(&policy.account, p, tx_id, *block, acts);
            p.status = PendingStatus::Applied {
                tx_id: tx_id.clone(),
                block: *block,
            };
        }
        Outcome::AlreadyInEffect => {
            announce(&policy.account, p, "", 0, acts);
            p.status = PendingStatus::Applied {
                tx_id: String::new(),
                block: 0,
            };
        }
        Outcome::DryRun { allowed, detail } => {
            acts.push(Action::Log(Event::DryRun {
                request_id: p.request_id.clone(),
                from: p.from_server.clone(),
                to: p.target_server.clone(),
                allowed: *allowed,
                detail: detail.clone(),
            }));
            acts.push(dry_run_alert(&policy.account, p, *allowed, detail));
            p.status = PendingStatus::DryRunReported;
        }
        Outcome::Refused { rule, .. } if rule == "compare-and-swap" => {
            // Someone else changed the key: drop the intent; the next reading re-decides.
            acts.push(Action::Log(Event::Abandoned {
                request_id: p.request_id.clone(),
                chain: "changed (compare-and-swap)".to_owned(),
            }));
            st.pending = None;
        }
        Outcome::Refused { rule, reason } => {
            p.attempts += 1;
            st.next_attempt_ms = now_ms.saturating_add(millis(policy.retry_max));
            failed(p, rule, reason, millis(policy.retry_max), acts);
        }
        Outcome::Unavailable { error } => {
            p.attempts += 1;
            let exp = policy
                .retry_initial
                .saturating_mul(1u32 << p.attempts.saturating_sub(1).min(16));
            let delay = millis(exp.min(policy.retry_max));
            st.next_attempt_ms = now_ms.saturating_add(delay);
            failed(p, "unavailable", error, delay, acts);
        }
    }
}

/// An answer for a request no longer pending: the chain showed its change first and the
/// announcement went out without a transaction id. An applied answer for the last action
/// completes it (log line and `last_action`); anything else is stale and ignored.
fn confirm_finished(st: &mut State, id: &str, outcome: &Outcome, acts: &mut Vec<Action>) {
    let Outcome::Applied { tx_id, block } = outcome else {
        return;
    };
    let unknown = format!("(request {id}, tx unknown)");
    let Some(last) = st.last_action.as_mut().filter(|l| l.ends_with(&unknown)) else {
        return;
    };
    let known = format!("(request {id}, tx {tx_id} block {block})");
    last.truncate(last.len() - unknown.len());
    last.push_str(&known);
    acts.push(Action::Log(Event::Confirmed {
        request_id: id.to_owned(),
        tx_id: tx_id.clone(),
        block: *block,
    }));
}

/// The signer's answer to a dry run, for the alert sinks: allowed (a warning: in live mode the
/// switch would have happened now) or refused (critical: in live mode it would fail), and why.
fn dry_run_alert(account: &str, p: &Pending, allowed: bool, detail: &str) -> Action {
    let change = if p.target_key.is_null() {
        format!(
            "set the null key (kill switch: witness {account} disabled) after {} failed",
            p.from_server
        )
    } else {
        format!("switch {} -> {}", p.from_server, p.target_server)
    };
    let (severity, title) = if allowed {
        (Severity::Warning, format!("the signer would {change}"))
    } else {
        (
            Severity::Critical,
            format!("the signer would refuse to {change}"),
        )
    };
    let answer = if detail.is_empty() {
        "no detail".to_owned()
    } else {
        detail.to_owned()
    };
    alert(
        AlertKind::DryRun,
        severity,
        &format!("dry-run-{}", p.request_id),
        title,
        format!(
            "dry run, nothing was signed or broadcast; why the monitor asked: {}; the signer's \
             answer: {answer}; request {}",
            p.reason, p.request_id
        ),
    )
}

fn failed(p: &Pending, rule: &str, detail: &str, retry_in_ms: u64, acts: &mut Vec<Action>) {
    acts.push(Action::Log(Event::SignerFailed {
        request_id: p.request_id.clone(),
        rule: rule.to_owned(),
        detail: detail.to_owned(),
        retry_in_ms,
    }));
    let what = if p.dry_run {
        "signer did not answer the dry run of"
    } else {
        "signer did not switch"
    };
    acts.push(alert(
        AlertKind::ActionFailed,
        Severity::Critical,
        // Per request (one take-over): the next incident's failure is alerted at once.
        &format!("signer-{rule}-{}", p.request_id),
        format!("{what} {} -> {}: {rule}", p.from_server, p.target_server),
        format!(
            "{detail}; request {} retried in {} s",
            p.request_id,
            retry_in_ms / 1000
        ),
    ));
}
