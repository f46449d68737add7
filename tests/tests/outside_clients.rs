//! End to end with outside clients: beem 0.24.26 (Python, from PyPI) and @hiveio/dhive 1.3.6
//! (JavaScript, from npm), installed by `tests/outside/install.sh` into
//! `target/outside-clients/{venv,node_modules}` once and reused (tests/outside/README.md).
//!
//! * Our signatures verify in them: fresh transactions signed by `vwf-signer tx sign` for VIT,
//!   STEEM and HIVE (`witness_update`, and on STEEM and HIVE `witness_set_properties` signed by
//!   the current signing key) are re-serialized by each client to our bytes, digest and id, and
//!   each client recovers the signer's public key from the signature over the chain-id digest;
//!   the same transaction with one url byte (or its new signing key) changed re-serializes to the
//!   changed bytes and no longer recovers the signer. Each client's own `witness_set_properties`
//!   builder makes the operation JSON we send.
//! * Their witness updates are accepted by `vwf-simchain`: each client broadcasts a
//!   `witness_update` through its ordinary API (beem on HIVE, STEEM and VIT; dhive on HIVE and
//!   STEEM: dhive speaks only `condenser_api`, which a steemd 0.19 node does not have) and the
//!   control API shows the new signing key; a transaction the client signed and then changed by
//!   one url byte is refused with missing active authority and the chain stays unchanged.
//! * Their `witness_set_properties` (STEEM, HIVE) are accepted by `vwf-simchain`: each client
//!   signs one with the witness's current signing key (not the active key) and the simulator
//!   sets the new signing key, then the null key; one changed after signing, one signed by
//!   another key and one naming a `key` that is not the key on chain are refused with the
//!   chain's text and change nothing.
//!
//! A registry that cannot be reached (with nothing cached) makes the tests of that client print
//! `SKIPPED: …` and return early; any other install or client failure fails the test.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::OnceCell;
use vwf_shared::{
    Asset, BlockId, ChainProfile, ChainProperties, PrivateKey, ProfileName, PropsLayout, PublicKey,
    SignedTransaction, Tapos, TimePointSec, Transaction, WitnessSetProperties, WitnessUpdate,
};
use vwf_tests::client::Control;
use vwf_tests::harness::SimChain;
use vwf_tests::process::workspace_binary;
use vwf_tests::tx::{TEST_WIFS, test_public_key, transaction, witness_update};
use vwf_tests::wait::{wait_for, wait_until};

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
const OWNER: &str = "vit-test-witness";
/// Bound on one `install.sh` run (a fresh install takes well under a minute).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
/// Bound on one client script run or one `vwf-signer` run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound on waiting for blocks or an applied update on the simulator.
const CHAIN_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// One outside client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    /// beem, run by `tests/outside/beem_client.py` in the venv.
    Beem,
    /// dhive, run by `tests/outside/dhive_client.js` with node.
    Dhive,
}

/// What `install.sh` gave.
#[derive(Debug)]
enum Install {
    Ready,
    /// The registry could not be reached; install.sh's message.
    Unreachable(String),
}

static PYTHON: OnceCell<Result<Install, String>> = OnceCell::const_new();
static NODE: OnceCell<Result<Install, String>> = OnceCell::const_new();

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Beem => "beem",
            Client::Dhive => "dhive",
        }
    }

    /// install.sh's component.
    fn component(self) -> &'static str {
        match self {
            Client::Beem => "python",
            Client::Dhive => "node",
        }
    }

    fn install_cell(self) -> &'static OnceCell<Result<Install, String>> {
        match self {
            Client::Beem => &PYTHON,
            Client::Dhive => &NODE,
        }
    }
}

/// `tests/outside`.
fn outside_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("outside")
}

/// `<target>/outside-clients` (`CARGO_TARGET_TMPDIR` is `<target>/tmp`), where .ci/run installs.
fn cache_dir() -> anyhow::Result<PathBuf> {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("outside-clients"))
        .context("CARGO_TARGET_TMPDIR has no parent")
}

/// Installs `client` once per test process (install.sh reuses a matching install). `Ok(false)`
/// after printing `SKIPPED: …` when the registry cannot be reached.
async fn installed(client: Client) -> anyhow::Result<bool> {
    let outcome = client
        .install_cell()
        .get_or_init(|| async move { run_install(client).await.map_err(|e| format!("{e:#}")) })
        .await;
    match outcome {
        Ok(Install::Ready) => Ok(true),
        Ok(Install::Unreachable(why)) => {
            eprintln!(
                "SKIPPED: {} tests: the package registry cannot be reached and nothing is cached \
                 in {}:\n{why}",
                client.name(),
                cache_dir()?.display()
            );
            Ok(false)
        }
        Err(e) => bail!("installing {} failed: {e}", client.name()),
    }
}

