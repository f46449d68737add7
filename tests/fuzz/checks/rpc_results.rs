//! `rpc_responses` (result half): arbitrary JSON as a node's `result` member, through every
//! public `from_result` parser of `vwf_shared::rpc`, as `NodeClient` calls them.

use serde_json::Value;
use vwf_shared::ChainProfile;
use vwf_shared::rpc::{
    Account, BlockHeader, BroadcastResult, DynamicGlobalProperties, NodeConfig, Version, Witness,
};

/// Runs every parser on `data` when it is JSON (the profile-dependent ones under VIT, STEEM and
/// HIVE); none may panic.
pub(crate) fn check(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = NodeConfig::from_result(value.clone());
    let _ = DynamicGlobalProperties::from_result(value.clone());
    let _ = BlockHeader::from_result(value.clone());
    let _ = BroadcastResult::from_result(value.clone());
    let _ = Version::from_result(value.clone());
    for profile in [
        ChainProfile::vit(),
        ChainProfile::steem(),
        ChainProfile::hive(),
    ] {
        let _ = Witness::from_result(value.clone(), &profile);
        let _ = Account::from_result(value.clone(), &profile);
        // get_accounts answers an array of accounts.
        if let Value::Array(items) = &value {
            for item in items {
                let _ = Account::from_result(item.clone(), &profile);
            }
        }
    }
}
