//! The configured nodes: connected lazily, asked together, forgotten after a transport failure
//! so the next request reconnects. What they answer counts only where a quorum agrees
//! ([`crate::quorum`]).
//!
//! A node that is slow, unreachable or feeding an endless answer costs at most
//! [`NODE_ANSWER_TIMEOUT`] per question, connecting included, and none when the other nodes
//! settle the question first: [`Nodes::ask_until`] stops waiting as soon as the answers in hand
//! are enough.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Mutex;
use vwf_shared::ChainProfile;
use vwf_shared::rpc::{ClientOptions, NodeClient, RpcError};

/// The longest one node may take to answer one question (connecting and several calls, e.g. a
/// block scan): past it, that node's answer is an error for this round, so a slow or lying node
/// can delay a decision by this much at most but never block it while a quorum answers.
pub const NODE_ANSWER_TIMEOUT: Duration = Duration::from_secs(8);

/// The signer's nodes and the agreement they must reach.
#[derive(Debug)]
pub struct Nodes {
    profile: ChainProfile,
    urls: Vec<String>,
    options: ClientOptions,
    quorum: usize,
    max_skew_seconds: u64,
    connected: Vec<Mutex<Option<Arc<NodeClient>>>>,
}

impl Nodes {
    /// Nodes for `profile`; nothing is contacted until asked. `quorum` answers must agree; a
    /// head time more than `max_skew_seconds` from the local clock makes a node stale.
    pub fn new(
        profile: ChainProfile,
        urls: Vec<String>,
        options: ClientOptions,
        quorum: usize,
        max_skew_seconds: u64,
    ) -> Self {
        let connected = urls.iter().map(|_| Mutex::new(None)).collect();
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

    /// How many nodes are configured.
    pub fn count(&self) -> usize {
        self.urls.len()
    }

    /// How far a node's head time may be from the local clock, seconds.
    pub fn max_skew_seconds(&self) -> u64 {
        self.max_skew_seconds
    }

    /// Node `index`, connected now if it is not (detecting its API style and checking its
    /// chain id). A node on another chain is never used.
    async fn client(&self, index: usize) -> Result<Arc<NodeClient>, RpcError> {
        let (Some(slot), Some(url)) = (self.connected.get(index), self.urls.get(index)) else {
            return Err(RpcError::InvalidUrl {
                url: String::new(),
                reason: format!("no node {index}"),
            });
        };
        let mut slot = slot.lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(Arc::clone(client));
        }
        let client =
            Arc::new(NodeClient::connect(url, self.profile.clone(), self.options.clone()).await?);
        *slot = Some(Arc::clone(&client));
        Ok(client)
    }

    /// Drops node `index`'s connection so the next question reconnects it.
    async fn forget(&self, index: usize) {
        if let Some(slot) = self.connected.get(index) {
            *slot.lock().await = None;
        }
    }

    /// Asks every node the same question concurrently and waits for all answers (each within
    /// [`NODE_ANSWER_TIMEOUT`]); one answer per node, in config order. The question gets the
    /// node's index in that order and its client.
    pub async fn ask<T, F, Fut>(&self, question: F) -> Vec<Result<T, String>>
    where
        T: Clone,
        F: Fn(usize, Arc<NodeClient>) -> Fut,
        Fut: Future<Output = Result<T, RpcError>>,
    {
        self.ask_until(NODE_ANSWER_TIMEOUT, question, |_| false)
            .await
    }

    /// As [`Nodes::ask`], each node within `limit`, and stops waiting as soon as `enough` says
    /// the answers in hand (unanswered ones are errors) settle the question. A node whose
    /// answer is a transport or node fault, or none in time, is forgotten (reconnected on the
    /// next question).
    pub async fn ask_until<T, F, Fut>(
        &self,
        limit: Duration,
        question: F,
        enough: impl Fn(&[Result<T, String>]) -> bool,
    ) -> Vec<Result<T, String>>
    where
        T: Clone,
        F: Fn(usize, Arc<NodeClient>) -> Fut,
        Fut: Future<Output = Result<T, RpcError>>,
    {
        let question = &question;
        let mut pending: FuturesUnordered<_> = (0..self.urls.len())
            .map(|index| async move {
                let asked = async {
                    let client = self.client(index).await?;
                    question(index, client).await
                };
                let answer = match tokio::time::timeout(limit, asked).await {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(error)) => Err((error.is_node_fault(), error.to_string())),
                    Err(_) => Err((true, format!("no answer within {limit:?}"))),
                };
                (index, answer)
            })
            .collect();
        let mut answers: Vec<Result<T, String>> = self
            .urls
            .iter()
            .map(|_| Err("not waited for: the other nodes settled it".to_owned()))
            .collect();
        let mut faulty = Vec::new();
        while let Some((index, answer)) = pending.next().await {
            let answer = answer.map_err(|(fault, error)| {
                let node = self
                    .urls
                    .get(index)
                    .map(|u| vwf_shared::names::redact_node_url(u))
                    .unwrap_or_default();
                tracing::warn!(%node, %error, "node answer not used");
                if fault {
                    faulty.push(index);
                }
                error
            });
            if let Some(slot) = answers.get_mut(index) {
                *slot = answer;
            }
            if enough(&answers) {
                break;
            }
        }
        drop(pending);
        for index in faulty {
            self.forget(index).await;
        }
        answers
    }
}
