//! The control API for tests: state, history, servers up/down and per-node faults.
//!
//! | request | body | answer |
//! |---|---|---|
//! | `GET /status` | | head, witnesses, servers, nodes with their faults, `requests` (HTTP requests), `calls` (JSON-RPC calls, each batch element counted) and `signed_requests` (requests carrying a signed transaction), schedule |
//! | `GET /history` | | blocks, misses (with the block that made them visible), applied updates |
//! | `POST /servers/{name}` | `{"up":bool}` | the server |
//! | `POST /nodes/{index}` | any subset of the fault fields below | the node's faults |
//!
//! Node faults ([`NodeFaults`]; all off by default, a field left out keeps its value, unknown
//! fields and wrong types are refused with 400). "Witness reads" are every witness object a
//! node returns: `get_witness_by_account` in each style the profile serves (VIT: `call`, API id,
//! bare name; STEEM/HIVE: `condenser_api.*` and `call condenser_api`) and, on STEEM/HIVE,
//! `database_api.find_witnesses` / `list_witnesses` (where a lied fee that is an asset of the
//! chain is shown in the appbase `{amount, precision, nai}` form). Broadcasts are
//! `broadcast_transaction` and `broadcast_transaction_synchronous` in every style, and
//! `network_broadcast_api.broadcast_transaction` on STEEM/HIVE.
//!
//! | field | value | effect |
//! |---|---|---|
//! | `latency_ms` | integer ≥ 0 | delay before every answer, in ms |
//! | `error_rate` | number 0..1 | probability of answering HTTP 500 or a JSON-RPC error |
//! | `frozen` | bool | serve the head and witnesses as they were when set |
//! | `refuse` | bool | close the port (connection refused; open connections dropped) |
//! | `wrong_chain_id` | bool | `get_config` (and appbase `get_version`) report another chain id |
//! | `lie_total_missed` | integer or null | added to `total_missed` in witness reads (floor 0) |
//! | `lie_signing_key` | public key or null | witness reads report this `signing_key`; must parse as a key of the chain's prefix (the null key too) |
//! | `lie_url` | string or null | witness reads report this `url` |
//! | `lie_account_creation_fee` | string or null | witness reads report this `props.account_creation_fee`, verbatim (e.g. `"1000000.000 VIT"`) |
//! | `head_time_shift_seconds` | integer | added to `time` (head block time) of `get_dynamic_global_properties` in every style; 0 off, negative allowed |
//! | `drop_broadcasts` | counter | next N broadcasts: checked, never pushed; async answers success, sync answers `expired` once the head passes the expiration |
//! | `broadcast_then_502` | counter | next N broadcasts: pushed as usual, answered HTTP 502 Bad Gateway with a text body at once (whatever the push's outcome) |
//! | `answer_expired` | counter | next N broadcasts: pushed as usual; sync answers at once `{"id", "block_num":0, "trx_num":0, "expired":true}`, async answers success |
//! | `fake_broadcast` | `"same-id"`, `"other-id"` or null | every broadcast: checked (invalid ones get their error), never pushed; async answers success, sync answers at once `{"id", "block_num":head+1, "trx_num":0, "expired":false}` with the real id or another 40-hex id |
//!
//! A counter is a non-negative integer (u32) counted down by one per broadcast call of either
//! method, valid transaction or not. One broadcast takes at most one broadcast fault, in this
//! order: `drop_broadcasts`, `broadcast_then_502`, `answer_expired`, then `fake_broadcast`.
//! `vwf-simchain --help` prints the same list ([`FAULTS_HELP`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use vwf_shared::{PublicKey, TimePointSec};

use crate::simchain::sim::{FAKE_OTHER_ID, FAKE_SAME_ID, NodeFaults, Sim};

