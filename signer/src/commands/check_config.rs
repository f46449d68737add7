//! `vwf-signer check-config`: load the configuration exactly as `serve` does, check the files
//! it names, and print what the signer would run with. Decrypts nothing.

use std::path::{Path, PathBuf};

use clap::Args;
use time::OffsetDateTime;

use super::print_line;
use crate::config::SignerConfig;
use crate::error::Error;
use crate::input::open_private;
use crate::keystore::KeySource;
use crate::pki;
use crate::policy::KeyMode;

/// Arguments of `check-config`.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The signer's configuration file.
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
}

impl CheckConfigArgs {
    /// Checks and prints a summary; the first problem is the error.
    pub fn run(self) -> Result<(), Error> {
        let settings = SignerConfig::load(&self.config)?;
        let raw = &settings.raw;
        let missing = |path: &Path, what: &str| -> Result<(), Error> {
            if path.exists() {
                Ok(())
            } else {
                Err(Error::Config {
                    path: self.config.clone(),
                    reason: format!("{what} {} does not exist", path.display()),
                })
            }
        };
        missing(&raw.tls.client_ca, "[tls] client_ca")?;
        missing(&raw.tls.cert, "[tls] cert")?;
        open_private(&raw.tls.key)?;
        let mut cert_warnings = Vec::new();
        for (field, path) in [
            ("[tls] client_ca", &raw.tls.client_ca),
            ("[tls] cert", &raw.tls.cert),
        ] {
            let pem = std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let config_error = |reason: String| Error::Config {
                path: self.config.clone(),
                reason,
            };
            let notices = pki::expiry_notices(field, path, &pem, OffsetDateTime::now_utc())
                .map_err(config_error)?;
            if let Some(expired) = notices.iter().find(|n| n.expired) {
                return Err(config_error(expired.to_string()));
            }
            cert_warnings.extend(notices.iter().map(|n| format!("WARNING: {n}")));
        }
        missing(&settings.key.age_file, "[key] age_file")?;
        match &settings.key.source {
            KeySource::IdentityFile(path) | KeySource::PassphraseFile(path) => {
                open_private(path)?;
            }
            KeySource::PassphrasePrompt | KeySource::SystemdAskPassword => {}
        }
        crate::config::check_state_dir(&raw.state.dir, false).map_err(|reason| Error::Config {
            path: self.config.clone(),
            reason,
        })?;
        let prefix = &settings.profile.address_prefix;
        let mut lines = vec![
            format!("config {}: OK", settings.path.display()),
            format!(
                "listen {} (max request {} bytes, {} requests per {} s per client)",
                raw.listen.address,
                raw.listen.max_request_bytes,
                raw.listen.rate_requests,
                raw.listen.rate_window_seconds
            ),
            format!(
                "chain {} (chain id {}), props {}",
                settings.profile.name,
                settings.profile.chain_id,
                settings.profile.props_layout.field_names().join("+")
            ),
            format!(
                "nodes {} (quorum {}, max clock skew {} s, confirm timeout {} s)",
                raw.chain
                    .nodes
                    .iter()
                    .map(|n| vwf_shared::names::redact_node_url(n))
                    .collect::<Vec<_>>()
                    .join(", "),
                settings.quorum,
                raw.chain.max_clock_skew_seconds,
                raw.chain.confirm_timeout_seconds
            ),
            format!(
                "tapos {}, expiration {} s, preflight {}",
                match raw.chain.tapos {
                    crate::config::TaposSource::LastIrreversible => "last-irreversible",
                    crate::config::TaposSource::Head => "head",
                },
                raw.chain.expiration_seconds,
                raw.chain.preflight
            ),
            format!(
                "key {} ({})",
                settings.key.age_file.display(),
                describe(&settings.key.source)
            ),
            format!("state {}", raw.state.dir.display()),
        ];
        if let Some(warning) = &settings.single_node_warning {
            lines.push(warning.clone());
        }
        let (fingerprints, serials) = settings.deny_list.len();
        lines.push(format!(
            "revoked client certificates: {fingerprints} by fingerprint, {serials} by serial"
        ));
        lines.extend(cert_warnings);
        for account in settings.policy.accounts() {
            lines.push(format!(
                "account {}: mode {}, targets [{}], null key {}, re-enable {}, flap limit {} per {} s",
                account.account,
                account.mode,
                account
                    .targets
                    .iter()
                    .map(|t| format!("{}={}", t.name, t.key.to_string_with_prefix(prefix)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if account.allow_null_key {
                    "allowed"
                } else {
                    "refused"
                },
                if account.allow_reenable {
                    "allowed"
                } else {
                    "refused"
                },
                account.flap_limit.changes,
                account.flap_limit.window_seconds,
            ));
            // A full failover chain (every target, then the null key) plus the operator's
            // re-enable must fit in one window, or a second incident finds the budget spent.
            let needed = account.targets.len() as u32 + 1;
            if account.flap_limit.changes < needed {
                lines.push(format!(
                    "  WARNING: flap_limit allows {} switch(es) per {} s; a failover through all {} target(s) \
                     plus your re-enable needs {needed}: a second incident within the window would be \
                     refused (the kill switch is never refused)",
                    account.flap_limit.changes,
                    account.flap_limit.window_seconds,
                    account.targets.len()
                ));
            }
            if account.mode == KeyMode::SigningKey {
                lines.push(format!(
                    "  signing-key mode: witness_set_properties signed with the current signing key; \
                     the age file holds the servers' signing keys [{}] and no active key (checked at \
                     start); re-enabling needs `vwf-signer witness enable --active-key`",
                    account
                        .server_keys()
                        .map(|t| format!("{}={}", t.name, t.key.to_string_with_prefix(prefix)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let pins = &account.pins;
            if pins.url.is_some()
                || pins.account_creation_fee.is_some()
                || pins.maximum_block_size.is_some()
                || pins.interest_rate.is_some()
            {
                lines.push(format!(
                    "  pinned: url {:?}, account_creation_fee {}, maximum_block_size {:?}, interest_rate {:?}",
                    pins.url,
                    pins.account_creation_fee
                        .as_ref()
                        .map_or("-".into(), ToString::to_string),
                    pins.maximum_block_size,
                    pins.interest_rate
                ));
            }
            for (client, may) in &account.clients {
                let may: Vec<&str> = may.iter().map(|p| p.as_str()).collect();
                lines.push(format!("  client {client}: may {}", may.join(", ")));
            }
        }
        print_line(&lines.join("\n"))
    }
}

fn describe(source: &KeySource) -> String {
    match source {
        KeySource::IdentityFile(path) => format!("identity file {}", path.display()),
        KeySource::PassphraseFile(path) => format!("passphrase file {}", path.display()),
        KeySource::PassphrasePrompt => "passphrase asked on the TTY".into(),
        KeySource::SystemdAskPassword => "passphrase asked through systemd-ask-password".into(),
    }
}
