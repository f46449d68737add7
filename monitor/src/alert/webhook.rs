//! [`WebhookSink`]: alerts as an HTTP POST of JSON (reqwest, rustls with the ring provider).
//!
//! Kinds and bodies ([`payload`]): `json` posts `{source, kind, severity, title, body, time}`;
//! `slack` posts `{"text"}`; `discord` posts `{"content"}`; `telegram` posts
//! `{"chat_id", "text"}` to `<api_base>/bot<TOKEN>/sendMessage`. A Slack or Discord webhook URL
//! and a Telegram bot token are secrets, so they are read from 0600 files; none of them appears
//! in logs, errors or `Debug` output. Plain `http://` is accepted only for loopback hosts.
//!
//! ```toml
//! [[alerts.webhook]]
//! kind = "slack"                      # or "discord", "json" (url_file or url)
//! url_file = "/etc/vwf/slack-url"     # 0600, holds https://hooks.slack.com/services/...
//!
//! [[alerts.webhook]]
//! kind = "telegram"
//! token_file = "/etc/vwf/telegram-token"   # 0600
//! chat_id = "-1001234567890"
//! ```

mod config;
mod payload;

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

pub use config::{RawWebhook, WebhookKind};
pub use payload::payload;

use super::sinks::{SinkConfigError, error_chain};
use super::{Alert, AlertError, AlertSink, render};
use config::Target;

/// Checks `raw` and builds its sink (no network I/O). Relative paths are taken from `base`.
pub fn build(raw: &RawWebhook, base: &Path) -> Result<Box<dyn AlertSink>, SinkConfigError> {
    Ok(Box::new(WebhookSink::new(raw, base)?))
}

/// Posts each alert to one webhook.
pub struct WebhookSink {
    name: String,
    kind: WebhookKind,
    /// The full URL, token included.
    url: SecretString,
    /// A description of the target safe to show: scheme, host and port only.
    shown: String,
    /// Secret strings (URL, its path, token) scrubbed from error text.
    scrub: Vec<SecretString>,
    chat_id: Option<String>,
    http: reqwest::Client,
    timeout: Duration,
    retries: u32,
}

impl fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("target", &self.shown)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// Checks `raw`, reads its secret file and sets up the HTTP client; see [`build`].
    pub fn new(raw: &RawWebhook, base: &Path) -> Result<Self, SinkConfigError> {
        let kind = format!("{:?}", raw.kind).to_lowercase();
        let name = raw
            .name
            .clone()
            .unwrap_or_else(|| format!("webhook:{kind}"));
        let Target {
            url,
            shown,
            scrub,
            chat_id,
        } = config::target(raw, base)?;
        let timeout = Duration::from_secs(raw.timeout_seconds);
        let http = client(timeout).map_err(|e| {
            let message = format!("HTTP client setup: {}", error_chain(&*e));
            SinkConfigError::new("kind", message, "report this as a bug")
        })?;
        Ok(WebhookSink {
            name,
            kind: raw.kind,
            url,
            shown,
            scrub,
            chat_id,
            http,
            timeout,
            retries: raw.retries,
        })
    }

    fn error(&self, message: String) -> AlertError {
        let secrets: Vec<&str> = self.scrub.iter().map(|s| s.expose_secret()).collect();
        AlertError {
            sink: self.name.clone(),
            message: render::scrub(&message, &secrets),
        }
    }

    /// One POST: `Ok`, or the error text and whether another attempt may help.
    async fn post(&self, body: &serde_json::Value) -> Result<(), (String, bool)> {
        let request = self
            .http
            .post(self.url.expose_secret())
            .json(body)
            .timeout(self.timeout);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Err((
                    format!("no answer within {} s", self.timeout.as_secs()),
                    true,
                ));
            }
            Err(e) => return Err((error_chain(&e.without_url()), true)),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let retry = status.is_server_error()
            || matches!(
                status,
                StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
            );
        Err((
            format!("HTTP {status}: {}", render::truncate(text.trim(), 200)),
            retry,
        ))
    }

    async fn deliver(&self, alert: &Alert) -> Result<(), AlertError> {
        let body = payload(self.kind, alert, self.chat_id.as_deref());
        let mut delay = Duration::from_millis(250);
        for attempt in 0..=self.retries {
            match self.post(&body).await {
                Ok(()) => return Ok(()),
                Err((text, retry)) if retry && attempt < self.retries => {
                    tracing::warn!(sink = %self.name, cause = %self.error(text), "webhook not delivered; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err((text, _)) => {
                    return Err(self.error(format!(
                        "{}: {text} (after {} attempt(s))",
                        self.shown,
                        attempt + 1
                    )));
                }
            }
        }
        Err(self.error(format!("{}: not delivered", self.shown)))
    }
}

impl AlertSink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(
        &'a self,
        alert: &'a Alert,
    ) -> Pin<Box<dyn Future<Output = Result<(), AlertError>> + Send + 'a>> {
        Box::pin(self.deliver(alert))
    }
}

/// The HTTP client: rustls with the ring provider and the webpki roots, set up explicitly so
/// nothing depends on a process-wide default provider (as `vwf_shared`'s RPC transport does).
fn client(timeout: Duration) -> Result<reqwest::Client, Box<dyn std::error::Error + Send + Sync>> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(timeout)
        // A redirect would re-send the body elsewhere; report it as an HTTP status instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("vwf-monitor/", env!("CARGO_PKG_VERSION")))
        .build()?)
}
