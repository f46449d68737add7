//! The `[[alerts.email]]` section: [`RawEmail`] as written, and the relay's TLS setup.

use std::path::Path;

use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use serde::Deserialize;

use crate::alert::sinks::{SinkConfigError, is_loopback, resolve};

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTls {
    /// STARTTLS is required; the relay's certificate must verify (the default).
    #[default]
    Starttls,
    /// No TLS at all: only accepted for a relay on localhost, and logged as a warning.
    None,
}

/// One `[[alerts.email]]` section, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    /// Name in logs and `test-alert` output. Default `email:<relay>`.
    pub name: Option<String>,
    /// SMTP relay host name (or IP), also the name checked in its certificate.
    pub relay: String,
    /// Relay port. Default 587.
    #[serde(default = "default_port")]
    pub port: u16,
    /// `"starttls"` (default) or `"none"` (localhost relays only).
    #[serde(default)]
    pub tls: EmailTls,
    /// CA certificate (PEM) to trust for the relay instead of the public roots. Optional.
    pub ca_file: Option<String>,
    /// Sender, e.g. `"vwf-monitor <monitor@example.org>"`.
    pub from: String,
    /// Recipients; at least one.
    pub to: Vec<String>,
    /// AUTH user name. Optional; requires `password_file`.
    pub username: Option<String>,
    /// File holding the AUTH password on one line; must be mode 0600 or stricter.
    pub password_file: Option<String>,
    /// Longest wait for one delivery attempt, seconds. Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Further attempts after a temporary failure (network, timeout, 4xx reply). Default 1.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

/// The TLS mode for `raw`: STARTTLS required (optionally with a private CA), or none for localhost.
pub(super) fn tls(raw: &RawEmail, base: &Path, name: &str) -> Result<Tls, SinkConfigError> {
    match raw.tls {
        EmailTls::Starttls => {
            let mut params = TlsParameters::builder(raw.relay.clone());
            if let Some(ca) = &raw.ca_file {
                let path = resolve(base, ca);
                let bad = |e: String| {
                    SinkConfigError::new(
                        "ca_file",
                        format!("{}: {e}", path.display()),
                        "point it at the PEM CA certificate that signed the relay's certificate",
                    )
                };
                let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| bad(e.to_string()))?;
                params = params
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(cert);
            }
            let params = params.build_rustls().map_err(|e| {
                SinkConfigError::new(
                    "relay",
                    format!("TLS setup: {e}"),
                    "check relay and ca_file",
                )
            })?;
            Ok(Tls::Required(params))
        }
        EmailTls::None if !is_loopback(&raw.relay) => Err(SinkConfigError::new(
            "tls",
            format!(
                "tls = \"none\" would send mail (and any password) in clear text to {}",
                raw.relay
            ),
            "remove it (STARTTLS is required by default); \"none\" is only for a relay on localhost",
        )),
        EmailTls::None if raw.ca_file.is_some() => Err(SinkConfigError::new(
            "ca_file",
            "is set but tls = \"none\"",
            "remove one of them",
        )),
        EmailTls::None => {
            tracing::warn!(sink = name, relay = %raw.relay, "email sink sends WITHOUT TLS (tls = \"none\"); acceptable only for a relay on this host");
            Ok(Tls::None)
        }
    }
}

fn default_port() -> u16 {
    587
}
fn default_timeout() -> u64 {
    10
}
fn default_retries() -> u32 {
    1
}
