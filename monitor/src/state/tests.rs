//! Table tests of the decision logic: each case is a sequence of inputs and the expected sends,
//! final mode and events.

use std::time::Duration;

use vwf_shared::PublicKey;

use super::*;
use crate::alert::AlertKind;

mod evidence;
use crate::config::{Policy, Server, Thresholds, Window};

const K1: &str = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG";
const K2: &str = "VIT7jmd5okMfRahJwxD8ChpViTPwQdzfbf8qeWkq1bvHjgDcTmBKy";
const K3: &str = "VIT6t1CbWGzH9G9NEaACRmaePcVLw2JkWv9oGzxJ68RB5FeGzqnzm";
const K4: &str = "VIT4vKSKRumZpi3oM2UUerd9QrHKqUnKzCzqbR6qZdUKnaeku4kUF";
const NULL: &str = "VIT1111111111111111111111111111111114T1Anm";

fn key(s: &str) -> PublicKey {
    PublicKey::parse(s, "VIT").unwrap_or(PublicKey::NULL)
}

fn policy(servers: usize) -> Policy {
    let all = [("primary", K1), ("backup-1", K2), ("backup-2", K3)];
    Policy {
        account: "vit-test-witness".into(),
        prefix: "VIT".into(),
        servers: all[..servers]
            .iter()
            .map(|(n, k)| Server {
                name: (*n).into(),
                key: key(k),
                node: None,
                total_missed_threshold: None,
            })
            .collect(),
        thresholds: Thresholds {
            missed_blocks: 3,
            window: None,
        },
        dry_run: false,
        retry_initial: Duration::from_secs(3),
        retry_max: Duration::from_secs(60),
        health_max_lag_blocks: 10,
        evidence: crate::config::Evidence {
            polls: 3,
            stale_blocks: 3,
            fast_threshold: None,
            preemptive: false,
            unreachable_is_evidence: false,
        },
    }
}

