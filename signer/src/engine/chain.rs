//! What the engine reads from and sends to the nodes, each decided by a quorum: the witness and
//! head, the TaPoS block, the pre-flight bytes, and whether a transaction is in a block.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use vwf_shared::rpc::{NodeClient, Rebroadcast, RpcError};
use vwf_shared::{BlockId, SignedTransaction, TimePointSec};

use super::{Engine, errors_of, unix_now};
use crate::config::TaposSource;
use crate::error::Error;
use crate::nodes::{NODE_ANSWER_TIMEOUT, Nodes};
use crate::quorum::{AgreedView, NodeReading, WitnessFacts, agree, agreed_value};

/// How long one node may take to take a broadcast: it only validates and queues it, and a node
/// that is slower must not delay the others' confirmation.
const SEND_TIMEOUT: Duration = Duration::from_secs(3);

/// How often a broadcast transaction is looked for while it may still land.
const SETTLE_POLL: Duration = Duration::from_millis(1000);

/// Where a broadcast transaction stands, as a quorum of nodes sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Settlement {
    /// A quorum finds it in this block.
    Included {
        /// The block.
        block_num: u32,
        /// How the nodes agreed.
        nodes: String,
    },
    /// The local clock is past its expiration and a quorum scanned every block it could be in
    /// without finding it: it can never land.
    Expired {
        /// How the nodes agreed.
        nodes: String,
    },
    /// Neither yet (or the nodes disagree): it may still land.
    Unknown(String),
}

/// One node's scan for a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// In this block.
    Included(u32),
    /// Every block that could hold it was scanned: it is not in this node's chain.
    Absent,
    /// This node's head has not passed the expiration yet.
    StillPossible,
}

/// The next block each node's scan reads, kept across the rounds of one wait: a node that ran
/// out of time or failed part-way resumes where it stopped instead of starting over, so a slow
/// or flaky node still gets through the blocks (a scan costs one call per block).
struct ScanCursors {
    from_block: u32,
    next: Vec<AtomicU32>,
}

impl ScanCursors {
    /// Every one of `nodes` starts at `from_block`.
    fn new(nodes: usize, from_block: u32) -> Self {
        let from_block = from_block.max(1);
        ScanCursors {
            from_block,
            next: (0..nodes).map(|_| AtomicU32::new(from_block)).collect(),
        }
    }

    /// Scans node `index`'s blocks for `tx_id` from its cursor, moving the cursor past each
    /// block read without the transaction (a block that holds it, or passes its expiration, is
    /// read again next round, so the answer is the node's current one). A transaction can be
    /// in a block only if the block before it is not later than its expiration (steemd checks
    /// the expiration against the head time before the block), so once a scanned block is
    /// later than the expiration, every block that could hold it has been seen.
    async fn scan(
        &self,
        index: usize,
        node: &NodeClient,
        tx_id: &str,
        expiration: TimePointSec,
    ) -> Result<Scan, RpcError> {
        let cursor = self.next.get(index);
        let head = node.get_dynamic_global_properties().await?;
        let mut num = cursor.map_or(self.from_block, |c| c.load(Ordering::Relaxed));
        while num <= head.head_block_number {
            let block = node.get_block(num).await?;
            if block.transaction_ids.iter().any(|id| id == tx_id) {
                return Ok(Scan::Included(num));
            }
            if block.timestamp > expiration {
                return Ok(Scan::Absent);
            }
            num += 1;
            if let Some(cursor) = cursor {
                cursor.store(num, Ordering::Relaxed);
            }
        }
        Ok(Scan::StillPossible)
    }
}

/// The witness and head as a quorum of fresh `nodes` agree (also used without a key, by
/// `vwf-signer witness show`).
pub async fn agreed_view(nodes: &Nodes, account: &str) -> Result<AgreedView, Error> {
    let (quorum, skew) = (nodes.quorum(), nodes.max_skew_seconds());
    let readings = nodes
        .ask_until(
            NODE_ANSWER_TIMEOUT,
            |_, node| async move { read(&node, account).await },
            |answers| agree(answers, quorum, skew).is_ok(),
        )
        .await;
    agree(&readings, nodes.quorum(), nodes.max_skew_seconds())
        .map_err(|why| Error::NoQuorum(format!("{account}: {why}")))
}

