//! The signer's core: one request in, policy, agreed chain read, build, sign, broadcast, answer.
//!
//! Independent of gRPC so that `serve` and the `dry-run` command run exactly the same code.
//! Only one state-changing request runs at a time (`act_lock`): a key change is rare, and
//! serializing them makes "never two broadcasts for one account" a property of the structure.
//!
//! Nothing one node says decides what is signed or what is answered: the witness (key, url,
//! props), the head and the TaPoS block come from a quorum of fresh nodes ([`crate::quorum`]),
//! and a change is `applied` only when a quorum finds the transaction in the same block.

mod chain;
mod dry_run;
mod reconcile;

pub use chain::agreed_view;
pub use dry_run::DryRunReport;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Mutex;
use vwf_shared::rpc::Witness;
use vwf_shared::{
    Asset, ChainProfile, ChainProperties, Operation, PublicKey, SignedTransaction, Tapos,
    TimePointSec, Transaction, WitnessSetProperties, WitnessUpdate,
};

use crate::audit::{AuditEntry, AuditLog};
use crate::config::TaposSource;
use crate::error::Error;
use crate::keystore::AssignedKeys;
use crate::nodes::Nodes;
use crate::policy::{
    AccountPolicy, Decision, Intent, KeyMode, Policy, Refusal, Rule, check_operation,
};
use crate::quorum::AgreedView;
use crate::store::{Outcome, RequestRecord, RequestState, RequestStore};

use chain::Settlement;

/// How transactions are built.
#[derive(Clone, Debug)]
pub struct BuildSettings {
    /// TaPoS reference block.
    pub tapos: TaposSource,
    /// Lifetime after the agreed head block time (bounded by the local clock), seconds.
    pub expiration_seconds: u32,
    /// Byte check with `get_transaction_hex` (on the unsigned transaction) before signing.
    pub preflight: bool,
    /// How long one request may wait on the chain in all (settling earlier changes, then its
    /// own) before answering that the outcome is not yet known.
    pub confirm_timeout: Duration,
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

/// A transaction built from the agreed view, not yet signed, with what the audit must show.
#[derive(Clone, Debug)]
pub struct Built {
    /// The transaction (no signature).
    pub transaction: Transaction,
    /// The public key of the held key that is to sign it.
    pub signer: PublicKey,
    /// "witness_update signed with the active key STM…", for the audit and reports.
    pub operation: String,
    /// The url it sends (a witness_update; witness_set_properties sends none).
    pub url: Option<String>,
    /// The props it sends (a witness_update).
    pub props: Option<ChainProperties>,
    /// The TaPoS block number.
    pub tapos_block: u32,
    /// The agreed head block: the transaction cannot be in an earlier block.
    pub from_block: u32,
    /// How the nodes agreed.
    pub nodes: String,
    /// Fallback notes.
    pub notes: Vec<String>,
}

impl Built {
    /// The transaction with an empty signature list: what a dry run and the pre-flight show
    /// the node (steemd serializes it with a zero signature count).
    pub fn unsigned(&self) -> SignedTransaction {
        SignedTransaction {
            transaction: self.transaction.clone(),
            signatures: Vec::new(),
        }
    }

    /// Fills an audit entry with what is signed.
    fn describe(&self, entry: AuditEntry) -> AuditEntry {
        AuditEntry {
            operation: Some(self.operation.clone()),
            url: self.url.clone(),
            props: self.props.as_ref().map(describe_props),
            expiration: Some(self.transaction.expiration.to_string()),
            tapos: Some(format!(
                "{}/{} (block {})",
                self.transaction.ref_block_num, self.transaction.ref_block_prefix, self.tapos_block
            )),
            nodes: Some(self.nodes.clone()),
            ..entry
        }
    }
}

/// "account_creation_fee=0.100 VIT maximum_block_size=131072[ interest_rate=N]".
pub fn describe_props(props: &ChainProperties) -> String {
    let mut text = format!(
        "account_creation_fee={} maximum_block_size={}",
        props.account_creation_fee, props.maximum_block_size
    );
    if let Some(rate) = props.interest_rate {
        text.push_str(&format!(" interest_rate={rate}"));
    }
    text
}

/// The engine shared by all requests.
#[derive(Debug)]
pub struct Engine {
    profile: ChainProfile,
    policy: Policy,
    keys: Arc<AssignedKeys>,
    nodes: Nodes,
    build: BuildSettings,
    store: RequestStore,
    audit: AuditLog,
    act_lock: Mutex<()>,
    /// Accounts whose held keys a quorum of nodes confirmed ([`Engine::check_account_keys`]).
    keys_checked: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// Seconds since the Unix epoch, by the local clock.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Who asked for what: the request as the store and the audit log name it.
#[derive(Clone, Debug)]
struct Subject {
    client: String,
    request_id: String,
    account: String,
    target: String,
    expected: String,
    reason: String,
}

impl Subject {
    fn of(client: &str, intent: &Intent) -> Self {
        Subject {
            client: client.to_owned(),
            request_id: intent.request_id.clone(),
            account: intent.account.clone(),
            target: intent.target_text.clone(),
            expected: intent.expected_text.clone(),
            reason: intent.reason.clone(),
        }
    }

