//! `vwf-signer serve`: the mTLS gRPC signing daemon.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::net::TcpListener;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Server;
use vwf_proto::v1::signer_server::SignerServer;
use vwf_shared::rpc::ClientOptions;

use crate::audit::{AuditEntry, AuditLimits, AuditLog};
use crate::config::{Settings, SignerConfig};
use crate::engine::Engine;
use crate::error::Error;
use crate::guard::GuardLayer;
use crate::input::read_private_file;
use crate::keystore::{LoadedKey, load_active_key_with};
use crate::nodes::Nodes;
use crate::service::SignerService;
use crate::store::RequestStore;
use crate::{hardening, listener, tls};

/// Largest PEM file read.
const MAX_PEM_BYTES: usize = 64 * 1024;

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The signer's configuration file.
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
}

impl ServeArgs {
    /// Hardens the process, loads config and key, then serves until SIGTERM or SIGINT.
    pub fn run(self) -> Result<(), Error> {
        // Before the key is in memory: no core dumps, no ptrace by the same user.
        hardening::harden_process()?;
        let settings = SignerConfig::load(&self.config)?;
        let loaded = load_active_key_with(
            &settings.key.age_file,
            &settings.key.source,
            &settings.key.options,
        )?;
        if let Some(error) = &loaded.memory_lock {
            tracing::warn!(%error, "the key's memory page could not be locked; it may be swapped out (grant CAP_IPC_LOCK or raise LimitMEMLOCK)");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
        runtime.block_on(serve(settings, loaded))
    }
}

async fn serve(settings: Settings, loaded: LoadedKey) -> Result<(), Error> {
    let files = &settings.raw.tls;
    let ca = read_pem(&files.client_ca, false)?;
    let cert = read_pem(&files.cert, false)?;
    let key = read_pem(&files.key, true)?;
    let tls_config = tls::server_rustls_config(&ca, &cert, &key)?;

    crate::config::check_state_dir(&settings.raw.state.dir, true).map_err(|reason| {
        Error::Config {
            path: settings.path.clone(),
            reason,
        }
    })?;
    let store = RequestStore::open_beside_audit(&settings.store_path(), &settings.audit_path())?;
    let listen = &settings.raw.listen;
    // The caps bound the descriptors the listener holds: the open-file limit must cover them.
    let (limits, fd_warning) = listener::Limits::from_config(listen)
        .fit_open_files()
        .map_err(|reason| Error::Config {
            path: settings.path.clone(),
            reason: format!("[listen] {reason}"),
        })?;
    let (audit, reserve_warning) =
        AuditLog::open(&settings.audit_path())?.with_limits(AuditLimits {
            max_bytes: listen.audit_max_bytes,
            reserve_bytes: listen.audit_reserve_bytes,
            summary_interval: Duration::from_secs(listen.refusal_summary_seconds),
        });
    for warning in [&fd_warning, &reserve_warning].into_iter().flatten() {
        tracing::warn!("{warning}");
    }
    let nodes = nodes_of(&settings);
    if let Some(warning) = &settings.single_node_warning {
        tracing::warn!("{warning}");
    }
    let build = settings.build.clone();
    let engine = Arc::new(Engine::new(
        settings.profile.clone(),
        settings.policy.clone(),
        Arc::new(loaded.key),
        nodes,
        build,
        store,
        audit.clone(),
    ));
    match engine.check_key_on_chain().await {
        Ok(()) => {
            tracing::info!(key = %engine.active_key(), "the active key is authorized on chain for every policy account")
        }
        Err(error @ Error::KeyNotAuthorized(_)) => return Err(error),
        Err(error @ Error::NoQuorum(_)) => {
            tracing::warn!(%error, "could not check the key on chain now; requests fail until a quorum of nodes answers")
        }
        Err(error) => {
            tracing::warn!(%error, "could not check the key on chain now; requests fail until a node answers")
        }
    }

    let listener = TcpListener::bind(settings.raw.listen.address)
        .await
        .map_err(|e| {
            Error::Internal(format!(
                "cannot listen on {}: {e}",
                settings.raw.listen.address
            ))
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("listener address: {e}")))?;
    audit
        .record(AuditEntry {
            call: "start",
            client: "local".into(),
            decision: "allowed",
            detail: format!(
                "listening on {address} with key {}; {} node(s), quorum {}",
                engine.active_key(),
                settings.raw.chain.nodes.len(),
                settings.quorum
            ),
            warning: [&settings.single_node_warning, &fd_warning, &reserve_warning]
                .into_iter()
                .flatten()
                .cloned()
                .reduce(|a, b| format!("{a}; {b}")),
            ..AuditEntry::default()
        })
        .await?;
    // One JSON line on stdout says where we listen (port 0 picks a free port).
    println!(
        "{}",
        serde_json::json!({ "listening": address.to_string() })
    );
    tracing::info!(%address, profile = %settings.profile.name, "serving");

    tracing::info!(
        max_handshakes = limits.max_handshakes,
        max_handshakes_per_address = limits.max_handshakes_per_address,
        max_connections = limits.max_connections,
        max_connections_per_address = limits.max_connections_per_address,
        max_connections_per_identity = limits.max_connections_per_identity,
        "connection limits"
    );
    let service = SignerService::new(Arc::clone(&engine));
    let connections = listener::Connections::new(limits);
    let guard = GuardLayer::new(
        listen.rate_requests,
        Duration::from_secs(listen.rate_window_seconds),
        audit.clone(),
    )
    .with_connections(connections.clone());
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<SignerServer<SignerService>>().await;
    let maintenance = audit.spawn_maintenance();
    let incoming = ReceiverStream::new(listener::accept_tls(
        listener,
        tls_config,
        audit.clone(),
        connections,
    ));
    let served = Server::builder()
        .timeout(Duration::from_secs(120))
        // Serving with our own incoming stream, tonic's TCP keepalive settings do not apply:
        // HTTP/2 PINGs find dead peers, the listener closes idle connections.
        .http2_keepalive_interval(Some(Duration::from_secs(listen.keepalive_interval_seconds)))
        .http2_keepalive_timeout(Some(Duration::from_secs(listen.keepalive_timeout_seconds)))
        .max_concurrent_streams(listener::MAX_STREAMS_PER_CONNECTION)
        .layer(guard)
        .add_service(health)
        .add_service(
            SignerServer::new(service)
                .max_decoding_message_size(listen.max_request_bytes)
                .max_encoding_message_size(64 * 1024),
        )
        .serve_with_incoming_shutdown(incoming, shutdown_signal())
        .await
        .map_err(|e| Error::Internal(format!("server stopped: {e}")));
    maintenance.abort();
    // Refusals counted since the last summary are written before leaving.
    audit.flush_refusals().await;
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// The configured nodes with their quorum: one construction for `serve` and `dry-run`.
pub fn nodes_of(settings: &Settings) -> Nodes {
    let chain = &settings.raw.chain;
    Nodes::new(
        settings.profile.clone(),
        chain.nodes.clone(),
        ClientOptions::default(),
        settings.quorum,
        chain.max_clock_skew_seconds,
    )
}

fn read_pem(path: &std::path::Path, private: bool) -> Result<String, Error> {
    let bytes = if private {
        read_private_file(path, MAX_PEM_BYTES)?.to_vec()
    } else {
        std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?
    };
    String::from_utf8(bytes).map_err(|_| Error::Tls {
        reason: format!("{} is not a PEM text file", path.display()),
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            // No SIGTERM handler available: Ctrl-C still stops the server.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
