//! [`NodeError`]: why a node refused a call, and the one-line summary of its error text.
//!
//! The kind is read from fc's exception name or phrase (SPEC §4.6), never from the code: 0.19
//! returns `code: 1` for every exception, and appbase wraps fc exceptions in -32000/-32002/-32003
//! whatever they are (SPEC §7.1). Codes do matter for what is not an fc exception: jussi's own
//! errors and appbase's "method not found" ([`disposition`]).
//!
//! Node texts run over many lines: 0.19 sends fc's `to_detail_string()` (`"<code> <name>: <what>"`,
//! then per log entry its message, its data and its source line), appbase `to_string()`
//! (`"<what>:<message>"`) plus the whole exception in `data`. `summarize` makes one line of that
//! for people; the full text is classified, and logged at `debug` by the transport.

use serde_json::Value;
use thiserror::Error;

/// Longest node text kept in an error; fc appends stack traces that run to kilobytes.
pub const MAX_ERROR_TEXT: usize = 512;

/// Why a node refused a call, read from fc's exception name or message (SPEC §4.6, §7.1).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeError {
    /// `tx_missing_active_auth`: wrong key, wrong chain id, or bytes the node derives differently
    /// (for example the props layout).
    #[error(
        "missing required active authority (wrong key, wrong chain id, or the node derives other bytes, e.g. props layout)"
    )]
    MissingAuthority,
    /// The same transaction id was already accepted.
    #[error("duplicate transaction: this transaction id was already accepted")]
    DuplicateTransaction,
    /// `transaction_expiration_exception`: expired, or too far in the future.
    #[error("transaction expiration refused (expired, or more than an hour after head block time)")]
    Expired,
    /// `transaction_tapos_exception`: the reference block is not on the node's fork or too old.
    #[error("TaPoS check failed: the reference block is unknown to the node or too old")]
    Tapos,
    /// `tx_irrelevant_sig`: a signature the authority does not need.
    #[error("unnecessary signature: sign with exactly one key")]
    IrrelevantSignature,
    /// `tx_duplicate_sig`: the same key signed twice.
    #[error("duplicate signature")]
    DuplicateSignature,
    /// A signature that is not fc-canonical.
    #[error("signature is not canonical")]
    NotCanonical,
    /// Anything else (including a disabled API, a lock timeout, a jussi error): the node's text
    /// in one line, its exception name and first informative line, truncated to
    /// [`MAX_ERROR_TEXT`] bytes. [`RpcError::is_retryable`](super::RpcError::is_retryable) and
    /// [`RpcError::is_method_not_found`](super::RpcError::is_method_not_found) tell those apart.
    #[error("{text}")]
    Other {
        /// The node's error in one line, truncated.
        text: String,
    },
}

/// jussi `RequestTimeoutError`, "Request Timeout" (steemit/jussi, jussi/errors.py).
const JUSSI_REQUEST_TIMEOUT: i64 = 1000;
/// jussi `ResponseTimeoutError`, "Response Timeout" (steemit/jussi, jussi/errors.py).
const JUSSI_RESPONSE_TIMEOUT: i64 = 1050;
/// jussi `UpstreamResponseError`, "Upstream response error: {reason}" (steemit/jussi,
/// jussi/errors.py, raised in jussi/handlers.py when the upstream answer is empty or not JSON;
/// "Bad or missing upstream response" before May 2018).
const JUSSI_UPSTREAM_ERROR: i64 = 1100;
/// jussi `JsonRpcError`, its catch-all "Internal Error" for any exception it does not map
/// (steemit/jussi, jussi/errors.py). appbase declares `JSON_RPC_INTERNAL_ERROR` (-32603) but never
/// sends it (steemit/steem and openhive-network/hive,
/// libraries/plugins/json_rpc/json_rpc_plugin.cpp), so the code means jussi failed, not the chain.
const JUSSI_INTERNAL_ERROR: i64 = -32603;
/// jussi `InvalidNamespaceError`, "Invalid JSONRPC method namespace {namespace}" (steemit/jussi,
/// jussi/errors.py, raised in jussi/urn.py for a method it cannot route).
const JUSSI_INVALID_NAMESPACE: i64 = 1200;
/// jussi `InvalidNamespaceAPIError`, "Invalid JSONRPC method namespace, unable to resolve
/// {namespace}.{api}" (steemit/jussi, jussi/errors.py since May 2018; jussi/urn.py). Before that,
/// 1300 was `InvalidUpstreamURL`, "Invalid/unhealthy upstream {url} : {reason}", sent as
/// "… None : No matching url found" when no upstream serves the method's namespace (jussi
/// 1d6f106, jussi/upstream.py). Both say this proxy cannot route the method: not a passing
/// failure, and the answer on which style detection tries the other style.
const JUSSI_INVALID_NAMESPACE_API: i64 = 1300;
/// appbase `JSON_RPC_METHOD_NOT_FOUND` (steemit/steem and openhive-network/hive,
/// libraries/plugins/json_rpc/include/*/plugins/json_rpc/json_rpc_plugin.hpp), also the JSON-RPC
/// 2.0 code for "Method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// Codes that only jussi sends and that mean it could not get an answer in time.
const TRANSIENT_CODES: &[i64] = &[
    JUSSI_REQUEST_TIMEOUT,
    JUSSI_RESPONSE_TIMEOUT,
    JUSSI_UPSTREAM_ERROR,
    JUSSI_INTERNAL_ERROR,
];

