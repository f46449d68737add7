//! `rpc_responses`, public half: [`NodeError::classify`] on arbitrary text.

use vwf_shared::rpc::{MAX_ERROR_TEXT, NodeError};

/// Classifies `data` as a node's error text. Unknown text is kept as one line (what a person
/// reads), cut to at most [`MAX_ERROR_TEXT`] bytes plus the `…` marker.
pub(crate) fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let NodeError::Other { text: kept } = NodeError::classify(&text) {
        assert!(
            kept.len() <= MAX_ERROR_TEXT + '…'.len_utf8(),
            "kept {} bytes",
            kept.len()
        );
        assert!(!kept.contains('\n'), "kept text spans several lines");
    }
}
