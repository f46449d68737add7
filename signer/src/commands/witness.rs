//! `vwf-signer witness show|enable|disable`: the operator's own view and changes on the signer
//! host, with the key from the age file and the same quorum reads, transaction building,
//! request store and audit log as `serve` (safe to run while `serve` runs: one writer of the
//! store at a time, and the change counts toward the flap limit of later requests).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use vwf_shared::PublicKey;

use super::print_line;
use crate::audit::AuditLog;
use crate::config::{Settings, SignerConfig};
use crate::engine::{Engine, agreed_view, describe_props, unix_now};
use crate::error::Error;
use crate::keystore::load_active_key_with;
use crate::policy::{Intent, RawTarget};
use crate::store::{Outcome, RequestStore};

/// `witness …`.
#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Show the witness as a quorum of the signer's nodes agrees: signing key, url, props.
    Show(ShowArgs),
    /// Set a signing key (re-enable a disabled witness, or move it to a server by hand).
    Enable(EnableArgs),
    /// Set the null key: the witness stops producing (the kill switch, by hand).
    Disable(DisableArgs),
}

/// Arguments of `witness show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The signer's configuration file.
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
    /// The witness account (default: the only account of the policy).
    #[arg(long)]
    pub account: Option<String>,
}

/// Arguments of `witness enable`.
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// The signer's configuration file.
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
    /// The witness account (default: the only account of the policy).
    #[arg(long)]
    pub account: Option<String>,
    /// The public signing key of the server that is to produce.
    #[arg(long, value_name = "KEY")]
    pub signing_key: String,
    /// Why, for the audit log.
    #[arg(long, default_value = "witness enable by the operator")]
    pub reason: String,
    /// Do not ask for confirmation (for scripts).
    #[arg(long)]
    pub yes: bool,
}

/// Arguments of `witness disable`.
#[derive(Debug, Args)]
pub struct DisableArgs {
    /// The signer's configuration file.
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
    /// The witness account (default: the only account of the policy).
    #[arg(long)]
    pub account: Option<String>,
    /// Why, for the audit log.
    #[arg(long, default_value = "witness disable by the operator")]
    pub reason: String,
    /// Do not ask for confirmation (for scripts).
    #[arg(long)]
    pub yes: bool,
}

impl WitnessCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<(), Error> {
        match self {
            WitnessCommand::Show(args) => show(&args),
            WitnessCommand::Enable(args) => change(
                &args.config,
                args.account.as_deref(),
                RawTarget::Key(&args.signing_key),
                &args.reason,
                args.yes,
            ),
            WitnessCommand::Disable(args) => change(
                &args.config,
                args.account.as_deref(),
                RawTarget::Null,
                &args.reason,
                args.yes,
            ),
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))
}

/// The account named, or the policy's only one.
fn account_of(settings: &Settings, named: Option<&str>) -> Result<String, Error> {
    let bad = |reason: String| Error::Config {
        path: settings.path.clone(),
        reason,
    };
    match named {
        Some(name) if settings.policy.account(name).is_some() => Ok(name.to_owned()),
        Some(name) => Err(bad(format!(
            "--account {name}: the policy names no such account"
        ))),
        None => {
            let names: Vec<&str> = settings
                .policy
                .accounts()
                .map(|a| a.account.as_str())
                .collect();
            match names.as_slice() {
                [only] => Ok((*only).to_owned()),
                _ => Err(bad(format!(
                    "the policy names {} accounts; pass --account",
                    names.len()
                ))),
            }
        }
    }
}

/// "VIT6qcf… (backup-1)" or the key alone.
fn named(settings: &Settings, account: &str, key: &PublicKey) -> String {
    let text = key.to_string_with_prefix(&settings.profile.address_prefix);
    match settings
        .policy
        .account(account)
        .and_then(|a| a.name_of(key))
    {
        Some(name) => format!("{text} ({name})"),
        None => text,
    }
}

