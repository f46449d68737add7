//! Chain profiles: the per-chain values that change bytes (SPEC §1).
//!
//! A wrong value here produces valid-looking signatures the node rejects as "missing required
//! active authority", so every value that differs between VIT, Steem and Hive lives in
//! [`ChainProfile`] rather than in the code that serializes.

use std::fmt;
use std::str::FromStr;

use crate::asset::AssetSymbol;
use crate::error::Error;

/// The 32-byte chain id mixed into every signature digest (SPEC §4.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainId(pub [u8; 32]);

impl ChainId {
    /// Parses 64 hex characters.
    pub fn from_hex(value: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(value, &mut bytes).map_err(|_| Error::ChainId {
            value: value.to_owned(),
        })?;
        Ok(ChainId(bytes))
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({self})")
    }
}

/// The built-in profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProfileName {
    /// VIT (vision-industry-token), a Steem 0.19.5 fork: 2-field props, `VIT` prefix.
    Vit,
    /// Steem mainnet: 3-field props with `sbd_interest_rate`, `STM` prefix.
    Steem,
    /// Hive mainnet: 3-field props with `hbd_interest_rate`, `HIVE` written as `STEEM` bytes.
    Hive,
}

impl ProfileName {
    /// All built-in profiles, VIT first.
    pub const ALL: [ProfileName; 3] = [ProfileName::Vit, ProfileName::Steem, ProfileName::Hive];

    /// The upper-case name used on the command line and in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Vit => "VIT",
            ProfileName::Steem => "STEEM",
            ProfileName::Hive => "HIVE",
        }
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProfileName {
    type Err = Error;

    /// Accepts `VIT`, `STEEM` or `HIVE`, in any case.
    fn from_str(name: &str) -> Result<Self, Error> {
        ProfileName::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::UnknownProfile {
                name: name.to_owned(),
            })
    }
}

/// The layout of `chain_properties` inside `witness_update` (SPEC §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropsLayout {
    /// `account_creation_fee`, `maximum_block_size` (VIT).
    TwoFields,
    /// The two fields plus a u16 interest rate under the given JSON name (`sbd_interest_rate` on
    /// Steem, `hbd_interest_rate` on Hive).
    WithInterestRate {
        /// The JSON name of the third field.
        field: String,
    },
}

impl PropsLayout {
    /// The JSON field names in wire order.
    pub fn field_names(&self) -> Vec<&str> {
        let mut names = vec!["account_creation_fee", "maximum_block_size"];
        if let PropsLayout::WithInterestRate { field } = self {
            names.push(field);
        }
        names
    }
}

/// Everything that makes one Steem-family chain's bytes differ from another's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainProfile {
    /// Which built-in profile this started from.
    pub name: ProfileName,
    /// Mixed into every signature digest.
    pub chain_id: ChainId,
    /// Prefix of public key strings (`VIT`, `STM`).
    pub address_prefix: String,
    /// The core asset: JSON name, wire name and precision.
    pub core_symbol: AssetSymbol,
    /// The `chain_properties` layout inside `witness_update`.
    pub props_layout: PropsLayout,
    /// The `witness_update` index in the chain's operation variant.
    pub witness_update_tag: u32,
    /// The `witness_set_properties` index (Steem and Hive since HF20); `None` on a chain
    /// without the operation (VIT, a 0.19 chain).
    pub witness_set_properties_tag: Option<u32>,
    /// The smallest `account_creation_fee` the chain accepts, in satoshis of the core asset.
    pub min_account_creation_fee: i64,
}

