//! When the certificates of the signer link expire: [`CertValidity::read`] takes the validity
//! window from a PEM file, [`CertValidity::classify`] says how it stands at a given time, and
//! [`CertValidity::describe`] says it on one line for logs, alerts, `check-config` and
//! `status`.
//!
//! An expired client certificate (or CA certificate) is found by nobody until the signer
//! refuses the handshake, which may be during an incident; so the monitor reads both at start
//! and warns well before that.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::format_description;
use x509_parser::pem::Pem;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Which certificate of `[signer]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertRole {
    /// `client_cert`: this monitor's identity; the signer refuses it once expired.
    Client,
    /// `ca`: the CA the signer's certificate must chain to; nothing verifies once expired.
    Ca,
}

impl CertRole {
    /// `client certificate` / `CA certificate`.
    pub fn noun(self) -> &'static str {
        match self {
            CertRole::Client => "client certificate",
            CertRole::Ca => "CA certificate",
        }
    }

    /// The `[signer]` field naming the file.
    pub fn field(self) -> &'static str {
        match self {
            CertRole::Client => "signer.client_cert",
            CertRole::Ca => "signer.ca",
        }
    }
}

/// A certificate file could not be read or holds no certificate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot tell when the {} {} expires: {message}", role.noun(), path.display())]
pub struct CertReadError {
    /// Which certificate.
    pub role: CertRole,
    /// The file.
    pub path: PathBuf,
    /// What failed.
    pub message: String,
}

/// The validity window of one certificate file. With several certificates in the file (a
/// chain, or several CAs), the window is the narrowest: the link fails when the first expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertValidity {
    /// Which certificate.
    pub role: CertRole,
    /// The file it was read from.
    pub path: PathBuf,
    /// The subject of the certificate that expires first, e.g. `CN=spiffe://vwf/monitor`.
    pub subject: String,
    /// Latest `notBefore`, Unix seconds.
    pub not_before: i64,
    /// Earliest `notAfter`, Unix seconds.
    pub not_after: i64,
}

/// How a certificate stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Valid, and for longer than the warning threshold.
    Valid {
        /// Seconds left.
        left: i64,
    },
    /// Valid, but it expires within the warning threshold.
    Soon {
        /// Seconds left.
        left: i64,
    },
    /// Expired this many seconds ago.
    Expired {
        /// Seconds since `notAfter`.
        ago: i64,
    },
    /// Not valid for another this many seconds (a clock is wrong, or it was issued ahead).
    NotYetValid {
        /// Seconds until `notBefore`.
        wait: i64,
    },
}

impl Expiry {
    /// Whether it needs someone's attention (soon, expired or not yet valid).
    pub fn is_trouble(self) -> bool {
        !matches!(self, Expiry::Valid { .. })
    }

    /// Whether the link cannot work with it now (expired or not yet valid).
    pub fn is_unusable(self) -> bool {
        matches!(self, Expiry::Expired { .. } | Expiry::NotYetValid { .. })
    }
}

impl CertValidity {
    /// Reads `path` (PEM, one or more `CERTIFICATE` blocks).
    pub fn read(role: CertRole, path: &Path) -> Result<Self, CertReadError> {
        let error = |message: String| CertReadError {
            role,
            path: path.to_owned(),
            message,
        };
        let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
        Self::from_pem(role, path, &pem).map_err(error)
    }

    /// The validity of the certificates in `pem`; `path` only names them.
    pub fn from_pem(role: CertRole, path: &Path, pem: &[u8]) -> Result<Self, String> {
        let mut found: Option<CertValidity> = None;
        for block in Pem::iter_from_buffer(pem) {
            let block = block.map_err(|e| format!("not a PEM file: {e}"))?;
            if block.label != "CERTIFICATE" {
                continue;
            }
            let cert = block
                .parse_x509()
                .map_err(|e| format!("not an X.509 certificate: {e}"))?;
            let validity = cert.validity();
            let (not_before, not_after) = (
                validity.not_before.timestamp(),
                validity.not_after.timestamp(),
            );
            let subject = cert.subject().to_string();
            found = Some(match found {
                None => CertValidity {
                    role,
                    path: path.to_owned(),
                    subject,
                    not_before,
                    not_after,
                },
                Some(mut seen) => {
                    seen.not_before = seen.not_before.max(not_before);
                    if not_after < seen.not_after {
                        seen.not_after = not_after;
                        seen.subject = subject;
                    }
                    seen
                }
            });
        }
        found.ok_or_else(|| "no CERTIFICATE block in the file".to_owned())
    }

