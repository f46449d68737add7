//! The VIT node: steemd 0.19.5's API server (SPEC §7.1, §7.2).
//!
//! steemd 0.19 serves HTTP with fc's websocket API connection (steemit/fc@31f6eab, the fc pinned
//! by steemit/steem v0.19.5, `src/rpc/websocket_api.cpp`):
//!
//! * `call` takes `[api, method, [args…]]` (`FC_ASSERT( args.size() == 3 && args[2].is_array() )`);
//!   a string API is resolved with `login_api.get_api_by_name`, which answers `null` for an
//!   unknown name, and `null.as_uint64()` is 0 (`src/variant.cpp`), so an unknown API name lands
//!   on API 0 like a bare method name;
//! * any other method name, dotted or not, goes whole to API 0 (`on_unhandled` →
//!   `receive_call( 0, method_name, args )`): `condenser_api.get_config` is looked up as a
//!   `database_api` method and fails with `no method with name 'condenser_api.get_config'`;
//! * API ids follow `public-api` (steemit/steem v0.19.5 `libraries/app/application.cpp`
//!   `on_connection`): 0 `database_api`, 1 `login_api`, 2 `network_broadcast_api`;
//! * a method's arguments are converted one by one (`include/fc/rpc/api_connection.hpp`
//!   `call_generic`: `FC_ASSERT( a0 != e, "too few arguments passed to method" )`; extra ones are
//!   ignored);
//! * every exception is answered `{"id", "error": {"code": 1, "message": to_detail_string(),
//!   "data": exception}}` after `FC_CAPTURE_AND_RETHROW( (call.method)(call.params) )` added its
//!   log message (websocket_api.cpp:124), and the answer has no `jsonrpc` member;
//! * a request whose `params` is not an array cannot be read as an `fc::rpc::request`: the body
//!   of the answer is fc's detail string itself, not JSON (so is the answer to a body that is not
//!   JSON; the text after the first line is serde's, not fc's parser's).
//!
//! Kept from earlier versions of the simulator, unlike steemd: a request without `id` is
//! answered (steemd sends nothing), and a body that is JSON but not an object, or has no
//! `method`, gets a JSON `Invalid Request` error (steemd sends fc's text).
//!
//! Method lists: `FC_API` of `database_api`, `login_api` and `network_broadcast_api` in
//! steemit/steem v0.19.5 `libraries/app/include/steemit/app/database_api.hpp` and `api.hpp`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::simchain::fc_error::{FcError, Frame, Gen, data};
use crate::simchain::forms::type_name;
use crate::simchain::methods as m;
use crate::simchain::rpc::{self, Failure, Mode, Reply, now_timestamp};
use crate::simchain::sim::Sim;

const GEN: Gen = Gen::S19;

/// `FC_API( steemit::app::database_api, … )`, in declaration order (the method ids).
pub const DATABASE_API: &[&str] = &[
    "set_block_applied_callback",
    "get_trending_tags",
    "get_tags_used_by_author",
    "get_discussions_by_payout",
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
    "get_block_header",
    "get_block",
    "get_ops_in_block",
    "get_state",
    "get_config",
    "get_dynamic_global_properties",
    "get_chain_properties",
    "get_feed_history",
    "get_current_median_history_price",
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
    "get_conversion_requests",
    "get_account_history",
    "get_owner_history",
    "get_recovery_request",
    "get_escrow",
    "get_withdraw_routes",
    "get_account_bandwidth",
    "get_savings_withdraw_from",
    "get_savings_withdraw_to",
    "get_vesting_delegations",
    "get_expiring_vesting_delegations",
    "get_order_book",
    "get_open_orders",
    "get_liquidity_queue",
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
    "get_discussions_by_author_before_date",
    "get_replies_by_last_update",
    "get_witnesses",
    "get_witness_by_account",
    "get_witnesses_by_vote",
    "lookup_witness_accounts",
    "get_witness_count",
    "get_active_witnesses",
    "get_miner_queue",
];

/// `FC_API( steemit::app::login_api, … )`.
pub const LOGIN_API: &[&str] = &["login", "get_api_by_name", "get_version"];

/// `FC_API( steemit::app::network_broadcast_api, … )`.
pub const NETWORK_BROADCAST_API: &[&str] = &[
    "broadcast_transaction",
    "broadcast_transaction_with_callback",
    "broadcast_transaction_synchronous",
    "broadcast_block",
    "set_max_block_age",
];

/// The API names in id order.
const API_NAMES: [&str; 3] = ["database_api", "login_api", "network_broadcast_api"];

fn methods_of(api: u64) -> &'static [&'static str] {
    match api {
        0 => DATABASE_API,
        1 => LOGIN_API,
        _ => NETWORK_BROADCAST_API,
    }
}

