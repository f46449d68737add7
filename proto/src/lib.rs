//! The gRPC contract between `vwf-monitor` and `vwf-signer`, generated from
//! `proto/vwf/signer/v1/signer.proto` (documented field by field there).
//!
//! Conversions to domain types live in the consuming crates, where invariants are checked.

/// Package `vwf.signer.v1`: messages, `signer_client::SignerClient`, `signer_server::Signer`.
pub mod v1 {
    #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    tonic::include_proto!("vwf.signer.v1");
}
