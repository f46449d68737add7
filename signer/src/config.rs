//! The signer's configuration file (TOML; unknown fields are errors) and its checked form.
//!
//! `serve`, `dry-run` and `check-config` all call [`SignerConfig::load`], so the three cannot
//! drift apart: what `check-config` accepts is exactly what `serve` runs with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vwf_shared::{Asset, ChainProfile, ChainProperties, ProfileName, PropsLayout};

use crate::engine::{BuildSettings, Fallback};
use crate::error::Error;
use crate::keystore::{AssignedKeys, KeyConfig, KeySettings, load_keys_with};
use crate::policy::{AccountConfig, Policy};
use crate::revocation::{DenyList, RevokedConfig};

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
    /// `[revoked]`: client certificates refused although the CA signed them. `serve` reloads
    /// this section on SIGHUP.
    #[serde(default)]
    pub revoked: RevokedConfig,
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
    /// TLS handshakes in flight at once, from everyone. Default 128. When full, a new
    /// connection takes the slot of the oldest one that has sent nothing yet (else the oldest):
    /// idle sockets cannot keep a real client from connecting.
    #[serde(default = "default_max_handshakes")]
    pub max_handshakes: usize,
    /// TLS handshakes in flight from one source address. Default 32; same eviction.
    #[serde(default = "default_max_handshakes_per_address")]
    pub max_handshakes_per_address: usize,
    /// How long a new connection may stay silent before its first byte (the TLS ClientHello).
    /// Milliseconds, 100-10000, default 1000.
    #[serde(default = "default_first_byte_timeout_ms")]
    pub first_byte_timeout_ms: u64,
    /// How long the whole TLS handshake may take, first byte included. Milliseconds,
    /// 100-30000, default 3000.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// Open (handshaken) connections in total. Default 128; past it new ones are closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Open connections from one source address. Default 64.
    #[serde(default = "default_max_connections_per_address")]
    pub max_connections_per_address: usize,
    /// Open connections per client identity (certificate). Default 8: a client needs one.
    #[serde(default = "default_max_connections_per_identity")]
    pub max_connections_per_identity: usize,
    /// A connection that carries no request for this long is closed. Seconds, 1-86400,
    /// default 300. A client keeps its connection warm with any call (the health check costs
    /// nothing and is not rate-limited).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_seconds: u64,
    /// Interval of HTTP/2 PINGs on open connections. Seconds, 1-3600, default 30.
    #[serde(default = "default_keepalive_interval")]
    pub keepalive_interval_seconds: u64,
    /// A connection whose peer does not answer a PING within this is closed. Seconds, 1-600,
    /// default 10.
    #[serde(default = "default_keepalive_timeout")]
    pub keepalive_timeout_seconds: u64,
    /// Refusals of one kind from one peer (a rate limit, a bad handshake) are written once in
    /// full, then counted, and one summary line per peer and kind is written every this many
    /// seconds while they go on. Seconds, 1-3600, default 60.
    #[serde(default = "default_refusal_summary")]
    pub refusal_summary_seconds: u64,
    /// Cap on the audit log's size in bytes. Default 67108864 (64 MiB). Within
    /// `audit_reserve_bytes` of it, only decisions that change the chain (intent, applied,
    /// expired, pending) are still written; everything else is counted in the signer's log.
    #[serde(default = "default_audit_max_bytes")]
    pub audit_max_bytes: u64,
    /// Room kept for chain-changing decisions, in bytes, at least 4096; default 1048576
    /// (1 MiB). The part of `audit_max_bytes` only they may use, the free space below which
    /// nothing else is written to the state volume's audit log, and the size of the
    /// `audit.reserve` file kept beside it and deleted when that volume runs full.
    #[serde(default = "default_audit_reserve_bytes")]
    pub audit_reserve_bytes: u64,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            address: default_listen(),
            max_request_bytes: default_max_request_bytes(),
            rate_requests: default_rate_requests(),
            rate_window_seconds: default_rate_window(),
            max_handshakes: default_max_handshakes(),
            max_handshakes_per_address: default_max_handshakes_per_address(),
            first_byte_timeout_ms: default_first_byte_timeout_ms(),
            handshake_timeout_ms: default_handshake_timeout_ms(),
            max_connections: default_max_connections(),
            max_connections_per_address: default_max_connections_per_address(),
            max_connections_per_identity: default_max_connections_per_identity(),
            idle_timeout_seconds: default_idle_timeout(),
            keepalive_interval_seconds: default_keepalive_interval(),
            keepalive_timeout_seconds: default_keepalive_timeout(),
            refusal_summary_seconds: default_refusal_summary(),
            audit_max_bytes: default_audit_max_bytes(),
            audit_reserve_bytes: default_audit_reserve_bytes(),
        }
    }
}

