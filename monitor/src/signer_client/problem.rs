//! Why a call to the signer failed, in the operator's terms: [`SignerProblem`] and [`classify`].
//!
//! A failed call is either an answer from the signer (a gRPC status it sent, e.g.
//! `PermissionDenied` from its policy: the mTLS link works) or a transport failure (no answer:
//! connection refused, TLS handshake failed, timeout). Tonic folds both into a `tonic::Status`;
//! the difference is in the source chain: a transport failure carries the underlying error
//! (rustls, I/O, timeout) as its source, an answer carries none. [`classify`] walks that chain
//! and names the real cause, with the fix, on one line.

use std::error::Error as StdError;
use std::path::Path;

use rustls::{AlertDescription, CertificateError};
use tonic::Code;

use crate::config::SignerSettings;

/// What stands between this monitor and a working signer call, one line each with the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerProblem {
    /// The signer's certificate does not name the configured `server_name`.
    #[error(
        "TLS: the signer's certificate is for {}, but [signer] server_name is {configured:?}: \
         set server_name to a name the certificate holds, or give the signer a certificate for \
         {configured} (vwf-signer certs init --server-name {configured})",
        names(presented)
    )]
    NameMismatch {
        /// `[signer] server_name`.
        configured: String,
        /// The DNS names and IP addresses the certificate holds.
        presented: Vec<String>,
    },
    /// The signer's certificate was not issued by the configured CA.
    #[error(
        "TLS: the signer's certificate was not issued by the CA in {ca} ([signer] ca): use the \
         ca.pem written by the signer's `vwf-signer certs init` next to its server.pem"
    )]
    UnknownCa {
        /// `[signer] ca`.
        ca: String,
    },
    /// The signer's certificate has expired.
    #[error(
        "TLS: the signer's certificate has expired ({detail}): issue new certificates \
         (vwf-signer certs init) and restart the signer"
    )]
    ServerCertExpired {
        /// rustls's account, with the times.
        detail: String,
    },
    /// The signer's certificate is not valid yet.
    #[error(
        "TLS: the signer's certificate is not valid yet ({detail}): check the clocks of this \
         host and of the host that issued it"
    )]
    ServerCertNotYetValid {
        /// rustls's account, with the times.
        detail: String,
    },
    /// The signer's certificate is unusable for another reason.
    #[error("TLS: the signer's certificate is not acceptable: {detail}")]
    ServerCert {
        /// rustls's account.
        detail: String,
    },
    /// The signer refused this monitor's client certificate during the handshake.
    #[error(
        "TLS: the signer refused this monitor's client certificate {cert} (TLS alert {alert}): \
         it must be unexpired and issued by the CA in the signer's [tls] client_ca"
    )]
    ClientCertRejected {
        /// `[signer] client_cert`.
        cert: String,
        /// The TLS alert the signer sent.
        alert: String,
    },
    /// Nothing listens at the endpoint.
    #[error(
        "connection refused by {endpoint}: is `vwf-signer serve` running and listening there \
         ([listen] address), and does the firewall let this host in?"
    )]
    ConnectionRefused {
        /// `[signer] endpoint`.
        endpoint: String,
    },
    /// No answer in time.
    #[error(
        "no answer from the signer at {endpoint} within the time limit: is the address right \
         and does the firewall let this host in?"
    )]
    Timeout {
        /// `[signer] endpoint`.
        endpoint: String,
    },
    /// The endpoint could not be reached for another network reason (DNS, routing).
    #[error("cannot reach the signer at {endpoint}: {detail}")]
    Unreachable {
        /// `[signer] endpoint`.
        endpoint: String,
        /// The I/O error.
        detail: String,
    },
    /// Another TLS failure.
    #[error("TLS handshake with the signer at {endpoint} failed: {detail}")]
    Tls {
        /// `[signer] endpoint`.
        endpoint: String,
        /// rustls's account.
        detail: String,
    },
    /// Another transport failure.
    #[error("no answer from the signer at {endpoint}: {detail}")]
    Transport {
        /// `[signer] endpoint`.
        endpoint: String,
        /// The error chain.
        detail: String,
    },
    /// The signer's policy does not let this monitor call `Status`.
    #[error(
        "the signer's policy refused this monitor's Status call ({message}); the mTLS link \
         works: grant this monitor \"status\" in the signer's policy ([[account.client]] may = \
         [..., \"status\"]) so it can check the policy at start"
    )]
    PermissionDenied {
        /// The signer's message.
        message: String,
    },
    /// The signer saw no usable identity in this monitor's certificate.
    #[error(
        "the signer did not accept this monitor's identity ({message}): the client certificate \
         must name an identity (URI or DNS SAN) that the signer's policy lists"
    )]
    Unauthenticated {
        /// The signer's message.
        message: String,
    },
    /// The signer answered with another error.
    #[error("the signer answered {code}: {message}")]
    Answered {
        /// The gRPC code, e.g. `Unavailable`.
        code: String,
        /// The signer's message.
        message: String,
    },
}

