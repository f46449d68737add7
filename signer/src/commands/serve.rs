//! `vwf-signer serve`: the mTLS gRPC signing daemon.
//!
//! SIGHUP reloads the `[revoked]` list of client certificates from the same file without
//! dropping the key or the listener: the whole file is loaded and checked as at start, and if
//! it is invalid nothing changes (the error is logged and audited). A revocation refuses new
//! handshakes at once and closes the open connections of the revoked certificates. Every other
//! section is read only at start; a reload that finds one changed says a restart is needed.

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
use crate::keystore::AssignedKeys;
use crate::nodes::Nodes;
use crate::revocation::{Revocations, RevokedConfig};
use crate::service::SignerService;
use crate::store::RequestStore;
use crate::{hardening, listener, pki, tls};

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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
        // Before the key loads: SIGHUP's default action ends the process, and loading can take
        // seconds (scrypt, a passphrase prompt) while the unit already counts as started, so a
        // `systemctl reload` then would stop the signer for good (systemd does not restart a
        // service that SIGHUP ended). A SIGHUP received meanwhile is applied once serving.
        let hangup = {
            let _runtime = runtime.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .map_err(|e| Error::Internal(format!("cannot handle SIGHUP: {e}")))?
        };
        let settings = SignerConfig::load(&self.config)?;
        let (keys, memory_lock) = settings.unlock_keys()?;
        if let Some(error) = &memory_lock {
            tracing::warn!(%error, "a key's memory page could not be locked; it may be swapped out (grant CAP_IPC_LOCK or raise LimitMEMLOCK)");
        }
        runtime.block_on(serve(settings, keys, hangup))
    }
}