impl Engine {
    /// The witness and head as a quorum of fresh nodes agree.
    pub(super) async fn agreed_view(&self, account: &str) -> Result<AgreedView, Error> {
        agreed_view(&self.nodes, account).await
    }

    /// The TaPoS block (its number and id) a quorum agrees on.
    pub(super) async fn agreed_tapos(&self, view: &AgreedView) -> Result<(u32, BlockId), Error> {
        let num = match self.build.tapos {
            TaposSource::Head => view.head_block,
            TaposSource::LastIrreversible => view.last_irreversible,
        };
        let quorum = self.nodes.quorum();
        let ids = self
            .nodes
            .ask_until(
                NODE_ANSWER_TIMEOUT,
                |_, node| async move { node.block_id(num).await },
                |answers| agreed_value(answers, quorum).is_some(),
            )
            .await;
        match agreed_value(&ids, quorum) {
            Some(id) => Ok((num, id)),
            None => Err(Error::NoQuorum(format!(
                "no {} nodes agree on the id of TaPoS block {num}: {}",
                self.nodes.quorum(),
                errors_of(&ids)
            ))),
        }
    }

    /// SPEC §7.6: a quorum of nodes must serialize the *unsigned* transaction to exactly our
    /// bytes. The node never sees a signature before the broadcast.
    pub(super) async fn preflight(&self, unsigned: &SignedTransaction) -> Result<(), Error> {
        debug_assert!(unsigned.signatures.is_empty());
        let ours = unsigned.to_bytes(&self.profile)?;
        let quorum = self.nodes.quorum();
        let ours_ref = &ours;
        let answers = self
            .nodes
            .ask_until(
                NODE_ANSWER_TIMEOUT,
                |_, node| async move { node.get_transaction_hex(unsigned).await },
                |answers| {
                    answers
                        .iter()
                        .filter(|a| a.as_ref().is_ok_and(|b| b == ours_ref))
                        .count()
                        >= quorum
                },
            )
            .await;
        let same = answers
            .iter()
            .filter(|a| a.as_ref().is_ok_and(|b| *b == ours))
            .count();
        if same >= self.nodes.quorum() {
            return Ok(());
        }
        let detail: Vec<String> = answers
            .iter()
            .enumerate()
            .map(|(i, a)| match a {
                Ok(bytes) if *bytes == ours => format!("node {i}: same bytes"),
                Ok(bytes) => format!(
                    "node {i}: DIFFERENT bytes (ours {}, node {})",
                    ours.len(),
                    bytes.len()
                ),
                Err(e) => format!("node {i} failed: {e}"),
            })
            .collect();
        Err(Error::Preflight(format!(
            "{same} node(s) serialize the transaction to our bytes, quorum is {} ({}); \
             if nodes differ, check [chain] profile and props_interest_rate_field",
            self.nodes.quorum(),
            detail.join("; ")
        )))
    }

    /// Sends the same signed bytes to every node (a node that already has them refuses the
    /// copy as a duplicate: never applied twice). Returns a summary for the audit line.
    pub(super) async fn send_everywhere(&self, signed: &SignedTransaction) -> String {
        let answers = self
            .nodes
            .ask_until(
                SEND_TIMEOUT,
                |_, node| async move { node.rebroadcast_transaction(signed).await },
                |_| false,
            )
            .await;
        let parts: Vec<String> = answers
            .iter()
            .enumerate()
            .map(|(i, a)| match a {
                Ok(Rebroadcast::Accepted) => format!("node {i} accepted"),
                Ok(Rebroadcast::AlreadyKnown) => format!("node {i} already had it"),
                Err(e) => format!("node {i} failed: {e}"),
            })
            .collect();
        format!("broadcast: {}", parts.join("; "))
    }

