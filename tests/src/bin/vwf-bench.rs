//! `vwf-bench`: runs the failover scenario N times on the simulated chain and prints what an
//! operator pays when a server dies. Not a test: numbers, no pass/fail thresholds.
//!
//! Per run, for the failover (primary down) and the kill switch (backup down):
//! - `after`: misses by the failed server after the threshold miss, before the key changed;
//! - `blocks`: blocks from the threshold miss becoming visible to the block including the
//!   key change (≈ block intervals);
//! - `signer ms`: the monitor's SetSigningKey call, from `event="send"` to the applied answer;
//!   and for the run: HTTP requests and JSON-RPC calls per node per block interval (they differ
//!   where a client sends batches: the monitor on appbase profiles), over the whole run (the
//!   signer's reads at each switch included) and over 10 quiet blocks before the incident (the
//!   monitor's polling alone: the cost paid every block of a witness's life), peak RSS of each
//!   daemon.
//!
//! Usage: `cargo run --release -p vwf-tests --bin vwf-bench -- [RUNS] [BLOCK_MS] [THRESHOLD]
//! [SIGNER_NODES] [PROFILE]` (defaults 5, 300, 2, 3, VIT; PROFILE is VIT, STEEM or HIVE and may
//! stand anywhere among the numbers). The monitor always polls 3 nodes with quorum 2; the
//! signer reads from the first SIGNER_NODES of them with a majority quorum (1 or 3 to compare).
//!
//! `vwf-bench --incidents [RUNS] [BLOCK_MS] [MODE…] [SETTINGS…]` (defaults 10, 300, every mode,
//! both settings) measures instead the **missed blocks per incident** (issue #15): for each
//! failure mode and each settings, RUNS fresh runs (5 simulated nodes: 0..2 the quorum, 3 the
//! primary's own node, 4 the backup's), each injecting the incident a seeded 0..20 blocks after
//! a quiet period, and counting the primary's misses from the injection to the block that puts
//! the backup's key on chain. See [`incidents`].

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use vwf_shared::{ChainProfile, ProfileName, PublicKey};
use vwf_tests::harness::SimChain;
use vwf_tests::monitor::{MonitorOptions, MonitorSetup};
use vwf_tests::process::workspace_binary;
use vwf_tests::signer::{ACCOUNT, SignerOptions, SignerSetup, default_policy};
use vwf_tests::tx::{test_key, test_public_key};

/// One transition's figures.
struct Switch {
    after: usize,
    blocks: u64,
    signer_ms: f64,
}

/// HTTP requests and JSON-RPC calls per node per block interval while nothing happens.
struct Polling {
    requests_per_node_per_block: f64,
    calls_per_node_per_block: f64,
}

/// Blocks over which the quiet polling is measured.
const QUIET_BLOCKS: u64 = 10;

/// One summary figure taken from a run.
type Metric = fn(&Run) -> f64;