/// One input of a scenario.
#[derive(Clone)]
enum In {
    /// Chain view: key, total_missed, head block (head time = block * 3 s).
    C(&'static str, u32, u32),
    /// Chain view with health per server.
    H(&'static str, u32, u32, Vec<Health>),
    /// Signer reply for the current pending request.
    R(Outcome),
    /// Signer reply for the last request sent, pending or not (a late answer).
    Late(Outcome),
    /// Advance the local clock (ms).
    T(u64),
}

struct Run {
    state: State,
    sends: Vec<(String, String, bool)>,
    events: Vec<Event>,
    alerts: Vec<AlertDraft>,
}

fn run(p: &Policy, start: State, inputs: &[In]) -> Run {
    let mut r = Run {
        state: start,
        sends: Vec::new(),
        events: Vec::new(),
        alerts: Vec::new(),
    };
    let mut now = 1_000_000u64;
    for i in inputs {
        let input = match i.clone() {
            In::T(ms) => {
                now += ms;
                continue;
            }
            In::C(k, t, b) => chain(k, t, b, vec![Health::Unchecked; p.servers.len()]),
            In::H(k, t, b, h) => chain(k, t, b, h),
            In::R(outcome) => {
                let id = r
                    .state
                    .pending
                    .as_ref()
                    .map(|x| x.request_id.clone())
                    .unwrap_or_default();
                Input::Reply {
                    request_id: id,
                    outcome,
                }
            }
            In::Late(outcome) => Input::Reply {
                request_id: r.sends.last().map(|s| s.1.clone()).unwrap_or_default(),
                outcome,
            },
        };
        let (next, acts) = step(p, r.state.clone(), &input, now);
        r.state = next;
        for a in acts {
            match a {
                Action::Send(req) => r.sends.push((
                    p.name_of(&req.target).to_owned(),
                    req.request_id,
                    req.dry_run,
                )),
                Action::Log(e) => r.events.push(e),
                Action::Alert(d) => r.alerts.push(d),
            }
        }
        now += 3000;
    }
    r
}

fn chain(k: &str, total: u32, block: u32, health: Vec<Health>) -> Input {
    Input::Chain {
        view: ChainView {
            signing_key: key(k),
            total_missed: total,
            head_block: block,
            head_time: 1_700_000_000 + block * 3,
        },
        health,
    }
}

fn mode_name(m: &Mode) -> String {
    match m {
        Mode::Starting => "starting".into(),
        Mode::Active { server, .. } => format!("active:{server}"),
        Mode::Foreign { .. } => "foreign".into(),
        Mode::Disabled => "disabled".into(),
    }
}

fn applied() -> In {
    In::R(Outcome::Applied {
        tx_id: "aa".repeat(20),
        block: 77,
    })
}

/// (name, policy, inputs, expected send targets in order, expected final mode)
type Case = (
    &'static str,
    Policy,
    Vec<In>,
    Vec<&'static str>,
    &'static str,
);

fn with(mut p: Policy, f: impl FnOnce(&mut Policy)) -> Policy {
    f(&mut p);
    p
}

fn cases() -> Vec<Case> {
    use In::{C, H};
    let bad = || Health::Answered { head_block: 0 };
    vec![
        (
            "relative: history before start is not counted",
            policy(2),
            vec![C(K1, 100, 10), C(K1, 100, 11)],
            vec![],
            "active:primary",
        ),
        (
            "relative: N-1 misses do not act",
            policy(2),
            vec![C(K1, 100, 10), C(K1, 102, 11), C(K1, 102, 12)],
            vec![],
            "active:primary",
        ),
        (
            "relative: N misses switch to backup-1",
            policy(2),
            vec![C(K1, 100, 10), C(K1, 102, 11), C(K1, 103, 12)],
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "relative: a jump of N at once acts",
            policy(2),
            vec![C(K1, 0, 10), C(K1, 3, 11)],
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "window seconds: misses spread wider than the window do not act",
            with(policy(2), |p| {
                p.thresholds.window = Some(Window::Seconds(30))
            }),
            vec![C(K1, 0, 10), C(K1, 1, 11), C(K1, 2, 20), C(K1, 3, 30)],
            vec![],
            "active:primary",
        ),
        (
            "window seconds: N misses inside the window act",
            with(policy(2), |p| {
                p.thresholds.window = Some(Window::Seconds(30))
            }),
            vec![C(K1, 0, 10), C(K1, 1, 11), C(K1, 2, 15), C(K1, 3, 20)],
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "window blocks: edge (miss exactly W blocks ago is out)",
            with(policy(2), |p| {
                p.thresholds.window = Some(Window::Blocks(10))
            }),
            vec![C(K1, 0, 10), C(K1, 1, 11), C(K1, 2, 15), C(K1, 3, 21)],
            vec![],
            "active:primary",
        ),
        (
            "window blocks: inside acts",
            with(policy(2), |p| {
                p.thresholds.window = Some(Window::Blocks(10))
            }),
            vec![C(K1, 0, 10), C(K1, 1, 12), C(K1, 2, 15), C(K1, 3, 21)],
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "absolute: below the seed threshold does not act",
            with(policy(2), |p| {
                p.servers[0].total_missed_threshold = Some(500)
            }),
            vec![C(K1, 498, 10), C(K1, 499, 11)],
            vec![],
            "active:primary",
        ),
        (
            "absolute: reaching the seed threshold acts",
            with(policy(2), |p| {
                p.servers[0].total_missed_threshold = Some(500)
            }),
            vec![C(K1, 498, 10), C(K1, 500, 11)],
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "kill-switch mode: one server goes to the null key",
            policy(1),
            vec![C(K1, 0, 10), C(K1, 3, 11)],
            vec!["null"],
            "active:primary",
        ),
        (
            "last backup failing goes to the null key",
            policy(3),
            vec![C(K3, 0, 10), C(K3, 3, 11)],
            vec!["null"],
            "active:backup-2",
        ),
        (
            "backup-1 failing goes to backup-2, not back",
            policy(3),
            vec![C(K2, 0, 10), C(K2, 3, 11)],
            vec!["backup-2"],
            "active:backup-1",
        ),
        (
            "unhealthy backup is skipped",
            policy(3),
            vec![
                C(K1, 0, 10),
                H(
                    K1,
                    3,
                    11,
                    vec![
                        Health::Answered { head_block: 1000 },
                        bad(),
                        Health::Answered { head_block: 1000 },
                    ],
                ),
            ],
            vec!["backup-2"],
            "active:primary",
        ),
        (
            "all backups unhealthy: null key",
            policy(3),
            vec![
                C(K1, 0, 10),
                H(
                    K1,
                    3,
                    11,
                    vec![Health::Answered { head_block: 1000 }, bad(), bad()],
                ),
            ],
            vec!["null"],
            "active:primary",
        ),
        (
            "full chain: primary -> backup-1 -> null",
            policy(2),
            vec![
                C(K1, 0, 10),
                C(K1, 3, 11),
                applied(),
                C(K2, 4, 13),
                C(K2, 6, 14),
                C(K2, 7, 15),
                applied(),
                C(NULL, 8, 16),
            ],
            vec!["backup-1", "null"],
            "disabled",
        ),
        (
            "manual change to a known server: follow and re-baseline",
            policy(3),
            vec![C(K1, 0, 10), C(K1, 2, 11), C(K3, 2, 12), C(K3, 4, 13)],
            vec![],
            "active:backup-2",
        ),
        (
            "manual change to an unknown key: follow, never act",
            policy(2),
            vec![C(K1, 0, 10), C(K4, 1, 11), C(K4, 50, 12)],
            vec![],
            "foreign",
        ),
        (
            "no action after the kill switch",
            policy(2),
            vec![C(NULL, 0, 10), C(NULL, 10, 11), C(NULL, 20, 12)],
            vec![],
            "disabled",
        ),
        (
            "a key set by hand re-arms after the kill switch",
            policy(2),
            vec![C(NULL, 0, 10), C(K1, 5, 11), C(K1, 8, 12)],
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "in flight: a second reading does not send twice",
            policy(2),
            vec![C(K1, 0, 10), C(K1, 3, 11), C(K1, 4, 12), C(K1, 5, 13)],
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "signer down: retry with the same id after the backoff",
            policy(2),
            vec![
                C(K1, 0, 10),
                C(K1, 3, 11),
                In::R(Outcome::Unavailable {
                    error: "connection refused".into(),
                }),
                C(K1, 3, 12),
                In::T(3_000),
                C(K1, 3, 13),
            ],
            vec!["backup-1", "backup-1"],
            "active:primary",
        ),
        (
            "compare-and-swap refusal drops the intent and follows the chain",
            policy(2),
            vec![
                C(K1, 0, 10),
                C(K1, 3, 11),
                In::R(Outcome::Refused {
                    rule: "compare-and-swap".into(),
                    reason: "chain holds another key".into(),
                }),
                C(K2, 3, 12),
                C(K2, 4, 13),
            ],
            vec!["backup-1"],
            "active:backup-1",
        ),
        (
            "dry run: asks once, never done, never moves on",
            with(policy(2), |p| p.dry_run = true),
            vec![
                C(K1, 0, 10),
                C(K1, 3, 11),
                In::R(Outcome::DryRun {
                    allowed: true,
                    detail: "ok".into(),
                }),
                C(K1, 5, 12),
                C(K1, 9, 13),
            ],
            vec!["backup-1"],
            "active:primary",
        ),
    ]
}

#[test]
fn decision_table() {
    check_table(cases());
}

/// Runs every case from a fresh state; fails listing each case whose sends or final mode
/// differ.
fn check_table(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for (name, p, inputs, sends, mode) in cases {
        let r = run(&p, State::new("vit-test-witness"), &inputs);
        let got: Vec<&str> = r.sends.iter().map(|(t, _, _)| t.as_str()).collect();
        if got != sends || mode_name(&r.state.mode) != mode {
            failures.push(format!(
                "{name}: sends {got:?} (want {sends:?}), mode {} (want {mode})",
                mode_name(&r.state.mode)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn retries_and_restarts_reuse_the_request_id() {
    let p = policy(2);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[In::C(K1, 0, 10), In::C(K1, 3, 11)],
    );
    let first = r.sends[0].1.clone();
    assert_eq!(first, request_id(&p, &key(K1), "backup-1", 0, 10));
    assert!(
        first.starts_with("vit-test-witness-6qcfB4dw-backup-1-0-10"),
        "{first}"
    );
    // Restart: in-memory fields are not persisted, so the loaded state is not in flight.
    let text = serde_json::to_string(&r.state).unwrap_or_default();
    let loaded: State = serde_json::from_str(&text).unwrap_or_else(|_| State::new("x"));
    assert!(!loaded.in_flight);
    let again = run(&p, loaded, &[In::C(K1, 4, 12)]);
    assert_eq!(again.sends.len(), 1);
    assert_eq!(again.sends[0].1, first);
}

#[test]
fn restart_with_target_on_chain_is_done_without_sending() {
    let p = policy(2);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[In::C(K1, 0, 10), In::C(K1, 3, 11)],
    );
    let after = run(&p, r.state, &[In::C(K2, 3, 12), In::C(K2, 4, 13)]);
    assert!(after.sends.is_empty());
    assert!(after.state.pending.is_none());
    assert!(after.events.iter().any(
        |e| matches!(e, Event::Failover { to, tx_id, .. } if to == "backup-1" && tx_id.is_empty())
    ));
    assert!(
        !after
            .events
            .iter()
            .any(|e| matches!(e, Event::KeyChanged { .. }))
    );
    match &after.state.mode {
        Mode::Active {
            server,
            baseline_total_missed,
            ..
        } => assert_eq!((server.as_str(), *baseline_total_missed), ("backup-1", 3)),
        m => panic!("unexpected mode {m:?}"),
    }
}

#[test]
fn restart_with_another_key_on_chain_abandons_the_intent() {
    let p = policy(3);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[In::C(K1, 0, 10), In::C(K1, 3, 11)],
    );
    let after = run(&p, r.state, &[In::C(K3, 3, 12)]);
    assert!(after.sends.is_empty());
    assert!(after.state.pending.is_none());
    assert!(
        after
            .events
            .iter()
            .any(|e| matches!(e, Event::Abandoned { chain, .. } if chain == "backup-2"))
    );
    assert_eq!(mode_name(&after.state.mode), "active:backup-2");
}

#[test]
fn applied_then_confirmed_announces_failover_once_with_tx() {
    let p = policy(2);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[
            In::C(K1, 0, 10),
            In::C(K1, 3, 11),
            applied(),
            In::C(K1, 3, 12),
            In::C(K2, 3, 13),
        ],
    );
    let failovers: Vec<&Event> = r
        .events
        .iter()
        .filter(|e| matches!(e, Event::Failover { .. }))
        .collect();
    assert_eq!(failovers.len(), 1, "{:?}", r.events);
    assert!(matches!(failovers[0], Event::Failover { tx_id, block: 77, .. } if tx_id.len() == 40));
    assert_eq!(
        r.sends.len(),
        1,
        "no resend while waiting for the nodes to show the new key"
    );
    assert!(r.state.last_action.is_some());
}

#[test]
fn a_change_seen_on_chain_before_the_answer_is_completed_by_the_late_answer() {
    let p = policy(2);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[
            In::C(K1, 0, 10),
            In::C(K1, 3, 11),
            // The poll sees the backup's key before the signer's answer arrives.
            In::C(K2, 3, 12),
            In::Late(Outcome::Applied {
                tx_id: "aa".repeat(20),
                block: 12,
            }),
        ],
    );
    let failovers = r
        .events
        .iter()
        .filter(|e| matches!(e, Event::Failover { .. }))
        .count();
    assert_eq!(failovers, 1, "{:?}", r.events);
    let sent = r.sends.last().map(|s| s.1.clone()).unwrap_or_default();
    assert!(
        r.events.iter().any(|e| matches!(e,
            Event::Confirmed { request_id, tx_id, block: 12 }
                if *request_id == sent && tx_id.len() == 40)),
        "{:?}",
        r.events
    );
    let last = r.state.last_action.unwrap_or_default();
    assert!(
        last.ends_with(&format!("tx {} block 12)", "aa".repeat(20))),
        "{last}"
    );
    assert_eq!(mode_name(&r.state.mode), "active:backup-1");
}

#[test]
fn a_late_answer_for_an_older_request_changes_nothing() {
    let p = policy(2);
    let start = run(&p, State::new("vit-test-witness"), &[In::C(K1, 0, 10)]).state;
    let (next, acts) = step(
        &p,
        start.clone(),
        &Input::Reply {
            request_id: "someone-else".into(),
            outcome: Outcome::Applied {
                tx_id: "bb".repeat(20),
                block: 9,
            },
        },
        2_000_000,
    );
    assert!(acts.is_empty(), "{acts:?}");
    assert_eq!(next.last_action, start.last_action);
}

#[test]
fn every_new_miss_is_logged_with_the_active_server() {
    let p = policy(2);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[
            In::C(K1, 10, 10),
            In::C(K1, 11, 11),
            In::C(K1, 11, 12),
            In::C(K1, 12, 13),
        ],
    );
    let missed: Vec<(u32, u32)> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Missed {
                server,
                total_missed,
                counted,
                ..
            } if server == "primary" => Some((*total_missed, *counted)),
            _ => None,
        })
        .collect();
    assert_eq!(missed, vec![(11, 1), (12, 2)]);
    let titles: Vec<&str> = r.alerts.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "primary missed 1 block(s): 1 of 3 counted before failover to backup-1",
            "primary missed 1 block(s): 2 of 3 counted before failover to backup-1",
        ]
    );
    assert!(r.alerts.iter().all(|a| a.key == "missed-primary@10"));
    assert!(
        r.alerts[1].body.contains(
            "2 missed block(s) counted since primary took over at block 10; at 3 the monitor \
             asks the signer to switch the witness to backup-1"
        ),
        "{}",
        r.alerts[1].body
    );
}

