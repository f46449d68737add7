//! Agreement of several nodes on what the signer reads before it signs (pure, tested below).
//!
//! The signer never takes one node's word for what it signs. Rules:
//! * **Fresh**: a reading counts only if its head block time is within `max_skew` seconds of the
//!   local clock, in either direction: no node can move the local clock, so a node that reports
//!   a head time in the future (to stretch the expiration) or in the past is left out.
//! * **Witness**: the signing key, url and props reported by at least `quorum` fresh readings,
//!   all three identical; otherwise there is no agreement and nothing is signed. `quorum` is at
//!   least a majority, so two different answers cannot both reach it.
//! * **Numbers**: among the agreeing readings, the head block, head time and last irreversible
//!   block are each the `quorum`-th highest value, so at least `quorum` nodes report that value
//!   or more: up to `quorum - 1` liars cannot raise them.
//! * **Values**: any other value read for the transaction (a block id for TaPoS, a node's
//!   serialization of our bytes) counts only when at least `quorum` nodes answer it identically.

use std::fmt;

use vwf_shared::quorum::kth_highest;
pub use vwf_shared::quorum::majority;
use vwf_shared::{ChainProperties, PublicKey};

/// The witness fields a `witness_update` sends back, as one node reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessFacts {
    /// The witness's signing key.
    pub signing_key: PublicKey,
    /// Its url.
    pub url: String,
    /// Its props, or why they cannot be read in the profile's layout.
    pub props: Result<ChainProperties, String>,
}

/// What one node said for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeReading {
    /// The witness as this node reports it.
    pub witness: WitnessFacts,
    /// Head block number.
    pub head_block: u32,
    /// Head block time, Unix seconds.
    pub head_time: u32,
    /// Last irreversible block number.
    pub last_irreversible: u32,
    /// The local clock (Unix seconds) when this node's answer arrived: freshness is judged
    /// against it, so waiting for a slow node does not make the others' answers look stale.
    pub received_at: u64,
}

/// The view a quorum of fresh nodes agrees on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgreedView {
    /// The agreed witness fields.
    pub witness: WitnessFacts,
    /// The `quorum`-th highest head block of the agreeing readings.
    pub head_block: u32,
    /// The `quorum`-th highest head time, Unix seconds.
    pub head_time: u32,
    /// The `quorum`-th highest last irreversible block.
    pub last_irreversible: u32,
    /// Indexes of the agreeing nodes.
    pub agreeing: Vec<usize>,
    /// How many nodes were asked.
    pub asked: usize,
    /// The quorum applied.
    pub quorum: usize,
}

impl AgreedView {
    /// "2 of 3 nodes agree (quorum 2)", for logs and the audit line.
    pub fn summary(&self) -> String {
        format!(
            "{} of {} nodes agree (quorum {})",
            self.agreeing.len(),
            self.asked,
            self.quorum
        )
    }
}

/// Why no view was agreed: a sentence for the operator, with each node's part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoAgreement(pub String);

impl fmt::Display for NoAgreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Judges one round of readings (index = node index), each against the local clock when it
/// arrived.
pub fn agree(
    readings: &[Result<NodeReading, String>],
    quorum: usize,
    max_skew: u64,
) -> Result<AgreedView, NoAgreement> {
    let mut fresh: Vec<(usize, &NodeReading)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for (i, reading) in readings.iter().enumerate() {
        match reading {
            Err(error) => notes.push(format!("node {i}: {error}")),
            Ok(r) => {
                let skew = i128::from(r.head_time) - i128::from(r.received_at);
                if skew.unsigned_abs() > u128::from(max_skew) {
                    notes.push(format!(
                        "node {i}: head time {} s {} the local clock (more than {max_skew} s)",
                        skew.unsigned_abs(),
                        if skew > 0 { "ahead of" } else { "behind" }
                    ));
                } else {
                    fresh.push((i, r));
                }
            }
        }
    }
    let winner = fresh
        .iter()
        .map(|(_, r)| &r.witness)
        .find(|w| fresh.iter().filter(|(_, r)| r.witness == **w).count() >= quorum);
    let Some(witness) = winner.filter(|_| quorum > 0) else {
        let why = if fresh.len() < quorum {
            format!(
                "only {} fresh answer(s) from {} node(s), quorum is {quorum}",
                fresh.len(),
                readings.len()
            )
        } else {
            format!(
                "{} fresh answers disagree on the witness's key, url or props, quorum is {quorum}",
                fresh.len()
            )
        };
        notes.insert(0, why);
        return Err(NoAgreement(notes.join("; ")));
    };
    let agreeing: Vec<(usize, &NodeReading)> = fresh
        .iter()
        .filter(|(_, r)| r.witness == *witness)
        .copied()
        .collect();
    Ok(AgreedView {
        witness: witness.clone(),
        head_block: kth_highest(agreeing.iter().map(|(_, r)| r.head_block), quorum),
        head_time: kth_highest(agreeing.iter().map(|(_, r)| r.head_time), quorum),
        last_irreversible: kth_highest(agreeing.iter().map(|(_, r)| r.last_irreversible), quorum),
        agreeing: agreeing.iter().map(|(i, _)| *i).collect(),
        asked: readings.len(),
        quorum,
    })
}

