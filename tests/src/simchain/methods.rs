//! The read-only `database_api` / `login_api` methods, answering in 0.19 / condenser JSON
//! (SPEC §7.2, §7.4).

use serde_json::{Map, Value, json};
use vwf_shared::{ChainProfile, Digest, ProfileName, PropsLayout, PublicKey, TimePointSec};

use crate::simchain::chain::{Block, ChainState, Witness};
use crate::simchain::fc_error::FcError;
use crate::simchain::normalize::rebuild;
use crate::simchain::sim::NodeFaults;

/// The `get_config` key prefix of a profile (`STEEMIT_` on 0.19 chains).
fn config_prefix(profile: &ChainProfile) -> &'static str {
    match profile.name {
        ProfileName::Vit => "STEEMIT_",
        ProfileName::Steem => "STEEM_",
        ProfileName::Hive => "HIVE_",
    }
}

/// The version the node reports.
fn blockchain_version(profile: &ChainProfile) -> &'static str {
    match profile.name {
        ProfileName::Vit => "0.0.0",
        ProfileName::Steem => "0.23.1",
        ProfileName::Hive => "1.27.0",
    }
}

fn time(sec: u32) -> String {
    TimePointSec(sec).to_string()
}

fn key(profile: &ChainProfile, key: &PublicKey) -> String {
    key.to_string_with_prefix(&profile.address_prefix)
}

/// `get_config`; `wrong_chain_id` reports sha256("wrong chain") instead of the real id.
pub fn get_config(chain: &ChainState, faults: &NodeFaults) -> Value {
    let p = config_prefix(&chain.profile);
    let chain_id = if faults.wrong_chain_id {
        Digest::sha256(&[b"wrong chain"]).to_string()
    } else {
        chain.profile.chain_id.to_string()
    };
    let mut out = Map::new();
    let mut put = |name: &str, value: Value| out.insert(format!("{p}{name}"), value);
    put("CHAIN_ID", json!(chain_id));
    put("ADDRESS_PREFIX", json!(chain.profile.address_prefix));
    put("BLOCK_INTERVAL", json!((chain.interval_ms / 1000).max(1)));
    put("MAX_TIME_UNTIL_EXPIRATION", json!(3600));
    put(
        "BLOCKCHAIN_VERSION",
        json!(blockchain_version(&chain.profile)),
    );
    put("MAX_WITNESSES", json!(21));
    put("MIN_BLOCK_SIZE_LIMIT", json!(65_536));
    put("MAX_WITNESS_URL_LENGTH", json!(2048));
    out.insert("IS_TEST_NET".into(), json!(false));
    out.insert(
        "SIMCHAIN_BLOCK_INTERVAL_MS".into(),
        json!(chain.interval_ms),
    );
    Value::Object(out)
}

/// `get_dynamic_global_properties`; `time` is moved by `head_time_shift_seconds` (clamped to
/// the representable range).
pub fn get_dynamic_global_properties(chain: &ChainState, faults: &NodeFaults) -> Value {
    let head = chain.head();
    let shifted = i64::from(head.time_sec()).saturating_add(faults.head_time_shift_seconds);
    let head_time = u32::try_from(shifted.max(0)).unwrap_or(u32::MAX);
    let core = chain.profile.core_symbol.json_name();
    let filled = chain.recent_slots_filled();
    json!({
        "id": 0,
        "head_block_number": head.num,
        "head_block_id": head.id.to_string(),
        "time": time(head_time),
        "current_witness": head.witness,
        "total_pow": 0,
        "num_pow_witnesses": 0,
        "virtual_supply": format!("1000000.000 {core}"),
        "current_supply": format!("1000000.000 {core}"),
        "total_vesting_fund_steem": format!("500000.000 {core}"),
        "total_vesting_shares": "1000000000.000000 VESTS",
        "maximum_block_size": 131_072,
        "current_aslot": head.aslot,
        "recent_slots_filled": filled.to_string(),
        "participation_count": filled.count_ones(),
        "last_irreversible_block_num": chain.last_irreversible(),
        "vote_power_reserve_rate": 10,
    })
}

/// The props object in the profile's layout; `fee` replaces the account creation fee.
fn props(chain: &ChainState, witness: &Witness, fee: Option<&str>) -> Value {
    let mut out = Map::new();
    out.insert(
        "account_creation_fee".into(),
        json!(fee.map_or_else(
            || witness.props.account_creation_fee.to_string(),
            str::to_owned
        )),
    );
    out.insert(
        "maximum_block_size".into(),
        json!(witness.props.maximum_block_size),
    );
    if let PropsLayout::WithInterestRate { field } = &chain.profile.props_layout {
        out.insert(
            field.clone(),
            json!(witness.props.interest_rate.unwrap_or(0)),
        );
    }
    Value::Object(out)
}

/// `get_witness_by_account [name]`: the witness object, `null` when unknown. A lying node
/// (`faults.lie_*`) adds to `total_missed` and replaces `signing_key`, `url` and
/// `props.account_creation_fee`.
pub fn get_witness_by_account(chain: &ChainState, args: &[Value], faults: &NodeFaults) -> Value {
    let Some(w) = args
        .first()
        .and_then(Value::as_str)
        .and_then(|n| chain.witness(n))
    else {
        return Value::Null;
    };
    let total_missed = i64::from(w.total_missed)
        .saturating_add(faults.lie_total_missed.unwrap_or(0))
        .max(0);
    let signing_key = faults
        .lie_signing_key
        .clone()
        .unwrap_or_else(|| key(&chain.profile, &w.signing_key));
    let url = faults.lie_url.as_deref().unwrap_or(&w.url);
    json!({
        "id": w.id,
        "owner": w.name,
        "created": time(chain.blocks[0].time_sec()),
        "url": url,
        "votes": (1_000_000_000_000u64 - u64::from(w.id)).to_string(),
        "virtual_last_update": "0",
        "virtual_position": "0",
        "virtual_scheduled_time": "340282366920938463463374607431768211455",
        "total_missed": total_missed,
        "last_aslot": w.last_aslot,
        "last_confirmed_block_num": w.last_confirmed_block_num,
        "pow_worker": 0,
        "signing_key": signing_key,
        "props": props(chain, w, faults.lie_account_creation_fee.as_deref()),
        "last_work": "0000000000000000000000000000000000000000000000000000000000000000",
        "running_version": "0.19.5",
        "hardfork_version_vote": "0.19.0",
        "hardfork_time_vote": "2016-03-24T16:00:00",
    })
}

