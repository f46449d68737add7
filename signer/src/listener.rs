//! The TLS 1.3 accept loop and the connection limits that keep the real client able to
//! connect under a flood.
//!
//! - **Handshakes** in flight are capped in total and per source address. A full table never
//!   turns a new connection away: the new one takes the slot of the connection that got least
//!   far (silent, then one whose bytes are not yet read, then one whose ClientHello is in),
//!   oldest first. Sockets left idle or sending junk cannot lock the monitor out: its
//!   ClientHello follows its connect at once, and is read as soon as it arrives. Bytes that
//!   cannot start a TLS ClientHello are refused at accept, without a slot. A connection gets
//!   `first_byte_timeout` to say anything and `handshake_timeout` to finish.
//! - **Open connections** are capped in total, per source address and per client identity;
//!   one over a cap is closed right after its handshake. A connection that carries no request
//!   for `idle_timeout` is closed (the guard tells which connection is busy); HTTP/2 PINGs
//!   (set on the tonic server) find dead peers.
//! - The caps bound the descriptors the listener can hold: [`Limits::fit_open_files`] raises
//!   the soft `RLIMIT_NOFILE` to what they need, or lowers them to fit, and says so.
//!
//! Refused handshakes and connections are audited as refusals: once in full per source and
//! kind, then counted ([`AuditLog::refusal`]). A revoked client certificate is one such
//! refused handshake (kind `certificate-revoked`, from [`crate::revocation`]); an open
//! connection whose certificate a reload revokes is closed ([`Connections::close_revoked`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};

use crate::audit::{AuditEntry, AuditLog};
use crate::config::ListenConfig;
use crate::revocation::{CertId, Revocations};

/// Descriptors kept outside the listener's caps: the listening socket, the audit log and its
/// reserve, the request store, stdio, the runtime's epoll and event descriptors, the HTTPS
/// connections to the nodes, DNS.
pub const FD_RESERVE: u64 = 64;

/// Concurrent HTTP/2 streams per connection (a client needs one or two).
pub const MAX_STREAMS_PER_CONNECTION: u32 = 16;

/// The listener's limits, checked by [`ListenConfig::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Handshakes in flight in total.
    pub max_handshakes: usize,
    /// Handshakes in flight per source address.
    pub max_handshakes_per_address: usize,
    /// Silence allowed before the first byte.
    pub first_byte_timeout: Duration,
    /// Time allowed for the whole handshake.
    pub handshake_timeout: Duration,
    /// Open connections in total.
    pub max_connections: usize,
    /// Open connections per source address.
    pub max_connections_per_address: usize,
    /// Open connections per client identity.
    pub max_connections_per_identity: usize,
    /// A connection without a request for this long is closed.
    pub idle_timeout: Duration,
}

impl Limits {
    /// The limits `[listen]` sets.
    pub fn from_config(listen: &ListenConfig) -> Self {
        Limits {
            max_handshakes: listen.max_handshakes,
            max_handshakes_per_address: listen.max_handshakes_per_address,
            first_byte_timeout: Duration::from_millis(listen.first_byte_timeout_ms),
            handshake_timeout: Duration::from_millis(listen.handshake_timeout_ms),
            max_connections: listen.max_connections,
            max_connections_per_address: listen.max_connections_per_address,
            max_connections_per_identity: listen.max_connections_per_identity,
            idle_timeout: Duration::from_secs(listen.idle_timeout_seconds),
        }
    }

    /// Descriptors the caps can take, [`FD_RESERVE`] included.
    pub fn fds_needed(&self) -> u64 {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        count(self.max_handshakes)
            .saturating_add(count(self.max_connections))
            .saturating_add(FD_RESERVE)
    }