impl ListenConfig {
    /// Checks the connection and audit limits against each other; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.rate_requests == 0 || self.rate_window_seconds == 0 {
            return Err("[listen] rate_requests and rate_window_seconds must be at least 1".into());
        }
        let between = |name: &str, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "[listen] {name} = {value}: it must be between {low} and {high}"
                ))
            }
        };
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        between("max_handshakes", count(self.max_handshakes), 1, 65_536)?;
        between(
            "max_handshakes_per_address",
            count(self.max_handshakes_per_address),
            1,
            count(self.max_handshakes),
        )?;
        between("max_connections", count(self.max_connections), 1, 65_536)?;
        between(
            "max_connections_per_address",
            count(self.max_connections_per_address),
            1,
            count(self.max_connections),
        )?;
        between(
            "max_connections_per_identity",
            count(self.max_connections_per_identity),
            1,
            count(self.max_connections_per_address),
        )?;
        between(
            "handshake_timeout_ms",
            self.handshake_timeout_ms,
            100,
            30_000,
        )?;
        between(
            "first_byte_timeout_ms",
            self.first_byte_timeout_ms,
            100,
            10_000.min(self.handshake_timeout_ms),
        )?;
        between("idle_timeout_seconds", self.idle_timeout_seconds, 1, 86_400)?;
        between(
            "keepalive_interval_seconds",
            self.keepalive_interval_seconds,
            1,
            3600,
        )?;
        between(
            "keepalive_timeout_seconds",
            self.keepalive_timeout_seconds,
            1,
            600,
        )?;
        between(
            "refusal_summary_seconds",
            self.refusal_summary_seconds,
            1,
            3600,
        )?;
        between(
            "audit_reserve_bytes",
            self.audit_reserve_bytes,
            4096,
            1 << 30,
        )?;
        if self.audit_max_bytes < 2 * self.audit_reserve_bytes {
            return Err(format!(
                "[listen] audit_max_bytes = {} must be at least twice audit_reserve_bytes ({})",
                self.audit_max_bytes, self.audit_reserve_bytes
            ));
        }
        Ok(())
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
fn default_max_handshakes() -> usize {
    128
}
fn default_max_handshakes_per_address() -> usize {
    32
}
fn default_first_byte_timeout_ms() -> u64 {
    1000
}
fn default_handshake_timeout_ms() -> u64 {
    3000
}
fn default_max_connections() -> usize {
    128
}
fn default_max_connections_per_address() -> usize {
    64
}
fn default_max_connections_per_identity() -> usize {
    8
}
fn default_idle_timeout() -> u64 {
    300
}
fn default_keepalive_interval() -> u64 {
    30
}
fn default_keepalive_timeout() -> u64 {
    10
}
fn default_refusal_summary() -> u64 {
    60
}
fn default_audit_max_bytes() -> u64 {
    64 << 20
}
fn default_audit_reserve_bytes() -> u64 {
    1 << 20
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
    /// Node URLs. Every read that decides what is signed is asked of all of them and counts only
    /// where `quorum` agree; broadcasts go to all. Three or more lets one fail or lie.
    pub nodes: Vec<String>,
    /// Answers that must agree. Default: a majority of `nodes`; less than a majority is refused.
    /// A single node is accepted with a loud warning: it alone then decides what is signed.
    #[serde(default)]
    pub quorum: Option<usize>,
    /// A node whose head block time is further than this from the local clock (either way) is
    /// not counted, and the expiration is bounded by the local clock too. Seconds, default 15
    /// (five 3-second blocks); the host's clock must be synced (NTP).
    #[serde(default = "default_max_clock_skew")]
    pub max_clock_skew_seconds: u64,
    /// How long one request waits for a quorum of nodes to show its outcome (and to settle an
    /// earlier change still pending) before answering that the outcome is not yet known; the
    /// client then retries with the same request id. Seconds, default 60: keep it below the
    /// monitor's `[signer] timeout_seconds` (default 90).
    #[serde(default = "default_confirm_timeout")]
    pub confirm_timeout_seconds: u64,
    /// Accept plain `http://` node URLs to hosts that are not loopback. Default false: anyone on
    /// the path could then answer for the node.
    #[serde(default)]
    pub allow_plain_http: bool,
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
    /// `[chain.fallback]`: url and props to send only when the witness's own cannot be read from
    /// chain (a `witness_update` overwrites both). Unset by default: the signer then refuses to
    /// act rather than guess.
    #[serde(default)]
    pub fallback: FallbackConfig,
}

