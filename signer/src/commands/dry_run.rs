//! `vwf-signer dry-run`: audit a request against the policy and the chain, build the exact
//! transaction, optionally let the node check its bytes; never broadcasts.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::print_line;
use crate::audit::AuditLog;
use crate::config::SignerConfig;
use crate::engine::Engine;
use crate::error::Error;
use crate::policy::{Intent, RawTarget};
use crate::store::RequestStore;

/// Arguments of `dry-run`.
#[derive(Debug, Args)]
pub struct DryRunArgs {
    /// The signer's configuration file.
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
    /// Evaluate the policy as this client identity (its certificate's URI or DNS SAN).
    #[arg(long, value_name = "IDENTITY")]
    pub client: String,
    /// The witness account.
    #[arg(long)]
    pub account: String,
    /// The key to set: a public key, or `null` for the null key.
    #[arg(long, value_name = "KEY|null")]
    pub target: String,
    /// The key the request expects on chain now (compare-and-swap), or `null`.
    #[arg(long, value_name = "KEY|null")]
    pub expected: String,
    /// Why, for the audit log.
    #[arg(long, default_value = "dry-run from the command line")]
    pub reason: String,
    /// Also ask the node to serialize the transaction and compare its bytes (SPEC §7.6).
    #[arg(long)]
    pub preflight: bool,
}

impl DryRunArgs {
    /// Runs the audit and prints the report as JSON.
    pub fn run(self) -> Result<(), Error> {
        // The key is in memory for the run, as in `serve`: no core dumps, no ptrace.
        crate::hardening::harden_process()?;
        let settings = SignerConfig::load(&self.config)?;
        let prefix = settings.profile.address_prefix.clone();
        let target = if self.target.eq_ignore_ascii_case("null") {
            RawTarget::Null
        } else {
            RawTarget::Key(&self.target)
        };
        // `null` names the null key on both sides, as for --target.
        let expected = if self.expected.eq_ignore_ascii_case("null") {
            vwf_shared::PublicKey::NULL.to_string_with_prefix(&prefix)
        } else {
            self.expected.clone()
        };
        let intent = Intent::parse(
            "",
            &self.account,
            Some(target),
            &expected,
            &self.reason,
            &prefix,
            false,
        )
        .map_err(|refusal| Error::Config {
            path: self.config.clone(),
            reason: format!("request: {}", refusal.reason),
        })?;
        let (keys, _) = settings.unlock_keys()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
        let report = runtime.block_on(async {
            let engine = Engine::new(
                settings.profile.clone(),
                settings.policy.clone(),
                Arc::new(keys),
                super::serve::nodes_of(&settings),
                settings.build.clone(),
                RequestStore::open_beside_audit(&settings.store_path(), &settings.audit_path())?,
                AuditLog::open(&settings.audit_path())?,
            );
            engine.dry_run(&self.client, &intent, self.preflight).await
        })?;
        let json = serde_json::json!({
            "dry_run": true,
            "allowed": report.allowed,
            "refused": report.refusal.map(|(rule, reason)| serde_json::json!({"rule": rule, "reason": reason})),
            "reasons": report.reasons,
            "transaction_json": report.transaction_json,
            "digest": report.digest,
            "preflight": report.preflight.map(|(matches, expected_hex, node_hex)| serde_json::json!({
                "matches": matches, "expected_hex": expected_hex, "node_hex": node_hex,
            })),
        });
        print_line(&serde_json::to_string_pretty(&json).unwrap_or_default())
    }
}
