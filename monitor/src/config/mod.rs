//! The config file: [`load`] reads, parses and checks it into [`Settings`].
//!
//! Two layers, as in the signer: [`raw`] is the serde shape (`deny_unknown_fields` everywhere),
//! [`check`] turns it into [`Settings`] and reports every problem with its field and fix.
//! Relative paths are taken relative to the config file's directory.

mod error;
mod raw;
mod settings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use vwf_shared::names::check_account_name;
use vwf_shared::{ChainProfile, ProfileName, PublicKey};

pub use error::{ConfigError, Problem};
pub use settings::{
    AlertSettings, Evidence, Policy, Server, Settings, SignerSettings, Thresholds, Window,
};

use error::Problems;
use raw::RawConfig;

/// Reads and checks the config file at `path`.
pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses and checks config text; `path` names the file in errors and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Settings, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: vwf_shared::names::at_offset(text, e.span().map_or(0, |s| s.start), e.message()),
    })?;
    let mut problems = Problems::default();
    let settings = check(path, raw, &mut problems);
    match settings {
        Some(s) if problems.0.is_empty() => Ok(s),
        _ => Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems: problems.0,
        }),
    }
}

/// Checks every field, recording problems; returns `None` if the result would be unusable.
fn check(path: &Path, raw: RawConfig, p: &mut Problems) -> Option<Settings> {
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // `$CREDENTIALS_DIRECTORY/NAME` (a systemd credential) becomes a path in that directory;
    // when the variable is unset the path stays as written and the problem is reported below.
    let unset_credential = std::cell::RefCell::new(None);
    let resolve = |s: &str| -> PathBuf {
        let candidate = match vwf_shared::credentials::expand(Path::new(s)) {
            Ok(path) => path,
            Err(e) => {
                unset_credential.borrow_mut().get_or_insert(e);
                return PathBuf::from(s);
            }
        };
        if candidate.is_absolute() {
            candidate
        } else {
            base.join(candidate)
        }
    };
    if check_account_name(&raw.account).is_err() {
        p.add("account", format!("{:?} is not a valid account name", raw.account),
            "use the witness account name: 3-16 characters, lower-case letters, digits, '-' and '.'");
    }
    let profile = match ProfileName::from_str(&raw.profile) {
        Ok(name) => ChainProfile::builtin(name),
        Err(_) => {
            p.add(
                "profile",
                format!("unknown profile {:?}", raw.profile),
                "use VIT, STEEM or HIVE",
            );
            ChainProfile::vit()
        }
    };
    let prefix = profile.address_prefix.clone();
    let metrics_listen = if raw.metrics_listen.is_empty() {
        None
    } else {
        match SocketAddr::from_str(&raw.metrics_listen) {
            Ok(a) => Some(a),
            Err(_) => {
                p.add(
                    "metrics_listen",
                    format!("{:?} is not an address", raw.metrics_listen),
                    "use IP:PORT such as \"127.0.0.1:9477\", or \"\" to disable metrics",
                );
                None
            }
        }
    };
    if raw.block_interval_ms == 0 {
        p.add(
            "block_interval_ms",
            "must be positive",
            "use 3000 for VIT/Steem/Hive",
        );
    }
    let poll_ms = raw.poll_interval_ms.unwrap_or(raw.block_interval_ms);
    if poll_ms == 0 {
        p.add(
            "poll_interval_ms",
            "must be positive",
            "remove it to poll once per block interval",
        );
    }
    let block_interval = Duration::from_millis(raw.block_interval_ms);

    // Nodes and quorum.
    let chain = raw.chain;
    let allow_plain_http = chain.allow_plain_http;
    if chain.nodes.is_empty() {
        p.add(
            "chain.nodes",
            "no node given",
            "list at least one node URL; three or more lets one fail or lie",
        );
    }
    for (i, url) in chain.nodes.iter().enumerate() {
        if let Err(why) = vwf_shared::names::check_node_url(url, allow_plain_http) {
            p.add(
                format!("chain.nodes[{i}]"),
                why,
                "write the node URL as https://host (or http:// to 127.0.0.1)",
            );
        }
    }
    let majority = vwf_shared::quorum::majority(chain.nodes.len());
    let quorum = chain.quorum.unwrap_or(majority);
    if quorum == 0 || quorum > chain.nodes.len() {
        p.add(
            "chain.quorum",
            format!("quorum {quorum} with {} node(s)", chain.nodes.len()),
            "use a quorum between 1 and the number of nodes; remove it for a majority",
        );
    } else if quorum < majority {
        p.add(
            "chain.quorum",
            format!(
                "quorum {quorum} is less than a majority of {} nodes",
                chain.nodes.len()
            ),
            format!(
                "use at least {majority}, so that two disagreeing groups cannot both be a quorum"
            ),
        );
    }
    if chain.node_timeout_ms == 0 {
        p.add(
            "chain.node_timeout_ms",
            "must be positive",
            "remove it for the default 2500",
        );
    }
    let max_head_lag = Duration::from_secs(chain.max_head_lag_seconds).max(block_interval * 3);

    // Thresholds.
    let t = raw.thresholds;
    if t.missed_blocks == 0 {
        p.add(
            "thresholds.missed_blocks",
            "must be at least 1",
            "use the number of missed blocks that means a server is down, e.g. 3",
        );
    }
    let window = match (t.window_seconds, t.window_blocks) {
        (Some(_), Some(_)) => {
            p.add(
                "thresholds.window_seconds",
                "both window_seconds and window_blocks are set",
                "keep one of them",
            );
            None
        }
        (Some(0), None) | (None, Some(0)) => {
            p.add(
                "thresholds.window_*",
                "a window must be positive",
                "remove it to count every miss since take-over",
            );
            None
        }
        (Some(s), None) => Some(Window::Seconds(s)),
        (None, Some(b)) => Some(Window::Blocks(b)),
        (None, None) => None,
    };

    // Servers.
    if raw.servers.is_empty() {
        p.add("server", "no [[server]] given",
            "add one [[server]] per block producer, primary first; a single server means kill-switch mode");
    }
    let mut servers: Vec<Server> = Vec::new();
    for (i, s) in raw.servers.into_iter().enumerate() {
        let field = format!("server[{i}]");
        let name_ok = !s.name.is_empty()
            && s.name.len() <= 32
            && s.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !name_ok || s.name == "null" || s.name == "unknown" {
            p.add(
                format!("{field}.name"),
                format!("{:?} is not a usable name", s.name),
                "use 1-32 of A-Z a-z 0-9 . _ - (not \"null\" or \"unknown\")",
            );
        }
        if servers.iter().any(|o| o.name == s.name) {
            p.add(
                format!("{field}.name"),
                format!("name {:?} is used twice", s.name),
                "give each server its own name",
            );
        }
        let key = match PublicKey::parse(s.signing_key.trim(), &prefix) {
            Ok(k) if k.is_null() => {
                p.add(format!("{field}.signing_key"), "is the null key", "the kill switch is automatic after the last server; give this server's real key");
                continue;
            }
            Ok(k) => k,
            Err(e) => {
                p.add(format!("{field}.signing_key"), format!("{:?}: {e}", s.signing_key),
                    format!("paste the server's public signing key, starting with {prefix:?} for profile {}", profile.name));
                continue;
            }
        };
        if servers.iter().any(|o| o.key == key) {
            p.add(
                format!("{field}.signing_key"),
                "the same key as an earlier server",
                "each server needs its own signing key",
            );
        }
        if let Some(url) = &s.node
            && let Err(why) = vwf_shared::names::check_node_url(url, allow_plain_http)
        {
            p.add(
                format!("{field}.node"),
                why,
                "write the server's node URL as https://host (or http:// to 127.0.0.1)",
            );
        }
        servers.push(Server {
            name: s.name,
            key,
            node: s.node,
            total_missed_threshold: s.total_missed_threshold,
        });
    }

    let evidence = check_evidence(&raw.evidence, t.missed_blocks, &servers, p);

    let signer = check_signer(raw.signer, &resolve, p);
    if let Some(e) = unset_credential.take() {
        p.add(
            "signer",
            e,
            "see deploy/vwf-run, or set the path to a file of mode 0600",
        );
    }
    let policy = Policy {
        account: raw.account,
        prefix,
        servers,
        thresholds: Thresholds {
            missed_blocks: t.missed_blocks,
            window,
        },
        dry_run: raw.dry_run,
        retry_initial: signer.1,
        retry_max: signer.2,
        health_max_lag_blocks: raw.health.max_lag_intervals.max(1),
        evidence,
    };
    Some(Settings {
        path: path.to_owned(),
        profile,
        state_dir: resolve(&raw.state_dir),
        metrics_listen,
        poll_interval: Duration::from_millis(poll_ms),
        nodes: chain.nodes,
        quorum,
        node_timeout: Duration::from_millis(chain.node_timeout_ms),
        max_head_lag,
        policy,
        signer: signer.0,
        alerts: AlertSettings {
            min_interval: Duration::from_secs(raw.alerts.min_interval_seconds),
            log: raw.alerts.log,
            email: raw.alerts.email,
            webhook: raw.alerts.webhook,
        },
    })
}

