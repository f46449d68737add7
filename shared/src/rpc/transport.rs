//! One HTTP POST per call (or per batch, see `batch`): TLS setup, timeout, size cap, envelope
//! checks and read retries.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use reqwest::{StatusCode, Url};
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::debug;

use super::error::{CallSite, RpcError};
use super::node_error::{MAX_ERROR_TEXT, NodeError, one_line, summarize, truncate};
use super::style::{Api, ApiStyle};

/// Limits and retry policy of a [`NodeClient`](super::NodeClient).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Longest wait for a whole call, connect to last body byte. Default 5 s.
    pub timeout: Duration,
    /// Longest wait for `broadcast_transaction_synchronous`, which answers only once the
    /// transaction is in a block (or expired). Default 60 s.
    pub synchronous_broadcast_timeout: Duration,
    /// Largest response body accepted, in bytes; larger bodies are cut off. Default 4 MiB.
    pub max_response_bytes: usize,
    /// How many times a failed read is sent again (connect failures, timeouts, HTTP 408/429/5xx,
    /// and passing node errors: jussi timeouts and upstream errors, a database lock; see
    /// [`RpcError::is_retryable`]). Broadcasts are never retried by the client. Default 2.
    pub read_retries: u32,
    /// Wait before the first read retry; doubles after each. Default 200 ms.
    pub retry_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(5),
            synchronous_broadcast_timeout: Duration::from_secs(60),
            max_response_bytes: 4 * 1024 * 1024,
            read_retries: 2,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// The HTTP side of a client: one node, one connection pool. Credentials in the URL are sent as
/// HTTP basic auth by reqwest and never shown (`Debug` prints the stripped URL only).
pub(crate) struct Transport {
    http: reqwest::Client,
    url: Url,
    /// The URL without credentials, for errors and logs.
    shown: String,
    options: ClientOptions,
    pub(super) next_id: AtomicU64,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("url", &self.shown)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Checks the URL and builds the HTTP client.
    pub(crate) fn new(url: &str, options: ClientOptions) -> Result<Self, RpcError> {
        let parsed = Url::parse(url).map_err(|e| RpcError::InvalidUrl {
            url: redact_userinfo(url),
            reason: e.to_string(),
        })?;
        let mut shown = parsed.clone();
        // Both setters fail only for URLs that cannot have credentials, which hold none.
        let _ = shown.set_password(None);
        let _ = shown.set_username("");
        let shown = shown.to_string();
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(RpcError::InvalidUrl {
                url: shown,
                reason: "the scheme must be http or https".into(),
            });
        }
        Ok(Transport {
            http: http_client(&options, &shown)?,
            url: parsed,
            shown,
            options,
            next_id: AtomicU64::new(1),
        })
    }

    /// The node URL without credentials.
    pub(crate) fn url(&self) -> &str {
        &self.shown
    }

    pub(crate) fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub(crate) fn site(&self, style: ApiStyle, api: Api, method: &str) -> CallSite {
        CallSite {
            url: self.shown.clone(),
            method: style.method_name(api, method),
        }
    }

    /// A read: sent again with backoff while the error [`is_retryable`](RpcError::is_retryable).
    pub(crate) async fn read(
        &self,
        style: ApiStyle,
        api: Api,
        method: &str,
        args: &[Box<RawValue>],
    ) -> Result<Value, RpcError> {
        let mut delay = self.options.retry_backoff;
        let mut retries_left = self.options.read_retries;
        loop {
            match self
                .send_once(style, api, method, args, self.options.timeout)
                .await
            {
                Err(e) if retries_left > 0 && e.is_retryable() => {
                    debug!(node = %self.shown, method, error = %e, ?delay, "rpc read retry");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    retries_left -= 1;
                }
                result => return result,
            }
        }
    }

    /// Exactly one POST, answered within `timeout`.
    pub(crate) async fn send_once(
        &self,
        style: ApiStyle,
        api: Api,
        method: &str,
        args: &[Box<RawValue>],
        timeout: Duration,
    ) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let at = self.site(style, api, method);
        let body = style
            .body(id, api, method, args)
            .map_err(|e| RpcError::Request {
                at: at.clone(),
                reason: e.to_string(),
            })?;
        let started = Instant::now();
        let outcome = match tokio::time::timeout(timeout, self.post(body, &at)).await {
            Ok(posted) => posted.and_then(|(status, bytes)| envelope(status, &bytes, id, &at)),
            Err(_) => Err(RpcError::Timeout {
                at: at.clone(),
                after: timeout,
            }),
        };
        debug!(
            node = %self.shown,
            method = %at.method,
            id,
            latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ok = outcome.is_ok(),
            "rpc call"
        );
        outcome
    }

    /// Sends the body and reads the answer up to the size cap.
    pub(super) async fn post(
        &self,
        body: String,
        at: &CallSite,
    ) -> Result<(StatusCode, Vec<u8>), RpcError> {
        let connect = |source| RpcError::Connect {
            at: at.clone(),
            source,
        };
        let too_large = || RpcError::BodyTooLarge {
            at: at.clone(),
            limit: self.options.max_response_bytes,
        };
        let mut response = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(connect)?;
        let limit = self.options.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(too_large());
        }
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(connect)? {
            if bytes.len().saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }
}

