//! Canned node answers in the shapes steemd 0.19 and appbase return (SPEC §7.4), with the noise
//! real nodes add: unknown members, string-encoded integers, stack traces in error texts.

use serde_json::{Value, json};

use crate::profile::ChainProfile;
use crate::transaction::SignedTransaction;

/// `vectors.json`, parsed.
pub(super) fn vectors() -> Value {
    let text = include_str!("../../../tests/data/vectors.json");
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The signed `vit_disable_null_key` transaction of the vectors, with its id and signed bytes.
pub(super) fn vit_tx() -> (SignedTransaction, String, Vec<u8>) {
    let v = vectors();
    let tx = &v["transactions"][0];
    let json = tx["signed_tx_json_legacy"].to_string();
    let signed = match SignedTransaction::from_legacy_json(&json, &ChainProfile::vit()) {
        Ok(s) => s,
        Err(e) => panic!("vector transaction does not parse: {e}"),
    };
    let id = tx["tx_id"].as_str().unwrap_or_default().to_owned();
    let bytes = hex::decode(tx["signed_tx_hex"].as_str().unwrap_or_default()).unwrap_or_default();
    (signed, id, bytes)
}

pub(super) const VIT_KEY: &str = "VIT84Ceg4qMGbozJgq9524Dc8qFqoLySP5xSihYNdRSdiERFXB5B4";
pub(super) const VIT_KEY_2: &str = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG";
pub(super) const STM_KEY: &str = "STM84Ceg4qMGbozJgq9524Dc8qFqoLySP5xSihYNdRSdiERFXB5B4";

/// 0.19 `database_api.get_config` on VIT: `STEEMIT_*` names, version 0.0.0.
pub(super) fn vit_config() -> Value {
    json!({
        "IS_TEST_NET": false,
        "STEEMIT_ADDRESS_PREFIX": "VIT",
        "STEEMIT_BLOCKCHAIN_HARDFORK_VERSION": "0.19.0",
        "STEEMIT_BLOCKCHAIN_VERSION": "0.0.0",
        "STEEMIT_BLOCK_INTERVAL": 3,
        "STEEMIT_CHAIN_ID": ChainProfile::vit().chain_id.to_string(),
        "STEEMIT_INIT_PUBLIC_KEY_STR": VIT_KEY,
        "STEEMIT_MAX_TIME_UNTIL_EXPIRATION": 3600,
        "STEEMIT_MAX_WITNESS_URL_LENGTH": 2048,
        "STEEMIT_MAX_SHARE_SUPPLY": "1000000000000000",
        "STEEMIT_SYMBOL": "VIT",
    })
}

/// Hive's `condenser_api.get_config`: `HIVE_*` names plus `OLD_CHAIN_ID` (the pre-HF24 zeros).
pub(super) fn hive_config() -> Value {
    json!({
        "HIVE_CHAIN_ID": ChainProfile::hive().chain_id.to_string(),
        "HIVE_BLOCKCHAIN_VERSION": "1.27.3",
        "OLD_CHAIN_ID": "0000000000000000000000000000000000000000000000000000000000000000",
        "HIVE_ADDRESS_PREFIX": "STM",
        "HIVE_BLOCKCHAIN_HARDFORK_VERSION": "1.27.0",
        "HIVE_BLOCK_INTERVAL": 3,
        "HIVE_MAX_TIME_UNTIL_EXPIRATION": 3600,
        "HIVE_MAX_SATOSHIS": "4611686018427387903",
    })
}

/// hived 1.25's `condenser_api.get_config`: it writes every `#define` of config.hpp, so a
/// leftover `STEEM_CHAIN_ID` of zeros (Steem's id) sits beside `HIVE_CHAIN_ID`
/// (openhive-network/hive v1.25.0, libraries/protocol/get_config.d/generate_get_config.cmake).
pub(super) fn hived_1_25_config() -> Value {
    let mut config = hive_config();
    config["HIVE_BLOCKCHAIN_VERSION"] = json!("1.25.0");
    config["STEEM_CHAIN_ID"] = json!("0".repeat(64));
    config
}

/// 0.19 dynamic global properties with string-encoded big integers and extra members.
pub(super) fn vit_dgp(head: u32, time: &str) -> Value {
    json!({
        "id": 0,
        "head_block_number": head,
        "head_block_id": format!("{head:08x}40ab036dd76c16b7e0734c6f1b98c198"),
        "time": time,
        "current_witness": "vit-test-witness",
        "total_pow": "514415",
        "num_pow_witnesses": 172,
        "virtual_supply": "1000000.000 VIT",
        "current_supply": "1000000.000 VIT",
        "maximum_block_size": 131072,
        "current_aslot": head + 5,
        "recent_slots_filled": "340282366920938463463374607431768211455",
        "participation_count": 128,
        "last_irreversible_block_num": head.saturating_sub(15),
        "vote_power_reserve_rate": 10
    })
}

/// A 0.19 witness object; `total_missed` and `last_confirmed_block_num` as strings, no SBD
/// fields, and members this client does not read.
pub(super) fn vit_witness() -> Value {
    json!({
        "id": 42,
        "owner": "vit-test-witness",
        "created": "2018-09-13T00:00:00",
        "url": "https://example.com/@vit-test-witness",
        "votes": "1234567890123456",
        "virtual_last_update": "18446744073709551615",
        "virtual_position": "340282366920938463463374607431768211455",
        "virtual_scheduled_time": "340282366920938463463374607431768211455",
        "total_missed": "17",
        "last_aslot": 9_000_123,
        "last_confirmed_block_num": "8999000",
        "pow_worker": 0,
        "signing_key": VIT_KEY,
        "props": {"account_creation_fee": "0.100 VIT", "maximum_block_size": 131072},
        "last_work": "0000000000000000000000000000000000000000000000000000000000000000",
        "running_version": "0.19.2",
        "hardfork_version_vote": "0.19.0",
        "hardfork_time_vote": "2018-09-13T00:00:00"
    })
}

/// A 0.19 block: `block_id` and `transaction_ids` present, as `signed_block_api_obj` has them.
pub(super) fn vit_block(num: u32, tx_ids: &[&str]) -> Value {
    json!({
        "previous": format!("{:08x}40ab036dd76c16b7e0734c6f1b98c198", num - 1),
        "timestamp": "2024-01-01T00:00:30",
        "witness": "vit-test-witness",
        "transaction_merkle_root": "0000000000000000000000000000000000000000",
        "extensions": [],
        "witness_signature": "1f00",
        "transactions": [],
        "block_id": format!("{num:08x}11223344d76c16b7e0734c6f1b98c198"),
        "signing_key": VIT_KEY,
        "transaction_ids": tx_ids,
    })
}

/// A 0.19 error body: `code: 1`, fc's detail string in `message`.
pub(super) fn legacy_error(message: &str) -> Value {
    json!({ "code": 1, "message": message })
}

/// A 0.19 error body as fc-rpc writes it: `code: 1`, `to_detail_string()` in `message` and the
/// exception as `data` (steemit/steem, libraries/fc/src/rpc/websocket_api.cpp `on_message`).
pub(super) fn legacy_error_with_data(message: &str, name: &str, code: i64) -> Value {
    json!({
        "code": 1,
        "message": message,
        "data": {"code": code, "name": name, "message": "Assert Exception", "stack": [{"context": {"level": "error", "file": "api_connection.hpp", "line": 109, "method": "call"}, "format": "itr != _by_name.end(): no method with name '${name}'", "data": {"name": "x"}}]}
    })
}

/// appbase's answer to an unknown API or method: `find_api_method`'s assertion, reported as
/// -32002 (as recorded in steemit/hivemind issue 75; steemit/steem
/// libraries/plugins/json_rpc/json_rpc_plugin.cpp).
pub(super) fn appbase_no_method(method: &str) -> Value {
    json!({
        "code": -32002,
        "message": format!("Assert Exception:method_itr != api_itr->second.end(): Could not find method {method}"),
        "data": {"code": 10, "name": "assert_exception", "message": "Assert Exception", "stack": [{"context": {"level": "error", "file": "json_rpc_plugin.cpp", "line": 118, "method": "find_api_method", "hostname": "", "timestamp": "2018-02-01T06:50:00"}, "format": "method_itr != api_itr->second.end(): Could not find method ${method}", "data": {"method": method}}]}
    })
}

/// appbase's lock timeout: -32003 with chainbase `lock_exception::what()` and no data.
pub(super) fn appbase_lock_error() -> Value {
    json!({"code": -32003, "message": "Unable to acquire database lock"})
}

/// A jussi error (steemit/jussi, jussi/errors.py `JsonRpcError.to_sanic_response`).
pub(super) fn jussi_error(code: i64, message: &str) -> Value {
    json!({
        "code": code,
        "message": message,
        "data": {"error_id": "4b7ba7e5-1f0f-4d1c-9a43-7c3f3e1f2a10", "jussi_request_id": "000000000000000"}
    })
}

/// An appbase error body: code -32000, fc's exception in `data`.
pub(super) fn appbase_error(message: &str, name: &str, code: i64) -> Value {
    json!({
        "code": -32000,
        "message": message,
        "data": {"code": code, "name": name, "message": message, "stack": [{"context": {"level": "error", "file": "transaction.cpp", "line": 100}, "format": message, "data": {}}]}
    })
}

/// The one-line summary of each of [`LEGACY_TEXTS`], by name.
pub(super) fn legacy_summary(name: &str) -> &'static str {
    match name {
        "missing_authority" => {
            "tx_missing_active_auth: missing required active authority:Missing Active Authority vit-test-witness"
        }
        "duplicate_transaction" => "assert_exception: Duplicate transaction check failed",
        "expired" => "transaction_expiration_exception: transaction expiration exception",
        "tapos" => "transaction_tapos_exception: transaction tapos exception",
        "irrelevant_signature" => {
            "tx_irrelevant_sig: irrelevant signature included:Unnecessary signature(s) detected"
        }
        "duplicate_signature" => "tx_duplicate_sig: duplicate signature included",
        "not_canonical" => "assert_exception: signature is not canonical",
        other => panic!("no summary for {other}"),
    }
}

