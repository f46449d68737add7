//! `witness_update` and its `chain_properties` (SPEC §3.2, §3.3, §8).
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
