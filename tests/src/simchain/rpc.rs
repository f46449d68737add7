//! The JSON-RPC envelope and routing (SPEC §7.1–§7.3).
//!
//! VIT answers like steemd 0.19: the `call` form (and bare method names, routed to
//! `database_api`), no `jsonrpc` member, errors as `code: 1` with fc's detail string, and
//! `condenser_api` unknown (a "Bad Cast"). STEEM and HIVE answer like appbase: `condenser_api.*`
//! and the `call` form, `"jsonrpc":"2.0"`, errors as `-32000` with the fc text in `message` and
//! `data`.

use std::sync::Arc;

use serde_json::{Value, json};
use vwf_shared::{Digest, ProfileName};

use crate::simchain::chain::TxOutcome;
use crate::simchain::fc_error::FcError;
use crate::simchain::methods as m;
use crate::simchain::sim::{BroadcastFault, Sim};

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

/// Why [`dispatch`] gives no JSON-RPC result.
enum Failure {
    /// Answered in the JSON-RPC envelope.
    Rpc(RpcError),
    /// No JSON-RPC answer at all: HTTP 502 (the `broadcast_then_502` fault).
    BadGateway,
}

impl From<RpcError> for Failure {
    fn from(e: RpcError) -> Self {
        Failure::Rpc(e)
    }
}

impl From<FcError> for Failure {
    fn from(e: FcError) -> Self {
        Failure::Rpc(RpcError::Fc(e))
    }
}

/// What the node sends back for one request.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// A JSON-RPC answer (HTTP 200).
    Json(Value),
    /// HTTP 502 Bad Gateway with a short text body, as a proxy that lost the node's answer
    /// (`broadcast_then_502`).
    BadGateway,
}

/// Answers one request body on node `node`.
pub async fn handle(sim: &Arc<Sim>, node: usize, body: &[u8]) -> Reply {
    let legacy = sim.chain().profile.name == ProfileName::Vit;
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let err = if legacy {
                RpcError::Fc(FcError::parse(e.to_string()))
            } else {
                RpcError::Protocol(-32700, format!("Parse Error: {e}"))
            };
            return Reply::Json(envelope(legacy, Value::Null, Err(err)));
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    if carries_signature(&request) {
        sim.count_signed_request(node);
    }
    match dispatch(sim, node, legacy, &request).await {
        Ok(result) => Reply::Json(envelope(legacy, id, Ok(result))),
        Err(Failure::Rpc(e)) => Reply::Json(envelope(legacy, id, Err(e))),
        Err(Failure::BadGateway) => Reply::BadGateway,
    }
}

