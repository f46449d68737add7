//! The read-only methods: the objects each node generation returns, in each of its forms
//! (SPEC §7.2–§7.4).
//!
//! [`Form::Legacy`] is steemd 0.19's `database_api` (VIT) and `condenser_api` (Steem, Hive):
//! assets as strings. [`Form::Appbase`] is `database_api` / `block_api` of steemd 0.20+ and
//! hived: assets as `{amount, precision, nai}` objects, operations as `{type, value}`.
//!
//! Member lists follow the reflections: steemit/steem v0.19.5
//! `libraries/app/include/steemit/app/steem_api_objects.hpp` (`witness_api_obj`,
//! `account_api_obj`), `libraries/app/database_api.cpp`, `libraries/app/api.cpp`
//! (`login_api::get_version`), `libraries/protocol/get_config.cpp`; steemit/steem master
//! 0e27a9c8e (0.23.1) `libraries/plugins/apis/database_api/include/steem/plugins/database_api/database_api_objects.hpp`,
//! `…/database_api_args.hpp`, `…/condenser_api/include/steem/plugins/condenser_api/condenser_api.hpp`
//! (`get_version_return` without `chain_id`), `libraries/chain/include/steem/chain/global_property_object.hpp`,
//! `libraries/protocol/get_config.cpp`; openhive-network/hive 1.28.3 the same files under `hive/`
//! (`get_version` adds `node_type` and `chain_id`, `condenser_api::get_config` swaps the
//! `*_SYMBOL` objects for strings), and the answers hived records in its own API pattern tests
//! (`tests/python/api_tests/pattern_tests/tavern/{database,condenser,block}_api_patterns`).

use serde_json::{Map, Value, json};
use vwf_shared::{ChainProfile, Digest, PropsLayout, PublicKey, TimePointSec};

use crate::simchain::chain::{Block, ChainState, Witness};
use crate::simchain::fc_error::{FcError, Gen, large_int};
use crate::simchain::forms::{
    NAI_CORE, NAI_DOLLAR, NAI_VESTS, asset_to_nai, dollar_symbol, object, tx_to_appbase,
};
use crate::simchain::normalize::rebuild;
use crate::simchain::sim::NodeFaults;

/// How a method writes assets and operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// 0.19 `database_api` and `condenser_api`: strings like `"0.100 STEEM"`.
    Legacy,
    /// steemd 0.20+ / hived `database_api` and `block_api`: NAI objects.
    Appbase,
}

/// `STEEM_DEFAULT_ACCOUNT_SUBSIDY_BUDGET`/`_DECAY` (HF20), in every witness's props since then
/// (hived's recorded `find_witnesses` answer shows 797 / 347321).
const ACCOUNT_SUBSIDY_BUDGET: u32 = 797;
const ACCOUNT_SUBSIDY_DECAY: u32 = 347_321;
/// `virtual_scheduled_time` of a witness that is not scheduled (u128 max, as a string).
const U128_MAX: &str = "340282366920938463463374607431768211455";
const ZERO_HASH: &str = "0000000000000000000000000000000000000000";

/// The versions a generation reports.
pub struct Versions {
    /// `*_BLOCKCHAIN_VERSION` (VIT keeps 0.0.0, SPEC §7.4).
    pub blockchain: &'static str,
    /// `*_BLOCKCHAIN_HARDFORK_VERSION`, also `get_hardfork_version`.
    pub hardfork: &'static str,
    /// The number of the last hardfork applied.
    pub last_hardfork: u32,
}

/// The versions of `generation`: VIT 0.0.0 at HF19 (SPEC §1), steemd 0.23.1 at HF23 (steemit/steem master
/// `config.hpp`), hived 1.28.3 at HF28 (openhive-network/hive 1.28.3 `config.hpp`).
pub fn versions(generation: Gen) -> Versions {
    match generation {
        Gen::S19 => Versions {
            blockchain: "0.0.0",
            hardfork: "0.19.0",
            last_hardfork: 19,
        },
        Gen::Steem => Versions {
            blockchain: "0.23.1",
            hardfork: "0.23.0",
            last_hardfork: 23,
        },
        Gen::Hive => Versions {
            blockchain: "1.28.3",
            hardfork: "1.28.0",
            last_hardfork: 28,
        },
    }
}

