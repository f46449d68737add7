//! Durable files: the one way both daemons persist what must survive a crash.
//!
//! [`write_atomic`] writes a temporary file in the target's directory with the final mode from
//! creation, fsyncs it, renames it over the target and fsyncs the directory, so a reader sees
//! either the old content or the new, never a torn write, and the new content survives power
//! loss once the call returns.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Replaces `path` with `bytes` atomically and durably; the file gets `mode` (e.g. 0o600).
///
/// Fails if the parent directory does not exist. On failure the temporary file is removed and
/// `path` is unchanged.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let temp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        // Best effort: the temporary file may not exist if creating it failed.
        let _ = fs::remove_file(&temp);
    }
    result
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
