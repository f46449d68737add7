//! Unit tests of the request handling: every style each generation serves, its error texts, and
//! the per-node faults on reads and broadcasts.

use clap::Parser;
use serde_json::{Value, json};
use vwf_shared::{ProfileName, PublicKey, TimePointSec};

use super::*;
use crate::simchain::chain::ChainState;
use crate::simchain::config::{Cli, SimSetup};
use crate::simchain::forms::tx_to_appbase;
use crate::simchain::legacy::DATABASE_API;
use crate::simchain::sim::NodeFaults;
use crate::tx::{sign, test_public_key, to_value, transaction, witness_update};

const OWNER: &str = "vit-test-witness";

/// A simulator with the default config (one witness, active key = test key 0) and one node.
fn sim(profile: ProfileName) -> anyhow::Result<Arc<Sim>> {
    let cli = Cli::parse_from(["vwf-simchain", "--profile", profile.as_str()]);
    let setup = SimSetup::from_cli(&cli, 1_700_000_000_000)?;
    Ok(Sim::new(ChainState::new(&setup), 1))
}

/// A `witness_update` setting test key `new_key`, signed with test key `signer` (0 is the
/// witness's active key), in legacy JSON.
fn update_tx_signed(sim: &Sim, new_key: usize, signer: usize) -> anyhow::Result<Value> {
    let chain = sim.chain();
    let profile = chain.profile.clone();
    let op = witness_update(&profile, OWNER, test_public_key(new_key)?);
    let head = chain.head();
    let tx = transaction(op, &head.id, TimePointSec(head.time_sec()), 60)?;
    to_value(&sign(tx, signer, &profile)?, &profile)
}

/// A valid signed `witness_update` setting test key `new_key` (distinct keys, distinct ids).
fn update_tx(sim: &Sim, new_key: usize) -> anyhow::Result<Value> {
    update_tx_signed(sim, new_key, 0)
}

/// The whole answer: the JSON, `{"text": body}` for a text body, `"502"` for a Bad Gateway.
async fn answer(sim: &Arc<Sim>, request: &Value) -> Value {
    match handle(sim, 0, request.to_string().as_bytes()).await {
        Reply::Json(answer) => answer,
        Reply::Text(text) => json!({ "text": text }),
        Reply::BadGateway => json!("502"),
    }
}

/// The `result` of an answer; the whole answer when there is none (so an error shows in a
/// failed assertion).
async fn result(sim: &Arc<Sim>, request: &Value) -> Value {
    let a = answer(sim, request).await;
    a.get("result").cloned().unwrap_or(a)
}

