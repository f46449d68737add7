//! The JSON-RPC envelope and routing (SPEC §7.1–§7.3).
//!
//! VIT answers like steemd 0.19: the `call` form (and bare method names, routed to
//! `database_api`), no `jsonrpc` member, errors as `code: 1` with fc's detail string, and
//! `condenser_api` unknown (a "Bad Cast"). STEEM and HIVE answer like appbase: `condenser_api.*`
//! and the `call` form, `"jsonrpc":"2.0"`, errors as `-32000` with the fc text in `message` and
//! `data`.

use std::sync::Arc;

use serde_json::{Value, json};
use vwf_shared::ProfileName;

use crate::simchain::chain::TxOutcome;
use crate::simchain::fc_error::FcError;
use crate::simchain::methods as m;
use crate::simchain::sim::Sim;

/// A failed call: an fc exception, or an appbase-level protocol error.
#[derive(Debug)]
pub enum RpcError {
    /// A chain or API exception, reported with fc's text.
    Fc(FcError),
    /// A JSON-RPC protocol error (`-32700` parse, `-32600` invalid request, `-32601` no method).
    Protocol(i64, String),
}

impl From<FcError> for RpcError {
    fn from(e: FcError) -> Self {
        RpcError::Fc(e)
    }
}

/// Answers one request body on node `node`.
pub async fn handle(sim: &Arc<Sim>, node: usize, body: &[u8]) -> Value {
    let legacy = sim.chain().profile.name == ProfileName::Vit;
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let err = if legacy {
                RpcError::Fc(FcError::parse(e.to_string()))
            } else {
                RpcError::Protocol(-32700, format!("Parse Error: {e}"))
            };
            return envelope(legacy, Value::Null, Err(err));
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let result = dispatch(sim, node, legacy, &request).await;
    envelope(legacy, id, result)
}

/// Builds the response object for the profile's style.
pub fn envelope(legacy: bool, id: Value, result: Result<Value, RpcError>) -> Value {
    let mut out = match result {
        Ok(result) => json!({"id": id, "result": result}),
        Err(RpcError::Fc(e)) => {
            let code = if legacy { 1 } else { -32000 };
            json!({"id": id, "error": {"code": code, "message": e.message(), "data": e.data()}})
        }
        Err(RpcError::Protocol(code, message)) => {
            let code = if legacy { 1 } else { code };
            json!({"id": id, "error": {"code": code, "message": message}})
        }
    };
    if let (false, Value::Object(map)) = (legacy, &mut out) {
        map.insert("jsonrpc".into(), json!("2.0"));
    }
    out
}

/// Splits a request into (api, method, args).
fn route(request: &Value) -> Result<(String, String, Vec<Value>), RpcError> {
    let invalid = |why: &str| RpcError::Protocol(-32600, format!("Invalid Request: {why}"));
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("method must be a string"))?;
    let params = match request.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(invalid("params must be an array")),
    };
    if method == "call" {
        let [api, name, rest @ ..] = params.as_slice() else {
            return Err(invalid("call needs [api, method, args]"));
        };
        let api = match api {
            Value::String(s) => s.clone(),
            Value::Number(n) => match n.as_u64() {
                Some(0) => "database_api".into(),
                Some(1) => "login_api".into(),
                Some(2) => "network_broadcast_api".into(),
                _ => format!("api #{n}"),
            },
            other => other.to_string(),
        };
        let name = name
            .as_str()
            .ok_or_else(|| invalid("method must be a string"))?;
        let args = match rest.first() {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(invalid("args must be an array")),
        };
        return Ok((api, name.to_owned(), args));
    }
    match method.split_once('.') {
        Some((api, name)) => Ok((api.to_owned(), name.to_owned(), params)),
        None => Ok(("database_api".into(), method.to_owned(), params)),
    }
}

