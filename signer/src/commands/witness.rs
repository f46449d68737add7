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
use crate::keystore::{AssignedKeys, KeyRing, KeySource, load_keys_with};
use crate::policy::{Intent, KeyMode, Policy, RawTarget};
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
    /// The active key for this command (signing-key mode).
    #[command(flatten)]
    pub active: ActiveKeyArgs,
}

/// Where the account's active key comes from for one command, instead of the `[key]` file: in
/// signing-key mode the signer holds no active key, and only the active key can re-enable a
/// disabled witness. Keep this file off the signer host, or encrypted to a passphrase that
/// lives nowhere on it.
#[derive(Debug, Args)]
pub struct ActiveKeyArgs {
    /// An age file holding the account's ACTIVE key (WIF), made with `vwf-signer key import`;
    /// the change is then a witness_update signed with it.
    #[arg(long, value_name = "FILE.age")]
    pub active_key: Option<PathBuf>,
    /// Decrypt --active-key with this age identity file (else with a passphrase).
    #[arg(
        long,
        value_name = "FILE",
        requires = "active_key",
        conflicts_with = "active_passphrase_file"
    )]
    pub active_identity_file: Option<PathBuf>,
    /// Decrypt --active-key with the passphrase in this file (else it is asked on the terminal).
    #[arg(long, value_name = "FILE", requires = "active_key")]
    pub active_passphrase_file: Option<PathBuf>,
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
    /// The active key for this command (signing-key mode).
    #[command(flatten)]
    pub active: ActiveKeyArgs,
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
                &args.active,
            ),
            WitnessCommand::Disable(args) => change(
                &args.config,
                args.account.as_deref(),
                RawTarget::Null,
                &args.reason,
                args.yes,
                &args.active,
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
    active: &ActiveKeyArgs,
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
    // With --active-key the account is handled in active-key mode for this command.
    let policy = match &active.active_key {
        Some(_) => settings.policy.with_mode(&account, KeyMode::ActiveKey),
        None => settings.policy.clone(),
    };
    let account_policy = policy
        .account(&account)
        .ok_or_else(|| bad_input(format!("the policy names no account {account}")))?;
    // Refused before anything is asked or decrypted (e.g. re-enabling in signing-key mode
    // without --active-key); the engine decides again on fresh reads.
    if let Err(refusal) = account_policy.decide_operator(&intent, &current) {
        return Err(Error::Refused {
            rule: refusal.rule.to_string(),
            reason: refusal.reason,
        });
    }
    let what = match (account_policy.mode, &active.active_key) {
        (KeyMode::ActiveKey, Some(file)) => format!(
            "witness_update for {account}, signed with the active key in {}",
            file.display()
        ),
        (KeyMode::ActiveKey, None) => format!(
            "witness_update for {account}, signed with the active key in {}",
            settings.key.age_file.display()
        ),
        (KeyMode::SigningKey, _) => format!(
            "witness_set_properties for {account}, signed with the current signing key (from {})",
            settings.key.age_file.display()
        ),
    };
    let sends = match account_policy.mode {
        KeyMode::ActiveKey => {
            let props = match &view.witness.props {
                Ok(props) => describe_props(props),
                Err(why) => format!("unreadable ({why}; [chain.fallback] is used if set)"),
            };
            format!(
                "url {:?} and props {props} sent back unchanged",
                view.witness.url
            )
        }
        KeyMode::SigningKey => "only the signing key changes (props key, new_signing_key)".into(),
    };
    let mut plan = format!(
        "{what}:\n  signing key {} -> {}\n  {sends}\n  read from the chain: {}",
        named(&settings, &account, &current),
        named(&settings, &account, &target_key),
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
    let keys = match &active.active_key {
        Some(file) => active_keys(file, active, &settings, &policy)?,
        None => settings.unlock_keys()?.0,
    };
    let outcome = rt.block_on(async {
        let engine = Engine::new(
            settings.profile.clone(),
            policy.clone(),
            Arc::new(keys),
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

/// The active key from `--active-key`, as the only key of this run.
fn active_keys(
    file: &std::path::Path,
    active: &ActiveKeyArgs,
    settings: &Settings,
    policy: &Policy,
) -> Result<AssignedKeys, Error> {
    let source = match (&active.active_identity_file, &active.active_passphrase_file) {
        (Some(identity), _) => KeySource::IdentityFile(identity.clone()),
        (None, Some(passphrase)) => KeySource::PassphraseFile(passphrase.clone()),
        (None, None) => KeySource::PassphrasePrompt,
    };
    let loaded = load_keys_with(file, &source, &settings.key.options)?;
    let (key, _) = loaded.into_single(file)?;
    let mut ring = KeyRing::single(key);
    if let Some(error) = ring.lock_memory() {
        tracing::warn!(%error, "the active key's memory page could not be locked");
    }
    ring.assign(policy, &settings.profile.address_prefix)
        .map_err(|reason| Error::KeyRing {
            path: file.to_owned(),
            reason,
        })
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
