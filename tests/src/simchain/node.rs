//! One JSON-RPC HTTP port. Connections are served one by one with hyper so that the `refuse`
//! fault can really close the port (clients get "connection refused") and drop open keep-alive
//! connections, which axum's `serve` cannot do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::simchain::rpc;
use crate::simchain::sim::Sim;

#[derive(Clone)]
struct NodeCtx {
    sim: Arc<Sim>,
    index: usize,
}

/// The router of node `index`: every POST path answers JSON-RPC.
pub fn router(sim: Arc<Sim>, index: usize) -> Router {
    Router::new()
        .fallback(answer)
        .with_state(NodeCtx { sim, index })
}

async fn answer(State(ctx): State<NodeCtx>, body: Bytes) -> Response {
    ctx.sim.count_request(ctx.index, call_count(&body));
    let faults = ctx.sim.faults(ctx.index);
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if faults.error_rate > 0.0 && rand::rng().random::<f64>() < faults.error_rate {
        if rand::rng().random::<bool>() {
            return (StatusCode::INTERNAL_SERVER_ERROR, "simulated node fault").into_response();
        }
        return reply(rpc::fault_reply(&ctx.sim, &body));
    }
    reply(rpc::handle(&ctx.sim, ctx.index, &body).await)
}

/// JSON-RPC calls in a request body: the elements of a non-empty array (a batch), else one.
fn call_count(body: &[u8]) -> u64 {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(items)) if !items.is_empty() => {
            u64::try_from(items.len()).unwrap_or(u64::MAX)
        }
        _ => 1,
    }
}

fn reply(answer: rpc::Reply) -> Response {
    match answer {
        rpc::Reply::Json(answer) => axum::Json(answer).into_response(),
        rpc::Reply::Text(text) => (StatusCode::OK, text).into_response(),
        rpc::Reply::BadGateway => (
            StatusCode::BAD_GATEWAY,
            "502 Bad Gateway: the upstream node's answer was lost (simulated broadcast_then_502)",
        )
            .into_response(),
    }
}

/// Serves node `index` on `listener` until `shutdown` turns true; closes and re-binds the port
/// as the node's `refuse` flag goes on and off.
pub async fn serve(
    sim: Arc<Sim>,
    index: usize,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(node) = sim.nodes.get(index) else {
        return;
    };
    let mut refuse = node.refuse.subscribe();
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    let app = router(sim.clone(), index);
    let mut listener = Some(listener);
    loop {
        let Some(current) = listener.take() else {
            // Refusing: wait for the flag to clear, then bind the same port again.
            tokio::select! {
                r = refuse.wait_for(|r| !*r) => if r.is_err() { return },
                _ = shutdown.wait_for(|s| *s) => return,
            }
            let Some(addr) = addr else { return };
            match TcpListener::bind(addr).await {
                Ok(l) => listener = Some(l),
                Err(e) => {
                    warn!(node = index, %addr, error = %e, "re-binding failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            continue;
        };
        if *refuse.borrow() {
            drop(current);
            continue;
        }
        let (conn_refuse, conn_shutdown) = (refuse.clone(), shutdown.clone());
        tokio::select! {
            accepted = current.accept() => {
                listener = Some(current);
                match accepted {
                    Ok((stream, peer)) => {
                        debug!(node = index, %peer, "connection");
                        tokio::spawn(connection(stream, app.clone(), conn_refuse, conn_shutdown));
                    }
                    Err(e) => warn!(node = index, error = %e, "accept failed"),
                }
            }
            _ = refuse.wait_for(|r| *r) => drop(current),
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    mut refuse: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = TowerToHyperService::new(app);
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = conn => if let Err(e) = result { debug!(error = %e, "connection ended") },
        _ = refuse.wait_for(|r| *r) => {}
        _ = shutdown.wait_for(|s| *s) => {}
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use http_body_util::BodyExt;
    use serde_json::Value;
    use vwf_shared::ProfileName;

    use super::*;
    use crate::simchain::chain::ChainState;
    use crate::simchain::config::{Cli, SimSetup};

    fn sim(profile: ProfileName) -> anyhow::Result<Arc<Sim>> {
        let cli = Cli::parse_from(["vwf-simchain", "--profile", profile.as_str()]);
        let setup = SimSetup::from_cli(&cli, 1_700_000_000_000)?;
        Ok(Sim::new(ChainState::new(&setup), 1))
    }

    async fn post(sim: &Arc<Sim>, body: &str) -> anyhow::Result<Value> {
        let ctx = NodeCtx {
            sim: sim.clone(),
            index: 0,
        };
        let response = answer(State(ctx), Bytes::from(body.to_owned())).await;
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok(serde_json::from_slice(&bytes)?)
    }

    #[tokio::test]
    async fn a_batch_counts_one_request_and_a_call_per_element() -> anyhow::Result<()> {
        let sim = sim(ProfileName::Steem)?;
        let single = r#"{"jsonrpc":"2.0","id":1,"method":"condenser_api.get_dynamic_global_properties","params":[]}"#;
        post(&sim, single).await?;
        assert_eq!((sim.requests(0), sim.calls(0)), (1, 1));
        let batch = format!(
            r#"[{single},{{"jsonrpc":"2.0","id":2,"method":"condenser_api.get_witness_by_account","params":["vit-test-witness"]}}]"#
        );
        let answer = post(&sim, &batch).await?;
        assert_eq!(answer.as_array().map(Vec::len), Some(2));
        assert_eq!((sim.requests(0), sim.calls(0)), (2, 3));
        // Out-of-range nodes are ignored.
        sim.count_request(7, 5);
        assert_eq!((sim.requests(0), sim.calls(0)), (2, 3));
        Ok(())
    }
}