/// Answers one request body like steemd 0.19.
pub async fn handle(sim: &Arc<Sim>, node: usize, body: &[u8]) -> Reply {
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        // fc's json parser throws outside the per-call try: the body is the detail string.
        Err(e) => return Reply::Text(FcError::parse(e.to_string()).detail(GEN)),
    };
    let Some(object) = request.as_object() else {
        // Kept as JSON for tests that read a JSON answer (steemd would send fc's text).
        return Reply::Json(json!({"id": null, "error": {"code": 1,
            "message": "Invalid Request: the request must be a JSON object"}}));
    };
    let id = object.get("id").cloned().unwrap_or(Value::Null);
    let method = match object.get("method") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Reply::Text(
                FcError::bad_cast_at(
                    ("variant.cpp", 478, "as_string"),
                    "Invalid cast from ${type} to string",
                    data([("type", json!(type_name(other)))]),
                )
                .detail(GEN),
            );
        }
        None => {
            return Reply::Json(json!({"id": id, "error": {"code": 1,
                "message": "Invalid Request: method must be a string"}}));
        }
    };
    let params = match object.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        // `var.as<fc::rpc::request>()`: `params` is a `variants`, read with `get_array()`.
        Some(other) => {
            return Reply::Text(
                FcError::bad_cast_at(
                    ("variant.cpp", 537, "get_array"),
                    "Invalid cast from ${type} to Array",
                    data([("type", json!(type_name(other)))]),
                )
                .detail(GEN),
            );
        }
    };
    match dispatch(sim, node, &method, &params).await {
        Ok(result) => Reply::Json(json!({"id": id, "result": result})),
        Err(Failure::BadGateway) => Reply::BadGateway,
        Err(Failure::Fc(e)) => {
            let e = e.with(Frame::capture(
                ("websocket_api.cpp", 124, "on_message"),
                data([
                    ("call.method", json!(method)),
                    ("call.params", json!(params)),
                ]),
            ));
            Reply::Json(error_envelope(id, &e))
        }
    }
}

/// The 0.19 error answer: `code: 1`, fc's detail string, the exception as `data`.
pub fn error_envelope(id: Value, e: &FcError) -> Value {
    json!({"id": id, "error": {"code": 1, "message": e.detail(GEN), "data": e.variant(GEN, &now_timestamp())}})
}

