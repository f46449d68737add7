//! The signer's core: one request in, policy, chain read, build, sign, broadcast, answer.
//!
//! Independent of gRPC so that `serve` and the `dry-run` command run exactly the same code.
//! Only one state-changing request runs at a time (`act_lock`): a key change is rare, and
//! serializing them makes "never two broadcasts for one account" a property of the structure.

mod dry_run;
mod reconcile;

pub use dry_run::DryRunReport;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::Mutex;
use vwf_shared::rpc::{Inclusion, NodeClient, NodeError, RpcError, Witness};
use vwf_shared::{
    Asset, ChainProfile, ChainProperties, PrivateKey, SignedTransaction, Tapos, Transaction,
    WitnessUpdate,
};

use crate::audit::{AuditEntry, AuditLog};
use crate::config::TaposSource;
use crate::error::Error;
use crate::nodes::Nodes;
use crate::policy::{Decision, Intent, Policy, Refusal, Rule};
use crate::store::{Outcome, RequestRecord, RequestState, RequestStore};

/// How transactions are built.
#[derive(Clone, Debug)]
pub struct BuildSettings {
    /// TaPoS reference block.
    pub tapos: TaposSource,
    /// Lifetime after the head block time, seconds.
    pub expiration_seconds: u32,
    /// Byte check with `get_transaction_hex` before broadcasting.
    pub preflight: bool,
    /// What to send when the witness's own url or props cannot be read.
    pub fallback: Fallback,
}

/// Url and props from the config, sent only when the chain's cannot be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fallback {
    /// Url to send instead of an empty one.
    pub url: Option<String>,
    /// Props to send instead of unreadable ones.
    pub props: Option<ChainProperties>,
}

/// The url and props a `witness_update` sends back: the witness's own (it overwrites them), or
/// the configured fallbacks when the chain's cannot be used, with a note for each fallback.
pub fn url_and_props(
    witness: &Witness,
    fallback: &Fallback,
) -> Result<(String, ChainProperties, Vec<String>), Error> {
    let mut notes = Vec::new();
    let url = if witness.url.is_empty() {
        let url = fallback.url.clone().ok_or_else(|| {
            Error::WitnessData("the witness's url on chain is empty (the chain would reject it) and [chain.fallback] url is not set".into())
        })?;
        notes.push(format!(
            "the witness's url on chain is empty: sending the configured fallback {url:?}"
        ));
        url
    } else {
        witness.url.clone()
    };
    let props = match &witness.props {
        Ok(props) => props.clone(),
        Err(why) => {
            let props = fallback.props.clone().ok_or_else(|| {
                Error::WitnessData(format!(
                    "the witness's props cannot be read from chain ({why}) and [chain.fallback] props are not set"
                ))
            })?;
            notes.push(format!(
                "the witness's props cannot be read from chain ({why}): sending the configured fallback props"
            ));
            props
        }
    };
    Ok((url, props, notes))
}

/// The engine shared by all requests.
#[derive(Debug)]
pub struct Engine {
    profile: ChainProfile,
    policy: Policy,
    key: Arc<PrivateKey>,
    nodes: Nodes,
    build: BuildSettings,
    store: RequestStore,
    audit: AuditLog,
    act_lock: Mutex<()>,
}

