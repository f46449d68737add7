//! Fuzz target `time`: see `checks/time.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/time.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
