//! [`RpcError`]: transport failures, node refusals ([`NodeError`]) and answers that break what
//! SPEC §7 promises. Every variant names the node and the method (or the node, for errors that
//! are not about one call).

use std::fmt;
use std::time::Duration;

use thiserror::Error;

use super::node_error::{Disposition, NodeError, disposition};
use crate::profile::ChainId;

/// Where a call went: the node (credentials stripped) and the RPC method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    /// The node URL, without user name or password.
    pub url: String,
    /// The method, e.g. `database_api.get_config` or `condenser_api.get_config`.
    pub method: String,
}

impl fmt::Display for CallSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.url, self.method)
    }
}

/// Anything a call to a node can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The node URL is not an http(s) URL.
    #[error("invalid node url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given, credentials stripped when it parsed.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client (with its TLS configuration) could not be built.
    #[error("{url}: cannot build the HTTP client: {source}")]
    ClientSetup {
        /// The node the client was for.
        url: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The request could not be written (e.g. a transaction that does not serialize).
    #[error("{at}: cannot build the request: {reason}")]
    Request {
        /// Node and method.
        at: CallSite,
        /// What is wrong.
        reason: String,
    },
    /// No connection, or the connection broke before an answer.
    #[error("{at}: cannot reach the node: {source}")]
    Connect {
        /// Node and method.
        at: CallSite,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the timeout.
    #[error("{at}: no answer within {after:?}")]
    Timeout {
        /// Node and method.
        at: CallSite,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// A non-success HTTP status with no JSON-RPC error in the body.
    #[error("{at}: HTTP status {status}: {body}")]
    HttpStatus {
        /// Node and method.
        at: CallSite,
        /// The status code.
        status: u16,
        /// The start of the body in one line (whitespace runs as one space), truncated.
        body: String,
    },
    /// The body was longer than `ClientOptions::max_response_bytes`.
    #[error("{at}: response larger than {limit} bytes")]
    BodyTooLarge {
        /// Node and method.
        at: CallSite,
        /// The cap that was exceeded.
        limit: usize,
    },
    /// The body is not a JSON-RPC response.
    #[error("{at}: malformed response: {reason}")]
    MalformedResponse {
        /// Node and method.
        at: CallSite,
        /// What is wrong.
        reason: String,
    },
    /// The response answers another request id.
    #[error("{at}: response id {received} does not match request id {sent}")]
    IdMismatch {
        /// Node and method.
        at: CallSite,
        /// The id we sent.
        sent: u64,
        /// The id in the response, as JSON text.
        received: String,
    },
    /// A well-formed response whose `result` lacks a field or holds a bad value.
    #[error("{at}: unexpected result: {reason}")]
    InvalidResult {
        /// Node and method.
        at: CallSite,
        /// Which field and what is wrong with it.
        reason: String,
    },
    /// The node answered with a JSON-RPC error. Shown in one line: for a mapped kind its meaning
    /// and the node's words, else the node's words alone; the whole text is logged at `debug`.
    #[error("{at}: node refused (code {code}): {}", node_text(kind, detail))]
    Node {
        /// Node and method.
        at: CallSite,
        /// The JSON-RPC error code; informative only for fc exceptions (SPEC §7.1), meaningful
        /// for jussi's and appbase's own protocol errors.
        code: i64,
        /// What the refusal means, read from the whole text (message and data).
        kind: NodeError,
        /// The node's error in one line: the fc exception name and the first informative line
        /// (e.g. `assert_exception: Duplicate transaction check failed`), truncated.
        detail: String,
    },
    /// The node serves another chain; signing for it would produce signatures that recover to a
    /// different key (SPEC §7.5).
    #[error("{at}: node chain id {node} differs from the profile's chain id {expected}")]
    ChainIdMismatch {
        /// Node and method.
        at: CallSite,
        /// The profile's chain id.
        expected: ChainId,
        /// The node's chain id.
        node: ChainId,
    },
    /// The node's public keys carry another prefix than the profile's.
    #[error("{at}: node address prefix {node:?} differs from the profile's prefix {expected:?}")]
    AddressPrefixMismatch {
        /// Node and method.
        at: CallSite,
        /// The profile's prefix.
        expected: String,
        /// The node's prefix.
        node: String,
    },
    /// Neither the 0.19 `call` style nor `condenser_api` gave a usable `get_config`.
    #[error("{url}: no supported API style; legacy call: {legacy}; condenser_api: {condenser}")]
    UnsupportedNode {
        /// The node.
        url: String,
        /// Why the legacy probe failed.
        legacy: Box<RpcError>,
        /// Why the condenser probe failed.
        condenser: Box<RpcError>,
    },
    /// `broadcast_transaction_synchronous` answered success for another transaction than the
    /// one sent: its block number says nothing about ours.
    #[error("{at}: node answered for transaction {received}, but the transaction sent is {sent}")]
    TransactionIdMismatch {
        /// Node and method.
        at: CallSite,
        /// The id of the signed transaction that was sent.
        sent: String,
        /// The id in the node's answer.
        received: String,
    },
    /// `get_witness_by_account` returned `null`.
    #[error("{at}: no witness named {name:?}")]
    NoSuchWitness {
        /// Node and method.
        at: CallSite,
        /// The account asked for.
        name: String,
    },
    /// `get_block` returned `null`: the block does not exist (yet).
    #[error("{at}: no block {num}")]
    NoSuchBlock {
        /// Node and method.
        at: CallSite,
        /// The block number asked for.
        num: u32,
    },
}

impl RpcError {
    /// Whether the same read may succeed if sent again: connection failures, timeouts, HTTP
    /// 408/429/5xx, and passing node errors (jussi's 1000 Request Timeout, 1050 Response
    /// Timeout, 1100 upstream error and -32603 Internal Error; appbase's -32003 "Unable to
    /// acquire database lock"). Other node refusals and malformed answers are not retried.
    ///
    /// The client retries reads only; a broadcast is sent once whatever this says, and after a
    /// retryable failure its outcome is unknown (send the same transaction again with
    /// [`NodeClient::rebroadcast_transaction`](super::NodeClient::rebroadcast_transaction)).
    pub fn is_retryable(&self) -> bool {
        match self {
            RpcError::Connect { .. } | RpcError::Timeout { .. } => true,
            RpcError::HttpStatus { status, .. } => {
                matches!(status, 408 | 429) || (500..600).contains(status)
            }
            RpcError::Node { .. } => self.disposition() == Some(Disposition::Transient),
            _ => false,
        }
    }

    /// Whether the failure lies with the node rather than with the request, so that another node
    /// may do better. The mapped [`NodeError`] kinds are about the transaction (SPEC §4.6) and are
    /// not node faults; [`NodeError::Other`] is (a disabled API, a busy node or proxy, a
    /// node-side exception).
    pub fn is_node_fault(&self) -> bool {
        match self {
            RpcError::InvalidUrl { .. }
            | RpcError::ClientSetup { .. }
            | RpcError::Request { .. }
            | RpcError::NoSuchWitness { .. }
            | RpcError::NoSuchBlock { .. } => false,
            RpcError::Node { kind, .. } => matches!(kind, NodeError::Other { .. }),
            _ => true,
        }
    }

    /// Whether the node (or the jussi proxy before it) says the API or method does not exist
    /// there: appbase -32601 or "Could not find method/API" (sent as -32002), 0.19 "no method with
    /// name", jussi 1200/1300. The one answer on which style detection tries the other style.
    pub fn is_method_not_found(&self) -> bool {
        self.disposition() == Some(Disposition::MethodNotFound)
    }

    /// Whether an appbase node refused positional (array) arguments for an API that takes an
    /// object ("Bad Cast: Invalid cast from type 'array_type' to Object", steemd ≥ 0.20 and
    /// hived `json_rpc_plugin`): the answer of an appbase node to the 0.19 `call database_api`
    /// form, so the node is not a 0.19 node.
    pub fn is_array_refused_by_appbase(&self) -> bool {
        match self {
            RpcError::Node {
                kind: NodeError::Other { .. },
                detail,
                ..
            } => detail.contains("array_type") && detail.contains("Bad Cast"),
            _ => false,
        }
    }

    /// The disposition of an unmapped node error; `None` for anything else.
    fn disposition(&self) -> Option<Disposition> {
        match self {
            RpcError::Node {
                kind: NodeError::Other { .. },
                code,
                detail,
                ..
            } => Some(disposition(*code, detail)),
            _ => None,
        }
    }

    /// The node's refusal, if this is one.
    pub fn node_error(&self) -> Option<&NodeError> {
        match self {
            RpcError::Node { kind, .. } => Some(kind),
            _ => None,
        }
    }
}

/// What [`RpcError::Node`] shows after the code: the node's words, after the kind's meaning when
/// the kind is a mapped one (for `Other` the words are the kind).
fn node_text(kind: &NodeError, detail: &str) -> String {
    match kind {
        NodeError::Other { .. } => detail.to_owned(),
        kind => format!("{kind}; node said: {detail}"),
    }
}
