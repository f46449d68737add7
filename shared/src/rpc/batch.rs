//! JSON-RPC batches: the monitor's two reads per poll in one HTTP request on appbase nodes.
//!
//! Appbase's json_rpc plugin and jussi answer a JSON array body with an array of answers, one
//! per element, each under its element's id; steemd 0.19 does not (fc's websocket API reads the
//! body as one object), so the `call` style never batches. A node (or proxy) that answers a batch
//! with anything but an array has refused it: the client falls back to one request per call and
//! does not batch that node again.

use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::Value;
use serde_json::value::RawValue;
use tracing::debug;

use super::client::{DGP, NodeClient, WITNESS};
use super::error::{CallSite, RpcError};
use super::style::{Api, ApiStyle};
use super::transport::{Transport, answer, http_status_error, node_error};
use super::types::{DynamicGlobalProperties, Witness};

/// The head block and a witness, as read in one poll ([`NodeClient::head_and_witness`]).
#[derive(Clone, Debug, PartialEq)]
pub struct HeadAndWitness {
    /// `get_dynamic_global_properties`: the head block, its time, the last irreversible block.
    pub properties: DynamicGlobalProperties,
    /// `get_witness_by_account` of the requested account.
    pub witness: Witness,
}

/// One call of a batch.
pub(crate) struct BatchCall<'a> {
    /// The 0.19 API of the method.
    pub(crate) api: Api,
    /// The method name without API.
    pub(crate) method: &'a str,
    /// Its positional arguments.
    pub(crate) args: Vec<Box<RawValue>>,
}

/// What a node made of a batch.
#[derive(Debug)]
pub(crate) enum Batched {
    /// An array answer: per call, in call order, its result or its own error.
    Answers(Vec<Result<Value, RpcError>>),
    /// An answer that is not a usable batch answer (an error object, a non-array body, an array
    /// missing an element).
    Refused {
        /// What the node answered, as an error of the batch.
        error: RpcError,
        /// Whether that error is a passing one (a busy proxy, an HTTP 5xx), so the node may take
        /// batches later.
        transient: bool,
    },
}

