//! `vwf-demo`: the whole system on the simulated chain, no setup, ends by itself.
//!
//! Builds the binaries, creates a private CA and an age-sealed demo key, starts `vwf-simchain`
//! (3 nodes, fast blocks), `vwf-signer serve` and `vwf-monitor run` on 127.0.0.1, takes the
//! primary server down (failover to the backup), then the backup (kill switch), and prints a
//! timeline read from the chain itself: block, event, missed count, key on chain, tx id.
//! Everything lives in a tempdir and every process is stopped at the end.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorOptions, MonitorSetup};
use vwf_tests::process::workspace_binary;
use vwf_tests::signer::{ACCOUNT, SignerSetup, default_policy};
use vwf_tests::tx::{NULL_KEY, test_key};

const BLOCK_MS: u64 = 200;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the daemons when run through `cargo run` (which sets `CARGO`).
fn build_binaries() -> anyhow::Result<()> {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return Ok(());
    };
    println!("building vwf-signer, vwf-monitor and vwf-simchain …");
    let mut command = std::process::Command::new(cargo);
    command.args([
        "build",
        "--quiet",
        "--bin",
        "vwf-signer",
        "--bin",
        "vwf-monitor",
        "--bin",
        "vwf-simchain",
    ]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let status = command.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    Ok(())
}

async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    build_binaries()?;
    let sim_binary = workspace_binary("vwf-simchain")?;
    let interval = BLOCK_MS.to_string();
    let sim = SimChain::spawn(
        &sim_binary,
        &["--nodes", "3", "--block-interval-ms", &interval],
    )
    .await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    let (primary, backup) = (test_key(1)?, test_key(2)?);
    let names = BTreeMap::from([
        (primary.clone(), "primary"),
        (backup.clone(), "backup"),
        (NULL_KEY.to_owned(), "NULL (disabled)"),
    ]);

    println!("setting up: private CA + mTLS certificates, demo active key sealed with age …");
    let signer_setup = SignerSetup::create(&nodes, &default_policy(5)?)?;
    let signer = signer_setup.start().await?;
    let signer_address = signer.field("listening")?;
    let options = MonitorOptions {
        servers: vec![
            ("primary".into(), primary.clone()),
            ("backup".into(), backup.clone()),
        ],
        missed_blocks: 2,
        block_interval_ms: BLOCK_MS,
        quorum: 2,
        dry_run: false,
    };
    let monitor_setup =
        MonitorSetup::create(&signer_setup, "monitor", &signer_address, &nodes, &options)?;
    let monitor = monitor_setup.start(&[]).await?;
    println!("simulated chain: 3 nodes, {BLOCK_MS} ms blocks, 21-slot rounds; witness {ACCOUNT}");
    println!(
        "signer on {signer_address} (mTLS); monitor quorum 2 of 3, threshold 2 missed blocks\n"
    );
    println!(
        "{:>6}  {:<44} {:>6}  key on chain",
        "block", "event", "missed"
    );

    let mut timeline = Timeline::new(names);
    timeline.catch_up(&sim, false).await?;
    // Let the monitor take its first readings before anything breaks.
    wait_chain(
        &sim,
        &mut timeline,
        "monitor warm-up",
        |_| Ok(true),
        Duration::from_millis(BLOCK_MS * 10),
    )
    .await
    .ok();

    sim.control().set_server("primary", false).await?;
    timeline.event(&sim, "primary server DOWN (demo)").await?;
    wait_chain(
        &sim,
        &mut timeline,
        "failover to the backup",
        |h| Ok(key_on_chain(h) == Some(backup.as_str())),
        Duration::from_secs(40),
    )
    .await?;

    sim.control().set_server("backup", false).await?;
    timeline.event(&sim, "backup server DOWN (demo)").await?;
    wait_chain(
        &sim,
        &mut timeline,
        "kill switch",
        |h| Ok(key_on_chain(h) == Some(NULL_KEY)),
        Duration::from_secs(40),
    )
    .await?;
    // A few more blocks show the disabled witness leaving the schedule: no new misses.
    wait_chain(
        &sim,
        &mut timeline,
        "settle",
        |_| Ok(false),
        Duration::from_millis(BLOCK_MS * 25),
    )
    .await
    .ok();

    let updates = sim.control().history().await?["updates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    monitor.stop().await?;
    signer.stop().await?;
    sim.stop().await?;
    println!(
        "\ndone in {:.1} s: {} key changes on chain, both by the signer on the monitor's request:",
        started.elapsed().as_secs_f64(),
        updates.len()
    );
    for update in &updates {
        let block = update["block_num"].as_u64().unwrap_or(0);
        let to = timeline.name(update["signing_key"].as_str().unwrap_or("?"));
        println!(
            "  block {block:>4}  tx {}  → {to}",
            update["tx_id"].as_str().unwrap_or("?")
        );
    }
    if updates.len() != 2 {
        bail!(
            "expected exactly 2 key changes (failover, kill switch), saw {}",
            updates.len()
        );
    }
    println!("all processes stopped; temporary files removed.");
    Ok(())
}