fn generation(chain: &ChainState) -> Gen {
    Gen::of(chain.profile.name)
}

fn time(sec: u32) -> String {
    TimePointSec(sec).to_string()
}

fn key(profile: &ChainProfile, key: &PublicKey) -> String {
    key.to_string_with_prefix(&profile.address_prefix)
}

fn genesis_time(chain: &ChainState) -> String {
    time(chain.blocks.first().map_or(0, Block::time_sec))
}

/// An asset of `satoshis` of `nai` in `form`.
fn asset(chain: &ChainState, form: Form, satoshis: u64, nai: &str) -> Value {
    let legacy = crate::simchain::forms::legacy_asset(&chain.profile, satoshis, nai)
        .unwrap_or_else(|| format!("{satoshis} ?"));
    match form {
        Form::Legacy => json!(legacy),
        Form::Appbase => asset_to_nai(&chain.profile, &legacy),
    }
}

/// A legacy asset string in `form`.
fn asset_str(chain: &ChainState, form: Form, legacy: &str) -> Value {
    match form {
        Form::Legacy => json!(legacy),
        Form::Appbase => asset_to_nai(&chain.profile, legacy),
    }
}

/// The chain id the node reports (`wrong_chain_id`: sha256("wrong chain")).
fn chain_id(chain: &ChainState, faults: &NodeFaults) -> String {
    if faults.wrong_chain_id {
        Digest::sha256(&[b"wrong chain"]).to_string()
    } else {
        chain.profile.chain_id.to_string()
    }
}

/// `get_config`: the constants with the generation's prefix (`STEEMIT_` on 0.19, `STEEM_`,
/// `HIVE_`); `condenser` is hived's `condenser_api` form, whose `*_SYMBOL` members are legacy
/// names instead of `{nai, decimals}` objects. `wrong_chain_id` reports sha256("wrong chain").
pub fn get_config(chain: &ChainState, faults: &NodeFaults, condenser: bool) -> Value {
    let g = generation(chain);
    let v = versions(g);
    let p = match g {
        Gen::S19 => "STEEMIT_",
        Gen::Steem => "STEEM_",
        Gen::Hive => "HIVE_",
    };
    let mut out = Map::new();
    let mut put = |name: &str, value: Value| out.insert(format!("{p}{name}"), value);
    put("CHAIN_ID", json!(chain_id(chain, faults)));
    put("ADDRESS_PREFIX", json!(chain.profile.address_prefix));
    put("BLOCK_INTERVAL", json!((chain.interval_ms / 1000).max(1)));
    put("MAX_TIME_UNTIL_EXPIRATION", json!(3600));
    put("BLOCKCHAIN_VERSION", json!(v.blockchain));
    put("BLOCKCHAIN_HARDFORK_VERSION", json!(v.hardfork));
    put("MAX_WITNESSES", json!(21));
    put("MIN_BLOCK_SIZE_LIMIT", json!(65_536));
    put("MAX_WITNESS_URL_LENGTH", json!(2048));
    put("INIT_MINER_NAME", json!("initminer"));
    out.insert("IS_TEST_NET".into(), json!(false));
    let core = chain.profile.core_symbol.json_name().to_owned();
    let dollar = dollar_symbol(&chain.profile);
    match g {
        // 0.19 get_config.cpp writes the symbols as their u64 value (precision in the low
        // byte, then the name's bytes).
        Gen::S19 => {
            out.insert(
                "STEEMIT_SYMBOL".into(),
                large_int(symbol_u64(chain.profile.core_symbol.precision(), &core)),
            );
            out.insert("VESTS_SYMBOL".into(), large_int(symbol_u64(6, "VESTS")));
        }
        Gen::Steem | Gen::Hive => {
            let symbols = [
                (format!("{core}_SYMBOL"), NAI_CORE, 3, core.clone()),
                (format!("{dollar}_SYMBOL"), NAI_DOLLAR, 3, dollar.to_owned()),
                ("VESTS_SYMBOL".to_owned(), NAI_VESTS, 6, "VESTS".to_owned()),
            ];
            for (name, nai, decimals, legacy) in symbols {
                let value = if condenser && g == Gen::Hive {
                    json!(legacy)
                } else {
                    json!({"nai": nai, "decimals": decimals})
                };
                out.insert(name, value);
            }
        }
    }
    if g == Gen::Hive {
        // hived keeps the pre-HF24 chain id for old signatures.
        out.insert(
            "OLD_CHAIN_ID".into(),
            json!("0000000000000000000000000000000000000000000000000000000000000000"),
        );
        out.insert("HIVE_ENABLE_SMT".into(), json!(false));
    }
    Value::Object(out)
}

