//! `vwf-signer`: the key-holding half of vit-witness-failover.
//!
//! `serve` is the mTLS gRPC daemon that alone holds the account's active key and can only set a
//! witness's signing key under a whitelist policy; `dry-run` audits a request without acting;
//! the offline tools (`tx inspect`, `tx sign`, `key …`, `certs init|issue|list`) share the
//! same CLI.
//!
//! | module | what it holds |
//! |---|---|
//! | [`cli`] | the clap command tree and dispatch |
//! | [`commands`] | one module per subcommand group |
//! | [`input`] | bounded reading of transaction input and permission-checked key files |
//! | [`error`] | the signer's error type and its exit codes |
//! | [`hardening`] | no core dumps, no ptrace: process hardening for `serve` |
//! | [`keystore`] | the age-encrypted active key: load (decrypt, parse, mlock) and seal |
//! | [`pki`] | the private CA and the server/client certificates it issues |
//! | [`tls`] | mTLS configs for the signer (server) and the monitor (client), peer identity |
//! | [`atomic`] | private files written atomically (temp file, fsync, rename) |
//! | [`config`] | the daemon's TOML configuration and its checked form |
//! | [`policy`] | the whitelist: accounts, target keys, client grants, flap limit |
//! | [`engine`] | one request: policy, chain read, build, sign, broadcast, answer |
//! | [`nodes`] | the configured nodes, connected lazily, read together |
//! | [`quorum`] | agreement of several nodes on what is signed |
//! | [`store`] | request ids and outcomes, persisted for idempotency |
//! | [`audit`] | the append-only, fsynced JSON-lines audit log |
//! | [`guard`] | client identity, per-client rate limit, audit of requests refused before decoding |
//! | [`service`] | the tonic service and the error → gRPC status mapping |
//! | [`convert`] | protobuf ⇄ domain conversions |
//! | [`listener`] | the TLS 1.3 accept loop that audits refused handshakes |
//! | [`revocation`] | the `[revoked]` deny list of client certificates and its TLS verifier |

pub mod atomic;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod convert;
pub mod engine;
pub mod error;
pub mod guard;
pub mod hardening;
pub mod input;
pub mod keystore;
pub mod listener;
pub mod nodes;
pub mod pki;
pub mod policy;
pub mod quorum;
pub mod revocation;
pub mod service;
pub mod store;
pub mod tls;

pub use error::Error;
