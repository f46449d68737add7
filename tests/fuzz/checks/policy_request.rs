//! `policy_request`: `vwf_signer::policy::Intent::parse` (the shape check of every request)
//! on arbitrary strings.
//!
//! Input layout: one flag byte, then the fields separated by `\n` in this order: request_id,
//! account, target, expected_current, reason. The reason is the rest of the input, so it may
//! hold newlines. Flag bits: 0-1 the target (0 missing, 1 null marker, else key text), 2
//! `id_required`, 3 the `STM` prefix instead of `VIT`.

use vwf_signer::policy::{Intent, MAX_REASON_BYTES, MAX_REQUEST_ID_LEN, RawTarget, Target};

/// Parses one request; must not panic, and what it accepts must meet the documented limits.
pub(crate) fn check(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let mut fields = rest.splitn(5, '\n');
    let mut next = || fields.next().unwrap_or_default();
    let (request_id, account, target_text, expected, reason) =
        (next(), next(), next(), next(), next());
    let target = match flags & 3 {
        0 => None,
        1 => Some(RawTarget::Null),
        _ => Some(RawTarget::Key(target_text)),
    };
    let id_required = flags & 4 != 0;
    let prefix = if flags & 8 != 0 { "STM" } else { "VIT" };
    let Ok(intent) = Intent::parse(
        request_id,
        account,
        target,
        expected,
        reason,
        prefix,
        id_required,
    ) else {
        return;
    };
    assert!(intent.request_id.len() <= MAX_REQUEST_ID_LEN);
    assert!(!id_required || !intent.request_id.is_empty());
    assert!(intent.reason.len() <= MAX_REASON_BYTES);
    assert!(
        !intent.reason.chars().any(|c| c.is_ascii_control()),
        "control character in reason"
    );
    assert_eq!(intent.describe(&intent.expected_current), expected);
    match intent.target {
        Target::Key(key) => {
            assert!(!key.is_null());
            assert_eq!(intent.describe(&key), intent.target_text);
        }
        Target::Null => assert!(intent.target.key().is_null()),
    }
}