async fn run_install(client: Client) -> anyhow::Result<Install> {
    let script = outside_dir().join("install.sh");
    let mut command = Command::new("bash");
    command
        .arg(&script)
        .arg(client.component())
        .arg(cache_dir()?)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(INSTALL_TIMEOUT, command.output())
        .await
        .with_context(|| {
            format!(
                "{} did not finish within {INSTALL_TIMEOUT:?}",
                script.display()
            )
        })?
        .with_context(|| format!("starting bash {}", script.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    match output.status.code() {
        Some(0) => Ok(Install::Ready),
        Some(3) => Ok(Install::Unreachable(stderr)),
        _ => bail!(
            "{} {} exited with {}:\n{stderr}",
            script.display(),
            client.component(),
            output.status
        ),
    }
}

/// Runs `program args` with `stdin` as standard input, bounded by [`CLIENT_TIMEOUT`]; returns
/// stdout, failing on a non-zero exit with stderr.
async fn run_bounded(mut command: Command, stdin: &str, what: &str) -> anyhow::Result<String> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    if let Some(mut input) = child.stdin.take() {
        // A program that fails early closes its stdin; its exit status and stderr say why.
        let _ = input.write_all(stdin.as_bytes()).await;
    }
    let output = tokio::time::timeout(CLIENT_TIMEOUT, child.wait_with_output())
        .await
        .with_context(|| format!("{what} did not finish within {CLIENT_TIMEOUT:?}"))??;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "{what} exited with {}:\n{stderr}",
        output.status
    );
    String::from_utf8(output.stdout).with_context(|| format!("{what}: stdout not UTF-8"))
}

/// Runs the client's script with `command` (`verify` or `broadcast`) and one JSON request.
async fn run_client(client: Client, command: &str, request: &Value) -> anyhow::Result<Value> {
    let cache = cache_dir()?;
    // beem keeps a config database under the user's data directory: give it a throwaway one.
    let home = tempfile::tempdir()?;
    let mut process = match client {
        Client::Beem => {
            let mut c = Command::new(cache.join("venv/bin/python"));
            c.arg(outside_dir().join("beem_client.py"));
            c
        }
        Client::Dhive => {
            let mut c = Command::new("node");
            c.arg(outside_dir().join("dhive_client.js"))
                .env("NODE_PATH", cache.join("node_modules"));
            c
        }
    };
    process
        .arg(command)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let what = format!("{} {command}", client.name());
    let stdout = run_bounded(process, &request.to_string(), &what).await?;
    let line = stdout
        .lines()
        .last()
        .with_context(|| format!("{what} printed nothing"))?;
    serde_json::from_str(line).with_context(|| format!("{what}: not JSON: {line}"))
}

// ------------------------------------------------------------------------------------------
// Our signatures, verified by them
// ------------------------------------------------------------------------------------------

/// One transaction signed by our code, with what our code says about it.
struct Case {
    name: String,
    /// Signed legacy JSON as the client gets it.
    signed: Value,
    /// The public key the signature must (or, tampered, must not) recover.
    signer_key: String,
    bytes_hex: String,
    digest: String,
    tx_id: String,
    tampered: bool,
    /// For an untampered `witness_set_properties`: its `key` and `new_signing_key` as public
    /// key strings, from which the client builds the operation with its own helper.
    wsp_keys: Option<Value>,
}

/// A long url with 2- and 3-byte UTF-8 characters (a 2-byte length varint).
fn long_url() -> String {
    format!(
        "https://example.com/@{OWNER}/{}/caf\u{e9}-\u{2713}?note=outside-clients",
        "x".repeat(120)
    )
}