fn show(args: &ShowArgs) -> Result<(), Error> {
    let settings = SignerConfig::load(&args.config)?;
    let account = account_of(&settings, args.account.as_deref())?;
    let nodes = super::serve::nodes_of(&settings);
    let view = runtime()?.block_on(agreed_view(&nodes, &account))?;
    let props = match &view.witness.props {
        Ok(props) => describe_props(props),
        Err(why) => format!("unreadable ({why})"),
    };
    print_line(&format!(
        "account {account}\nsigning key {}\nurl {:?}\nprops {props}\nhead block {} (last irreversible {})\nnodes {}",
        named(&settings, &account, &view.witness.signing_key),
        view.witness.url,
        view.head_block,
        view.last_irreversible,
        view.summary()
    ))
}

fn change(
    config: &std::path::Path,
    account: Option<&str>,
    target: RawTarget<'_>,
    reason: &str,
    yes: bool,
) -> Result<(), Error> {
    // The key is in memory for the run, as in `serve`: no core dumps, no ptrace.
    crate::hardening::harden_process()?;
    let settings = SignerConfig::load(config)?;
    let account = account_of(&settings, account)?;
    let prefix = settings.profile.address_prefix.clone();
    let bad_input = |reason: String| Error::Config {
        path: config.to_owned(),
        reason,
    };
    if !yes && !std::io::stdin().is_terminal() {
        return Err(bad_input(
            "confirmation is asked on a terminal; pass --yes to run without one".into(),
        ));
    }
    let rt = runtime()?;
    let nodes = super::serve::nodes_of(&settings);
    let view = rt.block_on(agreed_view(&nodes, &account))?;
    let current = view.witness.signing_key;
    let intent = Intent::parse(
        &format!("operator-{}-{}", unix_now(), std::process::id()),
        &account,
        Some(target),
        &current.to_string_with_prefix(&prefix),
        reason,
        &prefix,
        true,
    )
    .map_err(|refusal| bad_input(refusal.reason))?;
    let target_key = intent.target.key();
    if target_key == current {
        return print_line(&format!(
            "{account} already has signing key {}; nothing to do",
            named(&settings, &account, &current)
        ));
    }
    let props = match &view.witness.props {
        Ok(props) => describe_props(props),
        Err(why) => format!("unreadable ({why}; [chain.fallback] is used if set)"),
    };
    let mut plan = format!(
        "witness_update for {account}, signed with the key in {}:\n  signing key {} -> {}\n  url {:?} and props {props} sent back unchanged\n  read from the chain: {}",
        settings.key.age_file.display(),
        named(&settings, &account, &current),
        named(&settings, &account, &target_key),
        view.witness.url,
        view.summary()
    );
    if !target_key.is_null()
        && settings
            .policy
            .account(&account)
            .and_then(|a| a.name_of(&target_key))
            .is_none()
    {
        plan.push_str("\n  note: this key is not one of the policy's targets");
    }
    print_line(&plan)?;
    if !yes && !confirmed()? {
        return print_line("not confirmed; nothing was signed");
    }
    let loaded = load_active_key_with(
        &settings.key.age_file,
        &settings.key.source,
        &settings.key.options,
    )?;
    let outcome = rt.block_on(async {
        let engine = Engine::new(
            settings.profile.clone(),
            settings.policy.clone(),
            Arc::new(loaded.key),
            nodes,
            settings.build.clone(),
            RequestStore::open_beside_audit(&settings.store_path(), &settings.audit_path())?,
            AuditLog::open(&settings.audit_path())?,
        );
        engine.operator_set_signing_key(&intent).await
    })?;
    match outcome {
        Outcome::Applied {
            tx_id, block_num, ..
        } => print_line(&format!(
            "applied: {account} now has signing key {} (transaction {tx_id} in block {block_num})",
            named(&settings, &account, &target_key)
        )),
        Outcome::AlreadyInEffect { signing_key } => print_line(&format!(
            "already in effect: {account} has signing key {signing_key}"
        )),
        Outcome::Refused { rule, reason } => Err(Error::Refused { rule, reason }),
    }
}

/// Asks on the terminal; true only for "yes".
fn confirmed() -> Result<bool, Error> {
    let mut out = std::io::stderr().lock();
    write!(out, "Type yes to sign and broadcast: ")
        .and_then(|()| out.flush())
        .map_err(Error::Output)?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Error::Output)?;
    Ok(answer.trim() == "yes")
}
