//! Client certificates the operator has revoked: the `[revoked]` deny list, the rustls client
//! verifier that refuses them during the handshake, and the shared handle `serve` swaps on
//! SIGHUP.
//!
//! A certificate is named by the SHA-256 fingerprint of its DER encoding or by its serial
//! number (both hex; colons between byte pairs optional; any case). Serials are unique per CA
//! and the signer trusts one CA, so a serial alone names one certificate.
//!
//! What an entry does not cover:
//! - **the key**: a certificate issued again for the same key, with another serial, is a
//!   different certificate and is accepted unless listed too (`certs issue` always makes a
//!   new key, so this takes a certificate made by other tools);
//! - **issuers**: only the client's own (leaf) certificate is compared; listing an
//!   intermediate CA does not refuse the certificates it issued (remove it from
//!   `[tls] client_ca` and restart instead). Extra certificates a client sends after its own
//!   change nothing: its own is still the one checked.
//!
//! When serials are listed and a client certificate's serial cannot be read (the certificate
//! does not parse, though the chain verified), it is refused.
//!
//! Where a revocation is enforced:
//! - **new connections**: [`RevokingVerifier`] fails the handshake with
//!   `CertificateError::Revoked` (the client gets a `certificate_revoked` alert; the listener
//!   audits it as a refused handshake of kind `certificate-revoked`);
//! - **open connections**: `serve` closes them when a reload revokes their certificate
//!   ([`crate::listener::Connections::close_revoked`]), and the guard refuses any request whose
//!   connection's certificate is revoked ([`crate::guard`]), which covers a request racing
//!   the reload.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, RwLock};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The SHA-256 fingerprint of a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `der`.
    pub fn of(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Parses 64 hex digits, optionally as colon-separated byte pairs (`AB:CD:…`, as
    /// `openssl x509 -fingerprint -sha256` prints it), in any case.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = parse_hex(text)?;
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "a SHA-256 fingerprint has 32 bytes (64 hex digits), this one has {}",
                bytes.len()
            )
        })?;
        Ok(Fingerprint(array))
    }
}

/// Lower-case hex without colons: the form `certs list` prints.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A certificate serial number, without leading zero bytes (DER adds one to keep a serial
/// with its high bit set positive; people and tools print it either way).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

/// RFC 5280 caps serials at 20 octets.
const MAX_SERIAL_BYTES: usize = 20;

impl Serial {
    /// The serial of a certificate, from its DER-encoded bytes.
    pub fn from_raw(raw: &[u8]) -> Self {
        let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
        Serial(raw[start..].to_vec())
    }

    /// Parses hex digits (optionally `0x`-prefixed or colon-separated byte pairs, any case);
    /// an odd count of digits without colons is read with a leading zero.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed);
        let padded = if !digits.contains(':') && digits.len() % 2 == 1 {
            format!("0{digits}")
        } else {
            digits.to_owned()
        };
        let serial = Serial::from_raw(&parse_hex(&padded)?);
        if serial.0.len() > MAX_SERIAL_BYTES {
            return Err(format!(
                "a certificate serial has at most {MAX_SERIAL_BYTES} bytes, this one has {}",
                serial.0.len()
            ));
        }
        Ok(serial)
    }
}

/// Lower-case hex without colons (`0` for a zero serial).
impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("0")
        } else {
            f.write_str(&hex::encode(&self.0))
        }
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({self})")
    }
}

/// Hex digits, either all together or as colon-separated pairs.
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty".into());
    }
    let joined = if text.contains(':') {
        if text.split(':').any(|pair| pair.len() != 2) {
            return Err("with colons, write every byte as two hex digits (AB:CD:…)".into());
        }
        text.replace(':', "")
    } else {
        text.to_owned()
    };
    if let Some(bad) = joined.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("{bad:?} is not a hex digit"));
    }
    hex::decode(&joined).map_err(|_| "an odd number of hex digits".to_owned())
}

/// What names one client certificate for revocation: its fingerprint and (when it parses) its
/// serial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertId {
    /// SHA-256 of the DER.
    pub fingerprint: Fingerprint,
    /// The serial number, if the certificate parses.
    pub serial: Option<Serial>,
}

