//! The STEEM and HIVE nodes: the appbase json_rpc plugin (SPEC §7.1, §7.3).
//!
//! From steemit/steem master 0e27a9c8e (0.23.1) and openhive-network/hive 1.28.3
//! `libraries/plugins/json_rpc/json_rpc_plugin.cpp`, checked against hived's own
//! `tests/unit/plugin_tests/json_rpc.cpp` (codes, texts and `assert_hash` values):
//!
//! | request | answer |
//! |---|---|
//! | not JSON | -32000 `Parse Error:…` (`json_rpc_plugin::call`; the text after the colon is serde's, not fc's parser's) |
//! | `[]` | -32000 `Array is invalid`; a non-empty array is a batch, one answer per element |
//! | not an object | -32700 `Bad Cast:Invalid cast from type '…' to Object` |
//! | `id` neither integer nor string | -32600 `Only integer value or string is allowed for member "id"` |
//! | `jsonrpc` not `"2.0"` | -32600 `jsonrpc value is not "2.0"` |
//! | no string `method` | -32600 `A member "method" does not exist` |
//! | `call` without `params` | -32001 `A member "params" does not exist` |
//! | `call` params not `[api, method]`/`[api, method, args]` | -32002 `Assert Exception:v.size() == 2 \|\| v.size() == 3: params should be {"api", "method", "args"` |
//! | a name that is not `api.method` | -32002 `Assert Exception:v.size() == 2: method specification invalid. Should be api.method` |
//! | unknown API / method | -32002 `Assert Exception:api_itr != …: Could not find API x` / `…method_itr != api_itr->second.end(): Could not find method y` |
//! | an assert inside the method | -32003 `Assert Exception:…` |
//! | any other exception | -32000 `<what>:<message>` |
//!
//! Arguments are one value: `args.as< method_args >()`. The `database_api`, `block_api`,
//! `network_broadcast_api` and `jsonrpc` methods take a struct, so an array (what `call
//! database_api get_config []` sends) is `Bad Cast:Invalid cast from type 'array_type' to
//! Object`, the answer beem's connect reads as "appbase"; `condenser_api` takes
//! `vector<variant>` and checks the count (`CHECK_ARG_SIZE`: `Expected #s argument(s), was N`,
//! `#s` left unexpanded in the string). Missing struct members keep their defaults.
//! `network_broadcast_api.broadcast_transaction` takes `{trx, max_block_age}` with the
//! transaction in the appbase form; hived also accepts the legacy form there (it retries a Bad
//! Cast with the legacy serialization), steemd does not (`Input data have to treated as object.`).
//!
//! Method lists: `DECLARE_API` of `database_api`, `block_api`, `network_broadcast_api` and
//! `condenser_api` in both trees (SMT methods are compiled out on mainnet).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::simchain::chain::ChainState;
use crate::simchain::fc_error::{FcError, Gen, data};
use crate::simchain::forms::{tx_from_appbase, type_name};
use crate::simchain::methods::{self as m, Form, WitnessOrder};
use crate::simchain::rpc::{self, Failure, Mode, Reply, now_timestamp};
use crate::simchain::sim::{NodeFaults, Sim};

/// `DATABASE_API_SINGLE_QUERY_LIMIT`.
const QUERY_LIMIT: usize = 1000;

/// A method list of the real node (see the module documentation).
pub const STEEM_DATABASE_API: &[&str] = &[
    "get_config",
    "get_version",
    "get_dynamic_global_properties",
    "get_witness_schedule",
    "get_hardfork_properties",
    "get_reward_funds",
    "get_current_price_feed",
    "get_feed_history",
    "list_witnesses",
    "find_witnesses",
    "list_witness_votes",
    "get_active_witnesses",
    "list_accounts",
    "find_accounts",
    "list_owner_histories",
    "find_owner_histories",
    "list_account_recovery_requests",
    "find_account_recovery_requests",
    "list_change_recovery_account_requests",
    "find_change_recovery_account_requests",
    "list_escrows",
    "find_escrows",
    "list_withdraw_vesting_routes",
    "find_withdraw_vesting_routes",
    "list_savings_withdrawals",
    "find_savings_withdrawals",
    "list_vesting_delegations",
    "find_vesting_delegations",
    "list_vesting_delegation_expirations",
    "find_vesting_delegation_expirations",
    "list_sbd_conversion_requests",
    "find_sbd_conversion_requests",
    "list_decline_voting_rights_requests",
    "find_decline_voting_rights_requests",
    "list_comments",
    "find_comments",
    "list_votes",
    "find_votes",
    "list_limit_orders",
    "find_limit_orders",
    "get_order_book",
    "list_proposals",
    "find_proposals",
    "list_proposal_votes",
    "get_transaction_hex",
    "get_required_signatures",
    "get_potential_signatures",
    "verify_authority",
    "verify_account_authority",
    "verify_signatures",
];

