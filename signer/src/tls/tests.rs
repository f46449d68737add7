//! Peer identity extraction and the TLS-1.3-only rustls server config.

use super::*;
use crate::pki::{CertificateAuthority, Validity};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn der(pem: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    Ok(CertificateDer::from_pem_slice(pem.as_bytes())?.to_vec())
}

#[test]
fn client_identity_prefers_uri_then_dns() -> TestResult {
    let ca = CertificateAuthority::generate("t", Validity::days_from_now(1))?;
    let uri = ca.issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(1))?;
    assert_eq!(
        client_identity(&der(&uri.cert_pem)?)?,
        "spiffe://vwf/monitor"
    );
    let dns = ca.issue_client_certificate("monitor.example", Validity::days_from_now(1))?;
    assert_eq!(client_identity(&der(&dns.cert_pem)?)?, "monitor.example");
    assert!(matches!(client_identity(b"junk"), Err(Error::Tls { .. })));
    Ok(())
}

#[test]
fn server_rustls_config_is_tls13_only_and_requires_client_certs() -> TestResult {
    let ca = CertificateAuthority::generate("t", Validity::days_from_now(1))?;
    let server = ca.issue_server_certificate(&["localhost".into()], Validity::days_from_now(1))?;
    let config = server_rustls_config(ca.cert_pem(), &server.cert_pem, &server.key_pem)?;
    assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    let client = ca.issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(1))?;
    let tls13 = client_config(
        ca.cert_pem(),
        Some((&client.cert_pem, &client.key_pem)),
        &rustls::version::TLS13,
    )?;
    let version = handshake(tls13, config.clone())?;
    assert_eq!(version, Some(rustls::ProtocolVersion::TLSv1_3));
    let tls12 = client_config(
        ca.cert_pem(),
        Some((&client.cert_pem, &client.key_pem)),
        &rustls::version::TLS12,
    )?;
    assert!(
        handshake(tls12, config.clone()).is_err(),
        "TLS 1.2 accepted"
    );
    let anonymous = client_config(ca.cert_pem(), None, &rustls::version::TLS13)?;
    assert!(
        handshake(anonymous, config).is_err(),
        "no client certificate accepted"
    );
    let bad = server_rustls_config(ca.cert_pem(), &server.cert_pem, "not a key");
    assert!(matches!(bad, Err(Error::Tls { .. })));
    Ok(())
}

fn client_config(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
    version: &'static rustls::SupportedProtocolVersion,
) -> Result<Arc<rustls::ClientConfig>, Box<dyn std::error::Error>> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes())?)?;
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[version])?
    .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder.with_client_auth_cert(
            vec![CertificateDer::from_pem_slice(cert.as_bytes())?],
            PrivateKeyDer::from_pem_slice(key.as_bytes())?,
        )?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Runs a full handshake in memory (plus one application record, so the server sees the
/// client's certificate verdict under TLS 1.3) and returns the negotiated version.
fn handshake(
    client: Arc<rustls::ClientConfig>,
    server: Arc<ServerConfig>,
) -> Result<Option<rustls::ProtocolVersion>, rustls::Error> {
    connect(client, server).map(|server| server.protocol_version())
}

/// As [`handshake`], returning the server's side of the connection.
fn connect(
    client: Arc<rustls::ClientConfig>,
    server: Arc<ServerConfig>,
) -> Result<rustls::ServerConnection, rustls::Error> {
    use std::io::Write as _;
    let name = rustls::pki_types::ServerName::try_from("localhost")
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let mut client = rustls::ClientConnection::new(client, name)?;
    let mut server = rustls::ServerConnection::new(server)?;
    let _ = client.writer().write_all(b"ping");
    for _ in 0..10 {
        let mut buffer = Vec::new();
        while client.wants_write() {
            let _ = client.write_tls(&mut buffer);
        }
        let _ = server.read_tls(&mut &buffer[..]);
        server.process_new_packets()?;
        let mut back = Vec::new();
        while server.wants_write() {
            let _ = server.write_tls(&mut back);
        }
        let _ = client.read_tls(&mut &back[..]);
        client.process_new_packets()?;
    }
    let mut received = [0u8; 4];
    std::io::Read::read_exact(&mut server.reader(), &mut received)
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    Ok(server)
}

/// A client that kept its session (the same client config, hence its resumption store) gets
/// a full handshake every time: no ticket is ever sent, no session is cached, no early data.
#[test]
fn the_signer_never_resumes_a_session() -> TestResult {
    let ca = CertificateAuthority::generate("t", Validity::days_from_now(1))?;
    let server = ca.issue_server_certificate(&["localhost".into()], Validity::days_from_now(1))?;
    let config = server_rustls_config_revoking(
        ca.cert_pem(),
        &server.cert_pem,
        &server.key_pem,
        &Revocations::default(),
    )?;
    assert!(!config.session_storage.can_cache());
    assert!(!config.ticketer.enabled());
    assert_eq!(config.send_tls13_tickets, 0);
    assert_eq!(config.max_early_data_size, 0);
    let client = ca.issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(1))?;
    let client_config = client_config(
        ca.cert_pem(),
        Some((&client.cert_pem, &client.key_pem)),
        &rustls::version::TLS13,
    )?;
    for round in 0..3 {
        let connection = connect(client_config.clone(), config.clone())?;
        assert_eq!(
            connection.handshake_kind(),
            Some(rustls::HandshakeKind::Full),
            "round {round}"
        );
    }
    Ok(())
}

#[test]
fn a_revoked_client_certificate_fails_the_handshake() -> TestResult {
    let ca = CertificateAuthority::generate("t", Validity::days_from_now(1))?;
    let server = ca.issue_server_certificate(&["localhost".into()], Validity::days_from_now(1))?;
    let client = ca.issue_client_certificate("spiffe://vwf/old", Validity::days_from_now(1))?;
    let revocations = Revocations::default();
    let config = server_rustls_config_revoking(
        ca.cert_pem(),
        &server.cert_pem,
        &server.key_pem,
        &revocations,
    )?;
    let client_config = client_config(
        ca.cert_pem(),
        Some((&client.cert_pem, &client.key_pem)),
        &rustls::version::TLS13,
    )?;
    assert!(handshake(client_config.clone(), config.clone()).is_ok());
    let serial = crate::revocation::CertId::of(&der(&client.cert_pem)?)
        .serial
        .ok_or("no serial")?;
    revocations.replace(
        crate::revocation::RevokedConfig {
            fingerprints: Vec::new(),
            serials: vec![serial.to_string()],
        }
        .build()?,
    );
    // The same client config again: it would resume its session if the server allowed it,
    // and a resumed session skips the certificate check.
    let refused = handshake(client_config, config);
    assert!(
        matches!(
            refused,
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked
            ))
        ),
        "{refused:?}"
    );
    Ok(())
}
