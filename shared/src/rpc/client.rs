//! [`NodeClient`]: connect and the typed reads a failover tool makes against one node.

use std::sync::atomic::AtomicBool;

use serde_json::Value;
use serde_json::value::RawValue;

use super::account::Account;
use super::block::{BlockHeader, Version};
use super::detect::{detect, get_config};
use super::error::RpcError;
use super::style::{Api, ApiStyle, arg};
use super::transport::{ClientOptions, Transport};
use super::types::{DynamicGlobalProperties, NodeConfig, Witness};
use crate::profile::ChainProfile;
use crate::transaction::{BlockId, SignedTransaction};

/// The method that reads the head block.
pub(super) const DGP: &str = "get_dynamic_global_properties";
/// The method that reads a witness.
pub(super) const WITNESS: &str = "get_witness_by_account";

/// A client for one node of the profile's chain, in the API style the node speaks.
///
/// Reads are retried per [`ClientOptions`]. Broadcasts are sent exactly once per call; see
/// [`NodeClient::rebroadcast_transaction`] for the one safe way to send again.
/// Broadcasts and inclusion polling live in the `broadcast` module.
#[derive(Debug)]
pub struct NodeClient {
    pub(super) transport: Transport,
    pub(super) profile: ChainProfile,
    pub(super) style: ApiStyle,
    pub(super) config: NodeConfig,
    /// Whether [`NodeClient::head_and_witness`] still sends a JSON-RPC batch: set at connect for
    /// appbase nodes, cleared for good once the node refuses a batch.
    pub(super) batching: AtomicBool,
}

impl NodeClient {
    /// Connects: detects the API style (SPEC §7.5) and refuses a node whose chain id or key
    /// prefix differs from `profile`'s.
    pub async fn connect(
        url: &str,
        profile: ChainProfile,
        options: ClientOptions,
    ) -> Result<NodeClient, RpcError> {
        let transport = Transport::new(url, options)?;
        let (style, config) = detect(&transport, &profile).await?;
        Ok(NodeClient {
            transport,
            profile,
            batching: AtomicBool::new(style == ApiStyle::Condenser),
            style,
            config,
        })
    }

    /// The node URL, without credentials.
    pub fn url(&self) -> &str {
        self.transport.url()
    }

    /// The API style found at connect.
    pub fn style(&self) -> ApiStyle {
        self.style
    }

    /// The chain profile every answer is read with.
    pub fn profile(&self) -> &ChainProfile {
        &self.profile
    }

    /// The node's config as read at connect.
    pub fn node_config(&self) -> &NodeConfig {
        &self.config
    }

    /// Reads `get_config` again (the chain id is not re-checked; it cannot change).
    pub async fn get_config(&self) -> Result<NodeConfig, RpcError> {
        get_config(&self.transport, self.style, &self.profile).await
    }

    /// The head block, its time and the last irreversible block.
    pub async fn get_dynamic_global_properties(&self) -> Result<DynamicGlobalProperties, RpcError> {
        let value = self.read(Api::Database, DGP, Vec::new()).await?;
        self.dgp_from(value)
    }

    /// A witness, with props read in the profile's layout; [`RpcError::NoSuchWitness`] when the
    /// node returns `null`.
    pub async fn get_witness_by_account(&self, name: &str) -> Result<Witness, RpcError> {
        let value = self
            .read(Api::Database, WITNESS, vec![self.arg(WITNESS, name)?])
            .await?;
        self.witness_from(value, name)
    }

    /// Reads a `get_dynamic_global_properties` result.
    pub(super) fn dgp_from(&self, value: Value) -> Result<DynamicGlobalProperties, RpcError> {
        self.parse(
            Api::Database,
            DGP,
            DynamicGlobalProperties::from_result(value),
        )
    }

    /// Reads a `get_witness_by_account` result for witness `name`.
    pub(super) fn witness_from(&self, value: Value, name: &str) -> Result<Witness, RpcError> {
        if value.is_null() {
            return Err(RpcError::NoSuchWitness {
                at: self.transport.site(self.style, Api::Database, WITNESS),
                name: name.to_owned(),
            });
        }
        self.parse(
            Api::Database,
            WITNESS,
            Witness::from_result(value, &self.profile),
        )
    }