/// A 0.19 asset symbol as a u64: the precision, then up to 7 name bytes, little-endian.
fn symbol_u64(precision: u8, name: &str) -> u64 {
    name.bytes()
        .take(7)
        .enumerate()
        .fold(u64::from(precision), |acc, (i, b)| {
            acc | (u64::from(b) << (8 * (i + 1)))
        })
}

/// `get_version`: 0.19 `login_api` and steemd `condenser_api` give version and revisions;
/// steemd `database_api` adds `chain_id`; hived (both APIs) adds `node_type` and `chain_id`.
pub fn get_version(chain: &ChainState, faults: &NodeFaults, with_chain_id: bool) -> Value {
    let g = generation(chain);
    let revision = "0000000000000000000000000000000000000000";
    let mut out = Map::new();
    out.insert("blockchain_version".into(), json!(versions(g).blockchain));
    let rev_name = if g == Gen::Hive {
        "hive_revision"
    } else {
        "steem_revision"
    };
    out.insert(rev_name.into(), json!(revision));
    out.insert("fc_revision".into(), json!(revision));
    if g == Gen::Hive {
        out.insert("node_type".into(), json!("mainnet"));
    }
    if g == Gen::Hive || (g == Gen::Steem && with_chain_id) {
        out.insert("chain_id".into(), json!(chain_id(chain, faults)));
    }
    Value::Object(out)
}