/// A method list of the real node (see the module documentation).
pub const STEEM_BLOCK_API: &[&str] = &["get_block_header", "get_block"];

/// A method list of the real node (see the module documentation).
pub const STEEM_NETWORK_BROADCAST_API: &[&str] = &["broadcast_transaction", "broadcast_block"];

/// A method list of the real node (see the module documentation).
pub const STEEM_CONDENSER_API: &[&str] = &[
    "get_version",
    "get_trending_tags",
    "get_state",
    "get_active_witnesses",
    "get_block_header",
    "get_block",
    "get_ops_in_block",
    "get_config",
    "get_dynamic_global_properties",
    "get_chain_properties",
    "get_current_median_history_price",
    "get_feed_history",
    "get_witness_schedule",
    "get_hardfork_version",
    "get_next_scheduled_hardfork",
    "get_reward_fund",
    "get_key_references",
    "get_accounts",
    "get_account_references",
    "lookup_account_names",
    "lookup_accounts",
    "get_account_count",
    "get_owner_history",
    "get_recovery_request",
    "get_escrow",
    "get_withdraw_routes",
    "get_savings_withdraw_from",
    "get_savings_withdraw_to",
    "get_vesting_delegations",
    "get_expiring_vesting_delegations",
    "get_witnesses",
    "get_conversion_requests",
    "get_witness_by_account",
    "get_witnesses_by_vote",
    "lookup_witness_accounts",
    "get_witness_count",
    "get_open_orders",
    "get_transaction_hex",
    "get_transaction",
    "get_required_signatures",
    "get_potential_signatures",
    "verify_authority",
    "verify_account_authority",
    "get_active_votes",
    "get_account_votes",
    "get_content",
    "get_content_replies",
    "get_tags_used_by_author",
    "get_post_discussions_by_payout",
    "get_comment_discussions_by_payout",
    "get_discussions_by_trending",
    "get_discussions_by_created",
    "get_discussions_by_active",
    "get_discussions_by_cashout",
    "get_discussions_by_votes",
    "get_discussions_by_children",
    "get_discussions_by_hot",
    "get_discussions_by_feed",
    "get_discussions_by_blog",
    "get_discussions_by_comments",
    "get_discussions_by_promoted",
    "get_replies_by_last_update",
    "get_discussions_by_author_before_date",
    "get_account_history",
    "broadcast_transaction",
    "broadcast_transaction_synchronous",
    "broadcast_block",
    "get_followers",
    "get_following",
    "get_follow_count",
    "get_feed_entries",
    "get_feed",
    "get_blog_entries",
    "get_blog",
    "get_account_reputations",
    "get_reblogged_by",
    "get_blog_authors",
    "get_ticker",
    "get_volume",
    "get_order_book",
    "get_trade_history",
    "get_recent_trades",
    "get_market_history",
    "get_market_history_buckets",
    "list_proposals",
    "find_proposals",
    "list_proposal_votes",
];

/// A method list of the real node (see the module documentation).
pub const HIVE_DATABASE_API: &[&str] = &[
    "get_config",
    "get_version",
    "get_dynamic_global_properties",
    "get_witness_schedule",
    "get_hardfork_properties",
    "get_reward_funds",
    "get_current_price_feed",
    "get_feed_history",
    "list_witnesses",
    "find_witnesses",
    "list_witness_votes",
    "get_active_witnesses",
    "list_accounts",
    "find_accounts",
    "list_owner_histories",
    "find_owner_histories",
    "list_account_recovery_requests",
    "find_account_recovery_requests",
    "list_change_recovery_account_requests",
    "find_change_recovery_account_requests",
    "list_escrows",
    "find_escrows",
    "list_withdraw_vesting_routes",
    "find_withdraw_vesting_routes",
    "list_savings_withdrawals",
    "find_savings_withdrawals",
    "list_vesting_delegations",
    "find_vesting_delegations",
    "list_vesting_delegation_expirations",
    "find_vesting_delegation_expirations",
    "list_hbd_conversion_requests",
    "find_hbd_conversion_requests",
    "list_collateralized_conversion_requests",
    "find_collateralized_conversion_requests",
    "list_decline_voting_rights_requests",
    "find_decline_voting_rights_requests",
    "get_comment_pending_payouts",
    "find_comments",
    "list_votes",
    "find_votes",
    "list_limit_orders",
    "find_limit_orders",
    "get_order_book",
    "list_proposals",
    "find_proposals",
    "list_proposal_votes",
    "find_recurrent_transfers",
    "get_transaction_hex",
    "get_required_signatures",
    "get_potential_signatures",
    "verify_authority",
    "verify_account_authority",
    "verify_signatures",
    "is_known_transaction",
];

