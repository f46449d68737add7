//! age plugin callbacks for a command-line daemon: messages go to stderr, secrets are asked on
//! the TTY when there is one, and nothing is asked otherwise.

use std::io::IsTerminal;

use age::secrecy::SecretString;

/// [`age::Callbacks`] that show plugin messages (e.g. "touch your YubiKey") on stderr and ask
/// for a PIN on the TTY only when stdin is a terminal; under systemd they decline to ask.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrCallbacks;

impl age::Callbacks for StderrCallbacks {
    fn display_message(&self, message: &str) {
        eprintln!("age plugin: {message}");
    }

    fn confirm(&self, _message: &str, _yes: &str, _no: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _description: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        super::passphrase::from_tty(&format!("{description}: ")).ok()
    }
}
