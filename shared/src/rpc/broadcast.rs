//! Broadcasting a signed transaction and finding it in a block.
//!
//! Broadcasts are sent exactly once per call and never retried by the client: after a timeout it
//! cannot know whether the node got the transaction. Re-sending is safe only with the *same*
//! signed bytes, because the node's duplicate check then refuses the second copy instead of
//! applying it; a rebuilt transaction (new expiration or TaPoS) has a new id and could apply twice.

use std::time::Duration;

use serde_json::Value;
use serde_json::value::RawValue;

use super::block::{BroadcastResult, Inclusion};
use super::client::NodeClient;
use super::error::RpcError;
use super::node_error::NodeError;
use super::style::{Api, raw_arg};
use crate::transaction::SignedTransaction;

/// How a re-sent broadcast was received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rebroadcast {
    /// The node took this copy: the earlier attempt never reached it.
    Accepted,
    /// The node already had the transaction ("Duplicate transaction check failed"): the earlier
    /// attempt did reach it.
    AlreadyKnown,
}

impl NodeClient {
    /// Broadcasts and waits until the transaction is in a block or has expired, within
    /// [`ClientOptions::synchronous_broadcast_timeout`](super::ClientOptions::synchronous_broadcast_timeout).
    /// Sent once, never retried.
    ///
    /// The answer must name `tx`'s id: a success for another transaction (a proxy mixing up
    /// answers, a node reporting what it had pending) says nothing about ours and is
    /// [`RpcError::TransactionIdMismatch`].
    pub async fn broadcast_transaction_synchronous(
        &self,
        tx: &SignedTransaction,
    ) -> Result<BroadcastResult, RpcError> {
        let method = "broadcast_transaction_synchronous";
        let at = || {
            self.transport
                .site(self.style, Api::NetworkBroadcast, method)
        };
        // Computed before sending, so that a transaction whose id cannot be computed is never
        // sent unchecked.
        let sent = tx
            .transaction
            .id(&self.profile)
            .map_err(|e| RpcError::Request {
                at: at(),
                reason: e.to_string(),
            })?;
        let timeout = self.transport.options().synchronous_broadcast_timeout;
        let value = self.send(method, tx, timeout).await?;
        let result = self.parse(
            Api::NetworkBroadcast,
            method,
            BroadcastResult::from_result(value),
        )?;
        if !result.id.eq_ignore_ascii_case(&sent) {
            return Err(RpcError::TransactionIdMismatch {
                at: at(),
                sent,
                received: result.id,
            });
        }
        Ok(result)
    }

    /// Broadcasts once; `Ok` means the node validated the transaction and queued it, not that it
    /// is in a block (use [`NodeClient::wait_for_inclusion`]). Success is `null` (0.19
    /// `network_broadcast_api`) or `{}` (appbase `condenser_api` and `network_broadcast_api`,
    /// also through jussi); any other result is [`RpcError::InvalidResult`].
    ///
    /// The client never retries a broadcast: after a timeout it cannot know whether the node got
    /// the transaction. The caller may send the *same* transaction again with
    /// [`NodeClient::rebroadcast_transaction`]; it must never build a new one (new expiration or
    /// TaPoS) while the first may still be pending, since both could then apply.
    pub async fn broadcast_transaction(&self, tx: &SignedTransaction) -> Result<(), RpcError> {
        let method = "broadcast_transaction";
        let timeout = self.transport.options().timeout;
        let value = self.send(method, tx, timeout).await?;
        let accepted = match value {
            Value::Null | Value::Object(_) => Ok(()),
            other => Err(format!("expected null or {{}}, got {}", json_kind(&other))),
        };
        self.parse(Api::NetworkBroadcast, method, accepted)
    }

    /// Sends a transaction that was already given to [`NodeClient::broadcast_transaction`]
    /// again, once.
    ///
    /// This is safe only because the bytes are the same: `tx` is immutable and its JSON is
    /// deterministic, so the id is the same, and the node's duplicate check ("Duplicate
    /// transaction check failed") refuses a second copy instead of applying it. That refusal is
    /// reported as [`Rebroadcast::AlreadyKnown`]. Pass exactly the value broadcast before.
    pub async fn rebroadcast_transaction(
        &self,
        tx: &SignedTransaction,
    ) -> Result<Rebroadcast, RpcError> {
        match self.broadcast_transaction(tx).await {
            Ok(()) => Ok(Rebroadcast::Accepted),
            Err(RpcError::Node {
                kind: NodeError::DuplicateTransaction,
                ..
            }) => Ok(Rebroadcast::AlreadyKnown),
            Err(e) => Err(e),
        }
    }

    /// Scans blocks from `from_block` for `tx`'s id, polling every `poll`, until it is found or
    /// the head block time reaches the expiration with every block up to head scanned.
    ///
    /// `Included` is at head, not yet irreversible: compare `block_num` with
    /// `last_irreversible_block_num` when that matters. A failed read (after its retries) ends
    /// the wait with that error; calling again with the same `from_block` loses nothing.
    pub async fn wait_for_inclusion(
        &self,
        tx: &SignedTransaction,
        from_block: u32,
        poll: Duration,
    ) -> Result<Inclusion, RpcError> {
        let tx_id = tx
            .transaction
            .id(&self.profile)
            .map_err(|e| RpcError::Request {
                at: self.transport.site(self.style, Api::Database, "get_block"),
                reason: e.to_string(),
            })?;
        let mut next = from_block;
        loop {
            let head = self.get_dynamic_global_properties().await?;
            for num in next..=head.head_block_number {
                let block = self.get_block(num).await?;
                if let Some(index) = block.transaction_ids.iter().position(|id| *id == tx_id) {
                    return Ok(Inclusion::Included {
                        block_num: num,
                        trx_num: u32::try_from(index).unwrap_or(u32::MAX),
                    });
                }
            }
            next = next.max(head.head_block_number.saturating_add(1));
            // The next block applies its transactions against this head's time and refuses any
            // with `expiration <= head time` (SPEC §5), and later heads are later still.
            if head.time >= tx.transaction.expiration {
                return Ok(Inclusion::Expired {
                    head_block_number: head.head_block_number,
                });
            }
            tokio::time::sleep(poll).await;
        }
    }

    async fn send(
        &self,
        method: &str,
        tx: &SignedTransaction,
        timeout: Duration,
    ) -> Result<Value, RpcError> {
        let args = [self.tx_arg(Api::NetworkBroadcast, method, tx)?];
        self.transport
            .send_once(self.style, Api::NetworkBroadcast, method, &args, timeout)
            .await
    }

    /// The signed transaction's legacy JSON, embedded verbatim (SPEC §6.3).
    pub(super) fn tx_arg(
        &self,
        api: Api,
        method: &str,
        tx: &SignedTransaction,
    ) -> Result<Box<RawValue>, RpcError> {
        raw_arg(tx.to_legacy_json(&self.profile)).map_err(|e| RpcError::Request {
            at: self.transport.site(self.style, api, method),
            reason: e.to_string(),
        })
    }
}

/// The JSON type of an unexpected result, for an error (never its content: it may be long).
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
