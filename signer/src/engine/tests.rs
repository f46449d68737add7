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
