//! `signature`: [`Signature::from_hex`] on arbitrary text, and recovery on arbitrary digests.

use vwf_shared::{Digest, Signature};

/// The first 32 bytes of `data` are a digest. The rest is read twice: as 65 raw signature
/// bytes (when it is exactly that long) and as hex text for `from_hex`.
///
/// `from_hex` output must print back as the same hex (lowercased). A signature that recovers a
/// key must verify against that key exactly when it is canonical.
pub(crate) fn check(data: &[u8]) {
    let (digest, rest) = match data.split_first_chunk::<32>() {
        Some((digest, rest)) => (Digest(*digest), rest),
        None => (Digest([0; 32]), data),
    };
    if let Ok(bytes) = <[u8; 65]>::try_from(rest) {
        exercise(&Signature(bytes), &digest);
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(signature) = Signature::from_hex(text) else {
        return;
    };
    assert_eq!(signature.to_hex(), text.to_ascii_lowercase());
    exercise(&signature, &digest);
}

fn exercise(signature: &Signature, digest: &Digest) {
    let Ok(key) = signature.recover(digest) else {
        return;
    };
    assert!(!key.is_null(), "recovery gave the null key");
    let verified = signature.verify(digest, &key);
    assert_eq!(
        verified.is_ok(),
        signature.is_canonical(),
        "verify disagrees with recover + is_canonical: {verified:?}"
    );
}