    fn of_record(client: &str, request_id: &str, record: &RequestRecord) -> Self {
        Subject {
            client: client.to_owned(),
            request_id: request_id.to_owned(),
            account: record.account.clone(),
            target: record.target.clone(),
            expected: record.expected.clone(),
            reason: String::new(),
        }
    }

    fn record(&self, state: RequestState) -> RequestRecord {
        RequestRecord {
            account: self.account.clone(),
            target: self.target.clone(),
            expected: self.expected.clone(),
            at: unix_now(),
            state,
        }
    }

    fn entry(&self, decision: &'static str) -> AuditEntry {
        AuditEntry {
            call: "set-signing-key",
            client: self.client.clone(),
            request_id: self.request_id.clone(),
            account: self.account.clone(),
            target: self.target.clone(),
            expected_current_key: self.expected.clone(),
            reason: self.reason.clone(),
            decision,
            ..AuditEntry::default()
        }
    }
}

impl Engine {
    /// Assembles an engine.
    pub fn new(
        profile: ChainProfile,
        policy: Policy,
        keys: Arc<AssignedKeys>,
        nodes: Nodes,
        build: BuildSettings,
        store: RequestStore,
        audit: AuditLog,
    ) -> Self {
        Engine {
            profile,
            policy,
            keys,
            nodes,
            build,
            store,
            audit,
            act_lock: Mutex::new(()),
            keys_checked: std::sync::Mutex::new(std::collections::BTreeSet::new()),
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

    /// The held keys.
    pub fn keys(&self) -> &AssignedKeys {
        &self.keys
    }

    /// What the signer holds for `account`, for the status and the start-up line: "active key
    /// STM…" or "signing keys STM… (primary), STM… (backup-1)".
    pub fn keys_for(&self, account: &AccountPolicy) -> String {
        let prefix = &self.profile.address_prefix;
        match account.mode {
            KeyMode::ActiveKey => format!(
                "active key {}",
                self.keys
                    .active()
                    .map_or("(none)".into(), |k| k.to_string_with_prefix(prefix))
            ),
            KeyMode::SigningKey => format!(
                "signing keys {}",
                self.keys.servers_held_text(account, prefix).join(", ")
            ),
        }
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Checks the held keys on chain for every policy account ([`Engine::check_account_keys`]),
    /// all of them even when one fails; the first error, else the warnings. `serve` stops on
    /// `KeyNotAuthorized` and tolerates `NoQuorum`: an account whose check did not pass is then
    /// checked again before anything is signed for it.
    pub async fn check_keys_on_chain(&self) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        let mut first_error = None;
        for account in self.policy.accounts() {
            match self.check_account_keys(account).await {
                Ok(found) => warnings.extend(found),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(warnings),
        }
    }

    /// Checks the held keys against `account` on chain, as a quorum of nodes agrees, and
    /// remembers a pass. Active-key mode: the key can sign a `witness_update` (an active key,
    /// or an owner key where the profile lets the owner authority sign for the active one: not
    /// on Hive since HF28). Signing-key mode: no held key has any weight in the account's active
    /// or owner authority (that is the point of the mode). `KeyNotAuthorized` only when a
    /// quorum says so; no agreement is `NoQuorum`. `Ok` carries warnings: a signing-key account
    /// that is disabled, or whose key on chain this signer does not hold (its requests are then
    /// refused with `signing-key-not-held`).
    pub async fn check_account_keys(&self, account: &AccountPolicy) -> Result<Vec<String>, Error> {
        let name = account.account.as_str();
        let names = [name];
        let names_ref = &names;
        let answers = self
            .nodes
            .ask(|_, node| async move { node.get_accounts(names_ref).await })
            .await;
        let prefix = &self.profile.address_prefix;
        let role_of = |key: &PublicKey| -> Result<KeyRole, Error> {
            let verdicts: Vec<Result<KeyRole, String>> = answers
                .iter()
                .map(|answer| match answer {
                    Ok(accounts) => Ok(KeyRole::of(accounts.iter().find(|a| a.name == name), key)),
                    Err(e) => Err(e.clone()),
                })
                .collect();
            match crate::quorum::agreed_value(&verdicts, self.nodes.quorum()) {
                Some(KeyRole::NoAccount) => Err(Error::KeyNotAuthorized(format!(
                    "account {name} does not exist on chain"
                ))),
                Some(role) => Ok(role),
                None => Err(Error::NoQuorum(format!(
                    "the nodes do not agree whether {} is a key of {name}: {}",
                    key.to_string_with_prefix(prefix),
                    errors_of(&verdicts)
                ))),
            }
        };
        let mut warnings = Vec::new();
        match account.mode {
            KeyMode::ActiveKey => {
                let key = self.keys.active().copied().ok_or_else(|| {
                    Error::KeyNotAuthorized(format!("{name}: this signer holds no active key"))
                })?;
                self.check_active_key(name, &key, role_of(&key)?)?;
            }
            KeyMode::SigningKey => {
                // Every held key, not only this account's servers: an active key held for
                // another account may be this one's too.
                for key in self.keys.ring().public_keys() {
                    let role = role_of(key)?;
                    if role != KeyRole::Neither {
                        return Err(Error::KeyNotAuthorized(format!(
                            "the age file holds {}{}, which {}: signing-key mode keeps the account's \
                             authority keys off this host; use a separate block signing key for each server",
                            key.to_string_with_prefix(prefix),
                            account
                                .name_of(key)
                                .map_or(String::new(), |n| format!(" ({n})")),
                            role.describe(name)
                        )));
                    }
                }
                let view = self.agreed_view(name).await?;
                let on_chain = view.witness.signing_key;
                if on_chain.is_null() {
                    warnings.push(format!(
                        "{name} is disabled (null signing key): in signing-key mode this signer \
                         cannot re-enable it; run `vwf-signer witness enable --active-key` when \
                         a server is ready"
                    ));
                } else if let Err(refusal) = self.keys.signer_for(account, &on_chain, prefix) {
                    warnings.push(format!(
                        "{}; until then its requests are refused ({})",
                        refusal.reason, refusal.rule
                    ));
                }
            }
        }
        if let Ok(mut checked) = self.keys_checked.lock() {
            checked.insert(name.to_owned());
        }
        Ok(warnings)
    }

    /// Runs [`Engine::check_account_keys`] unless it passed already: nothing is signed for an
    /// account before a quorum of nodes confirmed the held keys fit it.
    async fn ensure_keys_checked(&self, account: &AccountPolicy) -> Result<(), Error> {
        let done = self
            .keys_checked
            .lock()
            .is_ok_and(|checked| checked.contains(&account.account));
        if !done {
            for warning in self.check_account_keys(account).await? {
                tracing::warn!(account = %account.account, "{warning}");
            }
        }
        Ok(())
    }

    /// The verdict on the active key of an active-key account.
    fn check_active_key(&self, name: &str, key: &PublicKey, role: KeyRole) -> Result<(), Error> {
        let owner_counts = self.profile.owner_satisfies_active();
        let key = key.to_string_with_prefix(&self.profile.address_prefix);
        let refuse = |why: String| Err(Error::KeyNotAuthorized(why));
        match role {
            KeyRole::Active => Ok(()),
            KeyRole::Owner if owner_counts => Ok(()),
            KeyRole::Owner => refuse(format!(
                "the key in the age file ({key}) is an OWNER key of {name}; on {} a witness_update \
                 needs the ACTIVE key (since HF28 the owner key no longer signs for it): \
                 import the account's active key",
                self.profile.name
            )),
            _ => refuse(format!(
                "the key in the age file ({key}) is not {} of {name} on chain; import the account's active key",
                if owner_counts {
                    "an active or owner key"
                } else {
                    "an active key"
                }
            )),
        }
    }

    /// Handles a client's request to set a signing key. `Ok` carries the answer (applied,
    /// already in effect, refused), recorded under the client's request id; `Err` means nothing
    /// final was decided (no quorum, outcome not yet known, …) and the client should retry with
    /// the same id.
    pub async fn set_signing_key(&self, client: &str, intent: &Intent) -> Result<Outcome, Error> {
        self.act(Actor::Client(client), intent).await
    }

    /// The operator's own change from the signer host (`vwf-signer witness enable|disable`):
    /// the same reads, building, recording and audit as a client's request, without the client
    /// grants, `allow_reenable` or the flap limit (the change is still counted by it), with
    /// the compare-and-swap and the pins.
    pub async fn operator_set_signing_key(&self, intent: &Intent) -> Result<Outcome, Error> {
        self.act(Actor::Operator, intent).await
    }

    async fn act(&self, actor: Actor<'_>, intent: &Intent) -> Result<Outcome, Error> {
        let _serialized = self.act_lock.lock().await;
        // Another process (the operator's command beside `serve`) may write the store too.
        let _exclusive = self.store.lock_exclusive().await?;
        self.store.reload()?;
        let deadline = Instant::now() + self.build.confirm_timeout;
        let client = actor.name();
        let subject = Subject::of(client, intent);
        if let Some(record) = self.store.get(client, &intent.request_id) {
            if !record.same_request(&intent.account, &intent.target_text, &intent.expected_text) {
                let refusal = Refusal {
                    rule: Rule::InvalidRequest,
                    reason: "request_id was already used for a different request".into(),
                };
                self.audit_outcome(&subject, &refused(&refusal), None, None)
                    .await?;
                return Ok(refused(&refusal));
            }
            match &record.state {
                RequestState::Done { outcome } => {
                    self.audit
                        .record(AuditEntry {
                            detail: format!("{outcome:?}"),
                            ..subject.entry("replayed")
                        })
                        .await?;
                    return Ok(outcome.clone());
                }
                RequestState::Pending { .. } => {
                    if let Some(outcome) = self.resolve_pending(&subject, &record, deadline).await?
                    {
                        return Ok(outcome);
                    }
                }
            }
        }
        let authorized = match actor {
            Actor::Client(client) => self.policy.authorize(client, intent, false),
            Actor::Operator => self.policy.account(&intent.account).ok_or_else(|| Refusal {
                rule: Rule::UnknownAccount,
                reason: format!("the policy names no account {:?}", intent.account),
            }),
        };
        let account = match authorized {
            Ok(account) => account,
            Err(refusal) => return self.finish(&subject, refused(&refusal), None, None).await,
        };
        // A change on this account whose outcome is unknown may still land: settle it first, so
        // the compare-and-swap and the flap limit see what the chain will hold.
        for (other_client, other_id, record) in self.store.pending_on(&intent.account) {
            // The kill switch need not wait for the outcome of a change that can no longer
            // land (past its expiration by the local clock): the agreed view below shows what
            // the chain holds, and the flap limit does not apply to it. The record stays
            // pending (counted) until a later request settles it.
            let expired_locally = matches!(
                record.state,
                RequestState::Pending { expiration, .. } if unix_now() > u64::from(expiration)
            );
            if intent.target.key().is_null() && expired_locally {
                tracing::info!(request_id = %other_id, "kill switch: not waiting for an earlier change past its expiration");
                continue;
            }
            let other = Subject::of_record(&other_client, &other_id, &record);
            self.resolve_pending(&other, &record, deadline).await?;
        }
        let view = self.agreed_view(&intent.account).await?;
        let on_chain = &view.witness.signing_key;
        let decision = match actor {
            Actor::Client(client) => {
                let changes = self.store.change_times(&intent.account);
                account.decide(client, intent, on_chain, &changes, unix_now(), false)
            }
            Actor::Operator => account.decide_operator(intent, on_chain),
        };
        match decision {
            Err(refusal) => self.finish(&subject, refused(&refusal), None, None).await,
            Ok(Decision::AlreadyInEffect) => {
                let outcome = Outcome::AlreadyInEffect {
                    signing_key: intent.describe(on_chain),
                };
                self.finish(&subject, outcome, None, Some(view.summary()))
                    .await
            }
            Ok(Decision::Proceed) => {
                let built = match self.build_unsigned(intent, account, &view).await? {
                    Ok(built) => built,
                    Err(refusal) => {
                        return self.finish(&subject, refused(&refusal), None, None).await;
                    }
                };
                if self.build.preflight {
                    self.preflight(&built.unsigned()).await?;
                }
                let signed = match self.sign(account, intent, &view, &built)? {
                    Ok(signed) => signed,
                    Err(refusal) => {
                        return self.finish(&subject, refused(&refusal), None, None).await;
                    }
                };
                self.broadcast(&subject, &built, signed, deadline).await
            }
        }
    }

    /// Builds the account's operation from the agreed view: a witness_update sending back the
    /// agreed url and props (pins checked), or a witness_set_properties naming the agreed
    /// current key; TaPoS from an agreed block and an expiration bounded by the local clock.
    /// The inner `Err` is a policy refusal (a pinned value differs, the key that must sign is
    /// not held, the operation is not the one the mode allows).
    async fn build_unsigned(
        &self,
        intent: &Intent,
        account: &AccountPolicy,
        view: &AgreedView,
    ) -> Result<Result<Built, Refusal>, Error> {
        self.ensure_keys_checked(account).await?;
        let prefix = &self.profile.address_prefix;
        let on_chain = view.witness.signing_key;
        let signer = match self.keys.signer_for(account, &on_chain, prefix) {
            Ok(signer) => signer,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let signer_text = signer.to_string_with_prefix(prefix);
        let (operation, description, url, props, notes): (Operation, _, _, _, _) = match account
            .mode
        {
            KeyMode::ActiveKey => {
                let witness = Witness {
                    owner: intent.account.clone(),
                    url: view.witness.url.clone(),
                    signing_key: on_chain,
                    total_missed: 0,
                    last_confirmed_block_num: 0,
                    props: view.witness.props.clone(),
                    running_version: String::new(),
                };
                let (url, props, notes) = url_and_props(&witness, &self.build.fallback)?;
                if let Err(refusal) = account.pins.check(&intent.account, &url, &props) {
                    return Ok(Err(refusal));
                }
                let update = WitnessUpdate {
                    owner: intent.account.clone(),
                    url: url.clone(),
                    block_signing_key: intent.target.key(),
                    props: props.clone(),
                    fee: Asset {
                        amount: 0,
                        symbol: self.profile.core_symbol.clone(),
                    },
                };
                (
                    update.into(),
                    format!("witness_update signed with the active key {signer_text}"),
                    Some(url),
                    Some(props),
                    notes,
                )
            }
            KeyMode::SigningKey => {
                let set = WitnessSetProperties {
                    owner: intent.account.clone(),
                    current_key: on_chain,
                    new_signing_key: intent.target.key(),
                };
                (
                    set.into(),
                    format!(
                        "witness_set_properties (props key, new_signing_key) signed with the current signing key {signer_text}{}",
                        account
                            .name_of(&on_chain)
                            .map_or(String::new(), |name| format!(" ({name})"))
                    ),
                    None,
                    None,
                    Vec::new(),
                )
            }
        };
        for note in &notes {
            tracing::warn!(account = %intent.account, "{note}");
        }
        let (tapos_block, reference) = self.agreed_tapos(view).await?;
        // The agreed head time is within the allowed skew of the local clock; the earlier of
        // the two bounds the lifetime, so no node's clock can stretch it.
        let local = u32::try_from(unix_now()).unwrap_or(u32::MAX);
        let base = TimePointSec(view.head_time.min(local));
        let transaction = Transaction::new(
            operation,
            Tapos::from_block_id(&reference),
            base,
            self.build.expiration_seconds,
        )?;
        transaction.validate(&self.profile, Some(TimePointSec(view.head_time)))?;
        if let Err(refusal) =
            check_operation(account, &transaction, &on_chain, &intent.target.key())
        {
            return Ok(Err(refusal));
        }
        Ok(Ok(Built {
            transaction,
            signer,
            operation: description,
            url,
            props,
            tapos_block,
            from_block: view.head_block,
            nodes: view.summary(),
            notes,
        }))
    }

    /// Signs a built transaction with the key it names, after the operation whitelist.
    fn sign(
        &self,
        account: &AccountPolicy,
        intent: &Intent,
        view: &AgreedView,
        built: &Built,
    ) -> Result<Result<SignedTransaction, Refusal>, Error> {
        // Checked again at the last moment: nothing but the whitelisted operation is signed.
        if let Err(refusal) = check_operation(
            account,
            &built.transaction,
            &view.witness.signing_key,
            &intent.target.key(),
        ) {
            return Ok(Err(refusal));
        }
        let key = self
            .keys
            .private(&built.signer)
            .ok_or_else(|| Error::Internal("the key chosen to sign is not held (a bug)".into()))?;
        Ok(Ok(built.transaction.clone().sign(key, &self.profile)?))
    }

    /// Persists the pending record and the intent line, broadcasts to every node, and answers
    /// only what a quorum shows.
    async fn broadcast(
        &self,
        subject: &Subject,
        built: &Built,
        signed: SignedTransaction,
        deadline: Instant,
    ) -> Result<Outcome, Error> {
        let tx_id = signed.transaction.id(&self.profile)?;
        let pending = RequestState::Pending {
            signed_tx_json: signed.to_legacy_json(&self.profile),
            tx_id: tx_id.clone(),
            expiration: signed.transaction.expiration.0,
            from_block: built.from_block,
        };
        self.store
            .put(
                &subject.client,
                &subject.request_id,
                subject.record(pending),
            )
            .await?;
        self.audit
            .record(built.describe(AuditEntry {
                tx_id: Some(tx_id.clone()),
                detail: built.notes.join("; "),
                ..subject.entry("intent")
            }))
            .await?;
        tracing::info!(account = %subject.account, target = %subject.target, %tx_id, "broadcasting");
        let sent = self.send_everywhere(&signed).await;
        let settlement = self.wait_settled(&signed, built.from_block, deadline).await;
        self.conclude(subject, &signed, settlement, Some(built), sent)
            .await
    }

    /// Turns a settlement into the answer: `applied` (recorded), expired (forgotten: nothing
    /// changed), or still unknown (kept pending, counted by the flap limit).
    async fn conclude(
        &self,
        subject: &Subject,
        signed: &SignedTransaction,
        settlement: Settlement,
        built: Option<&Built>,
        sent: String,
    ) -> Result<Outcome, Error> {
        let tx_id = signed.transaction.id(&self.profile)?;
        match settlement {
            Settlement::Included { block_num, nodes } => {
                let outcome = Outcome::Applied {
                    tx_id: tx_id.clone(),
                    block_num,
                    signing_key: subject.target.clone(),
                };
                tracing::info!(account = %subject.account, block_num, "signing key changed");
                self.store
                    .put(
                        &subject.client,
                        &subject.request_id,
                        subject.record(RequestState::Done {
                            outcome: outcome.clone(),
                        }),
                    )
                    .await?;
                let entry = AuditEntry {
                    tx_id: Some(tx_id),
                    block_num: Some(block_num),
                    detail: sent,
                    ..subject.entry("applied")
                };
                let entry = match built {
                    Some(built) => built.describe(entry),
                    None => entry,
                };
                self.audit
                    .record(AuditEntry {
                        nodes: Some(nodes),
                        ..entry
                    })
                    .await?;
                Ok(outcome)
            }
            Settlement::Expired { nodes } => {
                self.store
                    .remove(&subject.client, &subject.request_id)
                    .await?;
                self.audit
                    .record(AuditEntry {
                        tx_id: Some(tx_id.clone()),
                        nodes: Some(nodes),
                        detail: format!(
                            "expired without inclusion (local clock past its expiration and a quorum of nodes \
                             scanned past it); nothing changed. {sent}"
                        ),
                        ..subject.entry("expired")
                    })
                    .await?;
                Err(Error::Expired(tx_id))
            }
            Settlement::Unknown(why) => {
                self.audit
                    .record(AuditEntry {
                        tx_id: Some(tx_id.clone()),
                        detail: format!("outcome not yet known, kept pending: {why}. {sent}"),
                        ..subject.entry("pending")
                    })
                    .await?;
                Err(Error::Pending(format!(
                    "transaction {tx_id} was broadcast but no quorum of nodes shows its outcome yet ({why}); \
                     it is kept pending and counts toward the flap limit: retry with the same request id"
                )))
            }
        }
    }

    /// Records a final answer and audits it.
    async fn finish(
        &self,
        subject: &Subject,
        outcome: Outcome,
        tx_id: Option<String>,
        nodes: Option<String>,
    ) -> Result<Outcome, Error> {
        let done = RequestState::Done {
            outcome: outcome.clone(),
        };
        self.store
            .put(&subject.client, &subject.request_id, subject.record(done))
            .await?;
        self.audit_outcome(subject, &outcome, tx_id, nodes).await?;
        Ok(outcome)
    }

    async fn audit_outcome(
        &self,
        subject: &Subject,
        outcome: &Outcome,
        tx_id: Option<String>,
        nodes: Option<String>,
    ) -> Result<(), Error> {
        let mut audit = AuditEntry {
            tx_id,
            nodes,
            ..subject.entry("")
        };
        match outcome {
            Outcome::Applied { block_num, .. } => {
                audit.decision = "applied";
                audit.block_num = Some(*block_num);
            }
            Outcome::AlreadyInEffect { .. } => audit.decision = "already-in-effect",
            Outcome::Refused { rule, reason } => {
                audit.decision = "refused";
                audit.rule = Some(rule.clone());
                audit.detail = reason.clone();
                tracing::warn!(client = %subject.client, account = %subject.account, rule, reason, "refused");
            }
        }
        self.audit.record(audit).await
    }
}

/// Who asks: a client of the daemon (policy grants apply) or the operator on the signer host.
#[derive(Clone, Copy, Debug)]
enum Actor<'a> {
    Client(&'a str),
    Operator,
}

/// The identity the operator's own changes are recorded and audited under.
pub const OPERATOR: &str = "operator";

impl Actor<'_> {
    fn name(&self) -> &str {
        match self {
            Actor::Client(client) => client,
            Actor::Operator => OPERATOR,
        }
    }
}

/// What a held key is for an account, as one node reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyRole {
    /// It alone satisfies the active authority.
    Active,
    /// It alone satisfies the owner authority.
    Owner,
    /// It has weight in the active or owner authority, below the threshold (a multisig part).
    Part,
    /// It has no weight in either.
    Neither,
    /// The node knows no such account.
    NoAccount,
}

impl KeyRole {
    fn of(account: Option<&vwf_shared::rpc::Account>, key: &PublicKey) -> Self {
        match account {
            None => KeyRole::NoAccount,
            Some(a) if a.active.is_satisfied_by(key) => KeyRole::Active,
            Some(a) if a.owner.is_satisfied_by(key) => KeyRole::Owner,
            Some(a) if a.active.key_weight(key) > 0 || a.owner.key_weight(key) > 0 => KeyRole::Part,
            Some(_) => KeyRole::Neither,
        }
    }

    /// "is an ACTIVE key of NAME", for a refusal.
    fn describe(self, name: &str) -> String {
        match self {
            KeyRole::Active => format!("is an ACTIVE key of {name}"),
            KeyRole::Owner => format!("is an OWNER key of {name}"),
            KeyRole::Part => format!("has weight in the active or owner authority of {name}"),
            KeyRole::Neither => format!("is no authority key of {name}"),
            KeyRole::NoAccount => format!("belongs to no account {name}"),
        }
    }
}

fn refused(refusal: &Refusal) -> Outcome {
    Outcome::Refused {
        rule: refusal.rule.to_string(),
        reason: refusal.reason.clone(),
    }
}

/// The errors among per-node answers, joined for a message.
fn errors_of<T>(answers: &[Result<T, String>]) -> String {
    let errors: Vec<String> = answers
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.as_ref().err().map(|e| format!("node {i}: {e}")))
        .collect();
    if errors.is_empty() {
        "the answers differ".into()
    } else {
        errors.join("; ")
    }
}

#[cfg(test)]
mod tests;