/// Checks `[evidence]` against the thresholds and the servers' nodes.
fn check_evidence(
    e: &raw::RawEvidence,
    missed_blocks: u32,
    servers: &[Server],
    p: &mut Problems,
) -> Evidence {
    if e.polls == 0 {
        p.add(
            "evidence.polls",
            "must be at least 1",
            "use the number of consecutive failed polls that mean the server is down, e.g. 3",
        );
    }
    if e.stale_blocks < 2 {
        p.add(
            "evidence.stale_blocks",
            format!(
                "{} would call a node in sync stale (it can be a block behind the others)",
                e.stale_blocks
            ),
            "use at least 2; the default is 3",
        );
    }
    match e.fast_threshold {
        Some(0) => p.add(
            "evidence.fast_threshold",
            "must be at least 1",
            "a switch on evidence alone is `preemptive = true`",
        ),
        Some(f) if f >= missed_blocks => p.add(
            "evidence.fast_threshold",
            format!("{f} is not below thresholds.missed_blocks ({missed_blocks})"),
            "make it smaller (e.g. 1), or remove it",
        ),
        _ => {}
    }
    let enabled = e.fast_threshold.is_some() || e.preemptive;
    // The last server has no backup to go to, so only the others' nodes can give evidence.
    let watched = servers.len().saturating_sub(1);
    if enabled && servers[..watched].iter().all(|s| s.node.is_none()) {
        p.add(
            "evidence",
            "fast_threshold or preemptive is set, but no server with a backup after it has a `node`",
            "set `node = \"https://...\"` on each server to its own node, or remove [evidence]",
        );
    }
    Evidence {
        polls: e.polls.max(1),
        stale_blocks: e.stale_blocks.max(2),
        fast_threshold: e.fast_threshold,
        preemptive: e.preemptive,
        unreachable_is_evidence: e.unreachable_is_evidence,
    }
}

