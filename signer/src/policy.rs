//! The whitelist policy: which client may set which key on which account, and how often.
//!
//! Pure logic, no I/O: [`Policy::authorize`] checks what needs no chain state (request shape,
//! account, client, target); [`AccountPolicy::decide`] then checks what does (already in effect,
//! compare-and-swap, re-enabling, flap limit). Every refusal names its [`Rule`].

mod config;
mod operations;
mod request;

use std::collections::BTreeMap;
use std::fmt;

use vwf_shared::{Asset, ChainProperties, PublicKey};

pub use config::{AccountConfig, ClientConfig, FlapLimitConfig, PinnedPropsConfig, TargetConfig};
pub use operations::check_operation;
pub use request::{Intent, MAX_REASON_BYTES, MAX_REQUEST_ID_LEN, RawTarget, Target};

/// What a client may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// Set one of the account's named target keys while the witness is enabled (failover).
    Switch,
    /// Set the null key (kill switch).
    Disable,
    /// Set a named key while the chain holds the null key (needs `allow_reenable` too).
    Reenable,
    /// Audit a request without acting.
    DryRun,
    /// Read the signer's status.
    Status,
}

impl Permission {
    /// The name as the config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Switch => "switch",
            Permission::Disable => "disable",
            Permission::Reenable => "reenable",
            Permission::DryRun => "dry-run",
            Permission::Status => "status",
        }
    }
}

/// The rule behind a refusal; its name is stable and appears in answers and the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The request is malformed (bad id, key, reason length).
    InvalidRequest,
    /// The policy names no such account.
    UnknownAccount,
    /// The client identity has no grant for this account or this permission.
    ClientNotAllowed,
    /// The target key is not one the policy names for the account.
    TargetNotAllowed,
    /// The account's policy does not allow the null key.
    NullKeyNotAllowed,
    /// Leaving the null key is not allowed for this account.
    ReenableNotAllowed,
    /// Too many key changes on this account within the rolling window.
    FlapLimit,
    /// The chain holds another key than the client expected.
    CompareAndSwap,
    /// The url or a props field the nodes agree on differs from the one the policy pins.
    PinnedValue,
    /// The witness is disabled and the account is in signing-key mode: a null signing key can
    /// sign nothing, so only the active key (`vwf-signer witness enable --active-key`) can
    /// re-enable it.
    NeedsActiveKey,
    /// Signing-key mode, and the chain holds a signing key whose private key this signer does
    /// not hold.
    SigningKeyNotHeld,
    /// The built transaction is not exactly the one operation the account's mode allows (a
    /// guard against our own bugs, checked right before signing).
    OperationNotAllowed,
}

impl Rule {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::InvalidRequest => "invalid-request",
            Rule::UnknownAccount => "unknown-account",
            Rule::ClientNotAllowed => "client-not-allowed",
            Rule::TargetNotAllowed => "target-not-allowed",
            Rule::NullKeyNotAllowed => "null-key-not-allowed",
            Rule::ReenableNotAllowed => "reenable-not-allowed",
            Rule::FlapLimit => "flap-limit",
            Rule::CompareAndSwap => "compare-and-swap",
            Rule::PinnedValue => "pinned-value",
            Rule::NeedsActiveKey => "needs-active-key",
            Rule::SigningKeyNotHeld => "signing-key-not-held",
            Rule::OperationNotAllowed => "operation-not-allowed",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: the rule and a sentence for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The rule.
    pub rule: Rule,
    /// What was asked and why it is refused.
    pub reason: String,
}

impl Refusal {
    /// A refusal under `rule`.
    pub fn new(rule: Rule, reason: impl Into<String>) -> Self {
        Refusal {
            rule,
            reason: reason.into(),
        }
    }
}

/// A key the policy allows as a target, with the operator's name for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedTarget {
    /// E.g. "backup-1".
    pub name: String,
    /// The key.
    pub key: PublicKey,
}

