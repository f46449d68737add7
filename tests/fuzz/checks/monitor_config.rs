//! `monitor_config`: the monitor's TOML through `vwf_monitor::config::parse`, its pure entry
//! point (`load` only adds the file read).
//!
//! The checks stat (never open or write) the TLS files the config names; relative paths are
//! resolved against a directory that does not exist, so they only ever find nothing.

use std::path::Path;

/// Parses and checks `data` as the monitor's config; must not panic.
pub(crate) fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/nonexistent-vwf-fuzz/monitor.toml");
    if let Err(e) = vwf_monitor::config::parse(path, text) {
        let _ = e.to_string();
    }
}
