//! Floods against the real `vwf-signer serve` (on 127.0.0.1, with the real `vwf-simchain`)
//! while the monitor's own client asks for Status and pulls the kill switch (the null key):
//!
//! 1. hundreds of idle TCP connections that never start a TLS handshake, opened without end;
//! 2. an allowed client holding hundreds of idle TLS connections, with the signer under a
//!    300-descriptor limit (`ulimit -n`, standing in for a unit's `LimitNOFILE=`);
//! 3. a refusal flood: rate-limited requests from an allowed client and junk handshakes;
//! 4. the same with the audit log already at its cap;
//!
//! and an allowed client's connection left idle is closed after the idle timeout.
//!
//! Each flood is bounded in count and time. Nothing asserts on timing: waits are bounded, and
//! the latencies and counts measured are printed (`cargo test -- --nocapture`) for the README.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use vwf_proto::v1 as pb;
use vwf_proto::v1::set_signing_key_response::Outcome;
use vwf_proto::v1::signer_client::SignerClient;
use vwf_tests::harness::SimChain;
use vwf_tests::process::{Daemon, workspace_binary};
use vwf_tests::signer::{ACCOUNT, MONITOR, SignerOptions, SignerSetup, default_policy};
use vwf_tests::tx::{NULL_KEY, test_key};
use vwf_tests::wait::wait_for;

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
/// An allowed client that may only read status: the flooder in floods 2 and 3.
const OPS: &str = "spiffe://vwf/ops";
/// Longest any single call may take before the test fails.
const CALL_BOUND: Duration = Duration::from_secs(60);

struct Signer {
    sim: SimChain,
    setup: SignerSetup,
    daemon: Daemon,
    address: String,
    log: PathBuf,
}

/// A signer whose `[listen]` section gets `listen` lines added, started with stderr in a log
/// file and, given `open_files`, under `ulimit -n open_files`. `prepare` runs on the setup
/// before the start (e.g. to fill the audit log).
async fn start(
    listen: &str,
    rate_requests: u32,
    open_files: Option<u32>,
    prepare: impl FnOnce(&SignerSetup) -> anyhow::Result<()>,
) -> anyhow::Result<Signer> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let policy = format!(
        "{}\n[[account.client]]\nidentity = \"{OPS}\"\nmay = [\"status\"]\n",
        default_policy(3)?
    );
    let options = SignerOptions {
        extra_clients: vec![OPS.to_owned()],
        rate_requests,
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&[sim.node(0)], &policy, &options)?;
    let text = std::fs::read_to_string(&setup.config)?;
    let marker = "rate_window_seconds = 60\n";
    if !text.contains(marker) {
        bail!("the config has no [listen] rate_window_seconds line");
    }
    std::fs::write(
        &setup.config,
        text.replacen(marker, &format!("{marker}{listen}\n"), 1),
    )?;
    prepare(&setup)?;
    let log = setup.dir.path().join("signer.log");
    let daemon = match open_files {
        None => setup.start_logged(&[], Some(&log)).await?,
        Some(limit) => {
            let signer = workspace_binary("vwf-signer")?;
            let signer = signer.to_str().context("binary path is not UTF-8")?;
            let config = setup.config.to_str().context("config path is not UTF-8")?;
            let script = format!("ulimit -n {limit} && exec \"$0\" serve --config \"$1\"");
            Daemon::spawn_logged(
                Path::new("/bin/sh"),
                &["-c", &script, signer, config],
                &[],
                Some(&log),
            )
            .await?
        }
    };
    let address = daemon.field("listening")?;
    Ok(Signer {
        sim,
        setup,
        daemon,
        address,
        log,
    })
}

impl Signer {
    /// The signer process's open descriptors, where /proc lets us count them (best effort: a
    /// non-dumpable process's /proc entries are root's).
    fn open_fds(&self) -> Option<usize> {
        let pid = self.daemon.pid()?;
        Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
    }

