//! Replays recorded answers of real Steem-family nodes (`tests/data/nodes/`, described in its
//! README) through the real client.
//!
//! Each corpus file holds one recorded exchange, unchanged, and an `expect` object written for
//! this test. A tiny HTTP server on 127.0.0.1 serves the recorded body with its recorded HTTP
//! status; [`NodeClient`] connects to it and makes the call named in `expect`. Modes:
//!
//! * `client`: through `NodeClient` (connect handshake first, from the file named in
//!   `connect_with` unless the case is itself a `get_config`);
//! * `parse`: the recorded `result` through the public parser (`NodeConfig::from_result`, …), for
//!   recordings of requests the client never sends (another API or style);
//! * `classify`: the recorded error text through `NodeError::classify`;
//! * `record`: evidence kept for its note; only checked to hold a `result`.
//!
//! What the server changes, and only that: the top-level `"id"` of a recorded JSON body is set to
//! the id of the request it answers (recorded ids belong to the recorder's requests); a body that
//! has no `"id"`, or `"id": null`, is served as recorded. Sources that stored only the `result`
//! (or `error`) member are wrapped in `{"jsonrpc":"2.0","result"|"error":…,"id":N}`. Requests
//! for any method other than the case's get HTTP 404 with an empty body, or, for a dotted name,
//! steemd 0.19's "no method with name" answer (scaffolding, not a recording). A `get_config` recording answers the detection probes as `config_keys` says.
//!
//! Cases with `expect.known_failure` fail today because of client bugs being fixed elsewhere:
//! they are printed, not counted. When one starts passing, the test says so (remove the mark).
//! Any other mismatch fails the test.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;
use vwf_shared::rpc::{
    Account, ApiStyle, BlockHeader, ClientOptions, DynamicGlobalProperties, NodeClient, NodeConfig,
    NodeError, RpcError, Version, Witness,
};
use vwf_shared::{ChainProfile, SignedTransaction};

#[path = "support/replay_node.rs"]
mod replay_node;
use replay_node::{Case, ReplayNode, all_cases, config_keys, corpus_dir, load_case};

// ------------------------------------------------------------------------------------------
// Checking

/// Collected mismatches of one case, and what the client showed (printed with the results).
#[derive(Default)]
struct Check(Vec<String>, Option<String>);