    /// How it stands at `now` (Unix seconds), warning `warn_before` its end.
    pub fn classify(&self, now: i64, warn_before: Duration) -> Expiry {
        let warn = i64::try_from(warn_before.as_secs()).unwrap_or(i64::MAX);
        let left = self.not_after.saturating_sub(now);
        if now < self.not_before {
            Expiry::NotYetValid {
                wait: self.not_before.saturating_sub(now),
            }
        } else if left <= 0 {
            Expiry::Expired { ago: -left }
        } else if left <= warn {
            Expiry::Soon { left }
        } else {
            Expiry::Valid { left }
        }
    }

    /// Whole days left at `now` (negative once expired), for `status` and metrics.
    pub fn days_left(&self, now: i64) -> i64 {
        self.not_after.saturating_sub(now).div_euclid(DAY)
    }

    /// One line: what, which file, until when, and the fix when it needs one.
    pub fn describe(&self, expiry: Expiry) -> String {
        let what = format!("the {} {}", self.role.noun(), self.path.display());
        let until = utc(self.not_after);
        match expiry {
            Expiry::Valid { left } => {
                format!("{what} is valid until {until} ({} left)", span(left))
            }
            Expiry::Soon { left } => {
                format!("{what} expires in {} ({until}): {}", span(left), self.fix())
            }
            Expiry::Expired { ago } => format!(
                "{what} expired {} ago ({until}): the signer refuses this monitor and a \
                 failover fails until it is replaced; {}",
                span(ago),
                self.fix()
            ),
            Expiry::NotYetValid { wait } => format!(
                "{what} is not valid before {} (in {}): check the clocks of this host and of \
                 the host that issued it",
                utc(self.not_before),
                span(wait)
            ),
        }
    }

    /// A few words for alert titles: `the client certificate expires in 9 days`.
    pub fn headline(&self, expiry: Expiry) -> String {
        let noun = self.role.noun();
        match expiry {
            Expiry::Valid { left } => format!("the {noun} is valid for {}", span(left)),
            Expiry::Soon { left } => format!("the {noun} expires in {}", span(left)),
            Expiry::Expired { .. } => format!("the {noun} has expired"),
            Expiry::NotYetValid { .. } => format!("the {noun} is not valid yet"),
        }
    }

    /// The `status` line: days left, the end, the file, and a flag when it needs attention.
    pub fn status_line(&self, now: i64, warn_before: Duration) -> String {
        let flag = match self.classify(now, warn_before) {
            Expiry::Valid { .. } => String::new(),
            Expiry::Soon { .. } => format!(
                "; EXPIRES SOON (within the {}-day warning): renew it",
                warn_before.as_secs() / 86_400
            ),
            Expiry::Expired { .. } => "; EXPIRED: the signer refuses this monitor".to_owned(),
            Expiry::NotYetValid { .. } => {
                format!("; NOT VALID before {}", utc(self.not_before))
            }
        };
        format!(
            "{}: {} day(s) left, until {} ({}){flag}",
            self.role.noun(),
            self.days_left(now),
            utc(self.not_after),
            self.path.display()
        )
    }

    fn fix(&self) -> &'static str {
        match self.role {
            CertRole::Client => {
                "issue a new client certificate from the signer's CA (vwf-signer certs), \
                 install it as [signer] client_cert and client_key, and restart the monitor"
            }
            CertRole::Ca => {
                "issue a new CA and certificates (vwf-signer certs init), install them on both \
                 hosts, and restart the signer and the monitor"
            }
        }
    }
}

/// `12 days`, `1 day`, `5 hours`, `less than an hour`.
fn span(seconds: i64) -> String {
    let days = seconds / DAY;
    let hours = seconds / 3600;
    match (days, hours) {
        (1, _) => "1 day".to_owned(),
        (d, _) if d > 1 => format!("{d} days"),
        (_, 1) => "1 hour".to_owned(),
        (_, h) if h > 1 => format!("{h} hours"),
        _ => "less than an hour".to_owned(),
    }
}

