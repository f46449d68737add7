//! Reading what the operator hands in: transactions (file or stdin, size-capped) and WIF key
//! files (permission-checked, read into wiped memory).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use vwf_shared::PrivateKey;
use zeroize::Zeroizing;

use crate::error::Error;

/// Largest transaction input accepted. A witness_update is well under 4 KiB of JSON.
pub const MAX_TRANSACTION_BYTES: usize = 1 << 20;

/// Largest key file accepted. A WIF is 51 characters.
const MAX_KEY_FILE_BYTES: usize = 1024;

/// Why a character may not appear in client-supplied text, or `None` if it may.
///
/// Refused: every Unicode control character (general category Cc: U+0000–U+001F, U+007F and
/// U+0080–U+009F, which holds U+0085 NEXT LINE), the line and paragraph separators (U+2028,
/// U+2029) and the bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069). Each
/// can make one audit line read as several, or reorder what a reader sees.
pub fn forbidden_character(c: char) -> Option<&'static str> {
    match c {
        '\u{2028}' => Some("a line separator"),
        '\u{2029}' => Some("a paragraph separator"),
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some("a bidi control character"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    }
}

/// Checks client-supplied text (a request's reason, id, account or key text) for the characters
/// [`forbidden_character`] refuses. The error names the field, the code point and its position,
/// never echoing the text.
pub fn check_client_text(field: &str, text: &str) -> Result<(), String> {
    match text
        .chars()
        .enumerate()
        .find_map(|(at, c)| forbidden_character(c).map(|what| (at, c, what)))
    {
        Some((at, c, what)) => Err(format!(
            "{field} contains U+{code:04X} ({what}) at character {position}; client text may not \
             contain control characters, line or paragraph separators or bidi controls",
            code = u32::from(c),
            position = at + 1,
        )),
        None => Ok(()),
    }
}

/// Reads a whole transaction from `path`, or from stdin when it is `-`.
pub fn read_transaction(path: &Path) -> Result<String, Error> {
    let (what, reader): (String, Box<dyn Read>) = if path == Path::new("-") {
        ("standard input".into(), Box::new(io::stdin().lock()))
    } else {
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        (path.display().to_string(), Box::new(file))
    };
    let mut text = String::new();
    reader
        .take(MAX_TRANSACTION_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|source| Error::Read {
            path: PathBuf::from(&what),
            source,
        })?;
    if text.len() > MAX_TRANSACTION_BYTES {
        return Err(Error::TooLarge {
            what,
            limit: MAX_TRANSACTION_BYTES,
        });
    }
    Ok(text)
}

/// Reads a WIF private key from a file that only its owner can access.
///
/// The file's content lives only in wiped buffers; errors name the file and the rule, never
/// the content.
pub fn read_wif_file(path: &Path) -> Result<PrivateKey, Error> {
    let bytes = read_private_file(path, MAX_KEY_FILE_BYTES)?;
    wif_from_bytes(&bytes).map_err(|source| Error::KeyFile {
        path: path.to_owned(),
        source,
    })
}

/// Parses WIF text held in a wiped buffer. Invalid UTF-8 is reported as bad base58, without
/// echoing anything.
pub fn wif_from_bytes(bytes: &[u8]) -> Result<PrivateKey, vwf_shared::KeyError> {
    let text = std::str::from_utf8(bytes).map_err(|_| vwf_shared::KeyError::WifBase58)?;
    PrivateKey::from_wif(text)
}

