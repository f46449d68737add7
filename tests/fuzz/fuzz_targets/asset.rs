//! Fuzz target `asset`: see `checks/asset.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/asset.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