/// Resolves `call` and bare names to (API id, method, arguments), then runs the method.
async fn dispatch(
    sim: &Arc<Sim>,
    node: usize,
    method: &str,
    params: &[Value],
) -> Result<Value, Failure> {
    let (api, name, args) = if method == "call" {
        let [api, name, Value::Array(args)] = params else {
            return Err(FcError::fc_assert(
                GEN,
                "args.size() == 3 && args[2].is_array()",
                ("websocket_api.cpp", 15, "operator()"),
                "",
                Vec::new(),
            )
            .into());
        };
        let api = match api {
            // login_api::get_api_by_name: null for an unknown name, and null.as_uint64() == 0.
            Value::String(s) => API_NAMES
                .iter()
                .position(|n| n == s)
                .and_then(|i| u64::try_from(i).ok())
                .unwrap_or(0),
            other => as_uint64(other)?,
        };
        let name = match name {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        (api, name, args.clone())
    } else {
        (0, method.to_owned(), params.to_vec())
    };
    if api >= 3 {
        return Err(FcError::fc_assert(
            GEN,
            "_local_apis.size() > api_id",
            ("api_connection.hpp", 229, "receive_call"),
            "",
            Vec::new(),
        )
        .into());
    }
    let table = methods_of(api);
    if !table.contains(&name.as_str()) {
        // generic_api::_by_name is a std::map: the ids in name order.
        let by_name: Map<String, Value> = table
            .iter()
            .enumerate()
            .map(|(i, n)| ((*n).to_owned(), json!(i)))
            .collect();
        return Err(FcError::fc_assert(
            GEN,
            "itr != _by_name.end()",
            ("api_connection.hpp", 109, "call"),
            "no method with name '${name}'",
            data([("name", json!(name)), ("api", Value::Object(by_name))]),
        )
        .into());
    }
    call(sim, node, api, &name, &args).await
}

/// `variant::as_uint64()` of a JSON value (fc `src/variant.cpp`): numbers, numeric strings,
/// booleans and null convert; objects and arrays are a Bad Cast.
fn as_uint64(value: &Value) -> Result<u64, FcError> {
    match value {
        Value::Null => Ok(0),
        Value::Bool(b) => Ok(u64::from(*b)),
        Value::Number(n) => Ok(n
            .as_u64()
            .or_else(|| n.as_i64().map(|i| i as u64))
            .unwrap_or_else(|| n.as_f64().map_or(0, |f| f as u64))),
        Value::String(s) => s.trim().parse().map_err(|_| {
            FcError::bad_cast_at(
                ("variant.cpp", 403, "as_uint64"),
                "Invalid cast from ${type} to uint64",
                data([("type", json!("string_type"))]),
            )
        }),
        other => Err(FcError::bad_cast_at(
            ("variant.cpp", 403, "as_uint64"),
            "Invalid cast from ${type} to uint64",
            data([("type", json!(type_name(other)))]),
        )
        .with(Frame::capture(
            ("variant.cpp", 405, "as_uint64"),
            data([("*this", other.clone())]),
        ))),
    }
}

/// The `index`th argument (`call_generic`: too few is an assert; extra ones are ignored).
fn arg(args: &[Value], index: usize) -> Result<&Value, FcError> {
    args.get(index).ok_or_else(|| {
        FcError::fc_assert(
            GEN,
            "a0 != e",
            ("api_connection.hpp", 165, "call_generic"),
            "too few arguments passed to method",
            Vec::new(),
        )
    })
}

/// A `string` argument (`variant::as_string()`).
fn string_arg(args: &[Value], index: usize) -> Result<String, FcError> {
    match arg(args, index)? {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        v @ (Value::Number(_) | Value::Bool(_)) => Ok(v.to_string()),
        other => Err(FcError::bad_cast_at(
            ("variant.cpp", 478, "as_string"),
            "Invalid cast from ${type} to string",
            data([("type", json!(type_name(other)))]),
        )),
    }
}

/// A `vector<string>` argument.
fn strings_arg(args: &[Value], index: usize) -> Result<Vec<String>, FcError> {
    match arg(args, index)? {
        Value::Array(items) => Ok(items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect()),
        other => Err(FcError::bad_cast_at(
            ("variant.cpp", 537, "get_array"),
            "Invalid cast from ${type} to Array",
            data([("type", json!(type_name(other)))]),
        )),
    }
}

/// Runs a method of API `api`.
async fn call(
    sim: &Arc<Sim>,
    node: usize,
    api: u64,
    name: &str,
    args: &[Value],
) -> Result<Value, Failure> {
    let faults = sim.faults(node);
    let view = |f: &dyn Fn(&crate::simchain::chain::ChainState) -> Value| sim.with_view(node, f);
    Ok(match (api, name) {
        (0, "get_config") => view(&|c| m::get_config(c, &faults, false)),
        (0, "get_dynamic_global_properties") => {
            view(&|c| m::dynamic_global_properties(c, &faults, m::Form::Legacy))
        }
        (0, "get_chain_properties") => view(&|c| m::chain_properties(c, m::Form::Legacy)),
        (0, "get_witness_schedule") => view(&|c| m::witness_schedule(c, m::Form::Legacy)),
        (0, "get_hardfork_version") => view(&m::hardfork_version),
        (0, "get_next_scheduled_hardfork") => view(&m::next_scheduled_hardfork),
        (0, "get_active_witnesses") => view(&m::active_witnesses),
        (0, "get_witness_count") => view(&m::witness_count),
        (0, "get_witness_by_account") => {
            let name = string_arg(args, 0)?;
            view(&|c| m::get_witness_by_account(c, &name, &faults))
        }
        (0, "lookup_witness_accounts") => {
            let lower = string_arg(args, 0)?;
            let limit = as_uint64(arg(args, 1)?)?;
            if limit > 1000 {
                return Err(FcError::fc_assert(
                    GEN,
                    "limit <= 1000",
                    ("database_api.cpp", 687, "lookup_witness_accounts"),
                    "",
                    Vec::new(),
                )
                .into());
            }
            let limit = usize::try_from(limit).unwrap_or(1000);
            view(&|c| m::lookup_witness_accounts(c, &lower, limit))
        }
        (0, "get_accounts") => {
            let names = strings_arg(args, 0)?;
            view(&|c| m::get_accounts(c, &names))
        }
        (0, "get_block") => {
            let num = as_uint64(arg(args, 0)?)?;
            view(&|c| m::get_block(c, num))
        }
        (0, "get_block_header") => {
            let num = as_uint64(arg(args, 0)?)?;
            view(&|c| m::get_block_header(c, num))
        }
        (0, "get_transaction_hex") => {
            let tx = arg(args, 0)?;
            json!(m::transaction_hex(&sim.chain(), tx)?)
        }
        // login_api::login: no `api-user` is configured, so every login is refused.
        (1, "login") => {
            arg(args, 1)?;
            json!(false)
        }
        (1, "get_api_by_name") => {
            let name = string_arg(args, 0)?;
            API_NAMES
                .iter()
                .position(|n| *n == name)
                .map_or(Value::Null, |i| json!(i))
        }
        (1, "get_version") => view(&|c| m::get_version(c, &faults, false)),
        (2, "broadcast_transaction") => {
            let tx = arg(args, 0)?;
            rpc::broadcast(sim, node, tx, Mode::Async).await?;
            Value::Null
        }
        (2, "broadcast_transaction_synchronous") => {
            let tx = arg(args, 0)?;
            rpc::broadcast(sim, node, tx, Mode::Synchronous)
                .await?
                .unwrap_or(Value::Null)
        }
        _ => {
            return Err(FcError::unspecified(format!(
                "{}.{name} exists on steemd 0.19 but is not simulated by vwf-simchain",
                API_NAMES
                    .get(usize::try_from(api).unwrap_or(0))
                    .copied()
                    .unwrap_or("database_api")
            ))
            .into());
        }
    })
}
