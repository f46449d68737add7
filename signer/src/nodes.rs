//! The configured nodes: connected lazily, asked together, forgotten after a transport failure
//! so the next request reconnects. What they answer counts only where a quorum agrees
//! ([`crate::quorum`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::Mutex;
use vwf_shared::ChainProfile;
use vwf_shared::rpc::{ClientOptions, NodeClient, RpcError};

/// The longest one node may take to answer one question (several calls, e.g. a block scan):
/// past it, that node's answer is an error for this round, so a slow or lying node can delay a
/// decision by this much at most but never block it while a quorum of the others answers.
pub const NODE_ANSWER_TIMEOUT: Duration = Duration::from_secs(8);

/// The signer's nodes and the agreement they must reach.
#[derive(Debug)]
pub struct Nodes {
    profile: ChainProfile,
    urls: Vec<String>,
    options: ClientOptions,
    quorum: usize,
    max_skew_seconds: u64,
    connected: Mutex<Vec<Option<Arc<NodeClient>>>>,
}

impl Nodes {
    /// Nodes for `profile`; nothing is contacted until [`Nodes::all`]. `quorum` answers must
    /// agree; a head time more than `max_skew_seconds` from the local clock makes a node stale.
    pub fn new(
        profile: ChainProfile,
        urls: Vec<String>,
        options: ClientOptions,
        quorum: usize,
        max_skew_seconds: u64,
    ) -> Self {
        let connected = Mutex::new(vec![None; urls.len()]);
        Nodes {
            profile,
            urls,
            options,
            quorum,
            max_skew_seconds,
            connected,
        }
    }

    /// How many answers must agree.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// How far a node's head time may be from the local clock, seconds.
    pub fn max_skew_seconds(&self) -> u64 {
        self.max_skew_seconds
    }

    /// How many nodes are configured.
    pub fn len(&self) -> usize {
        self.urls.len()
    }

    /// Whether no node is configured (the config refuses that).
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// Every node, connected now where it was not (detecting its API style and checking its
    /// chain id, concurrently), in config order; a node that cannot be used is its error.
    pub async fn all(&self) -> Vec<Result<Arc<NodeClient>, String>> {
        let current: Vec<Option<Arc<NodeClient>>> = self.connected.lock().await.clone();
        let attempts = current.into_iter().zip(&self.urls).map(|(slot, url)| {
            let profile = self.profile.clone();
            let options = self.options.clone();
            async move {
                match slot {
                    Some(client) => Ok(client),
                    None => NodeClient::connect(url, profile, options)
                        .await
                        .map(Arc::new)
                        .map_err(|e| e.to_string()),
                }
            }
        });
        let results = join_all(attempts).await;
        let mut connected = self.connected.lock().await;
        for (slot, result) in connected.iter_mut().zip(&results) {
            match result {
                Ok(client) => *slot = Some(Arc::clone(client)),
                Err(error) => {
                    tracing::warn!(%error, "node unusable");
                    *slot = None;
                }
            }
        }
        results
    }

    /// Asks every usable node the same question concurrently; one answer per node, in config
    /// order, each within [`NODE_ANSWER_TIMEOUT`]. A node whose answer is a transport or node
    /// fault is forgotten (reconnected on the next request).
    pub async fn ask<T, F, Fut>(&self, question: F) -> Vec<Result<T, String>>
    where
        F: Fn(Arc<NodeClient>) -> Fut,
        Fut: Future<Output = Result<T, RpcError>>,
    {
        self.ask_within(NODE_ANSWER_TIMEOUT, question).await
    }

    /// As [`Nodes::ask`], each node within `limit`.
    pub async fn ask_within<T, F, Fut>(
        &self,
        limit: Duration,
        question: F,
    ) -> Vec<Result<T, String>>
    where
        F: Fn(Arc<NodeClient>) -> Fut,
        Fut: Future<Output = Result<T, RpcError>>,
    {
        let clients = self.all().await;
        let asks = clients.into_iter().map(|client| {
            let asked = client.map(&question);
            async move {
                match asked {
                    Ok(future) => match tokio::time::timeout(limit, future).await {
                        Ok(answer) => answer.map_err(|e| (e.is_node_fault(), e.to_string())),
                        Err(_) => Err((true, format!("no answer within {limit:?}"))),
                    },
                    Err(error) => Err((false, error)),
                }
            }
        });
        let answers = join_all(asks).await;
        let mut out = Vec::with_capacity(answers.len());
        for (index, answer) in answers.into_iter().enumerate() {
            out.push(match answer {
                Ok(value) => Ok(value),
                Err((fault, error)) => {
                    if fault {
                        self.forget(index).await;
                    }
                    Err(error)
                }
            });
        }
        out
    }

    async fn forget(&self, index: usize) {
        if let Some(slot) = self.connected.lock().await.get_mut(index) {
            *slot = None;
        }
    }
}
