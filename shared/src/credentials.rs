//! Config paths that name a systemd credential: `$CREDENTIALS_DIRECTORY/NAME`.
//!
//! systemd hands a service its `LoadCredential=`/`LoadCredentialEncrypted=` files in a directory
//! named after the unit (`/run/credentials/vwf-monitor@acct.service/`) and tells the process
//! where with `$CREDENTIALS_DIRECTORY`. A config that names its secrets this way works unchanged
//! under `vwf-signer.service`, under every instance of `vwf-monitor@.service`, and from a shell
//! through `systemd-run -p LoadCredentialEncrypted=...` (deploy/vwf-run), whose transient unit
//! has another directory.

use std::path::{Path, PathBuf};

/// The variable systemd sets for a service with credentials.
pub const VARIABLE: &str = "CREDENTIALS_DIRECTORY";

/// What a config value starts with to name a credential.
pub const PREFIX: &str = "$CREDENTIALS_DIRECTORY";

/// `value` with a leading `$CREDENTIALS_DIRECTORY/` replaced by the directory systemd gave this
/// process; any other value comes back unchanged. Fails when the value names a credential but
/// the variable is unset (a plain shell) or the rest is not one file name.
pub fn expand(value: &Path) -> Result<PathBuf, String> {
    let directory = std::env::var_os(VARIABLE).map(PathBuf::from);
    expand_in(value, directory.as_deref())
}

fn expand_in(value: &Path, directory: Option<&Path>) -> Result<PathBuf, String> {
    let Ok(rest) = value.strip_prefix(PREFIX) else {
        return Ok(value.to_owned());
    };
    let name = rest.to_str().unwrap_or_default();
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!(
            "{}: write {PREFIX}/NAME, NAME being the credential's name in the unit's \
             LoadCredential…=NAME:FILE line",
            value.display()
        ));
    }
    match directory {
        Some(dir) if dir.is_absolute() => Ok(dir.join(name)),
        _ => Err(format!(
            "{} is a systemd credential, but ${VARIABLE} is not set: it exists only under the \
             unit (LoadCredentialEncrypted={name}:...). From a shell run the command through \
             systemd-run with the unit's credentials: `vwf-run UNIT COMMAND...` (deploy/vwf-run)",
            value.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_path_lands_in_the_directory() {
        let dir = Path::new("/run/credentials/vwf-monitor@a.service");
        assert_eq!(
            expand_in(
                Path::new("$CREDENTIALS_DIRECTORY/signer-client-key"),
                Some(dir)
            ),
            Ok(dir.join("signer-client-key"))
        );
    }

    #[test]
    fn other_paths_are_unchanged_with_or_without_the_variable() {
        for value in [
            "/etc/vwf-monitor/ca.pem",
            "client.pem",
            "$HOME/x",
            "$CREDENTIALS_DIR/x",
        ] {
            for dir in [None, Some(Path::new("/run/credentials/x.service"))] {
                assert_eq!(expand_in(Path::new(value), dir), Ok(PathBuf::from(value)));
            }
        }
    }

    #[test]
    fn without_the_variable_the_error_says_how_to_run_it() {
        let Err(e) = expand_in(Path::new("$CREDENTIALS_DIRECTORY/tls-key"), None) else {
            panic!("expanded without a directory");
        };
        assert!(e.contains("CREDENTIALS_DIRECTORY is not set"), "{e}");
        assert!(e.contains("vwf-run"), "{e}");
        let relative = Some(Path::new("relative/dir"));
        assert!(expand_in(Path::new("$CREDENTIALS_DIRECTORY/tls-key"), relative).is_err());
    }

    #[test]
    fn only_one_file_name_is_accepted() {
        let dir = Some(Path::new("/run/credentials/x.service"));
        for value in [
            "$CREDENTIALS_DIRECTORY",
            "$CREDENTIALS_DIRECTORY/",
            "$CREDENTIALS_DIRECTORY/a/b",
            "$CREDENTIALS_DIRECTORY/..",
        ] {
            assert!(expand_in(Path::new(value), dir).is_err(), "{value}");
        }
    }
}