    /// The limits scaled down to fit `open_files` descriptors (the same when they fit), with a
    /// warning saying what was lowered and what `LimitNOFILE=` would avoid it; an error when
    /// not even a few connections fit.
    pub fn fit(self, open_files: u64) -> Result<(Self, Option<String>), String> {
        let needed = self.fds_needed();
        if open_files >= needed {
            return Ok((self, None));
        }
        let available = usize::try_from(open_files.saturating_sub(FD_RESERVE)).unwrap_or(0);
        if available < 4 {
            return Err(format!(
                "the open-file limit ({open_files}) leaves no room for connections: the \
                 [listen] caps need {needed} descriptors ({} handshakes + {} connections + \
                 {FD_RESERVE} reserved); raise LimitNOFILE= (ulimit -n)",
                self.max_handshakes, self.max_connections
            ));
        }
        let max_handshakes = self.max_handshakes.min(available / 2);
        let max_connections = self.max_connections.min(available - max_handshakes);
        let fitted = Limits {
            max_handshakes,
            max_handshakes_per_address: self.max_handshakes_per_address.min(max_handshakes),
            max_connections,
            max_connections_per_address: self.max_connections_per_address.min(max_connections),
            max_connections_per_identity: self.max_connections_per_identity.min(max_connections),
            ..self
        };
        let warning = format!(
            "the open-file limit is {open_files}, below the {needed} descriptors the [listen] \
             caps need ({} handshakes + {} connections + {FD_RESERVE} reserved): serving with \
             at most {max_handshakes} handshakes and {max_connections} connections (per address \
             {}/{}, per identity {}); raise LimitNOFILE= to {needed} or more",
            self.max_handshakes,
            self.max_connections,
            fitted.max_handshakes_per_address,
            fitted.max_connections_per_address,
            fitted.max_connections_per_identity,
        );
        Ok((fitted, Some(warning)))
    }

    /// Raises the soft `RLIMIT_NOFILE` towards what the caps need (up to the hard limit), then
    /// [`Limits::fit`]s them to the result.
    pub fn fit_open_files(self) -> Result<(Self, Option<String>), String> {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
            .map_err(|e| format!("cannot read the open-file limit: {e}"))?;
        let needed = self.fds_needed();
        let mut limit = soft;
        if soft < needed {
            let raised = needed.min(hard);
            if raised > soft && setrlimit(Resource::RLIMIT_NOFILE, raised, hard).is_ok() {
                limit = raised;
            }
        }
        self.fit(limit)
    }
}

/// How busy one open connection is: requests in flight and when the last one ended. Also the
/// certificate it was admitted with, so that a later revocation can close it.
#[derive(Debug)]
pub struct Activity {
    active: AtomicUsize,
    last: Mutex<Instant>,
    certificate: Option<CertId>,
    /// Set when a reload revokes `certificate`; the connection then reads end of stream.
    revoked: AtomicBool,
    /// The connection's reader, woken to close it.
    reader: AtomicWaker,
}

impl Activity {
    fn new(certificate: Option<CertId>) -> Self {
        Activity {
            active: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
            certificate,
            revoked: AtomicBool::new(false),
            reader: AtomicWaker::new(),
        }
    }

    /// Whether the connection must close because its certificate was revoked (registers the
    /// reader's waker for a later revocation).
    fn revoked(&self, cx: &Context<'_>) -> bool {
        self.reader.register(cx.waker());
        self.revoked.load(Ordering::Acquire)
    }

    /// (requests in flight, end of the last one)
    fn snapshot(&self) -> (usize, Instant) {
        let last = *self.last.lock().unwrap_or_else(|p| p.into_inner());
        (self.active.load(Ordering::Acquire), last)
    }
}

/// A request in flight on a connection; ending it (drop) restarts the idle clock.
#[derive(Debug)]
pub struct ActiveRequest(Arc<Activity>);

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How far a handshake got: a full table evicts from the lowest stage up, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Nothing received yet.
    Silent,
    /// Bytes received (that can start a TLS record), not yet a whole ClientHello.
    Talking,
    /// The ClientHello is in; the server's answer is on its way.
    Hello,
}

