//! What survives a restart: `state.json` ([`state_file`]) and the key encoding it uses.

pub(crate) mod key_hex;
pub mod signer_mode;
pub mod state_file;
