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
        vwf_shared::names::check_no_control_characters(reason)
            .map_err(|e| invalid(format!("reason: {e}")))?;
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
