//! Dry runs: the same checks and the same transaction as a real request, no broadcast, no
//! request id recorded; the answer lists each check and, on request, the node's byte check.

use super::{Engine, entry, unix_now};
use crate::audit::AuditEntry;
use crate::error::Error;
use crate::policy::{Decision, Intent};

/// What a dry run found.
#[derive(Clone, Debug, Default)]
pub struct DryRunReport {
    /// Whether the request would be acted on now.
    pub allowed: bool,
    /// The refusal, if any.
    pub refusal: Option<(String, String)>,
    /// The checks in order, one line each.
    pub reasons: Vec<String>,
    /// The unsigned legacy JSON it would sign.
    pub transaction_json: String,
    /// The digest it would sign, hex.
    pub digest: String,
    /// `(matches, expected_hex, node_hex_or_error)` when a preflight was asked.
    pub preflight: Option<(bool, String, String)>,
}

impl Engine {
    /// Audits a request without acting: same checks, same transaction, no broadcast, nothing
    /// recorded under the request id.
    pub async fn dry_run(
        &self,
        client: &str,
        intent: &Intent,
        preflight: bool,
    ) -> Result<DryRunReport, Error> {
        let mut report = DryRunReport::default();
        let outcome = self
            .dry_run_checks(client, intent, preflight, &mut report)
            .await;
        let (decision, rule, detail) = match (&outcome, &report.refusal) {
            (Err(e), _) => ("failed", None, e.to_string()),
            (Ok(()), Some((rule, reason))) => ("refused", Some(rule.clone()), reason.clone()),
            (Ok(()), None) => ("allowed", None, String::new()),
        };
        self.audit
            .record(AuditEntry {
                call: "dry-run",
                decision,
                rule,
                detail,
                ..entry(client, intent)
            })
            .await?;
        outcome.map(|()| report)
    }

    async fn dry_run_checks(
        &self,
        client: &str,
        intent: &Intent,
        preflight: bool,
        report: &mut DryRunReport,
    ) -> Result<(), Error> {
        let account = match self.policy.authorize(client, intent, true) {
            Ok(account) => account,
            Err(refusal) => {
                report.reasons.push(format!("refused: {}", refusal.reason));
                report.refusal = Some((refusal.rule.to_string(), refusal.reason));
                return Ok(());
            }
        };
        report.reasons.push(format!(
            "policy names account {} and target {}",
            intent.account, intent.target_text
        ));
        let node = self.nodes.first().await?;
        let witness = self.read_witness(&node, &intent.account).await?;
        report.reasons.push(format!(
            "chain ({}) holds {}",
            node.url(),
            intent.describe(&witness.signing_key)
        ));
        let changes = self.store.applied_times(&intent.account);
        match account.decide(
            client,
            intent,
            &witness.signing_key,
            &changes,
            unix_now(),
            true,
        ) {
            Err(refusal) => {
                report.reasons.push(format!("refused: {}", refusal.reason));
                report.refusal = Some((refusal.rule.to_string(), refusal.reason));
                return Ok(());
            }
            Ok(Decision::AlreadyInEffect) => {
                report
                    .reasons
                    .push("target already in effect: nothing would be broadcast".into());
                return Ok(());
            }
            Ok(Decision::Proceed) => {
                report.allowed = true;
                report.reasons.push(format!(
                    "compare-and-swap holds; {} of {} changes used in the flap window",
                    changes.len(),
                    account.flap_limit.changes
                ));
            }
        }
        let (signed, notes) = self.build_signed(&node, intent, &witness).await?;
        report.reasons.extend(notes);
        report.transaction_json = signed.transaction.to_legacy_json(&self.profile);
        report.digest = signed.transaction.digest(&self.profile)?.to_string();
        if preflight {
            let expected = hex::encode(signed.to_bytes(&self.profile)?);
            let answer = match node.get_transaction_hex(&signed).await {
                Ok(bytes) => hex::encode(bytes),
                Err(error) => format!("error: {error}"),
            };
            report.reasons.push(if answer == expected {
                "preflight: the node serializes the transaction to the same bytes".into()
            } else {
                "preflight: the node's bytes DIFFER from ours (props layout?)".into()
            });
            report.preflight = Some((answer == expected, expected, answer));
        }
        Ok(())
    }
}