/// `[chain.fallback]`. Each part is used only when the chain's value cannot be read, and the
/// signer says so in its log, the audit entry and dry-run reasons.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackConfig {
    /// Url to send when the witness's url is empty or unreadable, e.g. "No website yet".
    #[serde(default)]
    pub url: Option<String>,
    /// With `maximum_block_size` (and `interest_rate` on 3-field chains): props to send when
    /// the witness's props cannot be read, e.g. "0.100 VIT".
    #[serde(default)]
    pub account_creation_fee: Option<String>,
    /// Bytes, at least 65536.
    #[serde(default)]
    pub maximum_block_size: Option<u32>,
    /// Basis points; only on chains whose props have an interest rate.
    #[serde(default)]
    pub interest_rate: Option<u16>,
}

fn default_confirm_timeout() -> u64 {
    60
}
fn default_max_clock_skew() -> u64 {
    15
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
    /// How transactions are built, fallbacks included.
    pub build: BuildSettings,
    /// Node answers that must agree (resolved from `[chain] quorum`).
    pub quorum: usize,
    /// Set when one node alone decides what is signed: said at start and in the audit log.
    pub single_node_warning: Option<String>,
    /// The checked `[revoked]` section.
    pub deny_list: DenyList,
}

impl Settings {
    /// Decrypts the `[key]` age file and sorts its keys by the policy (which key signs for
    /// which account); the second value says why a key's page could not be locked in RAM.
    pub fn unlock_keys(
        &self,
    ) -> Result<(AssignedKeys, Option<vwf_shared::keys::MemoryLockError>), Error> {
        let loaded = load_keys_with(&self.key.age_file, &self.key.source, &self.key.options)?;
        let keys = loaded
            .ring
            .assign(&self.policy, &self.profile.address_prefix)
            .map_err(|reason| Error::KeyRing {
                path: self.key.age_file.clone(),
                reason,
            })?;
        Ok((keys, loaded.memory_lock))
    }

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

