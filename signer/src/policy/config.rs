//! The policy as written in the signer's TOML (`[[account]]` sections), and its checked form.

use std::collections::BTreeMap;

use serde::Deserialize;
use vwf_shared::{Asset, ChainProfile, PropsLayout, PublicKey};

use super::{AccountPolicy, FlapLimit, KeyMode, NamedTarget, Permission, Pins};

/// `[[account]]`: one witness account the signer may act for.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The witness account name.
    pub name: String,
    /// `[[account.target]]`: the keys a client may switch to (backup servers).
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetConfig>,
    /// Whether the null key (kill switch) may be set. Default: false (name it to allow it).
    #[serde(default)]
    pub allow_null_key: bool,
    /// Whether a request may move the account off the null key. Default: false, so a disabled
    /// witness stays disabled until the operator acts.
    #[serde(default)]
    pub allow_reenable: bool,
    /// At most this many applied changes per rolling window. Default: 3 per 3600 s.
    #[serde(default)]
    pub flap_limit: FlapLimitConfig,
    /// `[[account.client]]`: which client identities may do what.
    #[serde(rename = "client")]
    pub clients: Vec<ClientConfig>,
    /// The url every `witness_update` must send; any other agreed url is refused
    /// (`pinned-value`). Unset: the url the nodes agree on is sent back unchanged.
    #[serde(default)]
    pub pinned_url: Option<String>,
    /// Props every `witness_update` must send, field by field; unset fields are sent back as
    /// the nodes agree on them.
    #[serde(default)]
    pub pinned_props: PinnedPropsConfig,
    /// Which key signs: "active-key" (default; `witness_update`) or "signing-key" (Steem and
    /// Hive: `witness_set_properties` signed with the current block signing key; the age file
    /// then holds the servers' signing keys and no active key).
    #[serde(default)]
    pub mode: KeyMode,
    /// `[[account.server]]` (signing-key mode): a server whose signing key the age file holds
    /// and which the signer may switch away from, but which no client may switch to (e.g. the
    /// primary). The targets need not be repeated here.
    #[serde(default, rename = "server")]
    pub servers: Vec<TargetConfig>,
}

/// `pinned_props = { account_creation_fee = "0.100 VIT", maximum_block_size = 131072 }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedPropsConfig {
    /// E.g. "0.100 VIT", in the chain's core asset.
    #[serde(default)]
    pub account_creation_fee: Option<String>,
    /// Bytes.
    #[serde(default)]
    pub maximum_block_size: Option<u32>,
    /// Basis points; only on chains whose props have an interest rate.
    #[serde(default)]
    pub interest_rate: Option<u16>,
}

/// `[[account.target]]`: a named key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// The operator's name for it, e.g. "backup-1".
    pub name: String,
    /// The public key with the chain's prefix.
    pub key: String,
}

/// `[[account.client]]`: a client identity (its certificate's URI or DNS SAN) and its grants.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// E.g. "spiffe://vwf/monitor".
    pub identity: String,
    /// Any of "switch", "disable", "reenable", "dry-run", "status".
    pub may: Vec<Permission>,
}

/// `flap_limit = { changes = 3, window_seconds = 3600 }`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlapLimitConfig {
    /// Changes allowed per window (at least 1).
    pub changes: u32,
    /// Window length in seconds (at least 1).
    pub window_seconds: u64,
}

impl Default for FlapLimitConfig {
    fn default() -> Self {
        FlapLimitConfig {
            changes: 3,
            window_seconds: 3600,
        }
    }
}

