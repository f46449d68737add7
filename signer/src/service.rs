//! The tonic service, kept thin: identify the client, convert, call the engine, convert back.
//! Errors map to gRPC statuses in [`status`], the one place that decides what a peer may learn
//! (never paths or key material).

use std::sync::Arc;

use tonic::{Request, Response, Status};
use vwf_proto::v1 as pb;
use vwf_proto::v1::signer_server::Signer;

use crate::audit::AuditEntry;
use crate::convert;
use crate::engine::Engine;
use crate::error::Error;
use crate::policy::{KeyMode, Permission};

/// The gRPC face of the [`Engine`]. Identity and rate limits are checked before it, by
/// [`crate::guard`].
pub struct SignerService {
    engine: Arc<Engine>,
}

impl SignerService {
    /// A service over `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        SignerService { engine }
    }

    /// The client's identity from its verified certificate.
    fn admit<T>(&self, request: &Request<T>) -> Result<String, Status> {
        crate::guard::identity_of(request.extensions()).ok_or_else(|| {
            Status::unauthenticated("a client certificate naming an identity is required")
        })
    }

    async fn audit_invalid(
        &self,
        call: &'static str,
        client: &str,
        request: &pb::SetSigningKeyRequest,
        refusal: &crate::policy::Refusal,
    ) -> Result<(), Status> {
        self.engine
            .audit()
            .record(AuditEntry {
                call,
                client: client.to_owned(),
                request_id: clip(&request.request_id),
                account: clip(&request.account),
                decision: "refused",
                rule: Some(refusal.rule.to_string()),
                detail: refusal.reason.clone(),
                ..AuditEntry::default()
            })
            .await
            .map_err(|e| status(&e))
    }
}

/// Client-supplied text in the audit log is bounded.
fn clip(text: &str) -> String {
    text.chars().take(128).collect()
}

#[tonic::async_trait]
impl Signer for SignerService {
    async fn set_signing_key(
        &self,
        request: Request<pb::SetSigningKeyRequest>,
    ) -> Result<Response<pb::SetSigningKeyResponse>, Status> {
        let client = self.admit(&request)?;
        let request = request.into_inner();
        let prefix = self.engine.profile().address_prefix.clone();
        let intent = match convert::intent(&request, &prefix, true) {
            Ok(intent) => intent,
            Err(refusal) => {
                self.audit_invalid("set-signing-key", &client, &request, &refusal)
                    .await?;
                let refused =
                    pb::set_signing_key_response::Outcome::Refused(convert::refused(&refusal));
                return Ok(Response::new(pb::SetSigningKeyResponse {
                    outcome: Some(refused),
                }));
            }
        };
        // Run to the end even if the client goes away (timeout, reset): a request cut between
        // its broadcast and its outcome would leave the audit log without the outcome.
        let engine = Arc::clone(&self.engine);
        let (who, what) = (client.clone(), intent.clone());
        let finished = tokio::spawn(async move { engine.set_signing_key(&who, &what).await }).await;
        let result =
            finished.unwrap_or_else(|e| Err(Error::Internal(format!("request task stopped: {e}"))));
        match result {
            Ok(outcome) => Ok(Response::new(convert::outcome(outcome))),
            Err(error) => {
                tracing::error!(%client, request_id = %intent.request_id, %error, "request failed");
                Err(status(&error))
            }
        }
    }

    async fn dry_run(
        &self,
        request: Request<pb::DryRunRequest>,
    ) -> Result<Response<pb::DryRunResponse>, Status> {
        let client = self.admit(&request)?;
        let request = request.into_inner();
        let inner = request.request.unwrap_or_default();
        let prefix = self.engine.profile().address_prefix.clone();
        let intent = match convert::intent(&inner, &prefix, false) {
            Ok(intent) => intent,
            Err(refusal) => {
                self.audit_invalid("dry-run", &client, &inner, &refusal)
                    .await?;
                return Ok(Response::new(pb::DryRunResponse {
                    refused: Some(convert::refused(&refusal)),
                    reasons: vec![format!("refused: {}", refusal.reason)],
                    ..pb::DryRunResponse::default()
                }));
            }
        };
        match self
            .engine
            .dry_run(&client, &intent, request.preflight)
            .await
        {
            Ok(report) => Ok(Response::new(convert::dry_run(report))),
            Err(error) => Err(status(&error)),
        }
    }

    async fn status(
        &self,
        request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        let client = self.admit(&request)?;
        let policy = self.engine.policy();
        if !policy.allows_anywhere(&client, Permission::Status) {
            return Err(Status::permission_denied(format!(
                "client {client:?} may not read status"
            )));
        }
        let profile = self.engine.profile();
        let accounts = policy
            .accounts()
            .filter(|a| a.permits(&client, Permission::Status))
            .map(|a| {
                let prefix = &profile.address_prefix;
                let keys = self.engine.keys();
                let (active_key, signing_keys) = match a.mode {
                    KeyMode::ActiveKey => (
                        keys.active()
                            .map(|k| k.to_string_with_prefix(prefix))
                            .unwrap_or_default(),
                        Vec::new(),
                    ),
                    KeyMode::SigningKey => (String::new(), keys.servers_held_text(a, prefix)),
                };
                pb::AccountStatus {
                    account: a.account.clone(),
                    active_key,
                    allowed_targets: a.allowed_target_strings(prefix),
                    mode: a.mode.to_string(),
                    signing_keys,
                }
            })
            .collect();
        Ok(Response::new(pb::StatusResponse {
            version: env!("CARGO_PKG_VERSION").into(),
            profile: profile.name.to_string(),
            chain_id: profile.chain_id.to_string(),
            accounts,
            client_identity: client,
        }))
    }
}

/// The one mapping from signer errors to what a peer sees.
pub fn status(error: &Error) -> Status {
    match error {
        Error::Rpc(e) => Status::unavailable(format!("node: {e}")),
        Error::Expired(_) | Error::NoQuorum(_) | Error::Pending(_) => {
            Status::unavailable(error.to_string())
        }
        Error::Preflight(_)
        | Error::WitnessData(_)
        | Error::Chain(_)
        | Error::KeyNotAuthorized(_) => Status::failed_precondition(error.to_string()),
        _ => Status::internal("signer internal error; see the signer's log"),
    }
}
