//! One log line per transition, with a stable `event=` field for operators and tests.

use tracing::{error, info, warn};

use crate::config::Policy;
use crate::state::{Event, KeyRequest};

/// Logs a machine event.
pub(super) fn event(e: &Event) {
    match e {
        Event::Observed {
            server,
            total_missed,
        } => {
            info!(
                event = "observed",
                server = server.as_str(),
                total_missed,
                "agreed reading: {server}'s key is on chain"
            )
        }
        Event::Missed {
            server,
            new,
            counted,
            total_missed,
            block,
        } => warn!(
            event = "missed",
            server = server.as_str(),
            new,
            counted,
            total_missed,
            block,
            "{server} missed {new} block(s)"
        ),
        Event::Intent {
            request_id,
            from,
            to,
            reason,
        } => warn!(
            event = "intent",
            request_id = request_id.as_str(),
            from = from.as_str(),
            to = to.as_str(),
            reason = reason.as_str(),
            "intent saved"
        ),
        Event::Failover {
            from,
            to,
            tx_id,
            block,
        } => error!(
            event = "failover",
            from = from.as_str(),
            to = to.as_str(),
            tx_id = tx_id.as_str(),
            block,
            "switched to backup"
        ),
        Event::KillSwitch { from, tx_id, block } => error!(
            event = "kill-switch",
            from = from.as_str(),
            tx_id = tx_id.as_str(),
            block,
            "witness disabled (null key); no further action until the key is changed by hand"
        ),
        Event::KeyChanged { from, to } => warn!(
            event = "key-changed",
            from = from.as_str(),
            to = to.as_str(),
            "signing key changed outside this monitor; following it"
        ),
        Event::DryRun {
            request_id,
            from,
            to,
            allowed,
            detail,
        } => warn!(
            event = "dry-run",
            request_id = request_id.as_str(),
            from = from.as_str(),
            to = to.as_str(),
            allowed,
            detail = detail.as_str(),
            "DRY-RUN: the signer was asked what it would do; nothing was broadcast"
        ),
        Event::SignerFailed {
            request_id,
            rule,
            detail,
            retry_in_ms,
        } => error!(
            event = "signer-failed",
            request_id = request_id.as_str(),
            rule = rule.as_str(),
            detail = detail.as_str(),
            retry_in_ms,
            "signer did not act"
        ),
        Event::Abandoned { request_id, chain } => warn!(
            event = "abandoned",
            request_id = request_id.as_str(),
            chain = chain.as_str(),
            "pending action dropped: the chain moved"
        ),
        Event::Confirmed {
            request_id,
            tx_id,
            block,
        } => info!(
            event = "confirmed",
            request_id = request_id.as_str(),
            tx_id = tx_id.as_str(),
            block,
            "the signer's answer for the change already seen on chain"
        ),
    }
}

/// Logs a signer call about to be made.
pub(super) fn sending(req: &KeyRequest, policy: &Policy) {
    info!(
        event = "send",
        request_id = req.request_id.as_str(),
        target = policy.name_of(&req.target),
        expected = policy.name_of(&req.expected_current_key),
        dry_run = req.dry_run,
        "asking the signer"
    );
}
