//! The signer's configuration file (TOML; unknown fields are errors) and its checked form.
//!
//! `serve`, `dry-run` and `check-config` all call [`SignerConfig::load`], so the three cannot
//! drift apart: what `check-config` accepts is exactly what `serve` runs with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vwf_shared::{ChainProfile, ProfileName, PropsLayout};

use crate::error::Error;
use crate::keystore::{KeyConfig, KeySettings};
use crate::policy::{AccountConfig, Policy};

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7575";

/// The whole file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// `[listen]`: where and how much.
    #[serde(default)]
    pub listen: ListenConfig,
    /// `[tls]`: the server's certificate and the CA that signs client certificates.
    pub tls: TlsFiles,
    /// `[chain]`: profile, nodes and how transactions are built.
    pub chain: ChainConfig,
    /// `[key]`: the age-encrypted active key and how to decrypt it.
    pub key: KeyConfig,
    /// `[state]`: where the request store and audit log live.
    pub state: StateConfig,
    /// `[[account]]`: the policy, one section per witness account.
    #[serde(rename = "account")]
    pub accounts: Vec<AccountConfig>,
}

/// `[listen]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// Address and port. Default `127.0.0.1:7575`; set another address only behind a firewall
    /// that admits the monitor alone.
    #[serde(default = "default_listen")]
    pub address: SocketAddr,
    /// Largest gRPC message accepted, in bytes. Default 16384 (a request is under 1 KiB).
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// Requests allowed per client identity per `rate_window_seconds`. Default 30.
    #[serde(default = "default_rate_requests")]
    pub rate_requests: u32,
    /// The rate-limit window in seconds. Default 60.
    #[serde(default = "default_rate_window")]
    pub rate_window_seconds: u64,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            address: default_listen(),
            max_request_bytes: default_max_request_bytes(),
            rate_requests: default_rate_requests(),
            rate_window_seconds: default_rate_window(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7575))
}
fn default_max_request_bytes() -> usize {
    16 * 1024
}
fn default_rate_requests() -> u32 {
    30
}
fn default_rate_window() -> u64 {
    60
}

/// `[tls]`: PEM files.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The CA that issued the client certificates; only its clients are admitted.
    pub client_ca: PathBuf,
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// The server's private key (must not be accessible by group or others).
    pub key: PathBuf,
}

/// Which block the transaction's TaPoS references (SPEC §5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaposSource {
    /// The last irreversible block: fork-safe, one extra call. The default.
    #[default]
    LastIrreversible,
    /// The head block: what dhive does; fine when nodes agree.
    Head,
}

/// `[chain]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// VIT, STEEM or HIVE.
    pub profile: String,
    /// Node URLs, tried in order: reads and broadcasts go to the first that answers.
    pub nodes: Vec<String>,
    /// Set only if the chain turns out to use 3-field props (e.g. "sbd_interest_rate");
    /// the pre-flight byte check tells.
    #[serde(default)]
    pub props_interest_rate_field: Option<String>,
    /// TaPoS reference: "last-irreversible" (default) or "head".
    #[serde(default)]
    pub tapos: TaposSource,
    /// Transaction lifetime after the head block time, 10–3600 s. Default 60.
    #[serde(default = "default_expiration")]
    pub expiration_seconds: u32,
    /// Compare the node's `get_transaction_hex` with our bytes before every broadcast.
    /// Default true: one round trip that catches a wrong props layout before it costs a
    /// failover.
    #[serde(default = "default_true")]
    pub preflight: bool,
}

fn default_expiration() -> u32 {
    60
}
fn default_true() -> bool {
    true
}

/// `[state]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Directory for `requests.json` (idempotency) and `audit.jsonl`; must exist, owner-only.
    pub dir: PathBuf,
}

/// The checked configuration every command runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The file it came from.
    pub path: PathBuf,
    /// The raw sections (for the key and TLS paths).
    pub raw: SignerConfig,
    /// The chain profile, with the props layout override applied.
    pub profile: ChainProfile,
    /// The policy.
    pub policy: Policy,
    /// The checked `[key]` section.
    pub key: KeySettings,
}

impl Settings {
    /// The request store file.
    pub fn store_path(&self) -> PathBuf {
        self.raw.state.dir.join("requests.json")
    }

    /// The audit log file.
    pub fn audit_path(&self) -> PathBuf {
        self.raw.state.dir.join("audit.jsonl")
    }
}

impl SignerConfig {
    /// Reads, parses and checks the file. Errors name the file, the field and the fix.
    pub fn load(path: &Path) -> Result<Settings, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks config text as if read from `path` (named in errors); touches no file.
    pub fn parse(path: &Path, text: &str) -> Result<Settings, Error> {
        let config_error = |reason: String| Error::Config {
            path: path.to_owned(),
            reason,
        };
        let raw: SignerConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |span| span.start);
            config_error(vwf_shared::names::at_offset(text, offset, e.message()))
        })?;
        let name: ProfileName = raw
            .chain
            .profile
            .parse()
            .map_err(|e: vwf_shared::Error| config_error(format!("[chain] profile: {e}")))?;
        let mut profile = ChainProfile::builtin(name);
        if let Some(field) = &raw.chain.props_interest_rate_field {
            profile = profile.with_props_layout(PropsLayout::WithInterestRate {
                field: field.clone(),
            });
        }
        if raw.chain.nodes.is_empty() {
            return Err(config_error(
                "[chain] nodes: name at least one node URL".into(),
            ));
        }
        for node in &raw.chain.nodes {
            if !(node.starts_with("http://") || node.starts_with("https://")) {
                return Err(config_error(format!(
                    "[chain] nodes: {node:?} must start with http:// or https://"
                )));
            }
        }
        if !(10..=vwf_shared::transaction::MAX_TIME_UNTIL_EXPIRATION)
            .contains(&raw.chain.expiration_seconds)
        {
            return Err(config_error(
                "[chain] expiration_seconds must be between 10 and 3600".into(),
            ));
        }
        if raw.listen.rate_requests == 0 || raw.listen.rate_window_seconds == 0 {
            return Err(config_error(
                "[listen] rate_requests and rate_window_seconds must be at least 1".into(),
            ));
        }
        if raw.accounts.is_empty() {
            return Err(config_error(
                "no [[account]] section: the signer would refuse everything".into(),
            ));
        }
        let mut accounts = Vec::new();
        for account in &raw.accounts {
            if accounts
                .iter()
                .any(|a: &crate::policy::AccountPolicy| a.account == account.name)
            {
                return Err(config_error(format!(
                    "account {:?} is listed twice",
                    account.name
                )));
            }
            accounts.push(
                account
                    .build(&profile.address_prefix)
                    .map_err(config_error)?,
            );
        }
        let key = KeySettings::try_from(raw.key.clone())
            .map_err(|e| config_error(format!("[key] {e}")))?;
        Ok(Settings {
            key,
            path: path.to_owned(),
            profile,
            policy: Policy::new(accounts),
            raw,
        })
    }
}
