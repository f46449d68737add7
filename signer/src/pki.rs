//! A tiny private CA for the signer↔monitor mTLS link (rcgen 0.14, ECDSA P-256).
//!
//! The CA gets `keyCertSign`/`cRLSign`; leaves get `digitalSignature` plus `serverAuth` or
//! `clientAuth`, their own subject DN and an explicit validity window. A client's identity is a
//! URI SAN when it looks like a URI (`spiffe://vwf/monitor`), else a DNS SAN.

use std::fmt;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::revocation::CertId;

/// A certificate's validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// Start (a minute in the past at issue time, to absorb clock skew).
    pub not_before: OffsetDateTime,
    /// End.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From one minute ago until `days` days from now.
    pub fn days_from_now(days: u32) -> Self {
        let now = OffsetDateTime::now_utc();
        Validity {
            not_before: now - Duration::minutes(1),
            not_after: now + Duration::days(i64::from(days)),
        }
    }
}

/// A PEM certificate and its PEM (PKCS#8) private key; the key is wiped on drop.
pub struct IssuedPem {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: Zeroizing<String>,
}

impl fmt::Debug for IssuedPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedPem")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[REDACTED]")
            .finish()
    }
}

/// A CA able to issue server and client certificates.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("cert_pem", &self.cert_pem)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl CertificateAuthority {
    /// Generates a new self-signed CA named `common_name`.
    pub fn generate(common_name: &str, validity: Validity) -> Result<Self, Error> {
        let key = KeyPair::generate().map_err(cert_error("CA key"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let cert = params.self_signed(&key).map_err(cert_error("CA"))?;
        Ok(CertificateAuthority {
            issuer: Issuer::new(params, key),
            cert_pem: cert.pem(),
        })
    }

    /// Loads an existing CA from its PEM certificate and PEM private key. Refuses a key that is
    /// not the certificate's: everything issued with it would fail to verify.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let key = KeyPair::from_pem(key_pem).map_err(cert_error("CA key"))?;
        let der = <rustls::pki_types::CertificateDer<'_> as PemObject>::from_pem_slice(
            cert_pem.as_bytes(),
        )
        .map_err(|e| Error::Certificate {
            what: "CA".into(),
            reason: e.to_string(),
        })?;
        let (_, cert) = X509Certificate::from_der(&der).map_err(|e| Error::Certificate {
            what: "CA".into(),
            reason: e.to_string(),
        })?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(Error::Certificate {
                what: "CA key".into(),
                reason: "it is not the key of the CA certificate".into(),
            });
        }
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key).map_err(cert_error("CA"))?;
        Ok(CertificateAuthority {
            issuer,
            cert_pem: cert_pem.to_owned(),
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM (wiped on drop).
    pub fn key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.issuer.key().serialize_pem())
    }

    /// Issues the signer's server certificate for `names` (DNS names or IP addresses).
    pub fn issue_server_certificate(
        &self,
        names: &[String],
        validity: Validity,
    ) -> Result<IssuedPem, Error> {
        let mut params =
            CertificateParams::new(names.to_vec()).map_err(cert_error("server names"))?;
        let common_name = names.first().map_or("vwf-signer", String::as_str);
        params.distinguished_name = dn(common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, validity, "server")
    }

    /// Issues a client certificate whose identity is `identity`: a URI SAN when it contains
    /// `://`, else a DNS SAN. Any validity is accepted, so tests can issue expired certificates.
    pub fn issue_client_certificate(
        &self,
        identity: &str,
        validity: Validity,
    ) -> Result<IssuedPem, Error> {
        let name = identity
            .to_owned()
            .try_into()
            .map_err(cert_error("client identity"))?;
        let san = if identity.contains("://") {
            SanType::URI(name)
        } else {
            SanType::DnsName(name)
        };
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![san];
        params.distinguished_name = dn(identity);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, validity, "client")
    }

    fn issue(
        &self,
        mut params: CertificateParams,
        validity: Validity,
        what: &'static str,
    ) -> Result<IssuedPem, Error> {
        let key = KeyPair::generate().map_err(cert_error(what))?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(cert_error(what))?;
        Ok(IssuedPem {
            cert_pem: cert.pem(),
            key_pem: Zeroizing::new(key.serialize_pem()),
        })
    }
}

/// Days before its end from which a certificate is reported as expiring.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// What a certificate is for, as its extensions say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A CA (basicConstraints CA:TRUE).
    Ca,
    /// A server certificate (extendedKeyUsage serverAuth).
    Server,
    /// A client certificate (extendedKeyUsage clientAuth).
    Client,
    /// Anything else.
    Other,
}

impl Role {
    /// The name `certs list` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ca => "ca",
            Role::Server => "server",
            Role::Client => "client",
            Role::Other => "other",
        }
    }
}

/// Where a certificate stands on its validity window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Valid, and for more than [`EXPIRY_WARNING_DAYS`] days still.
    Valid,
    /// Not valid yet.
    NotYetValid,
    /// Valid, but ends within [`EXPIRY_WARNING_DAYS`] days.
    Expiring,
    /// Past its end.
    Expired,
}

