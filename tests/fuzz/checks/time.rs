//! `time`: [`TimePointSec::parse`] on arbitrary text.

use vwf_shared::TimePointSec;

/// Parses `data` as `YYYY-MM-DDTHH:MM:SS`. The form is strict (fc's), so whatever parses must
/// print back as the same text, and adding seconds must not panic.
pub(crate) fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(time) = TimePointSec::parse(text) else {
        return;
    };
    // Regression: `+1970-04-01T00:00:00` was accepted (regressions/time/plus-sign-year).
    assert_eq!(
        time.to_string(),
        text,
        "strict parse accepted a non-canonical form"
    );
    let _ = time.checked_add(u32::MAX);
    let _ = time.checked_add(3600);
}
