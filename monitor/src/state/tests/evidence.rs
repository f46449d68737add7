//! `[evidence]`: each combination of the active server's own node, the misses and the backup,
//! including the false positives that must not switch.

use super::*;

/// In sync (the views here are at blocks 10–40; a node ahead of the agreed head is 0 blocks
/// behind): never evidence, a usable backup.
fn ok() -> Health {
    Health::Answered { head_block: 1000 }
}

/// Stuck at block 0 (10+ blocks behind): evidence, and an unhealthy backup.
fn stale() -> Health {
    Health::Answered { head_block: 0 }
}

fn down() -> Health {
    Health::Unreachable("connection refused".into())
}

/// `servers` servers, each with its own node; evidence as `set` makes it.
fn evidence(servers: usize, set: impl FnOnce(&mut crate::config::Evidence)) -> Policy {
    with(policy(servers), |p| {
        for s in &mut p.servers {
            s.node = Some(format!("http://127.0.0.1/{}", s.name));
        }
        set(&mut p.evidence);
    })
}

fn preemptive(servers: usize) -> Policy {
    evidence(servers, |e| e.preemptive = true)
}

fn fast(servers: usize) -> Policy {
    evidence(servers, |e| e.fast_threshold = Some(1))
}

/// Preemptive, fast threshold 1, and unreachable nodes count: the most eager settings.
fn eager(servers: usize) -> Policy {
    evidence(servers, |e| {
        e.preemptive = true;
        e.fast_threshold = Some(1);
        e.unreachable_is_evidence = true;
    })
}

/// `n` polls of the primary (K1) at `total` misses, from block `from`, with `health`.
fn polls(n: u32, total: u32, from: u32, health: &[Health]) -> Vec<In> {
    (0..n)
        .map(|i| In::H(K1, total, from + i, health.to_vec()))
        .collect()
}

fn cat(parts: Vec<Vec<In>>) -> Vec<In> {
    parts.into_iter().flatten().collect()
}

