//! [`NodeError`]: why a node refused a call, read from fc's exception name or phrase.
//!
//! Never from the code: 0.19 returns `code: 1` for every exception, appbase uses -32000/-32003
//! and puts the fc exception in `data` (SPEC §7.1). Names and phrases come from SPEC §4.6.

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
    /// Anything else; the node's text, truncated to [`MAX_ERROR_TEXT`] bytes.
    #[error("{text}")]
    Other {
        /// The node's message (and data), truncated.
        text: String,
    },
}

/// Exception names and phrases, checked in order against the node's text (lower-cased).
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

impl NodeError {
    /// Classifies a node's error text (its `message`, plus `data` on appbase).
    pub fn classify(text: &str) -> NodeError {
        let lower = text.to_lowercase();
        PATTERNS
            .iter()
            .find(|(pattern, _)| lower.contains(pattern))
            .map(|(_, kind)| kind.clone())
            .unwrap_or_else(|| NodeError::Other {
                text: truncate(text, MAX_ERROR_TEXT),
            })
    }
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
    fn unknown_text_is_kept_truncated_on_a_char_boundary() {
        let long = "é".repeat(MAX_ERROR_TEXT);
        match NodeError::classify(&long) {
            NodeError::Other { text } => {
                assert!(text.len() <= MAX_ERROR_TEXT + '…'.len_utf8());
                assert!(text.ends_with('…'));
            }
            other => panic!("expected Other, got {other:?}"),
        }
    }
}