/// `2026-05-01 12:00:00 UTC`, or the Unix seconds when out of range.
fn utc(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{unix} (Unix time)"))
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    /// A self-signed certificate valid from `from` to `until` days from now, as PEM.
    fn cert(from_days: i64, until_days: i64) -> String {
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::new(vec!["monitor.example".to_owned()])
            .unwrap_or_else(|e| panic!("params: {e}"));
        params.not_before = now + time::Duration::days(from_days);
        params.not_after = now + time::Duration::days(until_days);
        let key = KeyPair::generate().unwrap_or_else(|e| panic!("key: {e}"));
        params
            .self_signed(&key)
            .unwrap_or_else(|e| panic!("cert: {e}"))
            .pem()
    }

    fn validity(pem: &str) -> CertValidity {
        CertValidity::from_pem(
            CertRole::Client,
            Path::new("/etc/m/client.pem"),
            pem.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("read: {e}"))
    }

    const WARN: Duration = Duration::from_secs(30 * 86_400);

    fn now() -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn ten_days_left_is_soon_and_says_so() {
        let v = validity(&cert(-1, 10));
        let expiry = v.classify(now(), WARN);
        assert!(matches!(expiry, Expiry::Soon { .. }), "{expiry:?}");
        assert!(expiry.is_trouble() && !expiry.is_unusable());
        let line = v.describe(expiry);
        assert!(
            line.starts_with("the client certificate /etc/m/client.pem expires in 9 days (")
                || line
                    .starts_with("the client certificate /etc/m/client.pem expires in 10 days ("),
            "{line}"
        );
        assert!(line.contains("restart the monitor"), "{line}");
        assert!((9..=10).contains(&v.days_left(now())));
        let status = v.status_line(now(), WARN);
        assert!(
            status.starts_with("client certificate: 9 day(s) left, until ")
                || status.starts_with("client certificate: 10 day(s) left, until "),
            "{status}"
        );
        assert!(
            status.ends_with(
                "(/etc/m/client.pem); EXPIRES SOON (within the 30-day warning): renew it"
            ),
            "{status}"
        );
        assert!(
            v.headline(expiry)
                .starts_with("the client certificate expires in ")
        );
    }

    #[test]
    fn a_year_left_is_valid_and_a_smaller_threshold_moves_the_line() {
        let v = validity(&cert(-1, 365));
        assert!(matches!(v.classify(now(), WARN), Expiry::Valid { .. }));
        let line = v.describe(v.classify(now(), WARN));
        assert!(
            line.contains("is valid until") && line.contains(" days left)"),
            "{line}"
        );
        // A certificate with 10 days left is fine under a 7-day threshold.
        let soon = validity(&cert(-1, 10));
        let week = Duration::from_secs(7 * 86_400);
        assert!(matches!(soon.classify(now(), week), Expiry::Valid { .. }));
    }

    #[test]
    fn expired_and_not_yet_valid_are_unusable() {
        let old = validity(&cert(-30, -2));
        let expiry = old.classify(now(), WARN);
        assert!(matches!(expiry, Expiry::Expired { .. }), "{expiry:?}");
        assert!(expiry.is_unusable());
        let line = old.describe(expiry);
        assert!(line.contains("expired 2 days ago") || line.contains("expired 1 day ago"));
        assert!(old.days_left(now()) < 0);
        let early = validity(&cert(3, 30));
        let expiry = early.classify(now(), WARN);
        assert!(matches!(expiry, Expiry::NotYetValid { .. }), "{expiry:?}");
        assert!(early.describe(expiry).contains("check the clocks"));
    }

    #[test]
    fn the_first_certificate_to_expire_in_a_file_counts() {
        let pem = format!("{}{}", cert(-1, 365), cert(-1, 5));
        let v = validity(&pem);
        assert!(matches!(v.classify(now(), WARN), Expiry::Soon { .. }));
    }

    #[test]
    fn a_file_without_a_certificate_is_an_error() {
        for text in [
            "",
            "not pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let read = CertValidity::from_pem(CertRole::Ca, Path::new("ca.pem"), text.as_bytes());
            assert!(read.is_err(), "{text:?}");
        }
        let missing = CertValidity::read(CertRole::Ca, Path::new("/nonexistent/ca.pem"));
        let Err(e) = missing else {
            panic!("read a missing file");
        };
        assert!(
            e.to_string()
                .starts_with("cannot tell when the CA certificate /nonexistent/ca.pem expires"),
            "{e}"
        );
    }

    #[test]
    fn spans_read_plainly() {
        assert_eq!(span(3 * DAY + 5), "3 days");
        assert_eq!(span(DAY), "1 day");
        assert_eq!(span(5 * 3600), "5 hours");
        assert_eq!(span(59), "less than an hour");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
    }
}
