//! The operation whitelist: the last check before anything is signed. Whatever built the
//! transaction, the signer signs exactly one operation of the kind the account's mode names,
//! for that account, changing only the signing key, to the key that was decided.

use vwf_shared::{Operation, PublicKey, Transaction};

use super::{AccountPolicy, KeyMode, Refusal, Rule};

/// Checks `transaction` against what the account's mode allows: one `witness_update` with a
/// zero fee (active-key mode) or one `witness_set_properties` whose `key` prop is the key the
/// nodes agree is on chain (signing-key mode), owned by the account and setting `target`.
/// The url and props of a `witness_update` are checked by the pins, not here.
pub fn check_operation(
    account: &AccountPolicy,
    transaction: &Transaction,
    on_chain: &PublicKey,
    target: &PublicKey,
) -> Result<(), Refusal> {
    let refuse = |why: String| {
        Err(Refusal::new(
            Rule::OperationNotAllowed,
            format!("{}: {why}; nothing was signed", account.account),
        ))
    };
    let [operation] = transaction.operations.as_slice() else {
        return refuse(format!(
            "the transaction holds {} operations, the policy allows exactly one",
            transaction.operations.len()
        ));
    };
    if operation.owner() != account.account {
        return refuse(format!(
            "the operation is for {:?}, not this account",
            operation.owner()
        ));
    }
    if operation.new_signing_key() != *target {
        return refuse("the operation sets another key than the one decided".into());
    }
    match (account.mode, operation) {
        (KeyMode::ActiveKey, Operation::WitnessUpdate(update)) => {
            if update.fee.amount != 0 {
                return refuse(format!("the witness_update pays a fee of {}", update.fee));
            }
            Ok(())
        }
        (KeyMode::SigningKey, Operation::WitnessSetProperties(set)) => {
            if set.current_key != *on_chain {
                return refuse(
                    "the witness_set_properties names another current key than the chain's".into(),
                );
            }
            Ok(())
        }
        (mode, operation) => refuse(format!(
            "{mode} mode allows no {} operation",
            operation.json_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use vwf_shared::{
        Asset, ChainProfile, ChainProperties, PrivateKey, ProfileName, Tapos, TimePointSec,
        WitnessSetProperties, WitnessUpdate,
    };

    use super::*;
    use crate::policy::{AccountConfig, Decision, Intent, Policy, RawTarget};

    fn public(seed: u8) -> PublicKey {
        PrivateKey::from_secret(secrecy::SecretBox::new(Box::new([seed; 32])))
            .map(|k| k.public_key())
            .unwrap_or(PublicKey::NULL)
    }

    fn text(key: &PublicKey) -> String {
        key.to_string_with_prefix("STM")
    }

    fn config(mode: &str, extra: &str) -> String {
        format!(
            "name = \"wit\"\nmode = \"{mode}\"\nallow_null_key = true\n{extra}\n\
             [[target]]\nname = \"backup-1\"\nkey = \"{}\"\n\
             [[server]]\nname = \"primary\"\nkey = \"{}\"\n\
             [[client]]\nidentity = \"m\"\nmay = [\"switch\", \"disable\", \"reenable\"]\n",
            text(&public(2)),
            text(&public(1))
        )
    }

    fn build(profile: ProfileName, text: &str) -> Result<AccountPolicy, String> {
        let raw: AccountConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        raw.build(&ChainProfile::builtin(profile))
    }

    fn transaction(operation: impl Into<vwf_shared::Operation>) -> Transaction {
        Transaction::new(
            operation,
            Tapos {
                ref_block_num: 1,
                ref_block_prefix: 2,
            },
            TimePointSec(1_700_000_000),
            60,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn set(owner: &str, current: u8, new: PublicKey) -> WitnessSetProperties {
        WitnessSetProperties {
            owner: owner.into(),
            current_key: public(current),
            new_signing_key: new,
        }
    }

    #[test]
    fn signing_key_mode_is_refused_where_it_cannot_work() {
        let vit = build(ProfileName::Vit, &config("signing-key", "")).err();
        assert!(
            vit.as_deref()
                .is_some_and(|e| e.contains("VIT does not have")),
            "{vit:?}"
        );
        for (extra, needle) in [
            ("allow_reenable = true", "allow_reenable"),
            ("pinned_url = \"https://x.example\"", "pinned_url"),
        ] {
            let error = build(ProfileName::Steem, &config("signing-key", extra)).err();
            assert!(
                error.as_deref().is_some_and(|e| e.contains(needle)),
                "{extra}: {error:?}"
            );
        }
        let servers_in_active = build(ProfileName::Steem, &config("active-key", "")).err();
        assert!(
            servers_in_active
                .as_deref()
                .is_some_and(|e| e.contains("[[account.server]]")),
            "{servers_in_active:?}"
        );
        for profile in [ProfileName::Steem, ProfileName::Hive] {
            let account = build(profile, &config("signing-key", ""));
            assert!(
                account
                    .as_ref()
                    .is_ok_and(|a| a.mode == KeyMode::SigningKey && a.server_keys().count() == 2),
                "{account:?}"
            );
        }
    }

    #[test]
    fn the_whitelist_signs_only_the_one_operation_the_mode_names() -> Result<(), String> {
        let account = build(ProfileName::Steem, &config("signing-key", ""))?;
        let (on_chain, target) = (public(1), public(2));
        let ok = transaction(set("wit", 1, target));
        assert_eq!(check_operation(&account, &ok, &on_chain, &target), Ok(()));
        let null = transaction(set("wit", 1, PublicKey::NULL));
        assert_eq!(
            check_operation(&account, &null, &on_chain, &PublicKey::NULL),
            Ok(())
        );
        let update = WitnessUpdate {
            owner: "wit".into(),
            url: "u".into(),
            block_signing_key: target,
            props: ChainProperties {
                account_creation_fee: Asset::parse(
                    "0.100 STEEM",
                    &ChainProfile::builtin(ProfileName::Steem).core_symbol,
                )
                .map_err(|e| e.to_string())?,
                maximum_block_size: 65536,
                interest_rate: Some(0),
            },
            fee: Asset::parse(
                "0.000 STEEM",
                &ChainProfile::builtin(ProfileName::Steem).core_symbol,
            )
            .map_err(|e| e.to_string())?,
        };
        let mut two = ok.clone();
        two.operations.push(two.operations[0].clone());
        let refused = [
            (
                "witness_update in signing-key mode",
                transaction(update.clone()),
                target,
            ),
            ("another owner", transaction(set("xyz", 1, target)), target),
            (
                "another current key",
                transaction(set("wit", 3, target)),
                target,
            ),
            ("another new key", ok.clone(), public(4)),
            ("two operations", two, target),
        ];
        for (what, tx, decided) in refused {
            let rule = check_operation(&account, &tx, &on_chain, &decided).map_err(|r| r.rule);
            assert_eq!(rule, Err(Rule::OperationNotAllowed), "{what}");
        }
        let active = build(
            ProfileName::Steem,
            &config("active-key", "").replace(
                &format!(
                    "[[server]]\nname = \"primary\"\nkey = \"{}\"\n",
                    text(&public(1))
                ),
                "",
            ),
        )?;
        assert_eq!(
            check_operation(&active, &transaction(update.clone()), &on_chain, &target),
            Ok(())
        );
        let rule = check_operation(&active, &ok, &on_chain, &target).map_err(|r| r.rule);
        assert_eq!(rule, Err(Rule::OperationNotAllowed));
        let mut paid = update;
        paid.fee.amount = 1;
        let rule =
            check_operation(&active, &transaction(paid), &on_chain, &target).map_err(|r| r.rule);
        assert_eq!(rule, Err(Rule::OperationNotAllowed));
        Ok(())
    }

    #[test]
    fn re_enabling_in_signing_key_mode_points_to_the_active_key() -> Result<(), String> {
        let account = build(ProfileName::Steem, &config("signing-key", ""))?;
        let target = text(&public(2));
        let null = PublicKey::NULL.to_string_with_prefix("STM");
        let intent = Intent::parse(
            "r",
            "wit",
            Some(RawTarget::Key(&target)),
            &null,
            "",
            "STM",
            true,
        )
        .map_err(|r| r.reason)?;
        for decision in [
            account.decide("m", &intent, &PublicKey::NULL, &[], 0, false),
            account.decide_operator(&intent, &PublicKey::NULL),
        ] {
            let refusal = decision.err();
            assert_eq!(refusal.as_ref().map(|r| r.rule), Some(Rule::NeedsActiveKey));
            assert!(
                refusal
                    .as_ref()
                    .is_some_and(|r| r.reason.contains("witness enable")
                        && r.reason.contains("--active-key")),
                "{refusal:?}"
            );
        }
        // With the operator's --active-key the account is in active-key mode for the command.
        let policy = Policy::new([account]).with_mode("wit", KeyMode::ActiveKey);
        let decision = policy
            .account("wit")
            .map(|a| a.decide_operator(&intent, &PublicKey::NULL));
        assert_eq!(decision, Some(Ok(Decision::Proceed)));
        Ok(())
    }
}
