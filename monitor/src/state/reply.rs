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
        return;
    };
    st.in_flight = false;
    match outcome {
        Outcome::Applied { tx_id, block } => {
            announce(p, tx_id, *block, acts);
            p.status = PendingStatus::Applied {
                tx_id: tx_id.clone(),
                block: *block,
            };
        }
        Outcome::AlreadyInEffect => {
            announce(p, "", 0, acts);
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

fn failed(p: &Pending, rule: &str, detail: &str, retry_in_ms: u64, acts: &mut Vec<Action>) {
    acts.push(Action::Log(Event::SignerFailed {
        request_id: p.request_id.clone(),
        rule: rule.to_owned(),
        detail: detail.to_owned(),
        retry_in_ms,
    }));
    acts.push(alert(
        AlertKind::ActionFailed,
        Severity::Critical,
        &format!("signer-{rule}"),
        format!(
            "signer did not switch {} -> {}: {rule}",
            p.from_server, p.target_server
        ),
        format!(
            "{detail}; request {} retried in {} s",
            p.request_id,
            retry_in_ms / 1000
        ),
    ));
}