    /// Only the checked `[revoked]` list of the config at `path`. The whole file is parsed as
    /// [`SignerConfig::load`] parses it, but no credential path is resolved: `certs list` runs
    /// from a root shell, where `$CREDENTIALS_DIRECTORY` is not set.
    pub fn load_deny_list(path: &Path) -> Result<DenyList, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse_raw(path, &text)?
            .revoked
            .build()
            .map_err(|reason| Error::Config {
                path: path.to_owned(),
                reason,
            })
    }

    /// The file's sections as written (unknown fields refused), nothing resolved or checked.
    fn parse_raw(path: &Path, text: &str) -> Result<SignerConfig, Error> {
        toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |span| span.start);
            Error::Config {
                path: path.to_owned(),
                reason: vwf_shared::names::at_offset(text, offset, e.message()),
            }
        })
    }

    /// Parses and checks config text as if read from `path` (named in errors); touches no file.
    pub fn parse(path: &Path, text: &str) -> Result<Settings, Error> {
        let config_error = |reason: String| Error::Config {
            path: path.to_owned(),
            reason,
        };
        let mut raw = Self::parse_raw(path, text)?;
        // `$CREDENTIALS_DIRECTORY/NAME` is a systemd credential (vwf_shared::credentials).
        let (tls, key) = (&mut raw.tls, &mut raw.key);
        for file in [
            &mut tls.client_ca,
            &mut tls.cert,
            &mut tls.key,
            &mut key.age_file,
        ]
        .into_iter()
        .chain(key.identity_file.as_mut())
        .chain(key.passphrase_file.as_mut())
        {
            *file = vwf_shared::credentials::expand(file).map_err(config_error)?;
        }
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
        let mut seen: Vec<String> = Vec::new();
        for node in &raw.chain.nodes {
            vwf_shared::names::check_node_url(node, raw.chain.allow_plain_http)
                .map_err(|e| config_error(format!("[chain] nodes: {e}")))?;
            // The same node twice would count twice toward the quorum.
            let same = vwf_shared::names::node_identity(node);
            if seen.contains(&same) {
                return Err(config_error(format!(
                    "[chain] nodes: {} is listed twice; each node counts once toward the quorum",
                    vwf_shared::names::redact_node_url(node)
                )));
            }
            seen.push(same);
        }
        let node_count = raw.chain.nodes.len();
        let majority = crate::quorum::majority(node_count);
        let quorum = raw.chain.quorum.unwrap_or(majority);
        if quorum < majority || quorum > node_count {
            return Err(config_error(format!(
                "[chain] quorum = {quorum} with {node_count} node(s): it must be between {majority} (a majority) and {node_count}"
            )));
        }
        let single_node_warning = (quorum == 1).then(|| {
            format!(
                "WARNING: one node ({}) alone decides the witness data, the TaPoS block and the outcome                  of every transaction this signer signs; a lying or compromised node can make it sign                  a change the policy does not pin. Configure three nodes from different operators.",
                raw.chain
                    .nodes
                    .first()
                    .map_or(String::new(), |n| vwf_shared::names::redact_node_url(n))
            )
        });
        if !(1..=600).contains(&raw.chain.confirm_timeout_seconds) {
            return Err(config_error(
                "[chain] confirm_timeout_seconds must be between 1 and 600".into(),
            ));
        }
        if !(1..=120).contains(&raw.chain.max_clock_skew_seconds) {
            return Err(config_error(
                "[chain] max_clock_skew_seconds must be between 1 and 120 (a few block intervals)"
                    .into(),
            ));
        }
        if !(10..=vwf_shared::transaction::MAX_TIME_UNTIL_EXPIRATION)
            .contains(&raw.chain.expiration_seconds)
        {
            return Err(config_error(
                "[chain] expiration_seconds must be between 10 and 3600".into(),
            ));
        }
        raw.listen.check().map_err(config_error)?;
        if raw.accounts.is_empty() {
            return Err(config_error(
                "no [[account]] section: the signer would refuse everything".into(),
            ));
        }
        let mut accounts = Vec::new();
        for account in &raw.accounts {
            if account.flap_limit.window_seconds > crate::store::RETENTION_SECONDS {
                return Err(config_error(format!(
                    "account {:?}: flap_limit.window_seconds = {} is longer than the {} s the request store keeps applied changes",
                    account.name,
                    account.flap_limit.window_seconds,
                    crate::store::RETENTION_SECONDS
                )));
            }
            if accounts
                .iter()
                .any(|a: &crate::policy::AccountPolicy| a.account == account.name)
            {
                return Err(config_error(format!(
                    "account {:?} is listed twice",
                    account.name
                )));
            }
            accounts.push(account.build(&profile).map_err(config_error)?);
        }
        let deny_list = raw.revoked.build().map_err(config_error)?;
        let key = KeySettings::try_from(raw.key.clone())
            .map_err(|e| config_error(format!("[key] {e}")))?;
        let fallback = raw
            .chain
            .fallback
            .check(&profile)
            .map_err(|e| config_error(format!("[chain.fallback] {e}")))?;
        let build = BuildSettings {
            tapos: raw.chain.tapos,
            expiration_seconds: raw.chain.expiration_seconds,
            preflight: raw.chain.preflight,
            confirm_timeout: std::time::Duration::from_secs(raw.chain.confirm_timeout_seconds),
            fallback,
        };
        Ok(Settings {
            key,
            build,
            quorum,
            single_node_warning,
            deny_list,
            path: path.to_owned(),
            profile,
            policy: Policy::new(accounts),
            raw,
        })
    }
}

