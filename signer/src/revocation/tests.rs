//! Fingerprint and serial parsing, the `[revoked]` table, and the verifier refusing revoked
//! certificates in a real (in-memory) handshake.

use rustls::pki_types::pem::PemObject;

use super::*;
use crate::pki::{CertificateAuthority, Validity};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn fingerprints_parse_with_or_without_colons_in_any_case() -> TestResult {
    let plain = "ab".repeat(32);
    let colons = vec!["AB"; 32].join(":");
    assert_eq!(Fingerprint::parse(&plain)?, Fingerprint::parse(&colons)?);
    assert_eq!(Fingerprint::parse(&colons)?.to_string(), plain);
    for (bad, expected) in [
        ("", "empty"),
        ("abcd", "32 bytes"),
        (&"zz".repeat(32)[..], "not a hex digit"),
        (&"a".repeat(63)[..], "odd number"),
        ("AB:C:DE", "two hex digits"),
        (&format!("{plain}00")[..], "32 bytes"),
    ] {
        let message = Fingerprint::parse(bad).err().unwrap_or_default();
        assert!(message.contains(expected), "{bad:?}: {message:?}");
    }
    Ok(())
}

#[test]
fn serials_parse_as_hex_and_ignore_leading_zeros() -> TestResult {
    let a = Serial::parse("0x00:1A:2b")?;
    assert_eq!(a, Serial::parse("1a2b")?);
    assert_eq!(a, Serial::parse("01A2B")?);
    assert_eq!(a, Serial::from_raw(&[0, 0x1a, 0x2b]));
    assert_eq!(a.to_string(), "1a2b");
    assert_eq!(Serial::parse("0")?.to_string(), "0");
    assert!(Serial::parse(&"11".repeat(21)).is_err());
    assert!(Serial::parse("g1").is_err());
    assert!(Serial::parse("").is_err());
    Ok(())
}

#[test]
fn the_revoked_table_is_checked_strictly() {
    let config = |text: &str| -> Result<DenyList, String> {
        let parsed: RevokedConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        parsed.build()
    };
    let good = config(&format!(
        "fingerprints = [\"{}\"]\nserials = [\"01\", \"0x02\"]",
        "0f".repeat(32)
    ));
    assert_eq!(good.map(|l| l.len()), Ok((1, 2)));
    assert_eq!(config("").map(|l| l.is_empty()), Ok(true));
    for (text, expected) in [
        ("fingerprints = [\"12\"]", "fingerprints[0]"),
        ("serials = [\"01\", \"1\"]", "listed twice"),
        ("serials = [\"xyz\"]", "serials[0]"),
        ("fingerprint = []", "unknown field"),
    ] {
        let message = config(text).err().unwrap_or_default();
        assert!(message.contains(expected), "{text}: {message:?}");
    }
}

fn der(pem: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    Ok(CertificateDer::from_pem_slice(pem.as_bytes())?.to_vec())
}

#[test]
fn deny_list_matches_by_fingerprint_or_serial() -> TestResult {
    let ca = CertificateAuthority::generate("t", Validity::days_from_now(1))?;
    let a = der(&ca
        .issue_client_certificate("spiffe://vwf/a", Validity::days_from_now(1))?
        .cert_pem)?;
    let b = der(&ca
        .issue_client_certificate("spiffe://vwf/b", Validity::days_from_now(1))?
        .cert_pem)?;
    let (id_a, id_b) = (CertId::of(&a), CertId::of(&b));
    let serial_b = id_b.serial.clone().ok_or("no serial")?;
    let list = RevokedConfig {
        fingerprints: vec![id_a.fingerprint.to_string().to_uppercase()],
        serials: vec![serial_b.to_string()],
    }
    .build()?;
    assert!(
        list.revokes(&id_a)
            .is_some_and(|r| r.starts_with("fingerprint"))
    );
    assert!(
        list.revokes_der(&b)
            .is_some_and(|r| r.starts_with("serial"))
    );
    let c = der(&ca
        .issue_client_certificate("spiffe://vwf/c", Validity::days_from_now(1))?
        .cert_pem)?;
    assert_eq!(list.revokes_der(&c), None);
    Ok(())
}

#[test]
fn the_verifier_refuses_revoked_certificates_and_follows_replacements() -> TestResult {
    let ca = CertificateAuthority::generate("t", Validity::days_from_now(1))?;
    let client = ca.issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(1))?;
    let revocations = Revocations::default();
    let verifier = crate::tls::client_verifier(ca.cert_pem(), &revocations)?;
    let cert = CertificateDer::from(der(&client.cert_pem)?);
    let now = UnixTime::now();
    assert!(verifier.verify_client_cert(&cert, &[], now).is_ok());
    revocations.replace(
        RevokedConfig {
            fingerprints: vec![Fingerprint::of(&cert).to_string()],
            serials: Vec::new(),
        }
        .build()?,
    );
    assert!(matches!(
        verifier.verify_client_cert(&cert, &[], now),
        Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
    ));
    // A certificate from another CA stays an unknown issuer, revoked or not.
    let other = CertificateAuthority::generate("other", Validity::days_from_now(1))?;
    let stranger = CertificateDer::from(der(&other
        .issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(1))?
        .cert_pem)?);
    assert!(matches!(
        verifier.verify_client_cert(&stranger, &[], now),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    ));
    revocations.replace(DenyList::default());
    assert!(verifier.verify_client_cert(&cert, &[], now).is_ok());
    Ok(())
}