/// Seconds since the Unix epoch, by the local clock (used only for the flap window and
/// retention, never for expirations, which come from the chain).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Engine {
    /// Assembles an engine.
    pub fn new(
        profile: ChainProfile,
        policy: Policy,
        key: Arc<PrivateKey>,
        nodes: Nodes,
        build: BuildSettings,
        store: RequestStore,
        audit: AuditLog,
    ) -> Self {
        Engine {
            profile,
            policy,
            key,
            nodes,
            build,
            store,
            audit,
            act_lock: Mutex::new(()),
        }
    }

    /// The chain profile.
    pub fn profile(&self) -> &ChainProfile {
        &self.profile
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The public key of the held active key.
    pub fn active_key(&self) -> String {
        self.key
            .public_key()
            .to_string_with_prefix(&self.profile.address_prefix)
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Checks on chain that the held key is an active or owner key of every policy account.
    pub async fn check_key_on_chain(&self) -> Result<(), Error> {
        let node = self.nodes.first().await?;
        let names: Vec<&str> = self.policy.accounts().map(|a| a.account.as_str()).collect();
        let accounts = node.get_accounts(&names).await?;
        let public = self.key.public_key();
        for name in names {
            let account = accounts.iter().find(|a| a.name == name).ok_or_else(|| {
                Error::KeyNotAuthorized(format!("account {name} does not exist on {}", node.url()))
            })?;
            if !(account.active.is_satisfied_by(&public) || account.owner.is_satisfied_by(&public))
            {
                return Err(Error::KeyNotAuthorized(format!(
                    "the key in the age file ({}) is neither an active nor an owner key of {name} on chain; \
                     import the account's active key",
                    self.active_key()
                )));
            }
        }
        Ok(())
    }

    /// Handles a request to set a signing key. `Ok` carries the answer (applied, already in
    /// effect, refused), recorded under the client's request id; `Err` means nothing was
    /// decided (node down, …) and the client should retry with the same id.
    pub async fn set_signing_key(&self, client: &str, intent: &Intent) -> Result<Outcome, Error> {
        let _serialized = self.act_lock.lock().await;
        if let Some(record) = self.store.get(client, &intent.request_id) {
            if !record.same_request(&intent.account, &intent.target_text, &intent.expected_text) {
                let refusal = Refusal {
                    rule: Rule::InvalidRequest,
                    reason: "request_id was already used for a different request".into(),
                };
                self.audit_outcome(client, intent, &refused(&refusal), None, String::new())
                    .await?;
                return Ok(refused(&refusal));
            }
            match record.state {
                RequestState::Done { outcome } => {
                    self.audit_replay(client, intent, &outcome).await?;
                    return Ok(outcome);
                }
                RequestState::Pending { signed_tx_json, .. } => {
                    if let Some(outcome) = self.reconcile(client, intent, &signed_tx_json).await? {
                        return Ok(outcome);
                    }
                }
            }
        }
        let account = match self.policy.authorize(client, intent, false) {
            Ok(account) => account,
            Err(refusal) => {
                return self
                    .finish(client, intent, refused(&refusal), None, String::new())
                    .await;
            }
        };
        let node = self.nodes.first().await?;
        let witness = self.read_witness(&node, &intent.account).await?;
        let changes = self.store.applied_times(&intent.account);
        match account.decide(
            client,
            intent,
            &witness.signing_key,
            &changes,
            unix_now(),
            false,
        ) {
            Err(refusal) => {
                self.finish(client, intent, refused(&refusal), None, String::new())
                    .await
            }
            Ok(Decision::AlreadyInEffect) => {
                let outcome = Outcome::AlreadyInEffect {
                    signing_key: intent.describe(&witness.signing_key),
                };
                self.finish(client, intent, outcome, None, String::new())
                    .await
            }
            Ok(Decision::Proceed) => {
                let (signed, notes) = self.build_signed(&node, intent, &witness).await?;
                if self.build.preflight {
                    self.preflight(&node, &signed).await?;
                }
                self.broadcast(client, intent, &node, signed, notes.join("; "))
                    .await
            }
        }
    }

    async fn read_witness(&self, node: &NodeClient, account: &str) -> Result<Witness, Error> {
        match node.get_witness_by_account(account).await {
            Ok(witness) => Ok(witness),
            Err(error) => {
                if !matches!(error, RpcError::NoSuchWitness { .. }) {
                    self.nodes.forget(node).await;
                }
                Err(error.into())
            }
        }
    }

    /// Builds the witness_update from the chain's current url and props (only the key
    /// changes), with TaPoS and expiration from the chain, validated and signed.
    async fn build_signed(
        &self,
        node: &NodeClient,
        intent: &Intent,
        witness: &Witness,
    ) -> Result<(SignedTransaction, Vec<String>), Error> {
        let dgp = node.get_dynamic_global_properties().await?;
        let reference = match self.build.tapos {
            TaposSource::Head => dgp.head_block_id,
            TaposSource::LastIrreversible => node.block_id(dgp.last_irreversible_block_num).await?,
        };
        let (url, props, notes) = url_and_props(witness, &self.build.fallback)?;
        for note in &notes {
            tracing::warn!(account = %intent.account, "{note}");
        }
        let operation = WitnessUpdate {
            owner: intent.account.clone(),
            url,
            block_signing_key: intent.target.key(),
            props,
            fee: Asset {
                amount: 0,
                symbol: self.profile.core_symbol.clone(),
            },
        };
        let tx = Transaction::new(
            operation,
            Tapos::from_block_id(&reference),
            dgp.time,
            self.build.expiration_seconds,
        )?;
        tx.validate(&self.profile, Some(dgp.time))?;
        Ok((tx.sign(&self.key, &self.profile)?, notes))
    }

    /// SPEC §7.6: the node must serialize our JSON to exactly our bytes.
    async fn preflight(&self, node: &NodeClient, signed: &SignedTransaction) -> Result<(), Error> {
        let ours = signed.to_bytes(&self.profile)?;
        let theirs = node.get_transaction_hex(signed).await?;
        if theirs != ours {
            return Err(Error::Preflight(format!(
                "{} serializes the transaction differently (ours {} bytes, node {} bytes); \
                 check [chain] profile and props_interest_rate_field",
                node.url(),
                ours.len(),
                theirs.len()
            )));
        }
        Ok(())
    }

    /// Persists the intent, broadcasts once, and records the result.
    async fn broadcast(
        &self,
        client: &str,
        intent: &Intent,
        node: &NodeClient,
        signed: SignedTransaction,
        note: String,
    ) -> Result<Outcome, Error> {
        let tx_id = signed.transaction.id(&self.profile)?;
        let pending = RequestState::Pending {
            signed_tx_json: signed.to_legacy_json(&self.profile),
            tx_id: tx_id.clone(),
            expiration: signed.transaction.expiration.0,
        };
        self.store
            .put(client, &intent.request_id, record(intent, pending))
            .await?;
        tracing::info!(account = %intent.account, target = %intent.target_text, %tx_id, "broadcasting");
        let block_num = match node.broadcast_transaction_synchronous(&signed).await {
            Ok(result) if !result.expired => Some(result.block_num),
            Ok(_) => None,
            Err(RpcError::Node {
                kind: NodeError::DuplicateTransaction,
                ..
            }) => self.find_inclusion(node, &signed).await?,
            Err(error) => {
                // Unknown whether it reached the node: keep it pending; a retry reconciles.
                self.nodes.forget(node).await;
                self.audit
                    .record(AuditEntry {
                        call: "set-signing-key",
                        decision: "failed",
                        detail: format!("broadcast failed, kept pending: {error}"),
                        tx_id: Some(tx_id),
                        ..entry(client, intent)
                    })
                    .await?;
                return Err(error.into());
            }
        };
        match block_num {
            Some(block_num) => self.applied(client, intent, tx_id, block_num, note).await,
            None => {
                let why = "transaction expired without inclusion; nothing changed";
                self.forget_expired(client, intent, &tx_id, why).await?;
                Err(Error::Expired(tx_id))
            }
        }
    }

    /// Records and answers a change that is in block `block_num`.
    async fn applied(
        &self,
        client: &str,
        intent: &Intent,
        tx_id: String,
        block_num: u32,
        note: String,
    ) -> Result<Outcome, Error> {
        let outcome = Outcome::Applied {
            tx_id: tx_id.clone(),
            block_num,
            signing_key: intent.describe(&intent.target.key()),
        };
        self.finish(client, intent, outcome, Some(tx_id), note)
            .await
    }

    /// Forgets a request whose transaction can no longer land, and audits why.
    async fn forget_expired(
        &self,
        client: &str,
        intent: &Intent,
        tx_id: &str,
        why: &str,
    ) -> Result<(), Error> {
        self.store.remove(client, &intent.request_id).await?;
        self.audit
            .record(AuditEntry {
                call: "set-signing-key",
                decision: "failed",
                detail: why.to_owned(),
                tx_id: Some(tx_id.to_owned()),
                ..entry(client, intent)
            })
            .await
    }

    /// Scans the blocks the transaction could be in; `None` once it can no longer be included.
    async fn find_inclusion(
        &self,
        node: &NodeClient,
        signed: &SignedTransaction,
    ) -> Result<Option<u32>, Error> {
        let dgp = node.get_dynamic_global_properties().await?;
        let interval = node.node_config().block_interval.unwrap_or(3).max(1);
        let lookback = self.build.expiration_seconds / interval + 5;
        let from = dgp.head_block_number.saturating_sub(lookback).max(1);
        let poll = std::time::Duration::from_millis(u64::from(interval) * 500);
        Ok(match node.wait_for_inclusion(signed, from, poll).await? {
            Inclusion::Included { block_num, .. } => Some(block_num),
            Inclusion::Expired { .. } => None,
        })
    }

    /// Records a final answer and audits it.
    async fn finish(
        &self,
        client: &str,
        intent: &Intent,
        outcome: Outcome,
        tx_id: Option<String>,
        note: String,
    ) -> Result<Outcome, Error> {
        let done = RequestState::Done {
            outcome: outcome.clone(),
        };
        self.store
            .put(client, &intent.request_id, record(intent, done))
            .await?;
        self.audit_outcome(client, intent, &outcome, tx_id, note)
            .await?;
        Ok(outcome)
    }

    async fn audit_outcome(
        &self,
        client: &str,
        intent: &Intent,
        outcome: &Outcome,
        tx_id: Option<String>,
        note: String,
    ) -> Result<(), Error> {
        let mut audit = AuditEntry {
            call: "set-signing-key",
            tx_id,
            detail: note,
            ..entry(client, intent)
        };
        match outcome {
            Outcome::Applied { block_num, .. } => {
                audit.decision = "applied";
                audit.block_num = Some(*block_num);
                tracing::info!(account = %intent.account, block_num, "signing key changed");
            }
            Outcome::AlreadyInEffect { .. } => audit.decision = "already-in-effect",
            Outcome::Refused { rule, reason } => {
                audit.decision = "refused";
                audit.rule = Some(rule.clone());
                audit.detail = reason.clone();
                tracing::warn!(%client, account = %intent.account, rule, reason, "refused");
            }
        }
        self.audit.record(audit).await
    }

    async fn audit_replay(
        &self,
        client: &str,
        intent: &Intent,
        outcome: &Outcome,
    ) -> Result<(), Error> {
        self.audit
            .record(AuditEntry {
                call: "set-signing-key",
                decision: "replayed",
                detail: format!("{outcome:?}"),
                ..entry(client, intent)
            })
            .await
    }
}

fn refused(refusal: &Refusal) -> Outcome {
    Outcome::Refused {
        rule: refusal.rule.to_string(),
        reason: refusal.reason.clone(),
    }
}

fn record(intent: &Intent, state: RequestState) -> RequestRecord {
    RequestRecord {
        account: intent.account.clone(),
        target: intent.target_text.clone(),
        expected: intent.expected_text.clone(),
        at: unix_now(),
        state,
    }
}

fn entry(client: &str, intent: &Intent) -> AuditEntry {
    AuditEntry {
        client: client.to_owned(),
        request_id: intent.request_id.clone(),
        account: intent.account.clone(),
        target: intent.target_text.clone(),
        expected_current_key: intent.expected_text.clone(),
        reason: intent.reason.clone(),
        ..AuditEntry::default()
    }
}

#[cfg(test)]
mod tests;