impl Check {
    fn eq<A: PartialEq<B> + fmt::Debug, B: fmt::Debug>(&mut self, what: &str, got: A, want: B) {
        if got != want {
            self.0.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    fn fail(&mut self, msg: impl Into<String>) {
        self.0.push(msg.into());
    }
}

fn profile_of(e: &Value) -> ChainProfile {
    match e["profile"].as_str() {
        Some("hive") => ChainProfile::hive(),
        Some("vit") => ChainProfile::vit(),
        _ => ChainProfile::steem(),
    }
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn u(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
}

/// The variant name of a `Debug` rendering (`Node { … }` → `Node`).
fn variant<T: fmt::Debug>(value: &T) -> String {
    format!("{value:?}")
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn check_config(c: &mut Check, got: &NodeConfig, want: &Value) {
    c.eq(
        "chain_id",
        got.chain_id.to_string(),
        s(&want["chain_id"]).unwrap_or_default(),
    );
    c.eq(
        "address_prefix",
        got.address_prefix.clone(),
        s(&want["address_prefix"]).unwrap_or_default(),
    );
    c.eq(
        "block_interval",
        got.block_interval.map(u64::from),
        u(&want["block_interval"]),
    );
    c.eq(
        "max_time_until_expiration",
        got.max_time_until_expiration.map(u64::from),
        u(&want["max_time_until_expiration"]),
    );
    c.eq(
        "blockchain_version",
        got.blockchain_version.clone(),
        s(&want["blockchain_version"]),
    );
    c.eq(
        "legacy_names",
        got.legacy_names,
        want["legacy_names"].as_bool().unwrap_or(false),
    );
}

fn check_dgp(c: &mut Check, got: &DynamicGlobalProperties, want: &Value) {
    c.eq(
        "head_block_number",
        u64::from(got.head_block_number),
        u(&want["head_block_number"]).unwrap_or(u64::MAX),
    );
    c.eq(
        "head_block_id",
        got.head_block_id.to_string(),
        s(&want["head_block_id"]).unwrap_or_default(),
    );
    c.eq(
        "time",
        got.time.to_string(),
        s(&want["time"]).unwrap_or_default(),
    );
    c.eq(
        "current_witness",
        got.current_witness.clone(),
        s(&want["current_witness"]).unwrap_or_default(),
    );
    c.eq(
        "last_irreversible_block_num",
        u64::from(got.last_irreversible_block_num),
        u(&want["last_irreversible_block_num"]).unwrap_or(u64::MAX),
    );
}

fn check_witness(c: &mut Check, got: &Witness, want: &Value, profile: &ChainProfile) {
    c.eq(
        "owner",
        got.owner.clone(),
        s(&want["owner"]).unwrap_or_default(),
    );
    c.eq("url", got.url.clone(), s(&want["url"]).unwrap_or_default());
    c.eq(
        "signing_key",
        got.signing_key
            .to_string_with_prefix(&profile.address_prefix),
        s(&want["signing_key"]).unwrap_or_default(),
    );
    c.eq(
        "total_missed",
        u64::from(got.total_missed),
        u(&want["total_missed"]).unwrap_or(u64::MAX),
    );
    c.eq(
        "last_confirmed_block_num",
        u64::from(got.last_confirmed_block_num),
        u(&want["last_confirmed_block_num"]).unwrap_or(u64::MAX),
    );
    c.eq(
        "running_version",
        got.running_version.clone(),
        s(&want["running_version"]).unwrap_or_default(),
    );
    match &got.props {
        Ok(p) => {
            let w = &want["props"];
            c.eq(
                "props.account_creation_fee",
                p.account_creation_fee.to_string(),
                s(&w["account_creation_fee"]).unwrap_or_default(),
            );
            c.eq(
                "props.maximum_block_size",
                u64::from(p.maximum_block_size),
                u(&w["maximum_block_size"]).unwrap_or(u64::MAX),
            );
            c.eq(
                "props.interest_rate",
                p.interest_rate.map(u64::from),
                u(&w["interest_rate"]),
            );
        }
        Err(e) => c.fail(format!("props not read: {e}")),
    }
}

fn check_authority(
    c: &mut Check,
    what: &str,
    got: &vwf_shared::rpc::Authority,
    want: &Value,
    profile: &ChainProfile,
) {
    c.eq(
        &format!("{what}.weight_threshold"),
        u64::from(got.weight_threshold),
        u(&want["weight_threshold"]).unwrap_or(u64::MAX),
    );
    let keys: Vec<(String, u64)> = got
        .key_auths
        .iter()
        .map(|(k, w)| {
            (
                k.to_string_with_prefix(&profile.address_prefix),
                u64::from(*w),
            )
        })
        .collect();
    let want_keys: Vec<(String, u64)> = want["key_auths"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| (s(&p[0]).unwrap_or_default(), u(&p[1]).unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    c.eq(&format!("{what}.key_auths"), keys, want_keys);
    let accounts: Vec<(String, u64)> = got
        .account_auths
        .iter()
        .map(|(n, w)| (n.clone(), u64::from(*w)))
        .collect();
    let want_accounts: Vec<(String, u64)> = want["account_auths"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| (s(&p[0]).unwrap_or_default(), u(&p[1]).unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    c.eq(&format!("{what}.account_auths"), accounts, want_accounts);
}

fn check_accounts(c: &mut Check, got: &[Account], want: &Value, profile: &ChainProfile) {
    let want = want.as_array().cloned().unwrap_or_default();
    c.eq("accounts.len", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        c.eq(
            &format!("[{i}].name"),
            g.name.clone(),
            s(&w["name"]).unwrap_or_default(),
        );
        check_authority(c, &format!("[{i}].owner"), &g.owner, &w["owner"], profile);
        check_authority(
            c,
            &format!("[{i}].active"),
            &g.active,
            &w["active"],
            profile,
        );
    }
}

fn check_block(c: &mut Check, got: &BlockHeader, want: &Value) {
    c.eq(
        "block_id",
        got.block_id.map(|b| b.to_string()),
        s(&want["block_id"]),
    );
    c.eq(
        "previous",
        got.previous.to_string(),
        s(&want["previous"]).unwrap_or_default(),
    );
    c.eq(
        "timestamp",
        got.timestamp.to_string(),
        s(&want["timestamp"]).unwrap_or_default(),
    );
    c.eq(
        "witness",
        got.witness.clone(),
        s(&want["witness"]).unwrap_or_default(),
    );
    let ids: Vec<String> = want["transaction_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(s).collect())
        .unwrap_or_default();
    c.eq("transaction_ids", got.transaction_ids.clone(), ids);
}

fn check_version(c: &mut Check, got: &Version, want: &Value) {
    c.eq(
        "blockchain_version",
        got.blockchain_version.clone(),
        s(&want["blockchain_version"]).unwrap_or_default(),
    );
    c.eq(
        "chain_revision",
        got.chain_revision.clone(),
        s(&want["chain_revision"]),
    );
    c.eq(
        "fc_revision",
        got.fc_revision.clone(),
        s(&want["fc_revision"]),
    );
    c.eq(
        "chain_id",
        got.chain_id.map(|id| id.to_string()),
        s(&want["chain_id"]),
    );
}

/// `expect.error` against an `RpcError`.
fn check_error(c: &mut Check, err: &RpcError, want: &Value) {
    let shown = err.to_string();
    c.1 = Some(format!("error: {shown}"));
    c.eq(
        "error kind",
        variant(err),
        s(&want["kind"]).unwrap_or_default(),
    );
    if let Some(code) = want["code"].as_i64() {
        match err {
            RpcError::Node { code: got, .. } => c.eq("error code", *got, code),
            other => c.fail(format!(
                "want a node refusal with code {code}, got {}",
                variant(other)
            )),
        }
    }
    if let Some(status) = u(&want["status"]) {
        match err {
            RpcError::HttpStatus { status: got, .. } => {
                c.eq("http status", u64::from(*got), status)
            }
            other => c.fail(format!("want HTTP status {status}, got {}", variant(other))),
        }
    }
    if let Some(kind) = want["node_error"].as_str() {
        c.eq(
            "node_error",
            err.node_error().map(variant),
            Some(kind.to_owned()),
        );
    }
    if let Some(r) = want["retryable"].as_bool() {
        c.eq("is_retryable", err.is_retryable(), r);
    }
    if let Some(m) = want["method_not_found"].as_bool() {
        c.eq("is_method_not_found", err.is_method_not_found(), m);
    }
    if want["one_line"].as_bool() == Some(true) && (shown.contains('\n') || shown.contains('\r')) {
        let lines = shown.lines().count();
        c.fail(format!(
            "display is {lines} lines, not one: {:?}",
            first_chars(&shown, 160)
        ));
    }
    for needle in want["contains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !shown.contains(needle) {
            c.fail(format!(
                "display lacks {needle:?}: {:?}",
                first_chars(&shown, 300)
            ));
        }
    }
}

fn first_chars(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

// ------------------------------------------------------------------------------------------
// Running

fn options(e: &Value) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(3),
        synchronous_broadcast_timeout: Duration::from_secs(3),
        retry_backoff: Duration::from_millis(1),
        read_retries: e["read_retries"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(2),
        ..ClientOptions::default()
    }
}

/// The route the client uses for `call` in `style`.
fn call_key(style: ApiStyle, call: &str) -> String {
    match style {
        ApiStyle::Condenser => format!("condenser_api.{call}"),
        _ => {
            let api = match call {
                "get_version" => "login_api",
                "broadcast_transaction" | "broadcast_transaction_synchronous" => {
                    "network_broadcast_api"
                }
                _ => "database_api",
            };
            format!("{api}.{call}")
        }
    }
}

fn vector_tx(name: &str, profile: &ChainProfile) -> Result<SignedTransaction, String> {
    let vectors: Value =
        serde_json::from_str(include_str!("data/vectors.json")).map_err(|e| e.to_string())?;
    let tx = vectors["transactions"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == name))
        .ok_or_else(|| format!("no vector transaction {name}"))?;
    SignedTransaction::from_legacy_json(&tx["signed_tx_json_legacy"].to_string(), profile)
        .map_err(|e| e.to_string())
}

/// Runs one case; the mismatches, or nothing.
async fn run_case(case: &Case) -> Result<Check, String> {
    let e = case.expect().clone();
    let mut c = Check::default();
    match e["mode"].as_str() {
        Some("parse") => run_parse(case, &e, &mut c)?,
        Some("classify") => run_classify(case, &e, &mut c)?,
        // Kept as evidence only (see its note): the recorded body must hold a result.
        Some("record") => {
            case.result()?;
        }
        Some("client") => run_client(case, &e, &mut c).await?,
        other => return Err(format!("unknown mode {other:?}")),
    }
    Ok(c)
}

fn run_parse(case: &Case, e: &Value, c: &mut Check) -> Result<(), String> {
    let profile = profile_of(e);
    let mut result = case.result()?;
    for step in e["result_path"].as_array().into_iter().flatten() {
        result = match step {
            Value::Number(n) => {
                result[usize::try_from(n.as_u64().unwrap_or(0)).unwrap_or(0)].clone()
            }
            Value::String(k) => result[k.as_str()].clone(),
            _ => Value::Null,
        };
    }
    let want = &e["ok"];
    let call = e["call"].as_str().unwrap_or_default();
    if let Some(pe) = e.get("parse_error") {
        let got = match call {
            "get_block" => BlockHeader::from_result(result).map(drop),
            other => return Err(format!("parse_error for {other}")),
        };
        match got {
            Ok(()) => c.fail("parsed, want an error"),
            Err(msg) => {
                for needle in pe["contains"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !msg.contains(needle) {
                        c.fail(format!("parse error lacks {needle:?}: {msg}"));
                    }
                }
            }
        }
        return Ok(());
    }
    match call {
        "connect" => match NodeConfig::from_result(result) {
            Ok(cfg) => check_config(c, &cfg, want),
            Err(err) => c.fail(format!("NodeConfig::from_result: {err}")),
        },
        "get_dynamic_global_properties" => match DynamicGlobalProperties::from_result(result) {
            Ok(d) => check_dgp(c, &d, want),
            Err(err) => c.fail(format!("DynamicGlobalProperties::from_result: {err}")),
        },
        "get_witness_by_account" => match Witness::from_result(result, &profile) {
            Ok(w) => check_witness(c, &w, want, &profile),
            Err(err) => c.fail(format!("Witness::from_result: {err}")),
        },
        "get_accounts" => {
            let items = result.as_array().cloned().unwrap_or_default();
            let parsed: Result<Vec<Account>, String> = items
                .into_iter()
                .map(|a| Account::from_result(a, &profile))
                .collect();
            match parsed {
                Ok(a) => check_accounts(c, &a, want, &profile),
                Err(err) => c.fail(format!("Account::from_result: {err}")),
            }
        }
        "get_block" => match BlockHeader::from_result(result) {
            Ok(b) => check_block(c, &b, want),
            Err(err) => c.fail(format!("BlockHeader::from_result: {err}")),
        },
        "get_version" => match Version::from_result(result) {
            Ok(v) => check_version(c, &v, want),
            Err(err) => c.fail(format!("Version::from_result: {err}")),
        },
        "transaction_hex_appbase" => {
            let h = result["hex"].as_str().unwrap_or_default();
            match hex::decode(h) {
                Ok(_) => c.eq("hex", h.to_owned(), s(&want["hex"]).unwrap_or_default()),
                Err(err) => c.fail(format!("hex: {err}")),
            }
        }
        other => return Err(format!("no parser for {other}")),
    }
    Ok(())
}

fn run_classify(case: &Case, e: &Value, c: &mut Check) -> Result<(), String> {
    let error = case.error()?;
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    let data = match &error["data"] {
        Value::Null => String::new(),
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    let text = if data.is_empty() {
        message
    } else {
        format!("{message}\n{data}")
    };
    let kind = NodeError::classify(&text);
    c.eq(
        "node_error",
        variant(&kind),
        s(&e["node_error"]).unwrap_or_default(),
    );
    for needle in e["contains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !text.contains(needle) {
            c.fail(format!("error text lacks {needle:?}"));
        }
    }
    Ok(())
}

async fn run_client(case: &Case, e: &Value, c: &mut Check) -> Result<(), String> {
    let profile = profile_of(e);
    let call = e["call"].as_str().unwrap_or_default().to_owned();
    let node = ReplayNode::start().await?;
    let opts = options(e);

    if call == "connect" {
        for key in config_keys(case) {
            node.route(&key, vec![case.served()?]);
        }
        if let Some(want) = e.get("parse_ok") {
            match NodeConfig::from_result(case.result()?) {
                Ok(cfg) => check_config(c, &cfg, want),
                Err(err) => c.fail(format!("NodeConfig::from_result: {err}")),
            }
        }
        let got = NodeClient::connect(&node.url, profile, opts).await;
        match (got, e.get("ok"), e.get("error")) {
            (Ok(client), Some(want), _) => {
                check_config(c, client.node_config(), want);
                if let Some(style) = e["style"].as_str() {
                    c.eq("style", variant(&client.style()), style.to_owned());
                }
            }
            (Err(err), Some(_), _) => c.fail(format!("connect failed: {err}")),
            (Err(err), None, Some(want)) => check_error(c, &err, want),
            (Ok(client), None, Some(_)) => {
                c.fail(format!("connected ({}), want an error", client.style()))
            }
            (_, None, None) => return Err("connect case without ok or error".into()),
        }
        return Ok(());
    }

    // The handshake, from the named get_config recording.
    let connect_rel = e["connect_with"].as_str().ok_or("no connect_with")?;
    let connect_case = load_case(connect_rel)?;
    for key in config_keys(&connect_case) {
        node.route(&key, vec![connect_case.served()?]);
    }
    let client = NodeClient::connect(&node.url, profile.clone(), opts.clone())
        .await
        .map_err(|err| format!("connect with {connect_rel} failed: {err}"))?;

    let key = match e["serve_for"].as_str() {
        Some(k) => k.to_owned(),
        None => call_key(client.style(), &call),
    };
    let mut replies = Vec::new();
    for pre in e["preceded_by"].as_array().into_iter().flatten() {
        let pre_case = load_case(pre["file"].as_str().unwrap_or_default())?;
        let times = pre["times"].as_u64().unwrap_or(1);
        for _ in 0..times {
            replies.push(pre_case.served()?);
        }
    }
    replies.push(case.served()?);
    node.route(&key, replies);

    let args = &e["args"];
    let name = args["name"].as_str().unwrap_or_default().to_owned();
    let want_ok = e.get("ok");
    let want_err = e.get("error");
    macro_rules! outcome {
        ($result:expr, $check:expr) => {
            match ($result, want_ok, want_err) {
                (Ok(v), Some(w), _) => $check(c, &v, w),
                (Err(err), Some(_), _) => c.fail(format!("call failed: {err}")),
                (Err(err), None, Some(w)) => check_error(c, &err, w),
                (Ok(v), None, Some(_)) => c.fail(format!("succeeded ({v:?}), want an error")),
                (_, None, None) => return Err("case without ok or error".into()),
            }
        };
    }
    match call.as_str() {
        "get_dynamic_global_properties" => {
            outcome!(client.get_dynamic_global_properties().await, check_dgp)
        }
        "get_witness_by_account" => outcome!(
            client.get_witness_by_account(&name).await,
            |c: &mut Check, w: &Witness, want: &Value| check_witness(c, w, want, &profile)
        ),
        "get_accounts" => {
            let names: Vec<String> = args["names"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(s)
                .collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            outcome!(
                client.get_accounts(&refs).await,
                |c: &mut Check, a: &Vec<Account>, want: &Value| check_accounts(
                    c, a, want, &profile
                )
            )
        }
        "get_block" => {
            let num = u32::try_from(u(&args["num"]).unwrap_or(1)).unwrap_or(1);
            outcome!(client.get_block(num).await, check_block)
        }
        "get_version" => outcome!(client.get_version().await, check_version),
        "get_transaction_hex" => {
            let tx = vector_tx(args["tx"].as_str().unwrap_or_default(), &profile)?;
            outcome!(
                client.get_transaction_hex(&tx).await,
                |c: &mut Check, bytes: &Vec<u8>, want: &Value| c.eq(
                    "hex",
                    hex::encode(bytes),
                    s(&want["hex"]).unwrap_or_default()
                )
            )
        }
        "broadcast_transaction" => {
            let tx = vector_tx(args["tx"].as_str().unwrap_or_default(), &profile)?;
            outcome!(
                client.broadcast_transaction(&tx).await,
                |_c: &mut Check, _v: &(), _w: &Value| ()
            )
        }
        "broadcast_transaction_synchronous" => {
            let tx = vector_tx(args["tx"].as_str().unwrap_or_default(), &profile)?;
            outcome!(
                client.broadcast_transaction_synchronous(&tx).await,
                |_c: &mut Check, _v: &vwf_shared::rpc::BroadcastResult, _w: &Value| ()
            )
        }
        other => return Err(format!("no client call {other}")),
    }

    let sent = node.count(&key);
    match &e["requests"] {
        Value::Number(n) => c.eq("requests sent", sent as u64, n.as_u64().unwrap_or(0)),
        Value::String(t) if t == "one_plus_retries" => {
            c.eq(
                "requests sent (1 + read_retries)",
                sent as u64,
                1 + u64::from(opts.read_retries),
            );
        }
        _ => {}
    }
    Ok(())
}

#[tokio::test]
async fn replay_recorded_node_answers() {
    let rels = all_cases();
    assert!(
        !rels.is_empty(),
        "no corpus files under {}",
        corpus_dir().display()
    );
    let (mut passed, mut known, mut flipped, mut failed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut by_generation: HashMap<String, (usize, usize)> = HashMap::new();
    for rel in &rels {
        let case = match load_case(rel) {
            Ok(c) => c,
            Err(err) => {
                failed.push(format!("{rel}: cannot load: {err}"));
                continue;
            }
        };
        let known_reason = case.expect()["known_failure"].as_str().map(str::to_owned);
        let outcome = run_case(&case).await;
        let (problems, shown) = match outcome {
            Ok(check) => (check.0, check.1),
            Err(err) => (vec![format!("setup: {err}")], None),
        };
        let entry = by_generation
            .entry(case.file.generation.clone())
            .or_default();
        entry.0 += 1;
        let mut label = format!(
            "{rel} [{} {} {}]",
            case.file.method, case.file.style, case.file.http_status
        );
        if let Some(shown) = shown {
            label.push_str(&format!("\n      {}", first_chars(&shown, 400)));
        }
        match (problems.is_empty(), known_reason) {
            (true, None) => {
                entry.1 += 1;
                passed.push(label);
            }
            (true, Some(reason)) => {
                entry.1 += 1;
                flipped.push(format!(
                    "{label}\n      marked known_failure ({reason}) but PASSES now: remove the mark"
                ));
            }
            (false, Some(reason)) => known.push(format!(
                "{label}\n      known failure: {reason}\n      {}",
                problems.join("\n      ")
            )),
            (false, None) => failed.push(format!("{label}\n      {}", problems.join("\n      "))),
        }
    }
    println!("\n== replay: {} cases", rels.len());
    let mut gens: Vec<_> = by_generation.iter().collect();
    gens.sort();
    for (g, (n, ok)) in gens {
        println!("   {g}: {ok}/{n} as expected");
    }
    println!("\n== passing ({})", passed.len());
    for p in &passed {
        println!("   ok   {p}");
    }
    println!("\n== known failures, not counted ({})", known.len());
    for k in &known {
        println!("   KNOWN {k}");
    }
    if !flipped.is_empty() {
        println!("\n== known failures that now pass ({})", flipped.len());
        for f in &flipped {
            println!("   FLIP {f}");
        }
    }
    println!("\n== unexpected failures ({})", failed.len());
    for f in &failed {
        println!("   FAIL {f}");
    }
    assert!(
        failed.is_empty(),
        "{} corpus case(s) failed; see the list above",
        failed.len()
    );
}
