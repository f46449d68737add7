//! Fuzz target `rpc_responses`: arbitrary bytes as a node's `result` member, through every
//! `from_result` parser (`checks/rpc_results.rs`), and as a node's error text through
//! `NodeError::classify` (`checks/node_error.rs`).
#![no_main]

#[path = "../checks/node_error.rs"]
mod node_error;
#[path = "../checks/rpc_results.rs"]
mod rpc_results;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    node_error::check(data);
    rpc_results::check(data);
});
