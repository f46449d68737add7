//! The daemons' command-line surfaces over recorded answers of real nodes (issue 12): three
//! replay nodes per node generation serve the corpus of `shared/tests/data/nodes/` (the same
//! replay server as `shared/tests/replay.rs`), and the real `vwf-monitor status` and the
//! signer's start-up key check (`vwf-signer serve`) read them.
//!
//! The recordings are years old, so what a correct monitor does with them is known: it detects
//! each node's API style from the recorded `get_config`, reads the recorded head block and
//! witness, shows them, and judges the nodes stale against the local clock (never acting on
//! their view); an account the node does not know, or a proxy's error, is named on one line. A
//! node generation the monitor mishandles shows up here as a wrong style, a parse error, or a
//! wrong value. The signer, holding a test key, must read each recorded account's authorities
//! and refuse to start, naming the key and the authority it needs.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use anyhow::Context;
use vwf_tests::process::workspace_binary;
use vwf_tests::tx::test_public_key;

#[path = "../../shared/tests/support/replay_node.rs"]
mod replay_node;
use replay_node::{ReplayNode, config_keys, load_case};

/// Bounds every command in this file.
const LIMIT: Duration = Duration::from_secs(60);

/// smooth.witness's signing key in the recorded appbase answer.
const SMOOTH_KEY: &str = "STM5uDwwSixxVdvb6m4n4fzRkQf7LDJR529Gy7QJT35FAcFeYQUpU";

/// One node generation's recordings, served by each of three replay nodes.
struct Scenario {
    /// Corpus directory, for messages.
    generation: &'static str,
    /// The monitor's profile for that chain.
    profile: &'static str,
    /// The account asked for (the recorded witness, or one the node does not know).
    account: &'static str,
    /// The primary server's signing key: the recorded witness's key where there is one.
    primary_key: Option<&'static str>,
    /// The `get_config` recording (answers the style probes).
    config: &'static str,
    /// Other recordings and the route each answers (`api.method`: the 0.19 `call` form and
    /// appbase's dotted names alike).
    answers: &'static [(&'static str, &'static str)],
    /// What `status` must show, taken from the recorded bodies.
    shows: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        generation: "steemd-0.19",
        profile: "STEEM",
        account: "nosuchwitness",
        primary_key: None,
        config: "steemd-0.19/get_config-call-steemd.steemit.com-2017-10-18.json",
        answers: &[
            (
                "steemd-0.19/get_dynamic_global_properties-call-steemd.steemit.com-2017-10-18.json",
                "database_api.get_dynamic_global_properties",
            ),
            (
                "steemd-0.19/get_witness_by_account-null-steemd.steemit.com-2017-10-18.json",
                "database_api.get_witness_by_account",
            ),
        ],
        // Asked in the 0.19 `call` form (detected from the recorded config), the witness unknown.
        shows: &[
            "database_api.get_witness_by_account: no witness named \"nosuchwitness\"",
            "NO QUORUM",
        ],
    },
    Scenario {
        generation: "steem-appbase",
        profile: "STEEM",
        account: "smooth.witness",
        primary_key: Some(SMOOTH_KEY),
        config: "steem-appbase/get_config-call-condenser_api-appbase-2017-12-jussi-tests.json",
        answers: &[
            (
                "steem-appbase/get_dynamic_global_properties-condenser-0.19.4-appbasetest.timcliff.com-2018-04-15.json",
                "condenser_api.get_dynamic_global_properties",
            ),
            (
                "steem-appbase/get_witness_by_account-condenser-appbase-2017-12-jussi-tests.json",
                "condenser_api.get_witness_by_account",
            ),
        ],
        // The recorded head and time, the recorded witness's key (our primary's) and
        // total_missed; years old, so stale, and no quorum of fresh readings.
        shows: &[
            "21593743 2018-04-15T16:51:21 primary",
            " 179  STALE",
            "NO QUORUM",
        ],
    },
    Scenario {
        generation: "hived",
        profile: "HIVE",
        account: "temp",
        primary_key: None,
        config: "hived/get_config-condenser-1.25.0-hive-pattern.json",
        answers: &[
            (
                "hived/get_dynamic_global_properties-condenser-1.25-api.openhive.network-jussi-2022-07-30.json",
                "condenser_api.get_dynamic_global_properties",
            ),
            (
                "hived/get_witness_by_account-null-hive-pattern.json",
                "condenser_api.get_witness_by_account",
            ),
        ],
        shows: &[
            "condenser_api.get_witness_by_account: no witness named \"temp\"",
            "NO QUORUM",
        ],
    },
    Scenario {
        generation: "jussi",
        profile: "STEEM",
        account: "smooth.witness",
        primary_key: Some(SMOOTH_KEY),
        config: "steem-appbase/get_config-condenser-0.23.0-api.steemitdev.com-jussi-2020-11-07.json",
        answers: &[
            // Recorded for another method: jussi's timeout is not about the method.
            (
                "jussi/request-timeout-1000-api.steemitdev.com-2020-11-07.json",
                "condenser_api.get_dynamic_global_properties",
            ),
            (
                "steem-appbase/get_witness_by_account-condenser-appbase-2017-12-jussi-tests.json",
                "condenser_api.get_witness_by_account",
            ),
        ],
        // The proxy's error on one line, after the client's retries.
        shows: &["Request Timeout", "NO QUORUM"],
    },
];