/// Issue 13 item 8: the last server's misses lead to the kill switch and say so; the two
/// incidents (primary, then backup-1) are alerted under different keys, never grouped.
#[test]
fn misses_say_the_next_action_and_each_incident_has_its_own_key() {
    let p = policy(2);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[
            In::C(K1, 0, 10),
            In::C(K1, 3, 11),
            applied(),
            In::C(K2, 3, 12),
            In::C(K2, 4, 13),
            In::C(K2, 6, 14),
        ],
    );
    let missed: Vec<(&str, &str)> = r
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::MissingBlocks)
        .map(|a| (a.key.as_str(), a.title.as_str()))
        .collect();
    assert_eq!(
        missed,
        [
            (
                "missed-primary@10",
                "primary missed 3 block(s): 3 of 3 counted, failover to backup-1 now"
            ),
            (
                "missed-backup-1@12",
                "backup-1 missed 1 block(s): 1 of 3 counted before the kill switch"
            ),
            (
                "missed-backup-1@12",
                "backup-1 missed 2 block(s): 3 of 3 counted, the kill switch now"
            ),
        ]
    );
    let last = r
        .alerts
        .iter()
        .rfind(|a| a.kind == AlertKind::MissingBlocks);
    let body = last.map(|a| a.body.as_str()).unwrap_or_default();
    assert!(
        body.contains("set the null key: witness vit-test-witness stops producing blocks"),
        "{body}"
    );
    assert!(!body.contains("failover"), "{body}");
}

