//! Transactions (SPEC §3.4, §4.1, §5): bytes, digest, id, TaPoS and expiration.

use std::fmt;

use crate::codec::{write_u16, write_u32, write_varint32};
use crate::error::{Error, SignatureError};
use crate::keys::{PrivateKey, PublicKey};
use crate::operation::Operation;
use crate::profile::ChainProfile;
use crate::signature::{Digest, Signature};
use crate::time::TimePointSec;

/// Longest expiration the chain accepts after the head block time, in seconds
/// (`STEEMIT_MAX_TIME_UNTIL_EXPIRATION`).
pub const MAX_TIME_UNTIL_EXPIRATION: u32 = 3600;

/// A 20-byte block id: the block number big-endian in bytes 0..4, then hash bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockId(pub [u8; 20]);

impl BlockId {
    /// Parses 40 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| Error::BlockId {
            value: text.to_owned(),
        })?;
        Ok(BlockId(bytes))
    }

    /// The block number held in the first 4 bytes.
    pub fn block_num(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockId({self})")
    }
}

/// The TaPoS reference to a recent block (SPEC §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tapos {
    /// The block number's low 16 bits.
    pub ref_block_num: u16,
    /// Bytes 4..8 of the block id, little-endian.
    pub ref_block_prefix: u32,
}

impl Tapos {
    /// The reference for a block: `block_num & 0xffff` and id bytes 4..8 read little-endian.
    pub fn from_block_id(id: &BlockId) -> Self {
        Tapos {
            // Truncation to the low 16 bits is the rule.
            ref_block_num: (id.block_num() & 0xffff) as u16,
            ref_block_prefix: u32::from_le_bytes([id.0[4], id.0[5], id.0[6], id.0[7]]),
        }
    }
}

/// An unsigned transaction holding `witness_update` and `witness_set_properties` operations (the
/// only kinds this product builds); extensions are always empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// TaPoS block number (low 16 bits).
    pub ref_block_num: u16,
    /// TaPoS block id prefix.
    pub ref_block_prefix: u32,
    /// Last second at which the chain may include it.
    pub expiration: TimePointSec,
    /// The operations, in order.
    pub operations: Vec<Operation>,
}

impl Transaction {
    /// A one-operation transaction referencing `tapos`, expiring `lifetime` seconds after the
    /// chain's head block time (never the local clock: SPEC §5). Takes a [`crate::WitnessUpdate`],
    /// a [`crate::WitnessSetProperties`] or an [`Operation`].
    pub fn new(
        operation: impl Into<Operation>,
        tapos: Tapos,
        head_block_time: TimePointSec,
        lifetime: u32,
    ) -> Result<Self, Error> {
        if lifetime == 0 || lifetime > MAX_TIME_UNTIL_EXPIRATION {
            return Err(Error::Expiration {
                reason: format!(
                    "lifetime {lifetime} s must be between 1 and {MAX_TIME_UNTIL_EXPIRATION} s"
                ),
            });
        }
        let expiration =
            head_block_time
                .checked_add(lifetime)
                .ok_or_else(|| Error::Expiration {
                    reason: "head block time plus lifetime is past 2106".into(),
                })?;
        Ok(Transaction {
            ref_block_num: tapos.ref_block_num,
            ref_block_prefix: tapos.ref_block_prefix,
            expiration,
            operations: vec![operation.into()],
        })
    }

