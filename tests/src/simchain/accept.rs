//! Accepting a transaction into the pending set, in each node generation's order and with its
//! errors (SPEC §4.5, §4.6, §5, §8).
//!
//! | generation | order of the checks |
//! |---|---|
//! | 0.19 (VIT) | validate, duplicate, signatures and authority, TaPoS, expiration |
//! | steemd 0.23 | the same |
//! | hived 1.28 | duplicate, expiration, TaPoS, validate, signatures and authority |
//!
//! Every error carries the log messages the node's call path adds on the way up, so the texts
//! and `data.stack` match a real node's answer. Sources: steemit/steem v0.19.5
//! `libraries/protocol/transaction.cpp` (`verify_authority`, `get_signature_keys`),
//! `libraries/chain/database.cpp` (`_apply_transaction`, `push_transaction`),
//! `libraries/app/api.cpp` (`broadcast_transaction` validates first); steemit/steem master
//! 0e27a9c8e `libraries/protocol/include/steem/protocol/transaction_util.hpp`,
//! `libraries/protocol/transaction.cpp`, `libraries/chain/database.cpp`,
//! `libraries/plugins/chain/chain_plugin.cpp` (`throw *(cxt.except)`: the copy is a plain
//! `fc::exception`); openhive-network/hive 1.28.3 `libraries/protocol/transaction_util.cpp`
//! (HF28: only the active authority satisfies active, redundant signatures allowed),
//! `libraries/chain/database.cpp` (`_push_transaction`, `validate_transaction`: HF28 allows an
//! expiration up to `HIVE_MAX_TIME_UNTIL_SIGNATURE_EXPIRATION`), `libraries/chain/full_transaction.cpp`,
//! `libraries/plugins/chain/chain_plugin.cpp` (`determine_encoding_and_accept_transaction`: an
//! authority failure is retried with the legacy serialization, then reported with "Transaction
//! failed to validate using both new (hf26) and legacy serialization"). Multi-line macros report
//! their last line (GCC's `__LINE__`), as hived's recorded pattern-test answers show.
//!
//! `witness_set_properties` (Steem, Hive; SPEC §3.3a): its authority is not an account's but the
//! key in its `key` prop (`get_required_authorities`: `authority( 1, signing_key, 1 )`), checked
//! before any account authority ("Missing Authority", `tx_missing_other_auth`: steemit/steem
//! master `transaction_util.hpp:80`, hived 1.28.3 `transaction_util.cpp:258`); `validate()`
//! wants a `key` ("No signing key provided": `steem_operations.cpp:253`, hived
//! `hive_operations.cpp:250`); the evaluator then wants `key` to be the witness's signing key on
//! chain ("'key' does not match witness signing key.": `steem_evaluator.cpp:157`, hived
//! `hive_evaluator.cpp:133`) and sets `new_signing_key`.

use serde_json::{Value, json};
use vwf_shared::{Digest, Operation, PublicKey, SignedTransaction, TimePointSec};

use crate::simchain::chain::{ChainState, ChainTx};
use crate::simchain::fc_error::{FcError, Frame, Gen, Level, data};
use crate::simchain::forms::tx_to_appbase;
use crate::simchain::methods::{active_authority, authority, owner_authority};
use crate::simchain::normalize::{Unsimulated, rebuild};

/// How far back a TaPoS reference may reach (the block-summary ring).
const TAPOS_WINDOW: u32 = 0x10000;
/// `*_MAX_TIME_UNTIL_EXPIRATION`.
const MAX_TIME_UNTIL_EXPIRATION: u32 = 3600;
/// hived `HIVE_MAX_TIME_UNTIL_SIGNATURE_EXPIRATION` (HF28).
const MAX_TIME_UNTIL_SIGNATURE_EXPIRATION: u32 = 86_400;
/// The C++ type name fc reports for chainbase's `std::out_of_range( "unknown key" )` (as in
/// hived's recorded `condenser_api.broadcast_transaction` answers).
const OUT_OF_RANGE: &str =
    "N5boost16exception_detail10clone_implINS0_19error_info_injectorISt12out_of_rangeEEEE";