/// Codes that mean the method cannot be routed at all.
const METHOD_NOT_FOUND_CODES: &[i64] = &[
    METHOD_NOT_FOUND,
    JUSSI_INVALID_NAMESPACE,
    JUSSI_INVALID_NAMESPACE_API,
];

/// Exception names and phrases of a refused transaction, checked in order against the node's
/// text (lower-cased).
const PATTERNS: &[(&str, NodeError)] = &[
    ("tx_missing_active_auth", NodeError::MissingAuthority),
    ("tx_missing_owner_auth", NodeError::MissingAuthority),
    (
        "missing required active authority",
        NodeError::MissingAuthority,
    ),
    (
        "missing required owner authority",
        NodeError::MissingAuthority,
    ),
    (
        "duplicate transaction check failed",
        NodeError::DuplicateTransaction,
    ),
    ("transaction_expiration_exception", NodeError::Expired),
    ("transaction expiration exception", NodeError::Expired),
    ("transaction_tapos_exception", NodeError::Tapos),
    ("transaction tapos exception", NodeError::Tapos),
    ("tx_irrelevant_sig", NodeError::IrrelevantSignature),
    ("irrelevant signature", NodeError::IrrelevantSignature),
    ("unnecessary signature", NodeError::IrrelevantSignature),
    ("tx_duplicate_sig", NodeError::DuplicateSignature),
    ("duplicate signature", NodeError::DuplicateSignature),
    ("signature is not canonical", NodeError::NotCanonical),
];

/// Phrases of an unknown API or method (lower-cased).
const METHOD_NOT_FOUND_PHRASES: &[&str] = &[
    // 0.19: fc's api_connection.hpp, `FC_ASSERT( itr != _by_name.end(), "no method with name
    // '${name}'" )` (steemit/steem, libraries/fc/include/fc/rpc/api_connection.hpp).
    "no method with name",
    // appbase: `find_api_method`, reported as -32002 (steemit/steem and openhive-network/hive,
    // libraries/plugins/json_rpc/json_rpc_plugin.cpp).
    "could not find method",
    "could not find api",
    // jussi 1200 and 1300 (steemit/jussi, jussi/errors.py).
    "invalid jsonrpc method namespace",
    // The JSON-RPC 2.0 message for -32601, as proxies write it.
    "method not found",
];

/// Phrases of a lock not acquired in time (lower-cased): chainbase `lock_exception::what()`
/// (steemit/steem and openhive-network/hive, libraries/chainbase/include/chainbase/chainbase.hpp)
/// and Hive's `forkdb_lock_exception` (openhive-network/hive,
/// libraries/chain/include/hive/chain/fork_database.hpp). appbase sends them as
/// `JSON_RPC_ERROR_DURING_CALL` (-32003) with `e.what()` (libraries/plugins/json_rpc/
/// json_rpc_plugin.cpp), a code that also carries any `assert_exception` the method throws: the
/// phrase decides, not the code.
const TRANSIENT_PHRASES: &[&str] = &[
    "unable to acquire database lock",
    "unable to acquire forkdb lock",
];