#[derive(Debug)]
struct Pending {
    ip: IpAddr,
    started: Instant,
    stage: Stage,
    /// Dropped to evict it.
    _evict: oneshot::Sender<()>,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    handshakes: HashMap<u64, Pending>,
    handshakes_by_ip: HashMap<IpAddr, usize>,
    open: HashMap<SocketAddr, Arc<Activity>>,
    open_by_ip: HashMap<IpAddr, usize>,
    open_by_identity: HashMap<String, usize>,
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

/// Why a connection was refused: the audit rule, its kind and the detail.
#[derive(Debug)]
struct Refused {
    rule: &'static str,
    kind: &'static str,
    detail: String,
}

/// The table of handshakes and open connections, shared by the accept loop, the connections
/// and the guard.
#[derive(Clone, Debug)]
pub struct Connections {
    limits: Limits,
    registry: Arc<Mutex<Registry>>,
    /// The deny list in force (the handle the TLS verifier reads): a connection whose
    /// handshake was verified against an older list and that is admitted after a reload is
    /// refused here instead of staying open.
    revocations: Revocations,
}

impl Connections {
    /// An empty table enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Connections {
            limits,
            registry: Arc::default(),
            revocations: Revocations::default(),
        }
    }

    /// Checks admissions and [`Connections::close_revoked`] against `revocations`.
    pub fn with_revocations(mut self, revocations: Revocations) -> Self {
        self.revocations = revocations;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (handshakes in flight, open connections)
    pub fn counts(&self) -> (usize, usize) {
        let registry = self.lock();
        (registry.handshakes.len(), registry.open.len())
    }

    /// Takes a handshake slot for a connection from `ip`, evicting the oldest silent one (else
    /// the oldest) of the address or of everyone when full. The receiver fires on eviction.
    fn begin_handshake(&self, ip: IpAddr, stage: Stage) -> (u64, oneshot::Receiver<()>) {
        let mut registry = self.lock();
        let from_ip = registry.handshakes_by_ip.get(&ip).copied().unwrap_or(0);
        let victim = if from_ip >= self.limits.max_handshakes_per_address {
            oldest(&registry.handshakes, |p| p.ip == ip)
        } else if registry.handshakes.len() >= self.limits.max_handshakes {
            oldest(&registry.handshakes, |_| true)
        } else {
            None
        };
        if let Some(victim) = victim
            && let Some(evicted) = registry.handshakes.remove(&victim)
        {
            decrement(&mut registry.handshakes_by_ip, &evicted.ip);
            // Dropping `evicted` drops its sender: its task stops and closes the socket.
        }
        registry.next_id += 1;
        let id = registry.next_id;
        let (evict, evicted) = oneshot::channel();
        registry.handshakes.insert(
            id,
            Pending {
                ip,
                started: Instant::now(),
                stage,
                _evict: evict,
            },
        );
        *registry.handshakes_by_ip.entry(ip).or_default() += 1;
        (id, evicted)
    }

    fn advance(&self, id: u64, stage: Stage) {
        if let Some(pending) = self.lock().handshakes.get_mut(&id) {
            pending.stage = pending.stage.max(stage);
        }
    }

    fn end_handshake(&self, id: u64) {
        let mut registry = self.lock();
        if let Some(pending) = registry.handshakes.remove(&id) {
            decrement(&mut registry.handshakes_by_ip, &pending.ip);
        }
    }

    /// Admits a handshaken connection from `peer` presenting `identity` (with the certificate
    /// `certificate`), or says which cap it is over.
    fn admit(
        &self,
        peer: SocketAddr,
        identity: &str,
        certificate: Option<CertId>,
    ) -> Result<Ticket, Refused> {
        if let Some(why) = certificate
            .as_ref()
            .and_then(|id| self.revocations.current().revokes(id))
        {
            return Err(Refused {
                rule: "mutual-tls",
                kind: "certificate-revoked",
                detail: format!(
                    "connection from {peer} closed: its client certificate was revoked ({why}) \
                     while it was handshaking"
                ),
            });
        }
        let mut registry = self.lock();
        let limits = &self.limits;
        let refused = |kind, detail| {
            Err(Refused {
                rule: "connection-limit",
                kind,
                detail,
            })
        };
        if registry.open.len() >= limits.max_connections {
            return refused(
                "total",
                format!(
                    "the signer holds its maximum of {} open connections ([listen] \
                     max_connections); connection from {peer} closed",
                    limits.max_connections
                ),
            );
        }
        if registry.open_by_ip.get(&peer.ip()).copied().unwrap_or(0)
            >= limits.max_connections_per_address
        {
            return refused(
                "per-address",
                format!(
                    "{} already holds {} open connections ([listen] \
                     max_connections_per_address); connection from {peer} closed",
                    peer.ip(),
                    limits.max_connections_per_address
                ),
            );
        }
        if registry
            .open_by_identity
            .get(identity)
            .copied()
            .unwrap_or(0)
            >= limits.max_connections_per_identity
        {
            return refused(
                "per-identity",
                format!(
                    "this client already holds {} open connections ([listen] \
                     max_connections_per_identity); connection from {peer} closed",
                    limits.max_connections_per_identity
                ),
            );
        }
        let activity = Arc::new(Activity::new(certificate));
        registry.open.insert(peer, Arc::clone(&activity));
        *registry.open_by_ip.entry(peer.ip()).or_default() += 1;
        *registry
            .open_by_identity
            .entry(identity.to_owned())
            .or_default() += 1;
        Ok(Ticket {
            connections: self.clone(),
            peer,
            identity: identity.to_owned(),
            activity,
        })
    }

    /// Closes every open connection whose certificate the deny list now in force revokes (each
    /// reads end of stream at once; a request in flight on it is cut short); call it after
    /// [`Revocations::replace`]. Returns how many were closed.
    pub fn close_revoked(&self) -> usize {
        let deny = self.revocations.current();
        let registry = self.lock();
        let mut closed = 0;
        for activity in registry.open.values() {
            let revoked = activity
                .certificate
                .as_ref()
                .is_some_and(|id| deny.revokes(id).is_some());
            if revoked && !activity.revoked.swap(true, Ordering::AcqRel) {
                activity.reader.wake();
                closed += 1;
            }
        }
        closed
    }

    /// Marks a request in flight on the connection from `peer` (from the request's connect
    /// info); the connection is not idle until the returned guard drops.
    pub fn request_started(&self, peer: SocketAddr) -> Option<ActiveRequest> {
        let activity = Arc::clone(self.lock().open.get(&peer)?);
        activity.active.fetch_add(1, Ordering::AcqRel);
        Some(ActiveRequest(activity))
    }
}

