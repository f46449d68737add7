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
            // A record written before `from_block` existed: look back over the lifetime.
            self.lookback_start().await
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

    /// The block to scan from when a record does not say: the agreed head minus the
    /// transaction lifetime in blocks.
    async fn lookback_start(&self) -> u32 {
        let heads = self
            .nodes
            .ask(|node| async move { node.get_dynamic_global_properties().await })
            .await;
        let lowest = heads
            .iter()
            .filter_map(|h| h.as_ref().ok())
            .map(|h| h.head_block_number)
            .min()
            .unwrap_or(1);
        lowest
            .saturating_sub(self.build.expiration_seconds + 20)
            .max(1)
    }
}