async fn dispatch(
    sim: &Arc<Sim>,
    node: usize,
    legacy: bool,
    request: &Value,
) -> Result<Value, RpcError> {
    let (api, method, args) = route(request)?;
    let known_api = matches!(
        api.as_str(),
        "database_api" | "login_api" | "network_broadcast_api"
    ) || (!legacy && api == "condenser_api");
    if !known_api {
        return Err(if legacy {
            FcError::bad_cast(format!(
                "Bad Cast: Invalid cast from type 'null_type' to Object (no API named {api:?})"
            ))
            .into()
        } else {
            RpcError::Protocol(-32601, format!("Could not find API {api}"))
        });
    }
    let faults = sim.faults(node);
    let condenser = api == "condenser_api";
    let in_api = |list: &[&str]| condenser || list.contains(&api.as_str());
    let db = ["database_api"];
    let view = |f: &dyn Fn(&crate::simchain::chain::ChainState) -> Value| sim.with_view(node, f);
    match method.as_str() {
        "get_config" if in_api(&db) => Ok(view(&|c| m::get_config(c, &faults))),
        "get_dynamic_global_properties" if in_api(&db) => {
            Ok(view(&m::get_dynamic_global_properties))
        }
        "get_witness_by_account" if in_api(&db) => Ok(view(&|c| {
            m::get_witness_by_account(c, &args, faults.lie_total_missed)
        })),
        "get_accounts" if in_api(&db) => Ok(view(&|c| m::get_accounts(c, &args))),
        "get_block" if in_api(&db) => Ok(view(&|c| m::get_block(c, &args))),
        "get_block_header" if in_api(&db) => Ok(view(&|c| m::get_block_header(c, &args))),
        "get_chain_properties" if in_api(&db) => Ok(view(&m::get_chain_properties)),
        "get_hardfork_version" if in_api(&db) => Ok(view(&m::get_hardfork_version)),
        "get_active_witnesses" if in_api(&db) => Ok(view(&m::get_active_witnesses)),
        "get_transaction_hex" if in_api(&db) => Ok(m::get_transaction_hex(&sim.chain(), &args)?),
        "get_version" if in_api(&["login_api"]) => Ok(view(&m::get_version)),
        "login" if api == "login_api" => Ok(json!(true)),
        "get_api_by_name" if api == "login_api" => Ok(match args.first().and_then(Value::as_str) {
            Some("database_api") => json!(0),
            Some("login_api") => json!(1),
            Some("network_broadcast_api") => json!(2),
            _ => Value::Null,
        }),
        "broadcast_transaction" if in_api(&["network_broadcast_api"]) => {
            let tx = args
                .first()
                .ok_or_else(|| FcError::assert("missing transaction"))?;
            if sim.take_dropped_broadcast(node) {
                sim.chain().check_transaction(tx)?;
            } else {
                sim.chain().push_transaction(tx)?;
            }
            Ok(if condenser { json!({}) } else { Value::Null })
        }
        "broadcast_transaction_synchronous" if in_api(&["network_broadcast_api"]) => {
            let tx = args
                .first()
                .ok_or_else(|| FcError::assert("missing transaction"))?;
            if sim.take_dropped_broadcast(node) {
                dropped_synchronous(sim, tx).await
            } else {
                broadcast_synchronous(sim, tx).await
            }
        }
        _ => Err(if legacy {
            FcError::assert(format!(
                "itr != _by_name.end(): no method with name '{method}'"
            ))
            .into()
        } else {
            RpcError::Protocol(-32601, format!("Could not find method {api}.{method}"))
        }),
    }
}

/// Pushes `tx`, then answers once a block includes it or it expires.
async fn broadcast_synchronous(sim: &Arc<Sim>, tx: &Value) -> Result<Value, RpcError> {
    let mut head = sim.head.subscribe();
    let id = sim.chain().push_transaction(tx)?;
    loop {
        let outcome = sim.chain().outcomes.get(&id).copied();
        match outcome {
            Some(TxOutcome::Included { block_num, trx_num }) => {
                return Ok(
                    json!({"id": id, "block_num": block_num, "trx_num": trx_num, "expired": false}),
                );
            }
            Some(TxOutcome::Expired) => {
                return Ok(json!({"id": id, "block_num": 0, "trx_num": 0, "expired": true}));
            }
            None => {}
        }
        if head.changed().await.is_err() {
            return Err(FcError::unspecified("node shutting down").into());
        }
    }
}

/// A dropped `broadcast_transaction_synchronous`: checked like any other, never pending, and
/// answered `expired` once the head block time reaches its expiration.
async fn dropped_synchronous(sim: &Arc<Sim>, tx: &Value) -> Result<Value, RpcError> {
    let mut head = sim.head.subscribe();
    let checked = sim.chain().check_transaction(tx)?;
    let expiration = checked.signed.transaction.expiration.0;
    tracing::info!(id = %checked.id, "dropping a broadcast (drop_broadcasts fault)");
    while sim.chain().head().time_sec() < expiration {
        if head.changed().await.is_err() {
            return Err(FcError::unspecified("node shutting down").into());
        }
    }
    Ok(json!({"id": checked.id, "block_num": 0, "trx_num": 0, "expired": true}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_form_and_bare_names_route_to_apis() {
        let r = route(&json!({"method":"call","params":["database_api","get_config",[]]}));
        assert!(matches!(r, Ok((a, m, _)) if a == "database_api" && m == "get_config"));
        let r = route(&json!({"method":"get_config","params":[]}));
        assert!(matches!(r, Ok((a, _, _)) if a == "database_api"));
        let r = route(&json!({"method":"condenser_api.get_config","params":[]}));
        assert!(matches!(r, Ok((a, _, _)) if a == "condenser_api"));
        assert!(route(&json!({"method":"call","params":["x"]})).is_err());
        assert!(route(&json!({"method":1})).is_err());
    }

    #[test]
    fn legacy_envelope_has_no_jsonrpc_member() {
        let ok = envelope(true, json!(1), Ok(json!(null)));
        assert_eq!(ok, json!({"id":1,"result":null}));
        let err = envelope(false, json!(2), Err(FcError::irrelevant_sig().into()));
        assert_eq!(err["jsonrpc"], "2.0");
        assert_eq!(err["error"]["code"], -32000);
    }
}