/// The unsigned transactions for `profile`: (name, transaction, signing test key). On STEEM and
/// HIVE also `witness_set_properties`, signed by the current signing key: key 1 to key 2, and the
/// kill switch key 2 to the null key.
fn unsigned_cases(profile: &ChainProfile) -> anyhow::Result<Vec<(String, Transaction, usize)>> {
    let time = TimePointSec::parse("2025-06-01T12:00:00")?;
    // Block 0x0001e240; the prefix bytes have the high bit set (ref_block_prefix > 2^31).
    let head = BlockId::from_hex("0001e240fedcba98765432100123456789abcdef")?;
    let other_head = BlockId::from_hex("00000010aabbccdd00112233445566778899aabb")?;
    let enable = witness_update(profile, OWNER, test_public_key(1)?);
    let disable = witness_update(profile, OWNER, PublicKey::NULL);
    let custom = WitnessUpdate {
        owner: OWNER.into(),
        url: long_url(),
        block_signing_key: test_public_key(2)?,
        props: ChainProperties {
            account_creation_fee: Asset {
                amount: 1_000,
                symbol: profile.core_symbol.clone(),
            },
            maximum_block_size: 65_536,
            interest_rate: match profile.props_layout {
                PropsLayout::TwoFields => None,
                PropsLayout::WithInterestRate { .. } => Some(1_000),
            },
        },
        fee: Asset {
            amount: 0,
            symbol: profile.core_symbol.clone(),
        },
    };
    let mut cases = vec![
        (
            "enable-backup-key".into(),
            transaction(enable, &head, time, 60)?,
            0,
        ),
        (
            "disable-null-key".into(),
            transaction(disable, &other_head, time, 3_600)?,
            0,
        ),
        (
            "long-unicode-url-custom-props".into(),
            transaction(custom, &head, time, 120)?,
            4,
        ),
    ];
    if profile.witness_set_properties_tag.is_some() {
        let switch = WitnessSetProperties {
            owner: OWNER.into(),
            current_key: test_public_key(1)?,
            new_signing_key: test_public_key(2)?,
        };
        let kill = WitnessSetProperties {
            owner: OWNER.into(),
            current_key: test_public_key(2)?,
            new_signing_key: PublicKey::NULL,
        };
        cases.push((
            "wsp-switch-key1-to-key2".into(),
            Transaction::new(switch, Tapos::from_block_id(&head), time, 60)?,
            1,
        ));
        cases.push((
            "wsp-kill-switch-key2-to-null".into(),
            Transaction::new(kill, Tapos::from_block_id(&other_head), time, 3_600)?,
            2,
        ));
    }
    Ok(cases)
}

/// Signs every case with the `vwf-signer tx sign` binary, checks it signed what the library
/// signs, and adds a copy of the first `witness_update` with one url byte changed after signing
/// and of the first `witness_set_properties` with another new signing key.
async fn signed_cases(profile: &ChainProfile, dir: &Path) -> anyhow::Result<Vec<Case>> {
    let signer = workspace_binary("vwf-signer")?;
    let prefix = &profile.address_prefix;
    let mut cases = Vec::new();
    for (name, tx, key_index) in unsigned_cases(profile)? {
        let wif = TEST_WIFS.get(key_index).context("test key index")?;
        let key_file = dir.join(format!("{}-{name}.wif", profile.name));
        std::fs::write(&key_file, format!("{wif}\n"))?;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))?;
        let mut command = Command::new(&signer);
        command
            .args([
                "tx",
                "sign",
                "--profile",
                profile.name.as_str(),
                "--wif-file",
            ])
            .arg(&key_file)
            .arg("-");
        let stdout = run_bounded(command, &tx.to_legacy_json(profile), "vwf-signer tx sign")
            .await
            .with_context(|| format!("{} {name}", profile.name))?;
        let signed: Value = serde_json::from_str(&stdout)?;
        let library = tx.clone().sign(&PrivateKey::from_wif(wif)?, profile)?;
        let library: Value = serde_json::from_str(&library.to_legacy_json(profile))?;
        assert_eq!(
            signed, library,
            "{} {name}: binary and library differ",
            profile.name
        );
        let wsp_keys = tx
            .operations
            .first()
            .and_then(|op| op.as_witness_set_properties())
            .map(|op| {
                json!({
                    "key": op.current_key.to_string_with_prefix(prefix),
                    "new_signing_key": op.new_signing_key.to_string_with_prefix(prefix),
                })
            });
        cases.push(Case {
            name: name.clone(),
            signed,
            signer_key: test_public_key(key_index)?.to_string_with_prefix(prefix),
            bytes_hex: hex::encode(tx.to_bytes(profile)?),
            digest: tx.digest(profile)?.to_string(),
            tx_id: tx.id(profile)?,
            tampered: false,
            wsp_keys,
        });
    }
    let mut tampered = Vec::new();
    for kind in ["witness_update", "witness_set_properties"] {
        let Some(first) = cases
            .iter()
            .find(|c| c.signed["operations"][0][0] == json!(kind))
        else {
            continue;
        };
        let (changed, what) = changed_after_signing(&first.signed)?;
        let ours = SignedTransaction::from_legacy_json(&changed.to_string(), profile)?;
        tampered.push(Case {
            name: format!("{}-{what}-changed-after-signing", first.name),
            signer_key: first.signer_key.clone(),
            bytes_hex: hex::encode(ours.transaction.to_bytes(profile)?),
            digest: ours.transaction.digest(profile)?.to_string(),
            tx_id: ours.transaction.id(profile)?,
            signed: changed,
            tampered: true,
            wsp_keys: None,
        });
    }
    ensure!(!tampered.is_empty(), "no cases");
    cases.extend(tampered);
    Ok(cases)
}

