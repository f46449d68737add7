//! What the client reads from a node (SPEC §7.4): only the fields this product uses.
//!
//! Unknown fields are ignored, integers may be numbers or strings ([`Flex`]), and every public
//! key must carry the profile's prefix. Each `from_result` returns the reason as text; the client
//! wraps it in [`RpcError::InvalidResult`](super::RpcError::InvalidResult) with the node and method.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::flex::Flex;
use crate::asset::Asset;
use crate::keys::PublicKey;
use crate::operation::ChainProperties;
use crate::profile::{ChainId, ChainProfile, ProfileName, PropsLayout};
use crate::time::TimePointSec;
use crate::transaction::BlockId;

/// The constants of `get_config` this product needs. Keys are matched by suffix, so 0.19's
/// `STEEMIT_*`, 0.20's `STEEM_*` and Hive's `HIVE_*` all work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// `*_CHAIN_ID`.
    pub chain_id: ChainId,
    /// `*_ADDRESS_PREFIX`.
    pub address_prefix: String,
    /// `*_BLOCK_INTERVAL`, in seconds, when present.
    pub block_interval: Option<u32>,
    /// `*_MAX_TIME_UNTIL_EXPIRATION`, in seconds, when present.
    pub max_time_until_expiration: Option<u32>,
    /// `*_BLOCKCHAIN_VERSION` (VIT reports `0.0.0`), when present.
    pub blockchain_version: Option<String>,
    /// Whether the keys use the 0.19 `STEEMIT_` names (a pre-appbase node).
    pub legacy_names: bool,
}

/// The `get_config` key families (the part before `_CHAIN_ID`, …) a profile's nodes use, most
/// likely first: VIT keeps 0.19's `STEEMIT_` (SPEC §7.4), Steem 0.20+ writes `STEEM_` (0.19
/// Steem nodes `STEEMIT_`), Hive `HIVE_`.
fn families(name: ProfileName) -> &'static [&'static str] {
    match name {
        ProfileName::Vit => &["STEEMIT", "VIT"],
        ProfileName::Steem => &["STEEM", "STEEMIT"],
        ProfileName::Hive => &["HIVE"],
    }
}

impl NodeConfig {
    /// Reads a `get_config` result. A missing chain id or prefix is an error; `OLD_*` keys (a
    /// chain's pre-fork id) are not the node's current values and are skipped. When keys of two
    /// families disagree, the node's own family (the one of its `*_BLOCKCHAIN_VERSION`) wins;
    /// without one, they are an error.
    pub fn from_result(value: Value) -> Result<Self, String> {
        Self::read(value, &[])
    }

    /// [`NodeConfig::from_result`] for a node of `profile`'s chain: when keys disagree and the
    /// node's own family is unknown, the profile's family wins. hived 1.25 writes every
    /// `#define` of its config.hpp, so its `get_config` holds `HIVE_CHAIN_ID` (beeab0de…) beside
    /// a leftover `STEEM_CHAIN_ID` of zeros (openhive-network/hive v1.25.0,
    /// libraries/protocol/include/hive/protocol/config.hpp and
    /// libraries/protocol/get_config.d/generate_get_config.cmake).
    ///
    /// The node's own family comes first even then: a Hive node's `STEEM_CHAIN_ID` equals
    /// Steem's chain id, and must not let it pass for a Steem node.
    pub fn from_result_for(value: Value, profile: &ChainProfile) -> Result<Self, String> {
        Self::read(value, families(profile.name))
    }

    fn read(value: Value, profile_families: &[&str]) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("get_config result is not an object".into());
        };
        let mut order: Vec<String> = own_family(&map).into_iter().collect();
        order.extend(profile_families.iter().map(|f| (*f).to_owned()));
        let pick = |suffix: &str| by_suffix(&map, suffix, &order);
        let chain_id = pick("_CHAIN_ID")?
            .ok_or("no *_CHAIN_ID key")
            .and_then(|v| value_text(v).ok_or("*_CHAIN_ID is not a string"))?;
        let chain_id = ChainId::from_hex(&chain_id).map_err(|e| e.to_string())?;
        let address_prefix = pick("_ADDRESS_PREFIX")?
            .and_then(value_text)
            .ok_or("no *_ADDRESS_PREFIX string")?;
        let number = |suffix: &str| -> Result<Option<u32>, String> {
            pick(suffix)?
                .map(|v| serde_json::from_value::<Flex<u32>>(v.clone()).map(|f| f.0))
                .transpose()
                .map_err(|e| format!("*{suffix}: {e}"))
        };
        Ok(NodeConfig {
            chain_id,
            address_prefix,
            block_interval: number("_BLOCK_INTERVAL")?,
            max_time_until_expiration: number("_MAX_TIME_UNTIL_EXPIRATION")?,
            blockchain_version: pick("_BLOCKCHAIN_VERSION")?.and_then(value_text),
            legacy_names: map.keys().any(|k| k.starts_with("STEEMIT_")),
        })
    }
}

