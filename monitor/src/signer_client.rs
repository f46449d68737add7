//! The signer client: tonic over mutual TLS, and the one place where proto and domain meet.
//!
//! The channel connects lazily, so the monitor starts and keeps polling while the signer is
//! down; a failed call becomes [`Outcome::Unavailable`] (its cause named by [`classify`]) and
//! the state machine retries with backoff under the same request id. [`GrpcSigner::check`]
//! proves the link at start and in `check-config --online`: the mTLS handshake and a `Status`
//! call, or the [`SignerProblem`] that stops them.
//!
//! One channel, one HTTP/2 connection: every call (the periodic `Status` of
//! [`crate::watch::keep_link_warm`], a failover, a kill switch) is a stream on it, so a kill
//! switch goes out on a connection that is already open and proven instead of needing a new
//! TCP and TLS handshake at the moment a flood may hold the signer's accept queue. HTTP/2 PINGs
//! every [`PING_INTERVAL`] find a dead connection; the next call then reconnects.
//! [`cert_expiry`] reads when the link's certificates expire.

pub mod cert_expiry;
mod problem;

pub use problem::{SignerProblem, classify};

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use vwf_proto::v1::signer_client::SignerClient;
use vwf_proto::v1::{
    DryRunRequest, NullKey, SetSigningKeyRequest, SigningKeyTarget, StatusRequest, StatusResponse,
    set_signing_key_response, signing_key_target,
};

use crate::config::SignerSettings;
use crate::error::Error;
use crate::state::{KeyRequest, Outcome};

/// HTTP/2 PING interval on the signer connection, idle or not. A PING is not a request: it
/// does not reset the signer's idle timeout (`[listen] idle_timeout_seconds`, default 300 s);
/// the periodic `Status` call does (`[signer] status_interval_seconds`, default 30 s).
pub const PING_INTERVAL: Duration = Duration::from_secs(20);

/// A connection whose PING is not answered within this is closed (and redialled on the next
/// call).
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// What the daemon needs from a signer; a trait so tests can drive the daemon with a fake.
pub trait SignerApi: Send + Sync + 'static {
    /// Sends `SetSigningKey` (or `DryRun` when `req.dry_run`) and maps the answer.
    fn call(&self, req: KeyRequest) -> Pin<Box<dyn Future<Output = Outcome> + Send + '_>>;
}

/// The real signer over mTLS.
#[derive(Clone, Debug)]
pub struct GrpcSigner {
    client: SignerClient<Channel>,
    prefix: String,
    settings: SignerSettings,
}

impl GrpcSigner {
    /// Loads the PEM files and prepares a lazily connecting channel (no network I/O here).
    /// Clones share the channel, hence the connection.
    pub fn new(settings: &SignerSettings, prefix: &str) -> Result<Self, Error> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| Error::Tls(format!("{}: {e}", p.display())))
        };
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(&settings.ca)?))
            .identity(Identity::from_pem(
                read(&settings.client_cert)?,
                read(&settings.client_key)?,
            ))
            .domain_name(settings.server_name.clone());
        let endpoint = Endpoint::from_shared(settings.endpoint.clone())
            .map_err(|e| Error::Tls(format!("endpoint {:?}: {e}", settings.endpoint)))?
            .tls_config(tls)
            .map_err(|e| Error::Tls(format!("TLS config: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(settings.timeout)
            .http2_keep_alive_interval(PING_INTERVAL)
            .keep_alive_timeout(PING_TIMEOUT)
            .keep_alive_while_idle(true);
        Ok(GrpcSigner {
            client: SignerClient::new(endpoint.connect_lazy()),
            prefix: prefix.to_owned(),
            settings: settings.clone(),
        })
    }

    /// The signer's `Status`: proves the mTLS handshake (both certificates, the server name)
    /// and that the signer's policy lets this monitor read it. Waits at most `limit`.
    pub async fn check(&self, limit: Duration) -> Result<StatusResponse, SignerProblem> {
        let mut client = self.client.clone();
        match tokio::time::timeout(limit, client.status(StatusRequest {})).await {
            Err(_) => Err(SignerProblem::Timeout {
                endpoint: self.settings.endpoint.clone(),
            }),
            Ok(answer) => answer
                .map(tonic::Response::into_inner)
                .map_err(|s| classify(&s, &self.settings)),
        }
    }

    async fn send(&self, req: KeyRequest) -> Outcome {
        let wire = to_wire(&req, &self.prefix);
        let mut client = self.client.clone();
        if req.dry_run {
            let answer = client
                .dry_run(DryRunRequest {
                    request: Some(wire),
                    preflight: true,
                })
                .await;
            return match answer {
                Err(s) => Outcome::Unavailable {
                    error: self.describe(&s),
                },
                Ok(r) => {
                    let r = r.into_inner();
                    let mut detail = r.reasons.join("; ");
                    if let Some(refused) = &r.refused
                        && !r.allowed
                    {
                        detail =
                            format!("refused by {}: {}; {detail}", refused.rule, refused.reason);
                    }
                    if let Some(p) = &r.preflight {
                        detail.push_str(&format!("; preflight matches={}", p.matches));
                    }
                    Outcome::DryRun {
                        allowed: r.allowed,
                        detail,
                    }
                }
            };
        }
        match client.set_signing_key(wire).await {
            Err(s) => Outcome::Unavailable {
                error: self.describe(&s),
            },
            Ok(r) => from_wire(r.into_inner().outcome),
        }
    }

    /// A failed call on one line: the classified cause of a transport failure (so the alert
    /// names the real cause, e.g. a server name mismatch), or the signer's code and message.
    fn describe(&self, s: &tonic::Status) -> String {
        match classify(s, &self.settings) {
            problem if problem.is_answer() => format!("{:?}: {}", s.code(), s.message()),
            problem => problem.to_string(),
        }
    }
}

impl SignerApi for GrpcSigner {
    fn call(&self, req: KeyRequest) -> Pin<Box<dyn Future<Output = Outcome> + Send + '_>> {
        Box::pin(self.send(req))
    }
}

