//! The transition rules of [`step`].

use super::decide::{counted, decide, next_target, prune};
use super::evidence::{miss_threshold, track};
use super::reply::on_reply;
use super::types::{
    Action, AlertDraft, ChainView, Event, Health, Input, KeyRequest, Miss, Mode, Pending,
    PendingStatus, Severity, State,
};
use crate::alert::AlertKind;
use crate::config::{Policy, Window};

/// Applies one input at local time `now_ms`; returns the new state and what to do, in order.
pub fn step(policy: &Policy, state: State, input: &Input, now_ms: u64) -> (State, Vec<Action>) {
    let mut st = state;
    let mut acts = Vec::new();
    match input {
        Input::Chain { view, health } => on_chain(policy, &mut st, view, health, now_ms, &mut acts),
        Input::Reply {
            request_id,
            outcome,
        } => on_reply(policy, &mut st, request_id, outcome, now_ms, &mut acts),
    }
    (st, acts)
}

fn on_chain(
    policy: &Policy,
    st: &mut State,
    view: &ChainView,
    health: &[Health],
    now_ms: u64,
    acts: &mut Vec<Action>,
) {
    let key = view.signing_key;
    let mut ours = false;
    if let Some(p) = st.pending.clone() {
        if p.dry_run != policy.dry_run {
            // The mode was switched between runs; the old intent is not this run's business.
            st.pending = None;
        } else if key == p.target_key && !p.dry_run {
            ours = true;
            finish(&policy.account, st, &p, acts);
        } else if key != p.expected_key {
            st.pending = None;
            st.in_flight = false;
            if !p.dry_run {
                acts.push(Action::Log(Event::Abandoned {
                    request_id: p.request_id.clone(),
                    chain: policy.name_of(&key).to_owned(),
                }));
            }
        } else if let PendingStatus::Applied { tx_id, block } = &p.status
            && view.head_block >= block.saturating_add(APPLIED_GRACE_BLOCKS)
        {
            rearm_lost_change(st, &p, tx_id, *block, acts);
        }
    }
    follow(policy, st, view, health, ours, acts);
    track(policy, st, view, health);
    if st.pending.is_none() {
        decide(policy, st, view, health, acts);
    }
    if let Some(p) = &st.pending {
        let sendable = matches!(p.status, PendingStatus::Intent);
        if sendable && !st.in_flight && now_ms >= st.next_attempt_ms && key == p.expected_key {
            st.in_flight = true;
            acts.push(Action::Send(KeyRequest {
                request_id: p.request_id.clone(),
                account: policy.account.clone(),
                target: p.target_key,
                expected_current_key: p.expected_key,
                reason: p.reason.clone(),
                dry_run: p.dry_run,
            }));
        }
    }
}

/// Blocks after a reported inclusion within which the agreed chain must show the change: more
/// than the last-irreversible lag (15 blocks with 21 witnesses), so a change that is still
/// missing then was on a fork that lost.
pub(super) const APPLIED_GRACE_BLOCKS: u32 = 30;

/// The signer reported the change in block `block`, but the agreed chain still holds the old
/// key long after: the block was on a losing fork. Alert, and send the intent again under a new
/// request id (the old one would replay "applied"); the signer's compare-and-swap still guards.
fn rearm_lost_change(st: &mut State, p: &Pending, tx_id: &str, block: u32, acts: &mut Vec<Action>) {
    acts.push(Action::Alert(AlertDraft {
        kind: AlertKind::ActionFailed,
        severity: Severity::Critical,
        key: format!("lost-{}", p.request_id),
        title: format!("change to {} not on chain; sending again", p.target_server),
        body: format!(
            "the signer reported tx {tx_id} in block {block}, but the nodes still show the old key {APPLIED_GRACE_BLOCKS}+ blocks later (a fork?)"
        ),
    }));
    let mut again = p.clone();
    again.request_id = format!("{}-r{block}", p.request_id);
    again.status = PendingStatus::Intent;
    again.attempts = 0;
    st.pending = Some(again);
    st.in_flight = false;
    st.next_attempt_ms = 0;
}

