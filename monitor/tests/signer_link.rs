//! `GrpcSigner::check` against a real tonic server over mutual TLS on 127.0.0.1: each broken
//! link (server name, CA, expired certificate, refused client certificate, nothing listening,
//! a policy that does not grant `Status`) is named by its real cause, and a policy refusal is
//! told apart from a transport failure. And every call goes over the one connection the
//! client keeps (issue 14): the warm-up `Status` calls keep warm the connection a failover uses.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};
use vwf_monitor::config::SignerSettings;
use vwf_monitor::signer_client::{GrpcSigner, SignerApi, SignerProblem};
use vwf_monitor::state::{KeyRequest, Outcome};
use vwf_proto::v1 as pb;
use vwf_proto::v1::signer_server::{Signer, SignerServer};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Bounds every check (the client's own connect timeout is 5 s).
const LIMIT: Duration = Duration::from_secs(10);

/// A CA that issues the signer's and the monitor's certificates.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new() -> TestResult<Ca> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key)?.pem();
        Ok(Ca {
            issuer: Issuer::new(params, key),
            pem,
        })
    }

    /// (certificate PEM, key PEM) for `names`; expired when `expired`.
    fn server(&self, names: &[&str], expired: bool) -> TestResult<(String, String)> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            let now = time::OffsetDateTime::now_utc();
            params.not_before = now - time::Duration::days(30);
            params.not_after = now - time::Duration::days(1);
        }
        let key = KeyPair::generate()?;
        Ok((
            params.signed_by(&key, &self.issuer)?.pem(),
            key.serialize_pem(),
        ))
    }

    fn client(&self) -> TestResult<(String, String)> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![SanType::URI("spiffe://vwf/monitor".try_into()?)];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate()?;
        Ok((
            params.signed_by(&key, &self.issuer)?.pem(),
            key.serialize_pem(),
        ))
    }
}

/// The client address of every call, one per connection the client opened.
type Peers = Arc<Mutex<Vec<Option<SocketAddr>>>>;

/// Answers `Status`, or refuses it as a policy without the `status` grant does; records the
/// peer of each call.
struct FakeSigner {
    grant_status: bool,
    peers: Peers,
}

impl FakeSigner {
    fn seen<T>(&self, request: &Request<T>) {
        if let Ok(mut peers) = self.peers.lock() {
            peers.push(request.remote_addr());
        }
    }
}

#[tonic::async_trait]
impl Signer for FakeSigner {
    async fn set_signing_key(
        &self,
        _: Request<pb::SetSigningKeyRequest>,
    ) -> Result<Response<pb::SetSigningKeyResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn dry_run(
        &self,
        request: Request<pb::DryRunRequest>,
    ) -> Result<Response<pb::DryRunResponse>, Status> {
        self.seen(&request);
        Ok(Response::new(pb::DryRunResponse {
            allowed: true,
            ..pb::DryRunResponse::default()
        }))
    }

    async fn status(
        &self,
        request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        self.seen(&request);
        if !self.grant_status {
            return Err(Status::permission_denied(
                "client \"spiffe://vwf/monitor\" may not read status",
            ));
        }
        Ok(Response::new(pb::StatusResponse {
            version: "test".into(),
            client_identity: "spiffe://vwf/monitor".into(),
            ..pb::StatusResponse::default()
        }))
    }
}

/// Serves on 127.0.0.1 port 0 with `cert`, trusting client certificates of `client_ca`.
async fn serve(
    cert: (String, String),
    client_ca: &str,
    grant_status: bool,
) -> TestResult<SocketAddr> {
    serve_recording(cert, client_ca, grant_status, Peers::default()).await
}

/// As [`serve`], recording each call's peer in `peers`.
async fn serve_recording(
    cert: (String, String),
    client_ca: &str,
    grant_status: bool,
    peers: Peers,
) -> TestResult<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(cert.0, cert.1))
        .client_ca_root(Certificate::from_pem(client_ca));
    let router = Server::builder()
        .tls_config(tls)?
        .add_service(SignerServer::new(FakeSigner {
            grant_status,
            peers,
        }));
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(router.serve_with_incoming(incoming));
    Ok(addr)
}

/// Writes the monitor's PEM files into `dir` and returns its `[signer]` settings.
fn monitor_side(
    dir: &Path,
    addr: SocketAddr,
    server_name: &str,
    ca_pem: &str,
    client: &(String, String),
) -> TestResult<SignerSettings> {
    let ca = dir.join("ca.pem");
    let cert = dir.join("client.pem");
    let key = dir.join("client.key");
    std::fs::write(&ca, ca_pem)?;
    std::fs::write(&cert, &client.0)?;
    std::fs::write(&key, &client.1)?;
    Ok(SignerSettings {
        endpoint: format!("https://{addr}"),
        server_name: server_name.to_owned(),
        ca,
        client_cert: cert,
        client_key: key,
        timeout: LIMIT,
        status_interval: Duration::from_secs(30),
        cert_expiry_warning: Duration::from_secs(30 * 86_400),
    })
}

async fn check(settings: &SignerSettings) -> TestResult<Result<pb::StatusResponse, SignerProblem>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let signer = GrpcSigner::new(settings, "VIT")?;
    Ok(signer.check(LIMIT).await)
}

/// The normal case, then one broken piece at a time.
struct Rig {
    ca: Ca,
    client: (String, String),
    dir: tempfile::TempDir,
}

impl Rig {
    fn new() -> TestResult<Rig> {
        let ca = Ca::new()?;
        let client = ca.client()?;
        Ok(Rig {
            ca,
            client,
            dir: tempfile::tempdir()?,
        })
    }

