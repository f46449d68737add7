//! Requests left `Pending` by a crash, a lost answer or a slow chain: settle them against a
//! quorum of nodes instead of broadcasting blindly again or forgetting them early.

use std::time::Instant;

use vwf_shared::SignedTransaction;

use super::{Engine, Subject, unix_now};
use crate::error::Error;
use crate::store::{Outcome, RequestRecord, RequestState};

impl Engine {
    /// Settles a pending request. `Some(outcome)` when its transaction landed; `None` when it
    /// can no longer land (forgotten, so the request is decided afresh against the chain as it
    /// is); `Err(Pending)` while neither is shown by a quorum: it still counts as a change.
    pub(super) async fn resolve_pending(
        &self,
        subject: &Subject,
        record: &RequestRecord,
        deadline: Instant,
    ) -> Result<Option<Outcome>, Error> {
        let RequestState::Pending {
            signed_tx_json,
            from_block,
            ..
        } = &record.state
        else {
            return Ok(None);
        };
        let signed = SignedTransaction::from_legacy_json(signed_tx_json, &self.profile)?;
        let from_block = if *from_block > 0 {
            *from_block
        } else {
            // A record written before `from_block` existed: start where it could first be.
            self.lookback_start(&record.account, signed.transaction.expiration.0)
                .await?
        };
        let sent = if unix_now() < u64::from(signed.transaction.expiration.0) {
            // It may still land. Re-sending the same signed bytes is safe: a node that has the
            // first copy refuses the second as a duplicate.
            self.send_everywhere(&signed).await
        } else {
            "not re-sent: past its expiration by the local clock".into()
        };
        let settlement = self.wait_settled(&signed, from_block, deadline).await;
        match self
            .conclude(subject, &signed, settlement, None, sent)
            .await
        {
            Ok(outcome) => Ok(Some(outcome)),
            Err(Error::Expired(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The block to scan from when a record does not say: the agreed head minus the time since
    /// the transaction was signed (expiration minus lifetime) at one block per
    /// [`MIN_BLOCK_INTERVAL_SECONDS`], so never later than its first possible block; the scan
    /// then stops at the first block past the expiration.
    async fn lookback_start(&self, account: &str, expiration: u32) -> Result<u32, Error> {
        let view = self.agreed_view(account).await?;
        let signed_at = expiration.saturating_sub(self.build.expiration_seconds);
        let elapsed = view.head_time.saturating_sub(signed_at);
        Ok(view
            .head_block
            .saturating_sub(elapsed / MIN_BLOCK_INTERVAL_SECONDS + 20)
            .max(1))
    }
}

/// The block interval of every supported chain (VIT, Steem, Hive: `*_BLOCK_INTERVAL` = 3 s);
/// missed slots only make blocks rarer, so counting one block per interval never starts late.
const MIN_BLOCK_INTERVAL_SECONDS: u32 = 3;
