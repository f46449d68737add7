//! Key, certificate and age files, written with [`vwf_shared::persist`] (temp file with the final
//! mode, fsync, rename or hard link, directory fsync). Without `force` an existing file is never
//! replaced, not even one that appears while writing.

use std::fs;
use std::io;
use std::path::Path;

use vwf_shared::persist::{self, Existing};

use crate::error::Error;

/// Mode for private files (keys, age files).
pub const PRIVATE: u32 = 0o600;

/// Mode for public files (certificates).
pub const PUBLIC: u32 = 0o644;

/// Refuses when any of `paths` exists and `force` is not set (checked up front, so a command
/// writing several files does not leave half of them behind).
pub fn ensure_absent<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
    force: bool,
) -> Result<(), Error> {
    if force {
        return Ok(());
    }
    for path in paths {
        if fs::symlink_metadata(path).is_ok() {
            return Err(Error::Exists {
                path: path.to_owned(),
            });
        }
    }
    Ok(())
}

/// Writes `contents` to `path` with `mode`, atomically ([`write_file`](vwf_shared::persist::write_file)).
/// Refuses an existing `path` unless `force`.
pub fn write_file(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<(), Error> {
    let existing = if force {
        Existing::Replace
    } else {
        Existing::Refuse
    };
    persist::write_file(path, contents, mode, existing).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            Error::Exists {
                path: path.to_owned(),
            }
        } else {
            Error::Write {
                path: path.to_owned(),
                source,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> io::Result<u32> {
        Ok(fs::metadata(path)?.permissions().mode() & 0o777)
    }

    #[test]
    fn writes_with_exact_mode_and_refuses_to_overwrite() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let key = dir.path().join("k");
        write_file(&key, b"one", PRIVATE, false)?;
        assert_eq!(mode(&key)?, 0o600);
        let cert = dir.path().join("c.pem");
        write_file(&cert, b"cert", PUBLIC, false)?;
        assert_eq!(mode(&cert)?, 0o644);
        assert!(matches!(
            write_file(&key, b"two", PRIVATE, false),
            Err(Error::Exists { .. })
        ));
        assert_eq!(fs::read(&key)?, b"one");
        write_file(&key, b"two", PRIVATE, true)?;
        assert_eq!(fs::read(&key)?, b"two");
        assert!(matches!(
            ensure_absent([key.as_path()], false),
            Err(Error::Exists { .. })
        ));
        // Only the two targets remain: no temporary files left behind.
        assert_eq!(fs::read_dir(dir.path())?.count(), 2);
        Ok(())
    }
}