fn evidence_cases() -> Vec<Case> {
    use In::{C, H};
    vec![
        (
            "evidence off: a stale node changes nothing before the threshold",
            policy(2),
            cat(vec![vec![C(K1, 0, 10)], polls(6, 2, 11, &[stale(), ok()])]),
            vec![],
            "active:primary",
        ),
        (
            "preemptive: stale for 3 polls, backup in sync: switch with no miss",
            preemptive(2),
            cat(vec![vec![C(K1, 0, 10)], polls(3, 0, 11, &[stale(), ok()])]),
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "preemptive: stale for 2 polls is not enough",
            preemptive(2),
            cat(vec![vec![C(K1, 0, 10)], polls(2, 0, 11, &[stale(), ok()])]),
            vec![],
            "active:primary",
        ),
        (
            "preemptive: an in-sync poll restarts the count",
            preemptive(2),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(2, 0, 11, &[stale(), ok()]),
                polls(1, 0, 13, &[ok(), ok()]),
                polls(2, 0, 14, &[stale(), ok()]),
            ]),
            vec![],
            "active:primary",
        ),
        (
            "network blip: node unreachable, server producing, unreachable not evidence",
            evidence(2, |e| {
                e.preemptive = true;
                e.fast_threshold = Some(1);
            }),
            cat(vec![vec![C(K1, 0, 10)], polls(8, 0, 11, &[down(), ok()])]),
            vec![],
            "active:primary",
        ),
        (
            "network blip shorter than polls, unreachable counts: no switch",
            eager(2),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(2, 0, 11, &[down(), ok()]),
                polls(1, 0, 13, &[ok(), ok()]),
                polls(2, 0, 14, &[down(), ok()]),
            ]),
            vec![],
            "active:primary",
        ),
        (
            "node crash, unreachable counts, preemptive: switch with no miss",
            eager(2),
            cat(vec![vec![C(K1, 0, 10)], polls(3, 0, 11, &[down(), ok()])]),
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "preemptive: backup stale: no pre-emptive switch, the plain threshold kills",
            preemptive(2),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(5, 0, 11, &[stale(), stale()]),
                polls(1, 2, 16, &[stale(), stale()]),
                polls(1, 3, 17, &[stale(), stale()]),
            ]),
            vec!["null"],
            "active:primary",
        ),
        (
            "preemptive: backup without a node (unchecked) is not known in sync: no switch",
            with(preemptive(2), |p| p.servers[1].node = None),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(5, 0, 11, &[stale(), Health::Unchecked]),
            ]),
            vec![],
            "active:primary",
        ),
        (
            "preemptive: first backup stale, second in sync: switch to the second",
            preemptive(3),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(3, 0, 11, &[stale(), stale(), ok()]),
            ]),
            vec!["backup-2"],
            "active:primary",
        ),
        (
            "fast threshold: corroborated, one miss switches",
            fast(2),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(3, 0, 11, &[stale(), ok()]),
                polls(1, 1, 14, &[stale(), ok()]),
            ]),
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "fast threshold: corroborated but no miss yet: no switch",
            fast(2),
            cat(vec![vec![C(K1, 0, 10)], polls(6, 0, 11, &[stale(), ok()])]),
            vec![],
            "active:primary",
        ),
        (
            "fast threshold: node in sync, one miss is not enough",
            fast(2),
            cat(vec![vec![C(K1, 0, 10)], polls(4, 1, 11, &[ok(), ok()])]),
            vec![],
            "active:primary",
        ),
        (
            "producer-only failure (node in sync), eager settings: the plain threshold",
            eager(2),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(3, 1, 11, &[ok(), ok()]),
                polls(3, 2, 14, &[ok(), ok()]),
            ]),
            vec![],
            "active:primary",
        ),
        (
            "producer-only failure reaches the plain threshold: switch",
            eager(2),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(3, 2, 11, &[ok(), ok()]),
                polls(1, 3, 14, &[ok(), ok()]),
            ]),
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "reachable node in sync, no misses, eager settings: nothing ever",
            eager(3),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(20, 0, 11, &[ok(), ok(), ok()]),
            ]),
            vec![],
            "active:primary",
        ),
        (
            "active server without a node: never evidence",
            with(eager(2), |p| p.servers[0].node = None),
            cat(vec![
                vec![C(K1, 0, 10)],
                polls(5, 1, 11, &[Health::Unchecked, ok()]),
            ]),
            vec![],
            "active:primary",
        ),
        (
            "last server: no pre-emptive kill switch; fast threshold kills at one miss",
            eager(2),
            vec![
                C(K2, 0, 10),
                H(K2, 0, 11, vec![ok(), stale()]),
                H(K2, 0, 12, vec![ok(), stale()]),
                H(K2, 0, 13, vec![ok(), stale()]),
                H(K2, 0, 14, vec![ok(), stale()]),
                H(K2, 1, 15, vec![ok(), stale()]),
            ],
            vec!["null"],
            "active:backup-1",
        ),
        (
            "a node a few blocks behind (up to stale_blocks) is not evidence",
            eager(2),
            (0..8)
                .map(|i| {
                    let at = |b| Health::Answered { head_block: b };
                    H(K1, 0, 20 + i, vec![at(20 + i - 1 - i % 3), ok()])
                })
                .collect(),
            vec![],
            "active:primary",
        ),
        (
            "a node that falls back by one block a poll becomes evidence once past stale_blocks",
            preemptive(2),
            (0..7)
                .map(|i| {
                    H(
                        K1,
                        0,
                        20 + i,
                        vec![Health::Answered { head_block: 20 }, ok()],
                    )
                })
                .collect(),
            vec!["backup-1"],
            "active:primary",
        ),
        (
            "evidence does not carry over to the next active server",
            preemptive(3),
            vec![
                C(K1, 0, 10),
                H(K1, 0, 11, vec![stale(), stale(), ok()]),
                H(K1, 0, 12, vec![stale(), stale(), ok()]),
                // Switched by hand to backup-1, whose node is stale too: counted from zero.
                H(K2, 0, 13, vec![stale(), stale(), ok()]),
                H(K2, 0, 14, vec![stale(), stale(), ok()]),
            ],
            vec![],
            "active:backup-1",
        ),
        (
            "a new active server's stale node counts from its first poll",
            preemptive(3),
            vec![
                C(K1, 0, 10),
                H(K2, 0, 13, vec![ok(), stale(), ok()]),
                H(K2, 0, 14, vec![ok(), stale(), ok()]),
                H(K2, 0, 15, vec![ok(), stale(), ok()]),
            ],
            vec!["backup-2"],
            "active:backup-1",
        ),
    ]
}

#[test]
fn evidence_decision_table() {
    check_table(evidence_cases());
}