/// `get_dynamic_global_properties`; `time` is moved by `head_time_shift_seconds` (clamped to
/// the representable range).
pub fn dynamic_global_properties(chain: &ChainState, faults: &NodeFaults, form: Form) -> Value {
    let g = generation(chain);
    let head = chain.head();
    let shifted = i64::from(head.time_sec()).saturating_add(faults.head_time_shift_seconds);
    let head_time = u32::try_from(shifted.max(0)).unwrap_or(u32::MAX);
    let filled = chain.recent_slots_filled();
    let core = |n: u64| asset(chain, form, n, NAI_CORE);
    let dollar = |n: u64| asset(chain, form, n, NAI_DOLLAR);
    let vests = |n: u64| asset(chain, form, n, NAI_VESTS);
    let (c, d) = match g {
        Gen::Hive => ("hive", "hbd"),
        Gen::S19 | Gen::Steem => ("steem", "sbd"),
    };
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| out.insert(k.to_owned(), v);
    put("id", json!(0));
    put("head_block_number", json!(head.num));
    put("head_block_id", json!(head.id.to_string()));
    put("time", json!(time(head_time)));
    put("current_witness", json!(head.witness));
    put("total_pow", json!(0));
    put("num_pow_witnesses", json!(0));
    put("virtual_supply", core(1_000_000_000));
    put("current_supply", core(1_000_000_000));
    if g != Gen::Hive {
        put("confidential_supply", core(0));
    }
    put(&format!("init_{d}_supply"), dollar(0));
    put(&format!("current_{d}_supply"), dollar(0));
    if g != Gen::Hive {
        put(&format!("confidential_{d}_supply"), dollar(0));
    }
    put(&format!("total_vesting_fund_{c}"), core(500_000_000));
    put("total_vesting_shares", vests(1_000_000_000_000));
    put(&format!("total_reward_fund_{c}"), core(0));
    put("total_reward_shares2", json!("0"));
    put("pending_rewarded_vesting_shares", vests(0));
    put(&format!("pending_rewarded_vesting_{c}"), core(0));
    put(&format!("{d}_interest_rate"), json!(0));
    put(&format!("{d}_print_rate"), json!(10_000));
    put("maximum_block_size", json!(131_072));
    if g == Gen::Steem {
        put("required_actions_partition_percent", json!(0));
    }
    put("current_aslot", json!(head.aslot));
    put("recent_slots_filled", json!(filled.to_string()));
    put("participation_count", json!(filled.count_ones()));
    put(
        "last_irreversible_block_num",
        json!(chain.last_irreversible()),
    );
    put("vote_power_reserve_rate", json!(10));
    if g != Gen::S19 {
        put("delegation_return_period", json!(432_000));
        put("reverse_auction_seconds", json!(300));
        put("available_account_subsidies", json!(0));
        put(&format!("{d}_stop_percent"), json!(1000));
        put(&format!("{d}_start_percent"), json!(900));
        put("next_maintenance_time", json!(genesis_time(chain)));
        put("last_budget_time", json!(genesis_time(chain)));
        put("content_reward_percent", json!(6500));
        put("vesting_reward_percent", json!(1500));
        put("downvote_pool_percent", json!(2500));
    }
    match g {
        Gen::Steem => {
            put("sps_fund_percent", json!(1000));
            put("sps_interval_ledger", dollar(0));
        }
        Gen::Hive => {
            put("next_daily_maintenance_time", json!(genesis_time(chain)));
            put("proposal_fund_percent", json!(1000));
            put("dhf_interval_ledger", dollar(0));
            put("current_remove_threshold", json!(200));
            put("early_voting_seconds", json!(86_400));
            put("mid_voting_seconds", json!(172_800));
            put("max_consecutive_recurrent_transfer_failures", json!(10));
            put("max_recurrent_transfer_end_date", json!(730));
            put("min_recurrent_transfers_recurrence", json!(24));
            put("max_open_recurrent_transfers", json!(255));
        }
        Gen::S19 => {}
    }
    Value::Object(out)
}