/// The family of the node's own `*_BLOCKCHAIN_VERSION` key, when there is exactly one.
fn own_family(map: &Map<String, Value>) -> Option<String> {
    let mut found = map
        .keys()
        .filter(|k| !k.starts_with("OLD_"))
        .filter_map(|k| k.strip_suffix("_BLOCKCHAIN_VERSION"));
    match (found.next(), found.next()) {
        (Some(family), None) => Some(family.to_owned()),
        _ => None,
    }
}

/// The value of the keys ending in `suffix` (excluding `OLD_*`): their one value when they
/// agree, else the value of the first family in `order` that has the key; an error when they
/// disagree and none of `order` has it.
fn by_suffix<'a>(
    map: &'a Map<String, Value>,
    suffix: &str,
    order: &[String],
) -> Result<Option<&'a Value>, String> {
    let found: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(key, _)| key.ends_with(suffix) && !key.starts_with("OLD_"))
        .collect();
    let Some(&(first, value)) = found.first() else {
        return Ok(None);
    };
    let Some(&(other, _)) = found.iter().find(|(_, v)| *v != value) else {
        return Ok(Some(value));
    };
    order
        .iter()
        .find_map(|family| map.get(&format!("{family}{suffix}")))
        .map(Some)
        .ok_or_else(|| format!("{first} and {other} disagree"))
}

fn value_text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// The chain state a failover tool polls (`get_dynamic_global_properties`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicGlobalProperties {
    /// The head block's number.
    pub head_block_number: u32,
    /// The head block's id.
    pub head_block_id: BlockId,
    /// The head block's time; expirations are computed from this, not the local clock (SPEC §5).
    pub time: TimePointSec,
    /// The witness that produced the head block.
    pub current_witness: String,
    /// The last irreversible block's number.
    pub last_irreversible_block_num: u32,
}

#[derive(Deserialize)]
struct RawDgp {
    head_block_number: Flex<u32>,
    head_block_id: String,
    time: String,
    current_witness: String,
    last_irreversible_block_num: Flex<u32>,
}

impl DynamicGlobalProperties {
    /// Reads a `get_dynamic_global_properties` result.
    pub fn from_result(value: Value) -> Result<Self, String> {
        let raw: RawDgp = decode(value)?;
        Ok(DynamicGlobalProperties {
            head_block_number: raw.head_block_number.0,
            head_block_id: BlockId::from_hex(&raw.head_block_id).map_err(at("head_block_id"))?,
            time: TimePointSec::parse(&raw.time).map_err(at("time"))?,
            current_witness: raw.current_witness,
            last_irreversible_block_num: raw.last_irreversible_block_num.0,
        })
    }
}

/// A witness as `get_witness_by_account` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The witness account.
    pub owner: String,
    /// Its url; a `witness_update` must send it back unchanged (SPEC §8).
    pub url: String,
    /// Its block-signing key; the null key when disabled.
    pub signing_key: PublicKey,
    /// Lifetime count of missed slots (SPEC §9).
    pub total_missed: u32,
    /// The last block it produced.
    pub last_confirmed_block_num: u32,
    /// Its props, read in the profile's layout, or why they could not be read (missing, another
    /// layout, a bad asset): a `witness_update` must send them back, so a caller that cannot
    /// read them needs a fallback and should say so.
    pub props: Result<ChainProperties, String>,
    /// The node version it last reported, e.g. `0.19.2` (empty when absent).
    pub running_version: String,
}

#[derive(Deserialize)]
struct RawWitness {
    owner: String,
    url: String,
    signing_key: String,
    total_missed: Flex<u32>,
    last_confirmed_block_num: Flex<u32>,
    #[serde(default)]
    props: Option<Map<String, Value>>,
    #[serde(default)]
    running_version: String,
}