/// A method list of the real node (see the module documentation).
pub const HIVE_BLOCK_API: &[&str] = &["get_block_header", "get_block", "get_block_range"];

/// A method list of the real node (see the module documentation).
pub const HIVE_NETWORK_BROADCAST_API: &[&str] = &["broadcast_transaction"];

/// A method list of the real node (see the module documentation).
pub const HIVE_CONDENSER_API: &[&str] = &[
    "get_version",
    "get_trending_tags",
    "get_state",
    "get_active_witnesses",
    "get_block_header",
    "get_block",
    "get_ops_in_block",
    "get_config",
    "get_dynamic_global_properties",
    "get_chain_properties",
    "get_current_median_history_price",
    "get_feed_history",
    "get_witness_schedule",
    "get_hardfork_version",
    "get_next_scheduled_hardfork",
    "get_reward_fund",
    "get_key_references",
    "get_accounts",
    "get_account_references",
    "lookup_account_names",
    "lookup_accounts",
    "get_account_count",
    "get_owner_history",
    "get_recovery_request",
    "get_escrow",
    "get_withdraw_routes",
    "get_savings_withdraw_from",
    "get_savings_withdraw_to",
    "get_vesting_delegations",
    "get_expiring_vesting_delegations",
    "get_witnesses",
    "get_conversion_requests",
    "get_collateralized_conversion_requests",
    "get_witness_by_account",
    "get_witnesses_by_vote",
    "lookup_witness_accounts",
    "get_witness_count",
    "get_open_orders",
    "get_transaction_hex",
    "get_transaction",
    "get_required_signatures",
    "get_potential_signatures",
    "verify_authority",
    "verify_account_authority",
    "get_active_votes",
    "get_account_votes",
    "get_content",
    "get_content_replies",
    "get_tags_used_by_author",
    "get_post_discussions_by_payout",
    "get_comment_discussions_by_payout",
    "get_discussions_by_trending",
    "get_discussions_by_created",
    "get_discussions_by_active",
    "get_discussions_by_cashout",
    "get_discussions_by_votes",
    "get_discussions_by_children",
    "get_discussions_by_hot",
    "get_discussions_by_feed",
    "get_discussions_by_blog",
    "get_discussions_by_comments",
    "get_discussions_by_promoted",
    "get_replies_by_last_update",
    "get_discussions_by_author_before_date",
    "get_account_history",
    "broadcast_transaction",
    "broadcast_transaction_synchronous",
    "get_followers",
    "get_following",
    "get_follow_count",
    "get_feed_entries",
    "get_feed",
    "get_blog_entries",
    "get_blog",
    "get_account_reputations",
    "get_reblogged_by",
    "get_ticker",
    "get_volume",
    "get_order_book",
    "get_trade_history",
    "get_recent_trades",
    "get_market_history",
    "get_market_history_buckets",
    "is_known_transaction",
    "list_proposals",
    "find_proposals",
    "list_proposal_votes",
    "find_recurrent_transfers",
    "find_rc_accounts",
    "list_rc_accounts",
    "list_rc_direct_delegations",
];
/// The APIs a node registers, with their methods.
fn apis(generation: Gen) -> [(&'static str, &'static [&'static str]); 5] {
    match generation {
        Gen::Hive => [
            ("block_api", HIVE_BLOCK_API),
            ("condenser_api", HIVE_CONDENSER_API),
            ("database_api", HIVE_DATABASE_API),
            ("jsonrpc", JSONRPC),
            ("network_broadcast_api", HIVE_NETWORK_BROADCAST_API),
        ],
        Gen::S19 | Gen::Steem => [
            ("block_api", STEEM_BLOCK_API),
            ("condenser_api", STEEM_CONDENSER_API),
            ("database_api", STEEM_DATABASE_API),
            ("jsonrpc", JSONRPC),
            ("network_broadcast_api", STEEM_NETWORK_BROADCAST_API),
        ],
    }
}

/// The json_rpc plugin's own API (`JSON_RPC_REGISTER_API( "jsonrpc" )`).
pub const JSONRPC: &[&str] = &["get_methods", "get_signature"];

/// Answers one request body like appbase.
pub async fn handle(sim: &Arc<Sim>, node: usize, generation: Gen, body: &[u8]) -> Reply {
    let message: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Reply::Json(error_envelope(
                generation,
                Value::Null,
                -32000,
                &FcError::parse(e.to_string()),
            ));
        }
    };
    match message {
        Value::Array(items) if items.is_empty() => Reply::Json(
            json!({"jsonrpc": "2.0", "error": {"code": -32000, "message": "Array is invalid"}, "id": null}),
        ),
        Value::Array(items) => {
            let mut answers = Vec::with_capacity(items.len());
            for item in &items {
                match rpc(sim, node, generation, item).await {
                    Some(answer) => answers.push(answer),
                    None => return Reply::BadGateway,
                }
            }
            Reply::Json(Value::Array(answers))
        }
        other => match rpc(sim, node, generation, &other).await {
            Some(answer) => Reply::Json(answer),
            None => Reply::BadGateway,
        },
    }
}

