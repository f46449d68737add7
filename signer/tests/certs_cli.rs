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

/// `vwf-signer certs ARGS` as from a root shell: no systemd credentials directory.
fn certs(args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new(BIN)
        .arg("certs")
        .args(args)
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Exit code 2 and exactly one line on stderr that contains `expected`.
fn assert_bad_input(output: &std::process::Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{expected:?} not in {stderr:?}");
}

fn verifies(ca_pem: &str, cert_pem: &str) -> Result<bool, Box<dyn std::error::Error>> {
    use rustls::pki_types::pem::PemObject;
    let verifier =
        vwf_signer::tls::client_verifier(ca_pem, &vwf_signer::revocation::Revocations::default())?;
    let cert = rustls::pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes())?;
    Ok(verifier
        .verify_client_cert(&cert, &[], rustls::pki_types::UnixTime::now())
        .is_ok())
}

#[test]
fn certs_issue_adds_a_client_from_the_existing_ca_and_refuses_to_overwrite() -> TestResult {
    let dir = tempfile::tempdir()?;
    assert!(init(dir.path(), &[])?.status.success());
    let ca_pem = read(dir.path(), "ca.pem")?;
    let monitor_pem = read(dir.path(), "client-spiffe-vwf-monitor.pem")?;
    let ca_dir = text(dir.path());
    let issue = |extra: &[&str]| {
        let mut args = vec![
            "issue",
            "--client",
            "spiffe://vwf/monitor-2",
            "--ca-dir",
            &ca_dir,
        ];
        args.extend_from_slice(extra);
        certs(&args)
    };
    let output = issue(&[])?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout)?;
    assert!(!stdout.contains("PRIVATE KEY"), "{stdout}");
    assert!(
        stdout.contains("issued client \"spiffe://vwf/monitor-2\" serial=")
            && stdout.contains(" sha256="),
        "{stdout}"
    );
    assert_eq!(mode(dir.path(), "client-spiffe-vwf-monitor-2.pem")?, 0o644);
    assert_eq!(mode(dir.path(), "client-spiffe-vwf-monitor-2.key")?, 0o600);
    let issued = read(dir.path(), "client-spiffe-vwf-monitor-2.pem")?;
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(issued.as_bytes())
        .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())?;
    assert_eq!(client_identity(&der)?, "spiffe://vwf/monitor-2");
    assert!(verifies(&ca_pem, &issued)?, "not signed by the CA");
    // The CA and the other files are untouched.
    assert_eq!(read(dir.path(), "ca.pem")?, ca_pem);
    assert_eq!(
        read(dir.path(), "client-spiffe-vwf-monitor.pem")?,
        monitor_pem
    );

    let again = issue(&[])?;
    assert_bad_input(&again, "--force");
    assert_eq!(read(dir.path(), "client-spiffe-vwf-monitor-2.pem")?, issued);
    let forced = issue(&["--force", "--days", "10"])?;
    assert!(forced.status.success());
    assert_ne!(read(dir.path(), "client-spiffe-vwf-monitor-2.pem")?, issued);

    // Elsewhere with --out; never past the CA's own end.
    let out = dir.path().join("out");
    let elsewhere = issue(&["--out", &text(&out), "--days", "36500"])?;
    assert!(
        elsewhere.status.success(),
        "{}",
        String::from_utf8_lossy(&elsewhere.stderr)
    );
    assert!(String::from_utf8(elsewhere.stdout)?.contains("valid until the CA's end"));
    assert!(verifies(
        &ca_pem,
        &read(&out, "client-spiffe-vwf-monitor-2.pem")?
    )?);
    Ok(())
}

#[test]
fn certs_issue_server_name_rotates_the_server_certificate() -> TestResult {
    let dir = tempfile::tempdir()?;
    assert!(init(dir.path(), &[])?.status.success());
    let before = read(dir.path(), "server.pem")?;
    let ca_dir = text(dir.path());
    let args = [
        "issue",
        "--server-name",
        "signer.example.org",
        "--ca-dir",
        &ca_dir,
    ];
    assert_bad_input(&certs(&args)?, "server.pem already exists");
    let mut forced = args.to_vec();
    forced.push("--force");
    let output = certs(&forced)?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8(output.stdout)?.contains("issued server \"signer.example.org\""));
    assert_ne!(read(dir.path(), "server.pem")?, before);
    assert_eq!(mode(dir.path(), "server.key")?, 0o600);
    Ok(())
}

