//! Fuzz target `signer_config`: see `checks/signer_config.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/signer_config.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
