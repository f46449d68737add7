//! The witness schedule: 21-slot rounds, shuffled with a seeded RNG (SPEC §8, §9).
//!
//! steemd recomputes the shuffled list after every block whose number is a multiple of 21 and
//! picks the witness of absolute slot `a` as `list[a % list.len()]`. Witnesses whose signing key
//! is the null key are left out when the list is recomputed, so they keep the slots already
//! scheduled in the current round.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Slots per round (`STEEMIT_MAX_WITNESSES`).
pub const ROUND_SLOTS: usize = 21;

/// Whether the schedule is recomputed after applying block `block_num`.
pub fn is_round_boundary(block_num: u32) -> bool {
    block_num.is_multiple_of(ROUND_SLOTS as u32)
}

/// The shuffled order for the round starting after `head_block_num`. `eligible` lists the
/// witnesses with a real signing key in a stable order; the result depends only on it, the
/// seed and the block number, so runs with the same seed are identical.
pub fn shuffle_round(eligible: &[String], seed: u64, head_block_num: u32) -> Vec<String> {
    let mut order = eligible.to_vec();
    let mixed = seed ^ u64::from(head_block_num).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    order.shuffle(&mut StdRng::seed_from_u64(mixed));
    order
}

/// The witness scheduled for absolute slot `aslot`, or `None` when nobody is scheduled.
pub fn scheduled_witness(schedule: &[String], aslot: u64) -> Option<&str> {
    let len = u64::try_from(schedule.len()).ok().filter(|l| *l > 0)?;
    let index = usize::try_from(aslot % len).ok()?;
    schedule.get(index).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("w{i:02}")).collect()
    }

    #[test]
    fn shuffle_is_reproducible_and_a_permutation() {
        let eligible = names(21);
        let a = shuffle_round(&eligible, 7, 21);
        assert_eq!(a, shuffle_round(&eligible, 7, 21));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, eligible);
        assert_ne!(a, shuffle_round(&eligible, 8, 21), "seed changes the order");
    }

    #[test]
    fn slots_wrap_around_the_list() {
        let schedule = names(3);
        assert_eq!(scheduled_witness(&schedule, 0), Some("w00"));
        assert_eq!(scheduled_witness(&schedule, 4), Some("w01"));
        assert_eq!(scheduled_witness(&[], 4), None);
    }

    #[test]
    fn rounds_end_every_21_blocks() {
        assert!(is_round_boundary(21));
        assert!(is_round_boundary(42));
        assert!(!is_round_boundary(22));
    }
}
