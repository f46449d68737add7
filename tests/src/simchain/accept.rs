//! Accepting a transaction into the pending set, in steemd's order and with its error texts
//! (S19-db `_apply_transaction`, SPEC §4.5, §4.6, §5, §8): validate, duplicate check, signatures
//! and authority, TaPoS, expiration, then the evaluator.

use serde_json::Value;
use vwf_shared::{ProfileName, PublicKey, TimePointSec};

use crate::simchain::chain::{ChainState, ChainTx};
use crate::simchain::fc_error::FcError;
use crate::simchain::normalize::rebuild;

/// How far back a TaPoS reference may reach (the block-summary ring).
const TAPOS_WINDOW: u32 = 0x10000;

impl ChainState {
    /// Checks a legacy-JSON transaction and adds it to the pending set; returns its id.
    pub fn push_transaction(&mut self, value: &Value) -> Result<String, FcError> {
        let tx = self.check_transaction(value)?;
        let id = tx.id.clone();
        self.pending.push(tx);
        Ok(id)
    }

    /// Every check of `push_transaction`, without changing the state.
    pub fn check_transaction(&self, value: &Value) -> Result<ChainTx, FcError> {
        let profile = &self.profile;
        let rebuilt = rebuild(value, profile)?;
        let trx = &rebuilt.signed.transaction;
        if trx.operations.is_empty() {
            return Err(FcError::assert(
                "operations.size() > 0: A transaction must have at least one operation",
            ));
        }
        for op in &trx.operations {
            op.validate(profile)
                .map_err(|e| FcError::assert(e.to_string()))?;
        }
        let id = trx
            .id(profile)
            .map_err(|e| FcError::assert(e.to_string()))?;
        if self.is_known_tx(&id) {
            return Err(FcError::assert(format!(
                "trx_idx.indices().get<by_trx_id>().find(trx_id) == trx_idx.indices().get<by_trx_id>().end(): Duplicate transaction check failed\n    {{\"trx_ix\":\"{id}\"}}"
            )));
        }
        let keys = self.signature_keys(&rebuilt.signed)?;
        self.check_authority(&rebuilt.signed, &keys)?;
        self.check_tapos(trx.ref_block_num, trx.ref_block_prefix)?;
        self.check_expiration(trx.expiration)?;
        Ok(ChainTx {
            id,
            json: rebuilt.json,
            signed: rebuilt.signed,
        })
    }

    /// Recovers the signer keys: header range, the era's canonical rule, no duplicates.
    fn signature_keys(
        &self,
        signed: &vwf_shared::SignedTransaction,
    ) -> Result<Vec<PublicKey>, FcError> {
        let digest = signed
            .transaction
            .digest(&self.profile)
            .map_err(|e| FcError::assert(e.to_string()))?;
        let mut keys = Vec::new();
        for signature in &signed.signatures {
            let header = signature.0[0];
            if !(27..35).contains(&header) {
                return Err(FcError::unspecified(
                    "unable to reconstruct public key from signature",
                ));
            }
            // VIT is a 0.19 chain: fc-canonical. Steem/Hive after HF20: bip_0062 (low S).
            let canonical = match self.profile.name {
                ProfileName::Vit => signature.is_canonical(),
                ProfileName::Steem | ProfileName::Hive => signature.is_low_s(),
            };
            if !canonical {
                return Err(FcError::assert(
                    "is_canonical( c ): signature is not canonical",
                ));
            }
            let key = signature.recover(&digest).map_err(|_| {
                FcError::unspecified("unable to reconstruct public key from signature")
            })?;
            if keys.contains(&key) {
                return Err(FcError::duplicate_sig());
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// Each operation needs its owner's active authority (the owner key also satisfies it);
    /// any signature not needed is refused.
    fn check_authority(
        &self,
        signed: &vwf_shared::SignedTransaction,
        keys: &[PublicKey],
    ) -> Result<(), FcError> {
        let mut used: Vec<PublicKey> = Vec::new();
        for op in &signed.transaction.operations {
            let account = self.witness(&op.owner).ok_or_else(|| {
                FcError::assert(format!(
                    "account != nullptr: unknown account {:?}: no such account on this chain",
                    op.owner
                ))
            })?;
            let satisfied = if keys.contains(&account.active_key) {
                Some(account.active_key)
            } else {
                account.owner_key.filter(|k| keys.contains(k))
            };
            match satisfied {
                Some(key) => used.push(key),
                None => return Err(FcError::missing_active_auth(&op.owner)),
            }
        }
        if keys.iter().any(|k| !used.contains(k)) {
            return Err(FcError::irrelevant_sig());
        }
        Ok(())
    }

    /// The block summary at `ref_block_num` must have an id whose bytes 4..8 (LE) equal the
    /// prefix. A ring slot never written holds a zero id, as in steemd.
    fn check_tapos(&self, ref_block_num: u16, ref_block_prefix: u32) -> Result<(), FcError> {
        let head = self.head_num();
        let expected = (0..TAPOS_WINDOW.min(head))
            .map(|back| head - back)
            .find(|num| num & 0xffff == u32::from(ref_block_num))
            .and_then(|num| self.block(num))
            .map_or(0, |b| {
                u32::from_le_bytes([b.id.0[4], b.id.0[5], b.id.0[6], b.id.0[7]])
            });
        if expected != ref_block_prefix {
            return Err(FcError::tapos(format!(
                "trx.ref_block_prefix == tapos_block_summary.block_id._hash[1]: \n    {{\"trx.ref_block_prefix\":{ref_block_prefix},\"tapos_block_summary\":{expected}}}"
            )));
        }
        Ok(())
    }

    /// head time < expiration ≤ head time + 3600 s.
    fn check_expiration(&self, expiration: TimePointSec) -> Result<(), FcError> {
        let now = self.head().time_sec();
        let max = u64::from(now) + u64::from(vwf_shared::transaction::MAX_TIME_UNTIL_EXPIRATION);
        if u64::from(expiration.0) > max {
            return Err(FcError::expiration(format!(
                "trx.expiration <= now + fc::seconds(STEEMIT_MAX_TIME_UNTIL_EXPIRATION): \n    {{\"trx.expiration\":\"{expiration}\",\"now\":\"{}\",\"max_til_exp\":3600}}",
                TimePointSec(now)
            )));
        }
        if expiration.0 <= now {
            return Err(FcError::expiration(format!(
                "now < trx.expiration: \n    {{\"now\":\"{}\",\"trx.exp\":\"{expiration}\"}}",
                TimePointSec(now)
            )));
        }
        Ok(())
    }
}
