//! `vwf-signer`: the key-holding half of vit-witness-failover.
//!
//! Today it is the offline transaction tool (`tx inspect`, `tx sign`, `key pub`); the mTLS
//! signing daemon joins it behind the same CLI.
//!
//! | module | what it holds |
//! |---|---|
//! | [`cli`] | the clap command tree and dispatch |
//! | [`commands`] | one module per subcommand group |
//! | [`input`] | bounded reading of transaction input and permission-checked key files |
//! | [`error`] | the signer's error type and its exit codes |

pub mod cli;
pub mod commands;
pub mod error;
pub mod input;

pub use error::Error;
