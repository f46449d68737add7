//! Compact signatures (SPEC §4): deterministic signing, canonicality and recovery.
//!
//! Signing follows the dhive/dsteem scheme of SPEC §4.4 so that the same key and digest always
//! give the same bytes, reproducing `vectors.json › signature_dhive_scheme`. Verification follows
//! SPEC §4.5 and is as strict as the strictest chain rule (fc-canonical and low-S).

use std::fmt;

use secp256k1::Message;
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use sha2::{Digest as _, Sha256};

use crate::error::SignatureError;
use crate::keys::{PrivateKey, PublicKey};

/// n/2 for secp256k1, big-endian: the largest low-S value.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// How many nonces [`PrivateKey::sign_digest`] tries. About every second candidate is canonical,
/// so running out has probability about 2^-255.
const MAX_SIGN_ATTEMPTS: u32 = 255;

/// A SHA-256 digest: what is signed (SPEC §4.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// SHA-256 of the concatenation of `parts`.
    pub fn sha256(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        Digest(hasher.finalize().into())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// A 65-byte compact signature: header (27 + 4 + recid), r, s (SPEC §4.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 65]);

impl Signature {
    /// Parses 130 hex characters. Any header is accepted here; [`Signature::verify`] checks it.
    pub fn from_hex(text: &str) -> Result<Self, SignatureError> {
        let bytes = hex::decode(text).map_err(|_| SignatureError::Hex)?;
        let array: [u8; 65] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SignatureError::Length(bytes.len()))?;
        Ok(Signature(array))
    }

    /// Lowercase hex, as in the JSON form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether r and s each encode to exactly 32 bytes in DER, the rule of Steem 0.19 and VIT
    /// (SPEC §4.3).
    pub fn is_fc_canonical(&self) -> bool {
        let c = &self.0;
        c[1] & 0x80 == 0
            && !(c[1] == 0 && c[2] & 0x80 == 0)
            && c[33] & 0x80 == 0
            && !(c[33] == 0 && c[34] & 0x80 == 0)
    }

    /// Whether s ≤ n/2 (the rule of Steem and Hive from HF20).
    pub fn is_low_s(&self) -> bool {
        self.0[33..65] <= HALF_ORDER[..]
    }

    /// Whether every chain's canonicality rule accepts it: fc-canonical and low-S.
    pub fn is_canonical(&self) -> bool {
        self.is_fc_canonical() && self.is_low_s()
    }

    /// Recovers the public key the way steemd does: header must be 27..=34, recid is
    /// (header − 27) & 3, the key is always compressed. Canonicality is not checked here.
    pub fn recover(&self, digest: &Digest) -> Result<PublicKey, SignatureError> {
        let header = self.0[0];
        if !(27..35).contains(&header) {
            return Err(SignatureError::HeaderOutOfRange(header));
        }
        let recid = RecoveryId::from_u8_masked((header - 27) & 3);
        let signature = RecoverableSignature::from_compact(&self.0[1..], recid)
            .map_err(|_| SignatureError::Recovery)?;
        let message = Message::from_digest(digest.0);
        let key = signature
            .recover_ecdsa(message)
            .map_err(|_| SignatureError::Recovery)?;
        // Recovery gives the key for which the signature verifies; check it anyway, as SPEC §4.5
        // asks, so a bug in either step cannot let a bad signature through.
        let mut standard = signature.to_standard();
        standard.normalize_s();
        standard
            .verify(message, &key)
            .map_err(|_| SignatureError::Recovery)?;
        PublicKey::from_bytes(key.serialize()).map_err(|_| SignatureError::Recovery)
    }

    /// SPEC §4.5 in full: header range, fc-canonical and low-S, recovery, and the expected key.
    pub fn verify(&self, digest: &Digest, expected: &PublicKey) -> Result<(), SignatureError> {
        let header = self.0[0];
        if !(27..35).contains(&header) {
            return Err(SignatureError::HeaderOutOfRange(header));
        }
        if !self.is_canonical() {
            return Err(SignatureError::NotCanonical);
        }
        if self.recover(digest)? != *expected {
            return Err(SignatureError::KeyMismatch);
        }
        Ok(())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl PrivateKey {
    /// Signs a digest with the deterministic scheme of SPEC §4.4 (dhive/dsteem):
    /// for attempt = 1, 2, …: RFC 6979 with extra data SHA256(digest ‖ attempt), low-S (done by
    /// libsecp256k1), keep the first fc-canonical result. Header = 31 + recid.
    pub fn sign_digest(&self, digest: &Digest) -> Result<Signature, SignatureError> {
        let message = Message::from_digest(digest.0);
        for attempt in 1..=MAX_SIGN_ATTEMPTS {
            // attempt ≤ 255 by MAX_SIGN_ATTEMPTS, so the byte is exact.
            let extra = Digest::sha256(&[&digest.0, &[attempt as u8]]);
            let signed = self
                .with_secret_key(|sk| {
                    RecoverableSignature::sign_ecdsa_recoverable_with_noncedata(
                        message, sk, &extra.0,
                    )
                })
                .map_err(|_| SignatureError::Recovery)?;
            let (recid, rs) = signed.serialize_compact();
            let mut bytes = [0u8; 65];
            bytes[0] = 31 + recid.to_u8();
            bytes[1..].copy_from_slice(&rs);
            let signature = Signature(bytes);
            if signature.is_canonical() {
                return Ok(signature);
            }
        }
        Err(SignatureError::NoCanonicalSignature(MAX_SIGN_ATTEMPTS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use secrecy::SecretBox;

    #[test]
    fn half_order_is_n_over_two() {
        // n = FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFE BAAEDCE6 AF48A03B BFD25E8C D0364141
        let n = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .unwrap_or_default();
        let mut halved = [0u8; 32];
        let mut carry = 0u8;
        for (i, byte) in n.iter().enumerate() {
            halved[i] = (byte >> 1) | (carry << 7);
            carry = byte & 1;
        }
        assert_eq!(halved, HALF_ORDER);
    }

    #[test]
    fn header_outside_27_to_34_is_refused() {
        let digest = Digest::sha256(&[b"x"]);
        for header in [0u8, 26, 35, 255] {
            let mut bytes = [1u8; 65];
            bytes[0] = header;
            assert_eq!(
                Signature(bytes).recover(&digest),
                Err(SignatureError::HeaderOutOfRange(header))
            );
        }
    }

    #[test]
    fn from_hex_refuses_bad_length_and_text() {
        assert_eq!(Signature::from_hex("zz"), Err(SignatureError::Hex));
        assert_eq!(Signature::from_hex("00"), Err(SignatureError::Length(1)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn signatures_are_canonical_and_recover_the_signer(
            seed in prop::array::uniform32(any::<u8>()),
            message in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            if let Ok(key) = PrivateKey::from_secret(SecretBox::new(Box::new(seed))) {
                let digest = Digest::sha256(&[&message]);
                let signature = key.sign_digest(&digest);
                prop_assert!(signature.is_ok());
                if let Ok(signature) = signature {
                    prop_assert!(signature.is_fc_canonical());
                    prop_assert!(signature.is_low_s());
                    prop_assert!((31..=34).contains(&signature.0[0]));
                    prop_assert_eq!(signature.verify(&digest, &key.public_key()), Ok(()));
                    // Deterministic: the same key and digest give the same bytes.
                    prop_assert_eq!(key.sign_digest(&digest).ok(), Some(signature));
                }
            }
        }

        #[test]
        fn recover_never_panics(bytes in prop::array::uniform32(any::<u8>()), header: u8, tail: [u8; 32]) {
            let mut sig = [0u8; 65];
            sig[0] = header;
            sig[1..33].copy_from_slice(&bytes);
            sig[33..].copy_from_slice(&tail);
            let _ = Signature(sig).recover(&Digest(bytes));
        }
    }
}