/// `tx_missing_other_auth`: an authority that is not an account's (a `witness_set_properties`
/// key) is not satisfied.
const MISSING_OTHER: (i64, &str, &str) = (
    3_040_000,
    "tx_missing_other_auth",
    "missing required other authority",
);

/// The transaction as the error data shows it, with the generation's JSON form.
struct Trx {
    generation: Gen,
    json: Value,
    ops: Value,
}

impl Trx {
    /// The frames from `_apply_transaction` up to where the node answers: the database's
    /// captures, and hived's chain plugin (`auth`: the legacy retry also failed authority).
    fn db(&self, e: FcError, auth: bool) -> FcError {
        let trx = || data([("trx", self.json.clone())]);
        match self.generation {
            Gen::S19 => e
                .with(Frame::capture(
                    ("database.cpp", 2916, "_apply_transaction"),
                    trx(),
                ))
                .with(Frame::capture(
                    ("database.cpp", 672, "push_transaction"),
                    trx(),
                )),
            Gen::Steem => {
                let mut e = e
                    .with(Frame::capture(
                        ("database.cpp", 3712, "_apply_transaction"),
                        trx(),
                    ))
                    .with(Frame::capture(
                        ("database.cpp", 915, "push_transaction"),
                        trx(),
                    ));
                e.sliced = true;
                e
            }
            Gen::Hive => self.hive_plugin(
                e.with(Frame::capture(
                    ("database.cpp", 4530, "_apply_transaction"),
                    data([("full_transaction->get_transaction()", self.json.clone())]),
                )),
                auth,
            ),
        }
    }

    /// hived: `process_non_fast_confirm_transaction`, `chain_plugin_impl::push_transaction`,
    /// then `determine_encoding_and_accept_transaction`.
    fn hive_plugin(&self, e: FcError, auth: bool) -> FcError {
        let trx = || data([("trx", self.json.clone())]);
        let e = e
            .with(Frame::capture(
                ("database.cpp", 725, "process_non_fast_confirm_transaction"),
                trx(),
            ))
            .with(Frame::capture(
                ("chain_plugin.cpp", 1001, "push_transaction"),
                trx(),
            ));
        self.hive_accept(e, auth)
    }

    fn hive_accept(&self, e: FcError, auth: bool) -> FcError {
        let method = "determine_encoding_and_accept_transaction";
        let e = if auth {
            e.with(Frame::new(
                Level::Error,
                ("chain_plugin.cpp", 2082, method),
                "Transaction failed to validate using both new (hf26) and legacy serialization",
                Vec::new(),
            ))
        } else {
            e
        };
        e.with(Frame::capture(
            ("chain_plugin.cpp", 2085, method),
            Vec::new(),
        ))
    }

    /// The frames from the authority check up: its captures, `signed_transaction::verify_authority`,
    /// then [`Trx::db`].
    fn authority(&self, e: FcError, sigs: &Value, auth: bool) -> FcError {
        let e = match self.generation {
            Gen::S19 => e
                .with(Frame::capture(
                    ("transaction.cpp", 172, "verify_authority"),
                    data([("ops", self.ops.clone()), ("sigs", sigs.clone())]),
                ))
                .with(Frame::capture(
                    ("transaction.cpp", 285, "verify_authority"),
                    data([("*this", self.json.clone())]),
                )),
            Gen::Steem => e
                .with(Frame::capture(
                    ("transaction_util.hpp", 103, "verify_authority"),
                    data([
                        ("auth_containers", self.ops.clone()),
                        ("sigs", sigs.clone()),
                    ]),
                ))
                .with(Frame::capture(
                    ("transaction.cpp", 232, "verify_authority"),
                    data([("*this", self.json.clone())]),
                )),
            Gen::Hive => e.with(Frame::capture(
                ("transaction_util.cpp", 265, "verify_authority"),
                data([("sigs", sigs.clone())]),
            )),
        };
        self.db(e, auth)
    }

