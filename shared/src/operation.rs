//! `witness_update` and its `chain_properties` (SPEC §3.2, §3.3, §8); `witness_set_properties`
//! (SPEC §3.3a); [`Operation`], the operations a [`crate::Transaction`] can hold.
//!
//! The props layout is part of the [`ChainProfile`], not of the code: VIT has 2 fields, Steem and
//! Hive 3. A [`ChainProperties`] value remembers whether it holds an interest rate, and writing it
//! under a profile with the other layout is an error rather than silently different bytes.

use crate::asset::Asset;
use crate::codec::{write_string, write_u16, write_u32, write_varint32};
use crate::error::Error;
use crate::keys::PublicKey;
use crate::names::{check_account_name, check_witness_url};
use crate::profile::{ChainProfile, PropsLayout};

/// Smallest `maximum_block_size` the chain accepts (`STEEMIT_MIN_BLOCK_SIZE_LIMIT`).
pub const MIN_BLOCK_SIZE_LIMIT: u32 = 65_536;

/// Largest interest rate, in basis points (`STEEMIT_100_PERCENT`).
pub const MAX_INTEREST_RATE: u16 = 10_000;

/// The witness's votes on chain parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainProperties {
    /// Fee to create an account, in the core asset.
    pub account_creation_fee: Asset,
    /// Largest block, in bytes.
    pub maximum_block_size: u32,
    /// The third field of 3-field layouts (`sbd_interest_rate`/`hbd_interest_rate`), in basis
    /// points; `None` under a 2-field layout.
    pub interest_rate: Option<u16>,
}

impl ChainProperties {
    /// Appends the props in the profile's layout; refuses a value of the other layout.
    pub fn write_to(&self, out: &mut Vec<u8>, profile: &ChainProfile) -> Result<(), Error> {
        self.account_creation_fee.write_to(out);
        write_u32(out, self.maximum_block_size);
        match (&profile.props_layout, self.interest_rate) {
            (PropsLayout::TwoFields, None) => Ok(()),
            (PropsLayout::WithInterestRate { .. }, Some(rate)) => {
                write_u16(out, rate);
                Ok(())
            }
            (layout, _) => Err(Error::PropsLayout {
                expected: layout.field_names().join(", "),
                problem: "the props were built for another layout".into(),
            }),
        }
    }
}

/// Sets a witness's url, signing key and props. Needs the owner's active (or owner) authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessUpdate {
    /// The witness account.
    pub owner: String,
    /// The witness's url; the chain overwrites it, so send back the current one.
    pub url: String,
    /// The new signing key; the null key disables the witness.
    pub block_signing_key: PublicKey,
    /// The witness's props; the chain overwrites them, so send back the current ones.
    pub props: ChainProperties,
    /// Fee in the core asset; ignored by the chain, send 0.
    pub fee: Asset,
}

impl WitnessUpdate {
    /// Appends the operation as a static_variant member: varint tag, then the fields in order.
    pub fn write_to(&self, out: &mut Vec<u8>, profile: &ChainProfile) -> Result<(), Error> {
        write_varint32(out, profile.witness_update_tag);
        write_string(out, &self.owner);
        write_string(out, &self.url);
        out.extend_from_slice(self.block_signing_key.as_bytes());
        self.props.write_to(out, profile)?;
        self.fee.write_to(out);
        Ok(())
    }