/// A witness's props in `form`; `fee` replaces the account creation fee verbatim.
fn props(chain: &ChainState, witness: &Witness, fee: Option<&str>, form: Form) -> Value {
    let mut out = Map::new();
    let legacy_fee = fee.map_or_else(
        || witness.props.account_creation_fee.to_string(),
        str::to_owned,
    );
    out.insert(
        "account_creation_fee".into(),
        asset_str(chain, form, &legacy_fee),
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
    if generation(chain) != Gen::S19 {
        out.insert(
            "account_subsidy_budget".into(),
            json!(ACCOUNT_SUBSIDY_BUDGET),
        );
        out.insert("account_subsidy_decay".into(), json!(ACCOUNT_SUBSIDY_DECAY));
    }
    Value::Object(out)
}

/// The witness object in `form`. A lying node (`faults.lie_*`) adds to `total_missed` and
/// replaces `signing_key`, `url` and `props.account_creation_fee` (NAI form when the lie is an
/// asset of the chain, the lie itself otherwise).
pub fn witness(chain: &ChainState, w: &Witness, faults: &NodeFaults, form: Form) -> Value {
    let g = generation(chain);
    let total_missed = i64::from(w.total_missed)
        .saturating_add(faults.lie_total_missed.unwrap_or(0))
        .max(0);
    let signing_key = faults
        .lie_signing_key
        .clone()
        .unwrap_or_else(|| key(&chain.profile, &w.signing_key));
    let url = faults.lie_url.as_deref().unwrap_or(&w.url);
    let d = if g == Gen::Hive { "hbd" } else { "sbd" };
    let core = chain.profile.core_symbol.json_name().to_owned();
    let price = json!({
        "base": asset_str(chain, form, &format!("0.000 {}", dollar_symbol(&chain.profile))),
        "quote": asset_str(chain, form, &format!("0.000 {core}")),
    });
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| out.insert(k.to_owned(), v);
    put("id", json!(w.id));
    put("owner", json!(w.name));
    put("created", json!(genesis_time(chain)));
    put("url", json!(url));
    put(
        "votes",
        json!((1_000_000_000_000u64 - u64::from(w.id)).to_string()),
    );
    put("virtual_last_update", json!("0"));
    put("virtual_position", json!("0"));
    put("virtual_scheduled_time", json!(U128_MAX));
    put("total_missed", json!(total_missed));
    put("last_aslot", json!(w.last_aslot));
    put(
        "last_confirmed_block_num",
        json!(w.last_confirmed_block_num),
    );
    put("pow_worker", json!(0));
    put("signing_key", json!(signing_key));
    put(
        "props",
        props(chain, w, faults.lie_account_creation_fee.as_deref(), form),
    );
    put(&format!("{d}_exchange_rate"), price);
    put(
        &format!("last_{d}_exchange_update"),
        json!("1970-01-01T00:00:00"),
    );
    put(
        "last_work",
        json!("0000000000000000000000000000000000000000000000000000000000000000"),
    );
    let v = versions(g);
    put(
        "running_version",
        json!(match g {
            Gen::S19 => "0.19.5",
            _ => v.blockchain,
        }),
    );
    put("hardfork_version_vote", json!(v.hardfork));
    put("hardfork_time_vote", json!(genesis_time(chain)));
    if g != Gen::S19 {
        put("available_witness_account_subsidies", json!(0));
    }
    Value::Object(out)
}

/// `get_witness_by_account [name]` (0.19, condenser): the witness, `null` when unknown.
pub fn get_witness_by_account(chain: &ChainState, name: &str, faults: &NodeFaults) -> Value {
    chain
        .witness(name)
        .map_or(Value::Null, |w| witness(chain, w, faults, Form::Legacy))
}

/// `database_api.find_witnesses {owners}`: `{"witnesses": [...]}`, unknown names skipped.
pub fn find_witnesses(chain: &ChainState, owners: &[String], faults: &NodeFaults) -> Value {
    let witnesses: Vec<Value> = owners
        .iter()
        .filter_map(|n| chain.witness(n))
        .map(|w| witness(chain, w, faults, Form::Appbase))
        .collect();
    json!({ "witnesses": witnesses })
}

/// The sort orders of `list_witnesses` the simulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WitnessOrder {
    /// `by_name`: start is a name.
    ByName,
    /// `by_vote_name`: start is `[votes, name]`.
    ByVoteName,
}

/// `database_api.list_witnesses`: up to `limit` witnesses from `start` in `order`.
pub fn list_witnesses(
    chain: &ChainState,
    order: WitnessOrder,
    start: &Value,
    limit: usize,
    faults: &NodeFaults,
) -> Value {
    let mut all: Vec<&Witness> = chain.witnesses.iter().collect();
    let votes = |w: &Witness| 1_000_000_000_000u64 - u64::from(w.id);
    let selected: Vec<&Witness> = match order {
        WitnessOrder::ByName => {
            all.sort_by(|a, b| a.name.cmp(&b.name));
            let from = start.as_str().unwrap_or_default();
            all.into_iter()
                .filter(|w| w.name.as_str() >= from)
                .collect()
        }
        WitnessOrder::ByVoteName => {
            all.sort_by(|a, b| votes(b).cmp(&votes(a)).then(a.name.cmp(&b.name)));
            let from_votes = start
                .get(0)
                .and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(u64::MAX);
            let from_name = start.get(1).and_then(Value::as_str).unwrap_or_default();
            all.into_iter()
                .filter(|w| {
                    votes(w) < from_votes
                        || (votes(w) == from_votes && w.name.as_str() >= from_name)
                })
                .collect()
        }
    };
    let witnesses: Vec<Value> = selected
        .into_iter()
        .take(limit)
        .map(|w| witness(chain, w, faults, Form::Appbase))
        .collect();
    json!({ "witnesses": witnesses })
}