impl SignerProblem {
    /// Whether the signer answered (the mTLS link works; its policy or state refused), as
    /// opposed to a transport or TLS failure where no call reaches it.
    pub fn is_answer(&self) -> bool {
        matches!(
            self,
            SignerProblem::PermissionDenied { .. }
                | SignerProblem::Unauthenticated { .. }
                | SignerProblem::Answered { .. }
        )
    }

    /// A few words for titles: `TLS server name mismatch`, `connection refused`, ….
    pub fn short(&self) -> &'static str {
        match self {
            SignerProblem::NameMismatch { .. } => "TLS server name mismatch",
            SignerProblem::UnknownCa { .. } => "signer certificate from an unknown CA",
            SignerProblem::ServerCertExpired { .. } => "signer certificate expired",
            SignerProblem::ServerCertNotYetValid { .. } => "signer certificate not valid yet",
            SignerProblem::ServerCert { .. } => "signer certificate not acceptable",
            SignerProblem::ClientCertRejected { .. } => "client certificate refused",
            SignerProblem::ConnectionRefused { .. } => "connection refused",
            SignerProblem::Timeout { .. } => "no answer in time",
            SignerProblem::Unreachable { .. } => "signer unreachable",
            SignerProblem::Tls { .. } => "TLS handshake failed",
            SignerProblem::Transport { .. } => "no answer",
            SignerProblem::PermissionDenied { .. } => "Status not granted by the signer's policy",
            SignerProblem::Unauthenticated { .. } => "identity not accepted",
            SignerProblem::Answered { .. } => "the signer answered with an error",
        }
    }
}

/// `a`, `a or b`, `a, b or c`; "no DNS name or IP address" when empty.
fn names(presented: &[String]) -> String {
    match presented {
        [] => "no DNS name or IP address".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The cause of a failed signer call, from its status and source chain.
pub fn classify(status: &tonic::Status, settings: &SignerSettings) -> SignerProblem {
    let endpoint = settings.endpoint.clone();
    if let Some(source) = StdError::source(status) {
        return classify_transport(source, settings).unwrap_or_else(|| SignerProblem::Transport {
            endpoint,
            detail: chain_text(status),
        });
    }
    let message = status.message().to_owned();
    match status.code() {
        Code::PermissionDenied => SignerProblem::PermissionDenied { message },
        Code::Unauthenticated => SignerProblem::Unauthenticated { message },
        Code::DeadlineExceeded => SignerProblem::Timeout { endpoint },
        code => SignerProblem::Answered {
            code: format!("{code:?}"),
            message,
        },
    }
}

/// The first error in the chain that names a cause: rustls, an I/O error, a timeout.
fn classify_transport(
    first: &(dyn StdError + 'static),
    settings: &SignerSettings,
) -> Option<SignerProblem> {
    let mut next = Some(first);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(from_rustls(tls, settings));
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // An I/O error's `source()` skips the error it wraps: look inside it first.
            if let Some(tls) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return Some(from_rustls(tls, settings));
            }
            return Some(from_io(io, settings));
        }
        if err.downcast_ref::<tonic::TimeoutExpired>().is_some() {
            return Some(SignerProblem::Timeout {
                endpoint: settings.endpoint.clone(),
            });
        }
        next = err.source();
    }
    None
}