    /// Checks what steemd's `validate()` and evaluator check (SPEC §8), so that a transaction we
    /// sign is not one the chain refuses.
    pub fn validate(&self, profile: &ChainProfile) -> Result<(), Error> {
        check_account_name(&self.owner).map_err(|e| e.at("owner"))?;
        check_witness_url(&self.url).map_err(|e| e.at("url"))?;
        let core = &profile.core_symbol;
        let rule = |rule: String| Error::ChainRule { rule };
        if self.fee.symbol != *core {
            return Err(rule(format!("fee must be in {}", core.json_name())));
        }
        if self.fee.amount < 0 {
            return Err(rule("fee must not be negative".into()));
        }
        let fee = &self.props.account_creation_fee;
        if fee.symbol != *core {
            return Err(rule(format!(
                "account_creation_fee must be in {}",
                core.json_name()
            )));
        }
        if fee.amount < profile.min_account_creation_fee {
            let minimum = Asset {
                amount: profile.min_account_creation_fee,
                symbol: core.clone(),
            };
            return Err(rule(format!(
                "account_creation_fee {fee} is below the minimum {minimum}"
            )));
        }
        if self.props.maximum_block_size < MIN_BLOCK_SIZE_LIMIT {
            return Err(rule(format!(
                "maximum_block_size {} is below {MIN_BLOCK_SIZE_LIMIT}",
                self.props.maximum_block_size
            )));
        }
        match (&profile.props_layout, self.props.interest_rate) {
            (PropsLayout::TwoFields, None) => {}
            (PropsLayout::WithInterestRate { field }, Some(rate)) => {
                if rate > MAX_INTEREST_RATE {
                    return Err(rule(format!("{field} {rate} is above {MAX_INTEREST_RATE}")));
                }
            }
            (layout, _) => {
                return Err(Error::PropsLayout {
                    expected: layout.field_names().join(", "),
                    problem: "the props were built for another layout".into(),
                });
            }
        }
        Ok(())
    }
}

/// The two props this product ever sends in a [`WitnessSetProperties`], in the chain's order
/// (a `flat_map` sorted by key).
pub const WITNESS_SET_PROPERTIES_KEYS: [&str; 2] = ["key", "new_signing_key"];

/// `witness_set_properties` (Steem and Hive since HF20) as this product sends it: only the
/// signing key change. Authorized by the witness's current block signing key, named in the
/// `key` prop, so no active key is needed; the chain refuses it when `key` is not the key on
/// chain. Every prop value is the fc::raw packing of the value, as a byte vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessSetProperties {
    /// The witness account.
    pub owner: String,
    /// The witness's current block signing key (the `key` prop): the operation's authority.
    pub current_key: PublicKey,
    /// The key to set (the `new_signing_key` prop); the null key disables the witness.
    pub new_signing_key: PublicKey,
}

impl WitnessSetProperties {
    /// Appends the operation as a static_variant member: varint tag, `owner`, `props` (a
    /// sorted flat_map of string to byte vector), empty `extensions`. Fails on a profile whose
    /// chain has no such operation.
    pub fn write_to(&self, out: &mut Vec<u8>, profile: &ChainProfile) -> Result<(), Error> {
        let tag = profile
            .witness_set_properties_tag
            .ok_or_else(|| Self::not_on(profile))?;
        write_varint32(out, tag);
        write_string(out, &self.owner);
        write_varint32(out, 2);
        for (name, key) in WITNESS_SET_PROPERTIES_KEYS
            .iter()
            .zip([&self.current_key, &self.new_signing_key])
        {
            write_string(out, name);
            // A public_key_type packs to its 33 bytes; the prop holds them as a vector.
            write_varint32(out, 33);
            out.extend_from_slice(key.as_bytes());
        }
        // extensions: an empty flat_set
        write_varint32(out, 0);
        Ok(())
    }

    /// Checks what the chain's `validate()` and evaluator check before the authority: the
    /// owner's name, a chain that has the operation, and a current key that can sign (the null
    /// key cannot, so a disabled witness can only be re-enabled with `witness_update`).
    pub fn validate(&self, profile: &ChainProfile) -> Result<(), Error> {
        check_account_name(&self.owner).map_err(|e| e.at("owner"))?;
        if profile.witness_set_properties_tag.is_none() {
            return Err(Self::not_on(profile));
        }
        if self.current_key.is_null() {
            return Err(Error::ChainRule {
                rule: "the current signing key is the null key, which can sign nothing: \
                       re-enable the witness with witness_update and the active key"
                    .into(),
            });
        }
        Ok(())
    }

    /// The error for a profile whose chain has no `witness_set_properties` (VIT: a 0.19 chain).
    pub(crate) fn not_on(profile: &ChainProfile) -> Error {
        Error::ChainRule {
            rule: format!(
                "witness_set_properties does not exist on {} (a chain before HF20): use \
                 witness_update with the active key",
                profile.name.as_str()
            ),
        }
    }
}

