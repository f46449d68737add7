//! Fuzz target `monitor_state`: see `checks/monitor_state.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/monitor_state.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