#[test]
fn in_dry_run_mode_the_missed_blocks_alert_says_dry_run() {
    let p = with(policy(2), |p| p.dry_run = true);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[In::C(K1, 0, 10), In::C(K1, 1, 11)],
    );
    let body = r
        .alerts
        .first()
        .map(|a| a.body.as_str())
        .unwrap_or_default();
    assert!(
        body.ends_with(
            "at 3 the monitor asks the signer for a dry run (nothing is broadcast): switch the \
             witness to backup-1"
        ),
        "{body}"
    );
}

#[test]
fn misses_name_the_backup_a_failover_would_pick() {
    let p = policy(3);
    let sick = || Health::Answered { head_block: 0 };
    let health = vec![Health::Unchecked, sick(), Health::Unchecked];
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[In::H(K1, 0, 10, health.clone()), In::H(K1, 1, 11, health)],
    );
    let a = r.alerts.iter().find(|a| a.kind == AlertKind::MissingBlocks);
    let Some(a) = a else {
        panic!("no missing-blocks alert: {:?}", r.alerts);
    };
    assert_eq!(
        a.title,
        "primary missed 1 block(s): 1 of 3 counted before failover to backup-2"
    );
    assert!(
        a.body
            .contains("(skipping unhealthy backup-1 (node is 11 blocks behind the agreed head))"),
        "{}",
        a.body
    );
}