/// fc's `what()` texts that say nothing beyond the exception name; the summary skips them for
/// the first log message (fc exception.hpp: "Assert Exception", the default "unspecified").
const GENERIC_WHATS: &[&str] = &[
    "assert exception",
    "unspecified",
    "unknown exception",
    "exception",
    "internal error",
    "server error",
];

impl NodeError {
    /// Classifies a node's error text (its `message`, plus `data` on appbase): the whole text,
    /// since 0.19 puts the cause below a generic first line. Unknown text becomes
    /// [`NodeError::Other`] with its one-line summarized form.
    pub fn classify(text: &str) -> NodeError {
        Self::mapped(text).unwrap_or_else(|| NodeError::Other {
            text: summarize(text, None),
        })
    }

    /// [`NodeError::classify`] with the summary already made (from `message` and `data` apart,
    /// which reads better than the joined text).
    pub(crate) fn classify_with_summary(full: &str, summary: &str) -> NodeError {
        Self::mapped(full).unwrap_or_else(|| NodeError::Other {
            text: summary.to_owned(),
        })
    }

    fn mapped(text: &str) -> Option<NodeError> {
        let lower = text.to_lowercase();
        PATTERNS
            .iter()
            .find(|(pattern, _)| lower.contains(pattern))
            .map(|(_, kind)| kind.clone())
    }
}

/// What an unmapped node error ([`NodeError::Other`]) means for the client, beyond its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// A refusal or failure that the same request would meet again.
    Final,
    /// A passing failure (a lock, a jussi timeout or upstream error): a read may be sent again.
    Transient,
    /// The node or proxy has no such API or method.
    MethodNotFound,
}

/// Reads the [`Disposition`] of an unmapped node error from its JSON-RPC code and its text (the
/// one-line summary holds the phrases: they are the first informative line). Protocol codes come
/// first: jussi's and appbase's own errors never carry an fc exception.
pub(crate) fn disposition(code: i64, text: &str) -> Disposition {
    let lower = text.to_lowercase();
    let has = |phrases: &[&str]| phrases.iter().any(|p| lower.contains(p));
    if TRANSIENT_CODES.contains(&code) {
        Disposition::Transient
    } else if METHOD_NOT_FOUND_CODES.contains(&code) || has(METHOD_NOT_FOUND_PHRASES) {
        Disposition::MethodNotFound
    } else if has(TRANSIENT_PHRASES) {
        Disposition::Transient
    } else {
        Disposition::Final
    }
}

/// The node's error in one line, at most [`MAX_ERROR_TEXT`] bytes (plus `…` when cut):
/// `<exception name>: <first informative line>`, or just the line when no fc name is known
/// (jussi, a lock timeout).
///
/// The informative line is fc's `what` joined to the first log message as fc's `to_string()`
/// does (`missing required active authority:Missing Active Authority alice`); when `what` is
/// generic ("Assert Exception", "unspecified") only the message is kept, without the asserted
/// C++ expression (`Duplicate transaction check failed`). `data` is the JSON-RPC `data` member:
/// appbase puts the fc exception there, whose `name` the message lacks.
pub(crate) fn summarize(message: &str, data: Option<&Value>) -> String {
    let (name, text) = detail_string(message)
        .or_else(|| appbase_string(message, data))
        .unwrap_or_else(|| (None, plain(message, data)));
    let line = match name {
        Some(name) if !text.is_empty() => format!("{name}: {text}"),
        Some(name) => name,
        None => text,
    };
    let line = one_line(&line);
    if line.is_empty() {
        "(no error text)".to_owned()
    } else {
        truncate(&line, MAX_ERROR_TEXT)
    }
}

/// 0.19's `to_detail_string()`: `"<code> <name>: <what>"`, then per log entry the message on its
/// own line and the data and source, each indented by four spaces (steemit/steem,
/// libraries/fc/src/exception.cpp).
fn detail_string(message: &str) -> Option<(Option<String>, String)> {
    let mut lines = message.lines();
    let (code, rest) = lines.next()?.split_once(' ')?;
    let digits = code.strip_prefix('-').unwrap_or(code);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (name, what) = rest
        .split_once(": ")
        .unwrap_or((rest.trim_end_matches(':'), ""));
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let first_message = lines
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with(char::is_whitespace))
        .unwrap_or_default();
    Some((
        Some(name.to_owned()),
        join(name, what.trim(), first_message),
    ))
}

