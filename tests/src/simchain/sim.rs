//! The shared simulator: one chain state behind a lock, and per-node fault settings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio::sync::watch;

use crate::simchain::chain::ChainState;

/// `fake_broadcast` value: answer with the transaction's real id.
pub const FAKE_SAME_ID: &str = "same-id";
/// `fake_broadcast` value: answer with another id.
pub const FAKE_OTHER_ID: &str = "other-id";

/// Fault settings of one JSON-RPC node; the chain state itself is shared. The control API
/// (`POST /nodes/{index}`, see [`crate::simchain::control`]) takes the same field names.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NodeFaults {
    /// Delay before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Probability (0..1) of answering a request with an HTTP 500 or a JSON-RPC error.
    pub error_rate: f64,
    /// Serve the head and witnesses as they were when this was set.
    pub frozen: bool,
    /// Refuse connections (the port is closed, open connections are dropped).
    pub refuse: bool,
    /// Added to `total_missed` in witness reads (`get_witness_by_account`), floor 0.
    pub lie_total_missed: Option<i64>,
    /// Witness reads report this as `signing_key` (a public key of the chain's prefix).
    pub lie_signing_key: Option<String>,
    /// Witness reads report this as `url`.
    pub lie_url: Option<String>,
    /// Witness reads report this, verbatim, as `props.account_creation_fee`.
    pub lie_account_creation_fee: Option<String>,
    /// Seconds added to `time` (the head block time) in `get_dynamic_global_properties`;
    /// 0 is off, negative allowed.
    pub head_time_shift_seconds: i64,
    /// `get_config` (and the appbase `get_version`) report another chain id.
    pub wrong_chain_id: bool,
    /// Drop the next this many broadcasts: the transaction is checked as usual but never enters
    /// the pending set; `broadcast_transaction` answers success, and
    /// `broadcast_transaction_synchronous` answers `expired` once the head passes its
    /// expiration (a broadcast lost between the node and the block producer).
    pub drop_broadcasts: u32,
    /// The next this many broadcasts are pushed as usual, but the HTTP answer is a
    /// 502 Bad Gateway with a text body (a proxy that lost the node's answer); the synchronous
    /// method answers at once, without waiting for inclusion.
    pub broadcast_then_502: u32,
    /// The next this many broadcasts are pushed as usual, but
    /// `broadcast_transaction_synchronous` answers at once `expired: true` (block 0);
    /// `broadcast_transaction` answers success as usual.
    pub answer_expired: u32,
    /// [`FAKE_SAME_ID`] or [`FAKE_OTHER_ID`]: every broadcast is checked as usual but never
    /// pushed; `broadcast_transaction` answers success and `broadcast_transaction_synchronous`
    /// answers at once "included in head + 1 at position 0" with the transaction's real id or
    /// another 40-hex id.
    pub fake_broadcast: Option<String>,
}

/// What a node does with one broadcast (see [`Sim::take_broadcast_fault`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BroadcastFault {
    /// Push and answer as usual.
    None,
    /// `drop_broadcasts`: check, never push.
    Drop,
    /// `broadcast_then_502`: push, answer HTTP 502.
    BadGateway,
    /// `answer_expired`: push, answer `expired` at once.
    AnswerExpired,
    /// `fake_broadcast`: check, never push, answer success; `other_id` for "other-id".
    Fake {
        /// Answer another id than the transaction's.
        other_id: bool,
    },
}

/// One JSON-RPC node.
#[derive(Debug)]
pub struct Node {
    /// Index in `--nodes` order.
    pub index: usize,
    /// Current faults.
    pub faults: Mutex<NodeFaults>,
    /// The state served while `frozen` is set.
    pub snapshot: Mutex<Option<Arc<ChainState>>>,
    /// Follows `faults.refuse`; the accept loop watches it.
    pub refuse: watch::Sender<bool>,
    /// HTTP requests received (one per body, a batch included).
    pub requests: AtomicU64,
    /// JSON-RPC calls received: one per request body, or one per element of a batch (an array
    /// body).
    pub calls: AtomicU64,
    /// Requests that carried a transaction with at least one signature (a dry run must send
    /// none).
    pub signed_requests: AtomicU64,
}

/// The simulator shared by the producer, the nodes and the control API.
#[derive(Debug)]
pub struct Sim {
    chain: Mutex<ChainState>,
    /// The head block number, sent after every produced block.
    pub head: watch::Sender<u32>,
    /// The JSON-RPC nodes.
    pub nodes: Vec<Node>,
}