fn authority(chain: &ChainState, key_value: &PublicKey) -> Value {
    json!({"weight_threshold": 1, "account_auths": [], "key_auths": [[key(&chain.profile, key_value), 1]]})
}

/// `get_accounts [[names]]`: the accounts found, in request order.
pub fn get_accounts(chain: &ChainState, args: &[Value]) -> Value {
    let names = args
        .first()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let accounts: Vec<Value> = names
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|n| chain.witness(n))
        .map(|w| {
            let owner = w.owner_key.unwrap_or(w.active_key);
            json!({
                "id": w.id,
                "name": w.name,
                "owner": authority(chain, &owner),
                "active": authority(chain, &w.active_key),
                "posting": authority(chain, &w.active_key),
                "memo_key": key(&chain.profile, &w.active_key),
                "json_metadata": "",
                "created": time(chain.blocks[0].time_sec()),
            })
        })
        .collect();
    Value::Array(accounts)
}

fn header(block: &Block) -> Value {
    json!({
        "previous": block.previous.to_string(),
        "timestamp": time(block.time_sec()),
        "witness": block.witness,
        "transaction_merkle_root": "0000000000000000000000000000000000000000",
        "extensions": [],
    })
}

/// `get_block [num]`: the block, `null` when not produced.
pub fn get_block(chain: &ChainState, args: &[Value]) -> Value {
    let Some(block) = block_arg(chain, args) else {
        return Value::Null;
    };
    let mut out = header(block);
    let ids: Vec<&str> = block.transactions.iter().map(|t| t.id.as_str()).collect();
    let txs: Vec<&Value> = block.transactions.iter().map(|t| &t.json).collect();
    let producer_key = chain
        .witness(&block.witness)
        .map(|w| key(&chain.profile, &w.signing_key))
        .unwrap_or_default();
    if let Value::Object(map) = &mut out {
        map.insert(
            "witness_signature".into(),
            json!(format!("1f{}", "00".repeat(64))),
        );
        map.insert("transactions".into(), json!(txs));
        map.insert("block_id".into(), json!(block.id.to_string()));
        map.insert("signing_key".into(), json!(producer_key));
        map.insert("transaction_ids".into(), json!(ids));
    }
    out
}

/// `get_block_header [num]`.
pub fn get_block_header(chain: &ChainState, args: &[Value]) -> Value {
    block_arg(chain, args).map_or(Value::Null, header)
}

fn block_arg<'a>(chain: &'a ChainState, args: &[Value]) -> Option<&'a Block> {
    let num = args.first().and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })?;
    chain.block(u32::try_from(num).ok()?)
}

/// `get_transaction_hex [tx]`: the signed bytes as the node rebuilds them from the JSON.
pub fn get_transaction_hex(chain: &ChainState, args: &[Value]) -> Result<Value, FcError> {
    let tx = args
        .first()
        .ok_or_else(|| FcError::assert("missing transaction argument"))?;
    let rebuilt = rebuild(tx, &chain.profile)?;
    let bytes = rebuilt
        .signed
        .to_bytes(&chain.profile)
        .map_err(|e| FcError::assert(e.to_string()))?;
    Ok(json!(hex::encode(bytes)))
}

/// `get_chain_properties`: the median props (the defaults here).
pub fn get_chain_properties(chain: &ChainState) -> Value {
    let median = crate::simchain::config::default_props(&chain.profile);
    let mut out = Map::new();
    out.insert(
        "account_creation_fee".into(),
        json!(median.account_creation_fee.to_string()),
    );
    out.insert(
        "maximum_block_size".into(),
        json!(median.maximum_block_size),
    );
    if let PropsLayout::WithInterestRate { field } = &chain.profile.props_layout {
        out.insert(field.clone(), json!(median.interest_rate.unwrap_or(0)));
    }
    Value::Object(out)
}

/// `login_api.get_version` (condenser adds the chain id).
pub fn get_version(chain: &ChainState) -> Value {
    let mut out = json!({
        "blockchain_version": blockchain_version(&chain.profile),
        "steem_revision": "0000000000000000000000000000000000000000",
        "fc_revision": "0000000000000000000000000000000000000000",
    });
    if let (false, Value::Object(map)) = (chain.profile.name == ProfileName::Vit, &mut out) {
        map.insert("chain_id".into(), json!(chain.profile.chain_id.to_string()));
    }
    out
}

/// `get_hardfork_version`.
pub fn get_hardfork_version(chain: &ChainState) -> Value {
    json!(match chain.profile.name {
        ProfileName::Vit => "0.19.0",
        ProfileName::Steem => "0.23.0",
        ProfileName::Hive => "1.27.0",
    })
}

/// `get_active_witnesses`: the current shuffled order.
pub fn get_active_witnesses(chain: &ChainState) -> Value {
    json!(chain.schedule)
}