/// appbase's `to_string()`: `"<what>:<message><message>…"` in `message`, and the exception
/// (`code`, `name`, `message` = what, `stack`) in `data` (steemit/steem,
/// libraries/plugins/json_rpc/json_rpc_plugin.cpp and libraries/fc/src/exception.cpp).
fn appbase_string(message: &str, data: Option<&Value>) -> Option<(Option<String>, String)> {
    let data = data?;
    let name = data.get("name")?.as_str()?;
    let what = data.get("message").and_then(Value::as_str).unwrap_or("");
    let first = first_line(message);
    let text = match first.strip_prefix(what).and_then(|r| r.strip_prefix(':')) {
        Some(rest) if !what.is_empty() => join(name, what, rest.trim()),
        _ if first.is_empty() => what.to_owned(),
        _ => first.to_owned(),
    };
    Some((Some(name.to_owned()), text))
}

/// Any other error (jussi, a lock timeout, a bare message): its first non-empty line; a string
/// `data` (appbase's `e.what()` of a std::exception) when the message is generic.
fn plain(message: &str, data: Option<&Value>) -> String {
    let first = first_line(message);
    match data.and_then(Value::as_str) {
        Some(data) if is_generic(first) && !data.trim().is_empty() => {
            format!("{first}: {}", first_line(data))
        }
        _ => first.to_owned(),
    }
}

/// fc's `what` and first log message as one text: the message alone when `what` is generic (and
/// for an assertion without its C++ expression), else `what:message` as fc's `to_string()` joins
/// them.
fn join(name: &str, what: &str, message: &str) -> String {
    // fc formats like "${what}: " leave a dangling colon.
    let message = message.trim().trim_end_matches(':').trim_end();
    let message = if name == "assert_exception" || what.eq_ignore_ascii_case("assert exception") {
        strip_assertion(message)
    } else {
        message
    };
    match (is_generic(what), message.is_empty()) {
        (_, true) => what.to_owned(),
        (true, false) => message.to_owned(),
        (false, false) if message == what => what.to_owned(),
        (false, false) => format!("{what}:{message}"),
    }
}

/// `FC_ASSERT(TEST, msg)` formats as `"#TEST: msg"` (steemit/steem,
/// libraries/fc/include/fc/exception/exception.hpp): drops `TEST` up to the first `": "`
/// outside brackets, unless nothing follows it.
fn strip_assertion(line: &str) -> &str {
    let mut depth = 0i32;
    for (i, c) in line.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ':' if depth <= 0 && line[i + 1..].starts_with(' ') => {
                let rest = line[i + 2..].trim();
                return if rest.is_empty() { line } else { rest };
            }
            _ => {}
        }
    }
    line
}

fn is_generic(what: &str) -> bool {
    let what = what.trim();
    what.is_empty() || GENERIC_WHATS.iter().any(|g| what.eq_ignore_ascii_case(g))
}

fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

