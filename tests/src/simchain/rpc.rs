//! One JSON-RPC request to a node, answered the way its generation does (SPEC §7.1–§7.3).
//!
//! VIT answers like steemd 0.19 ([`legacy`](crate::simchain::legacy)): fc's websocket/HTTP API
//! with the `call` form and API ids, no `jsonrpc` member, every failure `code: 1` with fc's detail
//! string. STEEM and HIVE answer like appbase ([`appbase`](crate::simchain::appbase)): the
//! json_rpc plugin's `api.method` names and `call` form, `database_api`/`block_api`/
//! `network_broadcast_api` with object arguments, `condenser_api` with array arguments, and
//! errors with the plugin's codes. This module holds what both share: the reply type, the
//! signed-request counter and the broadcasts with their per-node faults.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use vwf_shared::{Digest, TimePointSec};

use crate::simchain::chain::TxOutcome;
use crate::simchain::fc_error::{FcError, Gen};
use crate::simchain::sim::{BroadcastFault, Sim};
use crate::simchain::{appbase, legacy};

/// What the node sends back for one request.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// A JSON-RPC answer (HTTP 200).
    Json(Value),
    /// A non-JSON body with HTTP 200: steemd 0.19 answers a request it cannot even read with
    /// fc's detail string as the whole body (steemit/fc@31f6eab `src/rpc/websocket_api.cpp`,
    /// `on_message`'s outer `catch`).
    Text(String),
    /// HTTP 502 Bad Gateway with a short text body, as a proxy that lost the node's answer
    /// (`broadcast_then_502`).
    BadGateway,
}

/// Why a method gives no result.
#[derive(Debug)]
pub enum Failure {
    /// An fc exception, answered in the generation's error form.
    Fc(FcError),
    /// No JSON-RPC answer at all: HTTP 502 (the `broadcast_then_502` fault).
    BadGateway,
}

impl From<FcError> for Failure {
    fn from(e: FcError) -> Self {
        Failure::Fc(e)
    }
}

/// Answers one request body on node `node`.
pub async fn handle(sim: &Arc<Sim>, node: usize, body: &[u8]) -> Reply {
    let generation = Gen::of(sim.chain().profile.name);
    if serde_json::from_slice::<Value>(body).is_ok_and(|v| carries_signature(&v)) {
        sim.count_signed_request(node);
    }
    match generation {
        Gen::S19 => legacy::handle(sim, node, body).await,
        Gen::Steem | Gen::Hive => appbase::handle(sim, node, generation, body).await,
    }
}

/// The JSON-RPC error a node sends for a failure of its own (the `error_rate` fault): fc's
/// plain `exception` ("unspecified") in the generation's envelope.
pub fn fault_reply(sim: &Sim, body: &[u8]) -> Reply {
    let generation = Gen::of(sim.chain().profile.name);
    let id = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .unwrap_or_default();
    let e = FcError::unspecified("simulated node fault (error_rate)");
    Reply::Json(match generation {
        Gen::S19 => legacy::error_envelope(id, &e),
        Gen::Steem | Gen::Hive => appbase::error_envelope(generation, id, -32000, &e),
    })
}

/// Whether any object in the request has a non-empty `signatures` array (a signed
/// transaction, in whatever position the method takes it).
pub fn carries_signature(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, v)| {
            (key == "signatures" && v.as_array().is_some_and(|a| !a.is_empty()))
                || carries_signature(v)
        }),
        Value::Array(items) => items.iter().any(carries_signature),
        _ => false,
    }
}

/// The node's clock as fc writes log timestamps (whole seconds, ISO without zone).
pub fn now_timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    TimePointSec(u32::try_from(secs).unwrap_or(u32::MAX)).to_string()
}

/// Whether a broadcast waits for the block (`broadcast_transaction_synchronous`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `broadcast_transaction`: answered once the node accepts it.
    Async,
    /// `broadcast_transaction_synchronous`: answered with `{id, block_num, trx_num, expired}`
    /// once a block includes it or it expires.
    Synchronous,
}

/// Broadcasts a legacy-JSON transaction on node `node`, taking the node's next broadcast fault.
/// `Ok(None)` for an accepted asynchronous broadcast, `Ok(Some(confirmation))` for a
/// synchronous one.
pub async fn broadcast(
    sim: &Arc<Sim>,
    node: usize,
    tx: &Value,
    mode: Mode,
) -> Result<Option<Value>, Failure> {
    let fault = sim.take_broadcast_fault(node);
    match (mode, fault) {
        (_, BroadcastFault::BadGateway) => push_then_bad_gateway(sim, tx),
        (Mode::Async, BroadcastFault::None | BroadcastFault::AnswerExpired) => {
            sim.chain().push_transaction(tx)?;
            Ok(None)
        }
        (Mode::Async, BroadcastFault::Drop) => {
            sim.chain().check_transaction(tx)?;
            Ok(None)
        }
        (Mode::Async, BroadcastFault::Fake { .. }) => {
            let checked = sim.chain().check_transaction(tx)?;
            tracing::info!(id = %checked.id, "not pushing a broadcast (fake_broadcast fault)");
            Ok(None)
        }
        (Mode::Synchronous, BroadcastFault::None) => broadcast_synchronous(sim, tx).await.map(Some),
        (Mode::Synchronous, BroadcastFault::Drop) => dropped_synchronous(sim, tx).await.map(Some),
        (Mode::Synchronous, BroadcastFault::AnswerExpired) => {
            let id = sim.chain().push_transaction(tx)?;
            tracing::info!(%id, "answering expired at once (answer_expired fault)");
            Ok(Some(
                json!({"id": id, "block_num": 0, "trx_num": 0, "expired": true}),
            ))
        }
        (Mode::Synchronous, BroadcastFault::Fake { other_id }) => {
            fake_synchronous(sim, node, tx, other_id).map(Some)
        }
    }
}

/// `broadcast_then_502`: pushes `tx` as usual, then answers HTTP 502 whatever the push's outcome
/// (the proxy lost the node's answer, an error included).
fn push_then_bad_gateway(sim: &Sim, tx: &Value) -> Result<Option<Value>, Failure> {
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
fn fake_synchronous(sim: &Sim, node: usize, tx: &Value, other_id: bool) -> Result<Value, Failure> {
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
async fn broadcast_synchronous(sim: &Arc<Sim>, tx: &Value) -> Result<Value, Failure> {
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
async fn dropped_synchronous(sim: &Arc<Sim>, tx: &Value) -> Result<Value, Failure> {
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
#[path = "rpc_tests.rs"]
mod tests;
