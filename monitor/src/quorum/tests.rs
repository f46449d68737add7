//! Quorum math with 1-5 nodes: stale, lying (inflated, deflated, wrong key) and failing nodes.

use vwf_shared::PublicKey;

use super::*;

const NOW_S: u32 = 1_700_000_000;
const LAG_MS: u64 = 9_000;

fn k(s: &str) -> PublicKey {
    PublicKey::parse(s, "VIT").unwrap_or(PublicKey::NULL)
}
fn good() -> PublicKey {
    k("VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG")
}
fn other() -> PublicKey {
    k("VIT7jmd5okMfRahJwxD8ChpViTPwQdzfbf8qeWkq1bvHjgDcTmBKy")
}

/// A fresh honest reading with `total_missed`.
fn ok(total: u32) -> Result<Reading, String> {
    Ok(Reading {
        signing_key: good(),
        total_missed: total,
        head_block: 1000,
        head_time: NOW_S - 1,
    })
}
fn key(key: PublicKey, total: u32) -> Result<Reading, String> {
    Ok(Reading {
        signing_key: key,
        total_missed: total,
        head_block: 1000,
        head_time: NOW_S - 1,
    })
}
fn aged(total: u32, age_s: i64) -> Result<Reading, String> {
    let t = u32::try_from(i64::from(NOW_S) - age_s).unwrap_or(0);
    Ok(Reading {
        signing_key: good(),
        total_missed: total,
        head_block: 990,
        head_time: t,
    })
}
fn down() -> Result<Reading, String> {
    Err("connection refused".into())
}

/// (name, readings, quorum, expected agreed total_missed or None for no quorum)
type Case = (
    &'static str,
    Vec<Result<Reading, String>>,
    usize,
    Option<u32>,
);

fn cases() -> Vec<Case> {
    vec![
        ("1 node fresh", vec![ok(5)], 1, Some(5)),
        ("1 node failing", vec![down()], 1, None),
        ("1 node stale", vec![aged(5, 30)], 1, None),
        ("2 nodes agree", vec![ok(5), ok(5)], 2, Some(5)),
        (
            "2 nodes, inflated liar cannot trigger",
            vec![ok(5), ok(500)],
            2,
            Some(5),
        ),
        (
            "2 nodes, one failing: no quorum",
            vec![ok(5), down()],
            2,
            None,
        ),
        ("3 nodes agree", vec![ok(5), ok(5), ok(5)], 2, Some(5)),
        (
            "3 nodes, inflated liar",
            vec![ok(5), ok(900), ok(5)],
            2,
            Some(5),
        ),
        (
            "3 nodes, deflated liar cannot block",
            vec![ok(8), ok(0), ok(8)],
            2,
            Some(8),
        ),
        (
            "3 nodes, one a block behind",
            vec![ok(8), ok(7), ok(8)],
            2,
            Some(8),
        ),
        (
            "3 nodes, one failing",
            vec![ok(8), down(), ok(8)],
            2,
            Some(8),
        ),
        (
            "3 nodes, one stale",
            vec![aged(1, 60), ok(8), ok(8)],
            2,
            Some(8),
        ),
        (
            "3 nodes, one in the future",
            vec![aged(99, -60), ok(8), ok(8)],
            2,
            Some(8),
        ),
        (
            "3 nodes, wrong key liar is left out",
            vec![key(other(), 900), ok(8), ok(8)],
            2,
            Some(8),
        ),
        ("3 nodes, two failing", vec![down(), down(), ok(8)], 2, None),
        (
            "3 nodes, split keys",
            vec![key(other(), 8), down(), ok(8)],
            2,
            None,
        ),
        (
            "4 nodes q3, inflated + failing",
            vec![ok(4), ok(400), down(), ok(4)],
            3,
            Some(4),
        ),
        (
            "4 nodes q3, 2 vs 2 keys",
            vec![ok(4), ok(4), key(other(), 4), key(other(), 4)],
            3,
            None,
        ),
        (
            "5 nodes q3, two inflated liars",
            vec![ok(4), ok(400), ok(4), ok(400), ok(4)],
            3,
            Some(4),
        ),
        (
            "5 nodes q3, two deflated liars",
            vec![ok(4), ok(0), ok(4), ok(0), ok(4)],
            3,
            Some(4),
        ),
        (
            "5 nodes q3, inflated + deflated + failing",
            vec![ok(4), ok(400), down(), ok(0), ok(4)],
            3,
            Some(4),
        ),
        (
            "5 nodes q3, three stale",
            vec![aged(4, 60), aged(4, 60), aged(4, 60), ok(4), ok(4)],
            3,
            None,
        ),
        (
            "all stale (local clock off)",
            vec![aged(4, 20), aged(4, 20), aged(4, 20)],
            2,
            None,
        ),
    ]
}

#[test]
fn quorum_table() {
    let now_ms = u64::from(NOW_S) * 1000;
    let mut failures = Vec::new();
    for (name, readings, q, want) in cases() {
        let a = assess(&readings, q, LAG_MS, now_ms);
        let got = a.view.map(|v| v.total_missed);
        if got != want || (got.is_none() != a.problem.is_some()) {
            failures.push(format!(
                "{name}: got {got:?} want {want:?} ({:?})",
                a.problem
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn node_statuses_explain_each_reading() {
    let now_ms = u64::from(NOW_S) * 1000;
    let a = assess(
        &[ok(1), key(other(), 1), aged(1, 60), down(), ok(1)],
        2,
        LAG_MS,
        now_ms,
    );
    assert_eq!(a.nodes[0], NodeStatus::Agrees);
    assert_eq!(a.nodes[1], NodeStatus::Dissents);
    assert!(matches!(a.nodes[2], NodeStatus::Stale(ms) if ms > 59_000));
    assert!(matches!(a.nodes[3], NodeStatus::Failed(_)));
    assert_eq!(a.view.map(|v| v.signing_key), Some(good()));
}

#[test]
fn a_reading_exactly_at_the_lag_limit_is_fresh() {
    let now_ms = u64::from(NOW_S) * 1000;
    assert!(assess(&[aged(1, 9)], 1, LAG_MS, now_ms).view.is_some());
    assert!(assess(&[aged(1, 10)], 1, LAG_MS, now_ms).view.is_none());
}