/// A URL that did not parse, with anything between `://` and the last `@` hidden: it may be a
/// password.
fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => format!("{}://***{}", &url[..start], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Builds the reqwest client with an explicit rustls config on the ring provider, so the library
/// never depends on (or installs) a process-wide rustls provider.
fn http_client(options: &ClientOptions, url: &str) -> Result<reqwest::Client, RpcError> {
    let setup = |source: Box<dyn std::error::Error + Send + Sync>| RpcError::ClientSetup {
        url: url.to_owned(),
        source,
    };
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| setup(Box::new(e)))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    // JSON-RPC nodes (steemd behind nginx) speak HTTP/1.1; keep ALPN to what we test.
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(options.timeout)
        // Shorter than nginx's 75 s keep-alive, so a pooled connection is not reused just as the
        // server closes it (which would fail a broadcast that the client does not retry).
        .pool_idle_timeout(Duration::from_secs(30))
        // A redirect would turn the POST into a GET; report it as an HTTP status instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("vit-witness-failover/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| setup(Box::new(e)))
}

/// Checks a JSON-RPC response (SPEC §7.1) and returns its `result`.
fn envelope(status: StatusCode, bytes: &[u8], id: u64, at: &CallSite) -> Result<Value, RpcError> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) if !status.is_success() => return Err(http_status_error(status, bytes, at)),
        Err(e) => {
            return Err(RpcError::MalformedResponse {
                at: at.clone(),
                reason: format!("not JSON: {e}"),
            });
        }
    };
    answer(status, value, bytes, id, at)
}

/// A non-success HTTP status, with the body in one line (an HTML error page runs over many).
pub(super) fn http_status_error(status: StatusCode, bytes: &[u8], at: &CallSite) -> RpcError {
    RpcError::HttpStatus {
        at: at.clone(),
        status: status.as_u16(),
        body: truncate(&one_line(&String::from_utf8_lossy(bytes)), MAX_ERROR_TEXT),
    }
}

/// Checks one parsed JSON-RPC response object (a whole answer, or one element of a batch
/// answer) for request `id` and returns its `result`; `bytes` is the whole body, for errors.
pub(super) fn answer(
    status: StatusCode,
    value: Value,
    bytes: &[u8],
    id: u64,
    at: &CallSite,
) -> Result<Value, RpcError> {
    let http_status = || http_status_error(status, bytes, at);
    let malformed = |reason: String| RpcError::MalformedResponse {
        at: at.clone(),
        reason,
    };
    let Value::Object(mut object) = value else {
        return Err(if status.is_success() {
            malformed("not a JSON object".into())
        } else {
            http_status()
        });
    };
    let received = object.get("id").cloned().unwrap_or(Value::Null);
    let error = object.remove("error").filter(|e| !e.is_null());
    // A node that could not read the request answers with a null id; its error says more.
    if received.as_u64() != Some(id) && !(received.is_null() && error.is_some()) {
        return Err(RpcError::IdMismatch {
            at: at.clone(),
            sent: id,
            received: received.to_string(),
        });
    }
    if let Some(error) = error {
        return Err(node_error(&error, at));
    }
    if !status.is_success() {
        return Err(http_status());
    }
    object
        .remove("result")
        .ok_or_else(|| malformed("neither result nor error".into()))
}

/// Maps a JSON-RPC `error` member. The kind comes from `message` and `data` together (0.19 puts
/// the cause below a generic first line of `message`; appbase puts the exception name in `data`);
/// the error shows one line, and the whole member goes to the `debug` log.
pub(super) fn node_error(error: &Value, at: &CallSite) -> RpcError {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = match error.get("message") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let data = error.get("data").filter(|d| !d.is_null());
    let full = match data {
        None => message.clone(),
        Some(Value::String(s)) => format!("{message}\n{s}"),
        Some(other) => format!("{message}\n{other}"),
    };
    let detail = summarize(&message, data);
    debug!(node = %at.url, method = %at.method, code, error = %error, "rpc node error");
    RpcError::Node {
        at: at.clone(),
        code,
        kind: NodeError::classify_with_summary(&full, &detail),
        detail,
    }
}