/// The witness's key after the last applied update (None before any).
fn key_on_chain(history: &Value) -> Option<&str> {
    history["updates"].as_array()?.last()?["signing_key"].as_str()
}

/// Polls the chain's history, printing new events, until `done` or `limit`.
async fn wait_chain(
    sim: &SimChain,
    timeline: &mut Timeline,
    what: &str,
    done: impl Fn(&Value) -> anyhow::Result<bool>,
    limit: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let history = timeline.catch_up(sim, true).await?;
        if done(&history)? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{what}: not seen within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(BLOCK_MS / 2)).await;
    }
}

/// What has been printed so far.
struct Timeline {
    names: BTreeMap<String, &'static str>,
    misses_seen: usize,
    updates_seen: usize,
    key: String,
}

impl Timeline {
    fn new(names: BTreeMap<String, &'static str>) -> Self {
        Timeline {
            names,
            misses_seen: 0,
            updates_seen: 0,
            key: String::new(),
        }
    }

    fn name(&self, key: &str) -> String {
        self.names
            .get(key)
            .map_or_else(|| key.to_owned(), |n| (*n).to_owned())
    }

    async fn event(&mut self, sim: &SimChain, what: &str) -> anyhow::Result<()> {
        let witness = sim.control().witness(ACCOUNT).await?;
        let head = sim.control().head_num().await?;
        self.key = witness["signing_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let missed = witness["total_missed"].as_u64().unwrap_or(0);
        println!(
            "{head:>6}  {what:<44} {missed:>6}  {}",
            self.name(&self.key)
        );
        Ok(())
    }

    /// Prints misses and updates not printed yet; returns the history.
    async fn catch_up(&mut self, sim: &SimChain, print: bool) -> anyhow::Result<Value> {
        let history = sim.control().history().await?;
        let witness = sim.control().witness(ACCOUNT).await?;
        let total = witness["total_missed"].as_u64().unwrap_or(0);
        let misses: Vec<&Value> = history["misses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["witness"] == ACCOUNT)
            .collect();
        let updates = history["updates"].as_array().cloned().unwrap_or_default();
        if self.key.is_empty() {
            self.key = witness["signing_key"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        // Misses already counted before the demo started are in `total` but not in the list.
        let before = total.saturating_sub(misses.len() as u64);
        for (index, miss) in misses.iter().enumerate().skip(self.misses_seen) {
            if print {
                let event = if self.key == NULL_KEY {
                    "missed slot (disabled, still in this round)".to_owned()
                } else {
                    format!("missed slot ({} server down)", self.name(&self.key))
                };
                let count = before + index as u64 + 1;
                let block = miss["block_num"].as_u64().unwrap_or(0);
                println!(
                    "{block:>6}  {event:<44} {count:>6}  {}",
                    self.name(&self.key)
                );
            }
        }
        self.misses_seen = misses.len();
        for update in updates.iter().skip(self.updates_seen) {
            self.key = update["signing_key"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if print {
                let to = self.name(&self.key);
                let event = if self.key == NULL_KEY {
                    "KILL SWITCH: null key set".to_owned()
                } else {
                    format!("FAILOVER: key set to {to}")
                };
                let block = update["block_num"].as_u64().unwrap_or(0);
                println!(
                    "{block:>6}  {event:<44} {total:>6}  {to}   tx {}",
                    update["tx_id"].as_str().unwrap_or("?")
                );
            }
        }
        self.updates_seen = updates.len();
        Ok(history)
    }
}