fn from_io(io: &std::io::Error, settings: &SignerSettings) -> SignerProblem {
    use std::io::ErrorKind as K;
    let endpoint = settings.endpoint.clone();
    // A TLS alert the signer sent after the handshake (TLS 1.3 checks the client certificate
    // then) reaches us through h2, which keeps only the text of rustls's error.
    let text = io.to_string();
    if let Some(alert) = alert_in_text(&text) {
        return SignerProblem::ClientCertRejected {
            cert: settings.client_cert.display().to_string(),
            alert: alert.to_owned(),
        };
    }
    match io.kind() {
        K::ConnectionRefused => SignerProblem::ConnectionRefused { endpoint },
        K::TimedOut => SignerProblem::Timeout { endpoint },
        _ => SignerProblem::Unreachable {
            endpoint,
            detail: io.to_string(),
        },
    }
}

/// A rustls error as the operator's problem.
pub(crate) fn from_rustls(tls: &rustls::Error, settings: &SignerSettings) -> SignerProblem {
    let shown = |p: &Path| p.display().to_string();
    match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::NotValidForNameContext { presented, .. } => {
                SignerProblem::NameMismatch {
                    configured: settings.server_name.clone(),
                    presented: presented.iter().map(|n| plain_name(n)).collect(),
                }
            }
            CertificateError::NotValidForName => SignerProblem::NameMismatch {
                configured: settings.server_name.clone(),
                presented: Vec::new(),
            },
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                SignerProblem::UnknownCa {
                    ca: shown(&settings.ca),
                }
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                SignerProblem::ServerCertExpired {
                    detail: cert.to_string(),
                }
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                SignerProblem::ServerCertNotYetValid {
                    detail: cert.to_string(),
                }
            }
            other => SignerProblem::ServerCert {
                detail: other.to_string(),
            },
        },
        rustls::Error::AlertReceived(alert) if client_cert_alert(*alert) => {
            SignerProblem::ClientCertRejected {
                cert: shown(&settings.client_cert),
                alert: format!("{alert:?}"),
            }
        }
        other => SignerProblem::Tls {
            endpoint: settings.endpoint.clone(),
            detail: other.to_string(),
        },
    }
}

/// Alerts a server sends when it does not accept the client's certificate.
const CLIENT_CERT_ALERTS: [AlertDescription; 9] = [
    AlertDescription::BadCertificate,
    AlertDescription::UnsupportedCertificate,
    AlertDescription::CertificateRevoked,
    AlertDescription::CertificateExpired,
    AlertDescription::CertificateUnknown,
    AlertDescription::UnknownCA,
    AlertDescription::AccessDenied,
    AlertDescription::DecryptError,
    AlertDescription::CertificateRequired,
];

fn client_cert_alert(alert: AlertDescription) -> bool {
    CLIENT_CERT_ALERTS.contains(&alert)
}

/// The client-certificate alert named in rustls's text `received fatal alert: <Name>`.
fn alert_in_text(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("received fatal alert: ")?;
    let name = rest
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    CLIENT_CERT_ALERTS
        .iter()
        .any(|a| format!("{a:?}") == name)
        .then_some(name)
}

/// `DnsName("a.example")` → `a.example`, `IpAddress(10.0.0.1)` → `10.0.0.1` (rustls's
/// spelling of the certificate's names); anything else as it is.
fn plain_name(presented: &str) -> String {
    for (open, close) in [("DnsName(\"", "\")"), ("IpAddress(", ")")] {
        if let Some(inner) = presented
            .strip_prefix(open)
            .and_then(|rest| rest.strip_suffix(close))
        {
            return inner.to_owned();
        }
    }
    presented.to_owned()
}

