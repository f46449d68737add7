//! A request checked for shape: the parsed form every policy decision works on.

use vwf_shared::PublicKey;

use super::{Refusal, Rule};

/// Longest free-text reason accepted, in bytes.
pub const MAX_REASON_BYTES: usize = 512;

/// Longest request id accepted.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The key a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A real key.
    Key(PublicKey),
    /// The chain's null key (disable).
    Null,
}

impl Target {
    /// The key this target sets on chain.
    pub fn key(&self) -> PublicKey {
        match self {
            Target::Key(key) => *key,
            Target::Null => PublicKey::NULL,
        }
    }
}

/// A parsed, shape-checked request to set a signing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// Client-chosen id (empty only for audits).
    pub request_id: String,
    /// The witness account.
    pub account: String,
    /// The key to set.
    pub target: Target,
    /// The target as the client wrote it (for messages).
    pub target_text: String,
    /// The key the client believes is on chain now.
    pub expected_current: PublicKey,
    /// That key as the client wrote it (for messages).
    pub expected_text: String,
    /// Free-text reason for the audit log.
    pub reason: String,
    /// The profile's key prefix, to print keys.
    prefix: String,
}

/// How the target arrived on the wire.
#[derive(Clone, Copy, Debug)]
pub enum RawTarget<'a> {
    /// A prefixed public key string.
    Key(&'a str),
    /// The null-key marker.
    Null,
}

impl Intent {
    /// Checks the shape of a request. `request_id` may be empty only when `id_required` is false
    /// (dry-run audits record no id).
    pub fn parse(
        request_id: &str,
        account: &str,
        target: Option<RawTarget<'_>>,
        expected_current: &str,
        reason: &str,
        prefix: &str,
        id_required: bool,
    ) -> Result<Intent, Refusal> {
        let invalid = |reason: String| Refusal {
            rule: Rule::InvalidRequest,
            reason,
        };
        // Every client-supplied text, before anything parses or echoes it: no control, line or
        // paragraph separator or bidi control character reaches a message or the audit log.
        let target_text = match target {
            Some(RawTarget::Key(text)) => text,
            _ => "",
        };
        for (field, text) in [
            ("request_id", request_id),
            ("account", account),
            ("target", target_text),
            ("expected_current_key", expected_current),
            ("reason", reason),
        ] {
            crate::input::check_client_text(field, text).map_err(invalid)?;
        }
        if (id_required || !request_id.is_empty()) && !valid_request_id(request_id) {
            return Err(invalid(format!(
                "request_id must be 1 to {MAX_REQUEST_ID_LEN} characters of A-Z a-z 0-9 . _ : -"
            )));
        }
        vwf_shared::names::check_account_name(account).map_err(|e| invalid(e.to_string()))?;
        let (target, target_text) = match target {
            None => return Err(invalid("target is missing".into())),
            Some(RawTarget::Null) => (Target::Null, PublicKey::NULL.to_string_with_prefix(prefix)),
            Some(RawTarget::Key(text)) => {
                let key =
                    PublicKey::parse(text, prefix).map_err(|e| invalid(format!("target: {e}")))?;
                let target = if key.is_null() {
                    Target::Null
                } else {
                    Target::Key(key)
                };
                (target, text.to_owned())
            }
        };
        let expected = PublicKey::parse(expected_current, prefix)
            .map_err(|e| invalid(format!("expected_current_key: {e}")))?;
        if reason.len() > MAX_REASON_BYTES {
            return Err(invalid(format!(
                "reason is longer than {MAX_REASON_BYTES} bytes"
            )));
        }
        Ok(Intent {
            request_id: request_id.to_owned(),
            account: account.to_owned(),
            target,
            target_text,
            expected_current: expected,
            expected_text: expected_current.to_owned(),
            reason: reason.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// A key as a prefixed string.
    pub fn describe(&self, key: &PublicKey) -> String {
        key.to_string_with_prefix(&self.prefix)
    }
}

fn valid_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod unicode_tests {
    use super::*;

    /// Test key 1 (VIT).
    const KEY: &str = "VIT6oVDUdExrjjMXiST3eoX5ciTGNoG4786CdzWx3aT6xxseuTQZN";

    fn parse(id: &str, account: &str, target: &str, expected: &str, reason: &str) -> String {
        Intent::parse(
            id,
            account,
            Some(RawTarget::Key(target)),
            expected,
            reason,
            "VIT",
            true,
        )
        .err()
        .map(|refusal| format!("{}: {}", refusal.rule.as_str(), refusal.reason))
        .unwrap_or_default()
    }

    #[test]
    fn every_client_text_field_refuses_separators_and_bidi_controls() {
        for bad in [
            '\u{85}', '\u{2028}', '\u{2029}', '\u{202e}', '\u{2066}', '\u{200f}',
        ] {
            let text = format!("x{bad}y");
            let code = format!("U+{:04X}", u32::from(bad));
            for (field, message) in [
                (
                    "reason",
                    parse("req-1", "vit-test-witness", KEY, KEY, &text),
                ),
                ("request_id", parse(&text, "vit-test-witness", KEY, KEY, "")),
                ("account", parse("req-1", &text, KEY, KEY, "")),
                ("target", parse("req-1", "vit-test-witness", &text, KEY, "")),
                (
                    "expected_current_key",
                    parse("req-1", "vit-test-witness", KEY, &text, ""),
                ),
            ] {
                assert!(
                    message.starts_with(&format!("invalid-request: {field} contains {code}")),
                    "{field} {code}: {message:?}"
                );
            }
        }
    }

    #[test]
    fn a_reason_in_any_script_is_accepted() {
        let intent = Intent::parse(
            "req-1",
            "vit-test-witness",
            Some(RawTarget::Null),
            KEY,
            "Ausfall: Knoten überlastet — 主节点离线",
            "VIT",
            true,
        );
        assert!(intent.is_ok(), "{intent:?}");
    }
}