    /// Looks for the transaction until a quorum settles it or `deadline` (or, by the local
    /// clock, well past its expiration) is reached.
    pub(super) async fn wait_settled(
        &self,
        signed: &SignedTransaction,
        from_block: u32,
        deadline: Instant,
    ) -> Settlement {
        let expiration = u64::from(signed.transaction.expiration.0);
        let give_up_at = expiration + 2 * self.nodes.max_skew_seconds();
        let cursors = ScanCursors::new(self.nodes.count(), from_block);
        loop {
            // Each node's scan is bounded by the time left (and the per-node limit), so a node
            // that feeds an endless scan only drops out of this round.
            let left = deadline.saturating_duration_since(Instant::now());
            let limit = left.clamp(SETTLE_POLL, NODE_ANSWER_TIMEOUT);
            let settlement = self.settle_once(signed, &cursors, limit).await;
            if !matches!(settlement, Settlement::Unknown(_))
                || Instant::now() + SETTLE_POLL >= deadline
                || unix_now() > give_up_at
            {
                return settlement;
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }

    /// One round: every node scans on from its cursor through the blocks the transaction could
    /// be in.
    async fn settle_once(
        &self,
        signed: &SignedTransaction,
        cursors: &ScanCursors,
        limit: Duration,
    ) -> Settlement {
        let tx_id = match signed.transaction.id(&self.profile) {
            Ok(id) => id,
            Err(e) => return Settlement::Unknown(e.to_string()),
        };
        let expiration = signed.transaction.expiration;
        let tx_id = tx_id.as_str();
        let quorum = self.nodes.quorum();
        let settled = |scans: &[Result<Scan, String>]| {
            let included: Vec<Result<u32, String>> = scans.iter().map(included_in).collect();
            agreed_value(&included, quorum).is_some()
                || (scans
                    .iter()
                    .filter(|s| matches!(s, Ok(Scan::Absent)))
                    .count()
                    >= quorum
                    && unix_now() > u64::from(expiration.0))
        };
        let scans = self
            .nodes
            .ask_until(
                limit,
                |index, node| async move { cursors.scan(index, &node, tx_id, expiration).await },
                settled,
            )
            .await;
        let included: Vec<Result<u32, String>> = scans.iter().map(included_in).collect();
        let summary = |what: &str, count: usize| {
            format!("{count} of {} nodes {what} (quorum {quorum})", scans.len())
        };
        if let Some(block_num) = agreed_value(&included, quorum) {
            let count = included
                .iter()
                .filter(|n| n.as_ref().is_ok_and(|n| *n == block_num))
                .count();
            return Settlement::Included {
                block_num,
                nodes: summary(&format!("find it in block {block_num}"), count),
            };
        }
        let absent = scans
            .iter()
            .filter(|s| matches!(s, Ok(Scan::Absent)))
            .count();
        if absent >= quorum && unix_now() > u64::from(expiration.0) {
            return Settlement::Expired {
                nodes: summary("scanned past its expiration without finding it", absent),
            };
        }
        let parts: Vec<String> = scans
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Ok(Scan::Included(num)) => format!("node {i}: in block {num}"),
                Ok(Scan::Absent) => format!("node {i}: not in any block up to its expiration"),
                Ok(Scan::StillPossible) => format!("node {i}: not yet in a block"),
                Err(e) => format!("node {i}: {e}"),
            })
            .collect();
        Settlement::Unknown(parts.join("; "))
    }
}

/// A scan as "in block N" or why not, for [`agreed_value`].
fn included_in(scan: &Result<Scan, String>) -> Result<u32, String> {
    match scan {
        Ok(Scan::Included(num)) => Ok(*num),
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(e.clone()),
    }
}

/// One node's reading of the witness and the head.
async fn read(node: &Arc<NodeClient>, account: &str) -> Result<NodeReading, RpcError> {
    let dgp = node.get_dynamic_global_properties().await?;
    let witness = node.get_witness_by_account(account).await?;
    Ok(NodeReading {
        witness: WitnessFacts {
            signing_key: witness.signing_key,
            url: witness.url,
            props: witness.props,
        },
        head_block: dgp.head_block_number,
        head_time: dgp.time.0,
        last_irreversible: dgp.last_irreversible_block_num,
        received_at: unix_now(),
    })
}
