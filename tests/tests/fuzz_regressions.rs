//! Replays every saved fuzz finding: each file in `tests/fuzz/regressions/<target>/` goes through
//! the same check as the fuzz target `<target>` (the checks in `tests/fuzz/checks/` are shared
//! with `tests/fuzz/fuzz_targets/`), so a fixed crash stays fixed without cargo-fuzz.

use std::path::{Path, PathBuf};

#[path = "../fuzz/checks/asset.rs"]
mod asset;
#[path = "../fuzz/checks/legacy_tx_json.rs"]
mod legacy_tx_json;
#[path = "../fuzz/checks/monitor_config.rs"]
mod monitor_config;
#[path = "../fuzz/checks/monitor_state.rs"]
mod monitor_state;
#[path = "../fuzz/checks/node_error.rs"]
mod node_error;
#[path = "../fuzz/checks/policy_request.rs"]
mod policy_request;
#[path = "../fuzz/checks/public_key.rs"]
mod public_key;
#[path = "../fuzz/checks/rpc_results.rs"]
mod rpc_results;
#[path = "../fuzz/checks/signature.rs"]
mod signature;
#[path = "../fuzz/checks/signer_config.rs"]
mod signer_config;
#[path = "../fuzz/checks/time.rs"]
mod time;
#[path = "../fuzz/checks/wif.rs"]
mod wif;

/// A target's check: panics on a finding.
type Check = fn(&[u8]);

/// Each fuzz target and the check its regression files replay.
const CHECKS: &[(&str, Check)] = &[
    ("legacy_tx_json", legacy_tx_json::check),
    ("asset", asset::check),
    ("public_key", public_key::check),
    ("wif", wif::check),
    ("time", time::check),
    ("signature", signature::check),
    ("rpc_responses", rpc_responses),
    ("signer_config", signer_config::check),
    ("monitor_config", monitor_config::check),
    ("monitor_state", monitor_state::check),
    ("policy_request", policy_request::check),
];

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions")
}

/// The files under `dir`, sorted; none if it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_saved_fuzz_finding_passes_its_target_check() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (target, check) in CHECKS {
        for file in files_in(&regressions_dir().join(target)) {
            let data = match std::fs::read(&file) {
                Ok(data) => data,
                Err(e) => {
                    failures.push(format!("{}: {e}", file.display()));
                    continue;
                }
            };
            replayed += 1;
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {replayed} regressions fail: {failures:#?}",
        failures.len()
    );
}

#[test]
fn every_regression_folder_names_a_fuzz_target() {
    let unknown: Vec<String> = std::fs::read_dir(regressions_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !CHECKS.iter().any(|(target, _)| target == name))
        .collect();
    assert!(unknown.is_empty(), "no check for {unknown:?}");
}

#[test]
fn the_checks_accept_the_committed_seeds() {
    // The seeds are valid inputs (tx JSON, keys, configs, states); running them proves the
    // checks work in this crate too, not only under cargo-fuzz.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut ran = 0;
    for (target, check) in CHECKS {
        for file in files_in(&corpus.join(target)) {
            if let Ok(data) = std::fs::read(&file) {
                check(&data);
                ran += 1;
            }
        }
    }
    assert!(ran > 0, "no seed found under {}", corpus.display());
}

/// Both halves of the `rpc_responses` target.
fn rpc_responses(data: &[u8]) {
    node_error::check(data);
    rpc_results::check(data);
}
