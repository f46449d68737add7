//! Blocks, broadcast results and versions: what TaPoS and inclusion checks read (SPEC §5, §7.2).

use serde::Deserialize;
use serde_json::Value;

use super::flex::Flex;
use super::types::{at, decode};
use crate::profile::ChainId;
use crate::time::TimePointSec;
use crate::transaction::BlockId;

/// The parts of a block this product reads (`get_block`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// This block's id when the node returns it (0.19 `signed_block_api_obj` does); otherwise
    /// it is the `previous` of the next block.
    pub block_id: Option<BlockId>,
    /// The previous block's id.
    pub previous: BlockId,
    /// The block time.
    pub timestamp: TimePointSec,
    /// The producing witness.
    pub witness: String,
    /// Ids of the transactions in the block, as lower-case hex (empty when the node omits them).
    pub transaction_ids: Vec<String>,
}

#[derive(Deserialize)]
struct RawBlock {
    previous: String,
    timestamp: String,
    witness: String,
    #[serde(default)]
    block_id: Option<String>,
    #[serde(default)]
    transaction_ids: Vec<String>,
}

impl BlockHeader {
    /// Reads a non-null `get_block` result.
    pub fn from_result(value: Value) -> Result<Self, String> {
        let raw: RawBlock = decode(value)?;
        Ok(BlockHeader {
            block_id: raw
                .block_id
                .map(|id| BlockId::from_hex(&id))
                .transpose()
                .map_err(at("block_id"))?,
            previous: BlockId::from_hex(&raw.previous).map_err(at("previous"))?,
            timestamp: TimePointSec::parse(&raw.timestamp).map_err(at("timestamp"))?,
            witness: raw.witness,
            transaction_ids: raw
                .transaction_ids
                .into_iter()
                .map(|id| id.to_ascii_lowercase())
                .collect(),
        })
    }
}

/// What `broadcast_transaction_synchronous` returns once the transaction is in a block, or
/// has expired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastResult {
    /// The transaction id (hex).
    pub id: String,
    /// The block that holds it.
    pub block_num: u32,
    /// Its index in that block.
    pub trx_num: u32,
    /// Whether it expired before inclusion.
    pub expired: bool,
}

#[derive(Deserialize)]
struct RawBroadcast {
    id: String,
    block_num: Flex<u32>,
    trx_num: Flex<u32>,
    #[serde(default)]
    expired: bool,
}

impl BroadcastResult {
    /// Reads a `broadcast_transaction_synchronous` result.
    pub fn from_result(value: Value) -> Result<Self, String> {
        let raw: RawBroadcast = decode(value)?;
        Ok(BroadcastResult {
            id: raw.id,
            block_num: raw.block_num.0,
            trx_num: raw.trx_num.0,
            expired: raw.expired,
        })
    }
}

/// Where a broadcast transaction ended up, found by scanning blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inclusion {
    /// In this block (at head, not yet necessarily irreversible).
    Included {
        /// The block that holds it.
        block_num: u32,
        /// Its index in that block.
        trx_num: u32,
    },
    /// Not in any block up to a head whose time is at or past the expiration: it can no longer
    /// be included, and a new transaction must be built.
    Expired {
        /// The head block number when this was decided.
        head_block_number: u32,
    },
}

/// The node's software version (`login_api.get_version` / `condenser_api.get_version`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// e.g. `0.19.2`.
    pub blockchain_version: String,
    /// The chain code revision (`steem_revision` or `hive_revision`), when present.
    pub chain_revision: Option<String>,
    /// The fc revision, when present.
    pub fc_revision: Option<String>,
    /// The chain id, which appbase nodes add.
    pub chain_id: Option<ChainId>,
}

#[derive(Deserialize)]
struct RawVersion {
    blockchain_version: String,
    #[serde(default)]
    steem_revision: Option<String>,
    #[serde(default)]
    hive_revision: Option<String>,
    #[serde(default)]
    fc_revision: Option<String>,
    #[serde(default)]
    chain_id: Option<String>,
}

impl Version {
    /// Reads a `get_version` result.
    pub fn from_result(value: Value) -> Result<Self, String> {
        let raw: RawVersion = decode(value)?;
        Ok(Version {
            blockchain_version: raw.blockchain_version,
            chain_revision: raw.steem_revision.or(raw.hive_revision),
            fc_revision: raw.fc_revision,
            chain_id: raw
                .chain_id
                .map(|id| ChainId::from_hex(&id))
                .transpose()
                .map_err(at("chain_id"))?,
        })
    }
}