/// An error answer carrying the exception (`json_rpc_error( code, e.to_string(), e )`).
pub fn error_envelope(generation: Gen, id: Value, code: i64, e: &FcError) -> Value {
    json!({"jsonrpc": "2.0", "error": {"code": code, "message": e.summary(generation),
        "data": e.variant(generation, &now_timestamp())}, "id": id})
}

/// An error answer with a message only (the plugin's own request checks).
fn plain_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id})
}

/// `json_rpc_plugin_impl::rpc` for one request; `None` for the `broadcast_then_502` fault.
async fn rpc(sim: &Arc<Sim>, node: usize, generation: Gen, message: &Value) -> Option<Value> {
    let Some(request) = message.as_object() else {
        let e = not_object(generation, message);
        return Some(error_envelope(generation, Value::Null, -32700, &e));
    };
    let id = match request.get("id") {
        None => Value::Null,
        Some(v @ Value::String(_)) => v.clone(),
        Some(v @ Value::Number(n)) if n.is_i64() || n.is_u64() => v.clone(),
        Some(_) => {
            return Some(plain_error(
                Value::Null,
                -32600,
                "Only integer value or string is allowed for member \"id\"",
            ));
        }
    };
    if request.get("jsonrpc") != Some(&json!("2.0")) {
        return Some(plain_error(id, -32600, "jsonrpc value is not \"2.0\""));
    }
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return Some(plain_error(
            id,
            -32600,
            "A member \"method\" does not exist",
        ));
    };
    if method == "call" && !request.contains_key("params") {
        return Some(plain_error(
            id,
            -32001,
            "A member \"params\" does not exist",
        ));
    }
    let (api, name, args) = match process_params(generation, method, request) {
        Ok(found) => found,
        Err(e) => {
            let code = if e.is_assert() { -32002 } else { -32000 };
            return Some(error_envelope(generation, id, code, &e));
        }
    };
    match call(sim, node, generation, &api, &name, &args).await {
        Ok(result) => Some(json!({"jsonrpc": "2.0", "result": result, "id": id})),
        Err(Failure::Fc(e)) => {
            let code = if e.is_assert() { -32003 } else { -32000 };
            Some(error_envelope(generation, id, code, &e))
        }
        Err(Failure::BadGateway) => None,
    }
}