    /// The frames from recovering the signer keys up.
    fn signatures(&self, e: FcError) -> FcError {
        match self.generation {
            Gen::S19 => self.db(
                e.with(Frame::capture(
                    ("transaction.cpp", 187, "get_signature_keys"),
                    Vec::new(),
                ))
                .with(Frame::capture(
                    ("transaction.cpp", 285, "verify_authority"),
                    data([("*this", self.json.clone())]),
                )),
                false,
            ),
            Gen::Steem => self.db(
                e.with(Frame::capture(
                    ("transaction.cpp", 97, "get_signature_keys"),
                    Vec::new(),
                ))
                .with(Frame::capture(
                    ("transaction.cpp", 232, "verify_authority"),
                    data([("*this", self.json.clone())]),
                )),
                false,
            ),
            Gen::Hive => self.db(
                e.with(Frame::new(
                    Level::Error,
                    ("full_transaction.cpp", 150, "compute_signature_keys"),
                    "",
                    Vec::new(),
                )),
                false,
            ),
        }
    }
}

impl ChainState {
    fn generation(&self) -> Gen {
        Gen::of(self.profile.name)
    }

    /// Checks a legacy-JSON transaction and adds it to the pending set; returns its id.
    pub fn push_transaction(&mut self, value: &Value) -> Result<String, FcError> {
        let tx = self.check_transaction(value)?;
        let id = tx.id.clone();
        self.pending.push(tx);
        Ok(id)
    }

    /// Every check of `push_transaction`, without changing the state.
    pub fn check_transaction(&self, value: &Value) -> Result<ChainTx, FcError> {
        let profile = &self.profile;
        let generation = self.generation();
        let rebuilt = rebuild(value, profile)?;
        let json = match generation {
            Gen::S19 => rebuilt.json.clone(),
            Gen::Steem | Gen::Hive => tx_to_appbase(profile, &rebuilt.json),
        };
        let trx = Trx {
            generation,
            ops: json.get("operations").cloned().unwrap_or_else(|| json!([])),
            json,
        };
        let signed = &rebuilt.signed;
        let unsimulated = rebuilt.unsimulated.as_ref();
        // The node's bytes: those of all the props when the model holds fewer.
        let (digest, id) = match unsimulated {
            Some(u) => (
                Digest::sha256(&[&profile.chain_id.0, &u.bytes]),
                hex::encode(&Digest::sha256(&[&u.bytes]).0[..20]),
            ),
            None => (
                signed
                    .transaction
                    .digest(profile)
                    .map_err(|e| FcError::assert(e.to_string()))?,
                signed
                    .transaction
                    .id(profile)
                    .map_err(|e| FcError::assert(e.to_string()))?,
            ),
        };
        if generation == Gen::Hive {
            self.check_duplicate(&trx, &id)?;
            self.check_expiration(&trx, signed.transaction.expiration)?;
            self.check_tapos(
                &trx,
                signed.transaction.ref_block_num,
                signed.transaction.ref_block_prefix,
            )?;
            self.validate(&trx, signed, unsimulated)?;
        } else {
            self.validate(&trx, signed, unsimulated)?;
            self.check_duplicate(&trx, &id)?;
        }
        let keys = self.signature_keys(&trx, signed, &digest)?;
        self.check_authority(&trx, signed, &keys)?;
        if generation != Gen::Hive {
            self.check_tapos(
                &trx,
                signed.transaction.ref_block_num,
                signed.transaction.ref_block_prefix,
            )?;
            self.check_expiration(&trx, signed.transaction.expiration)?;
        }
        self.evaluate(&trx, signed, unsimulated)?;
        Ok(ChainTx {
            id,
            json: rebuilt.json,
            signed: rebuilt.signed,
        })
    }

