//! Protobuf ⇄ domain, in one place, with the request's shape checked here.

use vwf_proto::v1 as pb;

use crate::engine::DryRunReport;
use crate::policy::{Intent, RawTarget, Refusal};
use crate::store::Outcome;

/// Checks a `SetSigningKeyRequest`'s shape and parses it into an [`Intent`].
pub fn intent(
    request: &pb::SetSigningKeyRequest,
    prefix: &str,
    id_required: bool,
) -> Result<Intent, Refusal> {
    let target = request
        .target
        .as_ref()
        .and_then(|t| t.target.as_ref())
        .map(|t| match t {
            pb::signing_key_target::Target::PublicKey(key) => RawTarget::Key(key),
            pb::signing_key_target::Target::NullKey(_) => RawTarget::Null,
        });
    Intent::parse(
        &request.request_id,
        &request.account,
        target,
        &request.expected_current_key,
        &request.reason,
        prefix,
        id_required,
    )
}

/// A refusal as the wire carries it.
pub fn refused(refusal: &Refusal) -> pb::Refused {
    pb::Refused {
        rule: refusal.rule.to_string(),
        reason: refusal.reason.clone(),
    }
}

/// An outcome as the wire carries it.
pub fn outcome(outcome: Outcome) -> pb::SetSigningKeyResponse {
    use pb::set_signing_key_response::Outcome as Wire;
    let wire = match outcome {
        Outcome::Applied {
            tx_id,
            block_num,
            signing_key,
        } => Wire::Applied(pb::Applied {
            tx_id,
            block_num,
            signing_key,
        }),
        Outcome::AlreadyInEffect { signing_key } => {
            Wire::AlreadyInEffect(pb::AlreadyInEffect { signing_key })
        }
        Outcome::Refused { rule, reason } => Wire::Refused(pb::Refused { rule, reason }),
    };
    pb::SetSigningKeyResponse {
        outcome: Some(wire),
    }
}

/// A dry-run report as the wire carries it.
pub fn dry_run(report: DryRunReport) -> pb::DryRunResponse {
    pb::DryRunResponse {
        allowed: report.allowed,
        refused: report
            .refusal
            .map(|(rule, reason)| pb::Refused { rule, reason }),
        reasons: report.reasons,
        transaction_json: report.transaction_json,
        digest: report.digest,
        preflight: report
            .preflight
            .map(|(matches, expected_hex, node_hex)| pb::Preflight {
                matches,
                expected_hex,
                node_hex,
            }),
    }
}