/// `json_rpc_plugin_impl::process_params`: the API, the method and the argument value.
fn process_params(
    generation: Gen,
    method: &str,
    request: &Map<String, Value>,
) -> Result<(String, String, Value), FcError> {
    let at = |line_steem: u32, line_hive: u32| match generation {
        Gen::Hive => ("json_rpc_plugin.cpp", line_hive, "process_params"),
        Gen::S19 | Gen::Steem => ("json_rpc_plugin.cpp", line_steem, "process_params"),
    };
    let (api, name, args) = if method == "call" {
        let v = request
            .get("params")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if v.len() != 2 && v.len() != 3 {
            return Err(FcError::fc_assert(
                generation,
                "v.size() == 2 || v.size() == 3",
                at(228, 368),
                "params should be {\"api\", \"method\", \"args\"",
                Vec::new(),
            ));
        }
        let api = as_string(generation, &v[0])?;
        let name = as_string(generation, &v[1])?;
        let args = v.get(2).cloned().unwrap_or_else(|| json!({}));
        (api, name, args)
    } else {
        let parts: Vec<&str> = method.split('.').collect();
        let [api, name] = parts.as_slice() else {
            return Err(FcError::fc_assert(
                generation,
                "v.size() == 2",
                at(244, 384),
                "method specification invalid. Should be api.method",
                Vec::new(),
            ));
        };
        let args = request.get("params").cloned().unwrap_or_else(|| json!({}));
        ((*api).to_owned(), (*name).to_owned(), args)
    };
    let found = apis(generation).into_iter().find(|(n, _)| *n == api);
    let (api_line, method_line, registry) = match generation {
        Gen::Hive => (346, 349, "api_itr != data._registered_apis.end()"),
        Gen::S19 | Gen::Steem => (206, 209, "api_itr != _registered_apis.end()"),
    };
    let Some((_, methods)) = found else {
        return Err(FcError::fc_assert(
            generation,
            registry,
            ("json_rpc_plugin.cpp", api_line, "find_api_method"),
            "Could not find API ${api}",
            data([("api", json!(api))]),
        ));
    };
    if !methods.contains(&name.as_str()) {
        return Err(FcError::fc_assert(
            generation,
            "method_itr != api_itr->second.end()",
            ("json_rpc_plugin.cpp", method_line, "find_api_method"),
            "Could not find method ${method}",
            data([("method", json!(name))]),
        ));
    }
    Ok((api, name, args))
}

/// `variant::as_string()`: strings, numbers, booleans and null convert; others are a Bad Cast.
fn as_string(generation: Gen, value: &Value) -> Result<String, FcError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        v @ (Value::Number(_) | Value::Bool(_)) => Ok(v.to_string()),
        other => Err(FcError::bad_cast_at(
            (
                "variant.cpp",
                if generation == Gen::Hive { 480 } else { 478 },
                "as_string",
            ),
            "Invalid cast from ${type} to string",
            data([("type", json!(type_name(other)))]),
        )),
    }
}

/// `const variant::get_object()` failing: a struct argument that is not an object.
fn not_object(generation: Gen, value: &Value) -> FcError {
    FcError::bad_cast_at(
        (
            "variant.cpp",
            if generation == Gen::Hive { 577 } else { 575 },
            "get_object",
        ),
        "Invalid cast from type '${type}' to Object",
        data([("type", json!(type_name(value)))]),
    )
}

/// A struct argument: the object, or the Bad Cast of reading a non-object.
fn object_args(generation: Gen, args: &Value) -> Result<Map<String, Value>, FcError> {
    args.as_object()
        .cloned()
        .ok_or_else(|| not_object(generation, args))
}

/// A `vector<variant>` argument (condenser_api): the array, or the Bad Cast of `get_array()`.
fn array_args(generation: Gen, args: &Value) -> Result<Vec<Value>, FcError> {
    match args {
        Value::Array(items) => Ok(items.clone()),
        other => Err(match generation {
            Gen::Hive => FcError::bad_cast_at(
                ("variant.cpp", 539, "get_array"),
                "Invalid cast from ${type} to Array, the variant is ${th}",
                data([("type", json!(type_name(other))), ("th", other.clone())]),
            ),
            Gen::S19 | Gen::Steem => FcError::bad_cast_at(
                ("variant.cpp", 537, "get_array"),
                "Invalid cast from ${type} to Array",
                data([("type", json!(type_name(other)))]),
            ),
        }),
    }
}

/// `variant::as_uint64()` of a member.
fn as_u64(generation: Gen, value: &Value) -> Result<u64, FcError> {
    let bad = |t: &str| {
        FcError::bad_cast_at(
            (
                "variant.cpp",
                if generation == Gen::Hive { 405 } else { 403 },
                "as_uint64",
            ),
            "Invalid cast from ${type} to uint64",
            data([("type", json!(t))]),
        )
    };
    match value {
        Value::Null => Ok(0),
        Value::Bool(b) => Ok(u64::from(*b)),
        Value::Number(n) => Ok(n
            .as_u64()
            .or_else(|| n.as_i64().map(|i| i as u64))
            .unwrap_or_else(|| n.as_f64().map_or(0, |f| f as u64))),
        Value::String(s) => s.trim().parse().map_err(|_| bad("string_type")),
        other => Err(bad(type_name(other))),
    }
}