/// The handshake matching `filter` that got least far, oldest first.
fn oldest(handshakes: &HashMap<u64, Pending>, filter: impl Fn(&Pending) -> bool) -> Option<u64> {
    handshakes
        .iter()
        .filter(|(_, p)| filter(p))
        .min_by_key(|(id, p)| (p.stage, p.started, **id))
        .map(|(id, _)| *id)
}

/// A handshake slot, given back on drop.
struct Slot {
    connections: Connections,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.end_handshake(self.id);
    }
}

/// An admitted connection's place in the table, given back on drop.
#[derive(Debug)]
struct Ticket {
    connections: Connections,
    peer: SocketAddr,
    identity: String,
    activity: Arc<Activity>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut registry = self.connections.lock();
        registry.open.remove(&self.peer);
        decrement(&mut registry.open_by_ip, &self.peer.ip());
        decrement(&mut registry.open_by_identity, &self.identity);
    }
}

/// A verified TLS connection as tonic serves it: reads end (the connection closes) once it has
/// carried no request for the idle timeout.
#[derive(Debug)]
pub struct Connection {
    inner: TlsStream<TcpStream>,
    ticket: Ticket,
    idle_timeout: Duration,
    idle: Pin<Box<Sleep>>,
    closed: bool,
}

impl Connection {
    fn new(inner: TlsStream<TcpStream>, ticket: Ticket, idle_timeout: Duration) -> Self {
        Connection {
            inner,
            ticket,
            idle_timeout,
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            closed: false,
        }
    }

    /// Whether the idle timeout has passed with no request in flight (registers the timer).
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.idle.as_mut().poll(cx).is_ready() {
            let (active, last) = self.ticket.activity.snapshot();
            let now = Instant::now();
            let deadline = if active > 0 {
                now + self.idle_timeout
            } else {
                last + self.idle_timeout
            };
            if deadline <= now {
                return true;
            }
            self.idle
                .as_mut()
                .reset(tokio::time::Instant::from_std(deadline));
        }
        false
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.closed && self.ticket.activity.revoked(cx) {
            self.closed = true;
            tracing::warn!(peer = %self.ticket.peer, client = %self.ticket.identity, "connection closed: its client certificate was revoked");
        }
        if !self.closed && self.idle_expired(cx) {
            self.closed = true;
            tracing::debug!(peer = %self.ticket.peer, client = %self.ticket.identity, "idle connection closed");
        }
        if self.closed {
            // End of stream: hyper closes the connection (idle: no request is in flight).
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl Connected for Connection {
    type ConnectInfo = TlsConnectInfo<TcpConnectInfo>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

/// Accepts TCP connections on `listener` forever, sending verified TLS connections admitted
/// by `connections` to the returned channel (for tonic's `serve_with_incoming`).
pub fn accept_tls(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    audit: AuditLog,
    connections: Connections,
) -> mpsc::Receiver<Result<Connection, std::io::Error>> {
    let (sender, receiver) = mpsc::channel(16);
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
            let _ = stream.set_nodelay(true);
            let Ok((stream, prefix)) = first_look(stream) else {
                continue;
            };
            if !may_start_client_hello(&prefix) {
                // Junk (plaintext HTTP, a bogus record): refused at once, without a slot.
                drop(stream);
                let entry = AuditEntry {
                    call: "tls-handshake",
                    client: peer.ip().to_string(),
                    decision: "refused",
                    rule: Some("mutual-tls".into()),
                    detail: format!("{peer}: sent bytes that do not start a TLS ClientHello"),
                    ..AuditEntry::default()
                };
                let audit = audit.clone();
                tokio::spawn(async move {
                    audit_refusal(&audit, entry, "not-tls", "TLS handshake refused").await;
                });
                continue;
            }
            let stage = if prefix.is_empty() {
                Stage::Silent
            } else {
                Stage::Talking
            };
            let (id, evicted) = connections.begin_handshake(peer.ip(), stage);
            let slot = Slot {
                connections: connections.clone(),
                id,
            };
            tokio::spawn(handshake(
                Arc::clone(&config),
                stream,
                peer,
                stage,
                slot,
                evicted,
                sender.clone(),
                audit.clone(),
            ));
        }
    });
    receiver
}