    /// `transaction::validate` and each operation's `validate` (0.19: in
    /// `network_broadcast_api::broadcast_transaction`, before the push; later: in
    /// `_apply_transaction`). The operation texts are the simulator's.
    fn validate(
        &self,
        trx: &Trx,
        signed: &SignedTransaction,
        unsimulated: Option<&Unsimulated>,
    ) -> Result<(), FcError> {
        let generation = trx.generation;
        let wrap = |e: FcError| match generation {
            Gen::S19 => e,
            Gen::Steem | Gen::Hive => trx.db(e, false),
        };
        if signed.transaction.operations.is_empty() {
            return Err(wrap(FcError::fc_assert(
                generation,
                "operations.size() > 0",
                ("transaction.cpp", 37, "validate"),
                "A transaction must have at least one operation",
                data([("trx", trx.json.clone())]),
            )));
        }
        for op in &signed.transaction.operations {
            match op {
                Operation::WitnessUpdate(op) => op
                    .validate(&self.profile)
                    .map_err(|e| wrap(FcError::assert(e.to_string())))?,
                Operation::WitnessSetProperties(op) => {
                    if unsimulated.is_some_and(|u| u.missing_key.contains(&op.owner)) {
                        let at = match generation {
                            Gen::Hive => ("hive_operations.cpp", 250, "validate"),
                            Gen::S19 | Gen::Steem => ("steem_operations.cpp", 253, "validate"),
                        };
                        return Err(wrap(FcError::fc_assert(
                            generation,
                            "props.find( \"key\" ) != props.end()",
                            at,
                            "No signing key provided",
                            Vec::new(),
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The evaluators, against the state at the push: `witness_set_properties` needs a witness
    /// whose signing key is the `key` prop. Props the simulator does not model are refused here,
    /// once everything the chain checks first has passed.
    fn evaluate(
        &self,
        trx: &Trx,
        signed: &SignedTransaction,
        unsimulated: Option<&Unsimulated>,
    ) -> Result<(), FcError> {
        let generation = trx.generation;
        for op in &signed.transaction.operations {
            let Operation::WitnessSetProperties(op) = op else {
                continue;
            };
            let Some(witness) = self.witness(&op.owner) else {
                // chainbase `get<witness_object, by_name>` throws std::out_of_range.
                return Err(trx.db(FcError::new(13, OUT_OF_RANGE, "unknown key"), false));
            };
            if witness.signing_key != op.current_key {
                let prefix = &self.profile.address_prefix;
                let at = match generation {
                    Gen::Hive => ("hive_evaluator.cpp", 133, "do_apply"),
                    Gen::S19 | Gen::Steem => ("steem_evaluator.cpp", 157, "do_apply"),
                };
                return Err(trx.db(
                    FcError::fc_assert(
                        generation,
                        "signing_key == witness.signing_key",
                        at,
                        "'key' does not match witness signing key.",
                        data([
                            ("key", json!(op.current_key.to_string_with_prefix(prefix))),
                            (
                                "signing_key",
                                json!(witness.signing_key.to_string_with_prefix(prefix)),
                            ),
                        ]),
                    ),
                    false,
                ));
            }
        }
        if let Some(u) = unsimulated.filter(|u| !u.extra.is_empty()) {
            return Err(FcError::assert(format!(
                "vwf-simchain applies only the key and new_signing_key props of witness_set_properties; not simulated: {}",
                u.extra.join("; ")
            )));
        }
        Ok(())
    }

    /// The duplicate check against pending and included transactions.
    fn check_duplicate(&self, trx: &Trx, id: &str) -> Result<(), FcError> {
        if !self.is_known_tx(id) {
            return Ok(());
        }
        let expr = "(skip & skip_transaction_dupe_check) || trx_idx.indices().get<by_trx_id>().find(trx_id) == trx_idx.indices().get<by_trx_id>().end()";
        let dup = "Duplicate transaction check failed";
        Err(match trx.generation {
            Gen::S19 => trx.db(
                FcError::fc_assert(
                    trx.generation,
                    expr,
                    ("database.cpp", 2853, "_apply_transaction"),
                    dup,
                    data([("trx_ix", json!(id))]),
                ),
                false,
            ),
            Gen::Steem => trx.db(
                FcError::fc_assert(
                    trx.generation,
                    expr,
                    ("database.cpp", 3644, "_apply_transaction"),
                    dup,
                    data([("trx_ix", json!(id))]),
                ),
                false,
            ),
            Gen::Hive => trx.hive_plugin(
                FcError::fc_assert(
                    trx.generation,
                    "!is_known_transaction( trx_id )",
                    ("database.cpp", 771, "_push_transaction"),
                    dup,
                    data([("trx_id", json!(id))]),
                ),
                false,
            ),
        })
    }

    /// Recovers the signer keys: header range, the era's canonical rule, no duplicates.
    fn signature_keys(
        &self,
        trx: &Trx,
        signed: &SignedTransaction,
        digest: &Digest,
    ) -> Result<Vec<PublicKey>, FcError> {
        let generation = trx.generation;
        let mut keys = Vec::new();
        for signature in &signed.signatures {
            let header = signature.0[0];
            if !(27..35).contains(&header) {
                return Err(trx.signatures(FcError::unspecified(
                    "unable to reconstruct public key from signature",
                )));
            }
            // VIT is a 0.19 chain: fc-canonical. Steem/Hive after HF20: bip_0062 (low S).
            let canonical = match generation {
                Gen::S19 => signature.is_canonical(),
                Gen::Steem | Gen::Hive => signature.is_low_s(),
            };
            if !canonical {
                let at = match generation {
                    Gen::S19 => ("elliptic_secp256k1.cpp", 162, "public_key"),
                    Gen::Steem => ("elliptic_secp256k1.cpp", 161, "public_key"),
                    Gen::Hive => ("elliptic_secp256k1.cpp", 180, "public_key"),
                };
                let expr = match generation {
                    Gen::Steem => "is_canonical( c, canon_type )",
                    Gen::Hive => "is_canonical(c)",
                    Gen::S19 => "is_canonical( c )",
                };
                return Err(trx.signatures(FcError::fc_assert(
                    generation,
                    expr,
                    at,
                    "signature is not canonical",
                    Vec::new(),
                )));
            }
            let key = signature.recover(digest).map_err(|_| {
                trx.signatures(FcError::unspecified(
                    "unable to reconstruct public key from signature",
                ))
            })?;
            if keys.contains(&key) {
                let (at, what) = match generation {
                    Gen::S19 => (
                        ("transaction.cpp", 184, "get_signature_keys"),
                        "Duplicate Signature detected",
                    ),
                    Gen::Steem => (
                        ("transaction.cpp", 94, "get_signature_keys"),
                        "Duplicate Signature detected",
                    ),
                    Gen::Hive => (
                        ("full_transaction.cpp", 148, "compute_signature_keys"),
                        "Duplicate signature detected",
                    ),
                };
                let expr = "new_signature_info.signature_keys.insert(fc::ecc::public_key(signature, new_signature_info.sig_digest)).second";
                return Err(trx.signatures(FcError::typed_assert(
                    generation,
                    (
                        3_060_000,
                        "tx_duplicate_sig",
                        "duplicate signature included",
                    ),
                    expr,
                    at,
                    what,
                    Vec::new(),
                )));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// First each `witness_set_properties`'s key authority (the `key` prop), then each
    /// `witness_update`'s owner's active authority (the owner key satisfies it too, except on
    /// hived since HF28); any signature not needed is refused (not on hived since HF28).
    fn check_authority(
        &self,
        trx: &Trx,
        signed: &SignedTransaction,
        keys: &[PublicKey],
    ) -> Result<(), FcError> {
        let generation = trx.generation;
        let prefix = &self.profile.address_prefix;
        let mut sorted: Vec<String> = keys
            .iter()
            .map(|k| k.to_string_with_prefix(prefix))
            .collect();
        sorted.sort();
        let sigs = json!(sorted);
        let mut used: Vec<PublicKey> = Vec::new();
        for op in &signed.transaction.operations {
            let Operation::WitnessSetProperties(op) = op else {
                continue;
            };
            if keys.contains(&op.current_key) {
                used.push(op.current_key);
                continue;
            }
            let auth = authority(self, &op.current_key);
            let e = match generation {
                Gen::S19 | Gen::Steem => FcError::typed_assert(
                    generation,
                    MISSING_OTHER,
                    "",
                    ("transaction_util.hpp", 80, "verify_authority"),
                    "Missing Authority",
                    data([("auth", auth), ("sigs", sigs.clone())]),
                ),
                Gen::Hive => FcError::typed_assert(
                    generation,
                    MISSING_OTHER,
                    "s.check_authority( auth, \"?\", \"?\" )",
                    ("transaction_util.cpp", 258, "operator()"),
                    "Missing Authority",
                    data([("auth", auth)]),
                ),
            };
            return Err(trx.authority(e, &sigs, true));
        }
        for op in &signed.transaction.operations {
            let Operation::WitnessUpdate(op) = op else {
                continue;
            };
            let Some(account) = self.witness(&op.owner) else {
                // chainbase `get<account_authority_object, by_account>` throws
                // std::out_of_range("unknown key"); the first capture wraps it.
                let mut d = match generation {
                    Gen::S19 => data([("ops", trx.ops.clone()), ("sigs", sigs.clone())]),
                    Gen::Steem => {
                        data([("auth_containers", trx.ops.clone()), ("sigs", sigs.clone())])
                    }
                    Gen::Hive => data([("sigs", sigs.clone())]),
                };
                d.push(("what".into(), json!("unknown key")));
                let at = match generation {
                    Gen::S19 => ("transaction.cpp", 172, "verify_authority"),
                    Gen::Steem => ("transaction_util.hpp", 103, "verify_authority"),
                    Gen::Hive => ("transaction_util.cpp", 265, "verify_authority"),
                };
                let e = FcError::new(13, OUT_OF_RANGE, "unknown key").with(Frame::new(
                    Level::Warn,
                    at,
                    "${what}: ",
                    d,
                ));
                let e = match generation {
                    Gen::S19 => e.with(Frame::capture(
                        ("transaction.cpp", 285, "verify_authority"),
                        data([("*this", trx.json.clone())]),
                    )),
                    Gen::Steem => e.with(Frame::capture(
                        ("transaction.cpp", 232, "verify_authority"),
                        data([("*this", trx.json.clone())]),
                    )),
                    Gen::Hive => e,
                };
                return Err(trx.db(e, false));
            };
            let satisfied = if keys.contains(&account.active_key) {
                Some(account.active_key)
            } else if self.profile.owner_satisfies_active() {
                account.owner_key.filter(|k| keys.contains(k))
            } else {
                None
            };
            match satisfied {
                Some(key) => used.push(key),
                None => {
                    let d = data([
                        ("id", json!(op.owner)),
                        ("auth", active_authority(self, account)),
                        ("owner", owner_authority(self, account)),
                    ]);
                    let (at, expr) = match generation {
                        Gen::S19 => (("transaction.cpp", 157, "verify_authority"), ""),
                        Gen::Steem => (("transaction_util.hpp", 88, "verify_authority"), ""),
                        Gen::Hive => (
                            ("transaction_util.cpp", 239, "operator()"),
                            "s.check_authority( id )",
                        ),
                    };
                    let e = FcError::typed_assert(
                        generation,
                        (
                            3_010_000,
                            "tx_missing_active_auth",
                            "missing required active authority",
                        ),
                        expr,
                        at,
                        "Missing Active Authority ${id}",
                        d,
                    );
                    return Err(trx.authority(e, &sigs, true));
                }
            }
        }
        if generation != Gen::Hive && keys.iter().any(|k| !used.contains(k)) {
            let at = match generation {
                Gen::S19 => ("transaction.cpp", 171, "verify_authority"),
                _ => ("transaction_util.hpp", 102, "verify_authority"),
            };
            let e = FcError::typed_assert(
                generation,
                (
                    3_050_000,
                    "tx_irrelevant_sig",
                    "irrelevant signature included",
                ),
                "!s.remove_unused_signatures()",
                at,
                "Unnecessary signature(s) detected",
                Vec::new(),
            );
            return Err(trx.authority(e, &sigs, false));
        }
        Ok(())
    }

    /// The block summary at `ref_block_num` must have an id whose bytes 4..8 (LE) equal the
    /// prefix. A ring slot never written holds a zero id, as in steemd.
    fn check_tapos(
        &self,
        trx: &Trx,
        ref_block_num: u16,
        ref_block_prefix: u32,
    ) -> Result<(), FcError> {
        let head = self.head_num();
        let expected = (0..TAPOS_WINDOW.min(head))
            .map(|back| head - back)
            .find(|num| num & 0xffff == u32::from(ref_block_num))
            .and_then(|num| self.block(num))
            .map_or(0, |b| {
                u32::from_le_bytes([b.id.0[4], b.id.0[5], b.id.0[6], b.id.0[7]])
            });
        if expected == ref_block_prefix {
            return Ok(());
        }
        let at = match trx.generation {
            Gen::S19 => ("database.cpp", 2882, "_apply_transaction"),
            Gen::Steem => ("database.cpp", 3676, "_apply_transaction"),
            Gen::Hive => ("database.cpp", 4389, "validate_transaction"),
        };
        let e = FcError::typed_assert(
            trx.generation,
            (
                4_030_200,
                "transaction_tapos_exception",
                "transaction tapos exception",
            ),
            "trx.ref_block_prefix == tapos_block_summary.block_id._hash[1]",
            at,
            "",
            data([
                ("trx.ref_block_prefix", json!(ref_block_prefix)),
                ("tapos_block_summary", json!(expected)),
            ]),
        );
        Err(trx.db(e, false))
    }

    /// head time < expiration ≤ head time + 3600 s (hived HF28: + 86400 s).
    fn check_expiration(&self, trx: &Trx, expiration: TimePointSec) -> Result<(), FcError> {
        let generation = trx.generation;
        let now = self.head().time_sec();
        let kind = (
            4_030_100,
            "transaction_expiration_exception",
            "transaction expiration exception",
        );
        let limit = if generation == Gen::Hive {
            MAX_TIME_UNTIL_SIGNATURE_EXPIRATION
        } else {
            MAX_TIME_UNTIL_EXPIRATION
        };
        let now_s = json!(TimePointSec(now).to_string());
        let exp_s = json!(expiration.to_string());
        if u64::from(expiration.0) > u64::from(now) + u64::from(limit) {
            let (at, expr) = match generation {
                Gen::S19 => (
                    ("database.cpp", 2888, "_apply_transaction"),
                    "trx.expiration <= now + fc::seconds(STEEMIT_MAX_TIME_UNTIL_EXPIRATION)",
                ),
                Gen::Steem => (
                    ("database.cpp", 3682, "_apply_transaction"),
                    "trx.expiration <= now + fc::seconds(STEEM_MAX_TIME_UNTIL_EXPIRATION)",
                ),
                Gen::Hive => (
                    ("database.cpp", 4361, "validate_transaction"),
                    "trx.expiration <= now + HIVE_MAX_TIME_UNTIL_SIGNATURE_EXPIRATION",
                ),
            };
            let e = FcError::typed_assert(
                generation,
                kind,
                expr,
                at,
                "",
                data([
                    ("trx.expiration", exp_s),
                    ("now", now_s),
                    ("max_til_exp", json!(limit)),
                ]),
            );
            return Err(trx.db(e, false));
        }
        if expiration.0 <= now {
            let e = match generation {
                Gen::S19 => FcError::typed_assert(
                    generation,
                    kind,
                    "now < trx.expiration",
                    ("database.cpp", 2890, "_apply_transaction"),
                    "",
                    data([("now", now_s), ("trx.exp", exp_s)]),
                ),
                Gen::Steem => FcError::typed_assert(
                    generation,
                    kind,
                    "now < trx.expiration",
                    ("database.cpp", 3684, "_apply_transaction"),
                    "",
                    data([("now", now_s), ("trx.exp", exp_s)]),
                ),
                Gen::Hive => FcError::typed_assert(
                    generation,
                    kind,
                    "now < full_transaction->get_runtime_expiration()",
                    ("database.cpp", 4376, "validate_transaction"),
                    "",
                    data([
                        ("now", now_s),
                        ("full_transaction->get_runtime_expiration()", exp_s),
                    ]),
                ),
            };
            return Err(trx.db(e, false));
        }
        Ok(())
    }
}