async fn serve(
    settings: Settings,
    keys: AssignedKeys,
    hangup: tokio::signal::unix::Signal,
) -> Result<(), Error> {
    let files = &settings.raw.tls;
    let ca = read_pem(&files.client_ca, false)?;
    let cert = read_pem(&files.cert, false)?;
    let key = read_pem(&files.key, true)?;
    let mut expiry_warnings = Vec::new();
    for (field, path, pem) in [
        ("[tls] client_ca", &files.client_ca, &ca),
        ("[tls] cert", &files.cert, &cert),
    ] {
        let notices = pki::expiry_notices(field, path, pem, time::OffsetDateTime::now_utc())
            .map_err(|reason| Error::Tls { reason })?;
        for notice in notices {
            tracing::warn!(
                event = notice.event(),
                file = %notice.path.display(),
                not_after = %pki::utc_text(notice.not_after),
                days_left = notice.days_left,
                "{notice}"
            );
            expiry_warnings.push(notice.to_string());
        }
    }
    let revocations = Revocations::new(settings.deny_list.clone());
    let (fingerprints, serials) = settings.deny_list.len();
    tracing::info!(
        fingerprints,
        serials,
        "revoked client certificates ([revoked]; reloaded on SIGHUP)"
    );
    let tls_config = tls::server_rustls_config_revoking(&ca, &cert, &key, &revocations)?;

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
        Arc::new(keys),
        nodes,
        build,
        store,
        audit.clone(),
    ));
    let held: Vec<String> = engine
        .policy()
        .accounts()
        .map(|a| format!("{} ({} mode): {}", a.account, a.mode, engine.keys_for(a)))
        .collect();
    let held = held.join("; ");
    let mut key_warnings = Vec::new();
    match engine.check_keys_on_chain().await {
        Ok(warnings) => {
            tracing::info!(keys = %held, "the held keys check out on chain for every policy account");
            for warning in warnings {
                tracing::warn!("{warning}");
                key_warnings.push(warning);
            }
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
                "listening on {address}; {held}; {} node(s), quorum {}",
                settings.raw.chain.nodes.len(),
                settings.quorum
            ),
            warning: [&settings.single_node_warning, &fd_warning, &reserve_warning]
                .into_iter()
                .flatten()
                .cloned()
                .chain(expiry_warnings)
                .chain(key_warnings)
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
    let connections = listener::Connections::new(limits).with_revocations(revocations.clone());
    let guard = GuardLayer::new(
        listen.rate_requests,
        Duration::from_secs(listen.rate_window_seconds),
        audit.clone(),
    )
    .with_connections(connections.clone())
    .with_revocations(revocations.clone());
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<SignerServer<SignerService>>().await;
    let maintenance = audit.spawn_maintenance();
    let reload = Reload {
        path: settings.path.clone(),
        started: settings.raw.clone(),
        revocations,
        connections: connections.clone(),
        audit: audit.clone(),
    }
    .spawn(hangup);
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
    reload.abort();
    // Refusals counted since the last summary are written before leaving.
    audit.flush_refusals().await;
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// What a SIGHUP reloads, and where it puts it.
struct Reload {
    path: PathBuf,
    /// The file as loaded at start: the sections a reload does not apply.
    started: SignerConfig,
    revocations: Revocations,
    connections: listener::Connections,
    audit: AuditLog,
}

impl Reload {
    /// Reloads on every SIGHUP until aborted.
    fn spawn(self, mut hangup: tokio::signal::unix::Signal) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                self.reload().await;
            }
        })
    }

    /// Loads and checks the whole file; puts its `[revoked]` list in force and closes the
    /// connections it revokes, or keeps the list in force when the file is invalid.
    async fn reload(&self) {
        let path = self.path.clone();
        let loaded = tokio::task::spawn_blocking(move || SignerConfig::load(&path))
            .await
            .unwrap_or_else(|e| Err(Error::Internal(format!("reload: {e}"))));
        let entry = match loaded {
            Ok(settings) => {
                let (fingerprints, serials) = settings.deny_list.len();
                let restart = changed_outside_revoked(&self.started, &settings.raw).then(|| {
                    "sections other than [revoked] changed: they take effect only at a restart"
                        .to_owned()
                });
                // New handshakes see the list before the open connections are closed, so a
                // closed client cannot slip back in.
                self.revocations.replace(settings.deny_list.clone());
                let closed = self.connections.close_revoked();
                tracing::info!(
                    event = "reload",
                    outcome = "applied",
                    fingerprints,
                    serials,
                    closed,
                    "SIGHUP: [revoked] reloaded from {}",
                    self.path.display()
                );
                if let Some(warning) = &restart {
                    tracing::warn!(event = "reload", "{warning}");
                }
                AuditEntry {
                    call: "reload",
                    client: "local".into(),
                    decision: "allowed",
                    detail: format!(
                        "[revoked] reloaded: {fingerprints} fingerprint(s), {serials} serial(s); \
                         {closed} open connection(s) of revoked certificates closed"
                    ),
                    warning: restart,
                    ..AuditEntry::default()
                }
            }
            Err(error) => {
                tracing::error!(
                    event = "reload",
                    outcome = "refused",
                    %error,
                    "SIGHUP: the configuration is invalid; the previous [revoked] list stays in force"
                );
                AuditEntry {
                    call: "reload",
                    client: "local".into(),
                    decision: "refused",
                    rule: Some("invalid-config".into()),
                    detail: format!("{error}; the previous [revoked] list stays in force"),
                    ..AuditEntry::default()
                }
            }
        };
        if let Err(error) = self.audit.record(entry).await {
            tracing::error!(%error, "cannot write the audit log");
        }
    }
}

/// Whether `new` differs from `old` anywhere but in `[revoked]`.
fn changed_outside_revoked(old: &SignerConfig, new: &SignerConfig) -> bool {
    // The raw sections hold paths and settings, no secrets; their Debug form compares them all.
    let without_revoked = |config: &SignerConfig| {
        let mut config = config.clone();
        config.revoked = RevokedConfig::default();
        format!("{config:?}")
    };
    without_revoked(old) != without_revoked(new)
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