/// The node faults, for `vwf-simchain --help` (the module documentation has the full table).
pub const FAULTS_HELP: &str = "\
Control API (printed on the ports line): GET /status, GET /history,
POST /servers/{name} {\"up\":bool}, POST /nodes/{index} {fault fields...}.
Node faults (all off by default; JSON null clears an optional one):
  latency_ms                integer   delay before every answer, in ms
  error_rate                0..1      probability of an HTTP 500 or a JSON-RPC error
  frozen                    bool      serve the head and witnesses as they were when set
  refuse                    bool      close the port
  wrong_chain_id            bool      get_config (and appbase get_version) report another chain id
  lie_total_missed          integer   added to total_missed in witness reads
  lie_signing_key           key       witness reads report this signing_key (chain's prefix)
  lie_url                   string    witness reads report this url
  lie_account_creation_fee  string    witness reads report this props.account_creation_fee
  head_time_shift_seconds   integer   added to get_dynamic_global_properties time
  drop_broadcasts           counter   next N broadcasts checked, never pushed
  broadcast_then_502        counter   next N broadcasts pushed, answered HTTP 502 at once
  answer_expired            counter   next N broadcasts pushed; synchronous answers expired at once
  fake_broadcast            same-id|other-id  broadcasts never pushed; synchronous answers
                                      included in head+1 with the real id or another id
A broadcast takes at most one of drop_broadcasts, broadcast_then_502, answer_expired,
fake_broadcast, in that order. Details: tests/src/simchain/control.rs.";

#[derive(Clone)]
struct Ctx {
    sim: Arc<Sim>,
    node_urls: Arc<Vec<String>>,
}

type Answer = (StatusCode, Json<Value>);

/// The control router; `node_urls` are reported in `/status`.
pub fn router(sim: Arc<Sim>, node_urls: Vec<String>) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/history", get(history))
        .route("/servers/{name}", post(set_server))
        .route("/nodes/{index}", post(set_node))
        .with_state(Ctx {
            sim,
            node_urls: Arc::new(node_urls),
        })
}

fn ms_time(ms: u64) -> String {
    TimePointSec(u32::try_from(ms / 1000).unwrap_or(u32::MAX)).to_string()
}

async fn status(State(ctx): State<Ctx>) -> Json<Value> {
    let chain = ctx.sim.chain();
    let prefix = chain.profile.address_prefix.clone();
    let head = chain.head();
    let witnesses: Vec<Value> = chain
        .witnesses
        .iter()
        .map(|w| {
            json!({
                "name": w.name,
                "filler": w.filler,
                "signing_key": w.signing_key.to_string_with_prefix(&prefix),
                "total_missed": w.total_missed,
                "last_confirmed_block_num": w.last_confirmed_block_num,
                "scheduled": chain.schedule.contains(&w.name),
                "url": w.url,
            })
        })
        .collect();
    let servers: Vec<Value> = chain
        .servers
        .iter()
        .map(|s| json!({"name": s.name, "signing_key": s.signing_key.to_string_with_prefix(&prefix), "up": s.up}))
        .collect();
    let head_json = json!({
        "num": head.num,
        "id": head.id.to_string(),
        "time": ms_time(head.time_ms),
        "witness": head.witness,
    });
    let schedule = chain.schedule.clone();
    let pending = chain.pending.len();
    drop(chain);
    let nodes: Vec<Value> = ctx
        .node_urls
        .iter()
        .enumerate()
        .map(|(i, url)| json!({"index": i, "url": url, "faults": ctx.sim.faults(i), "requests": ctx.sim.requests(i), "calls": ctx.sim.calls(i), "signed_requests": ctx.sim.signed_requests(i)}))
        .collect();
    Json(json!({
        "head": head_json,
        "witnesses": witnesses,
        "servers": servers,
        "nodes": nodes,
        "schedule": schedule,
        "pending": pending,
    }))
}

async fn history(State(ctx): State<Ctx>) -> Json<Value> {
    let chain = ctx.sim.chain();
    let prefix = &chain.profile.address_prefix;
    let blocks: Vec<Value> = chain
        .blocks
        .iter()
        .map(|b| json!({"num": b.num, "id": b.id.to_string(), "time": ms_time(b.time_ms), "time_ms": b.time_ms, "witness": b.witness}))
        .collect();
    let misses: Vec<Value> = chain
        .misses
        .iter()
        .map(|m| json!({"slot_time": ms_time(m.slot_time_ms), "slot_time_ms": m.slot_time_ms, "block_num": m.block_num, "witness": m.witness}))
        .collect();
    let updates: Vec<Value> = chain
        .updates
        .iter()
        .map(|u| json!({"block_num": u.block_num, "tx_id": u.tx_id, "owner": u.owner, "signing_key": u.signing_key.to_string_with_prefix(prefix)}))
        .collect();
    Json(json!({"blocks": blocks, "misses": misses, "updates": updates}))
}

async fn set_server(State(ctx): State<Ctx>, Path(name): Path<String>, body: Json<Value>) -> Answer {
    let Some(up) = body.get("up").and_then(Value::as_bool) else {
        return bad("body must be {\"up\": bool}");
    };
    if ctx.sim.chain().set_server(&name, up) {
        (StatusCode::OK, Json(json!({"name": name, "up": up})))
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no server {name:?}")})),
        )
    }
}

