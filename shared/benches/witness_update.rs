//! Build + serialize + sign of one `witness_update` transaction: the work the signer does per
//! request besides talking to the node. Run with `cargo bench -p vwf-shared`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vwf_shared::{
    Asset, BlockId, ChainProfile, ChainProperties, PrivateKey, PublicKey, Tapos, TimePointSec,
    Transaction, WitnessUpdate,
};

/// Test-only key #0 of the reference vectors.
const TEST_WIF: &str = "5K5WrHCEqHdoiaWjbwBedbYnu9vA8BUPBMRsbkggk2FbhTsFVJP";
const BACKUP_KEY: &str = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG";

fn build_and_sign(profile: &ChainProfile, key: &PrivateKey, target: PublicKey, head: &BlockId) {
    let core = &profile.core_symbol;
    let operation = WitnessUpdate {
        owner: "vit-test-witness".into(),
        url: "No website yet".into(),
        block_signing_key: target,
        props: ChainProperties {
            account_creation_fee: Asset {
                amount: 100,
                symbol: core.clone(),
            },
            maximum_block_size: 131_072,
            interest_rate: None,
        },
        fee: Asset {
            amount: 0,
            symbol: core.clone(),
        },
    };
    let tx = Transaction::new(
        operation,
        Tapos::from_block_id(head),
        TimePointSec(1_704_067_200),
        60,
    );
    let signed = tx.and_then(|tx| {
        let bytes = tx.to_bytes(profile)?;
        black_box(bytes);
        tx.sign(key, profile)
    });
    black_box(signed.map(|s| s.to_legacy_json(profile)).ok());
}

fn bench(c: &mut Criterion) {
    let profile = ChainProfile::vit();
    let Ok(key) = PrivateKey::from_wif(TEST_WIF) else {
        return;
    };
    let Ok(target) = PublicKey::parse(BACKUP_KEY, "VIT") else {
        return;
    };
    let Ok(head) = BlockId::from_hex("0103664040ab036dd76c16b7e0734c6f1b98c198") else {
        return;
    };
    c.bench_function("witness_update build+serialize+sign+json", |b| {
        b.iter(|| build_and_sign(&profile, &key, black_box(target), &head))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