impl Transport {
    /// Sends `calls` as one JSON-RPC batch, again with backoff (as [`Transport::read`]) while
    /// the whole answer or one of its elements fails with a retryable error. No answer at all
    /// (connect failure, timeout, oversized body) is an `Err`; an answer that is not a batch
    /// answer is [`Batched::Refused`].
    pub(crate) async fn read_batch(
        &self,
        style: ApiStyle,
        calls: &[BatchCall<'_>],
    ) -> Result<Batched, RpcError> {
        let mut delay = self.options().retry_backoff;
        let mut retries_left = self.options().read_retries;
        loop {
            let outcome = self.send_batch_once(style, calls).await;
            let retryable = match &outcome {
                Err(e) => e.is_retryable(),
                Ok(Batched::Refused { transient, .. }) => *transient,
                Ok(Batched::Answers(answers)) => answers
                    .iter()
                    .any(|a| a.as_ref().is_err_and(RpcError::is_retryable)),
            };
            if !(retryable && retries_left > 0) {
                return outcome;
            }
            debug!(node = %self.url(), ?delay, "rpc batch retry");
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
            retries_left -= 1;
        }
    }

    /// Exactly one POST holding every call, answered within the read timeout.
    async fn send_batch_once(
        &self,
        style: ApiStyle,
        calls: &[BatchCall<'_>],
    ) -> Result<Batched, RpcError> {
        let count = u64::try_from(calls.len()).unwrap_or(u64::MAX);
        let first = self.next_id.fetch_add(count, Ordering::Relaxed);
        let sites: Vec<CallSite> = calls
            .iter()
            .map(|c| self.site(style, c.api, c.method))
            .collect();
        let at = CallSite {
            url: self.url().to_owned(),
            method: format!(
                "[{}]",
                sites
                    .iter()
                    .map(|s| s.method.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut parts = Vec::with_capacity(calls.len());
        for (id, call) in (first..).zip(calls) {
            let part = style
                .body(id, call.api, call.method, &call.args)
                .map_err(|e| RpcError::Request {
                    at: at.clone(),
                    reason: e.to_string(),
                })?;
            parts.push(part);
        }
        let body = format!("[{}]", parts.join(","));
        let timeout = self.options().timeout;
        let started = Instant::now();
        let posted = match tokio::time::timeout(timeout, self.post(body, &at)).await {
            Ok(posted) => posted,
            Err(_) => Err(RpcError::Timeout {
                at: at.clone(),
                after: timeout,
            }),
        };
        debug!(
            node = %self.url(),
            method = %at.method,
            first_id = first,
            latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ok = posted.is_ok(),
            "rpc batch"
        );
        let (status, bytes) = posted?;
        let refused = |error: RpcError| {
            let transient = error.is_retryable();
            Ok(Batched::Refused { error, transient })
        };
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(_) if !status.is_success() => {
                return refused(http_status_error(status, &bytes, &at));
            }
            Err(e) => {
                return refused(RpcError::MalformedResponse {
                    at,
                    reason: format!("not JSON: {e}"),
                });
            }
        };
        let mut items = match value {
            Value::Array(items) => items,
            other => return refused(not_a_batch_answer(status, &other, &bytes, &at)),
        };
        let mut answers = Vec::with_capacity(calls.len());
        for (id, site) in (first..).zip(&sites) {
            let found = items
                .iter()
                .position(|item| item.get("id").and_then(Value::as_u64) == Some(id));
            let Some(index) = found else {
                return refused(RpcError::MalformedResponse {
                    at,
                    reason: format!("the batch answer has no element with id {id}"),
                });
            };
            let item = items.swap_remove(index);
            answers.push(answer(status, item, &bytes, id, site));
        }
        Ok(Batched::Answers(answers))
    }
}

/// The error a non-array answer to a batch carries: its JSON-RPC error, else its HTTP status,
/// else "not an array".
fn not_a_batch_answer(
    status: reqwest::StatusCode,
    value: &Value,
    bytes: &[u8],
    at: &CallSite,
) -> RpcError {
    match value.get("error").filter(|e| !e.is_null()) {
        Some(error) => node_error(error, at),
        None if !status.is_success() => http_status_error(status, bytes, at),
        None => RpcError::MalformedResponse {
            at: at.clone(),
            reason: "a batch answered with something other than an array".into(),
        },
    }
}

impl NodeClient {
    /// The head block and witness `account`, the two reads of a monitor poll.
    ///
    /// On an appbase node both go in one HTTP request (a JSON-RPC batch), each answer matched
    /// to its call by id; an error of one element is that read's error. A node that refuses the
    /// batch (an error or non-array answer) is read with one request per call, now and, unless
    /// the refusal was a passing error, from then on ([`NodeClient::batches_reads`]). A 0.19
    /// node is always read with one request per call. Reads are retried per
    /// [`ClientOptions`](super::ClientOptions); [`RpcError::NoSuchWitness`] when the node has no
    /// such witness.
    pub async fn head_and_witness(&self, account: &str) -> Result<HeadAndWitness, RpcError> {
        if self.batches_reads() {
            let calls = [
                BatchCall {
                    api: Api::Database,
                    method: DGP,
                    args: Vec::new(),
                },
                BatchCall {
                    api: Api::Database,
                    method: WITNESS,
                    args: vec![self.arg(WITNESS, account)?],
                },
            ];
            match self.transport.read_batch(self.style, &calls).await? {
                Batched::Answers(answers) => {
                    let mut answers = answers.into_iter();
                    let missing = || RpcError::MalformedResponse {
                        at: self.transport.site(self.style, Api::Database, DGP),
                        reason: "batch answer missing".into(),
                    };
                    let properties = self.dgp_from(answers.next().ok_or_else(missing)??)?;
                    let witness =
                        self.witness_from(answers.next().ok_or_else(missing)??, account)?;
                    return Ok(HeadAndWitness {
                        properties,
                        witness,
                    });
                }
                Batched::Refused { error, transient } => {
                    debug!(node = %self.url(), %error, transient, "batch refused; one request per call");
                    if !transient {
                        self.batching.store(false, Ordering::Relaxed);
                    }
                }
            }
        }
        Ok(HeadAndWitness {
            properties: self.get_dynamic_global_properties().await?,
            witness: self.get_witness_by_account(account).await?,
        })
    }

    /// Whether [`NodeClient::head_and_witness`] sends its reads as one batch: true for an
    /// appbase node until it refuses a batch, never for a 0.19 node.
    pub fn batches_reads(&self) -> bool {
        self.style == ApiStyle::Condenser && self.batching.load(Ordering::Relaxed)
    }
}