/// The first bytes the peer has sent already (at most 6; none if silent or closed), asked of
/// the kernel without consuming them and without waiting for the runtime to notice: a real
/// client's ClientHello follows its connect at once.
fn first_look(stream: TcpStream) -> std::io::Result<(TcpStream, Vec<u8>)> {
    let stream = stream.into_std()?;
    let mut prefix = [0u8; 6];
    let n = stream.peek(&mut prefix).unwrap_or(0);
    Ok((TcpStream::from_std(stream)?, prefix[..n].to_vec()))
}

/// Whether `prefix` can be the start of a TLS handshake record holding a ClientHello: type 22,
/// version 3.x, a length a plaintext record may have, handshake type 1.
fn may_start_client_hello(prefix: &[u8]) -> bool {
    let expected: [fn(u8) -> bool; 2] = [|b| b == 0x16, |b| b == 0x03];
    if prefix.iter().zip(expected).any(|(b, ok)| !ok(*b)) {
        return false;
    }
    if let [_, _, _, high, low, ..] = prefix {
        let length = u16::from_be_bytes([*high, *low]);
        if !(4..=16_384).contains(&length) {
            return false;
        }
    }
    prefix.get(5).is_none_or(|&kind| kind == 0x01)
}

#[allow(clippy::too_many_arguments)]
async fn handshake(
    config: Arc<ServerConfig>,
    stream: TcpStream,
    peer: SocketAddr,
    stage: Stage,
    mut slot: Slot,
    evicted: oneshot::Receiver<()>,
    sender: mpsc::Sender<Result<Connection, std::io::Error>>,
    audit: AuditLog,
) {
    let connections = slot.connections.clone();
    let limits = connections.limits();
    let outcome = negotiate(config, stream, peer, stage, &mut slot, evicted).await;
    drop(slot);
    let refused = match outcome {
        Ok(tls) => {
            let leaf = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first());
            let identity = leaf
                .and_then(|cert| crate::tls::client_identity(cert).ok())
                .unwrap_or_else(|| "unknown".into());
            let certificate = leaf.map(|cert| CertId::of(cert));
            match connections.admit(peer, &identity, certificate) {
                Ok(ticket) => {
                    let connection = Connection::new(tls, ticket, limits.idle_timeout);
                    // The server stopping closes the receiver; nothing to do then.
                    let _ = sender.send(Ok(connection)).await;
                    return;
                }
                Err(refused) => {
                    let entry = AuditEntry {
                        call: "connection",
                        client: identity,
                        decision: "refused",
                        rule: Some(refused.rule.into()),
                        detail: refused.detail,
                        ..AuditEntry::default()
                    };
                    audit_refusal(&audit, entry, refused.kind, "connection refused").await;
                    return;
                }
            }
        }
        Err(refused) => refused,
    };
    let entry = AuditEntry {
        call: "tls-handshake",
        client: peer.ip().to_string(),
        decision: "refused",
        rule: Some(refused.rule.into()),
        detail: refused.detail,
        ..AuditEntry::default()
    };
    audit_refusal(&audit, entry, refused.kind, "TLS handshake refused").await;
}