#[test]
fn certs_list_shows_every_certificate_and_marks_the_revoked_ones() -> TestResult {
    use sha2::Digest;
    let dir = tempfile::tempdir()?;
    assert!(init(dir.path(), &[])?.status.success());
    let list = |extra: &[&str]| {
        let dir = text(dir.path());
        let mut args = vec!["list", "--dir", dir.as_str()];
        args.extend_from_slice(extra);
        certs(&args)
    };
    let output = list(&[])?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout)?;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("ca.pem role=ca name=\"vwf-signer CA\" serial="),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(
            "client-spiffe-vwf-monitor.pem role=client name=\"spiffe://vwf/monitor\" "
        ),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("server.pem role=server name=\"localhost,127.0.0.1\" "),
        "{stdout}"
    );
    for line in &lines {
        assert!(line.contains(" status=valid revoked=unknown"), "{line}");
        assert!(line.contains(" days_left=824 "), "{line}");
    }
    // The fingerprint is SHA-256 over the DER.
    let client_pem = read(dir.path(), "client-spiffe-vwf-monitor.pem")?;
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(client_pem.as_bytes())
        .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())?;
    let fingerprint = hex::encode(sha2::Sha256::digest(&der));
    assert!(
        lines[1].contains(&format!(" sha256={fingerprint} ")),
        "{stdout}"
    );

    // With a config, the certificate its [revoked] list names is marked.
    let config = dir.path().join("signer.toml");
    let colons = fingerprint
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    std::fs::write(
        &config,
        minimal_config(&format!("fingerprints = [\"{colons}\"]")),
    )?;
    let output = list(&["--config", &text(&config)])?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout)?;
    let marked: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with(" revoked=yes"))
        .collect();
    assert_eq!(marked.len(), 1, "{stdout}");
    assert!(
        marked[0].starts_with("client-spiffe-vwf-monitor.pem "),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.ends_with(" revoked=no"))
            .count(),
        2
    );
    Ok(())
}

/// A config that parses, with `revoked` as the body of its `[revoked]` table. Its secrets are
/// systemd credentials, as in the deployed examples: `certs list` runs from a root shell, where
/// `$CREDENTIALS_DIRECTORY` is not set, and must still read the `[revoked]` list.
fn minimal_config(revoked: &str) -> String {
    format!(
        r#"
[tls]
client_ca = "ca.pem"
cert = "server.pem"
key = "$CREDENTIALS_DIRECTORY/tls-key"
[chain]
profile = "VIT"
nodes = ["https://a.example", "https://b.example", "https://c.example"]
[key]
age_file = "active.age"
identity_file = "$CREDENTIALS_DIRECTORY/age-identity"
[state]
dir = "state"
[[account]]
name = "vit-test-witness"
allow_null_key = true
[[account.client]]
identity = "spiffe://vwf/monitor"
may = ["disable"]
[revoked]
{revoked}
"#
    )
}

#[test]
fn certs_issue_and_list_refuse_bad_input_with_exit_2() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = text(&dir.path().join("nowhere"));
    assert_bad_input(
        &certs(&["issue", "--client", "x.example", "--ca-dir", &missing])?,
        "no such directory",
    );
    assert_bad_input(&certs(&["list", "--dir", &missing])?, "nowhere");
    // A directory without a CA.
    let empty = text(dir.path());
    assert_bad_input(
        &certs(&["issue", "--client", "x.example", "--ca-dir", &empty])?,
        "ca.pem: missing",
    );
    assert_bad_input(&certs(&["list", "--dir", &empty])?, "no *.pem");
    // Neither or both of --client and --server-name.
    let a = dir.path().join("a");
    assert!(init(&a, &[])?.status.success());
    let a_dir = text(&a);
    assert_eq!(
        certs(&["issue", "--ca-dir", &a_dir])?.status.code(),
        Some(2)
    );
    assert_eq!(
        certs(&[
            "issue",
            "--ca-dir",
            &a_dir,
            "--client",
            "x",
            "--server-name",
            "y"
        ])?
        .status
        .code(),
        Some(2)
    );
    // A CA key others can read, a key of another CA, a CA file that is no certificate.
    std::fs::set_permissions(a.join("ca.key"), std::fs::Permissions::from_mode(0o644))?;
    assert_bad_input(
        &certs(&["issue", "--client", "x.example", "--ca-dir", &a_dir])?,
        "chmod 600",
    );
    std::fs::set_permissions(a.join("ca.key"), std::fs::Permissions::from_mode(0o600))?;
    let b = dir.path().join("b");
    assert!(init(&b, &[])?.status.success());
    std::fs::copy(b.join("ca.key"), a.join("ca.key"))?;
    assert_bad_input(
        &certs(&["issue", "--client", "x.example", "--ca-dir", &a_dir])?,
        "not the key of the CA certificate",
    );
    std::fs::write(a.join("ca.pem"), "not a certificate\n")?;
    assert_bad_input(
        &certs(&["issue", "--client", "x.example", "--ca-dir", &a_dir])?,
        "ca.pem",
    );
    assert_bad_input(&certs(&["list", "--dir", &a_dir])?, "ca.pem");
    assert!(!a.join("client-x.example.pem").exists());
    // A [revoked] entry that is not hex.
    let config = dir.path().join("signer.toml");
    std::fs::write(&config, minimal_config("serials = [\"xyz\"]"))?;
    assert_bad_input(
        &certs(&["list", "--dir", &text(&b), "--config", &text(&config)])?,
        "[revoked] serials[0]",
    );
    Ok(())
}

