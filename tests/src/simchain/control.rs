//! The control API for tests: state, history, servers up/down and per-node faults.
//!
//! | request | body | answer |
//! |---|---|---|
//! | `GET /status` | | head, witnesses, servers, nodes with their faults, schedule |
//! | `GET /history` | | blocks, misses (with the block that made them visible), applied updates |
//! | `POST /servers/{name}` | `{"up":bool}` | the server |
//! | `POST /nodes/{index}` | any subset of the [`NodeFaults`] fields | the node's faults |

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use vwf_shared::TimePointSec;

use crate::simchain::sim::{NodeFaults, Sim};

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
        .map(|(i, url)| json!({"index": i, "url": url, "faults": ctx.sim.faults(i), "requests": ctx.sim.requests(i)}))
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
    let mut faults = ctx.sim.faults(index);
    if let Err(why) = apply(&mut faults, changes) {
        return bad(&why);
    }
    ctx.sim.set_faults(index, faults.clone());
    (StatusCode::OK, Json(json!(faults)))
}

/// Applies the given fields; unknown fields and wrong types are refused.
fn apply(faults: &mut NodeFaults, changes: &Map<String, Value>) -> Result<(), String> {
    for (key, value) in changes {
        let wrong = || format!("{key}: wrong type {value}");
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
            "drop_broadcasts" => {
                let n = value.as_u64().ok_or_else(wrong)?;
                faults.drop_broadcasts = u32::try_from(n).map_err(|_| wrong())?;
            }
            "lie_total_missed" => {
                faults.lie_total_missed = match value {
                    Value::Null => None,
                    v => Some(v.as_i64().ok_or_else(wrong)?),
                }
            }
            _ => return Err(format!("unknown fault {key:?}")),
        }
    }
    Ok(())
}

fn bad(why: &str) -> Answer {
    (StatusCode::BAD_REQUEST, Json(json!({"error": why})))
}