/// One run's figures.
struct Run {
    failover: Switch,
    kill: Switch,
    requests_per_node_per_block: f64,
    calls_per_node_per_block: f64,
    /// Over the quiet blocks before the incident: the monitor's polling alone.
    polling: Polling,
    signer_rss_kib: u64,
    monitor_rss_kib: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().is_some_and(|a| a == "--incidents") {
        return incidents::main(&all[1..]).await;
    }
    let mut profile = ProfileName::Vit;
    let mut args: Vec<u64> = Vec::new();
    for a in std::env::args().skip(1) {
        match (a.parse::<u64>(), a.parse::<ProfileName>()) {
            (Ok(n), _) => args.push(n),
            (_, Ok(p)) => profile = p,
            _ => bail!(
                "arguments: RUNS BLOCK_MS THRESHOLD SIGNER_NODES (numbers) and PROFILE (VIT, STEEM or HIVE); got {a:?}"
            ),
        }
    }
    let runs = args.first().copied().unwrap_or(5);
    let block_ms = args.get(1).copied().unwrap_or(300);
    let threshold = u32::try_from(args.get(2).copied().unwrap_or(2))?;
    let signer_nodes = usize::try_from(args.get(3).copied().unwrap_or(3))?;
    if !(1..=3).contains(&signer_nodes) {
        bail!("SIGNER_NODES must be 1, 2 or 3");
    }
    println!(
        "vwf-bench: {} profile, {runs} runs, {block_ms} ms blocks, threshold {threshold} missed blocks, 3 nodes, quorum 2; \
         signer on {signer_nodes} node(s), quorum {}\n",
        profile.as_str(),
        signer_nodes / 2 + 1
    );
    println!(
        "run | failover: after blocks signer-ms | kill switch: after blocks signer-ms | http/node/block calls/node/block | quiet: http calls | rss signer monitor (MiB)"
    );
    let mut results = Vec::new();
    for run in 1..=runs {
        let r = one_run(profile, block_ms, threshold, signer_nodes)
            .await
            .with_context(|| format!("run {run}"))?;
        println!(
            "{run:>3} | {:>5} {:>6} {:>9.0} | {:>5} {:>6} {:>9.0} | {:>15.2} {:>16.2} | {:>11.2} {:>5.2} | {:>10.1} {:>7.1}",
            r.failover.after,
            r.failover.blocks,
            r.failover.signer_ms,
            r.kill.after,
            r.kill.blocks,
            r.kill.signer_ms,
            r.requests_per_node_per_block,
            r.calls_per_node_per_block,
            r.polling.requests_per_node_per_block,
            r.polling.calls_per_node_per_block,
            r.signer_rss_kib as f64 / 1024.0,
            r.monitor_rss_kib as f64 / 1024.0,
        );
        results.push(r);
    }
    summarize(&results);
    Ok(())
}