/// Audits a refusal and logs it: at warning level when it is written in full (the first of its
/// kind from this peer in a while), at debug level when it is only counted.
async fn audit_refusal(audit: &AuditLog, entry: AuditEntry, kind: &str, what: &str) {
    let (client, detail) = (entry.client.clone(), entry.detail.clone());
    match audit.refusal(entry, kind).await {
        Ok(true) => {
            tracing::warn!(%client, kind, %detail, "{what} (more of this kind from this peer are counted in the audit log)")
        }
        Ok(false) => tracing::debug!(%client, kind, %detail, "{what}"),
        Err(error) => tracing::error!(%error, "cannot write the audit log"),
    }
}

fn evicted_refusal(peer: SocketAddr, limits: &Limits) -> Refused {
    Refused {
        rule: "connection-limit",
        kind: "handshake-evicted",
        detail: format!(
            "TLS handshake from {peer} cut short: its slot went to a newer connection \
             ([listen] max_handshakes {}, per address {})",
            limits.max_handshakes, limits.max_handshakes_per_address
        ),
    }
}

/// Waits (bounded) for the first byte, then for the handshake to finish (bounded), unless the
/// slot is taken by a newer connection first. A silent connection told to make room gets one
/// last look at the kernel: if its first byte is there after all, it takes a new slot as one
/// that talks (the runtime may simply not have noticed yet).
async fn negotiate(
    config: Arc<ServerConfig>,
    mut stream: TcpStream,
    peer: SocketAddr,
    stage: Stage,
    slot: &mut Slot,
    mut evicted: oneshot::Receiver<()>,
) -> Result<TlsStream<TcpStream>, Refused> {
    let limits = slot.connections.limits();
    let started = Instant::now();
    let timed_out = |kind, what: String| Refused {
        rule: "mutual-tls",
        kind,
        detail: format!("{peer}: {what}"),
    };
    if stage == Stage::Silent {
        let deadline = tokio::time::Instant::now() + limits.first_byte_timeout;
        tokio::select! {
            biased;
            ready = stream.readable() => {
                ready.map_err(|error| handshake_error(peer, &error))?;
                slot.connections.advance(slot.id, Stage::Talking);
            }
            _ = &mut evicted => {
                let (looked, prefix) =
                    first_look(stream).map_err(|error| handshake_error(peer, &error))?;
                if prefix.is_empty() || !may_start_client_hello(&prefix) {
                    return Err(evicted_refusal(peer, &limits));
                }
                stream = looked;
                let (id, again) = slot.connections.begin_handshake(peer.ip(), Stage::Talking);
                slot.id = id;
                evicted = again;
            }
            () = tokio::time::sleep_until(deadline) => {
                return Err(timed_out(
                    "no-first-byte",
                    format!(
                        "sent nothing within {} ms of connecting",
                        limits.first_byte_timeout.as_millis()
                    ),
                ));
            }
        }
    }
    let deadline = tokio::time::Instant::from_std(started + limits.handshake_timeout);
    let connections = slot.connections.clone();
    let id = slot.id;
    let accept = async move {
        let hello = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
        connections.advance(id, Stage::Hello);
        hello.into_stream(config).await
    };
    tokio::select! {
        _ = evicted => Err(evicted_refusal(peer, &limits)),
        accepted = tokio::time::timeout_at(deadline, accept) => match accepted {
            Ok(Ok(tls)) => Ok(tls),
            Ok(Err(error)) => Err(handshake_error(peer, &error)),
            Err(_) => Err(timed_out(
                "timeout",
                format!(
                    "handshake not finished within {} ms",
                    limits.handshake_timeout.as_millis()
                ),
            )),
        },
    }
}