/// A one-key authority (`weight_threshold` 1, the key at weight 1).
pub fn authority(chain: &ChainState, key_value: &PublicKey) -> Value {
    json!({"weight_threshold": 1, "account_auths": [], "key_auths": [[key(&chain.profile, key_value), 1]]})
}

/// The active authority of an account (`id`, `auth` in a missing-authority error).
pub fn active_authority(chain: &ChainState, w: &Witness) -> Value {
    authority(chain, &w.active_key)
}

/// The owner authority of an account (the active key when no owner key is configured).
pub fn owner_authority(chain: &ChainState, w: &Witness) -> Value {
    authority(chain, &w.owner_key.unwrap_or(w.active_key))
}

/// An account object in `form` (the members a client reads; balances are zero).
pub fn account(chain: &ChainState, w: &Witness, form: Form) -> Value {
    let g = generation(chain);
    let d = if g == Gen::Hive { "hbd" } else { "sbd" };
    let c = if g == Gen::Hive { "hive" } else { "steem" };
    let core = |n: u64| asset(chain, form, n, NAI_CORE);
    let dollar = |n: u64| asset(chain, form, n, NAI_DOLLAR);
    let vests = |n: u64| asset(chain, form, n, NAI_VESTS);
    let created = genesis_time(chain);
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| out.insert(k.to_owned(), v);
    put("id", json!(w.id));
    put("name", json!(w.name));
    put("owner", owner_authority(chain, w));
    put("active", active_authority(chain, w));
    put("posting", active_authority(chain, w));
    put("memo_key", json!(key(&chain.profile, &w.active_key)));
    put("json_metadata", json!(""));
    if g != Gen::S19 {
        put("posting_json_metadata", json!(""));
    }
    put("proxy", json!(""));
    put("last_owner_update", json!("1970-01-01T00:00:00"));
    put("last_account_update", json!("1970-01-01T00:00:00"));
    put("created", json!(created));
    put("mined", json!(false));
    put("recovery_account", json!(""));
    put("last_account_recovery", json!("1970-01-01T00:00:00"));
    put("reset_account", json!("null"));
    put("comment_count", json!(0));
    put("lifetime_vote_count", json!(0));
    put("post_count", json!(0));
    put("can_vote", json!(true));
    put("balance", core(0));
    put("savings_balance", core(0));
    put(&format!("{d}_balance"), dollar(0));
    put(&format!("savings_{d}_balance"), dollar(0));
    put(&format!("reward_{d}_balance"), dollar(0));
    put(&format!("reward_{c}_balance"), core(0));
    put("reward_vesting_balance", vests(0));
    put(&format!("reward_vesting_{c}"), core(0));
    put("vesting_shares", vests(1_000_000_000));
    put("delegated_vesting_shares", vests(0));
    put("received_vesting_shares", vests(0));
    put("vesting_withdraw_rate", vests(0));
    put("next_vesting_withdrawal", json!("1969-12-31T23:59:59"));
    put("withdrawn", json!(0));
    put("to_withdraw", json!(0));
    put("withdraw_routes", json!(0));
    put("witnesses_voted_for", json!(0));
    put("last_post", json!("1970-01-01T00:00:00"));
    put("last_root_post", json!("1970-01-01T00:00:00"));
    Value::Object(out)
}