/// Test key 3 as fc writes a packed public key in a `witness_set_properties` prop (lowercase
/// hex of its 33 bytes).
fn key3_prop_hex() -> anyhow::Result<String> {
    Ok(hex::encode(test_public_key(3)?.as_bytes()))
}

/// The signed legacy JSON changed after signing, still a transaction every parser reads: a
/// `witness_update`'s url by its last byte, a `witness_set_properties`'s `new_signing_key`
/// replaced by test key 3. Returns the JSON and what was changed.
fn changed_after_signing(signed: &Value) -> anyhow::Result<(Value, &'static str)> {
    let mut tx = signed.clone();
    let operation = &mut tx["operations"][0];
    match operation[0].as_str() {
        Some("witness_update") => {
            let url = operation[1]["url"].as_str().context("url")?.to_owned();
            operation[1]["url"] = json!(change_last_byte(&url));
            Ok((tx, "url"))
        }
        Some("witness_set_properties") => {
            let key3 = json!(key3_prop_hex()?);
            let new_key = &mut operation[1]["props"][1];
            ensure!(new_key[0] == json!("new_signing_key"), "props: {signed}");
            ensure!(new_key[1] != key3, "already key 3: {signed}");
            new_key[1] = key3;
            Ok((tx, "new-key"))
        }
        _ => bail!("unexpected operation in {signed}"),
    }
}