/// A failed handshake as a refusal, with a kind that does not vary with times or names.
fn handshake_error(peer: SocketAddr, error: &std::io::Error) -> Refused {
    use rustls::{CertificateError, Error as Tls};
    let tls = error.get_ref().and_then(|e| e.downcast_ref::<Tls>());
    let kind = match tls {
        Some(Tls::NoCertificatesPresented) => "no-certificate",
        Some(Tls::InvalidCertificate(cert)) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificate-expired"
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificate-not-yet-valid"
            }
            CertificateError::Revoked => "certificate-revoked",
            CertificateError::UnknownIssuer => "certificate-unknown-issuer",
            _ => "certificate-invalid",
        },
        Some(Tls::AlertReceived(_)) => "alert-received",
        Some(Tls::PeerIncompatible(_)) => "incompatible",
        Some(_) => "protocol-error",
        None => match error.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe => "closed",
            _ => "io-error",
        },
    };
    let detail = if kind == "certificate-revoked" {
        format!("{peer}: {error} (its client certificate is on the [revoked] list)")
    } else {
        format!("{peer}: {error}")
    };
    Refused {
        rule: "mutual-tls",
        kind,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::from_config(&ListenConfig::default())
    }

    #[test]
    fn defaults_fit_in_a_thousand_descriptors_and_are_lowered_to_fit_fewer() {
        let defaults = limits();
        assert_eq!(defaults.fds_needed(), 128 + 128 + FD_RESERVE);
        assert!(matches!(defaults.fit(1024), Ok((l, None)) if l == defaults));
        let (fitted, warning) = defaults.fit(300).unwrap_or_else(|e| panic!("{e}"));
        assert!(fitted.fds_needed() <= 300, "{fitted:?}");
        assert!(fitted.max_connections_per_identity >= 1);
        assert!(fitted.max_handshakes_per_address <= fitted.max_handshakes);
        assert!(
            warning.is_some_and(|w| w.contains("LimitNOFILE= to 320")),
            "{fitted:?}"
        );
        assert!(defaults.fit(FD_RESERVE + 2).is_err());
    }

    #[tokio::test]
    async fn a_full_handshake_table_evicts_the_oldest_silent_connection() {
        let connections = Connections::new(Limits {
            max_handshakes: 3,
            max_handshakes_per_address: 2,
            ..limits()
        });
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let (first, mut first_evicted) = connections.begin_handshake(a, Stage::Silent);
        connections.advance(first, Stage::Hello);
        let (_, mut second_evicted) = connections.begin_handshake(a, Stage::Silent);
        // `a` is at its cap: its silent connection goes, not the one that talks.
        let (_, mut third_evicted) = connections.begin_handshake(a, Stage::Silent);
        assert!(matches!(
            second_evicted.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert!(matches!(
            first_evicted.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
        // Everyone's cap: the oldest silent one anywhere goes.
        let (_, _b1) = connections.begin_handshake(b, Stage::Silent);
        assert!(matches!(
            third_evicted.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
        let (_, _b2) = connections.begin_handshake(b, Stage::Silent);
        assert!(matches!(
            third_evicted.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert_eq!(connections.counts(), (3, 0));
        connections.end_handshake(first);
        assert_eq!(connections.counts(), (2, 0));
    }

    #[test]
    fn only_what_can_start_a_client_hello_gets_a_handshake_slot() {
        for ok in [
            &[][..],
            &[0x16],
            &[0x16, 0x03, 0x01],
            &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01],
        ] {
            assert!(may_start_client_hello(ok), "{ok:?}");
        }
        for junk in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"PRI * HTTP/2.0",
            &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01],
            &[0x16, 0x03, 0x01, 0x00, 0x00, 0x01],
            &[0x16, 0x03, 0x01, 0x02, 0x00, 0x02],
            &[0x17, 0x03, 0x03],
        ] {
            assert!(!may_start_client_hello(junk), "{junk:?}");
        }
    }

    #[test]
    fn open_connections_are_capped_per_identity_address_and_in_total() {
        let connections = Connections::new(Limits {
            max_connections: 4,
            max_connections_per_address: 3,
            max_connections_per_identity: 2,
            ..limits()
        });
        let peer = |ip: u8, port| SocketAddr::from(([10, 0, 0, ip], port));
        let mut held = Vec::new();
        for port in 1..=2 {
            held.push(connections.admit(peer(1, port), "spiffe://vwf/ops", None));
        }
        let third = connections.admit(peer(1, 3), "spiffe://vwf/ops", None);
        assert!(
            matches!(&third, Err(r) if r.kind == "per-identity"),
            "{third:?}"
        );
        held.push(connections.admit(peer(1, 4), "spiffe://vwf/monitor", None));
        let address = connections.admit(peer(1, 5), "spiffe://vwf/monitor", None);
        assert!(
            matches!(&address, Err(r) if r.kind == "per-address"),
            "{address:?}"
        );
        held.push(connections.admit(peer(2, 1), "spiffe://vwf/monitor", None));
        let total = connections.admit(peer(3, 1), "spiffe://vwf/other", None);
        assert!(matches!(&total, Err(r) if r.kind == "total"), "{total:?}");
        assert!(held.iter().all(Result::is_ok));
        assert_eq!(connections.counts(), (0, 4));
        // Closing one gives its place back.
        held.truncate(1);
        assert_eq!(connections.counts(), (0, 1));
        assert!(
            connections
                .admit(peer(1, 6), "spiffe://vwf/ops", None)
                .is_ok()
        );
    }

    #[test]
    fn a_revocation_closes_the_open_connections_of_that_certificate() -> Result<(), String> {
        use crate::revocation::{Fingerprint, RevokedConfig};
        let revocations = Revocations::default();
        let connections = Connections::new(limits()).with_revocations(revocations.clone());
        let id = |byte: u8| -> Result<CertId, String> {
            Ok(CertId {
                fingerprint: Fingerprint::parse(&format!("{byte:02x}").repeat(32))?,
                serial: None,
            })
        };
        let peer = |port| SocketAddr::from(([10, 0, 0, 1], port));
        let revoked = connections.admit(peer(1), "spiffe://vwf/old", Some(id(1)?));
        let kept = connections.admit(peer(2), "spiffe://vwf/monitor", Some(id(2)?));
        let (Ok(revoked), Ok(kept)) = (revoked, kept) else {
            return Err("not admitted".into());
        };
        let deny = RevokedConfig {
            fingerprints: vec![id(1)?.fingerprint.to_string()],
            serials: Vec::new(),
        }
        .build()?;
        revocations.replace(deny);
        assert_eq!(connections.close_revoked(), 1);
        assert!(revoked.activity.revoked.load(Ordering::Acquire));
        assert!(!kept.activity.revoked.load(Ordering::Acquire));
        // Already closing: not counted twice.
        assert_eq!(connections.close_revoked(), 0);
        Ok(())
    }

    /// A reload racing a handshake: the handshake was verified against the old list, the
    /// reload closed the open connections, then the connection is admitted. It must not stay
    /// open (nor take a place in the caps) with its revoked certificate.
    #[test]
    fn a_connection_verified_before_a_revocation_and_admitted_after_it_is_refused()
    -> Result<(), String> {
        use crate::revocation::{Fingerprint, RevokedConfig, Serial};
        let revocations = Revocations::default();
        let connections = Connections::new(limits()).with_revocations(revocations.clone());
        let id = |byte: u8| -> Result<CertId, String> {
            Ok(CertId {
                fingerprint: Fingerprint::parse(&format!("{byte:02x}").repeat(32))?,
                serial: Some(Serial::parse(&format!("{byte:02x}"))?),
            })
        };
        let peer = |port| SocketAddr::from(([10, 0, 0, 1], port));
        let deny = RevokedConfig {
            fingerprints: Vec::new(),
            serials: vec!["01".into()],
        }
        .build()?;
        revocations.replace(deny);
        assert_eq!(connections.close_revoked(), 0);
        let late = connections.admit(peer(1), "spiffe://vwf/old", Some(id(1)?));
        assert!(
            matches!(&late, Err(r) if r.kind == "certificate-revoked" && r.rule == "mutual-tls"),
            "{late:?}"
        );
        assert_eq!(connections.counts(), (0, 0));
        let other = connections.admit(peer(2), "spiffe://vwf/monitor", Some(id(2)?));
        assert!(other.is_ok(), "{other:?}");
        // A later list without it lets it in again.
        revocations.replace(crate::revocation::DenyList::default());
        assert_eq!(connections.close_revoked(), 0);
        let again = connections.admit(peer(3), "spiffe://vwf/old", Some(id(1)?));
        assert!(again.is_ok(), "{again:?}");
        Ok(())
    }

    #[test]
    fn requests_keep_a_connection_busy() {
        let connections = Connections::new(limits());
        let peer = SocketAddr::from(([10, 0, 0, 1], 1));
        let ticket = connections.admit(peer, "spiffe://vwf/monitor", None);
        let Ok(ticket) = ticket else {
            panic!("not admitted");
        };
        let request = connections.request_started(peer);
        assert_eq!(ticket.activity.snapshot().0, 1);
        drop(request);
        assert_eq!(ticket.activity.snapshot().0, 0);
        assert!(
            connections
                .request_started(SocketAddr::from(([10, 0, 0, 9], 1)))
                .is_none()
        );
    }
}