/// Domain request -> proto.
pub(crate) fn to_wire(req: &KeyRequest, prefix: &str) -> SetSigningKeyRequest {
    let target = if req.target.is_null() {
        signing_key_target::Target::NullKey(NullKey {})
    } else {
        signing_key_target::Target::PublicKey(req.target.to_string_with_prefix(prefix))
    };
    SetSigningKeyRequest {
        request_id: req.request_id.clone(),
        account: req.account.clone(),
        target: Some(SigningKeyTarget {
            target: Some(target),
        }),
        expected_current_key: req.expected_current_key.to_string_with_prefix(prefix),
        reason: truncate(&req.reason, 512),
    }
}

/// Proto outcome -> domain.
pub(crate) fn from_wire(outcome: Option<set_signing_key_response::Outcome>) -> Outcome {
    use set_signing_key_response::Outcome as W;
    match outcome {
        Some(W::Applied(a)) => Outcome::Applied {
            tx_id: a.tx_id,
            block: a.block_num,
        },
        Some(W::AlreadyInEffect(_)) => Outcome::AlreadyInEffect,
        Some(W::Refused(r)) => Outcome::Refused {
            rule: r.rule,
            reason: r.reason,
        },
        None => Outcome::Unavailable {
            error: "signer answered without an outcome".to_owned(),
        },
    }
}

/// At most `max` bytes, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vwf_proto::v1::{Applied, Refused};
    use vwf_shared::PublicKey;

    #[test]
    fn null_target_is_the_null_key_marker() {
        let req = KeyRequest {
            request_id: "id".into(),
            account: "acc".into(),
            target: PublicKey::NULL,
            expected_current_key: PublicKey::NULL,
            reason: "é".repeat(300),
            dry_run: false,
        };
        let wire = to_wire(&req, "VIT");
        assert!(matches!(
            wire.target.and_then(|t| t.target),
            Some(signing_key_target::Target::NullKey(_))
        ));
        assert_eq!(
            wire.expected_current_key,
            "VIT1111111111111111111111111111111114T1Anm"
        );
        assert!(wire.reason.len() <= 512);
    }

    #[test]
    fn outcomes_map_one_to_one() {
        use set_signing_key_response::Outcome as W;
        let applied = from_wire(Some(W::Applied(Applied {
            tx_id: "ab".into(),
            block_num: 7,
            signing_key: String::new(),
        })));
        assert_eq!(
            applied,
            Outcome::Applied {
                tx_id: "ab".into(),
                block: 7
            }
        );
        let refused = from_wire(Some(W::Refused(Refused {
            rule: "compare-and-swap".into(),
            reason: "r".into(),
        })));
        assert_eq!(
            refused,
            Outcome::Refused {
                rule: "compare-and-swap".into(),
                reason: "r".into()
            }
        );
        assert!(matches!(from_wire(None), Outcome::Unavailable { .. }));
    }
}
