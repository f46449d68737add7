//! Account names and witness urls (SPEC §6.3, §8), and positions in input text.

use crate::error::Error;

/// Longest witness url the chain accepts, in bytes (`STEEMIT_MAX_WITNESS_URL_LENGTH`).
pub const MAX_WITNESS_URL_LENGTH: usize = 2048;

/// Refuses control characters (U+0000–U+001F, U+007F): fc's JSON parser does not decode `\b`,
/// `\f` or `\uXXXX`, so such a string would reach the node changed and the signature would fail.
pub fn check_no_control_characters(text: &str) -> Result<(), Error> {
    match text.chars().find(|c| c.is_ascii_control()) {
        Some(c) => Err(Error::ControlCharacter { code: u32::from(c) }),
        None => Ok(()),
    }
}

/// Checks a Steem-family account name: 3–16 bytes of dot-separated labels, each at least 3
/// long, starting with a-z, ending with a-z or 0-9, with a-z, 0-9 or `-` between
/// (steemd `is_valid_account_name`).
pub fn check_account_name(name: &str) -> Result<(), Error> {
    let refuse = |reason| Error::AccountName {
        name: name.to_owned(),
        reason,
    };
    if name.len() < 3 {
        return Err(refuse("shorter than 3 characters"));
    }
    if name.len() > 16 {
        return Err(refuse("longer than 16 characters"));
    }
    for label in name.split('.') {
        let bytes = label.as_bytes();
        let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
            return Err(refuse("empty label between dots"));
        };
        if bytes.len() < 3 {
            return Err(refuse(
                "each dot-separated part needs at least 3 characters",
            ));
        }
        if !first.is_ascii_lowercase() {
            return Err(refuse("each part must start with a lowercase letter"));
        }
        if !(last.is_ascii_lowercase() || last.is_ascii_digit()) {
            return Err(refuse(
                "each part must end with a lowercase letter or digit",
            ));
        }
        let middle_ok = bytes[1..bytes.len() - 1]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if !middle_ok {
            return Err(refuse(
                "only lowercase letters, digits, '-' and '.' are allowed",
            ));
        }
    }
    Ok(())
}

/// Checks a witness url: non-empty, at most 2048 bytes, no control characters.
pub fn check_witness_url(url: &str) -> Result<(), Error> {
    if url.is_empty() {
        return Err(Error::Url {
            reason: "must not be empty (the chain rejects an empty witness url)".into(),
        });
    }
    if url.len() > MAX_WITNESS_URL_LENGTH {
        return Err(Error::Url {
            reason: format!(
                "{} bytes is longer than the chain's limit of {MAX_WITNESS_URL_LENGTH}",
                url.len()
            ),
        });
    }
    check_no_control_characters(url)
}

/// "line L, column C: message" for a byte offset into `text` (config parse errors on one line).
pub fn at_offset(text: &str, offset: usize, message: &str) -> String {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("line {line}, column {column}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_names() {
        for name in [
            "abc",
            "vit-test-witness",
            "a12",
            "foo.bar",
            "abc.def.ghi",
            "a-b-c",
            "abcdefghijklmnop",
        ] {
            assert!(check_account_name(name).is_ok(), "{name} refused");
        }
    }

    #[test]
    fn refuses_invalid_names() {
        for name in [
            "",
            "ab",
            "abcdefghijklmnopq",
            "Abc",
            "1abc",
            "abc-",
            "ab.cde",
            "abc..def",
            ".abc",
            "abc.",
            "ab_c",
            "abc def",
            "abç",
            "-abc",
        ] {
            assert!(check_account_name(name).is_err(), "{name} accepted");
        }
    }

    #[test]
    fn offsets_become_line_and_column() {
        let text = "a = 1\nbb = x\n";
        assert_eq!(
            at_offset(text, 11, "bad\nvalue"),
            "line 2, column 6: bad value"
        );
        assert_eq!(at_offset(text, 0, "m"), "line 1, column 1: m");
        assert_eq!(at_offset(text, 999, "m"), "line 3, column 1: m");
    }

    #[test]
    fn url_rules() {
        assert!(check_witness_url("No website yet").is_ok());
        assert!(check_witness_url("https://example.com/café").is_ok());
        assert!(check_witness_url("").is_err());
        assert!(check_witness_url("a\u{8}b").is_err());
        assert!(check_witness_url("a\u{7f}b").is_err());
        assert!(check_witness_url(&"a".repeat(2048)).is_ok());
        assert!(check_witness_url(&"a".repeat(2049)).is_err());
    }

    proptest! {
        #[test]
        fn checks_never_panic(text in ".{0,40}") {
            let _ = check_account_name(&text);
            let _ = check_witness_url(&text);
        }
    }
}

/// Checks a node URL: `https://`, or plain `http://` only to a loopback host (127.0.0.0/8,
/// `::1`, `localhost`) unless `allow_plain_http` says the operator accepts that anyone on the
/// path can answer for the node. The error says which and how to fix it.
pub fn check_node_url(url: &str, allow_plain_http: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_plain_http || is_loopback_host(&parsed) => Ok(()),
        "http" => Err(format!(
            "{url:?} is plain http to a host that is not loopback: anyone on the path could answer \
             for the node; use https://, or set allow_plain_http = true if the path is trusted"
        )),
        other => Err(format!(
            "{url:?}: scheme {other:?} is not supported; use https:// (or http:// to loopback)"
        )),
    }
}

/// A node URL without user name or password, for logs, audit lines and messages.
pub fn redact_node_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "(unparsable url)".into(),
    }
}

/// What makes two node URLs the same node: scheme, host, port and path, case-folded, without
/// credentials or a trailing slash.
pub fn node_identity(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}:{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default().to_ascii_lowercase(),
            parsed.port_or_known_default().unwrap_or_default(),
            parsed.path().trim_end_matches('/')
        ),
        Err(_) => url.to_owned(),
    }
}

fn is_loopback_host(url: &reqwest::Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

#[cfg(test)]
mod node_url_tests {
    use super::check_node_url;

    #[test]
    fn plain_http_is_refused_except_to_loopback_or_when_allowed() {
        for ok in [
            "https://api.steemit.com",
            "http://127.0.0.1:8090",
            "http://127.8.9.1",
            "http://[::1]:8090",
            "http://localhost:8090",
        ] {
            assert_eq!(check_node_url(ok, false), Ok(()), "{ok}");
        }
        for bad in [
            "http://peer.vit.tube",
            "http://10.0.0.5:8090",
            "ftp://x",
            "nonsense",
            "http://localhost.evil.example",
        ] {
            assert!(check_node_url(bad, false).is_err(), "{bad}");
        }
        assert_eq!(check_node_url("http://10.0.0.5:8090", true), Ok(()));
        assert_eq!(
            super::node_identity("https://API.example.org:443/"),
            super::node_identity("https://user:pw@api.example.org")
        );
        assert_ne!(
            super::node_identity("https://api.example.org"),
            super::node_identity("https://api.example.org:8443")
        );
        assert_eq!(
            super::redact_node_url("https://user:secret@api.example.org/rpc"),
            "https://api.example.org/rpc"
        );
        let why = check_node_url("http://peer.vit.tube", false)
            .err()
            .unwrap_or_default();
        assert!(why.contains("allow_plain_http"), "{why}");
    }
}
