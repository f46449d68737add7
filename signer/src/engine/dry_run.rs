//! Dry runs: the same checks and the same transaction as a real request, no broadcast, no
//! request id recorded; the answer lists each check and, on request, the node's byte check.

use super::{Engine, Subject, unix_now};
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
    /// The unsigned legacy JSON it would sign (a dry run never signs).
    pub transaction_json: String,
    /// The digest it would sign, hex.
    pub digest: String,
    /// `(matches, expected_hex, node_hex_or_error)` when a preflight was asked: the bytes of the
    /// unsigned transaction (zero signatures).
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
                rule,
                detail,
                transaction: (!report.transaction_json.is_empty())
                    .then(|| report.transaction_json.clone()),
                digest: (!report.digest.is_empty()).then(|| report.digest.clone()),
                ..Subject::of(client, intent).entry(decision)
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
        let view = self.agreed_view(&intent.account).await?;
        report.reasons.push(format!(
            "chain holds {} ({})",
            intent.describe(&view.witness.signing_key),
            view.summary()
        ));
        let changes = self.store.change_times(&intent.account);
        match account.decide(
            client,
            intent,
            &view.witness.signing_key,
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
                report.reasons.push(if intent.target.key().is_null() {
                    "compare-and-swap holds; the kill switch is not subject to the flap limit"
                        .into()
                } else {
                    format!(
                        "compare-and-swap holds; {} of {} changes used in the flap window",
                        changes.len(),
                        account.flap_limit.changes
                    )
                });
            }
        }
        let built = match self.build_unsigned(intent, account, &view).await? {
            Ok(built) => built,
            Err(refusal) => {
                report.allowed = false;
                report.reasons.push(format!("refused: {}", refusal.reason));
                report.refusal = Some((refusal.rule.to_string(), refusal.reason));
                return Ok(());
            }
        };
        report.reasons.extend(built.notes.iter().cloned());
        report.reasons.push(match (&built.url, &built.props) {
            (Some(url), Some(props)) => format!(
                "would send a {}, with url {url:?} and props {} ({})",
                built.operation,
                super::describe_props(props),
                built.nodes
            ),
            _ => format!("would send a {} ({})", built.operation, built.nodes),
        });
        // Never signed: the report and the node see only the unsigned transaction.
        let unsigned = built.unsigned();
        report.transaction_json = unsigned.transaction.to_legacy_json(&self.profile);
        report.digest = unsigned.transaction.digest(&self.profile)?.to_string();
        if preflight {
            let expected = hex::encode(unsigned.to_bytes(&self.profile)?);
            let (matches, answer) = match self.preflight(&unsigned).await {
                Ok(()) => (true, expected.clone()),
                Err(error) => (false, format!("error: {error}")),
            };
            report.reasons.push(if matches {
                "preflight: a quorum of nodes serializes the unsigned transaction to the same bytes"
                    .into()
            } else {
                format!("preflight FAILED: {answer}")
            });
            report.preflight = Some((matches, expected, answer));
        }
        Ok(())
    }
}