/// Whether any object in the request has a non-empty `signatures` array (a signed
/// transaction, in whatever position the method takes it).
fn carries_signature(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, v)| {
            (key == "signatures" && v.as_array().is_some_and(|a| !a.is_empty()))
                || carries_signature(v)
        }),
        Value::Array(items) => items.iter().any(carries_signature),
        _ => false,
    }
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
) -> Result<Value, Failure> {
    let (api, method, args) = route(request)?;
    let known_api = matches!(
        api.as_str(),
        "database_api" | "login_api" | "network_broadcast_api"
    ) || (!legacy && api == "condenser_api");
    if !known_api {
        return Err(Failure::Rpc(if legacy {
            FcError::bad_cast(format!(
                "Bad Cast: Invalid cast from type 'null_type' to Object (no API named {api:?})"
            ))
            .into()
        } else {
            RpcError::Protocol(-32601, format!("Could not find API {api}"))
        }));
    }
    let faults = sim.faults(node);
    let condenser = api == "condenser_api";
    let in_api = |list: &[&str]| condenser || list.contains(&api.as_str());
    let db = ["database_api"];
    let view = |f: &dyn Fn(&crate::simchain::chain::ChainState) -> Value| sim.with_view(node, f);
    match method.as_str() {
        "get_config" if in_api(&db) => Ok(view(&|c| m::get_config(c, &faults))),
        "get_dynamic_global_properties" if in_api(&db) => {
            Ok(view(&|c| m::get_dynamic_global_properties(c, &faults)))
        }
        "get_witness_by_account" if in_api(&db) => {
            Ok(view(&|c| m::get_witness_by_account(c, &args, &faults)))
        }
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
            match sim.take_broadcast_fault(node) {
                BroadcastFault::None | BroadcastFault::AnswerExpired => {
                    sim.chain().push_transaction(tx)?;
                }
                BroadcastFault::Drop => {
                    sim.chain().check_transaction(tx)?;
                }
                BroadcastFault::Fake { .. } => {
                    let checked = sim.chain().check_transaction(tx)?;
                    tracing::info!(id = %checked.id, "not pushing a broadcast (fake_broadcast fault)");
                }
                BroadcastFault::BadGateway => return push_then_bad_gateway(sim, tx),
            }
            Ok(if condenser { json!({}) } else { Value::Null })
        }
        "broadcast_transaction_synchronous" if in_api(&["network_broadcast_api"]) => {
            let tx = args
                .first()
                .ok_or_else(|| FcError::assert("missing transaction"))?;
            Ok(match sim.take_broadcast_fault(node) {
                BroadcastFault::None => broadcast_synchronous(sim, tx).await?,
                BroadcastFault::Drop => dropped_synchronous(sim, tx).await?,
                BroadcastFault::BadGateway => return push_then_bad_gateway(sim, tx),
                BroadcastFault::AnswerExpired => {
                    let id = sim.chain().push_transaction(tx)?;
                    tracing::info!(%id, "answering expired at once (answer_expired fault)");
                    json!({"id": id, "block_num": 0, "trx_num": 0, "expired": true})
                }
                BroadcastFault::Fake { other_id } => fake_synchronous(sim, node, tx, other_id)?,
            })
        }
        _ => Err(Failure::Rpc(if legacy {
            FcError::assert(format!(
                "itr != _by_name.end(): no method with name '{method}'"
            ))
            .into()
        } else {
            RpcError::Protocol(-32601, format!("Could not find method {api}.{method}"))
        })),
    }
}

/// `broadcast_then_502`: pushes `tx` as usual, then answers HTTP 502 whatever the push's outcome
/// (the proxy lost the node's answer, an error included).
fn push_then_bad_gateway(sim: &Sim, tx: &Value) -> Result<Value, Failure> {
    match sim.chain().push_transaction(tx) {
        Ok(id) => tracing::info!(%id, "pushed; answering 502 (broadcast_then_502 fault)"),
        Err(e) => {
            tracing::info!(error = %e.message(), "refused; answering 502 (broadcast_then_502 fault)")
        }
    }
    Err(Failure::BadGateway)
}

/// `fake_broadcast` on `broadcast_transaction_synchronous`: checked like any other, never
/// pushed, answered at once as included in the block after the node's head, at position 0.
fn fake_synchronous(sim: &Sim, node: usize, tx: &Value, other_id: bool) -> Result<Value, RpcError> {
    let checked = sim.chain().check_transaction(tx)?;
    let id = if other_id {
        other_tx_id(&checked.id)
    } else {
        checked.id
    };
    tracing::info!(%id, "answering a broadcast never pushed (fake_broadcast fault)");
    let block_num = sim.with_view(node, |c| c.head_num()).saturating_add(1);
    Ok(json!({"id": id, "block_num": block_num, "trx_num": 0, "expired": false}))
}

