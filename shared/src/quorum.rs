//! What both daemons need to agree on numbers from several nodes.

/// The `k`-th highest of `values` (k ≥ 1; the lowest when there are fewer than k, 0 when there
/// are none). With k = the quorum, at least k nodes report this value or more, so up to k - 1
/// nodes that inflate a number cannot raise it.
pub fn kth_highest(values: impl Iterator<Item = u32>, k: usize) -> u32 {
    let mut v: Vec<u32> = values.collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    v.get(k.saturating_sub(1))
        .or(v.last())
        .copied()
        .unwrap_or(0)
}

/// The default quorum: a strict majority of `nodes`, so two different answers cannot both
/// reach it.
pub fn majority(nodes: usize) -> usize {
    nodes / 2 + 1
}

#[cfg(test)]
mod tests {
    use super::kth_highest;

    #[test]
    fn the_kth_highest_ignores_up_to_k_minus_one_inflated_values() {
        assert_eq!(kth_highest([5, 9_999, 6].into_iter(), 2), 6);
        assert_eq!(kth_highest([5].into_iter(), 2), 5);
        assert_eq!(kth_highest(std::iter::empty(), 1), 0);
        assert_eq!(
            (super::majority(1), super::majority(3), super::majority(4)),
            (1, 2, 3)
        );
    }
}
