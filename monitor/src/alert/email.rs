//! [`EmailSink`]: alerts by SMTP through a relay, with STARTTLS required (lettre, rustls/ring).
//!
//! The connection is never downgraded: a relay that does not offer STARTTLS, or whose
//! certificate does not verify, is an error. Plain SMTP is possible only with an explicit
//! `tls = "none"` for a relay on this host, and then a warning is logged. The AUTH password is
//! read from a 0600 file and never appears in errors or `Debug` output.
//!
//! ```toml
//! [[alerts.email]]
//! relay = "smtp.example.org"          # host name checked against the relay's certificate
//! port = 587                          # default 587 (submission, STARTTLS)
//! from = "vwf-monitor <monitor@example.org>"
//! to = ["ops@example.org"]
//! username = "monitor"                # optional; needs password_file
//! password_file = "/etc/vwf/smtp-password"   # 0600
//! ca_file = "/etc/vwf/smtp-ca.pem"    # optional: trust only this CA for the relay
//! ```

mod config;

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::sinks::{SinkConfigError, error_chain, read_secret, resolve};
use super::{Alert, AlertError, AlertSink, render};

pub use config::{EmailTls, RawEmail};

/// Checks `raw` and builds its sink (no network I/O). Relative paths are taken from `base`.
pub fn build(raw: &RawEmail, base: &Path) -> Result<Box<dyn AlertSink>, SinkConfigError> {
    Ok(Box::new(EmailSink::new(raw, base)?))
}

/// Sends each alert as one plain-text email to every recipient.
pub struct EmailSink {
    name: String,
    relay: String,
    port: u16,
    from: Mailbox,
    to: Vec<Mailbox>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
    retries: u32,
    /// Kept only to scrub it from error text.
    password: Option<SecretString>,
}

impl fmt::Debug for EmailSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSink")
            .field("name", &self.name)
            .field("relay", &format_args!("{}:{}", self.relay, self.port))
            .field("from", &self.from.to_string())
            .field(
                "to",
                &self.to.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
            .field("auth", &self.password.is_some())
            .finish_non_exhaustive()
    }
}

impl EmailSink {
    /// Checks `raw` and sets up the transport; see [`build`].
    pub fn new(raw: &RawEmail, base: &Path) -> Result<Self, SinkConfigError> {
        let name = raw
            .name
            .clone()
            .unwrap_or_else(|| format!("email:{}", raw.relay));
        if raw.relay.trim().is_empty() || raw.port == 0 {
            return Err(SinkConfigError::new(
                "relay",
                "relay host or port is empty",
                "set relay = \"smtp.example.org\" (port default 587)",
            ));
        }
        let mailbox = |field: &str, s: &str| {
            s.parse::<Mailbox>().map_err(|e| {
                SinkConfigError::new(
                    field,
                    format!("{s:?} is not an address: {e}"),
                    "write \"Name <user@example.org>\" or \"user@example.org\"",
                )
            })
        };
        let from = mailbox("from", &raw.from)?;
        let to = raw
            .to
            .iter()
            .map(|t| mailbox("to", t))
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err(SinkConfigError::new(
                "to",
                "no recipient",
                "list at least one address: to = [\"ops@example.org\"]",
            ));
        }
        if raw.timeout_seconds == 0 || raw.retries > 10 {
            return Err(SinkConfigError::new(
                "timeout_seconds / retries",
                "timeout must be positive and retries at most 10",
                "remove them for the defaults 10 / 1",
            ));
        }
        let timeout = Duration::from_secs(raw.timeout_seconds);
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(raw.relay.as_str())
                .port(raw.port)
                .tls(config::tls(raw, base, &name)?)
                .timeout(Some(timeout));
        let password = match (&raw.username, &raw.password_file) {
            (Some(user), Some(file)) => {
                let password = read_secret(&resolve(base, file), "password_file")?;
                let creds = Credentials::new(user.clone(), password.expose_secret().to_owned());
                builder = builder.credentials(creds);
                Some(password)
            }
            (None, None) => None,
            _ => {
                return Err(SinkConfigError::new(
                    "username / password_file",
                    "only one of them is set",
                    "set both for AUTH, or neither",
                ));
            }
        };
        Ok(EmailSink {
            name,
            relay: raw.relay.clone(),
            port: raw.port,
            from,
            to,
            transport: builder.build(),
            timeout,
            retries: raw.retries,
            password,
        })
    }

    fn error(&self, message: String) -> AlertError {
        let secret = self
            .password
            .as_ref()
            .map(|p| p.expose_secret())
            .unwrap_or_default();
        AlertError {
            sink: self.name.clone(),
            message: render::scrub(&message, &[secret]),
        }
    }

    fn message(&self, alert: &Alert) -> Result<Message, AlertError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(render::subject(alert))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .body(render::text(alert))
            .map_err(|e| self.error(format!("cannot build the message: {e}")))
    }

    async fn deliver(&self, alert: &Alert) -> Result<(), AlertError> {
        let message = self.message(alert)?;
        let relay = format!("{}:{}", self.relay, self.port);
        let mut delay = Duration::from_millis(500);
        for attempt in 0..=self.retries {
            let (text, retryable) = match tokio::time::timeout(
                self.timeout,
                self.transport.send(message.clone()),
            )
            .await
            {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => (
                    error_chain(&e),
                    !(e.is_permanent() || e.is_client() || e.is_tls()),
                ),
                Err(_) => (
                    format!("no answer within {} s", self.timeout.as_secs()),
                    true,
                ),
            };
            if !retryable || attempt == self.retries {
                return Err(self.error(format!(
                    "relay {relay}: {text} (after {} attempt(s))",
                    attempt + 1
                )));
            }
            tracing::warn!(sink = %self.name, cause = %self.error(text), "email not sent; retrying");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        Err(self.error(format!("relay {relay}: not sent")))
    }
}

impl AlertSink for EmailSink {
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
