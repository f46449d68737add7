//! `vwf-signer certs init` through the real binary, then real mutual-TLS handshakes on
//! 127.0.0.1 against a tonic health server built with `tls::server_tls_config`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use vwf_signer::pki::{CertificateAuthority, Validity};
use vwf_signer::tls::{client_identity, client_tls_config, server_tls_config};

const BIN: &str = env!("CARGO_BIN_EXE_vwf-signer");

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn init(dir: &Path, extra: &[&str]) -> std::io::Result<std::process::Output> {
    let dir = dir.to_string_lossy();
    let mut args = vec![
        "certs",
        "init",
        "--dir",
        &dir,
        "--server-name",
        "localhost",
        "--server-name",
        "127.0.0.1",
        "--client",
        "spiffe://vwf/monitor",
    ];
    args.extend_from_slice(extra);
    Command::new(BIN).args(&args).output()
}

fn read(dir: &Path, name: &str) -> std::io::Result<String> {
    std::fs::read_to_string(dir.join(name))
}

fn mode(dir: &Path, name: &str) -> std::io::Result<u32> {
    Ok(std::fs::metadata(dir.join(name))?.permissions().mode() & 0o777)
}

#[test]
fn certs_init_writes_files_with_modes_and_refuses_to_overwrite() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = init(dir.path(), &[])?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout)?;
    for (name, expected) in [
        ("ca.pem", 0o644),
        ("ca.key", 0o600),
        ("server.pem", 0o644),
        ("server.key", 0o600),
        ("client-spiffe-vwf-monitor.pem", 0o644),
        ("client-spiffe-vwf-monitor.key", 0o600),
    ] {
        assert_eq!(mode(dir.path(), name)?, expected, "{name}");
        assert!(stdout.contains(name), "{stdout}");
    }
    assert!(!stdout.contains("PRIVATE KEY"));
    let ca_before = read(dir.path(), "ca.pem")?;
    let again = init(dir.path(), &[])?;
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(read(dir.path(), "ca.pem")?, ca_before);
    let forced = init(dir.path(), &["--force", "--days", "30"])?;
    assert!(forced.status.success());
    assert_ne!(read(dir.path(), "ca.pem")?, ca_before);
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(
        read(dir.path(), "client-spiffe-vwf-monitor.pem")?.as_bytes(),
    )
    .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())?;
    assert_eq!(client_identity(&der)?, "spiffe://vwf/monitor");
    Ok(())
}

/// Calls Health/Check with `tls`; Ok(()) only when the RPC succeeded.
async fn check(port: u16, tls: ClientTlsConfig) -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = Endpoint::from_shared(format!("https://127.0.0.1:{port}"))?
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    let channel = endpoint.connect().await?;
    let mut client = HealthClient::new(channel);
    client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_accepts_the_issued_client_and_rejects_the_rest() -> TestResult {
    // Binaries install the provider in main; this test process is its own "main".
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir()?;
    let output = init(dir.path(), &[])?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (ca_pem, ca_key) = (read(dir.path(), "ca.pem")?, read(dir.path(), "ca.key")?);
    let server_config = server_tls_config(
        &ca_pem,
        &read(dir.path(), "server.pem")?,
        &read(dir.path(), "server.key")?,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::builder()
        .tls_config(server_config)?
        .add_service(health)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            async {
                let _ = stopped.await;
            },
        );
    let server = tokio::spawn(server);

    let client_pem = read(dir.path(), "client-spiffe-vwf-monitor.pem")?;
    let client_key = read(dir.path(), "client-spiffe-vwf-monitor.key")?;
    let good = client_tls_config(&ca_pem, &client_pem, &client_key, "localhost");
    let result = check(port, good).await;
    assert!(result.is_ok(), "issued client refused: {result:?}");

    let anonymous = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca_pem))
        .domain_name("localhost");
    assert!(
        check(port, anonymous).await.is_err(),
        "client without certificate accepted"
    );

    let other_ca = CertificateAuthority::generate("another CA", Validity::days_from_now(1))?;
    let foreign =
        other_ca.issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(1))?;
    let tls = client_tls_config(&ca_pem, &foreign.cert_pem, &foreign.key_pem, "localhost");
    assert!(
        check(port, tls).await.is_err(),
        "certificate from another CA accepted"
    );

    let ca = CertificateAuthority::from_pem(&ca_pem, &ca_key)?;
    let now = time::OffsetDateTime::now_utc();
    let past = Validity {
        not_before: now - time::Duration::days(10),
        not_after: now - time::Duration::days(1),
    };
    let expired = ca.issue_client_certificate("spiffe://vwf/monitor", past)?;
    let tls = client_tls_config(&ca_pem, &expired.cert_pem, &expired.key_pem, "localhost");
    assert!(
        check(port, tls).await.is_err(),
        "expired certificate accepted"
    );

    // Still serving the good client after the refusals.
    let good = client_tls_config(&ca_pem, &client_pem, &client_key, "localhost");
    assert!(check(port, good).await.is_ok());
    let _ = stop.send(());
    server.await??;
    Ok(())
}