/// `get_accounts [[names]]` (0.19, condenser): the accounts found, in request order.
pub fn get_accounts(chain: &ChainState, names: &[String]) -> Value {
    let accounts: Vec<Value> = names
        .iter()
        .filter_map(|n| chain.witness(n))
        .map(|w| account(chain, w, Form::Legacy))
        .collect();
    Value::Array(accounts)
}

/// `database_api.find_accounts {accounts}`: `{"accounts": [...]}`.
pub fn find_accounts(chain: &ChainState, names: &[String]) -> Value {
    let accounts: Vec<Value> = names
        .iter()
        .filter_map(|n| chain.witness(n))
        .map(|w| account(chain, w, Form::Appbase))
        .collect();
    json!({ "accounts": accounts })
}

fn header(block: &Block) -> Value {
    object(vec![
        ("previous", json!(block.previous.to_string())),
        ("timestamp", json!(time(block.time_sec()))),
        ("witness", json!(block.witness)),
        ("transaction_merkle_root", json!(ZERO_HASH)),
        ("extensions", json!([])),
    ])
}

/// A block in `form`, with `block_id`, `signing_key` and `transaction_ids`.
pub fn block(chain: &ChainState, block: &Block, form: Form) -> Value {
    let mut out = header(block);
    let ids: Vec<&str> = block.transactions.iter().map(|t| t.id.as_str()).collect();
    let txs: Vec<Value> = block
        .transactions
        .iter()
        .map(|t| match form {
            Form::Legacy => t.json.clone(),
            Form::Appbase => tx_to_appbase(&chain.profile, &t.json),
        })
        .collect();
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

/// `get_block [num]` (0.19, condenser): the block, `null` when not produced.
pub fn get_block(chain: &ChainState, num: u64) -> Value {
    block_at(chain, num).map_or(Value::Null, |b| block(chain, b, Form::Legacy))
}

/// `get_block_header [num]` (0.19, condenser): the header, `null` when not produced.
pub fn get_block_header(chain: &ChainState, num: u64) -> Value {
    block_at(chain, num).map_or(Value::Null, header)
}

/// `block_api.get_block {block_num}`: `{"block": …}`, `{}` when not produced.
pub fn block_api_get_block(chain: &ChainState, num: u64) -> Value {
    match block_at(chain, num) {
        Some(b) => json!({ "block": block(chain, b, Form::Appbase) }),
        None => json!({}),
    }
}

/// `block_api.get_block_header {block_num}`: `{"header": …}`, `{}` when not produced.
pub fn block_api_get_block_header(chain: &ChainState, num: u64) -> Value {
    match block_at(chain, num) {
        Some(b) => json!({ "header": header(b) }),
        None => json!({}),
    }
}

fn block_at(chain: &ChainState, num: u64) -> Option<&Block> {
    chain.block(u32::try_from(num).ok()?)
}

/// The signed bytes of a legacy-JSON transaction as the node rebuilds them, in hex.
pub fn transaction_hex(chain: &ChainState, tx: &Value) -> Result<String, FcError> {
    let rebuilt = rebuild(tx, &chain.profile)?;
    let bytes = rebuilt
        .signed
        .to_bytes(&chain.profile)
        .map_err(|e| FcError::assert(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// The median props (`get_chain_properties`, `median_props`): the defaults here.
pub fn chain_properties(chain: &ChainState, form: Form) -> Value {
    let median = crate::simchain::config::default_props(&chain.profile);
    let mut out = Map::new();
    out.insert(
        "account_creation_fee".into(),
        asset_str(chain, form, &median.account_creation_fee.to_string()),
    );
    out.insert(
        "maximum_block_size".into(),
        json!(median.maximum_block_size),
    );
    if let PropsLayout::WithInterestRate { field } = &chain.profile.props_layout {
        out.insert(field.clone(), json!(median.interest_rate.unwrap_or(0)));
    }
    if generation(chain) != Gen::S19 {
        out.insert(
            "account_subsidy_budget".into(),
            json!(ACCOUNT_SUBSIDY_BUDGET),
        );
        out.insert("account_subsidy_decay".into(), json!(ACCOUNT_SUBSIDY_DECAY));
    }
    Value::Object(out)
}

/// `get_witness_schedule`: the current shuffled order and the median props.
pub fn witness_schedule(chain: &ChainState, form: Form) -> Value {
    let g = generation(chain);
    let head = chain.head_num();
    let next_shuffle = head - head % 21 + 21;
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| out.insert(k.to_owned(), v);
    put("id", json!(0));
    put("current_virtual_time", json!("0"));
    put("next_shuffle_block_num", json!(next_shuffle));
    put("current_shuffled_witnesses", json!(chain.schedule));
    put("num_scheduled_witnesses", json!(chain.schedule.len()));
    put(
        if g == Gen::S19 {
            "top19_weight"
        } else {
            "elected_weight"
        },
        json!(1),
    );
    put("timeshare_weight", json!(5));
    put("miner_weight", json!(1));
    put("witness_pay_normalization_factor", json!(25));
    put("median_props", chain_properties(chain, form));
    put("majority_version", json!(versions(g).hardfork));
    put("max_voted_witnesses", json!(20));
    put("max_miner_witnesses", json!(0));
    put("max_runner_witnesses", json!(1));
    put("hardfork_required_witnesses", json!(17));
    if g != Gen::S19 {
        let rd = json!({"resource_unit": 10000, "budget_per_time_unit": 797, "pool_eq": 157_691_079,
            "max_pool_size": 157_691_079, "decay_params": {"decay_per_time_unit": 347_321,
            "decay_per_time_unit_denom_shift": 36}, "min_decay": 0});
        put("account_subsidy_rd", rd.clone());
        put("account_subsidy_witness_rd", rd);
        put("min_witness_account_subsidy_decay", json!(0));
    }
    Value::Object(out)
}

/// `get_hardfork_version`.
pub fn hardfork_version(chain: &ChainState) -> Value {
    json!(versions(generation(chain)).hardfork)
}

/// `get_next_scheduled_hardfork`: the current hardfork, live since genesis (no next one).
pub fn next_scheduled_hardfork(chain: &ChainState) -> Value {
    json!({"hf_version": versions(generation(chain)).hardfork, "live_time": genesis_time(chain)})
}

/// `database_api.get_hardfork_properties`: every hardfork processed at genesis.
pub fn hardfork_properties(chain: &ChainState) -> Value {
    let v = versions(generation(chain));
    let times = vec![genesis_time(chain); usize::try_from(v.last_hardfork + 1).unwrap_or(1)];
    json!({
        "id": 0,
        "processed_hardforks": times,
        "last_hardfork": v.last_hardfork,
        "current_hardfork_version": v.hardfork,
        "next_hardfork": v.hardfork,
        "next_hardfork_time": genesis_time(chain),
    })
}

/// `get_active_witnesses` (0.19, condenser): the current shuffled order.
pub fn active_witnesses(chain: &ChainState) -> Value {
    json!(chain.schedule)
}

/// `get_witness_count`.
pub fn witness_count(chain: &ChainState) -> Value {
    json!(chain.witnesses.len())
}

/// `lookup_witness_accounts [lower_bound, limit]`: names from `lower` in order.
pub fn lookup_witness_accounts(chain: &ChainState, lower: &str, limit: usize) -> Value {
    let mut names: Vec<&str> = chain.witnesses.iter().map(|w| w.name.as_str()).collect();
    names.sort_unstable();
    json!(
        names
            .into_iter()
            .filter(|n| *n >= lower)
            .take(limit)
            .collect::<Vec<_>>()
    )
}

/// `jsonrpc.get_methods`: every `api.method` the node registers, sorted.
pub fn get_methods(apis: &[(&str, &[&str])]) -> Value {
    let mut all: Vec<String> = apis
        .iter()
        .flat_map(|(api, methods)| methods.iter().map(move |m| format!("{api}.{m}")))
        .collect();
    all.sort();
    json!(all)
}