/// Every run of whitespace (line breaks included) as one space: what a status row or a log line
/// can hold.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn classify_prefers_names_over_codes() {
        let text = "3010000 tx_missing_active_auth: missing required active authority\n\
                    Missing Active Authority vit-test-witness";
        assert_eq!(NodeError::classify(text), NodeError::MissingAuthority);
        assert_eq!(
            NodeError::classify(
                "10 assert_exception: Assert Exception\nDuplicate transaction check failed"
            ),
            NodeError::DuplicateTransaction
        );
        assert_eq!(
            NodeError::classify("Unnecessary signature(s) detected"),
            NodeError::IrrelevantSignature
        );
    }

    #[test]
    fn unknown_text_is_kept_in_one_line_truncated_on_a_char_boundary() {
        let long = format!("{}\n    {{}}\n", "é".repeat(MAX_ERROR_TEXT));
        match NodeError::classify(&long) {
            NodeError::Other { text } => {
                assert!(text.len() <= MAX_ERROR_TEXT + '…'.len_utf8());
                assert!(text.ends_with('…'));
                assert!(!text.contains('\n'));
            }
            other => panic!("expected Other, got {other:?}"),
        }
    }

    #[test]
    fn protocol_codes_decide_before_text() {
        for code in [1000, 1050, 1100, -32603] {
            assert_eq!(
                disposition(code, "Request Timeout"),
                Disposition::Transient,
                "{code}"
            );
        }
        for code in [-32601, 1200, 1300] {
            assert_eq!(
                disposition(code, "whatever"),
                Disposition::MethodNotFound,
                "{code}"
            );
        }
        // -32003 is a lock timeout only by its text; otherwise the call's own assertion.
        assert_eq!(
            disposition(-32003, "Unable to acquire database lock"),
            Disposition::Transient
        );
        assert_eq!(
            disposition(-32003, "assert_exception: Expected #s argument(s), was 0"),
            Disposition::Final
        );
        // Code 1 is 0.19's code for everything: the text decides.
        assert_eq!(
            disposition(
                1,
                "assert_exception: no method with name 'condenser_api.get_config'"
            ),
            Disposition::MethodNotFound
        );
        assert_eq!(
            disposition(-32002, "assert_exception: Could not find API database_api"),
            Disposition::MethodNotFound
        );
    }

    #[test]
    fn summary_of_a_019_detail_string_names_the_exception_and_the_cause() {
        let assert = "10 assert_exception: Assert Exception\n\
            (skip & skip_transaction_dupe_check) || trx_idx.indices().get<by_trx_id>().find(trx_id) == trx_idx.indices().get<by_trx_id>().end(): Duplicate transaction check failed\n    \
            {\"trx_ix\":\"00f9\"}\n    th_a  database.cpp:2546 _apply_transaction\n\n    \
            {\"call.method\":\"call\"}\n    th_a  websocket_api.cpp:124 on_message";
        assert_eq!(
            summarize(assert, None),
            "assert_exception: Duplicate transaction check failed"
        );
        let auth = "3010000 tx_missing_active_auth: missing required active authority\n\
            Missing Active Authority alice\n    {\"id\":\"alice\"}\n    th_a  transaction.cpp:170 verify_authority";
        assert_eq!(
            summarize(auth, None),
            "tx_missing_active_auth: missing required active authority:Missing Active Authority alice"
        );
        // No log message: the `what` is all there is.
        let expired = "4030100 transaction_expiration_exception: transaction expiration exception\n\n    {}\n    th_a  database.cpp:2599 _apply_transaction";
        assert_eq!(
            summarize(expired, None),
            "transaction_expiration_exception: transaction expiration exception"
        );
        // An assertion without a message keeps its expression.
        assert_eq!(
            summarize(
                "10 assert_exception: Assert Exception\nargs.size() == 3: \n    {}",
                None
            ),
            "assert_exception: args.size() == 3"
        );
    }

    #[test]
    fn summary_of_an_appbase_error_reads_the_name_from_data() {
        let data = json!({"code": 10, "name": "assert_exception", "message": "Assert Exception", "stack": []});
        assert_eq!(
            summarize(
                "Assert Exception:method_itr != api_itr->second.end(): Could not find method get_config",
                Some(&data)
            ),
            "assert_exception: Could not find method get_config"
        );
        let data = json!({"code": 3010000, "name": "tx_missing_active_auth", "message": "missing required active authority"});
        assert_eq!(
            summarize(
                "missing required active authority:Missing Active Authority alice",
                Some(&data)
            ),
            "tx_missing_active_auth: missing required active authority:Missing Active Authority alice"
        );
    }

    #[test]
    fn summary_drops_a_message_that_repeats_what() {
        // hived 1.25, as recorded: format "${what}: " with what = "unknown key".
        let name =
            "N5boost16exception_detail10clone_implINS0_19error_info_injectorISt12out_of_rangeEEEE";
        let data = json!({"code": 13, "name": name, "message": "unknown key"});
        assert_eq!(
            summarize("unknown key:unknown key: ", Some(&data)),
            format!("{name}: unknown key")
        );
    }

    #[test]
    fn summary_of_jussi_and_lock_errors_is_their_message() {
        let data = json!({"error_id": "e1d2", "jussi_request_id": "123"});
        assert_eq!(summarize("Request Timeout", Some(&data)), "Request Timeout");
        assert_eq!(
            summarize("Unable to acquire database lock", None),
            "Unable to acquire database lock"
        );
        assert_eq!(
            summarize(
                "Unknown error - parsing rpc message failed",
                Some(&json!("bad_alloc"))
            ),
            "Unknown error - parsing rpc message failed"
        );
        assert_eq!(
            summarize("Internal Error", Some(&json!("boom\nx"))),
            "Internal Error: boom"
        );
        assert_eq!(summarize(" \n ", None), "(no error text)");
    }
}
