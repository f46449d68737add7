//! Test support for vit-witness-failover.
//!
//! | module | what it holds |
//! |---|---|
//! | [`simchain`] | the simulated node behind the `vwf-simchain` binary |
//! | [`harness`] | spawning the binary, the ports line, the kill-on-drop guard |
//! | [`client`] | small async HTTP clients: JSON-RPC calls and the control API |
//! | [`tx`] | building and signing `witness_update` transactions with test keys |
//! | [`monitor`] | a configured `vwf-monitor run` next to a signer setup |
//! | [`process`] | workspace binaries as child processes (first JSON line, kill on drop) |
//! | [`signer`] | a configured `vwf-signer serve` with certificates, age key and policy |
//! | [`wait`] | bounded polling helpers (`wait_until`) |

pub mod client;
pub mod harness;
pub mod monitor;
pub mod process;
pub mod signer;
pub mod simchain;
pub mod tx;
pub mod wait;
