//! Fuzz target `wif`: see `checks/wif.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/wif.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
