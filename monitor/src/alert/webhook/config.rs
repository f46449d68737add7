//! The `[[alerts.webhook]]` section: [`RawWebhook`] as written, and [`target`], which checks it
//! and reads its secret file into a [`Target`].

use std::path::Path;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::alert::sinks::{SinkConfigError, is_loopback, read_secret, resolve};

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
    /// Longest wait for one POST, connect to response, seconds. Default 5.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Further attempts after a network error, a timeout or HTTP 408/429/5xx. Default 2.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

/// A checked webhook target.
pub(super) struct Target {
    /// The full URL, token included.
    pub(super) url: SecretString,
    /// Scheme, host and port only: safe to show.
    pub(super) shown: String,
    /// Secret strings (URL, its path, token) to scrub from error text.
    pub(super) scrub: Vec<SecretString>,
    /// Telegram chat id.
    pub(super) chat_id: Option<String>,
}

/// Checks `raw` and reads its URL or token file (relative to `base`).
pub(super) fn target(raw: &RawWebhook, base: &Path) -> Result<Target, SinkConfigError> {
    use WebhookKind::*;
    let telegram = raw.kind == Telegram;
    let only_telegram = [
        ("token_file", raw.token_file.is_some()),
        ("chat_id", raw.chat_id.is_some()),
        ("api_base", raw.api_base.is_some()),
    ];
    let unused = |field: &str| {
        SinkConfigError::new(
            field,
            format!("is not used by kind {:?}", raw.kind),
            "remove it",
        )
    };
    if let Some((field, _)) = only_telegram.iter().find(|(_, set)| *set && !telegram) {
        return Err(unused(field));
    }
    if raw.timeout_seconds == 0 || raw.retries > 10 {
        let msg = "timeout must be positive and retries at most 10";
        return Err(SinkConfigError::new(
            "timeout_seconds / retries",
            msg,
            "remove them for the defaults 5 / 2",
        ));
    }
    let to_file = "write the webhook URL into a 0600 file and point url_file at it";
    let (url, token) = match (raw.kind, &raw.url_file, &raw.url) {
        (Telegram, None, None) => {
            let file = raw.token_file.as_deref();
            let file = file.ok_or_else(|| {
                SinkConfigError::new(
                    "token_file",
                    "missing",
                    "point it at a 0600 file holding the bot token",
                )
            })?;
            let token = read_secret(&resolve(base, file), "token_file")?;
            let api = raw
                .api_base
                .as_deref()
                .unwrap_or("https://api.telegram.org");
            let api = api.trim_end_matches('/');
            check_url(api, "api_base", false)?;
            let url = format!("{api}/bot{}/sendMessage", token.expose_secret());
            (SecretString::from(url), Some(token))
        }
        (Telegram, _, _) => return Err(unused("url_file / url")),
        (Json, None, Some(url)) => (SecretString::from(url.trim()), None),
        (_, Some(file), None) => (read_secret(&resolve(base, file), "url_file")?, None),
        (Json, _, _) => {
            return Err(SinkConfigError::new(
                "url_file",
                "set exactly one of url_file and url",
                to_file,
            ));
        }
        (_, _, Some(_)) => {
            return Err(SinkConfigError::new(
                "url",
                "this webhook URL is a secret; it is not accepted inline",
                to_file,
            ));
        }
        (_, None, None) => return Err(SinkConfigError::new("url_file", "missing", to_file)),
    };
    let chat_id = raw.chat_id.clone().filter(|c| !c.trim().is_empty());
    if telegram && chat_id.is_none() {
        return Err(SinkConfigError::new(
            "chat_id",
            "missing",
            "set chat_id = \"-100...\" or \"@channel\"",
        ));
    }
    let secret = raw.url.is_none();
    let field = if !secret {
        "url"
    } else if telegram {
        "token_file"
    } else {
        "url_file"
    };
    let shown = check_url(url.expose_secret(), field, secret)?;
    let mut scrub = Vec::new();
    if secret {
        let path = url
            .expose_secret()
            .split_once("://")
            .and_then(|(_, r)| r.split_once('/'));
        scrub.extend(path.map(|(_, p)| SecretString::from(p)));
        scrub.push(url.clone());
    }
    scrub.extend(token);
    Ok(Target {
        url,
        shown,
        scrub,
        chat_id,
    })
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
        let fix = "use an https:// URL (http:// only for localhost)";
        SinkConfigError::new(field, format!("{quoted} {why}"), fix)
    };
    let parsed = Url::parse(url).map_err(|_| bad("is not a URL"))?;
    let host = parsed.host_str().ok_or_else(|| bad("has no host"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        _ => return Err(bad("is not https")),
    }
    let port = parsed.port_or_known_default().unwrap_or_default();
    Ok(format!("{}://{host}:{port}", parsed.scheme()))
}

fn default_timeout() -> u64 {
    5
}
fn default_retries() -> u32 {
    2
}
