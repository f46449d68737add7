//! `status`: the saved state and each node's current view, on one screen.

use std::path::Path;

use crate::config;
use crate::error::Error;
use crate::metrics::now_ms;
use crate::persist::state_file;
use crate::poller::Poller;
use crate::quorum::{self, NodeStatus};
use crate::state::{Health, Mode, PendingStatus};

/// Appends one line to the report (writing to a `String` cannot fail).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Prints the state and one poll round. The report is written at once at the end, and a closed
/// pipe (`vwf-monitor status | head`) ends it quietly instead of panicking.
pub async fn run(path: &Path) -> Result<(), Error> {
    let mut out = String::new();
    report(path, &mut out).await?;
    write_stdout(&out)
}

/// Writes `text` to stdout; a reader that went away (broken pipe) is not an error.
fn write_stdout(text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| Error::Output(e.to_string())),
    }
}

async fn report(path: &Path, out: &mut String) -> Result<(), Error> {
    let s = config::load(path)?;
    let p = &s.policy;
    say!(
        out,
        "account {} on {} (dry_run={})",
        p.account,
        s.profile.name,
        p.dry_run
    );
    let now_s = time::OffsetDateTime::now_utc().unix_timestamp();
    match crate::persist::signer_mode::load(&s.state_dir) {
        Ok(Some(mode)) => say!(
            out,
            "signer: {} (as its Status said {} s ago, at the monitor's last start)",
            mode.line,
            now_s.saturating_sub(mode.checked_at)
        ),
        Ok(None) => say!(
            out,
            "signer: mode not known yet (`vwf-monitor run` records it at start; `check-config --online` asks now)"
        ),
        Err(e) => say!(out, "signer: mode unreadable ({e})"),
    }
    for cert in crate::watch::read_certs(&s.signer) {
        match cert {
            Ok(cert) => say!(
                out,
                "{}",
                cert.status_line(now_s, s.signer.cert_expiry_warning)
            ),
            Err(e) => say!(out, "{e}"),
        }
    }
    match state_file::peek(&s.state_dir, &p.account)? {
        None => say!(
            out,
            "saved state: none yet ({})",
            state_file::path(&s.state_dir).display()
        ),
        Some(st) => {
            let mode = match &st.mode {
                Mode::Starting => "starting".to_owned(),
                Mode::Active {
                    server,
                    baseline_total_missed,
                    takeover_block,
                    last_total_missed,
                    ..
                } => format!(
                    "active {server} since block {takeover_block}; missed {} since take-over (total {last_total_missed})",
                    last_total_missed.saturating_sub(*baseline_total_missed)
                ),
                Mode::Foreign { key } => {
                    format!("unknown key {} on chain (no action)", p.show(key))
                }
                Mode::Disabled => {
                    "disabled: null key on chain (no action until changed by hand)".to_owned()
                }
            };
            say!(out, "saved state: {mode}");
            if let Some(pend) = &st.pending {
                let status = match &pend.status {
                    PendingStatus::Intent => "not yet confirmed".to_owned(),
                    PendingStatus::Applied { tx_id, block } => {
                        format!("applied tx {tx_id} block {block}")
                    }
                    PendingStatus::DryRunReported => "dry run reported".to_owned(),
                };
                say!(
                    out,
                    "pending: {} {} -> {} ({status}; {} failed attempt(s))",
                    pend.request_id,
                    pend.from_server,
                    pend.target_server,
                    pend.attempts
                );
            }
            if let Some(last) = &st.last_action {
                say!(out, "last action: {last}");
            }
        }
    }
    let nodes: Vec<Option<String>> = p.servers.iter().map(|x| x.node.clone()).collect();
    let mut poller = Poller::new(
        &s.nodes,
        &nodes,
        s.profile.clone(),
        &p.account,
        s.node_timeout,
    );
    let now = now_ms();
    let (readings, health) = poller.poll().await;
    let lag = u64::try_from(s.max_head_lag.as_millis()).unwrap_or(u64::MAX);
    let a = quorum::assess(&readings, s.quorum, lag, now);
    say!(
        out,
        "{:<32} {:>10} {:<19} {:<12} {:>12}  verdict",
        "node",
        "head",
        "time",
        "key",
        "total_missed"
    );
    for ((url, r), v) in s.nodes.iter().zip(&readings).zip(&a.nodes) {
        let verdict = match v {
            NodeStatus::Agrees => "agrees".to_owned(),
            NodeStatus::Dissents => "DISSENTS".to_owned(),
            NodeStatus::Fresh => "fresh".to_owned(),
            NodeStatus::Stale(ms) => format!("STALE ({} s)", ms / 1000),
            NodeStatus::Failed(_) => "FAILED".to_owned(),
        };
        match r {
            Ok(r) => say!(
                out,
                "{url:<32} {:>10} {:<19} {:<12} {:>12}  {verdict}",
                r.head_block,
                vwf_shared::TimePointSec(r.head_time).to_string(),
                p.name_of(&r.signing_key),
                r.total_missed
            ),
            Err(e) => say!(out, "{url:<32} {verdict}: {e}"),
        }
    }
    match (&a.view, &a.problem) {
        (Some(v), _) => say!(
            out,
            "agreed (quorum {}): {} on chain, total_missed {}, head {}",
            s.quorum,
            p.name_of(&v.signing_key),
            v.total_missed,
            v.head_block
        ),
        (None, why) => say!(out, "NO QUORUM: {}", why.as_deref().unwrap_or("")),
    }
    let agreed_head = a.view.as_ref().map(|v| v.head_block);
    for (i, (srv, h)) in p.servers.iter().zip(&health).enumerate() {
        say!(
            out,
            "server {}: {}",
            srv.name,
            explain_health(h, i, agreed_head, p.health_max_lag_blocks)
        );
    }
    say!(out, "evidence: {}", explain_evidence(&p.evidence));
    Ok(())
}