/// The chain shows our target: the action is done.
fn finish(account: &str, st: &mut State, p: &Pending, acts: &mut Vec<Action>) {
    let (tx_id, block, announced) = match &p.status {
        PendingStatus::Applied { tx_id, block } => (tx_id.clone(), *block, true),
        _ => (String::new(), 0, false),
    };
    if !announced {
        announce(account, p, &tx_id, block, acts);
    }
    st.last_action = Some(format!(
        "{} -> {} (request {}, tx {})",
        p.from_server,
        p.target_server,
        p.request_id,
        if tx_id.is_empty() { "unknown" } else { &tx_id }
    ));
    st.pending = None;
    st.in_flight = false;
    st.next_attempt_ms = 0;
}

/// Logs and alerts a completed failover or kill switch of witness `account`.
pub(super) fn announce(
    account: &str,
    p: &Pending,
    tx_id: &str,
    block: u32,
    acts: &mut Vec<Action>,
) {
    let (event, title) = if p.target_key.is_null() {
        let e = Event::KillSwitch {
            from: p.from_server.clone(),
            tx_id: tx_id.to_owned(),
            block,
        };
        (
            e,
            format!(
                "kill switch: witness {account} disabled (null key set) after {} failed",
                p.from_server
            ),
        )
    } else {
        let e = Event::Failover {
            from: p.from_server.clone(),
            to: p.target_server.clone(),
            tx_id: tx_id.to_owned(),
            block,
        };
        (
            e,
            format!("failover: {} -> {}", p.from_server, p.target_server),
        )
    };
    acts.push(Action::Log(event));
    acts.push(Action::Alert(AlertDraft {
        kind: AlertKind::Action,
        severity: Severity::Critical,
        key: format!("action-{}", p.request_id),
        title,
        body: format!(
            "{}; request {}, tx {tx_id:?}, block {block}",
            p.reason, p.request_id
        ),
    }));
}

/// Moves the mode to whatever the chain holds; counts new misses of the active server.
fn follow(
    policy: &Policy,
    st: &mut State,
    view: &ChainView,
    health: &[Health],
    ours: bool,
    acts: &mut Vec<Action>,
) {
    let key = view.signing_key;
    if let Mode::Active {
        key: active,
        last_total_missed,
        misses,
        baseline_total_missed,
        takeover_block,
        server,
    } = &mut st.mode
        && *active == key
    {
        if view.total_missed > *last_total_missed {
            let new = view.total_missed - *last_total_missed;
            *last_total_missed = view.total_missed;
            misses.push(Miss {
                block: view.head_block,
                time: view.head_time,
                count: new,
            });
            prune(misses, policy.thresholds.window, view);
            let counted = counted(policy, *baseline_total_missed, *last_total_missed, misses);
            acts.push(Action::Log(Event::Missed {
                server: server.clone(),
                new,
                counted,
                total_missed: view.total_missed,
                block: view.head_block,
            }));
            // The action a crossed threshold leads to: the pending one if already decided.
            let next = match &st.pending {
                Some(p) if p.expected_key == key => Next {
                    target: p.target_server.clone(),
                    kill_switch: p.target_key.is_null(),
                    skipped: Vec::new(),
                },
                _ => {
                    let (target, skipped) =
                        policy.server_by_key(&key).map_or((None, Vec::new()), |i| {
                            next_target(policy, i, health, view.head_block)
                        });
                    Next {
                        target: target.map_or_else(|| "null".to_owned(), |s| s.name.clone()),
                        kill_switch: target.is_none(),
                        skipped,
                    }
                }
            };
            let miss = MissReport {
                server,
                new,
                counted,
                threshold: miss_threshold(policy, &st.node_evidence, server),
                takeover_block: *takeover_block,
                view,
            };
            acts.push(missed_alert(policy, &miss, &next));
        } else {
            prune(misses, policy.thresholds.window, view);
        }
        return;
    }
    let before = match &st.mode {
        Mode::Starting => None,
        Mode::Active { server, .. } => Some(server.clone()),
        Mode::Foreign { .. } => Some("unknown".to_owned()),
        Mode::Disabled => Some("null".to_owned()),
    };
    let same = match &st.mode {
        Mode::Foreign { key: k } => *k == key,
        Mode::Disabled => key.is_null(),
        _ => false,
    };
    if same {
        return;
    }
    let name = policy.name_of(&key).to_owned();
    st.mode = match policy.server_by_key(&key) {
        Some(i) => Mode::Active {
            server: policy.servers[i].name.clone(),
            key,
            baseline_total_missed: view.total_missed,
            takeover_block: view.head_block,
            last_total_missed: view.total_missed,
            misses: Vec::new(),
        },
        None if key.is_null() => Mode::Disabled,
        None => Mode::Foreign { key },
    };
    match before {
        None => acts.push(Action::Log(Event::Observed {
            server: name.clone(),
            total_missed: view.total_missed,
        })),
        Some(from) if !ours => {
            acts.push(Action::Log(Event::KeyChanged {
                from: from.clone(),
                to: name.clone(),
            }));
            let severity = if policy.server_by_key(&key).is_some() {
                Severity::Warning
            } else {
                Severity::Critical
            };
            acts.push(alert(
                AlertKind::Action,
                severity,
                &format!("key-changed-{name}"),
                format!("signing key changed outside this monitor: {from} -> {name}"),
                format!("chain now holds {}; following it", policy.show(&key)),
            ));
        }
        Some(_) => {}
    }
    if matches!(st.mode, Mode::Foreign { .. }) {
        acts.push(alert(
            AlertKind::Action,
            Severity::Critical,
            "unknown-key",
            "the chain holds a signing key no configured server has".to_owned(),
            format!(
                "key {}: no action is taken until it is a configured key",
                policy.show(&key)
            ),
        ));
    }
}

