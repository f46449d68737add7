//! Startup and shutdown: bind the ports, print the one JSON line, run until SIGTERM/SIGINT.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::info;

use crate::simchain::chain::ChainState;
use crate::simchain::config::{Cli, SimSetup};
use crate::simchain::sim::Sim;
use crate::simchain::{control, node, producer};

/// The control port and the node ports for `--port base` (0: every port picked by the system).
pub fn ports(base: u16, nodes: usize) -> anyhow::Result<(u16, Vec<u16>)> {
    if base == 0 {
        return Ok((0, vec![0; nodes]));
    }
    let node_ports = (0..nodes)
        .map(|i| {
            u16::try_from(i + 1)
                .ok()
                .and_then(|offset| base.checked_add(offset))
                .with_context(|| format!("--port {base} with {nodes} nodes goes past port 65535"))
        })
        .collect::<anyhow::Result<Vec<u16>>>()?;
    Ok((base, node_ports))
}

/// Runs the simulator described by `cli` until a termination signal.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let now_ms = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let setup = SimSetup::from_cli(&cli, now_ms)?;
    // Chain time follows the wall clock: the genesis slot is `now - (now - start)` ago by
    // default, or right now when --start-time names another moment.
    let origin = match cli.start_time {
        Some(_) => Instant::now(),
        None => Instant::now() - Duration::from_millis(now_ms - setup.start_time_ms),
    };
    let chain = ChainState::new(&setup);
    let chain_id = chain.profile.chain_id.to_string();
    let sim = Sim::new(chain, setup.nodes);
    let (shutdown_tx, shutdown) = watch::channel(false);

    let mut urls = Vec::new();
    let mut tasks = Vec::new();
    let (control_port, node_ports) = ports(cli.port, setup.nodes)?;
    for (index, port) in node_ports.into_iter().enumerate() {
        let listener = TcpListener::bind((cli.listen, port))
            .await
            .with_context(|| format!("binding node {index} on {}:{port}", cli.listen))?;
        urls.push(format!("http://{}", listener.local_addr()?));
        tasks.push(tokio::spawn(node::serve(
            sim.clone(),
            index,
            listener,
            shutdown.clone(),
        )));
    }
    let control_listener = TcpListener::bind((cli.listen, control_port))
        .await
        .with_context(|| format!("binding the control port {}:{control_port}", cli.listen))?;
    let control_url = format!("http://{}", control_listener.local_addr()?);
    let app = control::router(sim.clone(), urls.clone());
    let mut control_shutdown = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        let stop = async move {
            let _ = control_shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(control_listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "control API failed");
        }
    }));
    tasks.push(tokio::spawn(producer::run(sim.clone(), origin, shutdown)));

    let line = json!({
        "nodes": urls,
        "control": control_url,
        "chain_id": chain_id,
        "profile": setup.profile.name.as_str(),
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    drop(stdout);
    info!(%line, interval_ms = setup.block_interval_ms, "simchain running");

    wait_for_signal().await?;
    info!("shutting down");
    shutdown_tx.send_replace(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ports;

    #[test]
    fn fixed_ports_put_the_control_api_first_and_nodes_after_it() -> anyhow::Result<()> {
        assert_eq!(ports(0, 3)?, (0, vec![0, 0, 0]));
        assert_eq!(ports(18090, 3)?, (18090, vec![18091, 18092, 18093]));
        assert!(ports(65534, 3).is_err());
        Ok(())
    }
}