async fn set_node(State(ctx): State<Ctx>, Path(index): Path<usize>, body: Json<Value>) -> Answer {
    let Some(changes) = body.as_object() else {
        return bad("body must be a JSON object");
    };
    if index >= ctx.sim.nodes.len() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no node {index}")})),
        );
    }
    let prefix = ctx.sim.chain().profile.address_prefix.clone();
    let mut faults = ctx.sim.faults(index);
    if let Err(why) = apply(&mut faults, changes, &prefix) {
        return bad(&why);
    }
    ctx.sim.set_faults(index, faults.clone());
    (StatusCode::OK, Json(json!(faults)))
}

/// Applies the given fields; unknown fields and wrong types are refused. `prefix` is the chain's
/// public key prefix (`lie_signing_key` must parse with it).
fn apply(
    faults: &mut NodeFaults,
    changes: &Map<String, Value>,
    prefix: &str,
) -> Result<(), String> {
    for (key, value) in changes {
        let wrong = || format!("{key}: wrong type {value}");
        let counter = || {
            value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(wrong)
        };
        let text = || match value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(wrong()),
        };
        match key.as_str() {
            "latency_ms" => faults.latency_ms = value.as_u64().ok_or_else(wrong)?,
            "error_rate" => {
                let rate = value.as_f64().ok_or_else(wrong)?;
                if !(0.0..=1.0).contains(&rate) {
                    return Err("error_rate must be within 0..1".into());
                }
                faults.error_rate = rate;
            }
            "frozen" => faults.frozen = value.as_bool().ok_or_else(wrong)?,
            "refuse" => faults.refuse = value.as_bool().ok_or_else(wrong)?,
            "wrong_chain_id" => faults.wrong_chain_id = value.as_bool().ok_or_else(wrong)?,
            "drop_broadcasts" => faults.drop_broadcasts = counter()?,
            "broadcast_then_502" => faults.broadcast_then_502 = counter()?,
            "answer_expired" => faults.answer_expired = counter()?,
            "lie_total_missed" => {
                faults.lie_total_missed = match value {
                    Value::Null => None,
                    v => Some(v.as_i64().ok_or_else(wrong)?),
                }
            }
            "lie_signing_key" => {
                let lie = text()?;
                if let Some(k) = &lie {
                    PublicKey::parse(k, prefix).map_err(|e| {
                        format!("lie_signing_key: {k:?} is not a {prefix} public key: {e}")
                    })?;
                }
                faults.lie_signing_key = lie;
            }
            "lie_url" => faults.lie_url = text()?,
            "lie_account_creation_fee" => faults.lie_account_creation_fee = text()?,
            "head_time_shift_seconds" => {
                faults.head_time_shift_seconds = value.as_i64().ok_or_else(wrong)?;
            }
            "fake_broadcast" => {
                let mode = text()?;
                if let Some(m) = mode.as_deref()
                    && m != FAKE_SAME_ID
                    && m != FAKE_OTHER_ID
                {
                    return Err(format!(
                        "fake_broadcast must be {FAKE_SAME_ID:?}, {FAKE_OTHER_ID:?} or null, not {m:?}"
                    ));
                }
                faults.fake_broadcast = mode;
            }
            _ => return Err(format!("unknown fault {key:?}")),
        }
    }
    Ok(())
}