/// Which key signs an account's changes, and so which operation carries them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyMode {
    /// `witness_update` signed with the account's active key (every chain; the only way on
    /// VIT). The active key also moves the account's funds.
    #[default]
    ActiveKey,
    /// `witness_set_properties` signed with the witness's current block signing key (Steem and
    /// Hive since HF20): the signer host holds the servers' signing keys, never the active key.
    /// Re-enabling a disabled witness needs the active key (`vwf-signer witness enable
    /// --active-key`).
    SigningKey,
}

impl KeyMode {
    /// The name as the config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyMode::ActiveKey => "active-key",
            KeyMode::SigningKey => "signing-key",
        }
    }
}

impl fmt::Display for KeyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The flap limit: at most `changes` applied changes within `window_seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlapLimit {
    /// Changes allowed per window.
    pub changes: u32,
    /// The rolling window.
    pub window_seconds: u64,
}

/// Url and props fields the policy pins: a `witness_update` sending anything else is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pins {
    /// The only url allowed.
    pub url: Option<String>,
    /// The only account creation fee allowed.
    pub account_creation_fee: Option<Asset>,
    /// The only maximum block size allowed.
    pub maximum_block_size: Option<u32>,
    /// The only interest rate allowed.
    pub interest_rate: Option<u16>,
}

impl Pins {
    /// Checks what would be sent against the pins; the refusal names the first difference.
    pub fn check(&self, account: &str, url: &str, props: &ChainProperties) -> Result<(), Refusal> {
        let differ = |field: &str, pinned: String, sent: String| {
            Refusal::new(
                Rule::PinnedValue,
                format!(
                    "{account}: the nodes agree on {field} {sent:?} but the policy pins {pinned:?}; nothing was signed"
                ),
            )
        };
        if let Some(pinned) = self.url.as_deref().filter(|p| *p != url) {
            return Err(differ("url", pinned.to_owned(), url.to_owned()));
        }
        if let Some(pinned) = self
            .account_creation_fee
            .as_ref()
            .filter(|p| **p != props.account_creation_fee)
        {
            return Err(differ(
                "account_creation_fee",
                pinned.to_string(),
                props.account_creation_fee.to_string(),
            ));
        }
        if let Some(pinned) = self
            .maximum_block_size
            .filter(|p| *p != props.maximum_block_size)
        {
            return Err(differ(
                "maximum_block_size",
                pinned.to_string(),
                props.maximum_block_size.to_string(),
            ));
        }
        if let Some(pinned) = self
            .interest_rate
            .filter(|p| Some(*p) != props.interest_rate)
        {
            return Err(differ(
                "interest_rate",
                pinned.to_string(),
                format!("{:?}", props.interest_rate),
            ));
        }
        Ok(())
    }
}

/// One account's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountPolicy {
    /// The witness account.
    pub account: String,
    /// Keys a client may switch to.
    pub targets: Vec<NamedTarget>,
    /// Whether the null key (kill switch) is allowed.
    pub allow_null_key: bool,
    /// Whether a request may move the account off the null key.
    pub allow_reenable: bool,
    /// The flap limit.
    pub flap_limit: FlapLimit,
    /// Client identity → what it may do.
    pub clients: BTreeMap<String, Vec<Permission>>,
    /// Url and props fields that may not change.
    pub pins: Pins,
    /// Which key signs, and so which operation is sent.
    pub mode: KeyMode,
    /// Signing-key mode: servers whose signing key the signer holds and may switch away from,
    /// but which no client may switch to (the primary). Every target is such a server too.
    pub servers: Vec<NamedTarget>,
}

/// What to do once the chain state is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The chain already holds the target: answer without broadcasting.
    AlreadyInEffect,
    /// Build, sign and broadcast.
    Proceed,
}

/// The whole policy: one entry per account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    accounts: BTreeMap<String, AccountPolicy>,
}

impl Policy {
    /// A policy over these accounts.
    pub fn new(accounts: impl IntoIterator<Item = AccountPolicy>) -> Self {
        Policy {
            accounts: accounts
                .into_iter()
                .map(|a| (a.account.clone(), a))
                .collect(),
        }
    }

    /// The accounts, in name order.
    pub fn accounts(&self) -> impl Iterator<Item = &AccountPolicy> {
        self.accounts.values()
    }

    /// The account's rules, if the policy names it.
    pub fn account(&self, name: &str) -> Option<&AccountPolicy> {
        self.accounts.get(name)
    }

    /// The same policy with `account` handled in `mode` (the operator's `--active-key`).
    /// In active-key mode an account has no `[[account.server]]` keys.
    pub fn with_mode(&self, account: &str, mode: KeyMode) -> Policy {
        let mut policy = self.clone();
        if let Some(entry) = policy.accounts.get_mut(account) {
            entry.mode = mode;
            if mode == KeyMode::ActiveKey {
                entry.servers.clear();
            }
        }
        policy
    }

    /// Whether `client` may use `permission` on any account (for calls not tied to one).
    pub fn allows_anywhere(&self, client: &str, permission: Permission) -> bool {
        self.accounts
            .values()
            .any(|a| a.permits(client, permission))
    }

    /// Checks what needs no chain state: the account exists, the client may ask for this kind of
    /// change (`as_permission`: the request's own kind, or `DryRun` for an audit), and the
    /// target is whitelisted.
    pub fn authorize(
        &self,
        client: &str,
        intent: &Intent,
        audit_only: bool,
    ) -> Result<&AccountPolicy, Refusal> {
        let account = self.accounts.get(&intent.account).ok_or_else(|| {
            Refusal::new(
                Rule::UnknownAccount,
                format!("the policy names no account {:?}", intent.account),
            )
        })?;
        let needed = match intent.target {
            Target::Null => Permission::Disable,
            Target::Key(_) => Permission::Switch,
        };
        if audit_only && !account.permits(client, Permission::DryRun) {
            return Err(Refusal::new(
                Rule::ClientNotAllowed,
                format!("client {client:?} may not dry-run on {}", account.account),
            ));
        }
        if !audit_only && !account.permits(client, needed) {
            return Err(Refusal::new(
                Rule::ClientNotAllowed,
                format!(
                    "client {client:?} may not {} on {}",
                    permission_verb(needed),
                    account.account
                ),
            ));
        }
        match &intent.target {
            Target::Null if !account.allow_null_key => Err(Refusal::new(
                Rule::NullKeyNotAllowed,
                format!("the null key is not allowed for {}", account.account),
            )),
            Target::Key(key) if !account.targets.iter().any(|t| t.key == *key) => {
                Err(Refusal::new(
                    Rule::TargetNotAllowed,
                    format!(
                        "{} is not a target key the policy names for {}",
                        intent.target_text, account.account
                    ),
                ))
            }
            _ => Ok(account),
        }
    }
}

impl AccountPolicy {
    /// Whether `client` holds `permission` here.
    pub fn permits(&self, client: &str, permission: Permission) -> bool {
        self.clients
            .get(client)
            .is_some_and(|granted| granted.contains(&permission))
    }

    /// The decision once the chain's current key is known (as a quorum of nodes agree).
    /// `recent_changes` are the unix times of this account's applied and pending changes; `now`
    /// is the current unix time. The null key is never refused by the flap limit.
    pub fn decide(
        &self,
        client: &str,
        intent: &Intent,
        on_chain: &PublicKey,
        recent_changes: &[u64],
        now: u64,
        audit_only: bool,
    ) -> Result<Decision, Refusal> {
        let target = intent.target.key();
        if *on_chain == target {
            return Ok(Decision::AlreadyInEffect);
        }
        if *on_chain != intent.expected_current {
            return Err(Refusal::new(
                Rule::CompareAndSwap,
                format!(
                    "the chain holds {} but the request expected {}; someone else changed it",
                    intent.describe(on_chain),
                    intent.expected_text
                ),
            ));
        }
        if on_chain.is_null() && !target.is_null() {
            self.check_can_leave_null_key()?;
            if !self.allow_reenable {
                return Err(Refusal::new(
                    Rule::ReenableNotAllowed,
                    format!(
                        "{} is disabled (null key) and the policy does not allow re-enabling it",
                        self.account
                    ),
                ));
            }
            if !audit_only && !self.permits(client, Permission::Reenable) {
                return Err(Refusal::new(
                    Rule::ClientNotAllowed,
                    format!("client {client:?} may not re-enable {}", self.account),
                ));
            }
        }
        if target.is_null() {
            // The kill switch is never refused by the flap limit: a backup that keeps missing
            // blocks must always be stoppable. Re-enabling stays under `allow_reenable`.
            return Ok(Decision::Proceed);
        }
        let since = now.saturating_sub(self.flap_limit.window_seconds);
        let in_window = recent_changes.iter().filter(|&&t| t > since).count();
        if in_window >= self.flap_limit.changes as usize {
            return Err(Refusal::new(
                Rule::FlapLimit,
                format!(
                    "{} changes on {} in the last {} s reach the limit of {}",
                    in_window,
                    self.account,
                    self.flap_limit.window_seconds,
                    self.flap_limit.changes
                ),
            ));
        }
        Ok(Decision::Proceed)
    }

    /// The decision for the operator's own change (`vwf-signer witness enable|disable` on the
    /// signer host): already in effect, or the compare-and-swap; no client grants, no
    /// `allow_reenable` and no flap limit (the operator holds the key anyway).
    pub fn decide_operator(
        &self,
        intent: &Intent,
        on_chain: &PublicKey,
    ) -> Result<Decision, Refusal> {
        if *on_chain == intent.target.key() {
            return Ok(Decision::AlreadyInEffect);
        }
        if *on_chain != intent.expected_current {
            return Err(Refusal::new(
                Rule::CompareAndSwap,
                format!(
                    "the chain now holds {} but the command expected {}; nothing was signed, run it again",
                    intent.describe(on_chain),
                    intent.expected_text
                ),
            ));
        }
        if on_chain.is_null() && !intent.target.key().is_null() {
            self.check_can_leave_null_key()?;
        }
        Ok(Decision::Proceed)
    }

    /// In signing-key mode a disabled witness cannot be re-enabled by this signer: the key
    /// that would sign the change is the null key.
    fn check_can_leave_null_key(&self) -> Result<(), Refusal> {
        if self.mode == KeyMode::SigningKey {
            return Err(Refusal::new(
                Rule::NeedsActiveKey,
                format!(
                    "{} is disabled (null signing key) and this signer is in signing-key mode: a null key \
                     can sign nothing, so re-enabling needs the account's ACTIVE key, which this signer \
                     does not hold. On the signer host run: vwf-signer witness enable --config FILE \
                     --active-key ACTIVE.age --signing-key KEY",
                    self.account
                ),
            ));
        }
        Ok(())
    }

    /// The keys of the servers this account's signing keys belong to: the targets, then the
    /// `[[account.server]]` entries (signing-key mode).
    pub fn server_keys(&self) -> impl Iterator<Item = &NamedTarget> {
        self.targets.iter().chain(&self.servers)
    }

    /// The operator's name for `key` on this account: a target's name, "null key", or none.
    pub fn name_of(&self, key: &PublicKey) -> Option<&str> {
        if key.is_null() {
            return Some("null key");
        }
        self.server_keys()
            .find(|t| t.key == *key)
            .map(|t| t.name.as_str())
    }

    /// The allowed targets as prefixed strings, null key last if allowed.
    pub fn allowed_target_strings(&self, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .targets
            .iter()
            .map(|t| t.key.to_string_with_prefix(prefix))
            .collect();
        if self.allow_null_key {
            out.push(PublicKey::NULL.to_string_with_prefix(prefix));
        }
        out
    }
}

fn permission_verb(permission: Permission) -> &'static str {
    match permission {
        Permission::Switch => "switch keys",
        Permission::Disable => "disable (set the null key)",
        Permission::Reenable => "re-enable",
        Permission::DryRun => "dry-run",
        Permission::Status => "read status",
    }
}

#[cfg(test)]
mod tests;
