//! Fuzz target `legacy_tx_json`: see `checks/legacy_tx_json.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/legacy_tx_json.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
