//! The error type of the chain model.
//!
//! Errors say what was wrong and where, never what a secret was: a WIF error names the rule the
//! input broke, not the input.

use thiserror::Error;

/// Anything the chain model can refuse.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A private or public key did not decode.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A signature is malformed, not canonical, or does not recover the expected key.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// An asset string is not exactly `<int>.<precision digits> <SYMBOL>` for the expected symbol.
    #[error("invalid asset {value:?}: {reason}")]
    Asset {
        /// The text that was refused.
        value: String,
        /// Which rule it broke.
        reason: String,
    },
    /// An account name breaks the chain's naming rules (SPEC §8).
    #[error("invalid account name {name:?}: {reason}")]
    AccountName {
        /// The name that was refused.
        name: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// A string holds a control character, which fc's JSON parser would corrupt (SPEC §6.3).
    #[error("control character U+{code:04X} is not allowed (fc's JSON parser would change it)")]
    ControlCharacter {
        /// The offending code point.
        code: u32,
    },
    /// A witness url breaks the chain's rules (SPEC §8).
    #[error("invalid url: {reason}")]
    Url {
        /// Which rule it broke.
        reason: String,
    },
    /// A time is not `YYYY-MM-DDTHH:MM:SS` (UTC, no zone, no fraction) within the u32 range.
    #[error("invalid time {value:?}: expected YYYY-MM-DDTHH:MM:SS (UTC) between 1970 and 2106")]
    Time {
        /// The text that was refused.
        value: String,
    },
    /// A block id is not 40 hex characters.
    #[error("invalid block id {value:?}: expected 40 hex characters")]
    BlockId {
        /// The text that was refused.
        value: String,
    },
    /// A chain id is not 64 hex characters.
    #[error("invalid chain id {value:?}: expected 64 hex characters")]
    ChainId {
        /// The text that was refused.
        value: String,
    },
    /// A profile name is not one of the built-in profiles.
    #[error("unknown chain profile {name:?}: expected VIT, STEEM or HIVE")]
    UnknownProfile {
        /// The name that was refused.
        name: String,
    },
    /// A transaction holds an operation this product does not build or sign.
    #[error(
        "unsupported operation {name}: only witness_update and (Steem/Hive) witness_set_properties are supported"
    )]
    UnsupportedOperation {
        /// The operation's name or numeric tag as given.
        name: String,
    },
    /// The operation's props do not have exactly the fields of the profile's layout.
    #[error("props must have exactly the fields {expected}: {problem}")]
    PropsLayout {
        /// The fields the profile's layout requires, in order.
        expected: String,
        /// What differs.
        problem: String,
    },
    /// A value breaks a rule the chain enforces when it validates the operation (SPEC §3.3a, §8).
    #[error("the chain would reject this operation: {rule}")]
    ChainRule {
        /// The rule, with the value and the limit.
        rule: String,
    },
    /// An expiration outside what the chain accepts (SPEC §5).
    #[error("invalid expiration: {reason}")]
    Expiration {
        /// Which rule it broke.
        reason: String,
    },
    /// The legacy JSON form could not be read.
    #[error("invalid transaction JSON: {reason}")]
    Json {
        /// What is wrong, with a position where serde_json gives one.
        reason: String,
    },
    /// A `witness_set_properties` props list is not exactly the sorted `key`, `new_signing_key`
    /// pair of 33-byte keys this product sends (SPEC §3.3a).
    #[error("witness_set_properties props: {problem}")]
    SetProperties {
        /// What is wrong.
        problem: String,
    },
    /// Bytes of the fc::raw form could not be read back.
    #[error("invalid fc::raw bytes: {reason}")]
    Decode {
        /// What is wrong.
        reason: &'static str,
    },
    /// A problem inside a named field; the path is what a user searches the input for.
    #[error("{path}: {source}")]
    Field {
        /// Where in the input, e.g. `operations[0].props.account_creation_fee`.
        path: String,
        /// What is wrong there.
        source: Box<Error>,
    },
}

impl Error {
    /// Wraps `self` with the input path where it happened.
    /// Nested paths join with dots: `operations[0].props.maximum_block_size`.
    pub fn at(self, path: impl Into<String>) -> Error {
        let outer = path.into();
        match self {
            Error::Field { path, source } => Error::Field {
                path: format!("{outer}.{path}"),
                source,
            },
            other => Error::Field {
                path: outer,
                source: Box::new(other),
            },
        }
    }
}

/// Why a key was refused. No variant carries key material.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The WIF is not Base58 (Bitcoin alphabet).
    #[error("WIF is not valid base58")]
    WifBase58,
    /// The WIF decoded to the wrong number of bytes.
    #[error("WIF must decode to 37 bytes, got {0}")]
    WifLength(usize),
    /// The version byte is not 0x80.
    #[error("WIF version byte must be 0x80, got {0:#04x}")]
    WifVersion(u8),
    /// The double-SHA256 checksum does not match.
    #[error("WIF checksum mismatch")]
    WifChecksum,
    /// The secret is 0 or not below the curve order.
    #[error("WIF secret is out of range (must be 1 <= secret < n)")]
    WifScalar,
    /// The public key does not start with the profile's prefix.
    #[error("public key must start with prefix '{expected}'")]
    PublicKeyPrefix {
        /// The profile's prefix.
        expected: String,
    },
    /// The public key body is not Base58.
    #[error("public key is not valid base58")]
    PublicKeyBase58,
    /// The public key body decoded to the wrong number of bytes.
    #[error("public key must decode to 37 bytes, got {0}")]
    PublicKeyLength(usize),
    /// The RIPEMD160 checksum does not match.
    #[error("public key checksum mismatch")]
    PublicKeyChecksum,
    /// The 33 bytes are neither the null key nor a point on secp256k1.
    #[error("public key is not a valid compressed secp256k1 point")]
    PublicKeyPoint,
}

/// Why a signature was refused (SPEC §4.5).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// Not hex.
    #[error("signature is not hex")]
    Hex,
    /// Not 65 bytes.
    #[error("signature must be 65 bytes, got {0}")]
    Length(usize),
    /// The header byte is outside 27..=34.
    #[error("header byte out of range: {0} (must be 27..=34)")]
    HeaderOutOfRange(u8),
    /// r or s is not fc-canonical, or s is above n/2.
    #[error("not fc-canonical")]
    NotCanonical,
    /// libsecp256k1 could not recover a key, or the recovered key does not verify.
    #[error("unable to reconstruct public key from signature")]
    Recovery,
    /// Recovery gave a key other than the expected one.
    #[error("recovered key differs from expected key")]
    KeyMismatch,
    /// No canonical signature within the attempt budget (probability about 2^-255).
    #[error("no canonical signature found within {0} attempts")]
    NoCanonicalSignature(u32),
}