    /// (lines, bytes) of the audit log.
    fn audit_size(&self) -> anyhow::Result<(usize, u64)> {
        let path = self.setup.state_file("audit.jsonl");
        let text = std::fs::read_to_string(&path)?;
        Ok((text.lines().count(), std::fs::metadata(&path)?.len()))
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the monitor does on its worst day, on a fresh connection: Status, then the kill
    /// switch, which must be applied on chain. Returns the kill switch's latency (measured,
    /// printed, never asserted).
    ///
    /// The flood comes from the monitor's own address here (everything is 127.0.0.1), so the
    /// per-address handshake cap is shared: a fresh connection whose first byte has not arrived
    /// yet when the signer makes room can be evicted with the flood's silent sockets. The real
    /// monitor keeps its link warm and retries a failed call; so does this, a bounded number
    /// of times, and prints how many connections it took.
    async fn status_and_kill_switch(&self, request_id: &str) -> anyhow::Result<Duration> {
        const CONNECT_ATTEMPTS: usize = 5;
        let mut attempt = 0;
        let (mut monitor, status) = loop {
            attempt += 1;
            let connected = async {
                let mut monitor = self.setup.client(&self.address, MONITOR).await?;
                let status = tokio::time::timeout(CALL_BOUND, monitor.status(pb::StatusRequest {}))
                    .await
                    .context("Status did not answer within the bound")??
                    .into_inner();
                anyhow::Ok((monitor, status))
            }
            .await;
            match connected {
                Ok(done) => break done,
                Err(error) if attempt < CONNECT_ATTEMPTS => {
                    println!("connection {attempt} for Status failed: {error:#}; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => {
                    return Err(error.context(format!("{CONNECT_ATTEMPTS} connections failed")));
                }
            }
        };
        println!("Status answered on connection {attempt}");
        assert_eq!(status.client_identity, MONITOR);
        let started = Instant::now();
        let request = pb::SetSigningKeyRequest {
            request_id: request_id.to_owned(),
            account: ACCOUNT.to_owned(),
            target: Some(pb::SigningKeyTarget {
                target: Some(pb::signing_key_target::Target::NullKey(pb::NullKey {})),
            }),
            expected_current_key: test_key(1)?,
            reason: "kill switch under a flood".into(),
        };
        let answer = tokio::time::timeout(CALL_BOUND, monitor.set_signing_key(request))
            .await
            .context("the kill switch did not answer within the bound")??
            .into_inner();
        let latency = started.elapsed();
        assert!(
            matches!(answer.outcome, Some(Outcome::Applied(_))),
            "{answer:?}"
        );
        let witness = self.sim.control().witness(ACCOUNT).await?;
        assert_eq!(witness["signing_key"].as_str(), Some(NULL_KEY));
        Ok(latency)
    }
}

/// A TLS endpoint presenting `identity`'s certificate (connects on demand).
fn endpoint(setup: &SignerSetup, address: &str, identity: &str) -> anyhow::Result<Endpoint> {
    let name = vwf_signer::pki::sanitize_name(identity);
    let certs = setup.certs();
    let read = |file: String| std::fs::read_to_string(certs.join(file));
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read("ca.pem".into())?))
        .identity(Identity::from_pem(
            read(format!("client-{name}.pem"))?,
            read(format!("client-{name}.key"))?,
        ))
        .domain_name("localhost");
    Ok(Endpoint::from_shared(format!("https://{address}"))?
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(10)))
}

/// Runs a flood on its own thread and runtime, as another process would: the monitor's
/// client (on the test's runtime) is not starved by it, nor it by the monitor.
struct Elsewhere<T>(std::thread::JoinHandle<anyhow::Result<T>>);

impl<T: Send + 'static> Elsewhere<T> {
    fn run<F>(flood: F) -> Self
    where
        F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        Elsewhere(std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(flood)
        }))
    }

    async fn join(self) -> anyhow::Result<T> {
        let handle = self.0;
        tokio::task::spawn_blocking(move || handle.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the flood thread panicked"))?
    }
}

/// How many refusals the audit lines matching `filter` stand for (summary lines carry a count).
fn refusals(audit: &[Value], filter: impl Fn(&Value) -> bool) -> u64 {
    audit
        .iter()
        .filter(|e| e["decision"] == "refused" && filter(e))
        .map(|e| e["count"].as_u64().unwrap_or(1))
        .sum()
}

fn chain_changes(audit: &[Value], request_id: &str) -> Vec<String> {
    audit
        .iter()
        .filter(|e| e["call"] == "set-signing-key" && e["request_id"] == request_id)
        .filter_map(|e| e["decision"].as_str().map(str::to_owned))
        .collect()
}

