//! The gate in front of every gRPC call: names the client from its verified certificate,
//! applies the per-client rate limit, and audits what tonic refuses before the service runs
//! (a message over the size limit, a body that does not decode), so that every refusal counts
//! against the sender's rate and is audited: the first of each kind from a client in full, the
//! rest counted in one summary line per interval ([`AuditLog::refusal`]). It also tells the
//! listener which connection is busy, for the idle timeout, and refuses every request on a
//! connection whose certificate is revoked by the deny list in force (a reload closes those
//! connections; this covers a request racing it).

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use governor::{Quota, RateLimiter};
use tonic::Status;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};

use crate::audit::{AuditEntry, AuditLog};
use crate::listener::Connections;
use crate::revocation::Revocations;

type Limiter = RateLimiter<
    String,
    governor::state::keyed::HashMapStateStore<String>,
    governor::clock::DefaultClock,
>;

/// gRPC status codes tonic's decoder answers with before any handler runs.
const OUT_OF_RANGE: &str = "11";
const INTERNAL: &str = "13";

/// The client identity a connection's certificate carries, if any.
pub fn identity_of(extensions: &http::Extensions) -> Option<String> {
    let info = extensions.get::<TlsConnectInfo<TcpConnectInfo>>()?;
    let certs = info.peer_certs()?;
    crate::tls::client_identity(certs.first()?).ok()
}

/// Builds [`Guard`]s around the server's routes.
#[derive(Clone)]
pub struct GuardLayer {
    limiter: Arc<Limiter>,
    audit: AuditLog,
    connections: Option<Connections>,
    revocations: Option<Revocations>,
}

impl GuardLayer {
    /// Each client identity may make `requests` calls per `window` (health checks excepted).
    pub fn new(requests: u32, window: Duration, audit: AuditLog) -> Self {
        let burst = NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(window / burst.get())
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        GuardLayer {
            limiter: Arc::new(RateLimiter::hashmap(quota)),
            audit,
            connections: None,
            revocations: None,
        }
    }

    /// Reports each request's connection as busy to `connections` (for the idle timeout).
    pub fn with_connections(mut self, connections: Connections) -> Self {
        self.connections = Some(connections);
        self
    }

    /// Refuses requests whose client certificate the deny list in `revocations` holds.
    pub fn with_revocations(mut self, revocations: Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            limiter: Arc::clone(&self.limiter),
            audit: self.audit.clone(),
            connections: self.connections.clone(),
            revocations: self.revocations.clone(),
        }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    limiter: Arc<Limiter>,
    audit: AuditLog,
    connections: Option<Connections>,
    revocations: Option<Revocations>,
}

impl<S, B> Service<http::Request<B>> for Guard<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let client = identity_of(request.extensions()).unwrap_or_else(|| "unknown".into());
        let path = request.uri().path().to_owned();
        let audit = self.audit.clone();
        if let Some(why) = self.revoked(request.extensions()) {
            // Before the busy mark: a revoked client cannot keep its connection from idling out.
            return Box::pin(async move {
                refuse(
                    &audit,
                    &client,
                    &path,
                    "certificate-revoked",
                    &format!("the client certificate is revoked ({why})"),
                )
                .await;
                Ok(Status::unauthenticated("the client certificate is revoked").into_http())
            });
        }
        // Held until the answer is ready: the connection is not idle meanwhile.
        let busy = self.connections.as_ref().and_then(|connections| {
            let info = request
                .extensions()
                .get::<TlsConnectInfo<TcpConnectInfo>>()?;
            connections.request_started(info.get_ref().remote_addr()?)
        });
        if !path.starts_with("/grpc.health.") && self.limiter.check_key(&client).is_err() {
            return Box::pin(async move {
                let _busy = busy;
                refuse(
                    &audit,
                    &client,
                    &path,
                    "rate-limit",
                    "too many requests from this client",
                )
                .await;
                Ok(
                    Status::resource_exhausted("rate limit: too many requests from this client")
                        .into_http(),
                )
            });
        }
        // The service was made ready by `poll_ready`; take it and leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let _busy = busy;
            let response = inner.call(request).await?;
            let headers = response.headers();
            let code = headers.get("grpc-status").and_then(|v| v.to_str().ok());
            let message = headers
                .get("grpc-message")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let rule = match code {
                Some(OUT_OF_RANGE) => Some("request-too-large"),
                // Our own handlers answer INTERNAL with another message.
                Some(INTERNAL) if message.to_ascii_lowercase().contains("decode") => {
                    Some("malformed-request")
                }
                _ => None,
            };
            if let Some(rule) = rule {
                refuse(
                    &audit,
                    &client,
                    &path,
                    rule,
                    "refused before decoding the request",
                )
                .await;
            }
            Ok(response)
        })
    }
}

impl<S> Guard<S> {
    /// Why the request's client certificate is revoked, if it is.
    fn revoked(&self, extensions: &http::Extensions) -> Option<String> {
        let revocations = self.revocations.as_ref()?;
        let info = extensions.get::<TlsConnectInfo<TcpConnectInfo>>()?;
        let certs = info.peer_certs()?;
        revocations.current().revokes_der(certs.first()?)
    }
}

async fn refuse(audit: &AuditLog, client: &str, path: &str, rule: &str, detail: &str) {
    let entry = AuditEntry {
        call: call_name(path),
        client: client.to_owned(),
        decision: "refused",
        rule: Some(rule.to_owned()),
        detail: detail.to_owned(),
        ..AuditEntry::default()
    };
    match audit.refusal(entry, rule).await {
        Ok(true) => {
            tracing::warn!(%client, %path, rule, "refused (more of this kind from this client are counted in the audit log)")
        }
        Ok(false) => tracing::debug!(%client, %path, rule, "refused"),
        Err(error) => tracing::error!(%error, "cannot write the audit log"),
    }
}

/// The audit's name for a gRPC path.
fn call_name(path: &str) -> &'static str {
    match path.rsplit('/').next() {
        Some("SetSigningKey") => "set-signing-key",
        Some("DryRun") => "dry-run",
        Some("Status") => "status",
        _ => "grpc",
    }
}