impl Witness {
    /// Reads a non-null `get_witness_by_account` result.
    pub fn from_result(value: Value, profile: &ChainProfile) -> Result<Self, String> {
        let raw: RawWitness = decode(value)?;
        Ok(Witness {
            signing_key: PublicKey::parse(&raw.signing_key, &profile.address_prefix)
                .map_err(at("signing_key"))?,
            props: raw
                .props
                .as_ref()
                .ok_or_else(|| "props is missing".to_owned())
                .and_then(|map| props(map, profile)),
            owner: raw.owner,
            url: raw.url,
            total_missed: raw.total_missed.0,
            last_confirmed_block_num: raw.last_confirmed_block_num.0,
            running_version: raw.running_version,
        })
    }
}

/// The props fields of the profile's layout; other keys (e.g. `account_subsidy_*`) are ignored.
fn props(map: &Map<String, Value>, profile: &ChainProfile) -> Result<ChainProperties, String> {
    let field = |name: &str| map.get(name).ok_or(format!("props.{name} is missing"));
    let fee = field("account_creation_fee")?
        .as_str()
        .ok_or("props.account_creation_fee is not a string")?;
    let number = |name: &str| -> Result<u64, String> {
        serde_json::from_value::<Flex<u64>>(field(name)?.clone())
            .map(|f| f.0)
            .map_err(|e| format!("props.{name}: {e}"))
    };
    let interest_rate = match &profile.props_layout {
        PropsLayout::TwoFields => None,
        PropsLayout::WithInterestRate { field } => Some(
            u16::try_from(number(field)?).map_err(|_| format!("props.{field} is out of range"))?,
        ),
    };
    Ok(ChainProperties {
        account_creation_fee: Asset::parse(fee, &profile.core_symbol)
            .map_err(at("props.account_creation_fee"))?,
        maximum_block_size: u32::try_from(number("maximum_block_size")?)
            .map_err(|_| "props.maximum_block_size is out of range")?,
        interest_rate,
    })
}

/// Decodes `value` into `T`, keeping serde's path-free message.
pub(crate) fn decode<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Prefixes an error with the field it came from.
pub(crate) fn at<E: std::fmt::Display>(field: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{field}: {e}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hive_id() -> String {
        ChainProfile::hive().chain_id.to_string()
    }

    #[test]
    fn disagreeing_families_resolve_to_the_node_own_family() {
        // hived 1.25: HIVE_ is the node's family (its *_BLOCKCHAIN_VERSION), whatever the profile.
        let config = json!({
            "HIVE_CHAIN_ID": hive_id(), "STEEM_CHAIN_ID": "0".repeat(64),
            "HIVE_ADDRESS_PREFIX": "STM", "HIVE_BLOCKCHAIN_VERSION": "1.25.0",
        });
        for profile in [ChainProfile::hive(), ChainProfile::steem()] {
            let read = NodeConfig::from_result_for(config.clone(), &profile);
            assert_eq!(read.map(|c| c.chain_id), Ok(ChainProfile::hive().chain_id));
        }
        assert_eq!(
            NodeConfig::from_result(config).map(|c| c.chain_id),
            Ok(ChainProfile::hive().chain_id)
        );
    }

    #[test]
    fn without_a_version_key_the_profile_family_decides_or_the_keys_are_refused() {
        let config = json!({
            "HIVE_CHAIN_ID": hive_id(), "STEEM_CHAIN_ID": "0".repeat(64),
            "HIVE_ADDRESS_PREFIX": "STM",
        });
        let hive = NodeConfig::from_result_for(config.clone(), &ChainProfile::hive());
        assert_eq!(hive.map(|c| c.chain_id), Ok(ChainProfile::hive().chain_id));
        let steem = NodeConfig::from_result_for(config.clone(), &ChainProfile::steem());
        assert_eq!(
            steem.map(|c| c.chain_id),
            Ok(ChainProfile::steem().chain_id)
        );
        let error = NodeConfig::from_result(config).map(|c| c.chain_id);
        assert!(
            matches!(&error, Err(e) if e.contains("disagree")),
            "{error:?}"
        );
    }

    #[test]
    fn agreeing_keys_and_old_ids_need_no_preference() {
        let config = json!({
            "HIVE_CHAIN_ID": hive_id(), "OLD_CHAIN_ID": "0".repeat(64),
            "HIVE_ADDRESS_PREFIX": "STM", "STEEM_ADDRESS_PREFIX": "STM",
        });
        let read = NodeConfig::from_result_for(config, &ChainProfile::vit());
        assert_eq!(read.map(|c| c.address_prefix), Ok("STM".to_owned()));
    }
}