/// Names of the props the chain's `witness_set_properties_evaluator` reads besides the two this
/// product sends (hived 1.28 `libraries/chain/hive_evaluator.cpp`, steemd 0.23
/// `libraries/chain/steem_evaluator.cpp`): refused by our parser with a message that says they
/// are real props this product never sends, not typos.
pub const OTHER_WITNESS_PROPS: [&str; 9] = [
    "account_creation_fee",
    "account_subsidy_budget",
    "account_subsidy_decay",
    "hbd_exchange_rate",
    "hbd_interest_rate",
    "maximum_block_size",
    "sbd_exchange_rate",
    "sbd_interest_rate",
    "url",
];

/// Reads a `witness_set_properties` props list, given as `(name, packed value)` pairs in the
/// order they were written, into `(current key, new signing key)`. Strict: exactly the two props
/// [`WITNESS_SET_PROPERTIES_KEYS`], sorted and unique as the chain's `flat_map` holds them, each
/// value the 33 bytes of a public key. The chain itself would sort the entries and keep the first
/// of duplicates (fc `from_variant`/`unpack` of a `flat_map` insert one by one), so bytes we
/// signed in another order would not be the bytes the node rebuilds: refusing is the safe side.
pub fn witness_set_properties_keys(
    props: &[(String, Vec<u8>)],
) -> Result<(PublicKey, PublicKey), Error> {
    let problem = |problem: String| Error::SetProperties { problem };
    for (name, _) in props {
        if WITNESS_SET_PROPERTIES_KEYS.contains(&name.as_str()) {
            continue;
        }
        return Err(problem(if OTHER_WITNESS_PROPS.contains(&name.as_str()) {
            format!(
                "{name:?} is a chain prop this product never sends (only key and new_signing_key)"
            )
        } else {
            format!("unknown prop {name:?} (only key and new_signing_key)")
        }));
    }
    for pair in props.windows(2) {
        if let [(a, _), (b, _)] = pair {
            if a == b {
                return Err(problem(format!("duplicate prop {a:?}")));
            }
            if a > b {
                return Err(problem(format!(
                    "props must be sorted by name, as the chain's flat_map is: {b:?} after {a:?}"
                )));
            }
        }
    }
    let value = |name: &str| -> Result<PublicKey, Error> {
        let (_, bytes) = props
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| problem(format!("the {name:?} prop is missing")))?;
        let array: [u8; 33] = bytes.as_slice().try_into().map_err(|_| {
            problem(format!(
                "the {name:?} value must be a packed public key (33 bytes), not {} bytes",
                bytes.len()
            ))
        })?;
        PublicKey::from_bytes(array).map_err(|e| Error::from(e).at(name))
    };
    Ok((value("key")?, value("new_signing_key")?))
}

/// An operation a [`crate::Transaction`] can hold: the two this product builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `witness_update`: needs the owner's active authority.
    WitnessUpdate(WitnessUpdate),
    /// `witness_set_properties` (Steem and Hive): needs the witness's current signing key.
    WitnessSetProperties(WitnessSetProperties),
}

