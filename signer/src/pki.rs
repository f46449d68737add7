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
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::Error;

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

    /// Loads an existing CA from its PEM certificate and PEM private key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let key = KeyPair::from_pem(key_pem).map_err(cert_error("CA key"))?;
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