/// A status and its sources on one line, repeats dropped.
fn chain_text(status: &tonic::Status) -> String {
    let mut text = status.message().to_owned();
    let mut next = StdError::source(status);
    while let Some(err) = next {
        let part = err.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = err.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rustls::pki_types::ServerName;

    use super::*;

    fn settings() -> SignerSettings {
        SignerSettings {
            endpoint: "https://127.0.0.1:7000".into(),
            server_name: "localhost".into(),
            ca: "/etc/vwf-monitor/ca.pem".into(),
            client_cert: "/etc/vwf-monitor/client.pem".into(),
            client_key: "/etc/vwf-monitor/client.key".into(),
            timeout: Duration::from_secs(5),
            status_interval: Duration::from_secs(30),
            cert_expiry_warning: Duration::from_secs(30 * 86_400),
        }
    }

    /// A transport failure as tonic hands it over: a status whose source is the I/O error
    /// tokio-rustls made of the rustls error.
    fn transport(tls: rustls::Error) -> tonic::Status {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        tonic::Status::from_error(Box::new(tonic::ConnectError(Box::new(io))))
    }

    #[test]
    fn a_name_mismatch_names_both_names() {
        let expected = ServerName::try_from("localhost").map(|n| n.to_owned());
        let Ok(expected) = expected else {
            panic!("localhost is a server name");
        };
        let status = transport(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForNameContext {
                expected,
                presented: vec!["DnsName(\"signer.example.org\")".into()],
            },
        ));
        let problem = classify(&status, &settings());
        assert_eq!(
            problem,
            SignerProblem::NameMismatch {
                configured: "localhost".into(),
                presented: vec!["signer.example.org".into()],
            }
        );
        let line = problem.to_string();
        assert!(
            line.contains("certificate is for signer.example.org")
                && line.contains("server_name is \"localhost\""),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
        assert!(!problem.is_answer());
    }

    #[test]
    fn certificate_names_read_plainly() {
        assert_eq!(plain_name("DnsName(\"a.example\")"), "a.example");
        assert_eq!(plain_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(plain_name("Unsupported(0x06)"), "Unsupported(0x06)");
        assert_eq!(
            names(&["a".into(), "b".into(), "c".into()]),
            "a, b or c".to_owned()
        );
        assert_eq!(names(&[]), "no DNS name or IP address");
    }

    #[test]
    fn certificate_errors_map_to_their_causes() {
        let cases = [
            (
                CertificateError::UnknownIssuer,
                "was not issued by the CA in",
            ),
            (CertificateError::Expired, "has expired"),
            (CertificateError::NotValidYet, "is not valid yet"),
        ];
        for (cert, words) in cases {
            let line = classify(
                &transport(rustls::Error::InvalidCertificate(cert)),
                &settings(),
            )
            .to_string();
            assert!(line.contains(words), "{line}");
        }
    }

    #[test]
    fn a_refused_client_certificate_names_the_file() {
        let status = transport(rustls::Error::AlertReceived(AlertDescription::UnknownCA));
        let problem = classify(&status, &settings());
        assert!(
            matches!(problem, SignerProblem::ClientCertRejected { .. }),
            "{problem}"
        );
        assert!(problem.to_string().contains("/etc/vwf-monitor/client.pem"));
    }

    #[test]
    fn an_alert_known_only_by_its_text_is_still_named() {
        // What h2 hands over after the handshake: an I/O error holding only rustls's text.
        let io = std::io::Error::other("received fatal alert: DecryptError");
        let status = tonic::Status::from_error(Box::new(io));
        assert_eq!(
            classify(&status, &settings()),
            SignerProblem::ClientCertRejected {
                cert: "/etc/vwf-monitor/client.pem".into(),
                alert: "DecryptError".into(),
            }
        );
        assert_eq!(
            alert_in_text("received fatal alert: HandshakeFailure"),
            None
        );
        assert_eq!(alert_in_text("broken pipe"), None);
    }

    #[test]
    fn connection_refused_is_a_transport_problem() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let status = tonic::Status::from_error(Box::new(tonic::ConnectError(Box::new(io))));
        let problem = classify(&status, &settings());
        assert_eq!(
            problem,
            SignerProblem::ConnectionRefused {
                endpoint: "https://127.0.0.1:7000".into()
            }
        );
        assert!(!problem.is_answer());
    }

    #[test]
    fn a_policy_refusal_is_an_answer_with_the_status_hint() {
        let status = tonic::Status::permission_denied("client \"m\" may not read status");
        let problem = classify(&status, &settings());
        assert!(problem.is_answer());
        let line = problem.to_string();
        assert!(
            line.contains("may not read status") && line.contains("grant this monitor \"status\""),
            "{line}"
        );
        // A transport failure never gets the status hint.
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let status = tonic::Status::from_error(Box::new(tonic::ConnectError(Box::new(refused))));
        assert!(!classify(&status, &settings()).to_string().contains("grant"));
    }

    #[test]
    fn other_answers_keep_code_and_message() {
        let status = tonic::Status::failed_precondition("key not authorized");
        assert_eq!(
            classify(&status, &settings()).to_string(),
            "the signer answered FailedPrecondition: key not authorized"
        );
    }
}
