//! Requests left `Pending` by a crash or a lost answer: finish them against the chain instead
//! of broadcasting blindly again.

use vwf_shared::SignedTransaction;

use super::Engine;
use crate::error::Error;
use crate::policy::Intent;
use crate::store::Outcome;

impl Engine {
    /// Resolves a pending request. `Some(outcome)` when its transaction landed; `None` when it
    /// can no longer land, so the request is decided afresh (the compare-and-swap then sees the
    /// chain as it is).
    pub(super) async fn reconcile(
        &self,
        client: &str,
        intent: &Intent,
        signed_tx_json: &str,
    ) -> Result<Option<Outcome>, Error> {
        let signed = SignedTransaction::from_legacy_json(signed_tx_json, &self.profile)?;
        let tx_id = signed.transaction.id(&self.profile)?;
        let node = self.nodes.first().await?;
        let dgp = node.get_dynamic_global_properties().await?;
        if dgp.time < signed.transaction.expiration {
            // It may still land. Re-sending the same signed bytes is safe: the node's duplicate
            // check makes it a no-op if the first copy arrived.
            let outcome = node.rebroadcast_transaction(&signed).await?;
            tracing::info!(%tx_id, ?outcome, "re-sent pending transaction");
        }
        match self.find_inclusion(&node, &signed).await? {
            Some(block_num) => self
                .applied(client, intent, tx_id, block_num, String::new())
                .await
                .map(Some),
            None => {
                let why = "pending transaction expired without inclusion; deciding afresh";
                self.forget_expired(client, intent, &tx_id, why).await?;
                Ok(None)
            }
        }
    }
}