/// The shortest `[signer] status_interval_seconds`: the signer counts each `Status` call
/// against the monitor's rate limit (default 30 per 60 s), so at most 6 a minute leave room
/// for a failover's retries.
const MIN_STATUS_INTERVAL_S: u64 = 10;

/// Checks `[signer]`; returns the settings and the retry delays.
fn check_signer(
    s: raw::RawSigner,
    resolve: &dyn Fn(&str) -> PathBuf,
    p: &mut Problems,
) -> (SignerSettings, Duration, Duration) {
    let host = s.endpoint.strip_prefix("https://").map(|rest| {
        let authority = rest.split('/').next().unwrap_or_default();
        match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
            None => authority
                .rsplit_once(':')
                .map_or(authority, |(h, _)| h)
                .to_owned(),
        }
    });
    let host = match host {
        Some(h) if !h.is_empty() => h,
        _ => {
            p.add(
                "signer.endpoint",
                format!("{:?} is not an https URL", s.endpoint),
                "the signer only speaks mutual TLS: use https://host:port",
            );
            String::new()
        }
    };
    let ca = resolve(&s.ca);
    let cert = resolve(&s.client_cert);
    let key = resolve(&s.client_key);
    for (field, file) in [("signer.ca", &ca), ("signer.client_cert", &cert)] {
        if let Err(e) = std::fs::metadata(file) {
            p.add(
                field,
                format!("{}: {e}", file.display()),
                "point it at the PEM file made by `vwf-signer certs`",
            );
        }
    }
    match std::fs::metadata(&key) {
        Err(e) => p.add(
            "signer.client_key",
            format!("{}: {e}", key.display()),
            "point it at the client key PEM made by `vwf-signer certs`",
        ),
        Ok(meta) => {
            if let Some(mode) = vwf_shared::persist::secret_mode_problem(&key, &meta) {
                p.add(
                    "signer.client_key",
                    format!(
                        "{} is readable by group or others (mode {mode:o})",
                        key.display()
                    ),
                    format!("chmod 600 {}", key.display()),
                );
            }
        }
    }
    if s.timeout_seconds == 0
        || s.retry_initial_seconds == 0
        || s.retry_max_seconds < s.retry_initial_seconds
    {
        p.add(
            "signer.timeout_seconds / retry_*_seconds",
            "must be positive, with retry_max_seconds >= retry_initial_seconds",
            "remove them for the defaults 90 / 3 / 60",
        );
    }
    if !(MIN_STATUS_INTERVAL_S..=3600).contains(&s.status_interval_seconds) {
        p.add(
            "signer.status_interval_seconds",
            format!(
                "{} is outside {MIN_STATUS_INTERVAL_S}-3600",
                s.status_interval_seconds
            ),
            "remove it for the default 30; keep it below the signer's [listen] \
             idle_timeout_seconds (default 300), and at 10 or more so the calls stay a small \
             part of the signer's rate limit (rate_requests per rate_window_seconds)",
        );
    }
    if !(1..=3650).contains(&s.cert_expiry_warning_days) {
        p.add(
            "signer.cert_expiry_warning_days",
            format!("{} is outside 1-3650", s.cert_expiry_warning_days),
            "remove it for the default 30",
        );
    }
    let settings = SignerSettings {
        endpoint: s.endpoint,
        server_name: s.server_name.unwrap_or(host),
        ca,
        client_cert: cert,
        client_key: key,
        timeout: Duration::from_secs(s.timeout_seconds),
        status_interval: Duration::from_secs(s.status_interval_seconds),
        cert_expiry_warning: Duration::from_secs(s.cert_expiry_warning_days.saturating_mul(86_400)),
    };
    (
        settings,
        Duration::from_secs(s.retry_initial_seconds),
        Duration::from_secs(s.retry_max_seconds),
    )
}

#[cfg(test)]
mod tests;