impl CertId {
    /// The identifiers of the DER-encoded certificate `der`.
    pub fn of(der: &[u8]) -> Self {
        let serial = X509Certificate::from_der(der)
            .ok()
            .map(|(_, cert)| Serial::from_raw(cert.raw_serial()));
        CertId {
            fingerprint: Fingerprint::of(der),
            serial,
        }
    }
}

impl fmt::Display for CertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256 {}", self.fingerprint)?;
        if let Some(serial) = &self.serial {
            write!(f, ", serial {serial}")?;
        }
        Ok(())
    }
}

/// `[revoked]`: client certificates refused even though the CA signed them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedConfig {
    /// SHA-256 fingerprints of the certificates' DER (`vwf-signer certs list` prints them).
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// Serial numbers, hex.
    #[serde(default)]
    pub serials: Vec<String>,
}

impl RevokedConfig {
    /// Checks every entry and builds the deny list; the error names the entry and why.
    pub fn build(&self) -> Result<DenyList, String> {
        let mut list = DenyList::default();
        for (i, text) in self.fingerprints.iter().enumerate() {
            let fingerprint = Fingerprint::parse(text)
                .map_err(|e| format!("[revoked] fingerprints[{i}] = {text:?}: {e}"))?;
            if !list.fingerprints.insert(fingerprint) {
                return Err(format!(
                    "[revoked] fingerprints[{i}] = {text:?} is listed twice"
                ));
            }
        }
        for (i, text) in self.serials.iter().enumerate() {
            let serial = Serial::parse(text)
                .map_err(|e| format!("[revoked] serials[{i}] = {text:?}: {e}"))?;
            if !list.serials.insert(serial) {
                return Err(format!("[revoked] serials[{i}] = {text:?} is listed twice"));
            }
        }
        Ok(list)
    }
}

/// The checked deny list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DenyList {
    fingerprints: HashSet<Fingerprint>,
    serials: HashSet<Serial>,
}

impl DenyList {
    /// (fingerprints, serials) listed.
    pub fn len(&self) -> (usize, usize) {
        (self.fingerprints.len(), self.serials.len())
    }

    /// Whether nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty() && self.serials.is_empty()
    }

    /// Why the certificate `id` names is revoked ("fingerprint …" or "serial …"), if it is.
    pub fn revokes(&self, id: &CertId) -> Option<String> {
        if self.fingerprints.contains(&id.fingerprint) {
            return Some(format!("fingerprint {}", id.fingerprint));
        }
        match &id.serial {
            Some(serial) => self
                .serials
                .contains(serial)
                .then(|| format!("serial {serial}")),
            // Serials are listed and this one cannot be read: refused rather than let a listed
            // serial through unchecked.
            None if !self.serials.is_empty() => {
                Some("serial unreadable (the certificate does not parse)".into())
            }
            None => None,
        }
    }

    /// As [`DenyList::revokes`] for a DER-encoded certificate (parsed only when serials are
    /// listed).
    pub fn revokes_der(&self, der: &[u8]) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let id = if self.serials.is_empty() {
            CertId {
                fingerprint: Fingerprint::of(der),
                serial: None,
            }
        } else {
            CertId::of(der)
        };
        self.revokes(&id)
    }
}

/// The deny list in force, shared by the verifier, the guard and the reload task; a reload
/// swaps it whole.
#[derive(Clone, Debug, Default)]
pub struct Revocations(Arc<RwLock<Arc<DenyList>>>);

impl Revocations {
    /// A handle holding `list`.
    pub fn new(list: DenyList) -> Self {
        Revocations(Arc::new(RwLock::new(Arc::new(list))))
    }

    /// The list in force now.
    pub fn current(&self) -> Arc<DenyList> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts `list` in force for every check from now on.
    pub fn replace(&self, list: DenyList) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(list);
    }
}

/// A client verifier that runs `inner` (chain, validity, usage) and then refuses certificates
/// on the current deny list.
#[derive(Debug)]
pub struct RevokingVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    revocations: Revocations,
}

impl RevokingVerifier {
    /// Wraps `inner` (e.g. a `WebPkiClientVerifier`).
    pub fn new(inner: Arc<dyn ClientCertVerifier>, revocations: Revocations) -> Self {
        RevokingVerifier { inner, revocations }
    }
}

impl ClientCertVerifier for RevokingVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // The chain first: a certificate the CA did not sign is refused as such, not as revoked.
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if self.revocations.current().revokes_der(end_entity).is_some() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Revoked));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}

#[cfg(test)]
mod tests;