impl Sim {
    /// A simulator over `chain` with `nodes` fault-free nodes.
    pub fn new(chain: ChainState, nodes: usize) -> Arc<Self> {
        let head = watch::Sender::new(chain.head_num());
        let nodes = (0..nodes)
            .map(|index| Node {
                index,
                faults: Mutex::new(NodeFaults::default()),
                snapshot: Mutex::new(None),
                refuse: watch::Sender::new(false),
                requests: AtomicU64::new(0),
                calls: AtomicU64::new(0),
                signed_requests: AtomicU64::new(0),
            })
            .collect();
        Arc::new(Sim {
            chain: Mutex::new(chain),
            head,
            nodes,
        })
    }

    /// Locks the live chain state. A poisoned lock is taken over: the state is plain data and a
    /// panicking holder cannot leave it half-updated in a way that matters to a test node.
    pub fn chain(&self) -> MutexGuard<'_, ChainState> {
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The faults of node `index` (default when out of range).
    pub fn faults(&self, index: usize) -> NodeFaults {
        self.nodes
            .get(index)
            .map(|n| lock(&n.faults).clone())
            .unwrap_or_default()
    }

    /// Counts one HTTP request to node `index` carrying `calls` JSON-RPC calls (more than one
    /// for a batch).
    pub fn count_request(&self, index: usize, calls: u64) {
        if let Some(node) = self.nodes.get(index) {
            node.requests.fetch_add(1, Ordering::Relaxed);
            node.calls.fetch_add(calls, Ordering::Relaxed);
        }
    }

    /// Counts a request to node `index` that carried a signed transaction.
    pub fn count_signed_request(&self, index: usize) {
        if let Some(node) = self.nodes.get(index) {
            node.signed_requests.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests carrying a signed transaction that node `index` has received.
    pub fn signed_requests(&self, index: usize) -> u64 {
        self.nodes
            .get(index)
            .map_or(0, |n| n.signed_requests.load(Ordering::Relaxed))
    }

    /// HTTP requests node `index` has received.
    pub fn requests(&self, index: usize) -> u64 {
        self.nodes
            .get(index)
            .map_or(0, |n| n.requests.load(Ordering::Relaxed))
    }

    /// JSON-RPC calls node `index` has received (batch elements counted one by one).
    pub fn calls(&self, index: usize) -> u64 {
        self.nodes
            .get(index)
            .map_or(0, |n| n.calls.load(Ordering::Relaxed))
    }

    /// Runs `f` on what node `index` serves: its frozen snapshot, or the live state.
    pub fn with_view<R>(&self, index: usize, f: impl FnOnce(&ChainState) -> R) -> R {
        let snapshot = self
            .nodes
            .get(index)
            .and_then(|n| lock(&n.snapshot).clone());
        match snapshot {
            Some(state) => f(&state),
            None => f(&self.chain()),
        }
    }

    /// Decides what node `index` does with its next broadcast (either method), counting down
    /// the counter it takes. At most one fault applies, in this order: `drop_broadcasts`,
    /// `broadcast_then_502`, `answer_expired`, then `fake_broadcast` (which is not a counter).
    pub fn take_broadcast_fault(&self, index: usize) -> BroadcastFault {
        let Some(node) = self.nodes.get(index) else {
            return BroadcastFault::None;
        };
        let mut faults = lock(&node.faults);
        let faults = &mut *faults;
        for (counter, fault) in [
            (&mut faults.drop_broadcasts, BroadcastFault::Drop),
            (&mut faults.broadcast_then_502, BroadcastFault::BadGateway),
            (&mut faults.answer_expired, BroadcastFault::AnswerExpired),
        ] {
            if *counter > 0 {
                *counter -= 1;
                return fault;
            }
        }
        match faults.fake_broadcast.as_deref() {
            Some(FAKE_SAME_ID) => BroadcastFault::Fake { other_id: false },
            Some(FAKE_OTHER_ID) => BroadcastFault::Fake { other_id: true },
            _ => BroadcastFault::None,
        }
    }

    /// Replaces node `index`'s faults; taking a snapshot when `frozen` becomes set.
    pub fn set_faults(&self, index: usize, faults: NodeFaults) -> bool {
        let Some(node) = self.nodes.get(index) else {
            return false;
        };
        let mut current = lock(&node.faults);
        let mut snapshot = lock(&node.snapshot);
        if faults.frozen && snapshot.is_none() {
            *snapshot = Some(Arc::new(self.chain().clone()));
        } else if !faults.frozen {
            *snapshot = None;
        }
        node.refuse.send_replace(faults.refuse);
        *current = faults;
        true
    }
}

/// Locks a mutex, taking over a poisoned one (see [`Sim::chain`]).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