impl AccountConfig {
    /// Checks the section and builds the account's policy. Errors say which field and why.
    pub fn build(&self, profile: &ChainProfile) -> Result<AccountPolicy, String> {
        let prefix = profile.address_prefix.as_str();
        let here = format!("account {:?}", self.name);
        vwf_shared::names::check_account_name(&self.name).map_err(|e| format!("{here}: {e}"))?;
        self.check_mode(profile)
            .map_err(|e| format!("{here}: {e}"))?;
        let mut named: Vec<NamedTarget> = Vec::new();
        for (what, entry) in self
            .targets
            .iter()
            .map(|t| ("target", t))
            .chain(self.servers.iter().map(|s| ("server", s)))
        {
            let key = PublicKey::parse(&entry.key, prefix)
                .map_err(|e| format!("{here}: {what} {:?}: {e}", entry.name))?;
            if key.is_null() {
                return Err(format!(
                    "{here}: {what} {:?} is the null key; use allow_null_key = true instead",
                    entry.name
                ));
            }
            if named.iter().any(|t| t.key == key || t.name == entry.name) {
                return Err(format!(
                    "{here}: {what} {:?} is listed twice (a target is a server already)",
                    entry.name
                ));
            }
            named.push(NamedTarget {
                name: entry.name.clone(),
                key,
            });
        }
        let servers = named.split_off(self.targets.len());
        let targets = named;
        self.check_mode(profile)
            .map_err(|e| format!("{here}: {e}"))?;
        if targets.is_empty() && !self.allow_null_key {
            return Err(format!(
                "{here}: names no target key and does not allow the null key, so nothing could ever be done"
            ));
        }
        if self.flap_limit.changes == 0 || self.flap_limit.window_seconds == 0 {
            return Err(format!(
                "{here}: flap_limit needs changes >= 1 and window_seconds >= 1"
            ));
        }
        let mut clients: BTreeMap<String, Vec<Permission>> = BTreeMap::new();
        for client in &self.clients {
            if client.identity.trim().is_empty() {
                return Err(format!("{here}: a client has an empty identity"));
            }
            if client.may.is_empty() {
                return Err(format!(
                    "{here}: client {:?} may do nothing",
                    client.identity
                ));
            }
            if clients
                .insert(client.identity.clone(), client.may.clone())
                .is_some()
            {
                return Err(format!(
                    "{here}: client {:?} is listed twice",
                    client.identity
                ));
            }
        }
        if clients.is_empty() {
            return Err(format!("{here}: no [[account.client]] is allowed anything"));
        }
        let pins = self.pins(profile).map_err(|e| format!("{here}: {e}"))?;
        Ok(AccountPolicy {
            pins,
            account: self.name.clone(),
            targets,
            allow_null_key: self.allow_null_key,
            allow_reenable: self.allow_reenable,
            flap_limit: FlapLimit {
                changes: self.flap_limit.changes,
                window_seconds: self.flap_limit.window_seconds,
            },
            clients,
            mode: self.mode,
            servers,
        })
    }

    /// What `mode` requires of the chain and of the other fields.
    fn check_mode(&self, profile: &ChainProfile) -> Result<(), String> {
        match self.mode {
            KeyMode::ActiveKey if !self.servers.is_empty() => Err(
                "[[account.server]] names signing keys for mode = \"signing-key\"; in active-key \
                 mode the signer holds only the active key"
                    .into(),
            ),
            KeyMode::ActiveKey => Ok(()),
            KeyMode::SigningKey if profile.witness_set_properties_tag.is_none() => Err(format!(
                "mode = \"signing-key\" needs the witness_set_properties operation, which {} does \
                 not have (a chain before HF20): use mode = \"active-key\"",
                profile.name.as_str()
            )),
            KeyMode::SigningKey if self.allow_reenable => Err(
                "allow_reenable = true cannot work in signing-key mode: a disabled witness has the \
                 null signing key, which can sign nothing; re-enable it with `vwf-signer witness \
                 enable --active-key`"
                    .into(),
            ),
            KeyMode::SigningKey
                if self.pinned_url.is_some() || self.pinned_props != PinnedPropsConfig::default() =>
            {
                Err("pinned_url and pinned_props guard what a witness_update sends back; in \
                     signing-key mode witness_set_properties sends only the signing key: remove them"
                    .into())
            }
            KeyMode::SigningKey => Ok(()),
        }
    }
}

impl AccountConfig {
    fn pins(&self, profile: &ChainProfile) -> Result<Pins, String> {
        if let Some(url) = &self.pinned_url {
            vwf_shared::names::check_witness_url(url).map_err(|e| format!("pinned_url: {e}"))?;
        }
        let props = &self.pinned_props;
        let account_creation_fee = props
            .account_creation_fee
            .as_deref()
            .map(|fee| Asset::parse(fee, &profile.core_symbol))
            .transpose()
            .map_err(|e| format!("pinned_props.account_creation_fee: {e}"))?;
        let has_rate = matches!(profile.props_layout, PropsLayout::WithInterestRate { .. });
        if props.interest_rate.is_some() && !has_rate {
            return Err(
                "pinned_props.interest_rate: this chain's props have no interest rate".into(),
            );
        }
        Ok(Pins {
            url: self.pinned_url.clone(),
            account_creation_fee,
            maximum_block_size: props.maximum_block_size,
            interest_rate: props.interest_rate,
        })
    }
}