fn bad(why: &str) -> Answer {
    (StatusCode::BAD_REQUEST, Json(json!({"error": why})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn new_faults_are_set_and_cleared() -> anyhow::Result<()> {
        let null_key = PublicKey::NULL.to_string_with_prefix("VIT");
        let other_key = crate::tx::test_public_key(3)?.to_string_with_prefix("STM");
        let mut faults = NodeFaults::default();
        let set = json!({
            "lie_signing_key": null_key,
            "lie_url": "https://liar.invalid",
            "lie_account_creation_fee": "1000000.000 VIT",
            "head_time_shift_seconds": -90,
            "fake_broadcast": "other-id",
            "broadcast_then_502": 2,
            "answer_expired": 3,
        });
        assert_eq!(apply(&mut faults, &changes(set), "VIT"), Ok(()));
        assert_eq!(faults.lie_signing_key.as_deref(), Some(null_key.as_str()));
        assert_eq!(faults.lie_url.as_deref(), Some("https://liar.invalid"));
        assert_eq!(
            faults.lie_account_creation_fee.as_deref(),
            Some("1000000.000 VIT")
        );
        assert_eq!(faults.head_time_shift_seconds, -90);
        assert_eq!(faults.fake_broadcast.as_deref(), Some("other-id"));
        assert_eq!((faults.broadcast_then_502, faults.answer_expired), (2, 3));
        let stm = json!({"lie_signing_key": other_key, "fake_broadcast": "same-id"});
        assert_eq!(apply(&mut faults, &changes(stm), "STM"), Ok(()));
        assert_eq!(faults.lie_signing_key.as_deref(), Some(other_key.as_str()));
        assert_eq!(faults.fake_broadcast.as_deref(), Some("same-id"));
        let clear = json!({
            "lie_signing_key": null, "lie_url": null, "lie_account_creation_fee": null,
            "head_time_shift_seconds": 0, "fake_broadcast": null,
            "broadcast_then_502": 0, "answer_expired": 0,
        });
        assert_eq!(apply(&mut faults, &changes(clear), "STM"), Ok(()));
        assert_eq!(faults, NodeFaults::default());
        Ok(())
    }

    #[test]
    fn bad_fault_values_are_refused() -> anyhow::Result<()> {
        let stm_key = crate::tx::test_public_key(3)?.to_string_with_prefix("STM");
        let refused = [
            json!({"lie_signing_key": stm_key}),
            json!({"lie_signing_key": "VIT1111111111111111111111111111111114T1Anx"}),
            json!({"lie_signing_key": "not a key"}),
            json!({"lie_signing_key": 5}),
            json!({"lie_url": true}),
            json!({"lie_account_creation_fee": 1000}),
            json!({"head_time_shift_seconds": "10"}),
            json!({"head_time_shift_seconds": 1.5}),
            json!({"fake_broadcast": "maybe"}),
            json!({"fake_broadcast": true}),
            json!({"broadcast_then_502": -1}),
            json!({"broadcast_then_502": 4_294_967_296u64}),
            json!({"answer_expired": "1"}),
        ];
        for body in refused {
            let mut faults = NodeFaults::default();
            assert!(
                apply(&mut faults, &changes(body.clone()), "VIT").is_err(),
                "{body}"
            );
        }
        Ok(())
    }

    #[test]
    fn every_fault_field_is_settable_and_documented() {
        let all = changes(json!(NodeFaults::default()));
        assert_eq!(all.len(), 14);
        let mut faults = NodeFaults {
            latency_ms: 5,
            lie_url: Some("x".into()),
            ..NodeFaults::default()
        };
        assert_eq!(apply(&mut faults, &all, "VIT"), Ok(()));
        assert_eq!(
            faults,
            NodeFaults::default(),
            "the serialised form applies back"
        );
        let module_doc = include_str!("control.rs");
        for field in all.keys() {
            assert!(
                FAULTS_HELP.contains(field.as_str()),
                "{field} missing from FAULTS_HELP"
            );
            assert!(
                module_doc.contains(&format!("//! | `{field}` |")),
                "{field} missing from the module's fault table"
            );
        }
    }
}
