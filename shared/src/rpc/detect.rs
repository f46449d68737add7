//! Picking the API style and refusing a node of another chain (SPEC §7.5).
//!
//! The profile's own generation is probed first: `condenser_api.get_config` for STEEM and HIVE
//! (appbase), `call database_api get_config []` for VIT (steemd 0.19).
//! 1. `call database_api get_config []`. A result with `*_CHAIN_ID` and 0.19 `STEEMIT_*` names
//!    means a pre-appbase node (VIT): legacy style. An appbase node answers this form with a
//!    Bad Cast (its `database_api` takes an object), which also sends us to step 2.
//! 2. `condenser_api.get_config`. A 0.20+ node may also answer step 1 (appbase routes `call`
//!    to its own `database_api`), but that API has none of the 0.19 methods, so its
//!    `STEEM_*`/`HIVE_*` names send us to `condenser_api` when that works.
//! 3. Whenever a chain id is read, a mismatch with the profile ends the connection attempt:
//!    signatures for the wrong chain id recover to the wrong key.
//!
//! A probe's failure moves on to the other style only when the node says the API or method does
//! not exist ([`RpcError::is_method_not_found`]). Anything else (a refused or unreadable config, a
//! lock timeout or jussi timeout that outlasted the read retries, no answer) ends the attempt
//! with that error: a guessed style would fail later, on a call that matters, with a worse error.

use serde_json::value::RawValue;

use super::error::{CallSite, RpcError};
use super::style::{Api, ApiStyle};
use super::transport::Transport;
use super::types::NodeConfig;
use crate::profile::ChainProfile;

/// Detects the style and returns it with the node's config, already checked against `profile`.
pub(crate) async fn detect(
    transport: &Transport,
    profile: &ChainProfile,
) -> Result<(ApiStyle, NodeConfig), RpcError> {
    if profile.name != crate::profile::ProfileName::Vit {
        // An appbase profile: its own generation first; 0.19 only if condenser_api is missing.
        match get_config(transport, ApiStyle::Condenser, profile).await {
            Ok(config) => {
                check(transport, ApiStyle::Condenser, &config, profile)?;
                return Ok((ApiStyle::Condenser, config));
            }
            Err(condenser) if condenser.is_method_not_found() => {
                return match get_config(transport, ApiStyle::LegacyCall, profile).await {
                    Ok(config) => {
                        check(transport, ApiStyle::LegacyCall, &config, profile)?;
                        Ok((ApiStyle::LegacyCall, config))
                    }
                    Err(legacy) if legacy.is_method_not_found() => Err(RpcError::UnsupportedNode {
                        url: transport.url().to_owned(),
                        legacy: Box::new(legacy),
                        condenser: Box::new(condenser),
                    }),
                    Err(legacy) => Err(legacy),
                };
            }
            Err(condenser) => return Err(condenser),
        }
    }
    let legacy = match get_config(transport, ApiStyle::LegacyCall, profile).await {
        Ok(config) => {
            check(transport, ApiStyle::LegacyCall, &config, profile)?;
            if config.legacy_names {
                return Ok((ApiStyle::LegacyCall, config));
            }
            Ok(config)
        }
        Err(e) if e.is_method_not_found() || e.is_array_refused_by_appbase() => Err(e),
        Err(e) => return Err(e),
    };
    match get_config(transport, ApiStyle::Condenser, profile).await {
        Ok(config) => {
            check(transport, ApiStyle::Condenser, &config, profile)?;
            Ok((ApiStyle::Condenser, config))
        }
        Err(condenser) if condenser.is_method_not_found() => match legacy {
            // Modern names but no condenser_api: the legacy answer is all there is.
            Ok(config) => Ok((ApiStyle::LegacyCall, config)),
            Err(legacy) => Err(RpcError::UnsupportedNode {
                url: transport.url().to_owned(),
                legacy: Box::new(legacy),
                condenser: Box::new(condenser),
            }),
        },
        Err(condenser) => Err(condenser),
    }
}

/// `get_config` in one style, read for `profile`'s key family (see
/// [`NodeConfig::from_result_for`]).
pub(crate) async fn get_config(
    transport: &Transport,
    style: ApiStyle,
    profile: &ChainProfile,
) -> Result<NodeConfig, RpcError> {
    let no_args: [Box<RawValue>; 0] = [];
    let value = transport
        .read(style, Api::Database, "get_config", &no_args)
        .await?;
    NodeConfig::from_result_for(value, profile).map_err(|reason| RpcError::InvalidResult {
        at: site(transport, style),
        reason,
    })
}

fn site(transport: &Transport, style: ApiStyle) -> CallSite {
    transport.site(style, Api::Database, "get_config")
}

/// Refuses a node whose chain id or key prefix differs from the profile's.
fn check(
    transport: &Transport,
    style: ApiStyle,
    config: &NodeConfig,
    profile: &ChainProfile,
) -> Result<(), RpcError> {
    if config.chain_id != profile.chain_id {
        return Err(RpcError::ChainIdMismatch {
            at: site(transport, style),
            expected: profile.chain_id,
            node: config.chain_id,
        });
    }
    if config.address_prefix != profile.address_prefix {
        return Err(RpcError::AddressPrefixMismatch {
            at: site(transport, style),
            expected: profile.address_prefix.clone(),
            node: config.address_prefix.clone(),
        });
    }
    Ok(())
}
