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

#[test]
fn serial_and_fingerprint_edge_cases_are_read_or_refused_clearly() -> TestResult {
    // Leading zero bytes (DER's sign byte, or written by hand) name the same serial.
    assert_eq!(Serial::parse("00:00:80:01")?, Serial::parse("8001")?);
    assert_eq!(Serial::parse("0X8001")?, Serial::from_raw(&[0, 0x80, 0x01]));
    // A serial DER reads as negative (high bit, no sign byte) is named by its bytes.
    assert_eq!(Serial::from_raw(&[0xff, 0x01]).to_string(), "ff01");
    assert_eq!(Serial::parse("FF01")?, Serial::from_raw(&[0xff, 0x01]));
    // RFC 5280's 20 octets, not counting a sign byte.
    assert!(Serial::parse(&"7f".repeat(20)).is_ok());
    assert!(Serial::parse(&format!("00{}", "ff".repeat(20))).is_ok());
    for (bad, expected) in [
        ("-ff", "'-' is not a hex digit"),
        ("0x", "empty"),
        ("1:2a", "two hex digits"),
        ("12 34", "' ' is not a hex digit"),
        ("4660 (0x1234)", "not a hex digit"),
        (&"11".repeat(21)[..], "at most 20 bytes"),
    ] {
        let message = Serial::parse(bad).err().unwrap_or_default();
        assert!(message.contains(expected), "{bad:?}: {message:?}");
    }
    let plain = "0f".repeat(32);
    assert_eq!(
        Fingerprint::parse(&format!("  {}\t", plain.to_uppercase()))?,
        Fingerprint::parse(&plain)?
    );
    for (bad, expected) in [
        (format!("sha256 Fingerprint={plain}"), "not a hex digit"),
        (vec!["0F"; 32].join(" "), "' ' is not a hex digit"),
        (format!("{}:", vec!["0F"; 32].join(":")), "two hex digits"),
        (vec!["0F"; 31].join(":"), "this one has 31"),
        (format!("{}é", &plain[..63]), "not a hex digit"),
        ("0f".repeat(20), "this one has 20"),
    ] {
        let message = Fingerprint::parse(&bad).err().unwrap_or_default();
        assert!(message.contains(expected), "{bad:?}: {message:?}");
    }
    Ok(())
}

#[test]
fn a_listed_serial_refuses_a_certificate_whose_serial_cannot_be_read() -> TestResult {
    let unreadable = CertId::of(b"not a certificate");
    assert_eq!(unreadable.serial, None);
    let serials = RevokedConfig {
        fingerprints: Vec::new(),
        serials: vec!["01".into()],
    }
    .build()?;
    assert!(serials.revokes(&unreadable).is_some());
    assert!(serials.revokes_der(b"not a certificate").is_some());
    // Without serials listed, only its fingerprint can name it.
    let fingerprints = RevokedConfig {
        fingerprints: vec!["ab".repeat(32)],
        serials: Vec::new(),
    }
    .build()?;
    assert_eq!(fingerprints.revokes(&unreadable), None);
    Ok(())
}

/// A CA (no path length limit) and a client certificate with `serial` from it, by rcgen
/// directly: `certs issue` picks random serials.
fn client_with_serial(serial: &[u8]) -> Result<(String, Vec<u8>), Box<dyn std::error::Error>> {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        SerialNumber,
    };
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["monitor.example".to_owned()])?;
    leaf.serial_number = Some(SerialNumber::from_slice(serial));
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = leaf.signed_by(&KeyPair::generate()?, &issuer)?;
    Ok((ca_pem, cert.der().to_vec()))
}

#[test]
fn a_serial_with_its_high_bit_set_is_revoked_however_it_is_written() -> TestResult {
    let (ca_pem, leaf) = client_with_serial(&[0x80, 0x01])?;
    let cert = CertificateDer::from(leaf.clone());
    assert_eq!(
        CertId::of(&leaf).serial.map(|s| s.to_string()),
        Some("8001".into())
    );
    let revocations = Revocations::default();
    let verifier = crate::tls::client_verifier(&ca_pem, &revocations)?;
    let now = UnixTime::now();
    assert!(verifier.verify_client_cert(&cert, &[], now).is_ok());
    for written in ["8001", "0x008001", "00:80:01", "80:01"] {
        revocations.replace(
            RevokedConfig {
                fingerprints: Vec::new(),
                serials: vec![written.into()],
            }
            .build()?,
        );
        assert!(
            matches!(
                verifier.verify_client_cert(&cert, &[], now),
                Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
            ),
            "{written}"
        );
    }
    Ok(())
}

/// The revoked certificate sent with extra certificates after it (the CA, another client's
/// certificate, itself again): its own is still the one checked.
#[test]
fn extra_certificates_after_a_revoked_one_do_not_get_it_through() -> TestResult {
    let ca = CertificateAuthority::generate("t", Validity::days_from_now(1))?;
    let revoked = CertificateDer::from(der(&ca
        .issue_client_certificate("spiffe://vwf/old", Validity::days_from_now(1))?
        .cert_pem)?);
    let other = CertificateDer::from(der(&ca
        .issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(1))?
        .cert_pem)?);
    let ca_der = CertificateDer::from(der(ca.cert_pem())?);
    let revocations = Revocations::new(
        RevokedConfig {
            fingerprints: vec![Fingerprint::of(&revoked).to_string()],
            serials: Vec::new(),
        }
        .build()?,
    );
    let verifier = crate::tls::client_verifier(ca.cert_pem(), &revocations)?;
    let now = UnixTime::now();
    for extra in [
        vec![ca_der.clone()],
        vec![other.clone()],
        vec![other.clone(), ca_der.clone(), revoked.clone()],
    ] {
        assert!(
            matches!(
                verifier.verify_client_cert(&revoked, &extra, now),
                Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
            ),
            "{} extra",
            extra.len()
        );
    }
    assert!(verifier.verify_client_cert(&other, &[], now).is_ok());
    Ok(())
}