/// Checks the state directory: it must be a directory accessible by its owner only (mode
/// 0700). With `create`, a missing one is created 0700 (as `serve` does).
pub fn check_state_dir(dir: &Path, create: bool) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if create && !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("[state] dir {}: cannot create it: {e}", dir.display()))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| format!("[state] dir {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("[state] dir {} is not a directory", dir.display()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "[state] dir {} is accessible by group or others (mode {mode:03o}); it holds the request \
             store and the audit log: chmod 700 {}",
            dir.display(),
            dir.display()
        ));
    }
    Ok(())
}

impl FallbackConfig {
    /// Checks the values as the chain would and builds the fallback.
    fn check(&self, profile: &ChainProfile) -> Result<Fallback, String> {
        if let Some(url) = &self.url {
            vwf_shared::names::check_witness_url(url).map_err(|e| format!("url: {e}"))?;
        }
        let needs_rate = matches!(profile.props_layout, PropsLayout::WithInterestRate { .. });
        let props = match (
            &self.account_creation_fee,
            self.maximum_block_size,
            self.interest_rate,
        ) {
            (None, None, None) => None,
            (Some(fee), Some(size), rate) if rate.is_some() == needs_rate => {
                let account_creation_fee =
                    Asset::parse(fee, &profile.core_symbol).map_err(|e| e.to_string())?;
                Some(ChainProperties {
                    account_creation_fee,
                    maximum_block_size: size,
                    interest_rate: rate,
                })
            }
            _ => {
                return Err(format!(
                    "give all of {} or none",
                    profile.props_layout.field_names().join(", ")
                ));
            }
        };
        Ok(Fallback {
            url: self.url.clone(),
            props,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[tls]
client_ca = "ca.pem"
cert = "server.pem"
key = "server.key"
[chain]
profile = "VIT"
nodes = ["https://peer.vit.tube"]
FALLBACK
[key]
age_file = "active.age"
identity_file = "identity"
[state]
dir = "state"
[[account]]
name = "vit-test-witness"
allow_null_key = true
[[account.client]]
identity = "spiffe://vwf/monitor"
may = ["disable"]
"#;

    #[test]
    fn quorum_defaults_to_a_majority_and_below_a_majority_is_refused() {
        let three = BASE.replace(
            "nodes = [\"https://peer.vit.tube\"]",
            "nodes = [\"https://a.example\", \"https://b.example\", \"https://c.example\"]",
        );
        let parsed = SignerConfig::parse(Path::new("s.toml"), &three.replace("FALLBACK", ""));
        assert!(matches!(&parsed, Ok(s) if s.quorum == 2 && s.single_node_warning.is_none()));
        let low = three.replace("FALLBACK", "quorum = 1");
        let message = SignerConfig::parse(Path::new("s.toml"), &low)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("a majority"), "{message}");
        let single = parse("");
        assert!(
            matches!(&single, Ok(s) if s.quorum == 1 && s.single_node_warning.as_deref().is_some_and(|w| w.contains("WARNING")))
        );
    }

    #[test]
    fn plain_http_skew_and_flap_window_are_checked() {
        let plain = BASE
            .replace("https://peer.vit.tube", "http://peer.vit.tube")
            .replace("FALLBACK", "");
        let message = SignerConfig::parse(Path::new("s.toml"), &plain)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("allow_plain_http"), "{message}");
        let allowed = BASE
            .replace("https://peer.vit.tube", "http://peer.vit.tube")
            .replace("FALLBACK", "allow_plain_http = true");
        assert!(SignerConfig::parse(Path::new("s.toml"), &allowed).is_ok());
        let skew = parse("max_clock_skew_seconds = 0");
        assert!(matches!(&skew, Err(e) if e.to_string().contains("max_clock_skew_seconds")));
        let long_window = BASE.replace("FALLBACK", "").replace(
            "allow_null_key = true",
            "allow_null_key = true\nflap_limit = { changes = 3, window_seconds = 99999999 }",
        );
        let message = SignerConfig::parse(Path::new("s.toml"), &long_window)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("longer than"), "{message}");
    }

