//! The active server's own node as evidence (`[evidence]`, [`crate::config::Evidence`]).
//!
//! A node that has stopped following the chain (its head more than `stale_blocks` behind the
//! head the quorum agrees on: never the local clock, which may be skewed), or,
//! where the operator allows it, stopped answering, for `polls` consecutive polls corroborates
//! that the server behind it cannot produce. The evidence lowers the miss threshold to
//! `fast_threshold` and, with `preemptive`, lets the switch happen before the next slot. A node
//! that answers in sync is never evidence, so it triggers nothing by itself.

use super::types::{ChainView, Health, Mode, NodeEvidence, State};
use crate::config::Policy;

/// Counts this poll's evidence against the active server (resets on a new server, on a poll
/// without evidence, and when no configured server is active).
pub(super) fn track(policy: &Policy, st: &mut State, view: &ChainView, health: &[Health]) {
    let Mode::Active { server, key, .. } = &st.mode else {
        st.node_evidence = NodeEvidence::default();
        return;
    };
    let evidence = &mut st.node_evidence;
    if evidence.server != *server {
        *evidence = NodeEvidence {
            server: server.clone(),
            ..NodeEvidence::default()
        };
    }
    let health = policy.server_by_key(key).and_then(|i| health.get(i));
    let behind = health.and_then(|h| h.blocks_behind(view.head_block));
    let failure = match health {
        Some(Health::Answered { head_block })
            if behind.is_some_and(|b| b > policy.evidence.stale_blocks) =>
        {
            Some((
                format!(
                    "its node is {} blocks behind the agreed head (at {head_block})",
                    behind.unwrap_or_default()
                ),
                false,
            ))
        }
        Some(Health::Unreachable(why)) if policy.evidence.unreachable_is_evidence => {
            Some((format!("its node is unreachable ({why})"), true))
        }
        _ => None,
    };
    match failure {
        None => {
            evidence.polls = 0;
            evidence.unreachable_only = false;
            evidence.last.clear();
        }
        Some((what, unreachable)) => {
            evidence.unreachable_only =
                unreachable && (evidence.polls == 0 || evidence.unreachable_only);
            evidence.polls = evidence.polls.saturating_add(1);
            evidence.last = what;
        }
    }
}

/// The evidence against active server `server` when it is strong enough to act on, as a
/// sentence for the reason and the alert; `None` when `[evidence]` is off or it is too weak.
pub(super) fn corroborated(
    policy: &Policy,
    evidence: &NodeEvidence,
    server: &str,
) -> Option<String> {
    let strong = policy.evidence.enabled()
        && evidence.server == server
        && evidence.polls >= policy.evidence.polls;
    strong.then(|| {
        format!(
            "{} for {} consecutive poll(s){}",
            evidence.last,
            evidence.polls,
            if evidence.unreachable_only {
                " (unreachable only: the monitor's own network may be at fault)"
            } else {
                ""
            }
        )
    })
}

/// The miss threshold for active server `server` now: `fast_threshold` with evidence.
pub(super) fn miss_threshold(policy: &Policy, evidence: &NodeEvidence, server: &str) -> u32 {
    match policy.evidence.fast_threshold {
        Some(fast) if corroborated(policy, evidence, server).is_some() => fast,
        _ => policy.thresholds.missed_blocks,
    }
}
