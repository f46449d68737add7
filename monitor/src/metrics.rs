//! Prometheus text metrics, served by axum at `/metrics` on the configured address.
//!
//! | metric | meaning |
//! |---|---|
//! | `vwf_total_missed` | the agreed `total_missed` of the witness |
//! | `vwf_active_server_index` | index of the server whose key is on chain; -1 null key, -2 unknown/not yet known |
//! | `vwf_poll_age_seconds` | seconds since the last agreed (quorum) reading; large = blind |
//! | `vwf_node_up{node}` | 1 if the node's last reading was fresh, else 0 |
//! | `vwf_actions_total{kind,outcome}` | signer calls by kind (`failover`, `kill_switch`, `dry_run`) and outcome |
//! | `vwf_active_node_failing_polls` | consecutive polls in which the active server's own node was stale (or unreachable, where that counts): the `[evidence]` count |
//! | `vwf_signer_link_up` | 1 if the last `Status` call that keeps the signer connection warm succeeded, else 0 |
//! | `vwf_signer_client_cert_expiry_seconds` | seconds until the client certificate expires (negative once expired) |
//! | `vwf_signer_ca_cert_expiry_seconds` | seconds until the CA certificate expires (negative once expired) |

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;

use crate::error::Error;
use crate::shutdown::Shutdown;

/// The values behind `/metrics`. A std mutex: held only to copy a few numbers, never across await.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    total_missed: Option<u32>,
    active_index: Option<i64>,
    last_agreed_ms: Option<u64>,
    nodes: Vec<(String, bool)>,
    active_node_failing_polls: Option<u32>,
    actions: BTreeMap<(String, String), u64>,
    signer_link_up: Option<bool>,
    client_cert_not_after: Option<i64>,
    ca_cert_not_after: Option<i64>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records an agreed reading.
    pub fn agreed(&self, total_missed: u32, active_index: i64, now_ms: u64) {
        self.with(|i| {
            i.total_missed = Some(total_missed);
            i.active_index = Some(active_index);
            i.last_agreed_ms = Some(now_ms);
        });
    }

    /// Records which nodes gave fresh readings.
    pub fn nodes(&self, up: Vec<(String, bool)>) {
        self.with(|i| i.nodes = up);
    }

    /// Records the `[evidence]` count of consecutive failing polls of the active server's node.
    pub fn active_node_failing_polls(&self, polls: u32) {
        self.with(|i| i.active_node_failing_polls = Some(polls));
    }

    /// Counts one signer call outcome.
    pub fn action(&self, kind: &str, outcome: &str) {
        self.with(|i| {
            *i.actions
                .entry((kind.to_owned(), outcome.to_owned()))
                .or_default() += 1
        });
    }

    /// Records whether the last `Status` call on the warm signer link succeeded.
    pub fn signer_link(&self, up: bool) {
        self.with(|i| i.signer_link_up = Some(up));
    }

    /// Records when the client and CA certificates expire (Unix seconds; `None` if unreadable).
    pub fn cert_expiry(&self, client_not_after: Option<i64>, ca_not_after: Option<i64>) {
        self.with(|i| {
            i.client_cert_not_after = client_not_after;
            i.ca_cert_not_after = ca_not_after;
        });
    }

    /// The Prometheus text exposition at local time `now_ms`.
    pub fn render(&self, now_ms: u64) -> String {
        self.with(|i| {
            let mut out = String::new();
            if let Some(t) = i.total_missed {
                gauge(&mut out, "vwf_total_missed", "Agreed total_missed of the witness.", t.to_string());
            }
            gauge(
                &mut out,
                "vwf_active_server_index",
                "Index of the server whose key is on chain; -1 null key, -2 unknown.",
                i.active_index.unwrap_or(-2).to_string(),
            );
            if let Some(at) = i.last_agreed_ms {
                let age = now_ms.saturating_sub(at) as f64 / 1000.0;
                gauge(&mut out, "vwf_poll_age_seconds", "Seconds since the last agreed reading.", format!("{age:.3}"));
            }
            let _ = writeln!(out, "# HELP vwf_node_up 1 if the node's last reading was fresh.\n# TYPE vwf_node_up gauge");
            for (node, up) in &i.nodes {
                let _ = writeln!(out, "vwf_node_up{{node=\"{}\"}} {}", escape(node), u8::from(*up));
            }
            if let Some(polls) = i.active_node_failing_polls {
                gauge(&mut out, "vwf_active_node_failing_polls", "Consecutive polls in which the active server's own node was stale (or unreachable, where that counts).", polls.to_string());
            }
            let _ = writeln!(out, "# HELP vwf_actions_total Signer calls by kind and outcome.\n# TYPE vwf_actions_total counter");
            for ((kind, outcome), n) in &i.actions {
                let _ = writeln!(out, "vwf_actions_total{{kind=\"{}\",outcome=\"{}\"}} {n}", escape(kind), escape(outcome));
            }
            if let Some(up) = i.signer_link_up {
                gauge(&mut out, "vwf_signer_link_up", "1 if the last Status call on the warm signer link succeeded.", u8::from(up).to_string());
            }
            // Computed at scrape time, so the value keeps counting down between daily checks.
            let now_s = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
            if let Some(at) = i.client_cert_not_after {
                gauge(&mut out, "vwf_signer_client_cert_expiry_seconds", "Seconds until the signer client certificate expires; negative once expired.", at.saturating_sub(now_s).to_string());
            }
            if let Some(at) = i.ca_cert_not_after {
                gauge(&mut out, "vwf_signer_ca_cert_expiry_seconds", "Seconds until the CA certificate of the signer link expires; negative once expired.", at.saturating_sub(now_s).to_string());
            }
            out
        })
    }
}

/// One gauge with its help and type lines.
fn gauge(out: &mut String, name: &str, help: &str, value: String) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Local time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Binds `addr` and serves `/metrics` until shutdown; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    mut shutdown: Shutdown,
) -> Result<SocketAddr, Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Metrics {
            addr: addr.to_string(),
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| Error::Metrics {
        addr: addr.to_string(),
        source,
    })?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move { m.render(now_ms()) }
        }),
    );
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.recv().await })
            .await;
        if let Err(e) = served {
            tracing::error!(cause = %e, "metrics server stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric() {
        let m = Metrics::default();
        m.agreed(12, 1, 1_000);
        m.nodes(vec![("http://a".into(), true), ("http://b".into(), false)]);
        m.action("failover", "applied");
        m.active_node_failing_polls(2);
        m.signer_link(false);
        m.cert_expiry(Some(10 * 86_400), Some(1));
        let text = m.render(3_500);
        assert!(text.contains("vwf_total_missed 12"));
        assert!(text.contains("vwf_active_server_index 1"));
        assert!(text.contains("vwf_poll_age_seconds 2.500"));
        assert!(text.contains("vwf_node_up{node=\"http://b\"} 0"));
        assert!(text.contains("vwf_actions_total{kind=\"failover\",outcome=\"applied\"} 1"));
        assert!(text.contains("vwf_signer_link_up 0"));
        assert!(text.contains("vwf_active_node_failing_polls 2\n"), "{text}");
        assert!(
            text.contains("vwf_signer_client_cert_expiry_seconds 863997\n"),
            "{text}"
        );
        assert!(
            text.contains("vwf_signer_ca_cert_expiry_seconds -2\n"),
            "{text}"
        );
    }
}
