//! The choice of url and props sent back: the chain's, or the configured fallbacks with a note.

use vwf_shared::rpc::Witness;
use vwf_shared::{Asset, AssetSymbol, ChainProperties, PublicKey};

use super::{Fallback, url_and_props};
use crate::error::Error;

fn props(fee: i64) -> ChainProperties {
    ChainProperties {
        account_creation_fee: Asset {
            amount: fee,
            symbol: AssetSymbol::new("VIT", "VIT", 3),
        },
        maximum_block_size: 131_072,
        interest_rate: None,
    }
}

fn witness(url: &str, read: Result<ChainProperties, String>) -> Witness {
    Witness {
        owner: "vit-test-witness".into(),
        url: url.into(),
        signing_key: PublicKey::NULL,
        total_missed: 0,
        last_confirmed_block_num: 0,
        props: read,
        running_version: String::new(),
    }
}

#[test]
fn the_chains_url_and_props_are_sent_back_unchanged_without_notes() {
    let fallback = Fallback {
        url: Some("fallback".into()),
        props: Some(props(999)),
    };
    let chosen = url_and_props(&witness("https://w.example", Ok(props(5000))), &fallback);
    assert_eq!(
        chosen.ok(),
        Some(("https://w.example".to_owned(), props(5000), Vec::new()))
    );
}

#[test]
fn fallbacks_are_used_only_for_what_cannot_be_read_and_say_so() {
    let fallback = Fallback {
        url: Some("No website yet".into()),
        props: Some(props(100)),
    };
    let chosen = url_and_props(&witness("", Err("props is missing".into())), &fallback);
    let Ok((url, sent, notes)) = chosen else {
        panic!("fallbacks not used: {chosen:?}");
    };
    assert_eq!((url.as_str(), sent), ("No website yet", props(100)));
    assert_eq!(notes.len(), 2);
    assert!(notes[1].contains("props is missing"), "{notes:?}");
}

#[test]
fn without_a_fallback_the_signer_refuses_rather_than_guess() {
    let none = Fallback::default();
    let unreadable = url_and_props(&witness("u", Err("bad asset".into())), &none);
    assert!(matches!(&unreadable, Err(Error::WitnessData(m)) if m.contains("bad asset")));
    let empty_url = url_and_props(&witness("", Ok(props(100))), &none);
    assert!(matches!(&empty_url, Err(Error::WitnessData(m)) if m.contains("url")));
}

/// What a held key is for an account: signing-key mode refuses any weight in the active or
/// owner authority, a multisig part included.
#[test]
fn a_key_with_any_weight_in_an_authority_is_told_apart_from_a_stranger() {
    use super::KeyRole;
    use vwf_shared::rpc::{Account, Authority};
    let key = |seed: u8| {
        vwf_shared::PrivateKey::from_secret(secrecy::SecretBox::new(Box::new([seed; 32])))
            .map(|k| k.public_key())
            .unwrap_or(PublicKey::NULL)
    };
    let authority = |threshold: u32, keys: Vec<(PublicKey, u16)>| Authority {
        weight_threshold: threshold,
        key_auths: keys,
        account_auths: Vec::new(),
    };
    let account = Account {
        name: "wit".into(),
        owner: authority(1, vec![(key(1), 1)]),
        active: authority(2, vec![(key(2), 2), (key(3), 1)]),
    };
    let role = |seed| KeyRole::of(Some(&account), &key(seed));
    assert_eq!(role(2), KeyRole::Active);
    assert_eq!(role(1), KeyRole::Owner);
    assert_eq!(role(3), KeyRole::Part);
    assert_eq!(role(4), KeyRole::Neither);
    assert_eq!(KeyRole::of(None, &key(2)), KeyRole::NoAccount);
    assert!(KeyRole::Part.describe("wit").contains("has weight"));
}
