//! mTLS between the signer (server) and the monitor (client), and the peer identity the signer
//! reads from a client certificate.
//!
//! Crypto provider: [`server_rustls_config`] names the ring provider explicitly, so it needs no
//! process default. The tonic configs ([`server_tls_config`], [`client_tls_config`]) let tonic
//! build rustls configs, which use the process-wide provider: binaries must call
//! `rustls::crypto::ring::default_provider().install_default()` first thing in `main` (the
//! library never installs it).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{RootCertStore, ServerConfig};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::error::Error;
use crate::revocation::{Revocations, RevokingVerifier};

/// The client's identity: its first URI SAN (e.g. `spiffe://vwf/monitor`), else its first DNS
/// SAN. The chain must already have been verified (rustls does that during the handshake).
pub fn client_identity(cert_der: &[u8]) -> Result<String, Error> {
    let fail = |reason: String| Error::Tls { reason };
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| fail(format!("client certificate does not parse: {e}")))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| fail(format!("client certificate SAN does not parse: {e}")))?
        .ok_or_else(|| fail("client certificate has no subjectAltName".into()))?;
    let names = &san.value.general_names;
    let uri = names.iter().find_map(|n| match n {
        GeneralName::URI(uri) => Some(*uri),
        _ => None,
    });
    let dns = names.iter().find_map(|n| match n {
        GeneralName::DNSName(dns) => Some(*dns),
        _ => None,
    });
    uri.or(dns)
        .map(str::to_owned)
        .ok_or_else(|| fail("client certificate has no URI or DNS subjectAltName".into()))
}

/// The signer's tonic TLS config: server certificate and key, client certificates required and
/// verified against `ca_pem`.
///
/// tonic builds the rustls config itself and offers no protocol-version knob, so this one
/// accepts TLS 1.2 (ECDHE + AEAD suites only) as well as 1.3; use [`server_rustls_config`] with
/// `serve_with_incoming` for a TLS-1.3-only listener.
pub fn server_tls_config(ca_pem: &str, cert_pem: &str, key_pem: &str) -> ServerTlsConfig {
    ServerTlsConfig::new()
        .identity(Identity::from_pem(cert_pem, key_pem))
        .client_ca_root(Certificate::from_pem(ca_pem))
}

/// A TLS-1.3-only rustls server config (ring provider, ALPN `h2`, no session resumption) that
/// requires a client certificate issued by `ca_pem`. For `tokio_rustls::TlsAcceptor` + tonic
/// `serve_with_incoming`.
pub fn server_rustls_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<ServerConfig>, Error> {
    server_rustls_config_revoking(ca_pem, cert_pem, key_pem, &Revocations::default())
}

/// As [`server_rustls_config`], also refusing client certificates on the deny list that
/// `revocations` holds at each handshake (`serve` replaces it on SIGHUP).
pub fn server_rustls_config_revoking(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    revocations: &Revocations,
) -> Result<Arc<ServerConfig>, Error> {
    let fail = |what: &str, e: &dyn std::fmt::Display| Error::Tls {
        reason: format!("{what}: {e}"),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = client_verifier(ca_pem, revocations)?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail("server certificate PEM", &e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| fail("server key PEM", &e))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| fail("protocol versions", &e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| fail("server certificate", &e))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    // No session resumption: a resumed session skips the client certificate check, so a
    // certificate revoked (or expired) since would be let back in. Full handshakes are cheap
    // at the few connections a signer sees.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// The client certificate verifier: chains to `ca_pem` (webpki: signature, validity, client
/// usage), then not on the deny list `revocations` holds.
pub fn client_verifier(
    ca_pem: &str,
    revocations: &Revocations,
) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    let fail = |what: &str, e: &dyn std::fmt::Display| Error::Tls {
        reason: format!("{what}: {e}"),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| fail("CA PEM", &e))?;
        roots.add(cert).map_err(|e| fail("CA certificate", &e))?;
    }
    let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| fail("client verifier", &e))?;
    Ok(Arc::new(RevokingVerifier::new(webpki, revocations.clone())))
}

/// The monitor's tonic TLS config: trust only `ca_pem`, present `cert_pem`/`key_pem`, and
/// expect the server certificate to name `domain`.
pub fn client_tls_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    domain: &str,
) -> ClientTlsConfig {
    ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .identity(Identity::from_pem(cert_pem, key_pem))
        .domain_name(domain)
}

#[cfg(test)]
mod tests;
