//! From one reading per node to one agreed [`ChainView`], or none.
//!
//! Rules (pure, tested below):
//! * **Fresh**: a reading counts only if its head block time is within `max_lag` of the local
//!   clock, in either direction. The local clock is the one reference no node can move: a
//!   "freshest reading" reference would let one node that claims a future head time make every
//!   honest node look stale. `max_lag` is max(3 block intervals, `max_head_lag_seconds`), so a
//!   reading one or two blocks behind (polling jitter, whole-second head times) still counts. The
//!   host needs a synced clock; if it is off by more than `max_lag`, every reading is stale, the
//!   monitor alerts and does not act.
//! * **Key**: the signing key reported by at least `quorum` fresh readings; otherwise no quorum.
//!   (`quorum` is at least a majority of the nodes, so two keys cannot both reach it.)
//! * **Numbers**: among the readings that report the agreed key, `total_missed`, head block and
//!   head time are each the `quorum`-th highest value. So at least `quorum` nodes report that
//!   value or more: up to `quorum`-1 inflated liars cannot raise it (they cannot trigger an
//!   action), and deflated liars cannot lower it as long as `quorum` honest readings remain
//!   (they cannot block one). A node reporting another key is left out of the numbers too.

use vwf_shared::PublicKey;
use vwf_shared::quorum::kth_highest;

use crate::state::ChainView;

/// What one node said in one poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// The witness's signing key.
    pub signing_key: PublicKey,
    /// The witness's `total_missed`.
    pub total_missed: u32,
    /// Head block number.
    pub head_block: u32,
    /// Head block time, Unix seconds.
    pub head_time: u32,
}

/// How one node's reading was judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    /// Fresh and agreeing.
    Agrees,
    /// Fresh but reporting another key than the quorum.
    Dissents,
    /// Fresh, and no quorum was reached.
    Fresh,
    /// Head block time too far from the local clock (lag in ms; negative = in the future).
    Stale(i64),
    /// No reading: the error.
    Failed(String),
}

/// The result of one poll round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// The agreed view, if a quorum agreed.
    pub view: Option<ChainView>,
    /// Why not, if not.
    pub problem: Option<String>,
    /// Per node, in config order.
    pub nodes: Vec<NodeStatus>,
}

/// Judges one round of readings (index = node index).
pub fn assess(
    readings: &[Result<Reading, String>],
    quorum: usize,
    max_lag_ms: u64,
    now_ms: u64,
) -> Assessment {
    let max_lag = i64::try_from(max_lag_ms).unwrap_or(i64::MAX);
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let mut nodes = Vec::with_capacity(readings.len());
    let mut fresh = Vec::new();
    for (i, r) in readings.iter().enumerate() {
        match r {
            Err(e) => nodes.push(NodeStatus::Failed(e.clone())),
            Ok(reading) => {
                let lag = now - i64::from(reading.head_time) * 1000;
                if lag.abs() > max_lag {
                    nodes.push(NodeStatus::Stale(lag));
                } else {
                    nodes.push(NodeStatus::Fresh);
                    fresh.push((i, *reading));
                }
            }
        }
    }
    let winner = fresh
        .iter()
        .map(|(_, r)| r.signing_key)
        .find(|k| fresh.iter().filter(|(_, r)| r.signing_key == *k).count() >= quorum);
    let Some(key) = winner.filter(|_| quorum > 0) else {
        let problem = if fresh.len() < quorum {
            format!(
                "only {} fresh reading(s) of {}, quorum is {quorum}",
                fresh.len(),
                readings.len()
            )
        } else {
            format!(
                "{} fresh readings disagree on the signing key, quorum is {quorum}",
                fresh.len()
            )
        };
        return Assessment {
            view: None,
            problem: Some(problem),
            nodes,
        };
    };
    let agreeing: Vec<&Reading> = fresh
        .iter()
        .filter(|(_, r)| r.signing_key == key)
        .map(|(_, r)| r)
        .collect();
    for (i, r) in &fresh {
        nodes[*i] = if r.signing_key == key {
            NodeStatus::Agrees
        } else {
            NodeStatus::Dissents
        };
    }
    let view = ChainView {
        signing_key: key,
        total_missed: kth_highest(agreeing.iter().map(|r| r.total_missed), quorum),
        head_block: kth_highest(agreeing.iter().map(|r| r.head_block), quorum),
        head_time: kth_highest(agreeing.iter().map(|r| r.head_time), quorum),
    };
    Assessment {
        view: Some(view),
        problem: None,
        nodes,
    }
}

#[cfg(test)]
mod tests;