/// Where the active server's failure leads.
struct Next {
    /// The backup's name, `null` for the kill switch.
    target: String,
    /// No backup is left: the null key.
    kill_switch: bool,
    /// Backups passed over because their node is unhealthy, as `name (why)`.
    skipped: Vec<String>,
}

/// Misses that just became visible.
struct MissReport<'a> {
    server: &'a str,
    new: u32,
    counted: u32,
    /// The misses that trigger the switch now (lower with corroborating evidence).
    threshold: u32,
    takeover_block: u32,
    view: &'a ChainView,
}

/// The missing-blocks alert: how far the count is and what happens at the threshold (failover
/// to which backup, or the kill switch). Its key names the take-over, so the misses of two
/// incidents are never grouped into one alert.
fn missed_alert(policy: &Policy, m: &MissReport<'_>, next: &Next) -> Action {
    let threshold = m.threshold;
    let (action, change) = if next.kill_switch {
        (
            "the kill switch".to_owned(),
            format!(
                "set the null key: witness {} stops producing blocks (no backup left)",
                policy.account
            ),
        )
    } else {
        (
            format!("failover to {}", next.target),
            format!("switch the witness to {}", next.target),
        )
    };
    let consequence = if policy.dry_run {
        format!("the monitor asks the signer for a dry run (nothing is broadcast): {change}")
    } else {
        format!("the monitor asks the signer to {change}")
    };
    let title = if m.counted >= threshold {
        format!(
            "{} missed {} block(s): {} of {threshold} counted, {action} now",
            m.server, m.new, m.counted
        )
    } else {
        format!(
            "{} missed {} block(s): {} of {threshold} counted before {action}",
            m.server, m.new, m.counted
        )
    };
    let window = match policy.thresholds.window {
        None => format!("since {} took over at block {}", m.server, m.takeover_block),
        Some(Window::Seconds(s)) => format!("within the last {s} s"),
        Some(Window::Blocks(b)) => format!("within the last {b} blocks"),
    };
    let mut body = format!(
        "total_missed {} at block {}; {} missed block(s) counted {window}; at {threshold} {consequence}",
        m.view.total_missed, m.view.head_block, m.counted
    );
    if !next.skipped.is_empty() {
        body.push_str(&format!(
            " (skipping unhealthy {})",
            next.skipped.join(", ")
        ));
    }
    let absolute = policy
        .servers
        .iter()
        .find(|s| s.name == m.server)
        .and_then(|s| s.total_missed_threshold);
    if let Some(t) = absolute {
        body.push_str(&format!("; the same when total_missed reaches {t}"));
    }
    alert(
        AlertKind::MissingBlocks,
        Severity::Warning,
        &format!("missed-{}@{}", m.server, m.takeover_block),
        title,
        body,
    )
}

pub(super) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn alert(
    kind: AlertKind,
    severity: Severity,
    key: &str,
    title: String,
    body: String,
) -> Action {
    Action::Alert(AlertDraft {
        kind,
        severity,
        key: key.to_owned(),
        title,
        body,
    })
}