    async fn link(
        &self,
        server_cert: (String, String),
        grant_status: bool,
        server_name: &str,
        monitor_ca: &str,
        client: &(String, String),
    ) -> TestResult<Result<pb::StatusResponse, SignerProblem>> {
        let addr = serve(server_cert, &self.ca.pem, grant_status).await?;
        let settings = monitor_side(self.dir.path(), addr, server_name, monitor_ca, client)?;
        check(&settings).await
    }
}

#[tokio::test]
async fn a_good_link_answers_status() -> TestResult {
    let rig = Rig::new()?;
    let cert = rig.ca.server(&["localhost"], false)?;
    let status = rig
        .link(cert, true, "localhost", &rig.ca.pem, &rig.client)
        .await?;
    assert_eq!(
        status.map(|s| s.client_identity),
        Ok("spiffe://vwf/monitor".to_owned())
    );
    Ok(())
}

#[tokio::test]
async fn a_certificate_for_another_name_names_both_names() -> TestResult {
    let rig = Rig::new()?;
    let cert = rig.ca.server(&["signer.example.org"], false)?;
    let problem = rig
        .link(cert, true, "localhost", &rig.ca.pem, &rig.client)
        .await?
        .err();
    assert_eq!(
        problem,
        Some(SignerProblem::NameMismatch {
            configured: "localhost".into(),
            presented: vec!["signer.example.org".into()],
        })
    );
    Ok(())
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_an_unknown_ca() -> TestResult {
    let rig = Rig::new()?;
    let cert = rig.ca.server(&["localhost"], false)?;
    let other = Ca::new()?;
    let problem = rig
        .link(cert, true, "localhost", &other.pem, &rig.client)
        .await?
        .err();
    assert!(
        matches!(problem, Some(SignerProblem::UnknownCa { .. })),
        "{problem:?}"
    );
    Ok(())
}

#[tokio::test]
async fn an_expired_signer_certificate_says_expired() -> TestResult {
    let rig = Rig::new()?;
    let cert = rig.ca.server(&["localhost"], true)?;
    let problem = rig
        .link(cert, true, "localhost", &rig.ca.pem, &rig.client)
        .await?
        .err();
    assert!(
        matches!(problem, Some(SignerProblem::ServerCertExpired { .. })),
        "{problem:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_client_certificate_the_signer_does_not_trust_is_named() -> TestResult {
    let rig = Rig::new()?;
    let cert = rig.ca.server(&["localhost"], false)?;
    let stranger = Ca::new()?.client()?;
    let problem = rig
        .link(cert, true, "localhost", &rig.ca.pem, &stranger)
        .await?
        .err();
    assert!(
        matches!(problem, Some(SignerProblem::ClientCertRejected { .. })),
        "{problem:?}"
    );
    Ok(())
}

#[tokio::test]
async fn nothing_listening_is_connection_refused() -> TestResult {
    let rig = Rig::new()?;
    // A port that was free a moment ago and has no listener now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let settings = monitor_side(rig.dir.path(), addr, "localhost", &rig.ca.pem, &rig.client)?;
    let problem = check(&settings).await?.err();
    assert_eq!(
        problem,
        Some(SignerProblem::ConnectionRefused {
            endpoint: format!("https://{addr}")
        })
    );
    Ok(())
}

#[tokio::test]
async fn a_policy_without_status_is_an_answer_not_a_transport_failure() -> TestResult {
    let rig = Rig::new()?;
    let cert = rig.ca.server(&["localhost"], false)?;
    let problem = rig
        .link(cert, false, "localhost", &rig.ca.pem, &rig.client)
        .await?
        .err();
    let Some(problem) = problem else {
        panic!("Status was answered");
    };
    assert!(
        matches!(problem, SignerProblem::PermissionDenied { .. }),
        "{problem:?}"
    );
    assert!(problem.is_answer());
    assert!(
        problem.to_string().contains("the mTLS link works"),
        "{problem}"
    );
    Ok(())
}

#[tokio::test]
async fn warm_up_calls_and_requests_share_one_connection() -> TestResult {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rig = Rig::new()?;
    let peers = Peers::default();
    let cert = rig.ca.server(&["localhost"], false)?;
    let addr = serve_recording(cert, &rig.ca.pem, true, peers.clone()).await?;
    let settings = monitor_side(rig.dir.path(), addr, "localhost", &rig.ca.pem, &rig.client)?;
    let signer = GrpcSigner::new(&settings, "VIT")?;
    // What `run` does: the start-up check, then warm-up calls on a clone, then a request.
    assert!(signer.check(LIMIT).await.is_ok());
    let warm = signer.clone();
    for _ in 0..3 {
        assert!(warm.check(LIMIT).await.is_ok());
    }
    let request = KeyRequest {
        request_id: "r1".into(),
        account: "acct".into(),
        target: vwf_shared::PublicKey::NULL,
        expected_current_key: vwf_shared::PublicKey::NULL,
        reason: "test".into(),
        dry_run: true,
    };
    let outcome = tokio::time::timeout(LIMIT, signer.call(request)).await?;
    assert!(
        matches!(outcome, Outcome::DryRun { allowed: true, .. }),
        "{outcome:?}"
    );
    let seen = peers.lock().map(|p| p.clone()).unwrap_or_default();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(seen[0].is_some(), "{seen:?}");
    assert!(
        seen.iter().all(|p| *p == seen[0]),
        "every call on the one connection: {seen:?}"
    );
    Ok(())
}