impl Expiry {
    /// The name `certs list` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Expiry::Valid => "valid",
            Expiry::NotYetValid => "not-yet-valid",
            Expiry::Expiring => "expiring",
            Expiry::Expired => "expired",
        }
    }
}

/// What `certs list`, `check-config` and `serve` show of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's common name (empty when it has none).
    pub common_name: String,
    /// The identity a client certificate carries (its URI, else DNS SAN); for other
    /// certificates every DNS name and IP address of their SAN.
    pub names: Vec<String>,
    /// What it is for.
    pub role: Role,
    /// Fingerprint and serial, as `[revoked]` names them.
    pub id: CertId,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl CertInfo {
    /// Reads a DER-encoded certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        let extended = cert.extended_key_usage().ok().flatten().map(|e| e.value);
        let role = if cert.is_ca() {
            Role::Ca
        } else if extended.is_some_and(|e| e.client_auth && !e.server_auth) {
            Role::Client
        } else if extended.is_some_and(|e| e.server_auth) {
            Role::Server
        } else {
            Role::Other
        };
        let names = if role == Role::Client {
            crate::tls::client_identity(der).into_iter().collect()
        } else {
            san_names(&cert)
        };
        let time = |t: x509_parser::time::ASN1Time| {
            OffsetDateTime::from_unix_timestamp(t.timestamp())
                .map_err(|e| format!("validity date out of range: {e}"))
        };
        let validity = cert.validity();
        Ok(CertInfo {
            common_name,
            names,
            role,
            id: CertId::of(der),
            not_before: time(validity.not_before)?,
            not_after: time(validity.not_after)?,
        })
    }

    /// Every certificate of a PEM text, in order; an error when there is none or one does not
    /// parse.
    pub fn from_pem(pem: &str) -> Result<Vec<Self>, String> {
        use rustls::pki_types::CertificateDer;
        let mut out = Vec::new();
        for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let der = der.map_err(|e| format!("not a PEM certificate file: {e}"))?;
            out.push(Self::from_der(&der)?);
        }
        if out.is_empty() {
            return Err("holds no PEM certificate".into());
        }
        Ok(out)
    }

    /// Whole days from `now` to the end of validity (negative once expired).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }

    /// Where the certificate stands at `now`.
    pub fn expiry(&self, now: OffsetDateTime) -> Expiry {
        if now >= self.not_after {
            Expiry::Expired
        } else if now < self.not_before {
            Expiry::NotYetValid
        } else if self.not_after - now <= Duration::days(EXPIRY_WARNING_DAYS) {
            Expiry::Expiring
        } else {
            Expiry::Valid
        }
    }

    /// How people name it: the identity or SAN names, else the common name.
    pub fn display_name(&self) -> String {
        if self.names.is_empty() {
            self.common_name.clone()
        } else {
            self.names.join(",")
        }
    }
}

/// A configured certificate that has expired or ends within [`EXPIRY_WARNING_DAYS`] days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryNotice {
    /// The config field naming the file, e.g. `[tls] cert`.
    pub field: &'static str,
    /// The file.
    pub path: std::path::PathBuf,
    /// The certificate's name ([`CertInfo::display_name`]).
    pub name: String,
    /// Its end.
    pub not_after: OffsetDateTime,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// Whether it has ended already.
    pub expired: bool,
}

impl ExpiryNotice {
    /// The stable `event` field of the log line: `cert-expired` or `cert-expiring`.
    pub fn event(&self) -> &'static str {
        if self.expired {
            "cert-expired"
        } else {
            "cert-expiring"
        }
    }
}

impl fmt::Display for ExpiryNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (field, path, name, end) = (
            self.field,
            self.path.display(),
            &self.name,
            utc_text(self.not_after),
        );
        if self.expired {
            write!(
                f,
                "{field} {path}: certificate {name:?} expired on {end}; rotate it (README: Certificate rotation and revocation)"
            )
        } else {
            write!(
                f,
                "{field} {path}: certificate {name:?} expires on {end}, in {} day(s); rotate it before then (README: Certificate rotation and revocation)",
                self.days_left
            )
        }
    }
}

/// The certificates of `pem` (read from `path`, named by the config's `field`) that have
/// expired or end within [`EXPIRY_WARNING_DAYS`] days of `now`.
pub fn expiry_notices(
    field: &'static str,
    path: &std::path::Path,
    pem: &str,
    now: OffsetDateTime,
) -> Result<Vec<ExpiryNotice>, String> {
    let certs = CertInfo::from_pem(pem).map_err(|e| format!("{field} {}: {e}", path.display()))?;
    Ok(certs
        .into_iter()
        .filter_map(|info| {
            let expiry = info.expiry(now);
            matches!(expiry, Expiry::Expiring | Expiry::Expired).then(|| ExpiryNotice {
                field,
                path: path.to_owned(),
                name: info.display_name(),
                not_after: info.not_after,
                days_left: info.days_left(now),
                expired: expiry == Expiry::Expired,
            })
        })
        .collect())
}