#[test]
fn the_kill_switch_alert_names_the_witness_and_the_failed_server() {
    let p = policy(1);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[In::C(K1, 0, 10), In::C(K1, 3, 11), applied()],
    );
    let action = r.alerts.iter().find(|a| a.kind == AlertKind::Action);
    assert_eq!(
        action.map(|a| a.title.as_str()),
        Some("kill switch: witness vit-test-witness disabled (null key set) after primary failed")
    );
}

/// Issue 13 item 7: the signer's dry-run answer goes to the alert sinks as its own kind.
#[test]
fn a_dry_run_answer_is_alerted_allowed_or_refused() {
    let p = with(policy(2), |p| p.dry_run = true);
    let answer = |allowed: bool, detail: &str| {
        let r = run(
            &p,
            State::new("vit-test-witness"),
            &[
                In::C(K1, 0, 10),
                In::C(K1, 3, 11),
                In::R(Outcome::DryRun {
                    allowed,
                    detail: detail.into(),
                }),
            ],
        );
        r.alerts
            .into_iter()
            .filter(|a| a.kind == AlertKind::DryRun)
            .collect::<Vec<_>>()
    };
    let allowed = answer(true, "would broadcast; preflight matches=true");
    assert_eq!(allowed.len(), 1, "{allowed:?}");
    assert_eq!(allowed[0].severity, Severity::Warning);
    assert_eq!(
        allowed[0].title,
        "the signer would switch primary -> backup-1"
    );
    assert!(
        allowed[0].body.contains("nothing was signed or broadcast")
            && allowed[0].body.contains("primary missed 3 block(s)")
            && allowed[0].body.contains("preflight matches=true"),
        "{}",
        allowed[0].body
    );
    let refused = answer(false, "refused by flap-limit: too many changes");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].severity, Severity::Critical);
    assert_eq!(
        refused[0].title,
        "the signer would refuse to switch primary -> backup-1"
    );
    assert!(
        refused[0]
            .body
            .contains("refused by flap-limit: too many changes")
    );
}

