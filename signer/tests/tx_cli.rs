//! The offline tools through the real binary: every vector transaction inspected and signed,
//! every key's public key printed, and bad input refused with exit 2 and one line on stderr.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vwf-signer");

fn vectors() -> Value {
    let text = include_str!("../../shared/tests/data/vectors.json");
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        // A command that exits early closes its stdin; that is not a test failure.
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("stdout is not JSON: {e}"))
}

fn write_key(dir: &Path, name: &str, wif: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{wif}\n")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

fn assert_bad_input(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(2), "{:?}", output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn inspect_reproduces_every_vector_transaction() {
    for tx in vectors()["transactions"].as_array().into_iter().flatten() {
        let name = tx["name"].as_str().unwrap_or_default();
        let profile = tx["profile"].as_str().unwrap_or_default();
        let signed = tx["signed_tx_json_legacy"].to_string();
        let report = stdout_json(&run(&["tx", "inspect", "--profile", profile, "-"], &signed));
        assert_eq!(report["serialized_hex"], tx["serialized_tx_hex"], "{name}");
        assert_eq!(report["digest"], tx["digest_hex"], "{name}");
        assert_eq!(report["tx_id"], tx["tx_id"], "{name}");
        let signatures = report["signatures"].as_array().cloned().unwrap_or_default();
        assert_eq!(signatures.len(), 1, "{name}");
        assert_eq!(
            signatures[0]["hex"], tx["signature_dhive_scheme"]["hex"],
            "{name}"
        );
        assert_eq!(
            signatures[0]["recovered_key"], tx["signer"]["public_key"],
            "{name}"
        );
        assert_eq!(signatures[0]["canonical"], Value::Bool(true), "{name}");

        let unsigned = tx["tx_json_legacy"].to_string();
        let report = stdout_json(&run(&["tx", "inspect", "--profile", profile], &unsigned));
        assert_eq!(report["signatures"], Value::Array(vec![]), "{name}");
        assert_eq!(report["digest"], tx["digest_hex"], "{name}");
    }
}

#[test]
fn inspect_reports_invalid_signatures_as_recorded() {
    let v = vectors();
    let base = v["transactions"][1]["tx_json_legacy"].clone();
    for case in v["invalid_signatures"].as_array().into_iter().flatten() {
        let mut tx = base.clone();
        tx["signatures"] = Value::Array(vec![case["signature_hex"].clone()]);
        let report = stdout_json(&run(
            &["tx", "inspect", "--profile", "VIT"],
            &tx.to_string(),
        ));
        let signature = &report["signatures"][0];
        let name = case["name"].as_str().unwrap_or_default();
        match name {
            "header_out_of_range" => assert_eq!(signature["recovered_key"], Value::Null),
            "wrong_recid" | "wrong_chain_id" => {
                assert_eq!(signature["recovered_key"], case["recovers_to"], "{name}")
            }
            _ => {
                assert_eq!(signature["canonical"], Value::Bool(false), "{name}");
                assert_eq!(
                    signature["recovered_key"], case["expected_public_key"],
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn sign_reproduces_every_vector_signature() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for tx in vectors()["transactions"].as_array().into_iter().flatten() {
        let name = tx["name"].as_str().unwrap_or_default();
        let profile = tx["profile"].as_str().unwrap_or_default();
        let wif = tx["signer"]["wif"].as_str().unwrap_or_default();
        let key = write_key(dir.path(), name, wif, 0o600);
        let input = dir.path().join(format!("{name}.json"));
        std::fs::write(&input, tx["tx_json_legacy"].to_string()).unwrap_or_else(|e| panic!("{e}"));
        let input = input.display().to_string();
        let output = run(
            &[
                "tx",
                "sign",
                "--profile",
                profile,
                "--wif-file",
                &key,
                &input,
            ],
            "",
        );
        assert_eq!(stdout_json(&output), tx["signed_tx_json_legacy"], "{name}");
    }
}

#[test]
fn key_pub_prints_each_test_key_with_the_profile_prefix() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for key in vectors()["keys"].as_array().into_iter().flatten() {
        let wif = key["wif"].as_str().unwrap_or_default();
        let path = write_key(dir.path(), "key", wif, 0o400);
        for (profile, prefix) in [("VIT", "VIT"), ("STEEM", "STM"), ("HIVE", "STM")] {
            let output = run(
                &["key", "pub", "--profile", profile, "--wif-file", &path],
                "",
            );
            assert!(output.status.success(), "{output:?}");
            let printed = String::from_utf8_lossy(&output.stdout);
            assert_eq!(
                printed.trim_end(),
                key["pub"][prefix].as_str().unwrap_or("?")
            );
        }
    }
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wif = v["keys"][0]["wif"].as_str().unwrap_or_default();
    let open_key = write_key(dir.path(), "open", wif, 0o644);
    let good_key = write_key(dir.path(), "good", wif, 0o600);
    let bad_key = write_key(
        dir.path(),
        "bad",
        "5K5WrHCEqHdoiaWjbwBedbYnu9vA8BUPBMRsbkggk2FbhTsFVJQ",
        0o600,
    );
    let tx = v["transactions"][0]["tx_json_legacy"].to_string();
    let missing = dir.path().join("missing.json").display().to_string();

    assert_bad_input(
        &run(&["tx", "inspect", "--profile", "VIT"], "{"),
        "invalid transaction JSON",
    );
    assert_bad_input(
        &run(&["tx", "inspect", "--profile", "STEEM"], &tx),
        "prefix 'STM'",
    );
    assert_bad_input(
        &run(&["tx", "inspect", "--profile", "FOO"], &tx),
        "unknown chain profile",
    );
    assert_bad_input(
        &run(&["tx", "inspect", "--profile", "VIT", &missing], ""),
        "cannot read",
    );
    assert_bad_input(
        &run(
            &["tx", "inspect", "--profile", "VIT"],
            &tx.replace("0.100 VIT", "0.1 VIT"),
        ),
        "exactly 3 decimals",
    );
    assert_bad_input(
        &run(
            &["tx", "sign", "--profile", "VIT", "--wif-file", &open_key],
            &tx,
        ),
        "chmod 600",
    );
    let output = run(
        &["tx", "sign", "--profile", "VIT", "--wif-file", &bad_key],
        &tx,
    );
    assert_bad_input(&output, "WIF checksum mismatch");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("5K5WrHCEqHdoiaWjbwBe"));
    assert_bad_input(
        &run(
            &["tx", "sign", "--profile", "VIT", "--wif-file", &good_key],
            &tx.replace("131072", "1024"),
        ),
        "maximum_block_size 1024 is below 65536",
    );
    assert_bad_input(&run(&["key", "pub", "--profile", "VIT"], ""), "--wif-file");
    let huge = " ".repeat(2 << 20);
    assert_bad_input(
        &run(&["tx", "inspect", "--profile", "VIT"], &huge),
        "larger than",
    );
}
