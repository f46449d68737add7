//! The TLS 1.3 accept loop: every TCP connection gets a bounded handshake; failures (no client
//! certificate, another CA, expired) are logged and audited, and only verified connections
//! reach tonic.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::audit::{AuditEntry, AuditLog};

/// Longest a client may take to finish the TLS handshake. A real client on a LAN needs a few
/// milliseconds; idle connections are cut quickly so they cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// Handshakes in flight at once. Past this, new connections are closed at once (never queued:
/// a queue would let idle connections lock out the monitor). Each pending handshake costs a
/// file descriptor and a few KiB; the limit stays under the default 1024 descriptors.
const MAX_CONCURRENT_HANDSHAKES: usize = 512;

/// Accepts TCP connections on `listener` forever, sending verified TLS streams to the returned
/// channel (for tonic's `serve_with_incoming`).
pub fn accept_tls(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    audit: AuditLog,
) -> mpsc::Receiver<Result<TlsStream<TcpStream>, std::io::Error>> {
    let (sender, receiver) = mpsc::channel(16);
    let acceptor = TlsAcceptor::from(config);
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                // Full: close this connection rather than queue it (logged, not audited, so a
                // flood cannot also flood the audit log).
                tracing::warn!(%peer, "too many TLS handshakes in flight; connection closed");
                drop(stream);
                continue;
            };
            let acceptor = acceptor.clone();
            let sender = sender.clone();
            let audit = audit.clone();
            tokio::spawn(async move {
                let _permit = permit;
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        // The server stopping closes the receiver; nothing to do then.
                        let _ = sender.send(Ok(tls)).await;
                    }
                    Ok(Err(error)) => refuse(&audit, peer, &error.to_string()).await,
                    Err(_) => refuse(&audit, peer, "handshake timed out").await,
                }
            });
        }
    });
    receiver
}

async fn refuse(audit: &AuditLog, peer: SocketAddr, reason: &str) {
    tracing::warn!(%peer, reason, "TLS handshake refused");
    let entry = AuditEntry {
        call: "tls-handshake",
        client: peer.to_string(),
        decision: "refused",
        rule: Some("mutual-tls".into()),
        detail: reason.to_owned(),
        ..AuditEntry::default()
    };
    if let Err(error) = audit.record(entry).await {
        tracing::error!(%error, "cannot write the audit log");
    }
}
