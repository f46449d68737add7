//! Polls every node concurrently, each under its own timeout, and each server's own node for
//! the backup health check.
//!
//! A node's [`NodeClient`] is made on first use and dropped after any failure, so the next poll
//! reconnects (and `NodeClient::connect` re-checks the chain id). One slow node therefore costs at
//! most one timeout per poll and never delays the others.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use vwf_shared::ChainProfile;
use vwf_shared::rpc::{ClientOptions, NodeClient};

use crate::quorum::Reading;
use crate::state::Health;

/// One node and its cached client.
#[derive(Debug)]
struct Slot {
    url: String,
    client: Option<Arc<NodeClient>>,
}

/// The polling side of the daemon.
#[derive(Debug)]
pub struct Poller {
    nodes: Vec<Slot>,
    servers: Vec<Option<Slot>>,
    profile: ChainProfile,
    account: String,
    timeout: Duration,
}

/// What a poll task returns: the node index, the client to keep, and the outcome.
type Polled<T> = (usize, Option<Arc<NodeClient>>, Result<T, String>);

impl Poller {
    /// A poller for `nodes` (quorum) and `server_nodes` (health, index = server index).
    pub fn new(
        nodes: &[String],
        server_nodes: &[Option<String>],
        profile: ChainProfile,
        account: &str,
        timeout: Duration,
    ) -> Self {
        let slot = |url: &String| Slot {
            url: url.clone(),
            client: None,
        };
        Poller {
            nodes: nodes.iter().map(slot).collect(),
            servers: server_nodes.iter().map(|n| n.as_ref().map(slot)).collect(),
            profile,
            account: account.to_owned(),
            timeout,
        }
    }

    /// The quorum nodes' URLs, in config order.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|s| s.url.clone()).collect()
    }

    /// One round: a reading per quorum node (index = node index) and a health per configured
    /// server (index = server index), both polled concurrently.
    pub async fn poll(&mut self) -> (Vec<Result<Reading, String>>, Vec<Health>) {
        let account = self.account.clone();
        let readings = poll_slots(&mut self.nodes, &self.profile, self.timeout, move |c| {
            let account = account.clone();
            async move {
                // One HTTP request (a JSON-RPC batch) on appbase nodes that take batches.
                let read = c
                    .head_and_witness(&account)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Reading {
                    signing_key: read.witness.signing_key,
                    total_missed: read.witness.total_missed,
                    head_block: read.properties.head_block_number,
                    head_time: read.properties.time.0,
                })
            }
        });
        let health = health(&mut self.servers, &self.profile, self.timeout);
        tokio::join!(readings, health)
    }
}

/// Per configured server: what its own node answered (its head block number).
async fn health(
    servers: &mut [Option<Slot>],
    profile: &ChainProfile,
    timeout: Duration,
) -> Vec<Health> {
    let mut present: Vec<Slot> = Vec::new();
    let mut index = Vec::new();
    for (i, s) in servers.iter_mut().enumerate() {
        if let Some(slot) = s.take() {
            present.push(slot);
            index.push(i);
        }
    }
    let heads = poll_slots(&mut present, profile, timeout, |c| async move {
        c.get_dynamic_global_properties()
            .await
            .map(|d| d.head_block_number)
            .map_err(|e| e.to_string())
    })
    .await;
    let mut out = vec![Health::Unchecked; servers.len()];
    for ((slot, i), head) in present.into_iter().zip(index).zip(heads) {
        out[i] = match head {
            Err(e) => Health::Unreachable(e),
            Ok(head_block) => Health::Answered { head_block },
        };
        servers[i] = Some(slot);
    }
    out
}

/// Runs `read` against every slot concurrently (connect + read under one timeout each); keeps
/// the clients that worked.
async fn poll_slots<T, F, Fut>(
    slots: &mut [Slot],
    profile: &ChainProfile,
    timeout: Duration,
    read: F,
) -> Vec<Result<T, String>>
where
    T: Send + 'static,
    F: Fn(Arc<NodeClient>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let mut set: JoinSet<Polled<T>> = JoinSet::new();
    for (i, slot) in slots.iter_mut().enumerate() {
        let url = slot.url.clone();
        let profile = profile.clone();
        let cached = slot.client.take();
        let options = ClientOptions {
            timeout,
            read_retries: 0,
            ..ClientOptions::default()
        };
        let read = read.clone();
        set.spawn(async move {
            let work = async move {
                let client = match cached {
                    Some(c) => c,
                    None => NodeClient::connect(&url, profile, options)
                        .await
                        .map(Arc::new)
                        .map_err(|e| e.to_string())?,
                };
                let value = read(client.clone()).await?;
                Ok::<_, String>((client, value))
            };
            match tokio::time::timeout(timeout, work).await {
                Ok(Ok((client, value))) => (i, Some(client), Ok(value)),
                Ok(Err(e)) => (i, None, Err(e)),
                Err(_) => (
                    i,
                    None,
                    Err(format!("timed out after {} ms", timeout.as_millis())),
                ),
            }
        });
    }
    let mut out: Vec<Result<T, String>> = (0..slots.len())
        .map(|_| Err("not polled".to_owned()))
        .collect();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, client, result)) = joined {
            slots[i].client = client;
            out[i] = result;
        }
    }
    out
}
