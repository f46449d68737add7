//! `vwf-simchain`: a simulated Steem-family node, strict where steemd is strict.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | CLI flags, the TOML file and the checked [`config::SimSetup`] |
//! | [`schedule`] | 21-slot rounds, seeded shuffle, witness of a slot |
//! | [`chain`] | chain state, block production, miss accounting (pure) |
//! | [`normalize`] | fc's JSON-to-struct rules (unknown keys dropped, C++ defaults) |
//! | [`accept`] | steemd's transaction checks and error texts |
//! | [`fc_error`] | fc exceptions, and how each node generation words and wraps them |
//! | [`forms`] | the appbase JSON forms of assets and transactions |
//! | [`methods`] | read-only methods: each generation's objects in legacy and appbase form |
//! | [`rpc`] | one request: dispatch by generation, broadcasts with their faults |
//! | [`legacy`] | the VIT node: steemd 0.19.5's fc API server (`call`, API ids, code 1) |
//! | [`appbase`] | the STEEM and HIVE nodes: the appbase json_rpc plugin and its APIs |
//! | [`sim`] | shared state and per-node faults |
//! | [`node`] | one JSON-RPC port, with the `refuse` fault |
//! | [`control`] | the control API for tests |
//! | [`producer`] | the block clock |
//! | [`run`] | startup, the ports line, shutdown |

pub mod accept;
pub mod appbase;
pub mod chain;
pub mod config;
pub mod control;
pub mod fc_error;
pub mod forms;
pub mod legacy;
pub mod methods;
pub mod node;
pub mod normalize;
pub mod producer;
pub mod rpc;
pub mod run;
pub mod schedule;
pub mod sim;
