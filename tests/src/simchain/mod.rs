//! `vwf-simchain`: a simulated Steem-family node, strict where steemd is strict.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | CLI flags, the TOML file and the checked [`config::SimSetup`] |
//! | [`schedule`] | 21-slot rounds, seeded shuffle, witness of a slot |
//! | [`chain`] | chain state, block production, miss accounting (pure) |
//! | [`normalize`] | fc's JSON-to-struct rules (unknown keys dropped, C++ defaults) |
//! | [`accept`] | steemd's transaction checks and error texts |
//! | [`fc_error`] | fc exceptions as steemd reports them |
//! | [`methods`] | read-only API methods in 0.19 / condenser JSON |
//! | [`rpc`] | envelope and routing per profile style |
//! | [`sim`] | shared state and per-node faults |
//! | [`node`] | one JSON-RPC port, with the `refuse` fault |
//! | [`control`] | the control API for tests |
//! | [`producer`] | the block clock |
//! | [`run`] | startup, the ports line, shutdown |

pub mod accept;
pub mod chain;
pub mod config;
pub mod control;
pub mod fc_error;
pub mod methods;
pub mod node;
pub mod normalize;
pub mod producer;
pub mod rpc;
pub mod run;
pub mod schedule;
pub mod sim;