/// An appbase request with `jsonrpc`.
fn appbase(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

/// The requests calling a 0.19 `database_api` / condenser method with positional `args` in
/// every style the profile serves for it.
fn legacy_styles(profile: ProfileName, method: &str, args: &Value) -> Vec<Value> {
    if profile == ProfileName::Vit {
        vec![
            json!({"id": 1, "method": "call", "params": ["database_api", method, args]}),
            json!({"id": 2, "method": "call", "params": [0, method, args]}),
            json!({"id": 3, "method": method, "params": args}),
        ]
    } else {
        vec![
            appbase(&format!("condenser_api.{method}"), args.clone()),
            json!({"jsonrpc": "2.0", "id": 2, "method": "call", "params": ["condenser_api", method, args]}),
        ]
    }
}

/// The broadcast requests of `method` for `tx` (legacy JSON) in every style the profile serves.
fn broadcast_styles(profile: ProfileName, method: &str, tx: &Value) -> Vec<Value> {
    if profile == ProfileName::Vit {
        vec![
            json!({"id": 1, "method": "call", "params": ["network_broadcast_api", method, [tx]]}),
            json!({"id": 2, "method": "call", "params": [2, method, [tx]]}),
        ]
    } else {
        vec![
            appbase(&format!("condenser_api.{method}"), json!([tx])),
            json!({"jsonrpc": "2.0", "id": 2, "method": "call", "params": ["condenser_api", method, [tx]]}),
        ]
    }
}

fn set(sim: &Sim, f: impl FnOnce(&mut NodeFaults)) {
    let mut faults = sim.faults(0);
    f(&mut faults);
    sim.set_faults(0, faults);
}

#[test]
fn signed_transactions_are_recognized_in_any_position() {
    let signed = json!({"method":"call","params":["network_broadcast_api","broadcast_transaction",[{"signatures":["1f00"]}]]});
    let unsigned =
        json!({"method":"condenser_api.get_transaction_hex","params":[{"signatures":[]}]});
    assert!(carries_signature(&signed));
    assert!(!carries_signature(&unsigned));
}

#[tokio::test]
async fn vit_sends_dotted_names_whole_to_api_0_like_steemd_0_19() -> anyhow::Result<()> {
    let sim = sim(ProfileName::Vit)?;
    let method = "condenser_api.get_dynamic_global_properties";
    let a = answer(&sim, &json!({"id": 7, "method": method, "params": []})).await;
    let by_name: serde_json::Map<String, Value> = DATABASE_API
        .iter()
        .enumerate()
        .map(|(i, n)| ((*n).to_owned(), json!(i)))
        .collect();
    let api_text = crate::simchain::fc_error::fc_json(&Value::Object(by_name));
    let expected = format!(
        "10 assert_exception: Assert Exception\nitr != _by_name.end(): no method with name '{method}'\n    {{\"name\":\"{method}\",\"api\":{api_text}}}\n    th_a  api_connection.hpp:109 call\n\n    {{\"call.method\":\"{method}\",\"call.params\":[]}}\n    th_a  websocket_api.cpp:124 on_message"
    );
    assert_eq!(a["id"], 7);
    assert!(a.get("jsonrpc").is_none(), "{a}");
    assert!(a.get("result").is_none());
    assert_eq!(a["error"]["code"], 1);
    assert_eq!(a["error"]["message"], expected.as_str());
    let data = &a["error"]["data"];
    assert_eq!(data["code"], 10);
    assert_eq!(data["name"], "assert_exception");
    assert_eq!(data["message"], "Assert Exception");
    let top = &data["stack"][0];
    assert_eq!(
        top["format"],
        "itr != _by_name.end(): no method with name '${name}'"
    );
    assert_eq!(top["data"]["name"], method);
    assert_eq!(top["data"]["api"]["get_config"], 21);
    assert_eq!(top["data"]["api"]["get_witness_by_account"], 63);
    assert_eq!(top["context"]["file"], "api_connection.hpp");
    assert_eq!(top["context"]["line"], 109);
    assert_eq!(top["context"]["level"], "error");
    assert_eq!(top["context"]["thread_name"], "th_a");
    let outer = &data["stack"][1];
    assert_eq!(outer["context"]["file"], "websocket_api.cpp");
    assert_eq!(outer["context"]["line"], 124);
    assert_eq!(outer["context"]["level"], "warn");
    assert_eq!(outer["data"]["call.method"], method);
    assert_eq!(data["stack"].as_array().map(Vec::len), Some(2));
    Ok(())
}

#[tokio::test]
async fn vit_resolves_apis_like_fc_websocket_api() -> anyhow::Result<()> {
    let sim = sim(ProfileName::Vit)?;
    // An unknown API name resolves to null, and null.as_uint64() is API 0.
    let config = result(
        &sim,
        &json!({"id": 1, "method": "call", "params": ["condenser_api", "get_config", []]}),
    )
    .await;
    assert_eq!(config["STEEMIT_ADDRESS_PREFIX"], "VIT", "{config}");
    // A numeric API id beyond the registered ones.
    let a = answer(
        &sim,
        &json!({"id": 1, "method": "call", "params": [5, "get_config", []]}),
    )
    .await;
    assert!(
        a["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("10 assert_exception: Assert Exception\n_local_apis.size() > api_id: \n    {}\n    th_a  api_connection.hpp:229 receive_call")),
        "{a}"
    );
    // `call` needs [api, method, [args]].
    let a = answer(
        &sim,
        &json!({"id": 1, "method": "call", "params": ["database_api", "get_config"]}),
    )
    .await;
    assert!(a["error"]["message"].as_str().is_some_and(|m| m.contains(
        "args.size() == 3 && args[2].is_array(): \n    {}\n    th_a  websocket_api.cpp:15 operator()"
    )), "{a}");
    // Too few arguments.
    let a = answer(
        &sim,
        &json!({"id": 1, "method": "call", "params": ["database_api", "get_block", []]}),
    )
    .await;
    assert!(a["error"]["message"].as_str().is_some_and(|m| m.starts_with(
        "10 assert_exception: Assert Exception\na0 != e: too few arguments passed to method\n    {}\n    th_a  api_connection.hpp:165 call_generic"
    )), "{a}");
    // 0.19 has no get_version in database_api; login_api has it.
    let a = answer(
        &sim,
        &json!({"id": 1, "method": "get_version", "params": []}),
    )
    .await;
    assert!(
        a["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no method with name 'get_version'"))
    );
    let v = result(
        &sim,
        &json!({"id": 1, "method": "call", "params": ["login_api", "get_version", []]}),
    )
    .await;
    assert_eq!(v["blockchain_version"], "0.0.0");
    assert!(v.get("chain_id").is_none());
    // An object `params` cannot be read as a request: the body is fc's text.
    let a = answer(
        &sim,
        &json!({"id": 1, "method": "database_api.get_config", "params": {}}),
    )
    .await;
    assert_eq!(
        a["text"],
        "7 bad_cast_exception: Bad Cast\nInvalid cast from object_type to Array\n    {\"type\":\"object_type\"}\n    th_a  variant.cpp:537 get_array"
    );
    Ok(())
}

#[tokio::test]
async fn every_generation_serves_the_startup_and_update_reads() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        let prefix = match profile {
            ProfileName::Vit => "STEEMIT_",
            ProfileName::Steem => "STEEM_",
            ProfileName::Hive => "HIVE_",
        };
        let chain_id = sim.chain().profile.chain_id.to_string();
        let tx = update_tx(&sim, 2)?;
        let hex = crate::simchain::methods::transaction_hex(&sim.chain(), &tx)?;
        let hardfork = match profile {
            ProfileName::Vit => "0.19.0",
            ProfileName::Steem => "0.23.0",
            ProfileName::Hive => "1.28.0",
        };
        for (method, args, check) in [
            ("get_config", json!([]), "config"),
            ("get_dynamic_global_properties", json!([]), "dgp"),
            ("get_chain_properties", json!([]), "props"),
            ("get_witness_by_account", json!([OWNER]), "witness"),
            ("get_accounts", json!([[OWNER]]), "accounts"),
            ("get_block", json!([1]), "block"),
            ("get_block_header", json!([1]), "header"),
            ("get_hardfork_version", json!([]), "hardfork"),
            ("get_next_scheduled_hardfork", json!([]), "next"),
            ("get_witness_schedule", json!([]), "schedule"),
            ("get_active_witnesses", json!([]), "active"),
            ("get_transaction_hex", json!([tx]), "hex"),
        ] {
            for request in legacy_styles(profile, method, &args) {
                let r = result(&sim, &request).await;
                let ok = match check {
                    "config" => r[format!("{prefix}CHAIN_ID")] == chain_id.as_str(),
                    "dgp" => {
                        r["head_block_number"] == sim.chain().head_num()
                            && r["current_supply"].is_string()
                    }
                    "props" => r["account_creation_fee"].is_string(),
                    "witness" => {
                        r["owner"] == OWNER && r["props"]["account_creation_fee"].is_string()
                    }
                    "accounts" => r[0]["name"] == OWNER && r[0]["active"]["weight_threshold"] == 1,
                    "block" => r["block_id"].as_str().is_some_and(|s| s.len() == 40),
                    "header" => r["witness"] == "initminer",
                    "hardfork" => r == hardfork,
                    "next" => r["hf_version"] == hardfork,
                    "schedule" => r["current_shuffled_witnesses"].is_array(),
                    "active" => r.as_array().is_some_and(|a| !a.is_empty()),
                    _ => r == hex.as_str(),
                };
                assert!(ok, "{profile} {request}: {r}");
            }
        }
        let version = match profile {
            ProfileName::Vit => {
                json!({"id": 1, "method": "call", "params": ["login_api", "get_version", []]})
            }
            _ => appbase("condenser_api.get_version", json!([])),
        };
        let v = result(&sim, &version).await;
        assert!(v["blockchain_version"].is_string(), "{profile}: {v}");
        // Steem's condenser get_version has no chain id; hived's has one and a node type.
        assert_eq!(
            v.get("chain_id").is_some(),
            profile == ProfileName::Hive,
            "{profile}: {v}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn appbase_database_api_takes_objects_and_answers_appbase_json() -> anyhow::Result<()> {
    for profile in [ProfileName::Steem, ProfileName::Hive] {
        let sim = sim(profile)?;
        let core = sim.chain().profile.core_symbol.json_name().to_owned();
        let prefix = if profile == ProfileName::Hive {
            "HIVE_"
        } else {
            "STEEM_"
        };
        let chain_id = sim.chain().profile.chain_id.to_string();

        let config = result(&sim, &appbase("database_api.get_config", json!({}))).await;
        assert_eq!(
            config[format!("{prefix}CHAIN_ID")],
            chain_id.as_str(),
            "{profile}: {config}"
        );
        assert_eq!(config[format!("{prefix}ADDRESS_PREFIX")], "STM");
        assert_eq!(
            config[format!("{core}_SYMBOL")],
            json!({"nai": "@@000000021", "decimals": 3})
        );
        assert!(config.get("STEEMIT_BLOCKCHAIN_VERSION").is_none());
        // No params and the two-element `call` form default to `{}`.
        let bare = result(
            &sim,
            &json!({"jsonrpc": "2.0", "id": 3, "method": "database_api.get_config"}),
        )
        .await;
        assert_eq!(bare, config);
        let call2 = result(&sim, &json!({"jsonrpc": "2.0", "id": 3, "method": "call", "params": ["database_api", "get_config"]})).await;
        assert_eq!(call2, config);

        let version = result(&sim, &appbase("database_api.get_version", json!({}))).await;
        assert_eq!(
            version["chain_id"],
            chain_id.as_str(),
            "{profile}: {version}"
        );

        let dgp = result(
            &sim,
            &appbase("database_api.get_dynamic_global_properties", json!({})),
        )
        .await;
        assert_eq!(dgp["head_block_number"], sim.chain().head_num());
        assert_eq!(
            dgp["current_supply"]["nai"], "@@000000021",
            "{profile}: {dgp}"
        );
        assert_eq!(dgp["total_vesting_shares"]["precision"], 6);

        let found = result(
            &sim,
            &appbase(
                "database_api.find_witnesses",
                json!({"owners": [OWNER, "nobody-here"]}),
            ),
        )
        .await;
        let witnesses = found["witnesses"].as_array().cloned().unwrap_or_default();
        assert_eq!(witnesses.len(), 1, "{profile}: {found}");
        let w = &witnesses[0];
        assert_eq!(w["owner"], OWNER);
        assert_eq!(
            w["props"]["account_creation_fee"],
            json!({"amount": "100", "precision": 3, "nai": "@@000000021"})
        );
        assert_eq!(w["props"]["account_subsidy_budget"], 797);
        let rate = if profile == ProfileName::Hive {
            "hbd_exchange_rate"
        } else {
            "sbd_exchange_rate"
        };
        assert_eq!(w[rate]["base"]["nai"], "@@000000013", "{profile}: {w}");

        let listed = result(
            &sim,
            &appbase(
                "database_api.list_witnesses",
                json!({"start": "", "limit": 100, "order": "by_name"}),
            ),
        )
        .await;
        assert!(
            listed["witnesses"]
                .as_array()
                .is_some_and(|l| l.iter().any(|w| w["owner"] == OWNER)),
            "{profile}: {listed}"
        );
        let by_vote = result(
            &sim,
            &appbase(
                "database_api.list_witnesses",
                json!({"start": [u64::MAX.to_string(), ""], "limit": 2, "order": "by_vote_name"}),
            ),
        )
        .await;
        assert_eq!(
            by_vote["witnesses"].as_array().map(Vec::len),
            Some(2),
            "{profile}: {by_vote}"
        );

        let accounts = result(
            &sim,
            &appbase("database_api.find_accounts", json!({"accounts": [OWNER]})),
        )
        .await;
        assert_eq!(
            accounts["accounts"][0]["name"], OWNER,
            "{profile}: {accounts}"
        );
        assert_eq!(accounts["accounts"][0]["balance"]["nai"], "@@000000021");

        let hf = result(
            &sim,
            &appbase("database_api.get_hardfork_properties", json!({})),
        )
        .await;
        assert_eq!(
            hf["current_hardfork_version"],
            result(
                &sim,
                &appbase("condenser_api.get_hardfork_version", json!([]))
            )
            .await
        );

        let active = result(
            &sim,
            &appbase("database_api.get_active_witnesses", json!({})),
        )
        .await;
        assert!(
            active["witnesses"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );

        let block = result(
            &sim,
            &appbase("block_api.get_block", json!({"block_num": 1})),
        )
        .await;
        assert_eq!(block["block"]["witness"], "initminer", "{profile}: {block}");
        let header = result(
            &sim,
            &appbase("block_api.get_block_header", json!({"block_num": 1})),
        )
        .await;
        assert_eq!(header["header"]["witness"], "initminer");
        assert_eq!(
            result(
                &sim,
                &appbase("block_api.get_block", json!({"block_num": 999_999}))
            )
            .await,
            json!({})
        );

        let tx = update_tx(&sim, 2)?;
        let legacy_hex = result(
            &sim,
            &appbase("condenser_api.get_transaction_hex", json!([tx])),
        )
        .await;
        let appbase_tx = tx_to_appbase(&sim.chain().profile, &tx);
        let hex = result(
            &sim,
            &appbase(
                "database_api.get_transaction_hex",
                json!({"trx": appbase_tx}),
            ),
        )
        .await;
        assert_eq!(hex["hex"], legacy_hex, "{profile}");

        // An array where a struct is expected: the Bad Cast beem reads as "appbase".
        let a = answer(&sim, &json!({"jsonrpc": "2.0", "id": 5, "method": "call", "params": ["database_api", "get_config", []]})).await;
        assert_eq!(a["error"]["code"], -32000, "{profile}: {a}");
        assert_eq!(
            a["error"]["message"],
            "Bad Cast:Invalid cast from type 'array_type' to Object"
        );
        assert_eq!(a["error"]["data"]["name"], "bad_cast_exception");
        assert_eq!(a["id"], 5);
        // condenser_api wants an array.
        let a = answer(&sim, &appbase("condenser_api.get_config", json!({}))).await;
        let expected = if profile == ProfileName::Hive {
            "Bad Cast:Invalid cast from object_type to Array, the variant is {}"
        } else {
            "Bad Cast:Invalid cast from object_type to Array"
        };
        assert_eq!(a["error"]["message"], expected, "{profile}: {a}");
    }
    Ok(())
}

#[tokio::test]
async fn appbase_request_errors_use_the_json_rpc_plugin_codes() -> anyhow::Result<()> {
    for profile in [ProfileName::Steem, ProfileName::Hive] {
        let sim = sim(profile)?;
        let hive = profile == ProfileName::Hive;
        let registry = if hive {
            "api_itr != data._registered_apis.end()"
        } else {
            "api_itr != _registered_apis.end()"
        };
        let cases = [
            (appbase("login_api.get_version", json!([])), -32002, format!("Assert Exception:{registry}: Could not find API login_api")),
            (json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": ["login_api", "get_version", []]}), -32002, format!("Assert Exception:{registry}: Could not find API login_api")),
            (appbase("database_api.get_witness_by_account", json!(["x"])), -32002, "Assert Exception:method_itr != api_itr->second.end(): Could not find method get_witness_by_account".to_owned()),
            (appbase("get_config", json!([])), -32002, "Assert Exception:v.size() == 2: method specification invalid. Should be api.method".to_owned()),
            (json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": {}}), -32002, "Assert Exception:v.size() == 2 || v.size() == 3: params should be {\"api\", \"method\", \"args\"".to_owned()),
            (json!({"jsonrpc": "2.0", "id": 1, "method": "call"}), -32001, "A member \"params\" does not exist".to_owned()),
            (json!({"id": 1, "method": "condenser_api.get_config", "params": []}), -32600, "jsonrpc value is not \"2.0\"".to_owned()),
            (json!({"jsonrpc": "2.0", "id": 1.5, "method": "condenser_api.get_config", "params": []}), -32600, "Only integer value or string is allowed for member \"id\"".to_owned()),
            (appbase("condenser_api.get_config", json!([1])), -32003, "Assert Exception:args.size() == 0: Expected #s argument(s), was 1".to_owned()),
            (appbase("condenser_api.get_witness_by_account", json!([])), -32003, "Assert Exception:args.size() == 1: Expected #s argument(s), was 0".to_owned()),
        ];
        for (request, code, message) in cases {
            let a = answer(&sim, &request).await;
            assert_eq!(a["error"]["code"], code, "{profile} {request}: {a}");
            assert_eq!(
                a["error"]["message"],
                message.as_str(),
                "{profile} {request}"
            );
            assert_eq!(a["jsonrpc"], "2.0");
        }
        // hived records the expression and its hash (its own json_rpc unit test's value).
        let a = answer(&sim, &appbase("fake_api.fake_method", json!([]))).await;
        assert_eq!(a["error"]["data"].get("assert_hash").is_some(), hive, "{a}");
        if hive {
            assert_eq!(a["error"]["data"]["assert_hash"], "13750519470524334703");
            assert_eq!(
                a["error"]["data"]["extension"]["assertion_expression"],
                registry
            );
            assert_eq!(
                a["error"]["data"]["stack"][0]["format"],
                "Could not find API ${api}"
            );
        } else {
            assert_eq!(
                a["error"]["data"]["stack"][0]["format"],
                format!("{registry}: Could not find API ${{api}}")
            );
        }
        // Batches answer element by element; an empty one is refused.
        let batch = json!([
            appbase("condenser_api.get_hardfork_version", json!([])),
            appbase("nope.nope", json!([]))
        ]);
        let a = answer(&sim, &batch).await;
        assert!(a[0]["result"].is_string(), "{a}");
        assert_eq!(a[1]["error"]["code"], -32002);
        let a = answer(&sim, &json!([])).await;
        assert_eq!(a["error"]["message"], "Array is invalid");
    }
    Ok(())
}

#[tokio::test]
async fn a_missing_authority_is_worded_per_generation() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        // Signed with test key 1, which is not the witness's active key.
        let tx = update_tx_signed(&sim, 2, 1)?;
        let request = broadcast_styles(profile, "broadcast_transaction", &tx).remove(0);
        let a = answer(&sim, &request).await;
        let error = &a["error"];
        let data = &error["data"];
        assert_eq!(data["code"], 3_010_000, "{profile}: {a}");
        assert_eq!(data["name"], "tx_missing_active_auth");
        assert_eq!(data["message"], "missing required active authority");
        let top = &data["stack"][0];
        assert_eq!(top["format"], "Missing Active Authority ${id}");
        assert_eq!(top["data"]["id"], OWNER);
        assert_eq!(top["data"]["auth"]["weight_threshold"], 1);
        assert_eq!(top["context"]["level"], "error");
        let files: Vec<String> = data["stack"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|f| {
                        format!(
                            "{}:{}",
                            f["context"]["file"].as_str().unwrap_or(""),
                            f["context"]["line"]
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        match profile {
            ProfileName::Vit => {
                assert_eq!(error["code"], 1);
                let message = error["message"].as_str().unwrap_or_default();
                assert!(
                    message.starts_with(&format!(
                        "3010000 tx_missing_active_auth: missing required active authority\nMissing Active Authority {OWNER}\n    {{\"id\":\"{OWNER}\",\"auth\":{{\"weight_threshold\":1,\"account_auths\":[],\"key_auths\":[[\"VIT"
                    )),
                    "{message}"
                );
                assert!(
                    message.ends_with("th_a  websocket_api.cpp:124 on_message"),
                    "{message}"
                );
                assert_eq!(
                    files,
                    [
                        "transaction.cpp:157",
                        "transaction.cpp:172",
                        "transaction.cpp:285",
                        "database.cpp:2916",
                        "database.cpp:672",
                        "websocket_api.cpp:124"
                    ]
                );
                assert_eq!(
                    data["stack"][3]["data"]["trx"]["operations"][0][0],
                    "witness_update"
                );
            }
            ProfileName::Steem => {
                assert_eq!(error["code"], -32000);
                assert_eq!(
                    error["message"],
                    format!("missing required active authority:Missing Active Authority {OWNER}")
                );
                assert_eq!(
                    files,
                    [
                        "transaction_util.hpp:88",
                        "transaction_util.hpp:103",
                        "transaction.cpp:232",
                        "database.cpp:3712",
                        "database.cpp:915"
                    ]
                );
                assert!(top["context"].get("thread_name").is_none());
                assert_eq!(
                    data["stack"][1]["data"]["auth_containers"][0]["type"],
                    "witness_update_operation"
                );
                assert_eq!(
                    data["stack"][3]["data"]["trx"]["operations"][0]["value"]["fee"]["nai"],
                    "@@000000021"
                );
            }
            ProfileName::Hive => {
                assert_eq!(error["code"], -32000);
                assert_eq!(
                    error["message"],
                    format!(
                        "missing required active authority:s.check_authority( id ): Missing Active Authority {OWNER}Transaction failed to validate using both new (hf26) and legacy serialization"
                    )
                );
                assert_eq!(
                    data["extension"]["assertion_expression"],
                    "s.check_authority( id )"
                );
                assert!(data["assert_hash"].is_string());
                assert_eq!(
                    files,
                    [
                        "transaction_util.cpp:239",
                        "transaction_util.cpp:265",
                        "database.cpp:4530",
                        "database.cpp:725",
                        "chain_plugin.cpp:1001",
                        "chain_plugin.cpp:2082",
                        "chain_plugin.cpp:2085"
                    ]
                );
            }
        }
        assert!(sim.chain().pending.is_empty(), "{profile}: refused");
    }
    Ok(())
}

#[tokio::test]
async fn network_broadcast_api_takes_the_appbase_form() -> anyhow::Result<()> {
    for profile in [ProfileName::Steem, ProfileName::Hive] {
        let sim = sim(profile)?;
        let tx = update_tx(&sim, 2)?;
        let trx = tx_to_appbase(&sim.chain().profile, &tx);
        let r = result(
            &sim,
            &appbase(
                "network_broadcast_api.broadcast_transaction",
                json!({"trx": trx, "max_block_age": -1}),
            ),
        )
        .await;
        assert_eq!(r, json!({}), "{profile}");
        assert_eq!(sim.chain().pending.len(), 1);
        // The legacy form: hived retries it with the legacy serialization, steemd refuses it.
        let legacy = update_tx(&sim, 3)?;
        let a = answer(
            &sim,
            &appbase(
                "network_broadcast_api.broadcast_transaction",
                json!({"trx": legacy}),
            ),
        )
        .await;
        if profile == ProfileName::Hive {
            assert_eq!(a["result"], json!({}), "{a}");
            assert_eq!(sim.chain().pending.len(), 2);
        } else {
            assert_eq!(a["error"]["code"], -32003, "{a}");
            assert_eq!(
                a["error"]["message"],
                "Assert Exception:v.is_object(): Input data have to treated as object."
            );
            assert_eq!(sim.chain().pending.len(), 1);
        }
        // A positional array is not the struct.
        let a = answer(
            &sim,
            &appbase("network_broadcast_api.broadcast_transaction", json!([tx])),
        )
        .await;
        assert_eq!(
            a["error"]["message"],
            "Bad Cast:Invalid cast from type 'array_type' to Object"
        );
    }
    Ok(())
}

#[tokio::test]
async fn lying_witness_reads_in_every_style() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        let chain_profile = sim.chain().profile.clone();
        let prefix = chain_profile.address_prefix.clone();
        let core = chain_profile.core_symbol.json_name().to_owned();
        let real_key = sim
            .chain()
            .witness(OWNER)
            .map(|w| w.signing_key.to_string_with_prefix(&prefix))
            .unwrap_or_default();
        let fee = format!("1000000.000 {core}");
        let fee_nai = json!({"amount": "1000000000", "precision": 3, "nai": "@@000000021"});
        let lies = [
            PublicKey::NULL.to_string_with_prefix(&prefix),
            test_public_key(3)?.to_string_with_prefix(&prefix),
        ];
        for lie in lies {
            assert_ne!(lie, real_key);
            set(&sim, |f| {
                f.lie_signing_key = Some(lie.clone());
                f.lie_url = Some("https://liar.invalid".into());
                f.lie_account_creation_fee = Some(fee.clone());
                f.lie_total_missed = Some(7);
            });
            let mut reads: Vec<(Value, Value)> =
                legacy_styles(profile, "get_witness_by_account", &json!([OWNER]))
                    .into_iter()
                    .map(|r| (r, json!(fee)))
                    .collect();
            if profile != ProfileName::Vit {
                for request in [
                    appbase("database_api.find_witnesses", json!({"owners": [OWNER]})),
                    json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": ["database_api", "find_witnesses", {"owners": [OWNER]}]}),
                    appbase(
                        "database_api.list_witnesses",
                        json!({"start": OWNER, "limit": 1, "order": "by_name"}),
                    ),
                ] {
                    reads.push((request, fee_nai.clone()));
                }
            }
            for (request, fee) in &reads {
                let r = result(&sim, request).await;
                let w = r.get("witnesses").and_then(|l| l.get(0)).unwrap_or(&r);
                assert_eq!(w["owner"], OWNER, "{profile} {request}: {r}");
                assert_eq!(w["signing_key"], lie.as_str(), "{profile} {request}");
                assert_eq!(w["url"], "https://liar.invalid", "{profile} {request}");
                assert_eq!(
                    &w["props"]["account_creation_fee"], fee,
                    "{profile} {request}"
                );
                assert_eq!(w["total_missed"], 7);
            }
        }
        set(&sim, |f| *f = NodeFaults::default());
        let request = legacy_styles(profile, "get_witness_by_account", &json!([OWNER])).remove(0);
        let w = result(&sim, &request).await;
        assert_eq!(w["signing_key"], real_key.as_str(), "{profile}: cleared");
        assert_eq!(w["url"], "No website yet");
        assert_ne!(w["props"]["account_creation_fee"], fee.as_str());
    }
    Ok(())
}

#[tokio::test]
async fn head_time_shift_moves_the_dgp_time_in_every_style() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        let head = sim.chain().head().time_sec();
        for shift in [-3600i64, 7] {
            set(&sim, |f| f.head_time_shift_seconds = shift);
            let expected = TimePointSec(u32::try_from(i64::from(head) + shift)?).to_string();
            let mut requests = legacy_styles(profile, "get_dynamic_global_properties", &json!([]));
            if profile != ProfileName::Vit {
                requests.push(appbase(
                    "database_api.get_dynamic_global_properties",
                    json!({}),
                ));
            }
            for request in requests {
                let dgp = result(&sim, &request).await;
                assert_eq!(dgp["time"], expected.as_str(), "{profile} {request}: {dgp}");
                assert_eq!(dgp["head_block_number"], sim.chain().head_num());
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn wrong_chain_id_reaches_every_config_and_version() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        let real = sim.chain().profile.chain_id.to_string();
        set(&sim, |f| f.wrong_chain_id = true);
        let mut reads = legacy_styles(profile, "get_config", &json!([]));
        if profile != ProfileName::Vit {
            reads.push(appbase("database_api.get_config", json!({})));
            reads.push(appbase("database_api.get_version", json!({})));
        }
        for request in reads {
            let r = result(&sim, &request).await;
            let id = r
                .as_object()
                .and_then(|m| {
                    m.iter()
                        .find(|(k, _)| {
                            k.to_uppercase().ends_with("CHAIN_ID") && k.as_str() != "OLD_CHAIN_ID"
                        })
                        .map(|(_, v)| v.clone())
                })
                .unwrap_or(Value::Null);
            assert!(
                id.is_string() && id != real.as_str(),
                "{profile} {request}: {r}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn fake_broadcast_answers_without_pushing() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        let head = sim.chain().head_num();
        for (n, (mode, other)) in [("same-id", false), ("other-id", true)]
            .into_iter()
            .enumerate()
        {
            set(&sim, |f| f.fake_broadcast = Some(mode.into()));
            let tx = update_tx(&sim, 2 + n)?;
            let real_id = sim.chain().check_transaction(&tx)?.id;
            for request in broadcast_styles(profile, "broadcast_transaction_synchronous", &tx) {
                let answer = result(&sim, &request).await;
                assert_eq!(
                    answer["block_num"],
                    head + 1,
                    "{profile} {mode} {request}: {answer}"
                );
                assert_eq!(answer["trx_num"], 0);
                assert_eq!(answer["expired"], false);
                let id = answer["id"].as_str().unwrap_or_default();
                assert_eq!(id.len(), 40);
                assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
                assert_eq!(id != real_id, other, "{profile} {mode}: {id} vs {real_id}");
            }
            let mut asyncs = broadcast_styles(profile, "broadcast_transaction", &tx);
            if profile != ProfileName::Vit {
                let trx = tx_to_appbase(&sim.chain().profile, &tx);
                asyncs.push(appbase(
                    "network_broadcast_api.broadcast_transaction",
                    json!({"trx": trx}),
                ));
            }
            for request in asyncs {
                let answer = result(&sim, &request).await;
                let expected = if profile == ProfileName::Vit {
                    Value::Null
                } else {
                    json!({})
                };
                assert_eq!(answer, expected, "{profile} {request}");
            }
            // Invalid transactions still get the node's error.
            let mut bad = tx.clone();
            bad["signatures"] = json!([]);
            let request =
                broadcast_styles(profile, "broadcast_transaction_synchronous", &bad).remove(0);
            let a = answer(&sim, &request).await;
            assert!(a.get("error").is_some(), "{profile}: {a}");
            assert!(sim.chain().pending.is_empty(), "{profile}: nothing pushed");
            assert_eq!(
                sim.faults(0).fake_broadcast.as_deref(),
                Some(mode),
                "not a counter"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn broadcast_then_502_pushes_and_answers_bad_gateway() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        set(&sim, |f| f.broadcast_then_502 = 2);
        let (a, b, c) = (
            update_tx(&sim, 2)?,
            update_tx(&sim, 3)?,
            update_tx(&sim, 4)?,
        );
        let call = |method: &str, tx: &Value| broadcast_styles(profile, method, tx).remove(0);
        let sync = call("broadcast_transaction_synchronous", &a);
        assert_eq!(answer(&sim, &sync).await, json!("502"), "{profile}");
        assert_eq!(sim.chain().pending.len(), 1, "{profile}: pushed");
        assert_eq!(sim.faults(0).broadcast_then_502, 1);
        assert_eq!(
            answer(&sim, &call("broadcast_transaction", &b)).await,
            json!("502")
        );
        assert_eq!(sim.chain().pending.len(), 2, "{profile}: pushed");
        assert_eq!(sim.faults(0).broadcast_then_502, 0);
        let answer = result(&sim, &call("broadcast_transaction", &c)).await;
        assert!(
            answer.is_null() || answer == json!({}),
            "{profile}: back to normal: {answer}"
        );
        assert_eq!(sim.chain().pending.len(), 3);
    }
    Ok(())
}

#[tokio::test]
async fn answer_expired_pushes_and_claims_expiry() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        set(&sim, |f| f.answer_expired = 2);
        let (a, b) = (update_tx(&sim, 2)?, update_tx(&sim, 3)?);
        let id = sim.chain().check_transaction(&a)?.id;
        let sync = broadcast_styles(profile, "broadcast_transaction_synchronous", &a).remove(0);
        let answer = result(&sim, &sync).await;
        assert_eq!(
            answer,
            json!({"id": id, "block_num": 0, "trx_num": 0, "expired": true}),
            "{profile}"
        );
        assert!(
            sim.chain().pending.iter().any(|t| t.id == id),
            "{profile}: pushed"
        );
        let async_call = broadcast_styles(profile, "broadcast_transaction", &b).remove(0);
        let r = result(&sim, &async_call).await;
        assert!(r.is_null() || r == json!({}), "{profile}: {r}");
        assert_eq!(sim.chain().pending.len(), 2, "{profile}: pushed");
        assert_eq!(sim.faults(0).answer_expired, 0);
    }
    Ok(())
}

#[test]
fn a_broadcast_takes_one_fault_in_order() -> anyhow::Result<()> {
    let sim = sim(ProfileName::Vit)?;
    set(&sim, |f| {
        f.drop_broadcasts = 1;
        f.broadcast_then_502 = 1;
        f.answer_expired = 1;
        f.fake_broadcast = Some("other-id".into());
    });
    assert_eq!(sim.take_broadcast_fault(0), BroadcastFault::Drop);
    assert_eq!(sim.take_broadcast_fault(0), BroadcastFault::BadGateway);
    assert_eq!(sim.take_broadcast_fault(0), BroadcastFault::AnswerExpired);
    assert_eq!(
        sim.take_broadcast_fault(0),
        BroadcastFault::Fake { other_id: true }
    );
    assert_eq!(
        sim.take_broadcast_fault(0),
        BroadcastFault::Fake { other_id: true }
    );
    set(&sim, |f| f.fake_broadcast = None);
    assert_eq!(sim.take_broadcast_fault(0), BroadcastFault::None);
    Ok(())
}

#[test]
fn the_error_rate_fault_answers_in_the_generation_envelope() -> anyhow::Result<()> {
    for profile in ProfileName::ALL {
        let sim = sim(profile)?;
        let Reply::Json(a) = fault_reply(&sim, br#"{"id": 9, "method": "x"}"#) else {
            anyhow::bail!("{profile}: not JSON");
        };
        assert_eq!(a["id"], 9);
        if profile == ProfileName::Vit {
            assert_eq!(a["error"]["code"], 1);
            assert!(a.get("jsonrpc").is_none());
        } else {
            assert_eq!(a["error"]["code"], -32000);
            assert_eq!(
                a["error"]["message"],
                "unspecified:simulated node fault (error_rate)"
            );
        }
    }
    Ok(())
}