/// Opens a secret file (key, age identity, passphrase) and refuses it unless only its owner can
/// access it. The check runs on the opened descriptor, so a swapped path cannot slip through.
pub fn open_private(path: &Path) -> Result<File, Error> {
    let file = File::open(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    check_private(path, &file)?;
    Ok(file)
}

/// Reads a whole private file (see [`open_private`]) of at most `limit` bytes into a wiped buffer.
pub fn read_private_file(path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, Error> {
    let file = open_private(path)?;
    read_secret(file, limit, &path.display().to_string()).map_err(|error| match error {
        Error::Read { source, .. } => Error::Read {
            path: path.to_owned(),
            source,
        },
        other => other,
    })
}

/// Reads at most `limit` bytes of secret data into a buffer that is wiped on drop.
///
/// The buffer is allocated once at full size and never grows, so no unwiped copy is left behind
/// by a reallocation. `what` names the source in errors.
pub fn read_secret(
    mut reader: impl Read,
    limit: usize,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut buffer = Zeroizing::new(vec![0u8; limit + 1]);
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Read {
                    path: PathBuf::from(what),
                    source,
                });
            }
        }
    }
    if filled > limit {
        return Err(Error::TooLarge {
            what: what.to_owned(),
            limit,
        });
    }
    // Shrinking the length never reallocates; the tail is zeros already.
    buffer.truncate(filled);
    Ok(buffer)
}

/// Refuses a key file with any group or other permission bit (systemd credentials aside: see
/// [`vwf_shared::persist::secret_mode_problem`]).
#[cfg(unix)]
fn check_private(path: &Path, file: &File) -> Result<(), Error> {
    let metadata = file.metadata().map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    match vwf_shared::persist::secret_mode_problem(path, &metadata) {
        Some(mode) => Err(Error::KeyFilePermissions {
            path: path.to_owned(),
            mode,
        }),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _file: &File) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    const WIF0: &str = "5K5WrHCEqHdoiaWjbwBedbYnu9vA8BUPBMRsbkggk2FbhTsFVJP";

    fn key_file(content: &str, mode: u32) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        file.write_all(content.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("{e}"));
        file
    }

    #[test]
    fn client_text_refuses_controls_separators_and_bidi_controls() {
        for c in [
            '\u{0}', '\u{7}', '\n', '\r', '\t', '\u{1b}', '\u{7f}', '\u{80}', '\u{85}', '\u{9f}',
            '\u{2028}', '\u{2029}', '\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}',
            '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            let text = format!("ok {c} after");
            let message = check_client_text("reason", &text).err().unwrap_or_default();
            let code = format!("U+{:04X}", u32::from(c));
            assert!(message.contains(&code), "{code}: {message:?}");
            assert!(message.starts_with("reason contains"), "{message}");
            assert!(message.contains("at character 4"), "{message}");
            assert!(!message.contains("after"), "the text is echoed: {message}");
        }
    }

    #[test]
    fn client_text_accepts_other_unicode() {
        for text in [
            "",
            "primary missed 3 blocks",
            "Ausfall: Knoten überlastet — café",
            "主节点离线",
            "emoji \u{1f6a8} and joiner \u{200d}",
            "\u{2027}\u{202f}\u{2065}\u{206a}",
        ] {
            assert_eq!(check_client_text("reason", text), Ok(()), "{text:?}");
        }
    }

    #[test]
    fn reads_a_private_wif_file_with_trailing_newline() {
        let file = key_file(&format!("{WIF0}\n"), 0o600);
        let key = read_wif_file(file.path());
        assert!(key.is_ok(), "{key:?}");
    }

    #[test]
    fn refuses_group_or_world_accessible_files() {
        for mode in [0o640, 0o604, 0o660, 0o620] {
            let file = key_file(WIF0, mode);
            let error = read_wif_file(file.path()).err();
            assert!(
                matches!(error, Some(Error::KeyFilePermissions { .. })),
                "mode {mode:o}: {error:?}"
            );
        }
    }

    #[test]
    fn key_errors_do_not_echo_the_file_content() {
        let mangled = format!("{}Q", &WIF0[..WIF0.len() - 1]);
        let file = key_file(&mangled, 0o600);
        let message = read_wif_file(file.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("WIF checksum mismatch"), "{message}");
        assert!(!message.contains(&mangled[..20]), "{message}");
    }

    #[test]
    fn refuses_oversized_key_files() {
        let file = key_file(&"5".repeat(4096), 0o600);
        assert!(matches!(
            read_wif_file(file.path()),
            Err(Error::TooLarge { .. })
        ));
    }
}