/// A list of names from a struct member or a condenser argument.
fn names(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `CHECK_ARG_SIZE( n )` at `line` of `method` (condenser_api.cpp).
fn check_arg_size(
    generation: Gen,
    args: &[Value],
    n: usize,
    lines: (u32, u32),
    method: &'static str,
) -> Result<(), FcError> {
    if args.len() == n {
        return Ok(());
    }
    let line = if generation == Gen::Hive {
        lines.1
    } else {
        lines.0
    };
    Err(FcError::fc_assert(
        generation,
        &format!("args.size() == {n}"),
        ("condenser_api.cpp", line, method),
        "Expected #s argument(s), was ${n}",
        data([("n", json!(args.len()))]),
    ))
}

/// hived's `FC_ASSERT( args.size() <= 1, "Expected at most 1 argument, was ${n}" )`.
fn check_at_most_one(
    generation: Gen,
    args: &[Value],
    line: u32,
    method: &'static str,
) -> Result<(), FcError> {
    if args.len() <= 1 {
        return Ok(());
    }
    Err(FcError::fc_assert(
        generation,
        "args.size() <= 1",
        ("condenser_api.cpp", line, method),
        "Expected at most 1 argument, was ${n}",
        data([("n", json!(args.len()))]),
    ))
}

/// A method that exists on the real node but is not simulated.
fn not_simulated(api: &str, name: &str) -> FcError {
    FcError::assert(format!(
        "{api}.{name} exists on this node generation but is not simulated by vwf-simchain"
    ))
}

/// Runs `api.name` with the argument value `args`.
async fn call(
    sim: &Arc<Sim>,
    node: usize,
    generation: Gen,
    api: &str,
    name: &str,
    args: &Value,
) -> Result<Value, Failure> {
    let faults = sim.faults(node);
    match api {
        "database_api" => database_api(
            sim,
            node,
            generation,
            name,
            &object_args(generation, args)?,
            &faults,
        ),
        "block_api" => {
            let args = object_args(generation, args)?;
            let num = as_u64(generation, args.get("block_num").unwrap_or(&Value::Null))?;
            match name {
                "get_block" => Ok(sim.with_view(node, |c| m::block_api_get_block(c, num))),
                "get_block_header" => {
                    Ok(sim.with_view(node, |c| m::block_api_get_block_header(c, num)))
                }
                _ => Err(not_simulated(api, name).into()),
            }
        }
        "network_broadcast_api" => {
            let args = object_args(generation, args)?;
            let trx = args.get("trx").cloned().unwrap_or_else(|| json!({}));
            let legacy = {
                let chain = sim.chain();
                match tx_from_appbase(generation, &chain.profile, &trx) {
                    Ok(legacy) => legacy,
                    // hived retries a Bad Cast here with the legacy serialization.
                    Err(e) if generation == Gen::Hive && e.code == 7 => trx,
                    Err(e) => return Err(e.into()),
                }
            };
            rpc::broadcast(sim, node, &legacy, Mode::Async).await?;
            Ok(json!({}))
        }
        "condenser_api" => {
            condenser_api(
                sim,
                node,
                generation,
                name,
                &array_args(generation, args)?,
                &faults,
            )
            .await
        }
        "jsonrpc" => {
            object_args(generation, args)?;
            match name {
                "get_methods" => Ok(m::get_methods(&apis(generation))),
                _ => Err(not_simulated(api, name).into()),
            }
        }
        _ => Err(not_simulated(api, name).into()),
    }
}

/// `database_api` with its struct arguments.
fn database_api(
    sim: &Arc<Sim>,
    node: usize,
    generation: Gen,
    name: &str,
    args: &Map<String, Value>,
    faults: &NodeFaults,
) -> Result<Value, Failure> {
    let view = |f: &dyn Fn(&ChainState) -> Value| sim.with_view(node, f);
    let limit_assert = |what: &str, len: usize, lines: (u32, u32), method: &'static str| {
        let (expr, at) = match generation {
            Gen::Hive => (
                format!(
                    "0 < args.{what}.size() && args.{what}.size() <= DATABASE_API_SINGLE_QUERY_LIMIT"
                ),
                ("database_api.cpp", lines.1, method),
            ),
            Gen::S19 | Gen::Steem => (
                format!("args.{what}.size() <= DATABASE_API_SINGLE_QUERY_LIMIT"),
                ("database_api.cpp", lines.0, method),
            ),
        };
        let ok = len <= QUERY_LIMIT && (generation != Gen::Hive || len > 0);
        if ok {
            return Ok(());
        }
        let format = match generation {
            Gen::Hive => format!(
                "list of {} to find not filled or too big",
                if what == "owners" {
                    "witnesses"
                } else {
                    "accounts"
                }
            ),
            Gen::S19 | Gen::Steem => String::new(),
        };
        Err(FcError::fc_assert(
            generation,
            &expr,
            at,
            &format,
            Vec::new(),
        ))
    };
    Ok(match name {
        "get_config" => view(&|c| m::get_config(c, faults, false)),
        "get_version" => view(&|c| m::get_version(c, faults, true)),
        "get_dynamic_global_properties" => {
            view(&|c| m::dynamic_global_properties(c, faults, Form::Appbase))
        }
        "get_witness_schedule" => view(&|c| m::witness_schedule(c, Form::Appbase)),
        "get_hardfork_properties" => view(&m::hardfork_properties),
        "get_active_witnesses" => view(&|c| json!({"witnesses": m::active_witnesses(c)})),
        "find_witnesses" => {
            let owners = names(args.get("owners"));
            limit_assert("owners", owners.len(), (279, 421), "find_witnesses")?;
            view(&|c| m::find_witnesses(c, &owners, faults))
        }
        "find_accounts" => {
            let accounts = names(args.get("accounts"));
            limit_assert("accounts", accounts.len(), (403, 558), "find_accounts")?;
            view(&|c| m::find_accounts(c, &accounts))
        }
        "list_witnesses" => {
            let limit = as_u64(generation, args.get("limit").unwrap_or(&Value::Null))?;
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let limit_ok = limit <= QUERY_LIMIT && (generation != Gen::Hive || limit > 0);
            if !limit_ok {
                return Err(match generation {
                    Gen::Hive => FcError::fc_assert(
                        generation,
                        "0 < args.limit && args.limit <= DATABASE_API_SINGLE_QUERY_LIMIT",
                        ("database_api.cpp", 371, "list_witnesses"),
                        "limit not set or too big",
                        Vec::new(),
                    ),
                    Gen::S19 | Gen::Steem => FcError::fc_assert(
                        generation,
                        "args.limit <= DATABASE_API_SINGLE_QUERY_LIMIT",
                        ("database_api.cpp", 230, "list_witnesses"),
                        "",
                        Vec::new(),
                    ),
                }
                .into());
            }
            let order = match args.get("order") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(0) => "by_name".to_owned(),
                    Some(6) => "by_vote_name".to_owned(),
                    Some(7) => "by_schedule_time".to_owned(),
                    _ => n.to_string(),
                },
                // hived's default is `not_set`; steemd leaves the enum at 0, `by_name`.
                _ if generation == Gen::Hive => "not_set".to_owned(),
                _ => "by_name".to_owned(),
            };
            let order = match order.as_str() {
                "by_name" => WitnessOrder::ByName,
                "by_vote_name" => WitnessOrder::ByVoteName,
                _ => {
                    return Err(match generation {
                        Gen::Hive => FcError::fc_assert(
                            generation,
                            "false",
                            ("database_api.cpp", 412, "list_witnesses"),
                            "Unknown or unsupported sort order '${o}'",
                            data([("o", json!(order))]),
                        ),
                        Gen::S19 | Gen::Steem => FcError::fc_assert(
                            generation,
                            "false",
                            ("database_api.cpp", 271, "list_witnesses"),
                            "Unknown or unsupported sort order",
                            Vec::new(),
                        ),
                    }
                    .into());
                }
            };
            let start = args.get("start").cloned().unwrap_or(Value::Null);
            view(&|c| m::list_witnesses(c, order, &start, limit, faults))
        }
        "get_transaction_hex" => {
            let chain = sim.chain();
            let trx = args.get("trx").cloned().unwrap_or_else(|| json!({}));
            let legacy = tx_from_appbase(generation, &chain.profile, &trx)?;
            json!({"hex": m::transaction_hex(&chain, &legacy)?})
        }
        _ => return Err(not_simulated("database_api", name).into()),
    })
}

