//! Building and signing `witness_update` transactions for tests, with `vwf_shared`.

use anyhow::Context;
use serde_json::{Value, json};
use vwf_shared::{
    Asset, BlockId, ChainProfile, PrivateKey, PublicKey, SignedTransaction, Tapos, TimePointSec,
    Transaction, WitnessUpdate,
};

use crate::client::call_ok;
use crate::simchain::config::default_props;

/// Test-only WIFs of `shared/tests/data/vectors.json` (`keys[i].wif`).
pub const TEST_WIFS: [&str; 5] = [
    "5K5WrHCEqHdoiaWjbwBedbYnu9vA8BUPBMRsbkggk2FbhTsFVJP",
    "5HxyXNrYEm4NW4PvZ8nZStGW455jQbK1Gj1X9e8Fri8qWdNpm8w",
    "5HtyNTN8dFtTh5R5VVrfawSJA89bhAArEQgBwxqhf3WBkgg2eW2",
    "5HuKN5FcyTrSu9z25cGMUq3SGtn5rxm2NNg3qL8hHTAY9APjSGV",
    "5JjrKsphTeyTeywWx6EvJjAiYy52wmC1FJJZ2vdKq14eqadDL8f",
];

/// The null key with the VIT prefix (the kill switch's target).
pub const NULL_KEY: &str = "VIT1111111111111111111111111111111114T1Anm";

/// The public key of test key `index` as a VIT-prefixed string.
pub fn test_key(index: usize) -> anyhow::Result<String> {
    Ok(test_public_key(index)?.to_string_with_prefix("VIT"))
}

/// The public key of test key `index`.
pub fn test_public_key(index: usize) -> anyhow::Result<PublicKey> {
    let wif = TEST_WIFS.get(index).context("test keys are 0..5")?;
    Ok(PrivateKey::from_wif(wif)?.public_key())
}

/// A `witness_update` setting `new_key`, with the default url, props and a zero fee.
pub fn witness_update(profile: &ChainProfile, owner: &str, new_key: PublicKey) -> WitnessUpdate {
    WitnessUpdate {
        owner: owner.to_owned(),
        url: "No website yet".into(),
        block_signing_key: new_key,
        props: default_props(profile),
        fee: Asset {
            amount: 0,
            symbol: profile.core_symbol.clone(),
        },
    }
}

/// The head block id and time from `get_dynamic_global_properties` on `node`.
pub async fn head_of(node: &str) -> anyhow::Result<(BlockId, TimePointSec)> {
    // `call condenser_api …` works on every generation: appbase's condenser_api, and on 0.19
    // an unknown API name falls through to API 0 (database_api).
    let dgp = call_ok(
        node,
        "condenser_api",
        "get_dynamic_global_properties",
        json!([]),
    )
    .await?;
    let id = BlockId::from_hex(dgp["head_block_id"].as_str().context("head_block_id")?)?;
    let time = TimePointSec::parse(dgp["time"].as_str().context("time")?)?;
    Ok((id, time))
}

/// An unsigned transaction referencing `head` and expiring `lifetime` s after `time`.
pub fn transaction(
    op: WitnessUpdate,
    head: &BlockId,
    time: TimePointSec,
    lifetime: u32,
) -> anyhow::Result<Transaction> {
    Ok(Transaction::new(
        op,
        Tapos::from_block_id(head),
        time,
        lifetime,
    )?)
}

/// Signs `tx` with test key `index` over `profile`'s chain id.
pub fn sign(
    tx: Transaction,
    index: usize,
    profile: &ChainProfile,
) -> anyhow::Result<SignedTransaction> {
    let wif = TEST_WIFS.get(index).context("test keys are 0..5")?;
    Ok(tx.sign(&PrivateKey::from_wif(wif)?, profile)?)
}

/// The legacy JSON of a signed transaction, as a JSON value ready for a `call`.
pub fn to_value(signed: &SignedTransaction, profile: &ChainProfile) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&signed.to_legacy_json(profile))?)
}
