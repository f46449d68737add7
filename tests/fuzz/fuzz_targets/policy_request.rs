//! Fuzz target `policy_request`: see `checks/policy_request.rs` for what it feeds and asserts.
#![no_main]

#[path = "../checks/policy_request.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