/// `condenser_api` with its positional arguments.
async fn condenser_api(
    sim: &Arc<Sim>,
    node: usize,
    generation: Gen,
    name: &str,
    args: &[Value],
    faults: &NodeFaults,
) -> Result<Value, Failure> {
    let view = |f: &dyn Fn(&ChainState) -> Value| sim.with_view(node, f);
    let size = |n: usize, lines: (u32, u32), method: &'static str| {
        check_arg_size(generation, args, n, lines, method)
    };
    let first = || args.first().cloned().unwrap_or(Value::Null);
    Ok(match name {
        "get_version" => {
            size(0, (169, 209), "get_version")?;
            view(&|c| m::get_version(c, faults, false))
        }
        "get_config" => {
            size(0, (781, 291), "get_config")?;
            view(&|c| m::get_config(c, faults, true))
        }
        "get_dynamic_global_properties" => {
            size(0, (787, 305), "get_dynamic_global_properties")?;
            view(&|c| m::dynamic_global_properties(c, faults, Form::Legacy))
        }
        "get_chain_properties" => {
            size(0, (795, 313), "get_chain_properties")?;
            view(&|c| m::chain_properties(c, Form::Legacy))
        }
        "get_witness_schedule" => {
            match generation {
                Gen::Hive => check_at_most_one(generation, args, 331, "get_witness_schedule")?,
                Gen::S19 | Gen::Steem => size(0, (813, 0), "get_witness_schedule")?,
            }
            view(&|c| m::witness_schedule(c, Form::Legacy))
        }
        "get_hardfork_version" => {
            size(0, (819, 340), "get_hardfork_version")?;
            view(&m::hardfork_version)
        }
        "get_next_scheduled_hardfork" => {
            size(0, (825, 346), "get_next_scheduled_hardfork")?;
            view(&m::next_scheduled_hardfork)
        }
        "get_active_witnesses" => {
            match generation {
                Gen::Hive => check_at_most_one(generation, args, 225, "get_active_witnesses")?,
                Gen::S19 | Gen::Steem => size(0, (723, 0), "get_active_witnesses")?,
            }
            view(&m::active_witnesses)
        }
        "get_witness_count" => {
            size(0, (1193, 738), "get_witness_count")?;
            view(&m::witness_count)
        }
        "lookup_witness_accounts" => {
            size(2, (1177, 722), "lookup_witness_accounts")?;
            let lower = as_string(generation, &first())?;
            let limit = as_u64(generation, args.get(1).unwrap_or(&Value::Null))?;
            let limit = usize::try_from(limit)
                .unwrap_or(QUERY_LIMIT)
                .min(QUERY_LIMIT);
            view(&|c| m::lookup_witness_accounts(c, &lower, limit))
        }
        "get_witness_by_account" => {
            size(1, (1126, 671), "get_witness_by_account")?;
            let name = as_string(generation, &first())?;
            view(&|c| m::get_witness_by_account(c, &name, faults))
        }
        "get_accounts" => {
            match generation {
                Gen::Hive if args.len() == 1 || args.len() == 2 => {}
                Gen::Hive => {
                    return Err(FcError::fc_assert(
                        generation,
                        "args.size() == 1 || args.size() == 2",
                        ("condenser_api.cpp", 375, "get_accounts"),
                        "Expected 1-2 arguments, was ${n}",
                        data([("n", json!(args.len()))]),
                    )
                    .into());
                }
                Gen::S19 | Gen::Steem => size(1, (854, 0), "get_accounts")?,
            }
            let names = names(args.first());
            view(&|c| m::get_accounts(c, &names))
        }
        "get_block" => {
            size(1, (736, 258), "get_block")?;
            let num = as_u64(generation, &first())?;
            view(&|c| m::get_block(c, num))
        }
        "get_block_header" => {
            size(1, (729, 245), "get_block_header")?;
            let num = as_u64(generation, &first())?;
            view(&|c| m::get_block_header(c, num))
        }
        "get_transaction_hex" => {
            size(1, (1223, 767), "get_transaction_hex")?;
            json!(m::transaction_hex(&sim.chain(), &first())?)
        }
        "broadcast_transaction" => {
            size(1, (1677, 963), "broadcast_transaction")?;
            rpc::broadcast(sim, node, &first(), Mode::Async).await?;
            json!({})
        }
        "broadcast_transaction_synchronous" => {
            size(1, (1684, 972), "broadcast_transaction_synchronous")?;
            rpc::broadcast(sim, node, &first(), Mode::Synchronous)
                .await?
                .unwrap_or_else(|| json!({}))
        }
        _ => return Err(not_simulated("condenser_api", name).into()),
    })
}