/// What an idle-socket flood did.
#[derive(Debug, Default)]
struct IdleFlood {
    /// TCP connections opened.
    connects: usize,
    /// Connections the signer closed (seen as end of stream).
    closed_by_signer: usize,
    /// Most sockets held open at once on our side.
    peak_held: usize,
}

/// Opens idle TCP connections to `address` (never sending a byte), holding up to `hold` and
/// replacing those the signer closes, until `stop` or `max_connects`; then holds them until
/// `stop`.
async fn idle_flood(
    address: String,
    hold: usize,
    max_connects: usize,
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicUsize>,
) -> anyhow::Result<IdleFlood> {
    let mut stats = IdleFlood::default();
    let mut held: VecDeque<TcpStream> = VecDeque::new();
    let reap = |held: &mut VecDeque<TcpStream>, stats: &mut IdleFlood| {
        let mut byte = [0u8; 1];
        held.retain(|s| match s.try_read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            _ => {
                stats.closed_by_signer += 1;
                false
            }
        });
    };
    while !stop.load(Ordering::Relaxed) {
        if stats.connects < max_connects {
            match TcpStream::connect(&address).await {
                Ok(stream) => {
                    stats.connects += 1;
                    progress.store(stats.connects, Ordering::Relaxed);
                    held.push_back(stream);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
            if held.len() > hold {
                held.pop_front();
            }
            stats.peak_held = stats.peak_held.max(held.len());
            if stats.connects % 64 == 0 {
                reap(&mut held, &mut stats);
                tokio::task::yield_now().await;
            }
        } else {
            reap(&mut held, &mut stats);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(stats)
}

#[tokio::test]
async fn the_kill_switch_goes_through_while_idle_sockets_flood_the_handshake_slots()
-> anyhow::Result<()> {
    /// Idle sockets held at once: more than the 128 handshake slots, as in the finding (800).
    const HOLD: usize = 800;
    const MAX_CONNECTS: usize = 20_000;
    let signer = start("", 30, None, |_| Ok(())).await?;
    let (lines_before, bytes_before) = signer.audit_size()?;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let flood = Elsewhere::run(idle_flood(
        signer.address.clone(),
        HOLD,
        MAX_CONNECTS,
        Arc::clone(&stop),
        Arc::clone(&progress),
    ));
    wait_for(
        "the flood to open 2000 connections",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || {
            let progress = Arc::clone(&progress);
            async move { Ok(progress.load(Ordering::Relaxed) >= 2000) }
        },
    )
    .await?;
    let fds_during = signer.open_fds();
    let latency = signer.status_and_kill_switch("kill-idle-flood").await?;
    let connects_at_kill = progress.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let stats = flood.join().await?;
    let (lines_after, bytes_after) = signer.audit_size()?;
    signer.daemon.stop().await?;
    let audit = signer.setup.audit()?;
    let refused = refusals(&audit, |e| e["call"] == "tls-handshake");
    println!(
        "idle-socket flood: {} connects ({} by the time the kill switch was applied), peak {} \
         held by the flooder, {} closed by the signer; signer fds during the flood: {:?}; \
         kill switch applied in {latency:?}; audit +{} lines / +{} bytes during the flood, {} \
         handshake refusals accounted for after stop ({} lines in all)",
        stats.connects,
        connects_at_kill,
        stats.peak_held,
        stats.closed_by_signer,
        fds_during,
        lines_after - lines_before,
        bytes_after - bytes_before,
        refused,
        audit.len()
    );
    // The flooder kept trying to hold 800; the handshake table is bounded, so the signer
    // closed what it could not hold (the oldest silent ones first).
    assert!(stats.connects >= 2000, "{stats:?}");
    assert!(stats.closed_by_signer > 0, "{stats:?}");
    if let Some(fds) = fds_during {
        assert!(fds < 128 + 128 + 64, "{fds} descriptors open in the signer");
    }
    // Thousands of refused handshakes, a handful of audit lines.
    assert!(lines_after - lines_before <= 20, "{audit:?}");
    assert_eq!(
        chain_changes(&audit, "kill-idle-flood"),
        ["intent", "applied"]
    );
    Ok(())
}

#[tokio::test]
async fn the_kill_switch_goes_through_while_an_allowed_client_holds_idle_tls_connections_under_a_low_descriptor_limit()
-> anyhow::Result<()> {
    /// The signer's descriptor limit, as in the finding.
    const OPEN_FILES: u32 = 300;
    /// Idle TLS connections the allowed client tries to hold.
    const HOLD: usize = 300;
    // Default caps (128 + 128 + 64 = 320 descriptors) do not fit under 300: the signer lowers
    // them and says so.
    let signer = start("", 1000, Some(OPEN_FILES), |_| Ok(())).await?;
    let ops = endpoint(&signer.setup, &signer.address, OPS)?;
    let mut channels: Vec<Channel> = Vec::new();
    let mut failed = 0usize;
    for _ in 0..HOLD {
        match tokio::time::timeout(Duration::from_secs(20), ops.connect()).await {
            Ok(Ok(channel)) => channels.push(channel),
            _ => failed += 1,
        }
    }
    let fds_held = signer.open_fds();
    // Which of them the signer actually serves: the others were closed after the handshake
    // (a call on them reconnects, and is closed again). All at once, each bounded.
    let mut calls = tokio::task::JoinSet::new();
    for channel in &channels {
        let mut client = SignerClient::new(channel.clone());
        calls.spawn(async move {
            let answer =
                tokio::time::timeout(Duration::from_secs(20), client.status(pb::StatusRequest {}))
                    .await;
            matches!(answer, Ok(Ok(_)))
        });
    }
    let mut served = 0usize;
    while let Some(ok) = calls.join_next().await {
        served += usize::from(ok?);
    }
    // The flood goes on during the kill switch: the client keeps opening connections.
    let stop = Arc::new(AtomicBool::new(false));
    let more = {
        let (ops, stop) = (ops.clone(), Arc::clone(&stop));
        Elsewhere::run(async move {
            let mut extra = Vec::new();
            while !stop.load(Ordering::Relaxed) && extra.len() < HOLD {
                if let Ok(Ok(channel)) =
                    tokio::time::timeout(Duration::from_secs(20), ops.connect()).await
                {
                    extra.push(channel);
                }
            }
            Ok(extra.len())
        })
    };
    let latency = signer.status_and_kill_switch("kill-tls-flood").await?;
    stop.store(true, Ordering::Relaxed);
    let extra = more.join().await?;
    let fds_after = signer.open_fds();
    let log = signer.log_text();
    signer.daemon.stop().await?;
    let audit = signer.setup.audit()?;
    let refused = refusals(&audit, |e| {
        e["call"] == "connection" && e["rule"] == "connection-limit" && e["client"] == OPS
    });
    println!(
        "allowed client's idle TLS flood under ulimit -n {OPEN_FILES}: {} of {HOLD} connects \
         succeeded client-side ({failed} failed), {served} served by the signer, {extra} more \
         during the kill switch; signer fds with the flood held: {fds_held:?}, after: \
         {fds_after:?}; kill switch applied in {latency:?}; {refused} connections refused for \
         the per-identity cap, in {} audit lines",
        channels.len(),
        audit.iter().filter(|e| e["call"] == "connection").count()
    );
    // The caps were lowered to fit the descriptors, and no accept ever ran out of them.
    assert!(
        log.contains("raise LimitNOFILE= to 320"),
        "no descriptor warning in the log: {log}"
    );
    assert!(
        !log.contains("Too many open files"),
        "the signer ran out of descriptors"
    );
    // One identity holds at most its 8 connections.
    assert!((1..=8).contains(&served), "{served} connections served");
    assert!(refused > 0);
    if let Some(fds) = fds_held {
        assert!(fds < 100, "{fds} descriptors open in the signer");
    }
    assert_eq!(
        chain_changes(&audit, "kill-tls-flood"),
        ["intent", "applied"]
    );
    Ok(())
}

/// Floods refusals: `requests` rate-limited Status calls from OPS (32 at a time) and `junk`
/// connections sending bytes that are not TLS. Returns (rate-limited answers, junk sent).
async fn refusal_flood(
    ops: Endpoint,
    address: String,
    requests: usize,
    junk: usize,
) -> anyhow::Result<(usize, usize)> {
    let ops = ops.connect_lazy();
    let limited = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..32 {
        let (ops, limited) = (ops.clone(), Arc::clone(&limited));
        tasks.spawn(async move {
            let mut client = SignerClient::new(ops);
            for _ in (worker..requests).step_by(32) {
                let answer = client.status(pb::StatusRequest {}).await;
                if answer.is_err_and(|s| s.code() == tonic::Code::ResourceExhausted) {
                    limited.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let junk_task = tokio::spawn(async move {
        let mut sent = 0usize;
        for i in 0..junk {
            let Ok(mut stream) = TcpStream::connect(&address).await else {
                continue;
            };
            let bytes: &[u8] = if i % 2 == 0 {
                b"GET / HTTP/1.1\r\nHost: signer\r\n\r\n"
            } else {
                &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00]
            };
            if stream.write_all(bytes).await.is_ok() {
                sent += 1;
            }
        }
        sent
    });
    while let Some(joined) = tasks.join_next().await {
        joined?;
    }
    let sent = junk_task.await?;
    Ok((limited.load(Ordering::Relaxed), sent))
}

#[tokio::test]
async fn a_refusal_flood_is_summarized_and_the_audit_log_stays_under_its_cap() -> anyhow::Result<()>
{
    const CAP: u64 = 256 * 1024;
    let listen = format!(
        "refusal_summary_seconds = 2\naudit_max_bytes = {CAP}\naudit_reserve_bytes = 65536"
    );
    let signer = start(&listen, 10, None, |_| Ok(())).await?;
    let (lines_before, bytes_before) = signer.audit_size()?;
    let flood = Elsewhere::run(refusal_flood(
        endpoint(&signer.setup, &signer.address, OPS)?,
        signer.address.clone(),
        4000,
        2000,
    ));
    let (flood, latency) = tokio::join!(
        flood.join(),
        signer.status_and_kill_switch("kill-refusal-flood")
    );
    let ((limited, junk), latency) = (flood?, latency?);
    signer.daemon.stop().await?;
    let audit = signer.setup.audit()?;
    let bytes_after = std::fs::metadata(signer.setup.state_file("audit.jsonl"))?.len();
    let rate_limited = refusals(&audit, |e| e["rule"] == "rate-limit" && e["client"] == OPS);
    let handshakes = refusals(&audit, |e| e["call"] == "tls-handshake");
    let refusal_lines = audit.iter().filter(|e| e["decision"] == "refused").count();
    println!(
        "refusal flood: {limited} rate-limited answers and {junk} junk handshakes; audit +{} \
         lines / +{} bytes ({refusal_lines} refusal lines standing for {rate_limited} \
         rate-limit and {handshakes} handshake refusals), file {bytes_after} bytes (cap {CAP}); \
         kill switch applied in {latency:?}",
        audit.len() - lines_before,
        bytes_after - bytes_before,
    );
    // Every refusal is accounted for, in few lines.
    assert!(limited > 3000, "{limited}");
    assert_eq!(rate_limited, u64::try_from(limited)?);
    assert!(
        handshakes >= u64::try_from(junk)? / 2,
        "{handshakes} of {junk}"
    );
    assert!(refusal_lines <= 200, "{refusal_lines} refusal lines");
    assert!(bytes_after <= CAP);
    assert_eq!(
        chain_changes(&audit, "kill-refusal-flood"),
        ["intent", "applied"]
    );
    Ok(())
}

#[tokio::test]
async fn with_the_audit_log_at_its_cap_the_kill_switch_is_still_written_in_full()
-> anyhow::Result<()> {
    const CAP: u64 = 32 * 1024;
    const RESERVE: u64 = 8 * 1024;
    // Filled to just under what lines that do not change the chain may use.
    let fill = |setup: &SignerSetup| -> anyhow::Result<()> {
        let line = format!(
            "{{\"call\":\"filler\",\"detail\":\"{}\"}}\n",
            "f".repeat(200)
        );
        let lines = usize::try_from(CAP - RESERVE - 20)? / line.len();
        std::fs::write(setup.state_file("audit.jsonl"), line.repeat(lines))?;
        Ok(())
    };
    let listen = format!("audit_max_bytes = {CAP}\naudit_reserve_bytes = {RESERVE}");
    let signer = start(&listen, 10, None, fill).await?;
    let (_, bytes_before) = signer.audit_size()?;
    let flood = Elsewhere::run(refusal_flood(
        endpoint(&signer.setup, &signer.address, OPS)?,
        signer.address.clone(),
        500,
        200,
    ));
    let (flood, latency) = tokio::join!(flood.join(), signer.status_and_kill_switch("kill-at-cap"));
    let ((limited, junk), latency) = (flood?, latency?);
    let log = signer.log_text();
    signer.daemon.stop().await?;
    let audit = signer.setup.audit()?;
    let bytes_after = std::fs::metadata(signer.setup.state_file("audit.jsonl"))?.len();
    println!(
        "refusal flood at the audit cap: {limited} rate-limited, {junk} junk handshakes; audit \
         {bytes_before} -> {bytes_after} bytes (cap {CAP}, reserve {RESERVE}); kill switch \
         applied in {latency:?}"
    );
    assert!(bytes_after <= CAP, "{bytes_after} > {CAP}");
    // Said once in the log file and in the audit log; the kill switch written in full.
    assert!(log.contains("audit_max_bytes"), "{log}");
    let notices: Vec<_> = audit.iter().filter(|e| e["call"] == "audit").collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["rule"], "audit-cap");
    assert_eq!(chain_changes(&audit, "kill-at-cap"), ["intent", "applied"]);
    let applied = audit
        .iter()
        .find(|e| e["request_id"] == "kill-at-cap" && e["decision"] == "applied")
        .context("no applied line")?;
    assert!(applied["tx_id"].is_string() && applied["block_num"].is_u64());
    // Nothing else got in.
    assert!(!audit.iter().any(|e| e["decision"] == "refused"));
    Ok(())
}

#[tokio::test]
async fn an_idle_tls_connection_is_closed_after_the_idle_timeout() -> anyhow::Result<()> {
    let signer = start("idle_timeout_seconds = 2", 30, None, |_| Ok(())).await?;
    // A TLS connection from an allowed client that then says nothing (not even HTTP/2's
    // preface): before, it stayed open for good.
    let setup = &signer.setup;
    let name = vwf_signer::pki::sanitize_name(OPS);
    let certs = setup.certs();
    let ca = std::fs::read(certs.join("ca.pem"))?;
    let cert = std::fs::read(certs.join(format!("client-{name}.pem")))?;
    let key = std::fs::read(certs.join(format!("client-{name}.key")))?;
    let address = signer.address.clone();
    let closed_after =
        tokio::task::spawn_blocking(move || idle_tls(&address, &ca, &cert, &key)).await??;
    println!("an idle TLS connection was closed by the signer after {closed_after:?}");
    // The signer still serves, and the monitor's own connection is not affected.
    let mut monitor = signer.setup.client(&signer.address, MONITOR).await?;
    for _ in 0..2 {
        tokio::time::timeout(CALL_BOUND, monitor.status(pb::StatusRequest {})).await??;
    }
    signer.daemon.stop().await?;
    Ok(())
}

/// Connects with `cert`/`key`, completes the TLS handshake, sends nothing, and reads until the
/// signer closes the connection (bounded: 30 s). Returns how long that took.
fn idle_tls(address: &str, ca: &[u8], cert: &[u8], key: &[u8]) -> anyhow::Result<Duration> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use std::io::Read;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca) {
        roots.add(ca?)?;
    }
    let chain = CertificateDer::pem_slice_iter(cert).collect::<Result<Vec<_>, _>>()?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])?
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, PrivateKeyDer::from_pem_slice(key)?)?;
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connection =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost")?)?;
    let socket = std::net::TcpStream::connect(address)?;
    socket.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut tls = rustls::StreamOwned::new(connection, socket);
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tls.read(&mut buffer) {
            // The server's HTTP/2 SETTINGS, PINGs: keep reading.
            Ok(n) if n > 0 => {}
            // Closed (with or without close_notify).
            Ok(_) => return Ok(started.elapsed()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                bail!("the idle connection was still open after 30 s")
            }
            Err(_) => return Ok(started.elapsed()),
        }
    }
}