#[test]
fn a_dry_run_the_signer_did_not_answer_says_dry_run() {
    let p = with(policy(2), |p| p.dry_run = true);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[
            In::C(K1, 0, 10),
            In::C(K1, 3, 11),
            In::R(Outcome::Unavailable {
                error: "connection refused".into(),
            }),
        ],
    );
    let failed = r.alerts.iter().find(|a| a.kind == AlertKind::ActionFailed);
    assert_eq!(
        failed.map(|a| a.title.as_str()),
        Some("signer did not answer the dry run of primary -> backup-1: unavailable")
    );
}

#[test]
fn unknown_key_and_manual_changes_alert() {
    let p = policy(2);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[In::C(K1, 0, 10), In::C(K4, 0, 11)],
    );
    assert!(
        r.alerts
            .iter()
            .any(|a| a.key == "unknown-key" && a.severity == Severity::Critical)
    );
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[In::C(K1, 0, 10), In::C(K2, 0, 11)],
    );
    assert!(r.events.iter().any(
        |e| matches!(e, Event::KeyChanged { from, to } if from == "primary" && to == "backup-1")
    ));
}

#[test]
fn dry_run_never_records_an_action_as_done() {
    let p = with(policy(2), |p| p.dry_run = true);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[
            In::C(K1, 0, 10),
            In::C(K1, 3, 11),
            In::R(Outcome::DryRun {
                allowed: true,
                detail: String::new(),
            }),
        ],
    );
    assert!(r.sends.iter().all(|(_, _, dry)| *dry));
    assert!(r.state.last_action.is_none());
    assert!(matches!(
        r.state.pending.as_ref().map(|x| &x.status),
        Some(PendingStatus::DryRunReported)
    ));
    // Going live starts from a fresh baseline: the misses counted in dry-run mode are never
    // acted on, however many readings follow.
    let (state, note) = r.state.for_mode(false);
    assert!(note.is_some_and(|n| n.contains("fresh baseline")));
    let live = run(&policy(2), state, &[In::C(K1, 3, 12), In::C(K1, 3, 13)]);
    assert!(live.sends.is_empty(), "{:?}", live.sends);
    // New misses in live mode count as usual: three more, and the live failover is sent.
    let failing = run(&policy(2), live.state, &[In::C(K1, 6, 14)]);
    assert_eq!(failing.sends.len(), 1);
    assert!(!failing.sends[0].2, "sent as a dry run");
    // The same mode again keeps everything.
    let (kept, note) = failing.state.clone().for_mode(false);
    assert!(note.is_none());
    assert_eq!(kept.pending, failing.state.pending);
}