/// `text` with its last (ASCII) character replaced by the next one.
fn change_last_byte(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last = if *last == b'z' { b'y' } else { *last + 1 };
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every profile's transactions signed by us, checked by `client`.
async fn our_signatures_verify_in(client: Client) -> anyhow::Result<()> {
    if !installed(client).await? {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    for name in ProfileName::ALL {
        let profile = ChainProfile::builtin(name);
        let cases = signed_cases(&profile, dir.path()).await?;
        let request = json!({
            "profile": name.as_str(),
            "chain_id": profile.chain_id.to_string(),
            "prefix": profile.address_prefix,
            "transactions": cases.iter().map(|c| json!({
                "name": c.name,
                "tx": c.signed,
                "expected_key": c.signer_key,
                "wsp_keys": c.wsp_keys,
            })).collect::<Vec<_>>(),
        });
        let answer = run_client(client, "verify", &request).await?;
        let results = answer["results"]
            .as_array()
            .with_context(|| format!("{} verify: no results in {answer}", client.name()))?;
        assert_eq!(results.len(), cases.len(), "{answer}");
        for (case, result) in cases.iter().zip(results) {
            let label = format!("{} {name} {}", answer["client"], case.name);
            assert_eq!(
                result["serialized_hex"],
                json!(case.bytes_hex),
                "{label}: bytes"
            );
            assert_eq!(result["digest"], json!(case.digest), "{label}: digest");
            assert_eq!(
                result["tx_id"],
                json!(case.tx_id),
                "{label}: transaction id"
            );
            let recovered = result["recovered_keys"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if case.tampered {
                assert!(
                    !recovered.contains(&json!(case.signer_key)),
                    "{label}: a changed transaction still recovers the signer: {result}"
                );
                assert_eq!(result["verified"], json!(false), "{label}: {result}");
            } else {
                assert_eq!(
                    recovered,
                    vec![json!(case.signer_key)],
                    "{label}: recovered key"
                );
                assert_eq!(result["verified"], json!(true), "{label}: {result}");
            }
            if client == Client::Beem {
                // beem's own JSON of what it rebuilt is ours.
                assert_eq!(result["json"], case.signed, "{label}: beem's JSON");
            }
            if case.wsp_keys.is_some() {
                // The client's own witness_set_properties builder makes our operation JSON.
                assert_eq!(
                    result["builder_op"], case.signed["operations"][0],
                    "{label}: the client's own witness_set_properties"
                );
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn beem_reserializes_our_transactions_and_recovers_our_signer() -> anyhow::Result<()> {
    our_signatures_verify_in(Client::Beem).await
}

#[tokio::test]
async fn dhive_reserializes_our_transactions_and_recovers_our_signer() -> anyhow::Result<()> {
    our_signatures_verify_in(Client::Dhive).await
}

// ------------------------------------------------------------------------------------------
// Their witness updates, accepted by vwf-simchain
// ------------------------------------------------------------------------------------------

/// The broadcast request for the client script: test key 0 (the witness's active key) signs an
/// update of `OWNER` to `new_key` and `url`.
fn broadcast_request(
    sim: &SimChain,
    client: Client,
    profile: &ChainProfile,
    new_key: &str,
    url: &str,
    tamper: bool,
) -> Value {
    let core = profile.core_symbol.json_name();
    let mut props = json!({
        "account_creation_fee": format!("0.100 {core}"),
        "maximum_block_size": 131_072,
    });
    if let PropsLayout::WithInterestRate { field } = &profile.props_layout {
        props[field.as_str()] = json!(0);
        if client == Client::Dhive {
            // dhive serializes the third field only under its Hive name. A Steem node drops that
            // unknown name and reads sbd_interest_rate, whose C++ default is 1000 (10 %), so
            // Steem's own name must be sent too or the node signs-checks other bytes.
            props["hbd_interest_rate"] = json!(0);
        }
    }
    json!({
        "profile": profile.name.as_str(),
        "node": sim.node(0),
        "chain_id": profile.chain_id.to_string(),
        "prefix": profile.address_prefix,
        "wif": TEST_WIFS[0],
        "owner": OWNER,
        "signing_key": new_key,
        "witness_url": url,
        "props": props,
        "tamper": tamper,
    })
}

/// Requests to node 0 that carried a signed transaction.
async fn signed_requests(control: &Control) -> anyhow::Result<u64> {
    let status = control.status().await?;
    status["nodes"][0]["signed_requests"]
        .as_u64()
        .with_context(|| format!("no nodes[0].signed_requests in {status}"))
}

/// The node's refusal as the client reported it (beem raises some errors without a message; its
/// script adds the node's own error message).
fn refusal_text(answer: &Value) -> String {
    ["error", "node_error", "error_type"]
        .iter()
        .filter_map(|k| answer[*k].as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A client's transaction JSON as the node reads it: props members that are not fields of the
/// profile's layout dropped (fc ignores unknown keys; our parser is strict and refuses them).
/// Only dhive on STEEM sends one (`hbd_interest_rate` next to `sbd_interest_rate`).
fn as_node_reads(tx: &Value, profile: &ChainProfile) -> String {
    let mut tx = tx.clone();
    let fields = profile.props_layout.field_names();
    if let Some(operations) = tx["operations"].as_array_mut() {
        for operation in operations {
            if let Some(props) = operation[1]["props"].as_object_mut() {
                props.retain(|name, _| fields.contains(&name.as_str()));
            }
        }
    }
    tx.to_string()
}

/// `client` broadcasts, for `profile`: first a witness_update to test key 3 that it signed and
/// then changed by one url byte (refused, chain unchanged), then a genuine one to test key 2
/// (applied: the control API shows the new key and url).
async fn witness_update_round_trip(client: Client, name: ProfileName) -> anyhow::Result<()> {
    if !installed(client).await? {
        return Ok(());
    }
    let profile = ChainProfile::builtin(name);
    let sim = SimChain::spawn(
        SIM,
        &["--profile", name.as_str(), "--block-interval-ms", "500"],
    )
    .await?;
    assert_eq!(sim.ports.chain_id, profile.chain_id.to_string());
    let control = sim.control();
    let key = |i: usize| -> anyhow::Result<String> {
        Ok(test_public_key(i)?.to_string_with_prefix(&profile.address_prefix))
    };
    let active = test_public_key(0)?;
    let start = control.witness(OWNER).await?;
    assert_eq!(start["signing_key"], json!(key(1)?), "{start}");
    let label = format!("{} on {name}", client.name());

    // 1. Signed by the client, then one url byte changed: refused, nothing applied.
    let tamper_url = format!("https://{}.example/{name}/tampered", client.name());
    let before = signed_requests(&control).await?;
    let request = broadcast_request(&sim, client, &profile, &key(3)?, &tamper_url, true);
    let answer = run_client(client, "broadcast", &request).await?;
    assert_eq!(
        answer["ok"],
        json!(false),
        "{label}: the node accepted a transaction changed after signing: {answer}"
    );
    let refusal = refusal_text(&answer).to_lowercase();
    assert!(
        refusal.contains("missing required active authority")
            || refusal.contains("missing active authority"),
        "{label}: refused for another reason: {answer}"
    );
    assert!(
        signed_requests(&control).await? > before,
        "{label}: the changed transaction never reached the node"
    );
    let sent = &answer["tx"];
    let sent_url = sent["operations"][0][1]["url"]
        .as_str()
        .with_context(|| format!("{label}: no transaction in {answer}"))?;
    assert_eq!(sent_url, change_last_byte(&tamper_url), "{label}");
    // Our code agrees with the node: that signature does not recover the active key.
    let ours = SignedTransaction::from_legacy_json(&as_node_reads(sent, &profile), &profile)?;
    let recovered = ours.signer_keys(&profile)?;
    assert!(!recovered.contains(&active), "{label}: {recovered:?}");
    let head = control.head_num().await?;
    wait_for("three more blocks", CHAIN_TIMEOUT, POLL, || async {
        Ok(control.head_num().await? >= head + 3)
    })
    .await?;
    let history = control.history().await?;
    assert_eq!(history["updates"], json!([]), "{label}: {history}");
    let unchanged = control.witness(OWNER).await?;
    assert_eq!(unchanged["signing_key"], start["signing_key"], "{label}");
    assert_eq!(unchanged["url"], start["url"], "{label}");

    // 2. The genuine update: applied.
    let url = format!("https://{}.example/{name}", client.name());
    let request = broadcast_request(&sim, client, &profile, &key(2)?, &url, false);
    let answer = run_client(client, "broadcast", &request).await?;
    assert_eq!(answer["ok"], json!(true), "{label}: refused: {answer}");
    let tx_id = answer["tx_id"]
        .as_str()
        .with_context(|| format!("{label}: no tx_id in {answer}"))?
        .to_owned();
    if !answer["tx"].is_null() {
        // Our code reads their transaction: same id, signed by the active key.
        let theirs =
            SignedTransaction::from_legacy_json(&as_node_reads(&answer["tx"], &profile), &profile)?;
        assert_eq!(theirs.transaction.id(&profile)?, tx_id, "{label}");
        assert_eq!(theirs.signer_keys(&profile)?, vec![active], "{label}");
    }
    let update = wait_until("the update in /history", CHAIN_TIMEOUT, POLL, || async {
        let history = control.history().await?;
        Ok(history["updates"]
            .as_array()
            .and_then(|updates| updates.iter().find(|u| u["tx_id"] == json!(tx_id)))
            .cloned())
    })
    .await?;
    assert_eq!(update["owner"], json!(OWNER), "{label}: {update}");
    assert_eq!(update["signing_key"], json!(key(2)?), "{label}: {update}");
    let after = control.witness(OWNER).await?;
    assert_eq!(after["signing_key"], json!(key(2)?), "{label}: {after}");
    assert_eq!(after["url"], json!(url), "{label}: {after}");
    let history = control.history().await?;
    assert_eq!(
        history["updates"].as_array().map(Vec::len),
        Some(1),
        "{label}: only the genuine update applied: {history}"
    );
    let status = sim.stop().await?;
    assert!(status.success(), "{label}: simulator exit {status}");
    Ok(())
}

#[tokio::test]
async fn beem_witness_update_on_hive() -> anyhow::Result<()> {
    witness_update_round_trip(Client::Beem, ProfileName::Hive).await
}

#[tokio::test]
async fn beem_witness_update_on_steem() -> anyhow::Result<()> {
    witness_update_round_trip(Client::Beem, ProfileName::Steem).await
}

/// beem 0.24.26 needs its own VIT chain parameters and its non-appbase request mode for a
/// steemd 0.19 node (tests/outside/README.md).
#[tokio::test]
async fn beem_witness_update_on_vit() -> anyhow::Result<()> {
    witness_update_round_trip(Client::Beem, ProfileName::Vit).await
}

#[tokio::test]
async fn dhive_witness_update_on_hive() -> anyhow::Result<()> {
    witness_update_round_trip(Client::Dhive, ProfileName::Hive).await
}

#[tokio::test]
async fn dhive_witness_update_on_steem() -> anyhow::Result<()> {
    witness_update_round_trip(Client::Dhive, ProfileName::Steem).await
}

// ------------------------------------------------------------------------------------------
// Their witness_set_properties, accepted by vwf-simchain (STEEM, HIVE)
// ------------------------------------------------------------------------------------------

/// The `witness_set_properties` broadcast request: test key `signer` signs a change of `OWNER`'s
/// signing key from `current` (the `key` prop) to `new`; with `changed_to`, the client replaces
/// the `new_signing_key` prop by that packed key after signing.
fn set_properties_request(
    sim: &SimChain,
    profile: &ChainProfile,
    signer: usize,
    current: &PublicKey,
    new: &PublicKey,
    changed_to: Option<String>,
) -> anyhow::Result<Value> {
    let prefix = &profile.address_prefix;
    Ok(json!({
        "operation": "witness_set_properties",
        "profile": profile.name.as_str(),
        "node": sim.node(0),
        "chain_id": profile.chain_id.to_string(),
        "prefix": prefix,
        "wif": TEST_WIFS.get(signer).context("test key index")?,
        "owner": OWNER,
        "current_key": current.to_string_with_prefix(prefix),
        "new_signing_key": new.to_string_with_prefix(prefix),
        "tamper_new_signing_key_hex": changed_to,
    }))
}

/// Broadcasts `request` with `client`, which must be refused with one of `texts` (lowercase)
/// after reaching the node. Returns the client's answer.
async fn refused_broadcast(
    client: Client,
    control: &Control,
    request: &Value,
    texts: &[&str],
    label: &str,
) -> anyhow::Result<Value> {
    let before = signed_requests(control).await?;
    let answer = run_client(client, "broadcast", request).await?;
    assert_eq!(
        answer["ok"],
        json!(false),
        "{label}: the node accepted it: {answer}"
    );
    let refusal = refusal_text(&answer).to_lowercase();
    assert!(
        texts.iter().any(|t| refusal.contains(t)),
        "{label}: refused for another reason (wanted one of {texts:?}): {answer}"
    );
    assert!(
        signed_requests(control).await? > before,
        "{label}: the transaction never reached the node"
    );
    Ok(answer)
}

/// Broadcasts `request` with `client`, which must be accepted and applied: `GET /history` shows
/// an update with the client's transaction id setting `new`, and `GET /status` the key.
async fn applied_broadcast(
    client: Client,
    control: &Control,
    profile: &ChainProfile,
    request: &Value,
    signer: &PublicKey,
    new: &PublicKey,
    label: &str,
) -> anyhow::Result<()> {
    let new_key = new.to_string_with_prefix(&profile.address_prefix);
    let answer = run_client(client, "broadcast", request).await?;
    assert_eq!(answer["ok"], json!(true), "{label}: refused: {answer}");
    let tx_id = answer["tx_id"]
        .as_str()
        .with_context(|| format!("{label}: no tx_id in {answer}"))?
        .to_owned();
    if !answer["tx"].is_null() {
        // Our code reads their transaction: same id, our operation, signed by the signing key.
        let theirs = SignedTransaction::from_legacy_json(&answer["tx"].to_string(), profile)?;
        assert_eq!(theirs.transaction.id(profile)?, tx_id, "{label}");
        assert_eq!(theirs.signer_keys(profile)?, vec![*signer], "{label}");
        let op = theirs
            .transaction
            .operations
            .first()
            .and_then(|op| op.as_witness_set_properties())
            .with_context(|| format!("{label}: not a witness_set_properties: {answer}"))?;
        assert_eq!(
            (op.current_key, op.new_signing_key),
            (*signer, *new),
            "{label}"
        );
    }
    let update = wait_until("the update in /history", CHAIN_TIMEOUT, POLL, || async {
        let history = control.history().await?;
        Ok(history["updates"]
            .as_array()
            .and_then(|updates| updates.iter().find(|u| u["tx_id"] == json!(tx_id)))
            .cloned())
    })
    .await?;
    assert_eq!(update["owner"], json!(OWNER), "{label}: {update}");
    assert_eq!(update["signing_key"], json!(new_key), "{label}: {update}");
    let after = control.witness(OWNER).await?;
    assert_eq!(after["signing_key"], json!(new_key), "{label}: {after}");
    Ok(())
}

/// `client` broadcasts `witness_set_properties` for `OWNER` (signing key: test key 1; active
/// key: test key 0) on `name` (STEEM or HIVE). Refused, with nothing applied three blocks later:
/// key 1 -> key 3 signed by key 1 whose new key is then changed to key 4 (missing other
/// authority); key 1 -> key 3 signed by the active key 0 (missing other authority); `key` = key
/// 3, signed by key 3 (the chain's `'key' does not match witness signing key.`). Applied: key
/// 1 -> key 2 signed by key 1, then the kill switch key 2 -> the null key signed by key 2.
async fn witness_set_properties_round_trip(
    client: Client,
    name: ProfileName,
) -> anyhow::Result<()> {
    if !installed(client).await? {
        return Ok(());
    }
    let profile = ChainProfile::builtin(name);
    ensure!(
        profile.witness_set_properties_tag.is_some(),
        "{name} has no witness_set_properties"
    );
    let sim = SimChain::spawn(
        SIM,
        &["--profile", name.as_str(), "--block-interval-ms", "500"],
    )
    .await?;
    assert_eq!(sim.ports.chain_id, profile.chain_id.to_string());
    let control = sim.control();
    let prefix = &profile.address_prefix;
    let key = |i: usize| test_public_key(i);
    let start = control.witness(OWNER).await?;
    assert_eq!(
        start["signing_key"],
        json!(key(1)?.to_string_with_prefix(prefix)),
        "{start}"
    );
    let label = format!("{} witness_set_properties on {name}", client.name());
    let other_authority = ["missing required other authority", "missing authority"];

    // 1. Signed by the current signing key, then the new key changed after signing.
    let request = set_properties_request(
        &sim,
        &profile,
        1,
        &key(1)?,
        &key(3)?,
        Some(hex::encode(key(4)?.as_bytes())),
    )?;
    let what = format!("{label}: changed after signing");
    let answer = refused_broadcast(client, &control, &request, &other_authority, &what).await?;
    let sent = SignedTransaction::from_legacy_json(&answer["tx"].to_string(), &profile)
        .with_context(|| format!("{what}: {answer}"))?;
    let op = sent
        .transaction
        .operations
        .first()
        .and_then(|op| op.as_witness_set_properties())
        .with_context(|| format!("{what}: {answer}"))?;
    assert_eq!(op.new_signing_key, key(4)?, "{what}: sent {answer}");
    // Our code agrees with the node: that signature does not recover the signing key.
    let recovered = sent.signer_keys(&profile)?;
    assert!(!recovered.contains(&key(1)?), "{what}: {recovered:?}");

    // 2. Signed by the active key, which is not the operation's authority.
    let request = set_properties_request(&sim, &profile, 0, &key(1)?, &key(3)?, None)?;
    let what = format!("{label}: signed by the active key");
    let answer = refused_broadcast(client, &control, &request, &other_authority, &what).await?;
    if !answer["tx"].is_null() {
        let sent = SignedTransaction::from_legacy_json(&answer["tx"].to_string(), &profile)?;
        assert_eq!(sent.signer_keys(&profile)?, vec![key(0)?], "{what}");
    }

    // 3. Authorized by its own `key`, which is not the witness's key on chain.
    let request = set_properties_request(&sim, &profile, 3, &key(3)?, &key(4)?, None)?;
    let what = format!("{label}: a key that is not on chain");
    refused_broadcast(
        client,
        &control,
        &request,
        &["'key' does not match witness signing key."],
        &what,
    )
    .await?;

    let head = control.head_num().await?;
    wait_for("three more blocks", CHAIN_TIMEOUT, POLL, || async {
        Ok(control.head_num().await? >= head + 3)
    })
    .await?;
    let history = control.history().await?;
    assert_eq!(history["updates"], json!([]), "{label}: {history}");
    let unchanged = control.witness(OWNER).await?;
    assert_eq!(unchanged["signing_key"], start["signing_key"], "{label}");

    // 4. The genuine switch, then the kill switch: applied.
    let request = set_properties_request(&sim, &profile, 1, &key(1)?, &key(2)?, None)?;
    let what = format!("{label}: key 1 -> key 2");
    applied_broadcast(
        client,
        &control,
        &profile,
        &request,
        &key(1)?,
        &key(2)?,
        &what,
    )
    .await?;
    let request = set_properties_request(&sim, &profile, 2, &key(2)?, &PublicKey::NULL, None)?;
    let what = format!("{label}: key 2 -> null key");
    applied_broadcast(
        client,
        &control,
        &profile,
        &request,
        &key(2)?,
        &PublicKey::NULL,
        &what,
    )
    .await?;
    let after = control.witness(OWNER).await?;
    assert_eq!(after["url"], start["url"], "{label}: the url is untouched");
    let history = control.history().await?;
    assert_eq!(
        history["updates"].as_array().map(Vec::len),
        Some(2),
        "{label}: only the two genuine changes applied: {history}"
    );
    let status = sim.stop().await?;
    assert!(status.success(), "{label}: simulator exit {status}");
    Ok(())
}

#[tokio::test]
async fn beem_witness_set_properties_on_hive() -> anyhow::Result<()> {
    witness_set_properties_round_trip(Client::Beem, ProfileName::Hive).await
}

#[tokio::test]
async fn beem_witness_set_properties_on_steem() -> anyhow::Result<()> {
    witness_set_properties_round_trip(Client::Beem, ProfileName::Steem).await
}

#[tokio::test]
async fn dhive_witness_set_properties_on_hive() -> anyhow::Result<()> {
    witness_set_properties_round_trip(Client::Dhive, ProfileName::Hive).await
}

#[tokio::test]
async fn dhive_witness_set_properties_on_steem() -> anyhow::Result<()> {
    witness_set_properties_round_trip(Client::Dhive, ProfileName::Steem).await
}
