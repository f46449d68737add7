//! `vwf-signer certs init`: a private CA plus the signer's server certificate and one client
//! certificate per monitor identity, for the mTLS link.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::print_line;
use crate::atomic::{self, PRIVATE, PUBLIC};
use crate::error::Error;
use crate::pki::{CertificateAuthority, Validity, sanitize_name};

/// Certificate subcommands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create ca.pem/ca.key, server.pem/server.key and client-<name>.pem/.key in DIR.
    Init(InitArgs),
}

impl CertsCommand {
    /// Runs the chosen certs subcommand.
    pub fn run(self) -> Result<(), Error> {
        match self {
            CertsCommand::Init(args) => args.run(),
        }
    }
}

/// Arguments of `certs init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// DNS name or IP address the signer is reached at; repeatable.
    #[arg(
        long = "server-name",
        value_name = "NAME|IP",
        default_value = "localhost"
    )]
    server_names: Vec<String>,
    /// Client identity, e.g. spiffe://vwf/monitor (URI SAN) or monitor.example (DNS SAN);
    /// repeatable.
    #[arg(
        long = "client",
        value_name = "IDENTITY",
        default_value = "spiffe://vwf/monitor"
    )]
    clients: Vec<String>,
    /// Validity of every certificate, in days.
    #[arg(long, default_value_t = 825, value_parser = clap::value_parser!(u32).range(1..=36500))]
    days: u32,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

/// One file to write.
struct Output {
    path: PathBuf,
    contents: Vec<u8>,
    mode: u32,
}

impl InitArgs {
    /// Generates everything in memory, refuses existing files, then writes each file atomically.
    pub fn run(self) -> Result<(), Error> {
        std::fs::create_dir_all(&self.dir).map_err(|source| Error::Write {
            path: self.dir.clone(),
            source,
        })?;
        let validity = Validity::days_from_now(self.days);
        let ca = CertificateAuthority::generate("vwf-signer CA", validity)?;
        let server = ca.issue_server_certificate(&self.server_names, validity)?;
        let mut outputs = vec![
            output(&self.dir, "ca.pem", ca.cert_pem().as_bytes(), PUBLIC),
            output(&self.dir, "ca.key", ca.key_pem().as_bytes(), PRIVATE),
            output(&self.dir, "server.pem", server.cert_pem.as_bytes(), PUBLIC),
            output(&self.dir, "server.key", server.key_pem.as_bytes(), PRIVATE),
        ];
        let mut names = std::collections::BTreeSet::new();
        for identity in &self.clients {
            let name = sanitize_name(identity);
            if !names.insert(name.clone()) {
                return Err(Error::Certificate {
                    what: format!("client {identity:?}"),
                    reason: format!("its file name client-{name} is used by another --client"),
                });
            }
            let client = ca.issue_client_certificate(identity, validity)?;
            let base = format!("client-{name}");
            outputs.push(output(
                &self.dir,
                &format!("{base}.pem"),
                client.cert_pem.as_bytes(),
                PUBLIC,
            ));
            outputs.push(output(
                &self.dir,
                &format!("{base}.key"),
                client.key_pem.as_bytes(),
                PRIVATE,
            ));
        }
        atomic::ensure_absent(outputs.iter().map(|o| o.path.as_path()), self.force)?;
        for out in &outputs {
            atomic::write_file(&out.path, &out.contents, out.mode, self.force)?;
        }
        for out in &mut outputs {
            // Wipe key material once written (harmless for certificates).
            zeroize::Zeroize::zeroize(&mut out.contents);
            print_line(&format!("wrote {} ({:o})", out.path.display(), out.mode))?;
        }
        Ok(())
    }
}

fn output(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Output {
    Output {
        path: dir.join(name),
        contents: contents.to_vec(),
        mode,
    }
}
