//! `wif`: [`PrivateKey::from_wif`] on arbitrary text (and [`PrivateKey::from_secret`] on
//! arbitrary 32 bytes).

use secrecy::SecretBox;
use vwf_shared::PrivateKey;

/// Decodes `data` as WIF. Whatever decodes must encode back to the same text (the decoder trims
/// surrounding whitespace only), have a real public key and sign without panicking.
pub(crate) fn check(data: &[u8]) {
    if let Some(key) = <[u8; 32]>::try_from(data)
        .ok()
        .and_then(|bytes| PrivateKey::from_secret(SecretBox::new(Box::new(bytes))).ok())
    {
        let wif = key.to_wif();
        let back = PrivateKey::from_wif(&wif).map(|k| k.public_key());
        assert_eq!(back.ok(), Some(key.public_key()));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = PrivateKey::from_wif(text) else {
        return;
    };
    assert_eq!(
        key.to_wif().as_str(),
        text.trim(),
        "non-canonical WIF accepted"
    );
    assert!(
        !key.public_key().is_null(),
        "a valid scalar gave the null key"
    );
    let digest = vwf_shared::Digest::sha256(&[data]);
    if let Ok(signature) = key.sign_digest(&digest) {
        assert!(
            signature.verify(&digest, &key.public_key()).is_ok(),
            "own signature does not verify"
        );
    }
}
