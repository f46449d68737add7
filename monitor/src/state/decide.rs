//! Thresholds and the choice of target: when the active server has failed, and where to go.

use vwf_shared::PublicKey;

use super::evidence::{corroborated, miss_threshold};
use super::transition::alert;
use super::types::{
    Action, ChainView, Event, Health, Miss, Mode, Pending, PendingStatus, Severity, State,
};
use crate::alert::AlertKind;
use crate::config::{Policy, Server, Window};

/// Most misses kept in [`Mode::Active`] (enough for any sensible threshold).
const MAX_MISSES: usize = 64;

/// The request id of an intent: `<account>-<from key, 8 chars>-<to>-<baseline>-<takeover block>`.
///
/// The same take-over of the same server always gives the same id, so retries and restarts
/// resend the same request; a later take-over (even of the same server) gets a new one.
pub fn request_id(
    policy: &Policy,
    from: &PublicKey,
    to: &str,
    baseline: u32,
    block: u32,
) -> String {
    let shown = policy.show(from);
    let body = shown.strip_prefix(&policy.prefix).unwrap_or(&shown);
    let short: String = body.chars().take(8).collect();
    format!("{}-{short}-{to}-{baseline}-{block}", policy.account)
}

/// Drops misses outside the window and caps the list.
pub(super) fn prune(misses: &mut Vec<Miss>, window: Option<Window>, view: &ChainView) {
    match window {
        Some(Window::Seconds(s)) => {
            let from = i64::from(view.head_time) - i64::try_from(s).unwrap_or(i64::MAX);
            misses.retain(|m| i64::from(m.time) > from);
        }
        Some(Window::Blocks(b)) => {
            let from = i64::from(view.head_block) - i64::from(b);
            misses.retain(|m| i64::from(m.block) > from);
        }
        None => {}
    }
    if misses.len() > MAX_MISSES {
        let extra = misses.len() - MAX_MISSES;
        misses.drain(..extra);
    }
}

/// Misses counted towards the relative threshold.
pub(super) fn counted(policy: &Policy, baseline: u32, last: u32, misses: &[Miss]) -> u32 {
    match policy.thresholds.window {
        None => last.saturating_sub(baseline),
        Some(_) => misses.iter().map(|m| m.count).sum(),
    }
}

/// Where a failover away from server `index` goes: the first later server whose own node is not
/// known to be unhealthy against the agreed head `agreed_head` (`None`: none is left, the kill
/// switch), and the unhealthy ones skipped on the way, as `name (why)`.
pub(super) fn next_target<'a>(
    policy: &'a Policy,
    index: usize,
    health: &[Health],
    agreed_head: u32,
) -> (Option<&'a Server>, Vec<String>) {
    let mut skipped = Vec::new();
    for (i, s) in policy.servers.iter().enumerate().skip(index + 1) {
        match health
            .get(i)
            .and_then(|h| h.unhealthy(agreed_head, policy.health_max_lag_blocks))
        {
            Some(why) => skipped.push(format!("{} ({why})", s.name)),
            None => return (Some(s), skipped),
        }
    }
    (None, skipped)
}

/// When the active server crossed a threshold: record the intent.
pub(super) fn decide(
    policy: &Policy,
    st: &mut State,
    view: &ChainView,
    health: &[Health],
    acts: &mut Vec<Action>,
) {
    let Mode::Active {
        server,
        key,
        baseline_total_missed,
        takeover_block,
        last_total_missed,
        misses,
    } = &st.mode
    else {
        return;
    };
    let Some(index) = policy.server_by_key(key) else {
        return;
    };
    let n = counted(policy, *baseline_total_missed, *last_total_missed, misses);
    let absolute = policy.servers[index].total_missed_threshold;
    let evidence = corroborated(policy, &st.node_evidence, server);
    let threshold = miss_threshold(policy, &st.node_evidence, server);
    let (target, skipped) = next_target(policy, index, health, view.head_block);
    // Whether the evidence, not the plain thresholds, decided.
    let mut on_evidence = true;
    let reason = if n >= policy.thresholds.missed_blocks {
        on_evidence = false;
        format!("{server} missed {n} block(s) since take-over at block {takeover_block}")
    } else if n >= threshold {
        format!(
            "{server} missed {n} block(s) since take-over at block {takeover_block}, \
             corroborated: {}",
            evidence.as_deref().unwrap_or_default()
        )
    } else if let Some(t) = absolute.filter(|t| view.total_missed >= *t) {
        on_evidence = false;
        format!(
            "total_missed {} reached the threshold {t} while {server} was active",
            view.total_missed
        )
    } else if let Some(why) = evidence.as_deref().filter(|_| policy.evidence.preemptive) {
        // Only to a backup whose own node is known to be in sync: a pre-emptive switch to a
        // backup that cannot produce either would cost the slot it tried to save.
        let in_sync = target
            .and_then(|t| policy.server_by_key(&t.key))
            .and_then(|i| health.get(i))
            .is_some_and(|h| h.is_known_healthy(view.head_block, policy.health_max_lag_blocks));
        let Some(backup) = target.filter(|_| in_sync) else {
            let held = match target {
                None if skipped.is_empty() => {
                    "no backup is left (the kill switch waits for the misses)".to_owned()
                }
                None => format!("no backup's node is in sync: {}", skipped.join(", ")),
                Some(t) => format!("{} has no node to show that it is in sync", t.name),
            };
            acts.push(alert(
                AlertKind::NodeTrouble,
                Severity::Warning,
                &format!("preemptive-held-{server}@{takeover_block}"),
                format!("{server} looks down; no pre-emptive switch: {held}"),
                format!(
                    "{server}: {why}; the switch waits for {} missed block(s)",
                    threshold
                ),
            ));
            return;
        };
        format!("pre-emptive: {server}: {why}; {} is in sync", backup.name)
    } else {
        return;
    };
    if on_evidence && st.node_evidence.unreachable_only {
        acts.push(alert(
            AlertKind::NodeTrouble,
            Severity::Warning,
            &format!("unreachable-evidence-{server}@{takeover_block}"),
            format!("acting on unreachable-only evidence against {server}"),
            format!(
                "{reason}; [evidence] unreachable_is_evidence = true counts a node the monitor \
                 cannot reach, which its own network can cause"
            ),
        ));
    }
    let (to_name, to_key) = target.map_or(("null".to_owned(), PublicKey::NULL), |s| {
        (s.name.clone(), s.key)
    });
    let mut reason = reason;
    if !skipped.is_empty() {
        reason.push_str(&format!("; skipped unhealthy {}", skipped.join(", ")));
        acts.push(alert(
            AlertKind::NodeTrouble,
            Severity::Warning,
            "backup-unhealthy",
            format!("skipping unhealthy backup(s): {}", skipped.join(", ")),
            reason.clone(),
        ));
    }
    let id = request_id(
        policy,
        key,
        &to_name,
        *baseline_total_missed,
        *takeover_block,
    );
    acts.push(Action::Log(Event::Intent {
        request_id: id.clone(),
        from: server.clone(),
        to: to_name.clone(),
        reason: reason.clone(),
    }));
    st.pending = Some(Pending {
        request_id: id,
        from_server: server.clone(),
        expected_key: *key,
        target_server: to_name,
        target_key: to_key,
        reason,
        attempts: 0,
        dry_run: policy.dry_run,
        status: PendingStatus::Intent,
    });
    st.in_flight = false;
    st.next_attempt_ms = 0;
}
