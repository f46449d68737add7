//! Async JSON-RPC client for Steem-family nodes (SPEC §7): pre-appbase 0.19 `call` style (VIT)
//! and appbase `condenser_api`, detected at connect, with the node's chain id checked against the
//! profile.
//!
//! | module | what it holds |
//! |---|---|
//! | `client` | [`NodeClient`]: connect and the typed reads |
//! | `batch` | [`NodeClient::head_and_witness`]: a poll's two reads in one JSON-RPC batch on appbase |
//! | `broadcast` | broadcasts (sent once; re-sent only as the same bytes) and inclusion polling |
//! | `detect` | style detection and the chain id / prefix check (SPEC §7.5) |
//! | `style` | [`ApiStyle`] and the exact request text of each style |
//! | `transport` | [`ClientOptions`]; HTTP with rustls (ring), timeouts, size cap, read retries |
//! | `types`, `account`, `block` | the results, parsed leniently (unknown fields, string numbers) |
//! | `flex` | integers as JSON numbers or strings |
//! | `error` | [`RpcError`]: every failure, naming the node and method |
//! | `node_error` | [`NodeError`]: the node's refusal, read from fc's text (SPEC §4.6) |
//!
//! The library installs no rustls crypto provider and no tracing subscriber; calls emit `debug`
//! events with the node, method and latency.

mod account;
mod batch;
mod block;
mod broadcast;
mod client;
mod detect;
mod error;
mod flex;
mod node_error;
mod style;
mod transport;
mod types;

#[cfg(test)]
mod tests;

pub use account::{Account, Authority};
pub use batch::HeadAndWitness;
pub use block::{BlockHeader, BroadcastResult, Inclusion, Version};
pub use broadcast::Rebroadcast;
pub use client::NodeClient;
pub use error::{CallSite, RpcError};
pub use node_error::{MAX_ERROR_TEXT, NodeError};
pub use style::ApiStyle;
pub use transport::ClientOptions;
pub use types::{DynamicGlobalProperties, NodeConfig, Witness};