fn summarize(results: &[Run]) {
    let column = |f: Metric| -> Vec<f64> {
        let mut v: Vec<f64> = results.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let median = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    let max = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
    let p99 = |v: &[f64]| {
        v.get((v.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!("\nsummary over {} runs (median / max):", results.len());
    let rows: [(&str, Metric); 10] = [
        ("misses after the threshold miss", |r: &Run| {
            (r.failover.after.max(r.kill.after)) as f64
        }),
        (
            "failover: blocks from visible miss to inclusion",
            |r: &Run| r.failover.blocks as f64,
        ),
        (
            "kill switch: blocks from visible miss to inclusion",
            |r: &Run| r.kill.blocks as f64,
        ),
        ("HTTP requests per node per block interval", |r: &Run| {
            r.requests_per_node_per_block
        }),
        ("JSON-RPC calls per node per block interval", |r: &Run| {
            r.calls_per_node_per_block
        }),
        (
            "quiet polling: HTTP requests per node per block",
            |r: &Run| r.polling.requests_per_node_per_block,
        ),
        (
            "quiet polling: JSON-RPC calls per node per block",
            |r: &Run| r.polling.calls_per_node_per_block,
        ),
        ("peak RSS vwf-signer (MiB)", |r: &Run| {
            r.signer_rss_kib as f64 / 1024.0
        }),
        ("peak RSS vwf-monitor (MiB)", |r: &Run| {
            r.monitor_rss_kib as f64 / 1024.0
        }),
        ("signer SetSigningKey latency (ms)", |r: &Run| {
            r.failover.signer_ms.max(r.kill.signer_ms)
        }),
    ];
    for (name, f) in rows {
        let v = column(f);
        println!("  {name:<52} {:>8.2} / {:>8.2}", median(&v), max(&v));
    }
    let mut latencies: Vec<f64> = results
        .iter()
        .flat_map(|r| [r.failover.signer_ms, r.kill.signer_ms])
        .filter(|ms| ms.is_finite())
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "  signer latency over all {} calls: p50 {:.0} ms, p99 {:.0} ms",
        latencies.len(),
        median(&latencies),
        p99(&latencies)
    );
}

async fn one_run(
    profile: ProfileName,
    block_ms: u64,
    threshold: u32,
    signer_nodes: usize,
) -> anyhow::Result<Run> {
    let sim_binary = workspace_binary("vwf-simchain")?;
    let interval = block_ms.to_string();
    let sim = SimChain::spawn(
        &sim_binary,
        &[
            "--nodes",
            "3",
            "--block-interval-ms",
            &interval,
            "--profile",
            profile.as_str(),
        ],
    )
    .await?;
    let nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
    // The test helpers write VIT keys and a VIT monitor config; other profiles take their prefix.
    let prefix = ChainProfile::builtin(profile).address_prefix;
    let key = |index: usize| -> anyhow::Result<String> {
        Ok(test_public_key(index)?.to_string_with_prefix(&prefix))
    };
    let (primary, backup) = (key(1)?, key(2)?);
    let null_key = PublicKey::NULL.to_string_with_prefix(&prefix);
    let policy = default_policy(5)?.replace(&test_key(2)?, &backup);
    let signer_options = SignerOptions {
        profile: profile.as_str(),
        ..SignerOptions::default()
    };
    let signer_setup = SignerSetup::create_with(&nodes[..signer_nodes], &policy, &signer_options)?;
    let signer = signer_setup.start().await?;
    let options = MonitorOptions {
        servers: vec![
            ("primary".into(), primary),
            ("backup".into(), backup.clone()),
        ],
        missed_blocks: threshold,
        block_interval_ms: block_ms,
        quorum: 2,
        dry_run: false,
    };
    let monitor_setup = MonitorSetup::create(
        &signer_setup,
        "monitor",
        &signer.field("listening")?,
        &nodes,
        &options,
    )?;
    let config = std::fs::read_to_string(&monitor_setup.config)?;
    std::fs::write(
        &monitor_setup.config,
        config.replace(
            "profile = \"VIT\"",
            &format!("profile = {:?}", profile.as_str()),
        ),
    )?;
    let log = signer_setup.dir.path().join("monitor.log");
    let monitor = monitor_setup.start_logged(&[], Some(&log)).await?;
    let control = sim.control();
    let start_status = control.status().await?;
    let start_head = control.head_num().await?;
    // Let the monitor settle on a reading first, then measure its polling alone.
    wait_blocks(&sim, 5, block_ms).await?;
    let (quiet_status, quiet_head) = (control.status().await?, control.head_num().await?);
    wait_blocks(&sim, QUIET_BLOCKS, block_ms).await?;
    let (loud_status, loud_head) = (control.status().await?, control.head_num().await?);
    let polling = Polling {
        requests_per_node_per_block: per_node_per_block(
            &quiet_status,
            &loud_status,
            "requests",
            loud_head.saturating_sub(quiet_head),
        ),
        calls_per_node_per_block: per_node_per_block(
            &quiet_status,
            &loud_status,
            "calls",
            loud_head.saturating_sub(quiet_head),
        ),
    };

    control.set_server("primary", false).await?;
    let down_at = control.head_num().await?;
    let failover = wait_switch(&sim, &backup, down_at, threshold, block_ms).await?;
    control.set_server("backup", false).await?;
    let down_at = control.head_num().await?;
    let kill = wait_switch(&sim, &null_key, down_at, threshold, block_ms).await?;
    // The change is on chain; give the monitor (bounded) time to log the signer's answer.
    let deadline = Instant::now() + Duration::from_secs(5);
    while signer_latencies(&std::fs::read_to_string(&log)?).len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let end_status = control.status().await?;
    let end_head = control.head_num().await?;
    let blocks = end_head.saturating_sub(start_head);
    let signer_rss_kib = signer.peak_rss_kib().unwrap_or(0);
    let monitor_rss_kib = monitor.peak_rss_kib().unwrap_or(0);
    monitor.stop().await?;
    signer.stop().await?;
    sim.stop().await?;
    let latencies = signer_latencies(&std::fs::read_to_string(&log)?);
    let latency = |i: usize| latencies.get(i).copied().unwrap_or(f64::NAN);
    Ok(Run {
        failover: Switch {
            signer_ms: latency(0),
            ..failover
        },
        kill: Switch {
            signer_ms: latency(1),
            ..kill
        },
        requests_per_node_per_block: per_node_per_block(
            &start_status,
            &end_status,
            "requests",
            blocks,
        ),
        calls_per_node_per_block: per_node_per_block(&start_status, &end_status, "calls", blocks),
        polling,
        signer_rss_kib,
        monitor_rss_kib,
    })
}

/// How much the `/status` counter `field` grew from `before` to `after`, summed over the 3
/// nodes, per node and per block over `blocks` blocks.
fn per_node_per_block(before: &Value, after: &Value, field: &str, blocks: u64) -> f64 {
    let grown: u64 = counts(after, field)
        .iter()
        .zip(&counts(before, field))
        .map(|(a, b)| a.saturating_sub(*b))
        .sum();
    grown as f64 / 3.0 / blocks.max(1) as f64
}

/// Per node, the `/status` counter `field`: `requests` (HTTP requests) or `calls` (JSON-RPC
/// calls, batch elements counted one by one).
fn counts(status: &Value, field: &str) -> Vec<u64> {
    status["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n[field].as_u64().unwrap_or(0))
        .collect()
}

async fn wait_blocks(sim: &SimChain, count: u64, block_ms: u64) -> anyhow::Result<()> {
    let control = sim.control();
    let target = control.head_num().await? + count;
    let deadline = Instant::now() + Duration::from_millis(block_ms * (count * 4 + 20));
    while control.head_num().await? < target {
        if Instant::now() > deadline {
            bail!("the chain stalled");
        }
        tokio::time::sleep(Duration::from_millis(block_ms / 3)).await;
    }
    Ok(())
}

/// Waits for `target` on chain and measures the transition from the server going down at
/// block `down_at`.
async fn wait_switch(
    sim: &SimChain,
    target: &str,
    down_at: u64,
    threshold: u32,
    block_ms: u64,
) -> anyhow::Result<Switch> {
    let control = sim.control();
    // Two rounds per threshold miss plus slack.
    let deadline =
        Instant::now() + Duration::from_millis(block_ms * 21 * (2 * u64::from(threshold) + 4));
    loop {
        let history = control.history().await?;
        let update = history["updates"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["signing_key"] == target);
        if let Some(update) = update {
            let included = update["block_num"].as_u64().context("update block")?;
            let misses: Vec<u64> = history["misses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| m["witness"] == ACCOUNT)
                .filter_map(|m| m["block_num"].as_u64())
                .filter(|b| *b > down_at)
                .collect();
            let threshold_at = misses
                .get(threshold as usize - 1)
                .copied()
                .context("threshold miss not found")?;
            let after = misses
                .iter()
                .filter(|b| **b > threshold_at && **b < included)
                .count();
            return Ok(Switch {
                after,
                blocks: included.saturating_sub(threshold_at),
                signer_ms: f64::NAN,
            });
        }
        if Instant::now() > deadline {
            bail!("{target} not set on chain in time");
        }
        tokio::time::sleep(Duration::from_millis(block_ms / 3)).await;
    }
}

/// Milliseconds from each `event="send"` to the next line naming the applied change
/// (`event="failover"` or `event="kill-switch"`) in the monitor's log.
fn signer_latencies(log: &str) -> Vec<f64> {
    let stamp = |line: &str| {
        let text = line.split_whitespace().next()?;
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
    };
    let mut out = Vec::new();
    let mut sent = None;
    for line in log.lines() {
        if line.contains("event=\"send\"") {
            sent = stamp(line);
        } else if (line.contains("event=\"failover\"") || line.contains("event=\"kill-switch\""))
            && let (Some(start), Some(end)) = (sent.take(), stamp(line))
        {
            out.push((end - start).as_seconds_f64() * 1000.0);
        }
    }
    out
}

/// `vwf-bench --incidents`: missed blocks per incident for three failure modes, with the
/// monitor's default settings and with fast `[evidence]` settings.
///
/// Every run starts a fresh simulator (5 nodes, seed = run number), signer (on the quorum nodes
/// 0..2) and monitor (quorum nodes 0..2; the primary's own node is node 3, the backup's node 4,
/// as `[[server]] node`). After 5 quiet blocks and then a further 0..20 blocks drawn from a
/// seeded generator (the same draw for both settings, so they meet the same incidents), the
/// incident is injected through the control API:
///
/// | mode | primary server | its own node (3) |
/// |---|---|---|
/// | node crash | down | `refuse` (connection refused) |
/// | stuck sync | down | `frozen` (head stops advancing) |
/// | producer only (wrong key) | down | runs fine |
///
/// Missed blocks = the witness's misses the simulator records (`GET /history`) made visible by
/// a block after the head at injection, up to and including the block that applies the
/// backup's key. A run that does not switch within `missed_blocks + 3` rounds is reported as
/// such, with the misses it saw.
mod incidents {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use anyhow::bail;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;
    use vwf_tests::client::Control;
    use vwf_tests::harness::SimChain;
    use vwf_tests::monitor::{MonitorExtras, MonitorOptions, MonitorSetup};
    use vwf_tests::process::workspace_binary;
    use vwf_tests::signer::{ACCOUNT, SignerOptions, SignerSetup, default_policy};
    use vwf_tests::tx::test_public_key;

    /// The monitor's default miss threshold (`[thresholds] missed_blocks`).
    const MISSED_BLOCKS: u32 = 3;
    /// Slots per round: the witness has one slot in each.
    const ROUND: u64 = 21;
    /// Blocks of quiet before the seeded offset: the monitor settles on a reading.
    const SETTLE_BLOCKS: u64 = 5;
    /// The `[evidence]` section of the fast settings.
    const FAST_EVIDENCE: &str = "
[evidence]
polls = 2
stale_blocks = 3
fast_threshold = 1
preemptive = true
unreachable_is_evidence = true
";
    /// The `[evidence]` section of the shortest detection window the config allows: one poll,
    /// a node 2 blocks behind. Not a recommendation (a node that lags 2 blocks once is
    /// evidence); it shows what the window costs.
    const EAGER_EVIDENCE: &str = "
[evidence]
polls = 1
stale_blocks = 2
fast_threshold = 1
preemptive = true
unreachable_is_evidence = true
";

    /// A failure mode.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Mode {
        /// The primary server down and its own node refusing connections.
        Crash,
        /// The primary's own node frozen and the primary server not producing.
        Stuck,
        /// The primary server down, its own node running fine (a wrong key configured).
        ProducerOnly,
    }

    impl Mode {
        const ALL: [Mode; 3] = [Mode::Crash, Mode::Stuck, Mode::ProducerOnly];

        fn name(self) -> &'static str {
            match self {
                Mode::Crash => "node crash",
                Mode::Stuck => "stuck sync",
                Mode::ProducerOnly => "producer only",
            }
        }

        fn word(self) -> &'static str {
            match self {
                Mode::Crash => "crash",
                Mode::Stuck => "stuck",
                Mode::ProducerOnly => "producer",
            }
        }
    }

    /// Which monitor settings.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Settings {
        /// The monitor's defaults: `missed_blocks = 3`, no `[evidence]`.
        Default,
        /// [`FAST_EVIDENCE`] added.
        Fast,
        /// [`EAGER_EVIDENCE`] added (only when named on the command line).
        Eager,
    }

    impl Settings {
        /// What runs when no settings are named.
        const DEFAULT_SET: [Settings; 2] = [Settings::Default, Settings::Fast];
        const ALL: [Settings; 3] = [Settings::Default, Settings::Fast, Settings::Eager];

        fn name(self) -> &'static str {
            match self {
                Settings::Default => "default",
                Settings::Fast => "fast",
                Settings::Eager => "eager",
            }
        }
    }

    /// What decided the switch, read from the monitor's `event="intent"` line.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum How {
        /// `missed_blocks` misses (or the absolute threshold).
        Threshold,
        /// `fast_threshold` misses with corroborating evidence.
        FastThreshold,
        /// Pre-emptive: evidence and a backup in sync, before a miss decided.
        Preemptive,
        /// No intent line found.
        Unknown,
    }

    /// One run's outcome.
    enum Outcome {
        /// The backup's key was applied.
        Switched {
            /// The primary's misses from the injection to the switch.
            misses: usize,
            /// Blocks from the head at injection to the block applying the backup's key.
            blocks: u64,
            /// What decided it.
            how: How,
        },
        /// No switch within the bound; the misses seen until then.
        NoSwitch { misses: usize },
        /// The run itself failed (start-up, control API); the error.
        Failed(String),
    }

    /// `vwf-bench --incidents [RUNS] [BLOCK_MS] [crash|stuck|producer…] [default|fast…]`.
    pub(crate) async fn main(args: &[String]) -> anyhow::Result<()> {
        let mut numbers = Vec::new();
        let (mut modes, mut settings) = (Vec::new(), Vec::new());
        for a in args {
            if let Ok(n) = a.parse::<u64>() {
                numbers.push(n);
            } else if let Some(m) = Mode::ALL.into_iter().find(|m| m.word() == a) {
                modes.push(m);
            } else if let Some(s) = Settings::ALL.into_iter().find(|s| s.name() == a) {
                settings.push(s);
            } else {
                bail!(
                    "arguments after --incidents: RUNS BLOCK_MS (numbers), modes (crash, stuck, producer), settings (default, fast, eager); got {a:?}"
                );
            }
        }
        let runs = numbers.first().copied().unwrap_or(10);
        let block_ms = numbers.get(1).copied().unwrap_or(300);
        if runs == 0 || block_ms < 50 {
            bail!("RUNS must be at least 1 and BLOCK_MS at least 50");
        }
        if modes.is_empty() {
            modes = Mode::ALL.to_vec();
        }
        if settings.is_empty() {
            settings = Settings::DEFAULT_SET.to_vec();
        }
        println!(
            "vwf-bench --incidents: {runs} runs per mode and settings, {block_ms} ms blocks, 21 witnesses \
             (one slot per round), missed_blocks = {MISSED_BLOCKS}; fast = {}; eager = {}\n",
            FAST_EVIDENCE.trim().replace('\n', " "),
            EAGER_EVIDENCE.trim().replace('\n', " ")
        );
        println!("mode          settings run offset | missed blocks-to-switch how");
        let mut table = Vec::new();
        for &mode in &modes {
            for &setting in &settings {
                let mut outcomes = Vec::new();
                for run in 1..=runs {
                    let offset = StdRng::seed_from_u64(run).random_range(0..ROUND);
                    let outcome = match one_incident(mode, setting, block_ms, run, offset).await {
                        Ok(o) => o,
                        Err(e) => Outcome::Failed(format!("{e:#}")),
                    };
                    let line = match &outcome {
                        Outcome::Switched {
                            misses,
                            blocks,
                            how,
                        } => format!("{misses:>6} {blocks:>16} {how:?}"),
                        Outcome::NoSwitch { misses } => {
                            format!("{misses:>6} no switch within the bound")
                        }
                        Outcome::Failed(e) => format!("run failed: {e}"),
                    };
                    println!(
                        "{:<13} {:<8} {run:>3} {offset:>6} | {line}",
                        mode.name(),
                        setting.name()
                    );
                    outcomes.push(outcome);
                }
                table.push((mode, setting, outcomes));
            }
        }
        println!(
            "\nmissed blocks per incident ({block_ms} ms blocks, {runs} runs each; blocks = from injection to the switch's block)"
        );
        println!(
            "| mode | settings | median missed | max missed | runs | median blocks | max blocks | decided by |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (mode, setting, outcomes) in &table {
            println!("{}", row(*mode, *setting, outcomes));
        }
        Ok(())
    }

    /// One table row: medians and maxima over the runs that switched, and how many did not.
    fn row(mode: Mode, setting: Settings, outcomes: &[Outcome]) -> String {
        let mut misses = Vec::new();
        let mut blocks = Vec::new();
        let (mut threshold, mut fast, mut preemptive, mut unknown) = (0, 0, 0, 0);
        let (mut no_switch, mut failed) = (Vec::new(), 0);
        for o in outcomes {
            match o {
                Outcome::Switched {
                    misses: m,
                    blocks: b,
                    how,
                } => {
                    misses.push(*m as f64);
                    blocks.push(*b as f64);
                    match how {
                        How::Threshold => threshold += 1,
                        How::FastThreshold => fast += 1,
                        How::Preemptive => preemptive += 1,
                        How::Unknown => unknown += 1,
                    }
                }
                Outcome::NoSwitch { misses: m } => no_switch.push(*m),
                Outcome::Failed(_) => failed += 1,
            }
        }
        let mut runs = format!("{}", misses.len());
        if !no_switch.is_empty() {
            runs.push_str(&format!(
                " + {} without a switch (misses {:?})",
                no_switch.len(),
                no_switch
            ));
        }
        if failed > 0 {
            runs.push_str(&format!(" + {failed} failed"));
        }
        let how: Vec<String> = [
            (preemptive, "pre-emptive"),
            (fast, "fast_threshold"),
            (threshold, "missed_blocks"),
            (unknown, "unknown"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        format!(
            "| {} | {} | {} | {} | {runs} | {} | {} | {} |",
            mode.name(),
            setting.name(),
            median(&mut misses),
            max(&misses),
            median(&mut blocks),
            max(&blocks),
            how.join(", ")
        )
    }

    /// The median (mean of the two middle values for an even count), `-` when empty.
    fn median(values: &mut [f64]) -> String {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let m = match n {
            0 => return "-".into(),
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        format!("{m}")
    }

    /// The maximum, `-` when empty.
    fn max(values: &[f64]) -> String {
        values
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .map_or_else(|| "-".into(), |m| format!("{m}"))
    }

    /// One fresh simulator, signer and monitor; the incident injected `offset` blocks after the
    /// quiet period; its outcome.
    async fn one_incident(
        mode: Mode,
        setting: Settings,
        block_ms: u64,
        run: u64,
        offset: u64,
    ) -> anyhow::Result<Outcome> {
        let sim = SimChain::spawn(
            workspace_binary("vwf-simchain")?,
            &[
                "--nodes",
                "5",
                "--block-interval-ms",
                &block_ms.to_string(),
                "--seed",
                &run.to_string(),
            ],
        )
        .await?;
        let quorum_nodes: Vec<&str> = (0..3).map(|i| sim.node(i)).collect();
        let (primary, backup) = (
            test_public_key(1)?.to_string_with_prefix("VIT"),
            test_public_key(2)?.to_string_with_prefix("VIT"),
        );
        let signer_setup = SignerSetup::create_with(
            &quorum_nodes,
            &default_policy(5)?,
            &SignerOptions::default(),
        )?;
        let signer = signer_setup.start().await?;
        let options = MonitorOptions {
            servers: vec![
                ("primary".into(), primary),
                ("backup".into(), backup.clone()),
            ],
            missed_blocks: MISSED_BLOCKS,
            block_interval_ms: block_ms,
            quorum: 2,
            dry_run: false,
        };
        let extras = MonitorExtras {
            server_nodes: vec![Some(sim.node(3).to_owned()), Some(sim.node(4).to_owned())],
            ..MonitorExtras::default()
        };
        let monitor_setup = MonitorSetup::create_with(
            &signer_setup,
            "monitor",
            &signer.field("listening")?,
            &quorum_nodes,
            &options,
            &extras,
        )?;
        let evidence = match setting {
            Settings::Default => None,
            Settings::Fast => Some(FAST_EVIDENCE),
            Settings::Eager => Some(EAGER_EVIDENCE),
        };
        if let Some(evidence) = evidence {
            let mut config = std::fs::read_to_string(&monitor_setup.config)?;
            config.push_str(evidence);
            std::fs::write(&monitor_setup.config, config)?;
        }
        let log = signer_setup.dir.path().join("monitor.log");
        let monitor = monitor_setup.start_logged(&[], Some(&log)).await?;
        let control = sim.control();

        wait_blocks(&control, SETTLE_BLOCKS + offset, block_ms).await?;
        let injected_at = control.head_num().await?;
        match mode {
            Mode::Crash => {
                control.set_node_faults(3, json!({"refuse": true})).await?;
            }
            Mode::Stuck => {
                control.set_node_faults(3, json!({"frozen": true})).await?;
            }
            Mode::ProducerOnly => {}
        }
        control.set_server("primary", false).await?;
        let outcome = wait_switch(&control, &backup, injected_at, block_ms, &log).await?;

        monitor.stop().await?;
        signer.stop().await?;
        sim.stop().await?;
        Ok(outcome)
    }

    /// Waits (bounded: `missed_blocks + 3` rounds) for `backup` on chain.
    async fn wait_switch(
        control: &Control,
        backup: &str,
        injected_at: u64,
        block_ms: u64,
        log: &Path,
    ) -> anyhow::Result<Outcome> {
        let bound = Duration::from_millis(block_ms * ROUND * (u64::from(MISSED_BLOCKS) + 3));
        let deadline = Instant::now() + bound;
        loop {
            let history = control.history().await?;
            let included = history["updates"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|u| u["signing_key"] == backup)
                .and_then(|u| u["block_num"].as_u64());
            let misses = history["misses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| m["witness"] == ACCOUNT)
                .filter_map(|m| m["block_num"].as_u64())
                .filter(|b| *b > injected_at && included.is_none_or(|i| *b <= i))
                .count();
            if let Some(included) = included {
                return Ok(Outcome::Switched {
                    misses,
                    blocks: included.saturating_sub(injected_at),
                    how: how(&std::fs::read_to_string(log).unwrap_or_default()),
                });
            }
            if Instant::now() > deadline {
                return Ok(Outcome::NoSwitch { misses });
            }
            tokio::time::sleep(Duration::from_millis(block_ms / 3)).await;
        }
    }

    /// What decided the switch, from the monitor's first `event="intent"` line.
    fn how(log: &str) -> How {
        match log.lines().find(|l| l.contains("event=\"intent\"")) {
            Some(l) if l.contains("pre-emptive") => How::Preemptive,
            Some(l) if l.contains("corroborated") => How::FastThreshold,
            Some(_) => How::Threshold,
            None => How::Unknown,
        }
    }

    /// Waits (bounded) for `count` more blocks.
    async fn wait_blocks(control: &Control, count: u64, block_ms: u64) -> anyhow::Result<()> {
        let target = control.head_num().await? + count;
        let deadline = Instant::now() + Duration::from_millis(block_ms * (count * 4 + 20));
        while control.head_num().await? < target {
            if Instant::now() > deadline {
                bail!("the chain stalled");
            }
            tokio::time::sleep(Duration::from_millis(block_ms / 3)).await;
        }
        Ok(())
    }
}
