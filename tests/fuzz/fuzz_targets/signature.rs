//! Fuzz target `signature`: see `checks/signature.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/signature.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