impl Operation {
    /// The operation's name in the legacy JSON form (the struct name without `_operation`).
    pub fn json_name(&self) -> &'static str {
        match self {
            Operation::WitnessUpdate(_) => "witness_update",
            Operation::WitnessSetProperties(_) => "witness_set_properties",
        }
    }

    /// The witness account the operation changes.
    pub fn owner(&self) -> &str {
        match self {
            Operation::WitnessUpdate(op) => &op.owner,
            Operation::WitnessSetProperties(op) => &op.owner,
        }
    }

    /// The signing key the operation sets on the witness.
    pub fn new_signing_key(&self) -> PublicKey {
        match self {
            Operation::WitnessUpdate(op) => op.block_signing_key,
            Operation::WitnessSetProperties(op) => op.new_signing_key,
        }
    }

    /// The `witness_update`, if it is one.
    pub fn as_witness_update(&self) -> Option<&WitnessUpdate> {
        match self {
            Operation::WitnessUpdate(op) => Some(op),
            Operation::WitnessSetProperties(_) => None,
        }
    }

    /// The `witness_update`, mutable, if it is one.
    pub fn as_witness_update_mut(&mut self) -> Option<&mut WitnessUpdate> {
        match self {
            Operation::WitnessUpdate(op) => Some(op),
            Operation::WitnessSetProperties(_) => None,
        }
    }

    /// The `witness_set_properties`, if it is one.
    pub fn as_witness_set_properties(&self) -> Option<&WitnessSetProperties> {
        match self {
            Operation::WitnessSetProperties(op) => Some(op),
            Operation::WitnessUpdate(_) => None,
        }
    }

    /// Appends the operation's fc::raw bytes (its tag, then its fields) under `profile`.
    pub fn write_to(&self, out: &mut Vec<u8>, profile: &ChainProfile) -> Result<(), Error> {
        match self {
            Operation::WitnessUpdate(op) => op.write_to(out, profile),
            Operation::WitnessSetProperties(op) => op.write_to(out, profile),
        }
    }

    /// Checks the operation against the chain's rules under `profile`.
    pub fn validate(&self, profile: &ChainProfile) -> Result<(), Error> {
        match self {
            Operation::WitnessUpdate(op) => op.validate(profile),
            Operation::WitnessSetProperties(op) => op.validate(profile),
        }
    }
}

impl From<WitnessUpdate> for Operation {
    fn from(op: WitnessUpdate) -> Self {
        Operation::WitnessUpdate(op)
    }
}

impl From<WitnessSetProperties> for Operation {
    fn from(op: WitnessSetProperties) -> Self {
        Operation::WitnessSetProperties(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::read_varint32;
    use proptest::prelude::*;

    /// Reads a length-prefixed string at `at`; returns it and the offset after it.
    fn string_at(bytes: &[u8], at: usize) -> Option<(String, usize)> {
        let (len, used) = read_varint32(bytes.get(at..)?).ok()?;
        let start = at + used;
        let end = start + usize::try_from(len).ok()?;
        Some((
            String::from_utf8(bytes.get(start..end)?.to_vec()).ok()?,
            end,
        ))
    }

    proptest! {
        /// Any owner and keys: the bytes parse back into the same fields, props in sorted key
        /// order, each value the key's 33 bytes.
        #[test]
        fn witness_set_properties_bytes_parse_back(
            owner in "[a-z][a-z0-9-]{2,15}",
            current in proptest::array::uniform32(any::<u8>()),
            new in proptest::array::uniform32(any::<u8>()),
            null in any::<bool>(),
        ) {
            let key = |tail: [u8; 32], parity: u8| {
                let mut b = [0u8; 33];
                b[0] = parity;
                b[1..].copy_from_slice(&tail);
                PublicKey::from_bytes(b)
            };
            let (Ok(current_key), Ok(new_signing_key)) = (
                key(current, 2),
                if null { PublicKey::from_bytes([0; 33]) } else { key(new, 3) },
            ) else {
                return Ok(()); // not a point on the curve: not a key
            };
            let op = WitnessSetProperties { owner: owner.clone(), current_key, new_signing_key };
            let mut out = Vec::new();
            prop_assert!(op.write_to(&mut out, &ChainProfile::steem()).is_ok());
            prop_assert_eq!(out[0], 42);
            let (parsed_owner, mut at) = string_at(&out, 1).unwrap_or_default();
            prop_assert_eq!(parsed_owner, owner);
            prop_assert_eq!(out[at], 2);
            at += 1;
            let mut names = Vec::new();
            for expected in [current_key, new_signing_key] {
                let (name, next) = string_at(&out, at).unwrap_or_default();
                names.push(name);
                prop_assert_eq!(out[next], 33);
                prop_assert_eq!(&out[next + 1..next + 34], expected.as_bytes());
                at = next + 34;
            }
            prop_assert_eq!(names, WITNESS_SET_PROPERTIES_KEYS.to_vec());
            prop_assert_eq!(&out[at..], &[0u8][..]);
        }
    }
}
