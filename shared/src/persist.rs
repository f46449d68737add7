//! Durable files: the one way both daemons persist what must survive a crash.
//!
//! [`write_atomic`] writes a temporary file in the target's directory with the final mode from
//! creation, fsyncs it, renames it over the target and fsyncs the directory, so a reader sees
//! either the old content or the new, never a torn write, and the new content survives power
//! loss once the call returns.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What to do when the target already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it atomically (state files).
    Replace,
    /// Fail with [`io::ErrorKind::AlreadyExists`], even if it appears while writing (keys,
    /// certificates): the final step is a hard link, which never replaces.
    Refuse,
}

/// Replaces `path` with `bytes` atomically and durably; the file gets exactly `mode`.
///
/// Fails if the parent directory does not exist. On failure `path` is unchanged and no
/// temporary file is left behind.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_file(path, bytes, mode, Existing::Replace)
}

/// Writes `bytes` to `path` atomically and durably with exactly `mode`: a temporary file in the
/// same directory, created with the final mode (never readable by others, not even for an
/// instant), written, fsynced, moved into place, and the directory fsynced.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32, existing: Existing) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let temp = TempPath(temp_name(&dir, path));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o600)
        .open(&temp.0)?;
    // The umask may have removed bits; set exactly the requested mode on the descriptor.
    file.set_permissions(Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    match existing {
        Existing::Replace => fs::rename(&temp.0, path)?,
        Existing::Refuse => fs::hard_link(&temp.0, path)?,
    }
    drop(temp);
    File::open(&dir)?.sync_all()
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

/// Removes the temporary file when dropped (after a rename there is nothing to remove).
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The permission bits of a secret file that group or others could use, or `None` when the
/// file is private: no group or other bits, or a systemd credential (a file inside
/// `$CREDENTIALS_DIRECTORY`) that is at most group-readable, because newer systemd grants the
/// service read access to a root-owned 0400 credential through an ACL, which shows as 0440.
pub fn secret_mode_problem(path: &Path, metadata: &fs::Metadata) -> Option<u32> {
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    secret_mode_problem_in(path, metadata, credentials.as_deref())
}

fn secret_mode_problem_in(
    path: &Path,
    metadata: &fs::Metadata,
    credentials_dir: Option<&Path>,
) -> Option<u32> {
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return None;
    }
    let inside_credentials =
        credentials_dir.is_some_and(
            |dir| match (fs::canonicalize(dir), fs::canonicalize(path)) {
                (Ok(dir), Ok(path)) => path.starts_with(dir),
                _ => false,
            },
        );
    if inside_credentials && mode & 0o037 == 0 {
        return None;
    }
    Some(mode)
}

/// Opens `path` for appending, creating it with `mode` if missing; each write lands at the end.
pub fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_content_with_the_given_mode() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one", 0o600)?;
        write_atomic(&path, b"two", 0o600)?;
        assert_eq!(fs::read(&path)?, b"two");
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        let leftovers = fs::read_dir(dir.path())?.count();
        assert_eq!(leftovers, 1, "temporary file left behind");
        Ok(())
    }

    #[test]
    fn refuse_never_replaces_and_exact_mode_survives_the_umask() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("cert.pem");
        write_file(&path, b"one", 0o644, Existing::Refuse)?;
        let again = write_file(&path, b"two", 0o644, Existing::Refuse);
        assert_eq!(
            again.err().map(|e| e.kind()),
            Some(io::ErrorKind::AlreadyExists)
        );
        assert_eq!(fs::read(&path)?, b"one");
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o644);
        assert_eq!(
            fs::read_dir(dir.path())?.count(),
            1,
            "temporary file left behind"
        );
        Ok(())
    }

    #[test]
    fn secret_modes_allow_owner_only_and_acl_granted_credentials() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secret");
        let check = |mode: u32, credentials: Option<&Path>| -> io::Result<Option<u32>> {
            fs::set_permissions(&path, Permissions::from_mode(mode))?;
            Ok(secret_mode_problem_in(
                &path,
                &fs::metadata(&path)?,
                credentials,
            ))
        };
        fs::write(&path, b"x")?;
        assert_eq!(check(0o600, None)?, None);
        assert_eq!(check(0o400, None)?, None);
        assert_eq!(check(0o640, None)?, Some(0o640));
        assert_eq!(check(0o440, None)?, Some(0o440));
        // Inside the credentials directory, group read (an ACL mask) is systemd's doing.
        assert_eq!(check(0o440, Some(dir.path()))?, None);
        assert_eq!(check(0o460, Some(dir.path()))?, Some(0o460));
        assert_eq!(check(0o444, Some(dir.path()))?, Some(0o444));
        let elsewhere = tempfile::tempdir()?;
        assert_eq!(check(0o440, Some(elsewhere.path()))?, Some(0o440));
        Ok(())
    }

    #[test]
    fn missing_directory_is_an_error_and_leaves_nothing() {
        let path = Path::new("/nonexistent-vwf-dir/state.json");
        assert!(write_atomic(path, b"x", 0o600).is_err());
    }

    #[test]
    fn append_file_keeps_earlier_lines() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.jsonl");
        open_append(&path, 0o600)?.write_all(b"a\n")?;
        open_append(&path, 0o600)?.write_all(b"b\n")?;
        assert_eq!(fs::read_to_string(&path)?, "a\nb\n");
        Ok(())
    }
}
