//! `vwf-signer certs`: the private CA and certificates of the mTLS link.
//!
//! - `init`: a CA plus the signer's server certificate and one client certificate per monitor
//!   identity;
//! - `issue`: one more client certificate (rotation, a second monitor) or a new server
//!   certificate from the existing CA;
//! - `list`: every certificate of a directory with its serial, fingerprint and validity, and
//!   whether a config's `[revoked]` list refuses it.

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use time::OffsetDateTime;

use super::print_line;
use crate::atomic::{self, PRIVATE, PUBLIC};
use crate::config::SignerConfig;
use crate::error::Error;
use crate::input::read_private_file;
use crate::pki::{
    CertInfo, CertificateAuthority, IssuedPem, Role, Validity, sanitize_name, utc_text,
};

/// Largest CA or certificate file read.
const MAX_PEM_BYTES: u64 = 64 * 1024;

/// Certificate subcommands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create ca.pem/ca.key, server.pem/server.key and client-<name>.pem/.key in DIR.
    Init(InitArgs),
    /// Issue client-<name>.pem/.key (or server.pem/.key) from the CA in --ca-dir.
    Issue(IssueArgs),
    /// Show every certificate in DIR: role, name, serial, SHA-256 fingerprint, validity.
    List(ListArgs),
}

impl CertsCommand {
    /// Runs the chosen certs subcommand.
    pub fn run(self) -> Result<(), Error> {
        match self {
            CertsCommand::Init(args) => args.run(),
            CertsCommand::Issue(args) => args.run(),
            CertsCommand::List(args) => args.run(),
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
        outputs.extend(client_outputs(&ca, &self.dir, &self.clients, validity)?);
        write_outputs(outputs, self.force)
    }
}

/// The certificate and key files of one client certificate per identity, named
/// `client-<sanitized identity>.pem/.key` in `dir`.
fn client_outputs(
    ca: &CertificateAuthority,
    dir: &Path,
    identities: &[String],
    validity: Validity,
) -> Result<Vec<Output>, Error> {
    let mut outputs = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for identity in identities {
        let name = sanitize_name(identity);
        if !names.insert(name.clone()) {
            return Err(Error::Certificate {
                what: format!("client {identity:?}"),
                reason: format!("its file name client-{name} is used by another --client"),
            });
        }
        let client = ca.issue_client_certificate(identity, validity)?;
        outputs.extend(pair(dir, &format!("client-{name}"), &client));
    }
    Ok(outputs)
}

/// `base.pem` (public) and `base.key` (private) in `dir`.
fn pair(dir: &Path, base: &str, issued: &IssuedPem) -> [Output; 2] {
    [
        output(
            dir,
            &format!("{base}.pem"),
            issued.cert_pem.as_bytes(),
            PUBLIC,
        ),
        output(
            dir,
            &format!("{base}.key"),
            issued.key_pem.as_bytes(),
            PRIVATE,
        ),
    ]
}

/// Refuses existing files (unless `force`), then writes each atomically and says so.
fn write_outputs(mut outputs: Vec<Output>, force: bool) -> Result<(), Error> {
    atomic::ensure_absent(outputs.iter().map(|o| o.path.as_path()), force)?;
    for out in &outputs {
        atomic::write_file(&out.path, &out.contents, out.mode, force)?;
    }
    for out in &mut outputs {
        // Wipe key material once written (harmless for certificates).
        zeroize::Zeroize::zeroize(&mut out.contents);
        print_line(&format!("wrote {} ({:o})", out.path.display(), out.mode))?;
    }
    Ok(())
}

fn output(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Output {
    Output {
        path: dir.join(name),
        contents: contents.to_vec(),
        mode,
    }
}

/// Arguments of `certs issue`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["clients", "server_names"])))]
pub struct IssueArgs {
    /// The directory holding ca.pem and ca.key (as `certs init` wrote them).
    #[arg(long = "ca-dir", value_name = "DIR")]
    ca_dir: PathBuf,
    /// Output directory (created if missing). Default: the CA directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Client identity, e.g. spiffe://vwf/monitor (URI SAN) or monitor.example (DNS SAN);
    /// repeatable. Writes client-<name>.pem/.key.
    #[arg(long = "client", value_name = "IDENTITY")]
    clients: Vec<String>,
    /// Instead of client certificates: a new server certificate for this DNS name or IP
    /// address (repeatable), written as server.pem/.key.
    #[arg(long = "server-name", value_name = "NAME|IP")]
    server_names: Vec<String>,
    /// Validity in days; never past the CA's own end.
    #[arg(long, default_value_t = 825, value_parser = clap::value_parser!(u32).range(1..=36500))]
    days: u32,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

impl IssueArgs {
    /// Loads and checks the CA, issues in memory, refuses existing files, writes atomically,
    /// then prints each new certificate's serial and fingerprint (what `[revoked]` takes).
    pub fn run(self) -> Result<(), Error> {
        let (ca, ca_info) = load_ca(&self.ca_dir)?;
        let now = OffsetDateTime::now_utc();
        let mut validity = Validity::days_from_now(self.days);
        if validity.not_after > ca_info.not_after {
            // A certificate outliving its CA stops verifying with it anyway.
            validity.not_after = ca_info.not_after;
            print_line(&format!(
                "note: valid until the CA's end, {} ({} days); rotate the CA with `certs init` before then",
                utc_text(ca_info.not_after),
                ca_info.days_left(now)
            ))?;
        }
        let out = self.out.unwrap_or_else(|| self.ca_dir.clone());
        std::fs::create_dir_all(&out).map_err(|source| Error::Write {
            path: out.clone(),
            source,
        })?;
        let outputs = if self.server_names.is_empty() {
            client_outputs(&ca, &out, &self.clients, validity)?
        } else {
            let server = ca.issue_server_certificate(&self.server_names, validity)?;
            pair(&out, "server", &server).into()
        };
        let issued: Vec<CertInfo> = outputs
            .iter()
            .filter(|o| o.mode == PUBLIC)
            .map(|o| {
                let pem = String::from_utf8_lossy(&o.contents);
                CertInfo::from_pem(&pem)
                    .map(|mut certs| certs.remove(0))
                    .map_err(|reason| Error::Internal(format!("issued certificate: {reason}")))
            })
            .collect::<Result<_, _>>()?;
        write_outputs(outputs, self.force)?;
        for info in &issued {
            print_line(&format!(
                "issued {} {:?} serial={} sha256={} not_after={}",
                info.role.as_str(),
                info.display_name(),
                info.id
                    .serial
                    .as_ref()
                    .map_or("-".into(), ToString::to_string),
                info.id.fingerprint,
                utc_text(info.not_after)
            ))?;
        }
        Ok(())
    }
}

/// The CA of `dir` (ca.pem + ca.key, the key private), checked: a CA, its key, not expired.
fn load_ca(dir: &Path) -> Result<(CertificateAuthority, CertInfo), Error> {
    let cert_path = dir.join("ca.pem");
    let key_path = dir.join("ca.key");
    let bad = |path: &Path, reason: String| Error::CertificateFile {
        path: path.to_owned(),
        reason,
    };
    if !dir.is_dir() {
        return Err(bad(
            dir,
            "no such directory; --ca-dir is where `vwf-signer certs init` wrote ca.pem and ca.key"
                .into(),
        ));
    }
    for path in [&cert_path, &key_path] {
        if !path.exists() {
            return Err(bad(
                path,
                "missing; --ca-dir is where `vwf-signer certs init` wrote ca.pem and ca.key".into(),
            ));
        }
    }
    let cert_pem = read_text(&cert_path)?;
    let key_pem = read_private_file(&key_path, MAX_PEM_BYTES as usize)?;
    let key_pem =
        std::str::from_utf8(&key_pem).map_err(|_| bad(&key_path, "not a PEM text file".into()))?;
    let info = CertInfo::from_pem(&cert_pem)
        .map_err(|reason| bad(&cert_path, reason))?
        .remove(0);
    if info.role != Role::Ca {
        return Err(bad(&cert_path, "not a CA certificate".into()));
    }
    let now = OffsetDateTime::now_utc();
    if info.not_after <= now {
        return Err(bad(
            &cert_path,
            format!(
                "the CA expired on {}; create a new CA and certificates with `vwf-signer certs init`",
                utc_text(info.not_after)
            ),
        ));
    }
    let ca = CertificateAuthority::from_pem(&cert_pem, key_pem).map_err(|e| match e {
        Error::Certificate { what, reason } => bad(dir, format!("{what}: {reason}")),
        other => other,
    })?;
    Ok((ca, info))
}

/// A public PEM file, bounded.
fn read_text(path: &Path) -> Result<String, Error> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut text = String::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
    if text.len() as u64 > MAX_PEM_BYTES {
        return Err(Error::TooLarge {
            what: path.display().to_string(),
            limit: MAX_PEM_BYTES as usize,
        });
    }
    Ok(text)
}

/// Arguments of `certs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The directory to list (every *.pem file in it).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The signer's config: mark the certificates its [revoked] list refuses.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl ListArgs {
    /// One line per certificate, files in name order, then in the order of the file:
    /// `FILE role=… name="…" serial=… sha256=… not_before=… not_after=… days_left=N
    /// status=valid|expiring|expired|not-yet-valid revoked=yes|no|unknown`.
    pub fn run(self) -> Result<(), Error> {
        let deny = self
            .config
            .as_deref()
            .map(SignerConfig::load_deny_list)
            .transpose()?;
        let entries = std::fs::read_dir(&self.dir).map_err(|source| Error::Read {
            path: self.dir.clone(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| Error::Read {
                    path: self.dir.clone(),
                    source,
                })?
                .path();
            if path.extension().is_some_and(|e| e == "pem") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(Error::CertificateFile {
                path: self.dir.clone(),
                reason: "holds no *.pem certificate file".into(),
            });
        }
        let now = OffsetDateTime::now_utc();
        let mut lines = Vec::new();
        for path in &files {
            let pem = read_text(path)?;
            let certs = CertInfo::from_pem(&pem).map_err(|reason| Error::CertificateFile {
                path: path.clone(),
                reason,
            })?;
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            for info in certs {
                let revoked = match &deny {
                    None => "unknown",
                    Some(list) if list.revokes(&info.id).is_some() => "yes",
                    Some(_) => "no",
                };
                lines.push(list_line(&file, &info, now, revoked));
            }
        }
        print_line(&lines.join("\n"))
    }
}

/// One `certs list` line.
fn list_line(file: &str, info: &CertInfo, now: OffsetDateTime, revoked: &str) -> String {
    format!(
        "{file} role={} name={:?} serial={} sha256={} not_before={} not_after={} days_left={} status={} revoked={revoked}",
        info.role.as_str(),
        info.display_name(),
        info.id
            .serial
            .as_ref()
            .map_or("-".into(), ToString::to_string),
        info.id.fingerprint,
        utc_text(info.not_before),
        utc_text(info.not_after),
        info.days_left(now),
        info.expiry(now).as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::RevokedConfig;

    #[test]
    fn list_lines_are_stable_key_value_text() -> Result<(), Box<dyn std::error::Error>> {
        let ca = CertificateAuthority::generate("vwf-signer CA", Validity::days_from_now(100))?;
        let client =
            ca.issue_client_certificate("spiffe://vwf/monitor", Validity::days_from_now(10))?;
        let info = CertInfo::from_pem(&client.cert_pem)?.remove(0);
        let now = info.not_before + time::Duration::minutes(1);
        let deny = RevokedConfig {
            fingerprints: vec![info.id.fingerprint.to_string()],
            serials: Vec::new(),
        }
        .build()?;
        let revoked = if deny.revokes(&info.id).is_some() {
            "yes"
        } else {
            "no"
        };
        let line = list_line("client-spiffe-vwf-monitor.pem", &info, now, revoked);
        let serial = info
            .id
            .serial
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let expected = format!(
            "client-spiffe-vwf-monitor.pem role=client name=\"spiffe://vwf/monitor\" serial={serial} sha256={} not_before={} not_after={} days_left=10 status=expiring revoked=yes",
            info.id.fingerprint,
            utc_text(info.not_before),
            utc_text(info.not_after),
        );
        assert_eq!(line, expected);
        let ca_info = CertInfo::from_pem(ca.cert_pem())?.remove(0);
        let line = list_line("ca.pem", &ca_info, now, "unknown");
        assert!(
            line.starts_with("ca.pem role=ca name=\"vwf-signer CA\" "),
            "{line}"
        );
        assert!(line.ends_with(" status=valid revoked=unknown"), "{line}");
        Ok(())
    }
}