    fn parse(fallback: &str) -> Result<Settings, Error> {
        SignerConfig::parse(
            Path::new("signer.toml"),
            &BASE.replace("FALLBACK", fallback),
        )
    }

    #[test]
    fn fallback_is_empty_by_default_and_complete_when_given() {
        let none = parse("").map(|s| s.build.fallback);
        assert_eq!(none.ok(), Some(Fallback::default()));
        let full = parse(
            "[chain.fallback]\nurl = \"No website yet\"\naccount_creation_fee = \"0.100 VIT\"\nmaximum_block_size = 131072",
        );
        let fallback = full.map(|s| s.build.fallback).ok();
        assert_eq!(
            fallback
                .as_ref()
                .and_then(|f| f.props.as_ref())
                .map(|p| p.account_creation_fee.amount),
            Some(100)
        );
        assert_eq!(
            fallback.and_then(|f| f.url).as_deref(),
            Some("No website yet")
        );
    }

    #[test]
    fn partial_or_invalid_fallbacks_are_config_errors() {
        for (fallback, expected) in [
            (
                "[chain.fallback]\naccount_creation_fee = \"0.100 VIT\"",
                "give all of",
            ),
            (
                "[chain.fallback]\naccount_creation_fee = \"0.1 VIT\"\nmaximum_block_size = 131072",
                "decimals",
            ),
            ("[chain.fallback]\nurl = \"\"", "url"),
            ("[chain.fallback]\nurl = \"x\"\ncolour = 1", "unknown field"),
            (
                "[chain.fallback]\naccount_creation_fee = \"0.100 VIT\"\nmaximum_block_size = 131072\ninterest_rate = 0",
                "give all of",
            ),
        ] {
            let message = parse(fallback)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
    }
}

#[cfg(test)]
mod revoked_tests {
    use super::*;

