//! The decision logic: a pure state machine, no I/O, no clock ([`step`]).
//!
//! The active server is the one whose key the quorum of nodes sees on chain. When its misses
//! since take-over cross a threshold, the machine asks the signer to switch to the next healthy
//! backup, or to the null key when none is left. Every intent is recorded in [`State::pending`]
//! (the daemon persists it before sending) with a request id that is stable across retries and
//! restarts, and with the key it expects on chain, so the signer's idempotency and
//! compare-and-swap make a second send harmless. A key set by hand is followed, never fought.
//! After the kill switch nothing is done until someone changes the key by hand.
//!
//! Submodules: [`types`] (state, inputs, actions), `transition` (following the chain),
//! `decide` (thresholds, target, request id), `reply` (signer outcomes), `tests` (the tables).

mod decide;
mod evidence;
mod reply;
mod transition;
pub mod types;

#[cfg(test)]
mod tests;

pub use decide::request_id;
pub use transition::step;
pub use types::{
    Action, AlertDraft, ChainView, Event, Health, Input, KeyRequest, Miss, Mode, NodeEvidence,
    Outcome, Pending, PendingStatus, STATE_VERSION, Severity, State,
};
