//! Fuzz target `public_key`: see `checks/public_key.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/public_key.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