impl ChainProfile {
    /// The VIT chain (SPEC §1): chain id sha256("vit"), 2-field props, minimum fee 0.100 VIT.
    pub fn vit() -> Self {
        ChainProfile {
            name: ProfileName::Vit,
            chain_id: ChainId([
                0x73, 0xf1, 0x4d, 0xd4, 0xb7, 0xb0, 0x7a, 0x86, 0x63, 0xbe, 0x9d, 0x84, 0x30, 0x0d,
                0xe0, 0xf6, 0x5e, 0xf2, 0xee, 0x7e, 0x27, 0xaa, 0xe3, 0x2b, 0xbe, 0x91, 0x1c, 0x54,
                0x8c, 0x08, 0xf0, 0x00,
            ]),
            address_prefix: "VIT".into(),
            core_symbol: AssetSymbol::new("VIT", "VIT", 3),
            props_layout: PropsLayout::TwoFields,
            witness_update_tag: 11,
            witness_set_properties_tag: None,
            min_account_creation_fee: 100,
        }
    }

    /// Steem mainnet: chain id of 32 zero bytes, 3-field props.
    pub fn steem() -> Self {
        ChainProfile {
            name: ProfileName::Steem,
            chain_id: ChainId([0; 32]),
            address_prefix: "STM".into(),
            core_symbol: AssetSymbol::new("STEEM", "STEEM", 3),
            props_layout: PropsLayout::WithInterestRate {
                field: "sbd_interest_rate".into(),
            },
            witness_update_tag: 11,
            // steem protocol/operations.hpp: the 43rd member of the operation static_variant.
            witness_set_properties_tag: Some(42),
            min_account_creation_fee: 1,
        }
    }

    /// Hive mainnet: chain id `beeab0de…`, `HIVE` in JSON but `STEEM` on the wire (SPEC §3.1).
    pub fn hive() -> Self {
        let mut chain_id = [0u8; 32];
        chain_id[..4].copy_from_slice(&[0xbe, 0xea, 0xb0, 0xde]);
        ChainProfile {
            name: ProfileName::Hive,
            chain_id: ChainId(chain_id),
            address_prefix: "STM".into(),
            core_symbol: AssetSymbol::new("HIVE", "STEEM", 3),
            props_layout: PropsLayout::WithInterestRate {
                field: "hbd_interest_rate".into(),
            },
            witness_update_tag: 11,
            // hive protocol/operations.hpp: unchanged from Steem.
            witness_set_properties_tag: Some(42),
            min_account_creation_fee: 1,
        }
    }

    /// The built-in profile of that name.
    pub fn builtin(name: ProfileName) -> Self {
        match name {
            ProfileName::Vit => Self::vit(),
            ProfileName::Steem => Self::steem(),
            ProfileName::Hive => Self::hive(),
        }
    }

    /// The same profile with another props layout (for a chain found to use 3 fields, SPEC §10.1).
    pub fn with_props_layout(mut self, layout: PropsLayout) -> Self {
        self.props_layout = layout;
        self
    }

    /// Whether the owner authority also satisfies an operation that needs the active one.
    /// True on steemd (VIT, Steem); false on Hive since HF28, where a stronger authority no
    /// longer satisfies a weaker one, so a `witness_update` must be signed with an active key.
    pub fn owner_satisfies_active(&self) -> bool {
        self.name != ProfileName::Hive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_parse_case_insensitively() {
        assert_eq!("vit".parse::<ProfileName>().ok(), Some(ProfileName::Vit));
        assert_eq!("HIVE".parse::<ProfileName>().ok(), Some(ProfileName::Hive));
        assert!("STM".parse::<ProfileName>().is_err());
    }

    #[test]
    fn vit_chain_id_is_sha256_of_serialized_name() {
        use sha2::{Digest, Sha256};
        // fc::sha256::hash("vit") hashes the fc::raw string: a length byte then the text.
        let expected: [u8; 32] = Sha256::digest(b"\x03vit").into();
        assert_eq!(ChainProfile::vit().chain_id.0, expected);
    }

    #[test]
    fn chain_id_hex_round_trips() {
        let hive = ChainProfile::hive().chain_id;
        assert_eq!(ChainId::from_hex(&hive.to_string()).ok(), Some(hive));
        assert!(ChainId::from_hex("beeab0de").is_err());
    }
}