/// A certificate's DNS names and IP addresses.
fn san_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::URI(uri) => Some((*uri).to_owned()),
            GeneralName::IPAddress(bytes) => ip_text(bytes),
            _ => None,
        })
        .collect()
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    let ip: std::net::IpAddr = match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok()?.into(),
        16 => <[u8; 16]>::try_from(bytes).ok()?.into(),
        _ => return None,
    };
    Some(ip.to_string())
}

/// Formats a time as RFC 3339 UTC to the second, e.g. `2026-03-01T12:00:00Z`.
pub fn utc_text(time: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| time.unix_timestamp().to_string())
}

/// A file-name-safe form of a client identity: `spiffe://vwf/monitor` → `spiffe-vwf-monitor`.
pub fn sanitize_name(identity: &str) -> String {
    let mut out = String::with_capacity(identity.len());
    for c in identity.chars() {
        let keep = c.is_ascii_alphanumeric() || c == '.' || c == '_';
        if keep {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches(|c| c == '-' || c == '.');
    if trimmed.is_empty() {
        "client".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "vit-witness-failover");
    name.push(DnType::CommonName, common_name);
    name
}

fn cert_error(what: &'static str) -> impl Fn(rcgen::Error) -> Error {
    move |e| Error::Certificate {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_identities_into_file_names() {
        assert_eq!(sanitize_name("spiffe://vwf/monitor"), "spiffe-vwf-monitor");
        assert_eq!(sanitize_name("monitor.example"), "monitor.example");
        assert_eq!(sanitize_name("../../etc"), "etc");
        assert_eq!(sanitize_name("///"), "client");
    }

    #[test]
    fn cert_info_reads_roles_names_and_expiry() -> Result<(), Box<dyn std::error::Error>> {
        let ca = CertificateAuthority::generate("test CA", Validity::days_from_now(400))?;
        let server = ca.issue_server_certificate(
            &["localhost".into(), "127.0.0.1".into()],
            Validity::days_from_now(10),
        )?;
        let client =
            ca.issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(100))?;
        let now = OffsetDateTime::now_utc();
        let [ca_info] = <[CertInfo; 1]>::try_from(CertInfo::from_pem(ca.cert_pem())?)
            .map_err(|_| "one CA certificate")?;
        assert_eq!(
            (ca_info.role, ca_info.display_name().as_str()),
            (Role::Ca, "test CA")
        );
        assert_eq!(ca_info.expiry(now), Expiry::Valid);
        assert!((398..=400).contains(&ca_info.days_left(now)));
        let server_info = CertInfo::from_pem(&server.cert_pem)?.remove(0);
        assert_eq!(server_info.role, Role::Server);
        assert_eq!(server_info.names, ["localhost", "127.0.0.1"]);
        assert_eq!(server_info.expiry(now), Expiry::Expiring);
        assert_eq!(
            server_info.expiry(now + Duration::days(11)),
            Expiry::Expired
        );
        assert!(server_info.days_left(now + Duration::days(11)) < 0);
        let client_info = CertInfo::from_pem(&client.cert_pem)?.remove(0);
        assert_eq!(client_info.role, Role::Client);
        assert_eq!(client_info.display_name(), "spiffe://vwf/monitor");
        assert!(client_info.id.serial.is_some());
        assert!(CertInfo::from_pem("no pem here").is_err());
        let path = std::path::Path::new("server.pem");
        assert_eq!(
            expiry_notices("[tls] cert", path, ca.cert_pem(), now),
            Ok(vec![])
        );
        let soon = expiry_notices("[tls] cert", path, &server.cert_pem, now)?;
        assert!(
            matches!(&soon[..], [n] if n.event() == "cert-expiring" && n.to_string().contains("in 9 day")),
            "{soon:?}"
        );
        let later = expiry_notices(
            "[tls] cert",
            path,
            &server.cert_pem,
            now + Duration::days(11),
        )?;
        assert!(
            matches!(&later[..], [n] if n.event() == "cert-expired" && n.to_string().contains("expired on")),
            "{later:?}"
        );
        assert_eq!(utc_text(OffsetDateTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        Ok(())
    }

    #[test]
    fn ca_round_trips_through_pem_and_debug_hides_keys() -> Result<(), Error> {
        let ca = CertificateAuthority::generate("test CA", Validity::days_from_now(1))?;
        let key_pem = ca.key_pem();
        let again = CertificateAuthority::from_pem(ca.cert_pem(), &key_pem)?;
        let client =
            again.issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(1))?;
        for shown in [
            format!("{ca:?}"),
            format!("{again:?}"),
            format!("{client:?}"),
        ] {
            assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        }
        assert!(client.key_pem.contains("PRIVATE KEY"));
        Ok(())
    }
}