    /// The named accounts that exist, in the node's order (unknown names are left out).
    pub async fn get_accounts(&self, names: &[&str]) -> Result<Vec<Account>, RpcError> {
        let method = "get_accounts";
        let value = self
            .read(Api::Database, method, vec![self.arg(method, names)?])
            .await?;
        let Value::Array(items) = value else {
            return self.parse(Api::Database, method, Err("not an array".into()));
        };
        let accounts = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                Account::from_result(item, &self.profile).map_err(|e| format!("[{i}]: {e}"))
            })
            .collect();
        self.parse(Api::Database, method, accounts)
    }

    /// A block's header fields; [`RpcError::NoSuchBlock`] when the node returns `null`.
    pub async fn get_block(&self, num: u32) -> Result<BlockHeader, RpcError> {
        let method = "get_block";
        let value = self
            .read(Api::Database, method, vec![self.arg(method, &num)?])
            .await?;
        if value.is_null() {
            return Err(RpcError::NoSuchBlock {
                at: self.transport.site(self.style, Api::Database, method),
                num,
            });
        }
        self.parse(Api::Database, method, BlockHeader::from_result(value))
    }

    /// The id of block `num`: its `block_id` when the node returns one, else the `previous` of
    /// block `num + 1` (which must exist).
    pub async fn block_id(&self, num: u32) -> Result<BlockId, RpcError> {
        if let Some(id) = self.get_block(num).await?.block_id {
            return Ok(id);
        }
        let next = num.checked_add(1).ok_or_else(|| RpcError::NoSuchBlock {
            at: self.transport.site(self.style, Api::Database, "get_block"),
            num,
        })?;
        Ok(self.get_block(next).await?.previous)
    }

    /// The last irreversible block's id: the fork-safe TaPoS reference (SPEC §5).
    pub async fn last_irreversible_block_id(&self) -> Result<BlockId, RpcError> {
        let lib = self
            .get_dynamic_global_properties()
            .await?
            .last_irreversible_block_num;
        self.block_id(lib).await
    }

    /// The node's software version.
    pub async fn get_version(&self) -> Result<Version, RpcError> {
        let value = self.read(Api::Login, "get_version", Vec::new()).await?;
        self.parse(Api::Login, "get_version", Version::from_result(value))
    }

    /// The bytes the node derives from the transaction's JSON, signatures included: compare
    /// them with [`SignedTransaction::to_bytes`] before the first broadcast (SPEC §7.6).
    pub async fn get_transaction_hex(&self, tx: &SignedTransaction) -> Result<Vec<u8>, RpcError> {
        let method = "get_transaction_hex";
        let value = self
            .read(
                Api::Database,
                method,
                vec![self.tx_arg(Api::Database, method, tx)?],
            )
            .await?;
        let bytes = match value.as_str() {
            Some(text) => hex::decode(text).map_err(|e| format!("not hex: {e}")),
            None => Err("not a string".to_owned()),
        };
        self.parse(Api::Database, method, bytes)
    }

    pub(super) async fn read(
        &self,
        api: Api,
        method: &str,
        args: Vec<Box<RawValue>>,
    ) -> Result<Value, RpcError> {
        self.transport.read(self.style, api, method, &args).await
    }

    pub(super) fn arg<T: serde::Serialize + ?Sized>(
        &self,
        method: &str,
        value: &T,
    ) -> Result<Box<RawValue>, RpcError> {
        arg(value).map_err(|e| RpcError::Request {
            at: self.transport.site(self.style, Api::Database, method),
            reason: e.to_string(),
        })
    }

    pub(super) fn parse<T>(
        &self,
        api: Api,
        method: &str,
        parsed: Result<T, String>,
    ) -> Result<T, RpcError> {
        parsed.map_err(|reason| RpcError::InvalidResult {
            at: self.transport.site(self.style, api, method),
            reason,
        })
    }
}