    /// The fc::raw bytes without signatures: what the digest and the id cover.
    pub fn to_bytes(&self, profile: &ChainProfile) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(128);
        write_u16(&mut out, self.ref_block_num);
        write_u32(&mut out, self.ref_block_prefix);
        write_u32(&mut out, self.expiration.0);
        write_varint32(
            &mut out,
            self.operations.len().try_into().unwrap_or(u32::MAX),
        );
        for (i, op) in self.operations.iter().enumerate() {
            op.write_to(&mut out, profile)
                .map_err(|e| e.at(format!("operations[{i}]")))?;
        }
        // extensions: an empty flat_set
        write_varint32(&mut out, 0);
        Ok(out)
    }

    /// SHA256(chain_id ‖ bytes): what is signed (SPEC §4.1).
    pub fn digest(&self, profile: &ChainProfile) -> Result<Digest, Error> {
        let bytes = self.to_bytes(profile)?;
        Ok(Digest::sha256(&[&profile.chain_id.0, &bytes]))
    }

    /// The transaction id: the first 20 bytes of SHA256(bytes), hex. The chain id is not in it.
    pub fn id(&self, profile: &ChainProfile) -> Result<String, Error> {
        let bytes = self.to_bytes(profile)?;
        Ok(hex::encode(&Digest::sha256(&[&bytes]).0[..20]))
    }

    /// Checks every operation against the chain's rules, and the expiration against the head
    /// block time when one is given (SPEC §5, §8).
    pub fn validate(
        &self,
        profile: &ChainProfile,
        head_block_time: Option<TimePointSec>,
    ) -> Result<(), Error> {
        if self.operations.is_empty() {
            return Err(Error::ChainRule {
                rule: "a transaction needs at least one operation".into(),
            });
        }
        for (i, op) in self.operations.iter().enumerate() {
            op.validate(profile)
                .map_err(|e| e.at(format!("operations[{i}]")))?;
        }
        if let Some(head) = head_block_time {
            if self.expiration <= head {
                return Err(Error::Expiration {
                    reason: format!(
                        "{} is not after the head block time {head}",
                        self.expiration
                    ),
                });
            }
            if self.expiration.0 - head.0 > MAX_TIME_UNTIL_EXPIRATION {
                return Err(Error::Expiration {
                    reason: format!(
                        "{} is more than {MAX_TIME_UNTIL_EXPIRATION} s after the head block time {head}",
                        self.expiration
                    ),
                });
            }
        }
        Ok(())
    }

    /// Signs with one key: the active key for `witness_update`, the current signing key for
    /// `witness_set_properties`; each needs exactly one signature (SPEC §3.3a, §4.6).
    pub fn sign(
        self,
        key: &PrivateKey,
        profile: &ChainProfile,
    ) -> Result<SignedTransaction, Error> {
        let signature = key.sign_digest(&self.digest(profile)?)?;
        Ok(SignedTransaction {
            transaction: self,
            signatures: vec![signature],
        })
    }
}

/// A transaction and its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransaction {
    /// What was signed.
    pub transaction: Transaction,
    /// Compact signatures, in order.
    pub signatures: Vec<Signature>,
}

impl SignedTransaction {
    /// The bytes `get_transaction_hex` returns: the unsigned bytes, then the signature vector
    /// (SPEC §7.6).
    pub fn to_bytes(&self, profile: &ChainProfile) -> Result<Vec<u8>, Error> {
        let mut out = self.transaction.to_bytes(profile)?;
        write_varint32(
            &mut out,
            self.signatures.len().try_into().unwrap_or(u32::MAX),
        );
        for signature in &self.signatures {
            out.extend_from_slice(&signature.0);
        }
        Ok(out)
    }

    /// The keys the signatures recover, checked the way steemd does: each must be canonical and
    /// recover, and no key may appear twice (SPEC §4.2, §4.6).
    pub fn signer_keys(&self, profile: &ChainProfile) -> Result<Vec<PublicKey>, Error> {
        let digest = self.transaction.digest(profile)?;
        let mut keys: Vec<PublicKey> = Vec::with_capacity(self.signatures.len());
        for (i, signature) in self.signatures.iter().enumerate() {
            let at = |e: SignatureError| Error::from(e).at(format!("signatures[{i}]"));
            if !signature.is_canonical() {
                return Err(at(SignatureError::NotCanonical));
            }
            let key = signature.recover(&digest).map_err(at)?;
            if keys.contains(&key) {
                return Err(Error::ChainRule {
                    rule: "duplicate signature included".into(),
                });
            }
            keys.push(key);
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tapos_matches_steem_block_17000000() {
        let id = BlockId::from_hex("0103664040ab036dd76c16b7e0734c6f1b98c198");
        let tapos = id.as_ref().map(Tapos::from_block_id).ok();
        assert_eq!(id.map(|i| i.block_num()).ok(), Some(17_000_000));
        assert_eq!(
            tapos,
            Some(Tapos {
                ref_block_num: 26176,
                ref_block_prefix: 1_828_956_992
            })
        );
    }

    #[test]
    fn block_id_refuses_wrong_length() {
        assert!(BlockId::from_hex("0103664040ab036dd76c16b7e0734c6f1b98c1").is_err());
        assert!(BlockId::from_hex("0103664040ab036dd76c16b7e0734c6f1b98c19800").is_err());
    }
}