async fn start_node(s: &Scenario) -> anyhow::Result<ReplayNode> {
    let node = ReplayNode::start().await.map_err(anyhow::Error::msg)?;
    let config = load_case(s.config).map_err(anyhow::Error::msg)?;
    for key in config_keys(&config) {
        node.route(&key, vec![config.served().map_err(anyhow::Error::msg)?]);
    }
    for (rel, route) in s.answers {
        let case = load_case(rel).map_err(anyhow::Error::msg)?;
        node.route(route, vec![case.served().map_err(anyhow::Error::msg)?]);
    }
    Ok(node)
}

async fn run(binary: &Path, args: &[&str]) -> anyhow::Result<Output> {
    let child = tokio::process::Command::new(binary)
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(LIMIT, child)
        .await
        .with_context(|| format!("{} {args:?} did not end within {LIMIT:?}", binary.display()))?
        .context("run")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A monitor config for `s` on `nodes`, with certificates from `vwf-signer certs init` in `dir`.
fn monitor_config(s: &Scenario, dir: &Path, nodes: &[String]) -> anyhow::Result<String> {
    let path = |name: &str| -> anyhow::Result<String> {
        dir.join(name)
            .to_str()
            .map(str::to_owned)
            .context("temp path is not UTF-8")
    };
    // Both profiles write keys with the STM prefix.
    let key = |i: usize| -> anyhow::Result<String> {
        Ok(test_public_key(i)?.to_string_with_prefix("STM"))
    };
    let primary = match s.primary_key {
        Some(key) => key.to_owned(),
        None => key(0)?,
    };
    let nodes: Vec<String> = nodes.iter().map(|n| format!("{n:?}")).collect();
    Ok(format!(
        r#"account = {account:?}
profile = "{profile}"
state_dir = {state:?}
metrics_listen = ""

[chain]
nodes = [{nodes}]
quorum = 2

[thresholds]
missed_blocks = 3

[signer]
endpoint = "https://127.0.0.1:1"
server_name = "localhost"
ca = {ca:?}
client_cert = {cert:?}
client_key = {client_key:?}

[[server]]
name = "primary"
signing_key = "{primary}"

[[server]]
name = "backup"
signing_key = "{backup}"
"#,
        account = s.account,
        profile = s.profile,
        state = path("state")?,
        nodes = nodes.join(", "),
        ca = path("certs/ca.pem")?,
        cert = path("certs/client-spiffe-vwf-monitor.pem")?,
        client_key = path("certs/client-spiffe-vwf-monitor.key")?,
        backup = key(1)?,
    ))
}

#[tokio::test]
async fn monitor_status_reads_each_node_generation_as_recorded() -> anyhow::Result<()> {
    let monitor = workspace_binary("vwf-monitor")?;
    let signer = workspace_binary("vwf-signer")?;
    let mut failures = Vec::new();
    for s in SCENARIOS {
        let dir = tempfile::tempdir()?;
        let certs = dir.path().join("certs");
        let certs_text = certs.to_str().context("temp path is not UTF-8")?;
        let made = run(&signer, &["certs", "init", "--dir", certs_text]).await?;
        anyhow::ensure!(made.status.success(), "certs init: {}", text(&made));
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(start_node(s).await?);
        }
        let urls: Vec<String> = nodes.iter().map(|n| n.url.clone()).collect();
        let config = dir.path().join("monitor.toml");
        std::fs::write(&config, monitor_config(s, dir.path(), &urls)?)?;
        let config_text = config.to_str().context("temp path is not UTF-8")?;
        let out = run(&monitor, &["status", "--config", config_text]).await?;
        let shown = text(&out);
        println!("== {}\n{shown}", s.generation);
        if out.status.code() != Some(0) {
            failures.push(format!("{}: status exited {:?}", s.generation, out.status));
        }
        for want in s.shows {
            if !shown.contains(want) {
                failures.push(format!("{}: status does not show {want:?}", s.generation));
            }
        }
        // Every node line is one line: an error never spills a node's body over the screen.
        let node_lines = shown.lines().filter(|l| l.starts_with("http://")).count();
        if node_lines != 3 {
            failures.push(format!(
                "{}: {node_lines} node lines, want 3 (one per node)",
                s.generation
            ));
        }
    }
    anyhow::ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// One node generation's recordings for the signer's start-up key check.
struct KeyCheck {
    generation: &'static str,
    profile: &'static str,
    /// The account the recorded `get_accounts` answer holds.
    account: &'static str,
    config: &'static str,
    answers: &'static [(&'static str, &'static str)],
    /// The refusal (Hive since HF28 accepts only the active key for a witness_update).
    refusal: &'static str,
}

const KEY_CHECKS: &[KeyCheck] = &[
    KeyCheck {
        generation: "steemd-0.19",
        profile: "STEEM",
        account: "inertia",
        config: "steemd-0.19/get_config-call-steemd.steemit.com-2017-10-18.json",
        answers: &[
            (
                "steemd-0.19/get_accounts-call-steemd.steemit.com-2017-10-18.json",
                "database_api.get_accounts",
            ),
            (
                "steemd-0.19/get_dynamic_global_properties-call-steemd.steemit.com-2017-10-18.json",
                "database_api.get_dynamic_global_properties",
            ),
        ],
        refusal: "is not an active or owner key of inertia on chain",
    },
    KeyCheck {
        generation: "steem-appbase",
        profile: "STEEM",
        account: "steemit",
        config: "steem-appbase/get_config-call-condenser_api-appbase-2017-12-jussi-tests.json",
        answers: &[
            (
                "steem-appbase/get_accounts-condenser-appbase-2017-12-jussi-tests.json",
                "condenser_api.get_accounts",
            ),
            (
                "steem-appbase/get_dynamic_global_properties-condenser-0.19.4-appbasetest.timcliff.com-2018-04-15.json",
                "condenser_api.get_dynamic_global_properties",
            ),
        ],
        refusal: "is not an active or owner key of steemit on chain",
    },
    KeyCheck {
        generation: "hived",
        profile: "HIVE",
        account: "ned",
        config: "hived/get_config-database_api-1.24.6-api.openhive.network-jussi-2020-11-07.json",
        answers: &[
            (
                "hived/get_accounts-condenser-1.24-api.openhive.network-jussi-2020-11-07.json",
                "condenser_api.get_accounts",
            ),
            (
                "hived/get_dynamic_global_properties-condenser-1.24-api.openhive.network-jussi-2020-11-07.json",
                "condenser_api.get_dynamic_global_properties",
            ),
        ],
        refusal: "is not an active key of ned on chain",
    },
];

#[tokio::test]
async fn signer_start_up_key_check_reads_each_generations_accounts_as_recorded()
-> anyhow::Result<()> {
    let signer = workspace_binary("vwf-signer")?;
    let mut failures = Vec::new();
    for k in KEY_CHECKS {
        let scenario = Scenario {
            generation: k.generation,
            profile: k.profile,
            account: k.account,
            primary_key: None,
            config: k.config,
            answers: k.answers,
            shows: &[],
        };
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(start_node(&scenario).await?);
        }
        let urls: Vec<&str> = nodes.iter().map(|n| n.url.as_str()).collect();
        let policy = format!(
            "\n[[account]]\nname = {:?}\nallow_null_key = true\n[[account.client]]\nidentity = {:?}\nmay = [\"status\"]\n",
            k.account,
            vwf_tests::signer::MONITOR
        );
        let setup = vwf_tests::signer::SignerSetup::create_with(
            &urls,
            &policy,
            &vwf_tests::signer::SignerOptions {
                profile: k.profile,
                ..Default::default()
            },
        )?;
        let config = setup.config.to_str().context("temp path is not UTF-8")?;
        let out = run(&signer, &["serve", "--config", config]).await?;
        let shown = text(&out);
        println!("== {}\n{shown}", k.generation);
        // The test key is not the recorded account's: the start is refused with exit 2,
        // naming the account and the key, on one line.
        let errors: Vec<&str> = shown.lines().filter(|l| l.starts_with("error:")).collect();
        if out.status.code() != Some(2) || errors.len() != 1 || !errors[0].contains(k.refusal) {
            failures.push(format!(
                "{}: serve did not refuse with {:?}",
                k.generation, k.refusal
            ));
        }
    }
    anyhow::ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