#[test]
fn policy_refusal_retries_slowly_and_alerts() {
    let p = policy(2);
    let refused = In::R(Outcome::Refused {
        rule: "flap-limit".into(),
        reason: "too many changes".into(),
    });
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &[
            In::C(K1, 0, 10),
            In::C(K1, 3, 11),
            refused,
            In::C(K1, 3, 12),
            In::T(60_000),
            In::C(K1, 3, 13),
        ],
    );
    assert_eq!(r.sends.len(), 2);
    assert_eq!(r.sends[0].1, r.sends[1].1);
    let keys: Vec<&str> = r
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::ActionFailed)
        .map(|a| a.key.as_str())
        .collect();
    // One key per request (one incident), so a later incident's failure is not grouped with it.
    assert_eq!(keys, [format!("signer-flap-limit-{}", r.sends[0].1)]);
}

#[test]
fn a_change_reported_applied_but_never_seen_is_sent_again_under_a_new_id() {
    let p = policy(2);
    // Primary fails at blocks 10..13; the signer reports the change applied in block 77, but
    // the agreed chain keeps the primary's key (the block was on a losing fork).
    let mut inputs = vec![
        In::C(K1, 0, 10),
        In::C(K1, 3, 13),
        applied(),
        In::C(K1, 3, 80),
    ];
    let before = run(&p, State::new("vit-test-witness"), &inputs);
    assert_eq!(before.sends.len(), 1, "sent once before the grace period");
    inputs.push(In::C(K1, 3, 77 + 30));
    let after = run(&p, State::new("vit-test-witness"), &inputs);
    assert_eq!(after.sends.len(), 2, "re-sent after the grace period");
    assert_eq!(after.sends[1].0, "backup-1");
    assert_ne!(after.sends[1].1, after.sends[0].1, "a new request id");
    assert!(after.sends[1].1.ends_with("-r77"), "{}", after.sends[1].1);
    assert!(after.alerts.iter().any(|a| a.key.starts_with("lost-")));
    // Once the chain shows the backup, it is done and nothing more is sent.
    inputs.push(applied());
    inputs.push(In::C(K2, 4, 110));
    inputs.push(In::C(K2, 4, 200));
    let done = run(&p, State::new("vit-test-witness"), &inputs);
    assert_eq!(done.sends.len(), 2);
    assert!(done.state.pending.is_none());
}
