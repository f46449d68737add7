//! `time_point_sec`: seconds since the Unix epoch as u32, written in JSON as
//! `YYYY-MM-DDTHH:MM:SS` (UTC, no zone suffix, no fraction; SPEC §5).

use std::fmt;

use time::OffsetDateTime;
use time::PrimitiveDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::error::Error;

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// A chain time: whole seconds since 1970-01-01T00:00:00 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimePointSec(pub u32);

impl TimePointSec {
    /// Parses fc's JSON form strictly: `YYYY-MM-DDTHH:MM:SS`, nothing before or after.
    ///
    /// steemd's own `get_dynamic_global_properties.time` has this form; a trailing `Z` or a
    /// fraction is refused so that the JSON we send back is byte-for-byte what fc writes.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let refuse = || Error::Time {
            value: value.to_owned(),
        };
        // The exact shape first: the `time` crate alone would also take a signed year ("+2024").
        if !has_fc_shape(value) {
            return Err(refuse());
        }
        let parsed = PrimitiveDateTime::parse(value, FORMAT).map_err(|_| refuse())?;
        let seconds = parsed.assume_utc().unix_timestamp();
        u32::try_from(seconds)
            .map(TimePointSec)
            .map_err(|_| refuse())
    }

    /// This time plus `seconds`, or `None` past 2106-02-07T06:28:15.
    pub fn checked_add(self, seconds: u32) -> Option<Self> {
        self.0.checked_add(seconds).map(TimePointSec)
    }
}

/// `DDDD-DD-DDTDD:DD:DD` with ASCII digits, nothing else.
fn has_fc_shape(value: &str) -> bool {
    value.len() == 19
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        })
}

impl fmt::Display for TimePointSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every u32 is a valid Unix time and formats with a 4-digit year, so neither step fails;
        // the fallback keeps this total anyway.
        match OffsetDateTime::from_unix_timestamp(i64::from(self.0)).map(|t| t.format(FORMAT)) {
            Ok(Ok(text)) => f.write_str(&text),
            _ => write!(f, "@{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_spec_example() {
        let t = TimePointSec::parse("2024-01-01T00:01:00").ok();
        assert_eq!(t, Some(TimePointSec(1_704_067_260)));
    }

    #[test]
    fn refuses_zone_fraction_and_out_of_range() {
        for bad in [
            "2024-01-01T00:01:00Z",
            "2024-01-01T00:01:00.000",
            "2024-01-01 00:01:00",
            "+2024-01-01T00:01:00",
            "+1970-04-01T00:00:00",
            "2024-1-01T00:01:00",
            "２024-01-01T00:01:00",
            "1969-12-31T23:59:59",
            "2106-02-07T06:28:16",
            "2024-02-30T00:00:00",
            "",
        ] {
            assert!(TimePointSec::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            TimePointSec::parse("2106-02-07T06:28:15").ok(),
            Some(TimePointSec(u32::MAX))
        );
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(seconds: u32) {
            let text = TimePointSec(seconds).to_string();
            prop_assert_eq!(TimePointSec::parse(&text).ok(), Some(TimePointSec(seconds)));
        }

        #[test]
        fn parse_never_panics(text in ".{0,40}") {
            let _ = TimePointSec::parse(&text);
        }
    }
}
