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

mod payload;

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use payload::payload;

use super::sinks::{SinkConfigError, error_chain, is_loopback, read_secret, resolve};
use super::{Alert, AlertError, AlertSink, render};

/// Where and in which format a webhook posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookKind {
    /// Generic JSON: `{source, kind, severity, title, body, time}`.
    Json,
    /// Slack incoming webhook: `{"text"}`.
    Slack,
    /// Discord webhook: `{"content"}` (cut to 2000 characters).
    Discord,
    /// Telegram Bot API `sendMessage`: `{"chat_id", "text"}`.
    Telegram,
}

/// One `[[alerts.webhook]]` section, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// `"json"`, `"slack"`, `"discord"` or `"telegram"`.
    pub kind: WebhookKind,
    /// Name in logs and `test-alert` output. Default `webhook:<kind>`.
    pub name: Option<String>,
    /// File holding the webhook URL on one line, mode 0600 (`json`, `slack`, `discord`).
    pub url_file: Option<String>,
    /// The URL inline, for a `json` receiver whose URL holds no secret. Optional.
    pub url: Option<String>,
    /// File holding the bot token on one line, mode 0600 (`telegram`).
    pub token_file: Option<String>,
    /// Target chat id or `@channel` (`telegram`), as a string.
    pub chat_id: Option<String>,
    /// Bot API base URL (`telegram`). Default `https://api.telegram.org`.
    pub api_base: Option<String>,
    /// Longest wait for one POST, connect to response, seconds. Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Further attempts after a network error, a timeout or HTTP 408/429/5xx. Default 2.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

/// Checks `raw` and builds its sink (no network I/O). Relative paths are taken from `base`.
pub fn build(raw: &RawWebhook, base: &Path) -> Result<Box<dyn AlertSink>, SinkConfigError> {
    Ok(Box::new(WebhookSink::new(raw, base)?))
}

/// Posts each alert to one webhook.
pub struct WebhookSink {
    name: String,
    kind: WebhookKind,
    /// The full URL, token included.
    target: SecretString,
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
        use WebhookKind::*;
        let name = raw
            .name
            .clone()
            .unwrap_or_else(|| format!("webhook:{}", format!("{:?}", raw.kind).to_lowercase()));
        let unused = |field: &str| {
            SinkConfigError::new(
                field,
                format!("is not used by kind {:?}", raw.kind),
                "remove it",
            )
        };
        let is_telegram = raw.kind == Telegram;
        for (field, set) in [
            ("token_file", raw.token_file.is_some()),
            ("chat_id", raw.chat_id.is_some()),
            ("api_base", raw.api_base.is_some()),
        ] {
            if set && !is_telegram {
                return Err(unused(field));
            }
        }
        if raw.timeout_seconds == 0 || raw.retries > 10 {
            return Err(SinkConfigError::new(
                "timeout_seconds / retries",
                "timeout must be positive and retries at most 10",
                "remove them for the defaults 10 / 2",
            ));
        }
        let (target, token, chat_id) = match (raw.kind, &raw.url_file, &raw.url) {
            (Telegram, None, None) => {
                let file = raw.token_file.as_deref().ok_or_else(|| {
                    SinkConfigError::new(
                        "token_file",
                        "missing",
                        "point it at a 0600 file holding the bot token",
                    )
                })?;
                let token = read_secret(&resolve(base, file), "token_file")?;
                let chat_id = raw.chat_id.clone().filter(|c| !c.trim().is_empty());
                let chat_id = chat_id.ok_or_else(|| {
                    SinkConfigError::new(
                        "chat_id",
                        "missing",
                        "set chat_id = \"-100...\" or \"@channel\"",
                    )
                })?;
                let api = raw
                    .api_base
                    .as_deref()
                    .unwrap_or("https://api.telegram.org")
                    .trim_end_matches('/');
                check_url(api, "api_base", false)?;
                let url =
                    SecretString::from(format!("{api}/bot{}/sendMessage", token.expose_secret()));
                (url, Some(token), Some(chat_id))
            }
            (Telegram, _, _) => return Err(unused("url_file / url")),
            (Json, None, Some(url)) => (SecretString::from(url.trim()), None, None),
            (_, Some(file), None) => (read_secret(&resolve(base, file), "url_file")?, None, None),
            (Json, _, _) => {
                return Err(SinkConfigError::new(
                    "url_file",
                    "set exactly one of url_file and url",
                    "use url_file when the URL holds a secret",
                ));
            }
            (_, _, Some(_)) => {
                return Err(SinkConfigError::new(
                    "url",
                    "a Slack or Discord webhook URL is a secret and is not accepted inline",
                    "write it into a 0600 file and point url_file at it",
                ));
            }
            (_, None, None) => {
                return Err(SinkConfigError::new(
                    "url_file",
                    "missing",
                    "write the webhook URL into a 0600 file and point url_file at it",
                ));
            }
        };
        let field = if raw.url.is_some() {
            "url"
        } else if is_telegram {
            "token_file"
        } else {
            "url_file"
        };
        let shown = check_url(
            target.expose_secret(),
            field,
            !is_telegram && raw.url.is_none(),
        )?;
        let mut scrub = Vec::new();
        if raw.url.is_none() {
            let path = target
                .expose_secret()
                .split_once("://")
                .and_then(|(_, rest)| rest.split_once('/'));
            scrub.extend(path.map(|(_, p)| SecretString::from(p)));
            scrub.push(target.clone());
        }
        scrub.extend(token);
        let timeout = Duration::from_secs(raw.timeout_seconds);
        let http = client(timeout).map_err(|e| {
            SinkConfigError::new(
                "kind",
                format!("HTTP client setup: {}", error_chain(&*e)),
                "report this as a bug",
            )
        })?;
        Ok(WebhookSink {
            name,
            kind: raw.kind,
            target,
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
            .post(self.target.expose_secret())
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

/// Checks `url` is https (or http to a loopback host) and returns `scheme://host:port` to show.
/// With `secret`, the error never quotes the URL.
fn check_url(url: &str, field: &str, secret: bool) -> Result<String, SinkConfigError> {
    let quoted = if secret {
        "the URL in the file".to_owned()
    } else {
        format!("{url:?}")
    };
    let bad = |why: &str| {
        SinkConfigError::new(
            field,
            format!("{quoted} {why}"),
            "use an https:// URL (http:// only for localhost)",
        )
    };
    let parsed = Url::parse(url).map_err(|_| bad("is not a URL"))?;
    let host = parsed.host_str().ok_or_else(|| bad("has no host"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        _ => return Err(bad("is not https")),
    }
    Ok(format!(
        "{}://{}:{}",
        parsed.scheme(),
        host,
        parsed.port_or_known_default().unwrap_or_default()
    ))
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

fn default_timeout() -> u64 {
    10
}
fn default_retries() -> u32 {
    2
}
