//! `legacy_tx_json`: [`SignedTransaction::from_legacy_json`] on arbitrary text.
//!
//! Included by `fuzz_targets/legacy_tx_json.rs` and by `tests/tests/fuzz_regressions.rs`, so a
//! saved crash re-runs exactly this check.

use vwf_shared::{ChainProfile, PropsLayout, SignedTransaction};

/// Parses `data` under each built-in profile (and VIT with the interest-rate props layout).
///
/// Whatever parses must come back unchanged from `to_legacy_json` then parse, writing it again
/// must give the same text, and the byte form, digest, validation and signer recovery must not
/// panic (they return errors for bad values).
pub(crate) fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let profiles = [
        ChainProfile::vit(),
        ChainProfile::steem(),
        ChainProfile::hive(),
        ChainProfile::vit().with_props_layout(PropsLayout::WithInterestRate {
            field: "sbd_interest_rate".into(),
        }),
    ];
    for profile in profiles {
        let Ok(tx) = SignedTransaction::from_legacy_json(text, &profile) else {
            continue;
        };
        let written = tx.to_legacy_json(&profile);
        let again = SignedTransaction::from_legacy_json(&written, &profile);
        assert_eq!(
            again.as_ref().ok(),
            Some(&tx),
            "round trip changed the transaction under {}: {written}",
            profile.name
        );
        if let Ok(again) = &again {
            assert_eq!(
                again.to_legacy_json(&profile),
                written,
                "writing is not stable"
            );
        }
        let unsigned = tx.transaction.to_legacy_json(&profile);
        let reparsed = SignedTransaction::from_legacy_json(&unsigned, &profile);
        assert_eq!(
            reparsed.ok().map(|s| s.transaction).as_ref(),
            Some(&tx.transaction),
            "unsigned round trip changed the transaction: {unsigned}"
        );
        let _ = tx.to_bytes(&profile);
        let _ = tx.transaction.id(&profile);
        let _ = tx.transaction.validate(&profile, None);
        let _ = tx.signer_keys(&profile);
    }
}