fn intent_reason(r: &Run) -> String {
    r.events
        .iter()
        .find_map(|e| match e {
            Event::Intent { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn a_preemptive_switch_says_why_and_names_the_backup_in_sync() {
    let p = preemptive(2);
    let r = run(
        &p,
        State::new("vit-test-witness"),
        &cat(vec![
            vec![In::C(K1, 0, 10)],
            polls(3, 0, 11, &[stale(), ok()]),
        ]),
    );
    let reason = intent_reason(&r);
    assert_eq!(
        reason,
        "pre-emptive: primary: its node is 13 blocks behind the agreed head (at 0) for 3 \
         consecutive poll(s); backup-1 is in sync"
    );
    assert!(!r.alerts.iter().any(|a| a.key.starts_with("unreachable")));
}

#[test]
fn unreachable_only_evidence_is_alerted_as_such() {
    let r = run(
        &eager(2),
        State::new("vit-test-witness"),
        &cat(vec![
            vec![In::C(K1, 0, 10)],
            polls(3, 0, 11, &[down(), ok()]),
        ]),
    );
    let reason = intent_reason(&r);
    assert!(
        reason.contains("unreachable (connection refused) for 3 consecutive poll(s)")
            && reason.contains("the monitor's own network may be at fault"),
        "{reason}"
    );
    let alert = r
        .alerts
        .iter()
        .find(|a| a.key == "unreachable-evidence-primary@10");
    assert!(
        alert.is_some_and(|a| a.title == "acting on unreachable-only evidence against primary"),
        "{:?}",
        r.alerts
    );
}

#[test]
fn stale_then_unreachable_is_not_unreachable_only() {
    let r = run(
        &eager(2),
        State::new("vit-test-witness"),
        &cat(vec![
            vec![In::C(K1, 0, 10)],
            polls(1, 0, 11, &[stale(), ok()]),
            polls(2, 0, 12, &[down(), ok()]),
        ]),
    );
    assert_eq!(r.sends.len(), 1);
    assert!(!intent_reason(&r).contains("may be at fault"));
    assert!(!r.alerts.iter().any(|a| a.key.starts_with("unreachable")));
}

#[test]
fn a_held_preemptive_switch_is_alerted_with_the_reason() {
    let r = run(
        &preemptive(2),
        State::new("vit-test-witness"),
        &cat(vec![
            vec![In::C(K1, 0, 10)],
            polls(3, 0, 11, &[stale(), stale()]),
        ]),
    );
    assert!(r.sends.is_empty());
    let held = r
        .alerts
        .iter()
        .find(|a| a.key == "preemptive-held-primary@10");
    assert!(
        held.is_some_and(|a| a.title
            == "primary looks down; no pre-emptive switch: no backup's node is in sync: \
                backup-1 (node is 13 blocks behind the agreed head)"
            && a.body.ends_with("the switch waits for 3 missed block(s)")),
        "{:?}",
        r.alerts
    );
}

#[test]
fn with_evidence_the_missed_blocks_alert_counts_against_the_fast_threshold() {
    let r = run(
        &evidence(3, |e| e.fast_threshold = Some(2)),
        State::new("vit-test-witness"),
        &cat(vec![
            vec![In::C(K1, 0, 10)],
            polls(3, 0, 11, &[stale(), ok(), ok()]),
            polls(1, 1, 14, &[stale(), ok(), ok()]),
        ]),
    );
    assert!(r.sends.is_empty());
    let missed = r.alerts.iter().find(|a| a.kind == AlertKind::MissingBlocks);
    assert!(
        missed.is_some_and(|a| a
            .title
            .contains("1 of 2 counted before failover to backup-1")),
        "{:?}",
        r.alerts
    );
}

#[test]
fn the_evidence_count_is_not_persisted() -> Result<(), serde_json::Error> {
    let r = run(
        &preemptive(2),
        State::new("vit-test-witness"),
        &cat(vec![
            vec![In::C(K1, 0, 10)],
            polls(2, 0, 11, &[stale(), ok()]),
        ]),
    );
    assert_eq!(r.state.node_evidence.polls, 2);
    let text = serde_json::to_string(&r.state)?;
    assert!(!text.contains("node_evidence"), "{text}");
    let restored: State = serde_json::from_str(&text)?;
    assert_eq!(restored.node_evidence, NodeEvidence::default());
    Ok(())
}

#[test]
fn a_backup_without_a_node_holds_the_preemptive_switch_and_says_why() {
    let r = run(
        &with(preemptive(2), |p| p.servers[1].node = None),
        State::new("vit-test-witness"),
        &cat(vec![
            vec![In::C(K1, 0, 10)],
            polls(3, 0, 11, &[stale(), Health::Unchecked]),
        ]),
    );
    assert!(r.sends.is_empty());
    assert!(
        r.alerts.iter().any(|a| a.title
            == "primary looks down; no pre-emptive switch: backup-1 has no node to show that it is in sync"),
        "{:?}",
        r.alerts
    );
}
