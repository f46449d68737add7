//! The configured nodes: connected lazily, tried in order, forgotten after a transport failure
//! so the next request reconnects or moves on to the next node.

use std::sync::Arc;

use tokio::sync::Mutex;
use vwf_shared::ChainProfile;
use vwf_shared::rpc::{ClientOptions, NodeClient, RpcError};

use crate::error::Error;

/// The signer's nodes.
#[derive(Debug)]
pub struct Nodes {
    profile: ChainProfile,
    urls: Vec<String>,
    options: ClientOptions,
    connected: Mutex<Vec<Option<Arc<NodeClient>>>>,
}

impl Nodes {
    /// Nodes for `profile`; nothing is contacted until [`Nodes::first`].
    pub fn new(profile: ChainProfile, urls: Vec<String>, options: ClientOptions) -> Self {
        let connected = Mutex::new(vec![None; urls.len()]);
        Nodes {
            profile,
            urls,
            options,
            connected,
        }
    }

    /// The first node that is connected or connects now (detecting its API style and checking
    /// its chain id). A node on another chain is never used.
    pub async fn first(&self) -> Result<Arc<NodeClient>, Error> {
        let mut connected = self.connected.lock().await;
        let mut last_error: Option<RpcError> = None;
        for (slot, url) in connected.iter_mut().zip(&self.urls) {
            if let Some(client) = slot {
                return Ok(Arc::clone(client));
            }
            match NodeClient::connect(url, self.profile.clone(), self.options.clone()).await {
                Ok(client) => {
                    let client = Arc::new(client);
                    *slot = Some(Arc::clone(&client));
                    return Ok(client);
                }
                Err(error) => {
                    tracing::warn!(node = %url, %error, "node unusable");
                    last_error = Some(error);
                }
            }
        }
        Err(match last_error {
            Some(error) => Error::Rpc(error),
            None => Error::Internal("no nodes configured".into()),
        })
    }

    /// Drops a node's connection after it failed, so the next call tries again from the top.
    pub async fn forget(&self, client: &NodeClient) {
        let mut connected = self.connected.lock().await;
        for slot in connected.iter_mut() {
            if slot.as_ref().is_some_and(|c| c.url() == client.url()) {
                *slot = None;
            }
        }
    }
}
