//! Accounts and their authorities (`get_accounts`), to check which key can sign for a witness
//! before broadcasting (SPEC §4.6).

use serde::Deserialize;
use serde_json::Value;

use super::flex::Flex;
use super::types::{at, decode};
use crate::keys::PublicKey;
use crate::profile::ChainProfile;

/// A weighted set of keys and accounts; it is satisfied when the signing weights reach the
/// threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// The weight needed.
    pub weight_threshold: u32,
    /// Keys and their weights.
    pub key_auths: Vec<(PublicKey, u16)>,
    /// Accounts (whose own authority counts) and their weights.
    pub account_auths: Vec<(String, u16)>,
}

impl Authority {
    /// The weight `key` contributes on its own (0 when it is not listed).
    pub fn key_weight(&self, key: &PublicKey) -> u16 {
        self.key_auths
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, w)| *w)
            .fold(0, u16::saturating_add)
    }

    /// Whether `key` alone meets the threshold.
    pub fn is_satisfied_by(&self, key: &PublicKey) -> bool {
        u32::from(self.key_weight(key)) >= self.weight_threshold
    }
}

/// An account as `get_accounts` returns it: only the name and the two authorities that can sign
/// a `witness_update` (active, or owner which also satisfies active).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The account name.
    pub name: String,
    /// The owner authority.
    pub owner: Authority,
    /// The active authority.
    pub active: Authority,
}

#[derive(Deserialize)]
struct RawAuthority {
    weight_threshold: Flex<u32>,
    key_auths: Vec<(String, Flex<u16>)>,
    account_auths: Vec<(String, Flex<u16>)>,
}

#[derive(Deserialize)]
struct RawAccount {
    name: String,
    owner: RawAuthority,
    active: RawAuthority,
}

impl Account {
    /// Reads one element of a `get_accounts` result.
    pub fn from_result(value: Value, profile: &ChainProfile) -> Result<Self, String> {
        let raw: RawAccount = decode(value)?;
        Ok(Account {
            owner: authority(raw.owner, profile).map_err(at("owner"))?,
            active: authority(raw.active, profile).map_err(at("active"))?,
            name: raw.name,
        })
    }
}

fn authority(raw: RawAuthority, profile: &ChainProfile) -> Result<Authority, String> {
    let key_auths = raw
        .key_auths
        .into_iter()
        .map(|(key, weight)| {
            PublicKey::parse(&key, &profile.address_prefix)
                .map(|k| (k, weight.0))
                .map_err(|e| format!("key_auths {key:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Authority {
        weight_threshold: raw.weight_threshold.0,
        key_auths,
        account_auths: raw
            .account_auths
            .into_iter()
            .map(|(name, weight)| (name, weight.0))
            .collect(),
    })
}
