//! Writing key, certificate and age files atomically: a temporary file in the same directory,
//! created with its final mode (never readable by others, not even for an instant), written,
//! fsynced, then moved into place, and the directory fsynced.
//!
//! Without `force`, the final step is a hard link, which fails if the target appeared in the
//! meantime, so an existing file is never replaced by a race.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Writes `contents` to `path` with `mode`, atomically. Refuses an existing `path` unless
/// `force`.
pub fn write_file(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<(), Error> {
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let temp = TempPath(temp_name(&dir, path));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & PRIVATE)
        .open(&temp.0)
        .map_err(write_error(&temp.0))?;
    // The umask may have removed bits; set exactly the requested mode on the descriptor.
    file.set_permissions(Permissions::from_mode(mode))
        .and_then(|()| file.write_all(contents))
        .and_then(|()| file.sync_all())
        .map_err(write_error(&temp.0))?;
    drop(file);
    if force {
        fs::rename(&temp.0, path).map_err(write_error(path))?;
    } else {
        fs::hard_link(&temp.0, path).map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => Error::Exists {
                path: path.to_owned(),
            },
            _ => Error::Write {
                path: path.to_owned(),
                source,
            },
        })?;
    }
    drop(temp);
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(write_error(&dir))
}

/// `.<name>.tmp.<pid>.<n>` next to the target.
fn temp_name(dir: &Path, path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// Removes the temporary file when dropped (after a rename this finds nothing to remove).
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
