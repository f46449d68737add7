//! The two API styles and the exact request text each one sends (SPEC §7.1–§7.3).
//!
//! Requests are written from typed parts with serde, and a transaction goes in as a
//! [`RawValue`] holding `SignedTransaction::to_legacy_json`, so its text reaches the node exactly
//! as produced, never re-ordered through a `Value` (SPEC §6.3).

use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

/// How methods are addressed on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiStyle {
    /// Pre-appbase 0.19 (VIT): `{"method":"call","params":[API, METHOD, [ARGS…]]}` (SPEC §7.2).
    LegacyCall,
    /// Appbase (Steem ≥ 0.20, Hive): `{"method":"condenser_api.METHOD","params":[ARGS…]}`
    /// (SPEC §7.3).
    Condenser,
}

impl fmt::Display for ApiStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiStyle::LegacyCall => "legacy call (0.19)",
            ApiStyle::Condenser => "appbase condenser_api",
        })
    }
}

/// The 0.19 API a method lives in; appbase serves all of them from `condenser_api`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    /// `database_api`: reads and `get_transaction_hex`.
    Database,
    /// `network_broadcast_api`: broadcasts (must be enabled on the node).
    NetworkBroadcast,
    /// `login_api`: `get_version`.
    Login,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Database => "database_api",
            Api::NetworkBroadcast => "network_broadcast_api",
            Api::Login => "login_api",
        }
    }
}

/// A JSON-RPC request; `params` is always an array and `id` an unsigned integer (SPEC §7.1).
#[derive(Serialize)]
struct Request<'a, P: Serialize> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: P,
}

impl ApiStyle {
    /// The method as named in errors and logs: `database_api.get_config`,
    /// `condenser_api.get_config`.
    pub(crate) fn method_name(self, api: Api, method: &str) -> String {
        match self {
            ApiStyle::LegacyCall => format!("{}.{method}", api.name()),
            ApiStyle::Condenser => format!("condenser_api.{method}"),
        }
    }

    /// The request body.
    pub(crate) fn body(
        self,
        id: u64,
        api: Api,
        method: &str,
        args: &[Box<RawValue>],
    ) -> Result<String, serde_json::Error> {
        match self {
            ApiStyle::LegacyCall => serde_json::to_string(&Request {
                jsonrpc: "2.0",
                id,
                method: "call",
                params: (api.name(), method, args),
            }),
            ApiStyle::Condenser => serde_json::to_string(&Request {
                jsonrpc: "2.0",
                id,
                method: &self.method_name(api, method),
                params: args,
            }),
        }
    }
}

/// An argument serialized by serde.
pub(crate) fn arg<T: Serialize + ?Sized>(value: &T) -> Result<Box<RawValue>, serde_json::Error> {
    serde_json::value::to_raw_value(value)
}

/// An argument that is already JSON text, embedded verbatim (after a syntax check).
pub(crate) fn raw_arg(json: String) -> Result<Box<RawValue>, serde_json::Error> {
    RawValue::from_string(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_body_nests_args_and_keeps_raw_text() {
        let tx = raw_arg(r#"{"b":1,"a":2}"#.to_owned()).ok();
        let body = tx.map(|tx| {
            ApiStyle::LegacyCall.body(7, Api::NetworkBroadcast, "broadcast_transaction", &[tx])
        });
        assert_eq!(
            body.and_then(Result::ok).as_deref(),
            Some(
                r#"{"jsonrpc":"2.0","id":7,"method":"call","params":["network_broadcast_api","broadcast_transaction",[{"b":1,"a":2}]]}"#
            )
        );
    }

    #[test]
    fn condenser_body_is_positional() {
        let name = arg("vit-test-witness").ok();
        let body = name
            .map(|n| ApiStyle::Condenser.body(1, Api::Database, "get_witness_by_account", &[n]));
        assert_eq!(
            body.and_then(Result::ok).as_deref(),
            Some(
                r#"{"jsonrpc":"2.0","id":1,"method":"condenser_api.get_witness_by_account","params":["vit-test-witness"]}"#
            )
        );
    }
}
