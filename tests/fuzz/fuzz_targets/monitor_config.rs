//! Fuzz target `monitor_config`: see `checks/monitor_config.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/monitor_config.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