/// The value at least `quorum` answers give identically, if any.
pub fn agreed_value<T: PartialEq + Clone>(
    answers: &[Result<T, String>],
    quorum: usize,
) -> Option<T> {
    answers
        .iter()
        .filter_map(|a| a.as_ref().ok())
        .find(|v| {
            answers
                .iter()
                .filter(|a| a.as_ref().is_ok_and(|w| w == *v))
                .count()
                >= quorum
        })
        .filter(|_| quorum > 0)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vwf_shared::{Asset, AssetSymbol};

    const NOW: u64 = 1_700_000_000;

    fn key(n: u8) -> PublicKey {
        if n == 0 {
            return PublicKey::NULL;
        }
        let secret = secrecy::SecretBox::new(Box::new([n; 32]));
        match vwf_shared::PrivateKey::from_secret(secret) {
            Ok(k) => k.public_key(),
            Err(_) => PublicKey::NULL,
        }
    }

    fn props(fee: i64) -> ChainProperties {
        ChainProperties {
            account_creation_fee: Asset {
                amount: fee,
                symbol: AssetSymbol::new("VIT", "VIT", 3),
            },
            maximum_block_size: 131_072,
            interest_rate: None,
        }
    }

    fn reading(k: u8, url: &str, fee: i64, head: u32, skew: i64) -> Result<NodeReading, String> {
        Ok(NodeReading {
            witness: WitnessFacts {
                signing_key: key(k),
                url: url.into(),
                props: Ok(props(fee)),
            },
            head_block: head,
            head_time: u32::try_from(NOW as i64 + skew).unwrap_or(0),
            last_irreversible: head.saturating_sub(15),
            received_at: NOW,
        })
    }

    #[test]
    fn three_honest_nodes_agree_on_everything() {
        let r = [
            reading(1, "u", 100, 1000, 0),
            reading(1, "u", 100, 1001, 0),
            reading(1, "u", 100, 999, -1),
        ];
        let view = agree(&r, 2, 15);
        let Ok(view) = view else {
            panic!("no agreement: {view:?}")
        };
        assert_eq!(view.witness.signing_key, key(1));
        assert_eq!(view.head_block, 1000);
        assert_eq!(view.agreeing, vec![0, 1, 2]);
        assert_eq!(view.summary(), "3 of 3 nodes agree (quorum 2)");
    }

    #[test]
    fn one_liar_cannot_choose_key_url_props_or_numbers() {
        for liar in [
            reading(0, "u", 100, 1000, 0),                     // the null key
            reading(1, "https://phish.example", 100, 1000, 0), // the url
            reading(1, "u", 1_000_000_000_000, 1000, 0),       // the fee
            reading(1, "u", 100, 9_999_999, 0),                // the head
        ] {
            let r = [
                liar,
                reading(1, "u", 100, 1000, 0),
                reading(1, "u", 100, 1000, 0),
            ];
            let view = agree(&r, 2, 15);
            let Ok(view) = view else {
                panic!("no agreement: {view:?}")
            };
            assert_eq!(view.witness.url, "u");
            assert_eq!(view.witness.signing_key, key(1));
            assert_eq!(view.witness.props, Ok(props(100)));
            assert_eq!(view.head_block, 1000);
        }
    }

    #[test]
    fn disagreement_or_too_few_fresh_answers_is_no_view() {
        let split = [
            reading(1, "u", 100, 1000, 0),
            reading(2, "u", 100, 1000, 0),
            Err("connection refused".into()),
        ];
        let no = agree(&split, 2, 15);
        assert!(
            matches!(&no, Err(NoAgreement(m)) if m.contains("disagree") && m.contains("connection refused")),
            "{no:?}"
        );
        let one = [
            reading(1, "u", 100, 1000, 0),
            Err("down".into()),
            Err("down".into()),
        ];
        assert!(matches!(agree(&one, 2, 15), Err(NoAgreement(m)) if m.contains("only 1 fresh")));
    }

    #[test]
    fn a_node_whose_head_time_is_far_from_the_local_clock_is_left_out() {
        let r = [
            reading(2, "u", 100, 1000, 3000), // 50 minutes ahead, with another key
            reading(1, "u", 100, 1000, 0),
            reading(1, "u", 100, 1000, -2),
        ];
        let view = agree(&r, 2, 15);
        assert!(
            matches!(&view, Ok(v) if v.agreeing == vec![1, 2] && v.head_time <= NOW as u32),
            "{view:?}"
        );
        let ahead = [
            reading(1, "u", 100, 1000, 3000),
            reading(1, "u", 100, 1000, 3000),
        ];
        let no = agree(&ahead, 2, 15);
        assert!(
            matches!(&no, Err(NoAgreement(m)) if m.contains("ahead of the local clock")),
            "{no:?}"
        );
    }

    #[test]
    fn agreed_values_need_a_quorum_of_identical_answers() {
        let answers: Vec<Result<u32, String>> = vec![Ok(7), Ok(8), Ok(7)];
        assert_eq!(agreed_value(&answers, 2), Some(7));
        assert_eq!(agreed_value(&answers, 3), None);
        let errors: Vec<Result<u32, String>> = vec![Err("x".into()), Ok(1)];
        assert_eq!(agreed_value(&errors, 2), None);
        assert_eq!(majority(1), 1);
        assert_eq!(majority(3), 2);
        assert_eq!(majority(4), 3);
    }
}