/// A file planted where `issue` writes (a symlink to a file elsewhere, dangling or not) is
/// refused without --force and replaced, never written through, with it.
#[test]
fn certs_issue_never_writes_through_a_planted_symlink() -> TestResult {
    let dir = tempfile::tempdir()?;
    assert!(init(dir.path(), &[])?.status.success());
    let elsewhere = tempfile::tempdir()?;
    let dangling = elsewhere.path().join("stolen.key");
    let existing = elsewhere.path().join("victim.pem");
    std::fs::write(&existing, "victim\n")?;
    std::os::unix::fs::symlink(&dangling, dir.path().join("client-x.example.key"))?;
    std::os::unix::fs::symlink(&existing, dir.path().join("client-x.example.pem"))?;
    let ca_dir = text(dir.path());
    let issue = |extra: &[&str]| {
        let mut args = vec!["issue", "--client", "x.example", "--ca-dir", &ca_dir];
        args.extend_from_slice(extra);
        certs(&args)
    };
    assert_bad_input(&issue(&[])?, "--force");
    assert!(!dangling.exists());
    assert_eq!(std::fs::read_to_string(&existing)?, "victim\n");
    let forced = issue(&["--force"])?;
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(
        !dangling.exists(),
        "the key was written through the symlink"
    );
    assert_eq!(std::fs::read_to_string(&existing)?, "victim\n");
    for (name, expected) in [
        ("client-x.example.key", 0o600),
        ("client-x.example.pem", 0o644),
    ] {
        let metadata = std::fs::symlink_metadata(dir.path().join(name))?;
        assert!(metadata.file_type().is_file(), "{name} is still a symlink");
        assert_eq!(metadata.permissions().mode() & 0o777, expected, "{name}");
    }
    Ok(())
}

/// `certs list` over hostile *.pem files: each is refused with one line and exit 2, naming
/// the file and never echoing a key; a FIFO is skipped instead of read; many certificates in
/// one file are all listed.
#[test]
fn certs_list_refuses_hostile_files_clearly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let list = |dir: &Path| certs(&["list", "--dir", &text(dir)]);
    let ca = CertificateAuthority::generate("t", Validity::days_from_now(10))?;
    let client = ca.issue_client_certificate("spiffe://vwf/m", Validity::days_from_now(10))?;
    let secret_line = client
        .key_pem
        .lines()
        .nth(1)
        .ok_or("a key PEM has a body")?
        .to_owned();
    let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_owned();
    let not_x509 = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        "QUJDRA=="
    );
    let unterminated = "-----BEGIN CERTIFICATE-----\nQUJDRA==\n".to_owned();
    let huge = client
        .cert_pem
        .repeat(64 * 1024 / client.cert_pem.len() + 1);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("huge.pem", huge.into_bytes(), "huge.pem"),
        (
            "binary.pem",
            vec![0xff, 0xfe, 0x00, 0x80, 0x16, 0x03],
            "binary.pem",
        ),
        ("empty.pem", Vec::new(), "no PEM certificate"),
        (
            "key.pem",
            client.key_pem.as_bytes().to_vec(),
            "no PEM certificate",
        ),
        (
            "key-and-junk.pem",
            format!("{}{bad_base64}", client.key_pem.as_str()).into_bytes(),
            "key-and-junk.pem",
        ),
        (
            "notx509.pem",
            not_x509.into_bytes(),
            "not an X.509 certificate",
        ),
        (
            "unterminated.pem",
            unterminated.into_bytes(),
            "unterminated.pem",
        ),
    ];
    for (name, bytes, expected) in cases {
        let case = tempfile::tempdir()?;
        std::fs::write(case.path().join(name), &bytes)?;
        let output = list(case.path())?;
        assert_bad_input(&output, expected);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains(&secret_line), "{name}: the key is echoed");
        assert!(!stderr.contains("PRIVATE KEY"), "{name}: {stderr}");
    }
    // A FIFO named *.pem is not a file: skipped, not read (reading it would block forever).
    let made = Command::new("mkfifo")
        .arg(dir.path().join("fifo.pem"))
        .status()?;
    assert!(made.success());
    let many = 40;
    std::fs::write(dir.path().join("many.pem"), client.cert_pem.repeat(many))?;
    let mut child = Command::new(BIN)
        .args(["certs", "list", "--dir", &text(dir.path())])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait()?.is_none() {
        if std::time::Instant::now() > deadline {
            child.kill()?;
            return Err("certs list hung on a FIFO".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout)?;
    assert_eq!(stdout.lines().count(), many, "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("many.pem role=client"))
    );
    Ok(())
}