/// What the monitor does with the active server's own node, as one line.
pub(crate) fn explain_evidence(e: &crate::config::Evidence) -> String {
    if !e.enabled() {
        return "off (only misses count; [evidence] fast_threshold / preemptive are not set)"
            .to_owned();
    }
    let mut acts = Vec::new();
    if let Some(f) = e.fast_threshold {
        acts.push(format!("{f} miss(es) trigger the switch"));
    }
    if e.preemptive {
        acts.push("switch before the next slot when the next backup's node is in sync".to_owned());
    }
    format!(
        "when the active server's node has been {} for {} consecutive poll(s): {}",
        if e.unreachable_is_evidence {
            format!(
                "stale (more than {} blocks behind the agreed head) or unreachable",
                e.stale_blocks
            )
        } else {
            format!(
                "stale (more than {} blocks behind the agreed head)",
                e.stale_blocks
            )
        },
        e.polls,
        acts.join("; ")
    )
}

/// One server's health as a sentence: what was checked, what it means for a failover to it
/// (server `index` 0 is the primary, never a failover target), and what to do when unchecked.
fn explain_health(
    health: &Health,
    index: usize,
    agreed_head: Option<u32>,
    max_lag_blocks: u32,
) -> String {
    let primary = index == 0;
    let as_target = |usable: &'static str| if primary { "" } else { usable };
    match (health, agreed_head) {
        (Health::Unchecked, _) => format!(
            "no node configured for this server (health not checked{}; set `node = \"<url>\"` \
             in its [[server]] section to check it)",
            as_target("; a failover assumes it is usable")
        ),
        (Health::Answered { head_block }, None) => format!(
            "its node answered with head block {head_block}; no agreed head to compare it with \
             (no quorum)"
        ),
        (_, agreed) => match health.unhealthy(agreed.unwrap_or_default(), max_lag_blocks) {
            Some(why) => format!(
                "UNHEALTHY: {why}{}",
                as_target("; a failover skips it while this lasts")
            ),
            None => format!(
                "healthy (its node is reachable and at most {max_lag_blocks} blocks behind the \
                 agreed head){}",
                as_target("; usable as a failover target")
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_health_variant_explains_itself() {
        let unchecked = explain_health(&Health::Unchecked, 1, Some(100), 10);
        assert!(
            unchecked.starts_with("no node configured for this server (health not checked")
                && unchecked.contains("a failover assumes it is usable")
                && unchecked.contains("node = \"<url>\""),
            "{unchecked}"
        );
        assert!(!unchecked.contains("Unchecked"));
        let sick = explain_health(&Health::Answered { head_block: 70 }, 2, Some(100), 10);
        assert_eq!(
            sick,
            "UNHEALTHY: node is 30 blocks behind the agreed head; a failover skips it while this lasts"
        );
        let fine = explain_health(&Health::Answered { head_block: 99 }, 1, Some(100), 10);
        assert!(
            fine.starts_with("healthy (its node is reachable") && fine.contains("10 blocks"),
            "{fine}"
        );
        // The primary is never a failover target: no word about failovers to it.
        assert!(!explain_health(&Health::Unchecked, 0, Some(100), 10).contains("failover"));
        let gone = explain_health(
            &Health::Unreachable("connection refused".into()),
            1,
            None,
            10,
        );
        assert_eq!(
            gone,
            "UNHEALTHY: node unreachable: connection refused; a failover skips it while this lasts"
        );
        let alone = explain_health(&Health::Answered { head_block: 7 }, 1, None, 10);
        assert!(alone.contains("no agreed head"), "{alone}");
    }
}