/// steemd 0.19 texts for each mapped refusal, as `message` carries them.
pub(super) const LEGACY_TEXTS: &[(&str, &str)] = &[
    (
        "missing_authority",
        "3010000 tx_missing_active_auth: missing required active authority\nMissing Active Authority vit-test-witness\n    {\"id\":\"vit-test-witness\",\"auth\":{\"weight_threshold\":1,\"account_auths\":[],\"key_auths\":[[\"VIT84Ceg4qMGbozJgq9524Dc8qFqoLySP5xSihYNdRSdiERFXB5B4\",1]]},\"owner\":{}}\n    th_a  transaction.cpp:170 verify_authority",
    ),
    (
        "duplicate_transaction",
        "10 assert_exception: Assert Exception\n(skip & skip_transaction_dupe_check) || trx_idx.indices().get<by_trx_id>().find(trx_id) == trx_idx.indices().get<by_trx_id>().end(): Duplicate transaction check failed\n    {\"trx_ix\":\"00f997b1934682039cf991bc05f3b947cb043c59\"}\n    th_a  database.cpp:2546 _apply_transaction",
    ),
    (
        "expired",
        "4030100 transaction_expiration_exception: transaction expiration exception\n\n    {\"trx.expiration\":\"2024-01-01T00:01:00\",\"now\":\"2024-01-01T00:02:00\",\"max_til_exp\":3600}\n    th_a  database.cpp:2599 _apply_transaction",
    ),
    (
        "tapos",
        "4030200 transaction_tapos_exception: transaction tapos exception\n\n    {\"ref_block_num\":12345,\"ref_block_prefix\":3367577216,\"tapos_block_summary\":\"0000303900000000000000000000000000000000\"}\n    th_a  database.cpp:2587 _apply_transaction",
    ),
    (
        "irrelevant_signature",
        "3050000 tx_irrelevant_sig: irrelevant signature included\nUnnecessary signature(s) detected\n    {\"remaining\":[\"VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG\"]}\n    th_a  transaction.cpp:199 verify_authority",
    ),
    (
        "duplicate_signature",
        "3060000 tx_duplicate_sig: duplicate signature included\n\n    {}\n    th_a  transaction.cpp:167 get_signature_keys",
    ),
    (
        "not_canonical",
        "10 assert_exception: Assert Exception\nis_canonical( c ): signature is not canonical\n    {}\n    th_a  elliptic_secp256k1.cpp:162 public_key",
    ),
];