    #[test]
    fn the_revoked_section_is_optional_and_checked() {
        let base = tests_base();
        let none = SignerConfig::parse(Path::new("s.toml"), &base);
        assert!(matches!(&none, Ok(s) if s.deny_list.is_empty()));
        let listed = format!(
            "{base}\n[revoked]\nfingerprints = [\"{}\"]\nserials = [\"7f\"]\n",
            "AB:".repeat(31) + "AB"
        );
        let parsed = SignerConfig::parse(Path::new("s.toml"), &listed);
        assert!(matches!(&parsed, Ok(s) if s.deny_list.len() == (1, 1)));
        for (section, expected) in [
            (
                "[revoked]\nfingerprints = [\"ab\"]",
                "[revoked] fingerprints[0]",
            ),
            ("[revoked]\nserials = [\"1\", \"01\"]", "listed twice"),
            ("[revoked]\nidentities = []", "unknown field"),
        ] {
            let message = SignerConfig::parse(Path::new("s.toml"), &format!("{base}\n{section}\n"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains(expected), "{section}: {message}");
        }
    }

    /// A reload logs and audits why the file is invalid: a passphrase written inline, where
    /// only "prompt" or "systemd-ask-password" goes, must not be in that text.
    #[test]
    fn a_passphrase_written_in_the_config_is_refused_without_being_shown() {
        for (value, secret) in [
            ("\"hunter2 correct horse\"", "hunter2"),
            ("123456789", "123456789"),
            ("1.25e9", "1250000000"),
        ] {
            let text = tests_base().replace(
                "identity_file = \"identity\"",
                &format!("passphrase = {value}"),
            );
            let message = SignerConfig::parse(Path::new("s.toml"), &text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains("[key] passphrase must be"), "{message}");
            assert!(!message.contains(secret), "{message}");
        }
        let prompt = tests_base().replace(
            "identity_file = \"identity\"",
            "passphrase = \"systemd-ask-password\"",
        );
        assert!(SignerConfig::parse(Path::new("s.toml"), &prompt).is_ok());
    }

    fn tests_base() -> String {
        r#"
[tls]
client_ca = "ca.pem"
cert = "server.pem"
key = "server.key"
[chain]
profile = "VIT"
nodes = ["https://peer.vit.tube"]
[key]
age_file = "active.age"
identity_file = "identity"
[state]
dir = "state"
[[account]]
name = "vit-test-witness"
allow_null_key = true
[[account.client]]
identity = "spiffe://vwf/monitor"
may = ["disable"]
"#
        .to_owned()
    }
}

#[cfg(test)]
mod listen_tests {
    use super::*;

    fn listen(text: &str) -> Result<(), String> {
        let config: ListenConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()
    }

    #[test]
    fn connection_and_audit_limits_have_safe_defaults_and_are_checked() {
        assert_eq!(listen(""), Ok(()));
        let defaults = ListenConfig::default();
        assert_eq!(
            (
                defaults.max_handshakes,
                defaults.max_connections,
                defaults.max_connections_per_identity
            ),
            (128, 128, 8)
        );
        for (text, field) in [
            ("max_handshakes = 0", "max_handshakes"),
            (
                "max_handshakes_per_address = 200",
                "max_handshakes_per_address",
            ),
            (
                "max_connections_per_address = 200",
                "max_connections_per_address",
            ),
            (
                "max_connections_per_identity = 65",
                "max_connections_per_identity",
            ),
            ("first_byte_timeout_ms = 5000", "first_byte_timeout_ms"),
            ("handshake_timeout_ms = 50", "handshake_timeout_ms"),
            ("idle_timeout_seconds = 0", "idle_timeout_seconds"),
            ("keepalive_timeout_seconds = 0", "keepalive_timeout_seconds"),
            ("refusal_summary_seconds = 0", "refusal_summary_seconds"),
            ("audit_reserve_bytes = 100", "audit_reserve_bytes"),
            ("audit_max_bytes = 100000", "audit_max_bytes"),
            ("rate_requests = 0", "rate_requests"),
        ] {
            let message = listen(text).err().unwrap_or_default();
            assert!(message.contains(field), "{text}: {message:?}");
        }
        assert_eq!(
            listen(
                "max_connections = 4\nmax_connections_per_address = 4\nmax_connections_per_identity = 1"
            ),
            Ok(())
        );
    }
}
