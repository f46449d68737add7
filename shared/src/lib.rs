//! The chain model shared by `vwf-monitor` and `vwf-signer`.
//!
//! Everything here except [`rpc`] (network I/O, `debug` events only), [`credentials`] (reads one
//! environment variable) and [`persist`] (file writes) is pure: no I/O, no process control, no
//! logging subscriber. Every byte this crate produces is checked against the reference vectors in `tests/data/vectors.json` (made with
//! beem, dhive and dsteem); `SPEC.md` beside this crate's `Cargo.toml` gives the rules they
//! follow, and "SPEC §n" in comments points into it.
//!
//! Layout, one module per idea:
//!
//! | module | what it holds | SPEC |
//! |---|---|---|
//! | [`profile`] | chain profiles VIT, STEEM, HIVE: chain id, prefixes, symbols, props layout, op tag | §1 |
//! | [`codec`] | fc::raw primitives: little-endian integers, varint32, strings | §3 |
//! | [`time`] | `time_point_sec` and its JSON form | §5, §6 |
//! | [`asset`] | strict `"0.100 VIT"` parsing, formatting and the 16-byte wire form | §3.1 |
//! | [`keys`] | WIF private keys (zeroized, never printed), public keys, the null key | §2 |
//! | [`signature`] | compact signatures: deterministic signing, canonicality, recovery | §4 |
//! | [`names`] | account-name and url rules | §6.3, §8 |
//! | [`operation`] | `witness_update` and its `chain_properties`; `witness_set_properties` (key change only, Steem/Hive); the `Operation` enum | §3.2, §3.3, §3.3a, §8 |
//! | [`persist`] | atomic, fsynced file writes for state that must survive a crash | |
//! | [`credentials`] | `$CREDENTIALS_DIRECTORY/NAME` config paths: systemd credentials | |
//! | [`quorum`] | the quorum-th highest value: numbers no minority of nodes can raise | |
//! | [`transaction`] | transactions, digest, id, TaPoS and expiration | §3.4, §4.1, §5 |
//! | [`json`] | the legacy (condenser) JSON form, exact round trip | §6.1 |
//! | [`rpc`] | async JSON-RPC client: 0.19 `call` and appbase `condenser_api`, chain id check | §4.6, §7 |
//! | [`error`] | the one error type of this crate | |

pub mod asset;
pub mod codec;
pub mod credentials;
pub mod error;
pub mod json;
pub mod keys;
pub mod names;
pub mod operation;
pub mod persist;
pub mod profile;
pub mod quorum;
pub mod rpc;
pub mod signature;
pub mod time;
pub mod transaction;

pub use asset::{Asset, AssetSymbol};
pub use error::{Error, KeyError, SignatureError};
pub use keys::{PrivateKey, PublicKey};
pub use operation::{ChainProperties, Operation, WitnessSetProperties, WitnessUpdate};
pub use profile::{ChainId, ChainProfile, ProfileName, PropsLayout};
pub use signature::{Digest, Signature};
pub use time::TimePointSec;
pub use transaction::{BlockId, SignedTransaction, Tapos, Transaction};
