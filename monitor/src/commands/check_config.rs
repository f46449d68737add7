//! `check-config`: load and check the config (and the state file), print a summary and when
//! the link's certificates expire; with `--online`, also prove the link to the signer (mTLS
//! handshake, `Status`, policy).

use std::path::Path;

use super::run::{SIGNER_CHECK_LIMIT, policy_gaps};
use crate::config::{self, Settings};
use crate::error::Error;
use crate::persist::state_file;
use crate::signer_client::GrpcSigner;

/// Checks the file; on success prints what the monitor would do. With `online`, then connects
/// to the signer and fails with its real cause ([`Error::Signer`]) when the link does not work.
pub async fn run(path: &Path, online: bool) -> Result<(), Error> {
    let s = config::load(path)?;
    state_file::peek(&s.state_dir, &s.policy.account)?;
    let sinks = crate::alert::sinks::build_all(&s)?;
    println!("{}: OK", path.display());
    print!("{}", super::run::summary(&s));
    let names: Vec<&str> = sinks.iter().map(|k| k.name()).collect();
    println!("alert sinks: {}", names.join(", "));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let unusable = print_certs(&s, now);
    if unusable > 0 {
        return Err(Error::Certificates(unusable));
    }
    if online {
        check_signer(&s).await
    } else {
        println!("signer link not checked (add --online to connect to the signer)");
        Ok(())
    }
}

/// One line per certificate of the link: fine, `warning:` (expires within the warning
/// threshold) or `error:` (expired, not valid yet, unreadable). Returns the number of errors.
fn print_certs(s: &Settings, now: i64) -> usize {
    let mut unusable = 0;
    for cert in crate::watch::read_certs(&s.signer) {
        match cert {
            Err(e) => {
                unusable += 1;
                println!("error: {e}");
            }
            Ok(cert) => {
                let expiry = cert.classify(now, s.signer.cert_expiry_warning);
                let line = cert.describe(expiry);
                if expiry.is_unusable() {
                    unusable += 1;
                    println!("error: {line}");
                } else if expiry.is_trouble() {
                    println!("warning: {line}");
                } else {
                    println!("{line}");
                }
            }
        }
    }
    unusable
}

/// The mTLS handshake, `Status`, and the policy compared with this config.
async fn check_signer(s: &Settings) -> Result<(), Error> {
    let signer = GrpcSigner::new(&s.signer, &s.profile.address_prefix)?;
    let status = signer
        .check(SIGNER_CHECK_LIMIT)
        .await
        .map_err(Error::Signer)?;
    println!(
        "signer {}: OK: mTLS handshake (server name {}) and Status as {} (vwf-signer {}, profile {})",
        s.signer.endpoint,
        s.signer.server_name,
        status.client_identity,
        status.version,
        status.profile
    );
    if let Some(line) = crate::persist::signer_mode::describe(&status, &s.policy.account) {
        println!("signer mode for {}: {line}", s.policy.account);
    }
    let gaps = policy_gaps(s, &status);
    if gaps.is_empty() {
        println!("signer policy: allows every switch this monitor may ask for");
        return Ok(());
    }
    for gap in &gaps {
        println!("signer policy: {gap}");
    }
    Err(Error::SignerPolicy(gaps.len()))
}