/// A 40-hex transaction id derived from, and different from, `id` (`fake_broadcast: "other-id"`).
fn other_tx_id(id: &str) -> String {
    let digest = Digest::sha256(&[b"vwf-simchain other-id", id.as_bytes()]);
    hex::encode(&digest.0[..20])
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
    use clap::Parser;
    use vwf_shared::{PublicKey, TimePointSec};

    use super::*;
    use crate::simchain::chain::ChainState;
    use crate::simchain::config::{Cli, SimSetup};
    use crate::simchain::sim::NodeFaults;
    use crate::tx::{sign, test_public_key, to_value, transaction, witness_update};

    const OWNER: &str = "vit-test-witness";

    /// A simulator with the default config (one witness, active key = test key 0) and one node.
    fn sim(profile: ProfileName) -> anyhow::Result<Arc<Sim>> {
        let cli = Cli::parse_from(["vwf-simchain", "--profile", profile.as_str()]);
        let setup = SimSetup::from_cli(&cli, 1_700_000_000_000)?;
        Ok(Sim::new(ChainState::new(&setup), 1))
    }

    /// A valid signed `witness_update` setting test key `new_key` (distinct keys, distinct ids).
    fn update_tx(sim: &Sim, new_key: usize) -> anyhow::Result<Value> {
        let chain = sim.chain();
        let profile = chain.profile.clone();
        let op = witness_update(&profile, OWNER, test_public_key(new_key)?);
        let head = chain.head();
        let tx = transaction(op, &head.id, TimePointSec(head.time_sec()), 60)?;
        to_value(&sign(tx, 0, &profile)?, &profile)
    }

    /// The requests calling `method` with `args` in every style `profile` serves for `api`.
    fn styles(profile: ProfileName, api: &str, method: &str, args: &Value) -> Vec<Value> {
        let mut out = vec![
            json!({"id": 1, "method": "call", "params": [api, method, args]}),
            json!({"id": 2, "method": format!("{api}.{method}"), "params": args}),
        ];
        if api == "database_api" {
            out.push(json!({"id": 3, "method": "call", "params": [0, method, args]}));
            out.push(json!({"id": 4, "method": method, "params": args}));
        }
        if profile != ProfileName::Vit {
            out.push(json!({"id": 5, "method": format!("condenser_api.{method}"), "params": args}));
            out.push(json!({"id": 6, "method": "call", "params": ["condenser_api", method, args]}));
        }
        out
    }

    /// The `result` of a JSON-RPC answer; the whole answer when there is none (so an error shows
    /// in a failed assertion), `"502"` for a Bad Gateway.
    async fn result(sim: &Arc<Sim>, request: &Value) -> Value {
        match handle(sim, 0, request.to_string().as_bytes()).await {
            Reply::Json(answer) => answer.get("result").cloned().unwrap_or(answer),
            Reply::BadGateway => json!("502"),
        }
    }

    fn set(sim: &Sim, f: impl FnOnce(&mut NodeFaults)) {
        let mut faults = sim.faults(0);
        f(&mut faults);
        sim.set_faults(0, faults);
    }

    #[test]
    fn signed_transactions_are_recognized_in_any_position() {
        let signed = json!({"method":"call","params":["network_broadcast_api","broadcast_transaction",[{"signatures":["1f00"]}]]});
        let unsigned =
            json!({"method":"condenser_api.get_transaction_hex","params":[{"signatures":[]}]});
        assert!(carries_signature(&signed));
        assert!(!carries_signature(&unsigned));
    }

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

    #[tokio::test]
    async fn lying_witness_reads_in_every_style() -> anyhow::Result<()> {
        for profile in ProfileName::ALL {
            let sim = sim(profile)?;
            let prefix = sim.chain().profile.address_prefix.clone();
            let real_key = sim
                .chain()
                .witness(OWNER)
                .map(|w| w.signing_key.to_string_with_prefix(&prefix))
                .unwrap_or_default();
            let lies = [
                PublicKey::NULL.to_string_with_prefix(&prefix),
                test_public_key(3)?.to_string_with_prefix(&prefix),
            ];
            for lie in lies {
                assert_ne!(lie, real_key);
                set(&sim, |f| {
                    f.lie_signing_key = Some(lie.clone());
                    f.lie_url = Some("https://liar.invalid".into());
                    f.lie_account_creation_fee = Some("1000000.000 VIT".into());
                    f.lie_total_missed = Some(7);
                });
                let requests = styles(
                    profile,
                    "database_api",
                    "get_witness_by_account",
                    &json!([OWNER]),
                );
                for request in &requests {
                    let w = result(&sim, request).await;
                    assert_eq!(w["owner"], OWNER, "{profile} {request}: {w}");
                    assert_eq!(w["signing_key"], lie.as_str(), "{profile} {request}");
                    assert_eq!(w["url"], "https://liar.invalid", "{profile} {request}");
                    assert_eq!(w["props"]["account_creation_fee"], "1000000.000 VIT");
                    assert_eq!(w["total_missed"], 7);
                }
            }
            set(&sim, |f| *f = NodeFaults::default());
            let request = json!({"id": 1, "method": "call", "params": ["database_api", "get_witness_by_account", [OWNER]]});
            let w = result(&sim, &request).await;
            assert_eq!(w["signing_key"], real_key.as_str(), "{profile}: cleared");
            assert_eq!(w["url"], "No website yet");
            assert_ne!(w["props"]["account_creation_fee"], "1000000.000 VIT");
        }
        Ok(())
    }

    #[tokio::test]
    async fn head_time_shift_moves_the_dgp_time() -> anyhow::Result<()> {
        for profile in ProfileName::ALL {
            let sim = sim(profile)?;
            let head = sim.chain().head().time_sec();
            for shift in [-3600i64, 7] {
                set(&sim, |f| f.head_time_shift_seconds = shift);
                let expected = TimePointSec(u32::try_from(i64::from(head) + shift)?).to_string();
                let args = json!([]);
                for request in styles(
                    profile,
                    "database_api",
                    "get_dynamic_global_properties",
                    &args,
                ) {
                    let dgp = result(&sim, &request).await;
                    assert_eq!(dgp["time"], expected.as_str(), "{profile} {request}: {dgp}");
                    assert_eq!(dgp["head_block_number"], sim.chain().head_num());
                }
            }
        }
        Ok(())
    }

    #[tokio::test]
    async fn fake_broadcast_answers_without_pushing() -> anyhow::Result<()> {
        for profile in ProfileName::ALL {
            let sim = sim(profile)?;
            let head = sim.chain().head_num();
            for (n, (mode, other)) in [("same-id", false), ("other-id", true)]
                .into_iter()
                .enumerate()
            {
                set(&sim, |f| f.fake_broadcast = Some(mode.into()));
                let tx = update_tx(&sim, 2 + n)?;
                let real_id = sim.chain().check_transaction(&tx)?.id;
                for request in styles(
                    profile,
                    "network_broadcast_api",
                    "broadcast_transaction_synchronous",
                    &json!([tx]),
                ) {
                    let answer = result(&sim, &request).await;
                    assert_eq!(
                        answer["block_num"],
                        head + 1,
                        "{profile} {mode} {request}: {answer}"
                    );
                    assert_eq!(answer["trx_num"], 0);
                    assert_eq!(answer["expired"], false);
                    let id = answer["id"].as_str().unwrap_or_default();
                    assert_eq!(id.len(), 40);
                    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
                    assert_eq!(id != real_id, other, "{profile} {mode}: {id} vs {real_id}");
                }
                for request in styles(
                    profile,
                    "network_broadcast_api",
                    "broadcast_transaction",
                    &json!([tx]),
                ) {
                    let answer = result(&sim, &request).await;
                    assert!(
                        answer.is_null() || answer == json!({}),
                        "{profile} {request}: {answer}"
                    );
                }
                // Invalid transactions still get the node's error.
                let mut bad = tx.clone();
                bad["signatures"] = json!([]);
                let request = json!({"id": 1, "method": "call", "params": ["network_broadcast_api", "broadcast_transaction_synchronous", [bad]]});
                let answer = result(&sim, &request).await;
                assert!(answer.get("error").is_some(), "{profile}: {answer}");
                assert!(sim.chain().pending.is_empty(), "{profile}: nothing pushed");
                assert_eq!(
                    sim.faults(0).fake_broadcast.as_deref(),
                    Some(mode),
                    "not a counter"
                );
            }
        }
        Ok(())
    }

    #[tokio::test]
    async fn broadcast_then_502_pushes_and_answers_bad_gateway() -> anyhow::Result<()> {
        for profile in ProfileName::ALL {
            let sim = sim(profile)?;
            set(&sim, |f| f.broadcast_then_502 = 2);
            let (a, b, c) = (
                update_tx(&sim, 2)?,
                update_tx(&sim, 3)?,
                update_tx(&sim, 4)?,
            );
            let call = |method: &str, tx: &Value| json!({"id": 1, "method": "call", "params": ["network_broadcast_api", method, [tx]]});
            let sync = call("broadcast_transaction_synchronous", &a);
            assert_eq!(result(&sim, &sync).await, json!("502"), "{profile}");
            assert_eq!(sim.chain().pending.len(), 1, "{profile}: pushed");
            assert_eq!(sim.faults(0).broadcast_then_502, 1);
            assert_eq!(
                result(&sim, &call("broadcast_transaction", &b)).await,
                json!("502")
            );
            assert_eq!(sim.chain().pending.len(), 2, "{profile}: pushed");
            assert_eq!(sim.faults(0).broadcast_then_502, 0);
            let answer = result(&sim, &call("broadcast_transaction", &c)).await;
            assert!(answer.is_null(), "{profile}: back to normal: {answer}");
            assert_eq!(sim.chain().pending.len(), 3);
        }
        Ok(())
    }

    #[tokio::test]
    async fn answer_expired_pushes_and_claims_expiry() -> anyhow::Result<()> {
        for profile in ProfileName::ALL {
            let sim = sim(profile)?;
            set(&sim, |f| f.answer_expired = 2);
            let (a, b) = (update_tx(&sim, 2)?, update_tx(&sim, 3)?);
            let id = sim.chain().check_transaction(&a)?.id;
            let sync = json!({"id": 1, "method": "call", "params": ["network_broadcast_api", "broadcast_transaction_synchronous", [a]]});
            let answer = result(&sim, &sync).await;
            assert_eq!(
                answer,
                json!({"id": id, "block_num": 0, "trx_num": 0, "expired": true}),
                "{profile}"
            );
            assert!(
                sim.chain().pending.iter().any(|t| t.id == id),
                "{profile}: pushed"
            );
            let async_call = json!({"id": 1, "method": "call", "params": ["network_broadcast_api", "broadcast_transaction", [b]]});
            assert!(result(&sim, &async_call).await.is_null(), "{profile}");
            assert_eq!(sim.chain().pending.len(), 2, "{profile}: pushed");
            assert_eq!(sim.faults(0).answer_expired, 0);
        }
        Ok(())
    }

    #[test]
    fn a_broadcast_takes_one_fault_in_order() -> anyhow::Result<()> {
        let sim = sim(ProfileName::Vit)?;
        set(&sim, |f| {
            f.drop_broadcasts = 1;
            f.broadcast_then_502 = 1;
            f.answer_expired = 1;
            f.fake_broadcast = Some("other-id".into());
        });
        assert_eq!(sim.take_broadcast_fault(0), BroadcastFault::Drop);
        assert_eq!(sim.take_broadcast_fault(0), BroadcastFault::BadGateway);
        assert_eq!(sim.take_broadcast_fault(0), BroadcastFault::AnswerExpired);
        assert_eq!(
            sim.take_broadcast_fault(0),
            BroadcastFault::Fake { other_id: true }
        );
        assert_eq!(
            sim.take_broadcast_fault(0),
            BroadcastFault::Fake { other_id: true }
        );
        set(&sim, |f| f.fake_broadcast = None);
        assert_eq!(sim.take_broadcast_fault(0), BroadcastFault::None);
        Ok(())
    }
}
